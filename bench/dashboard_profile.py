"""Profile the two dashboards in-process: p50/p95 of whole requests, and each SQL query's time.

    .venv/bin/python bench/dashboard_profile.py                      # the district database, 40 runs
    .venv/bin/python bench/dashboard_profile.py --runs 60 --explain 3 # + EXPLAIN (ANALYZE, BUFFERS) of the 3 slowest
    DATABASE_URL=postgres://… .venv/bin/python bench/dashboard_profile.py --head g001_head --staff gs01_staff

Django's test client in this process (DEBUG off, the production middleware), logged in as a generated
committee head (/dashboard/) and subdistrict staff (/dashboard/subdistrict/). Each page is requested a few
times to warm up, then `--runs` times, timed with time.perf_counter; one more run under
CaptureQueriesContext lists the queries with their times (that run is not in the percentiles: capturing
costs a little). Read-only: nothing is written to the database but the test client's session row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from page_profile import setup_django  # bench/ is on sys.path

PAGES = {
    "dashboard": ("/dashboard/", "head", 100),
    "subdistrict view": ("/dashboard/subdistrict/", "staff", 150),
}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), as bench/load.py reports it."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--head", default="g001_head")
    parser.add_argument("--staff", default="gs01_staff")
    parser.add_argument("--page", choices=sorted(PAGES), action="append", help="only this page (repeatable)")
    parser.add_argument("--period", default="", help="YYYY-MM: a past month instead of the running one")
    parser.add_argument("--queries", action="store_true", help="list every query with its time")
    parser.add_argument("--explain", type=int, default=0, metavar="N", help="EXPLAIN the N slowest queries")
    args = parser.parse_args()

    setup_django("dashboard-profile")
    import logging

    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # the error below says enough
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    users = {"head": User.objects.get(username=args.head), "staff": User.objects.get(username=args.staff)}
    print(
        f"database {connection.settings_dict['NAME']} ({connection.vendor}), {args.runs} runs after {args.warmup}"
    )
    failed = False
    for page in args.page or list(PAGES):
        path, role, target = PAGES[page]
        if args.period:
            path += f"?period={args.period}"
        client = Client()
        client.force_login(users[role])
        for _ in range(args.warmup):
            try:
                response = client.get(path)
            except Exception as error:  # noqa: BLE001 - the page failed: say how, briefly
                print(f"{page}: {type(error).__name__}: {error}")
                return 1
            if response.status_code != 200:
                print(f"{page}: HTTP {response.status_code}")
                return 1
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            client.get(path)
            captured_ms = (time.perf_counter() - start) * 1000
        queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
        sql_ms = sum(ms for ms, _sql in queries)
        p50, p95 = statistics.median(times), percentile(times, 95)
        ok = p95 <= target and len(queries) <= 15
        failed |= not ok
        print(
            f"{page:17} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (target {target})  min {min(times):6.1f}  "
            f"queries {len(queries):2}  SQL {sql_ms:5.1f} of {captured_ms:5.1f} ms  {'ok' if ok else 'OVER'}"
        )
        slowest = sorted(queries, key=lambda q: -q[0])
        for ms, sql in queries if args.queries else slowest[:5]:
            print(f"    {ms:6.1f} ms  {' '.join(sql.split())[:150]}")
        for ms, sql in slowest[: args.explain]:
            print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) of a {ms:.1f} ms query:\n{sql}\n")
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print("\n".join(row[0] for row in cursor.fetchall()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
