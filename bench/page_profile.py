"""Profile the benchmark's pages in-process: p50/p95 of whole requests, SQL time, and optionally cProfile.

    .venv/bin/python bench/page_profile.py                              # every GET page of the mix, 30 runs
    .venv/bin/python bench/page_profile.py --page "request list (filtered)" --queries
    .venv/bin/python bench/page_profile.py --page "my queue" --cprofile 25   # top 25 functions by own time

Django's test client in this process (DEBUG off, the production middleware) against the district database
(DATABASE_URL, default onedesk_district), logged in as the generated users that `make bench` uses, with the
same URLs (bench/run.py's fixture and make_call, same seed). Each page is warmed up, then timed `--runs`
times (wall clock, and the CPU time of this process: the Python side, steadier on a busy machine); one more run under CaptureQueriesContext lists the slowest queries. Read-only but for session rows.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTRICT = "postgres://onedesk:onedesk@127.0.0.1:5432/onedesk_district"


def setup_django(label: str) -> None:
    """Django in this process as production runs it (DEBUG off, the production middleware, the startup
    objects frozen out of the garbage collector's sight) on DATABASE_URL (default: the district database),
    with plain static storage: collectstatic's manifest is not needed to render a page here. Shared with
    bench/dashboard_profile.py."""
    os.environ.setdefault("DATABASE_URL", DISTRICT)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", f"bench-{label}-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.setdefault("AXES_ENABLED", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "community.settings")
    for path in (str(ROOT), str(ROOT / "bench")):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    import community.wsgi  # noqa: F401  # freezes the startup objects as a gunicorn worker does (gc.freeze)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--page", action="append", help="only this page (repeatable)")
    parser.add_argument("--queries", action="store_true", help="list every query with its time")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="EXPLAIN ANALYZE each SELECT of one run: PostgreSQL's planning and execution time per query",
    )
    parser.add_argument(
        "--cprofile", type=int, default=0, metavar="N", help="print the N costliest functions"
    )
    args = parser.parse_args()

    setup_django("page-profile")
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from run import PAGES, load_fixture, make_call, percentile

    rng = random.Random(1)
    fx = load_fixture(rng)
    users = {role: User.objects.get(username=name) for role, name in fx.usernames.items()}
    pages = args.page or [page for page in PAGES if not page.endswith("POST")]
    for page in pages:
        _weight, target, role = PAGES[page]
        client = Client()
        client.force_login(users[role])
        calls = [make_call(page, fx, rng) for _ in range(args.warmup + args.runs)]
        if any(method != "GET" for method, _path, _data in calls):
            print(f"{page}: only GET pages are profiled here")
            continue
        for _method, path, _data in calls[: args.warmup]:
            if (status := client.get(path).status_code) != 200:
                print(f"{page}: HTTP {status} for {path}")
                return 1
        times, cpu = [], []
        profiler = cProfile.Profile() if args.cprofile else None
        for _method, path, _data in calls[args.warmup :]:
            start, start_cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            client.get(path)
            if profiler:
                profiler.disable()
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            client.get(calls[-1][1])
            captured_ms = (time.perf_counter() - start) * 1000
        queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
        sql_ms = sum(ms for ms, _sql in queries)
        print(
            f"{page:24} p50 {statistics.median(times):6.1f}  p95 {percentile(times, 0.95):6.1f} ms (target {target})"
            f"  min {min(times):6.1f}  Python CPU p50 {statistics.median(cpu):5.1f}  queries {len(queries):2}  SQL {sql_ms:5.1f} of {captured_ms:5.1f} ms"
        )
        slowest = sorted(queries, key=lambda q: -q[0])
        for ms, sql in queries if args.queries else slowest[:3]:
            print(f"    {ms:6.1f} ms  {' '.join(sql.split())[:160]}")
        if args.explain:
            explain(connection, [sql for _ms, sql in queries])
        if profiler:
            pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(
                args.cprofile
            )
    return 0


def explain(connection, statements: list[str]) -> None:
    """PostgreSQL's own planning and execution time of each SELECT (EXPLAIN ANALYZE, three runs, the
    fastest kept): what the server spends on a page, apart from the round trips and Django."""
    plan_total = run_total = 0.0
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip("( ").upper().startswith("SELECT"):
                continue
            best = None
            for _ in range(3):
                cursor.execute("EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) " + sql)
                (report,) = cursor.fetchone()
                report = report[0] if isinstance(report, list) else report
                times = (report["Planning Time"], report["Execution Time"])
                best = times if best is None or sum(times) < sum(best) else best
            plan_total += best[0]
            run_total += best[1]
            print(f"    plan {best[0]:6.2f}  run {best[1]:6.2f} ms  {' '.join(sql.split())[:120]}")
    print(f"    PostgreSQL in all: plan {plan_total:.2f} ms, run {run_total:.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
