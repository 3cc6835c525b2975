"""CPU per page of the bench's mix, in-process: this process's Python and its PostgreSQL backend's.

    .venv/bin/python bench/cpu_profile.py                       # 1,000 pages of the weighted mix
    .venv/bin/python bench/cpu_profile.py --pages 300 --page "request detail"
    DATABASE_PREPARED_STATEMENTS=false .venv/bin/python bench/cpu_profile.py   # A/B a setting

`make bench` answers "how many pages a second", but on a shared virtual machine its runs of the same code
spread by ±10 %. CPU time spent is steadier: this drives the same calls (bench/run.py's fixture, mix
and seed, POSTs included) through Django's test client against the district database, and reads the CPU
time of this process and of the PostgreSQL backend serving its connection (/proc/<pid>/stat, so the
server must run on this machine). Under the mixed load of `make bench` the two cores are busy with
exactly these two kinds of work (and the load generator's few per cent), so Python + PostgreSQL CPU per
page is what bounds the page rate: 2 cores ÷ CPU per page.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from page_profile import setup_django  # noqa: E402

FORM = "application/x-www-form-urlencoded"


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a local process (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=1000, help="calls measured (after 50 warm-up calls)")
    parser.add_argument("--page", action="append", help="only this page of the mix (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    setup_django("cpu-profile")
    import logging

    from django.contrib.auth.models import User
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.db import connection
    from django.test import Client
    from run import PAGES, load_fixture, make_call

    logging.disable(logging.WARNING)  # a taken slot's 409 is logged as a warning; it is expected here
    rng = random.Random(args.seed)
    fx = load_fixture(rng)
    clients = {}
    for role, username in fx.usernames.items():
        clients[role] = Client()
        clients[role].force_login(User.objects.get(username=username))
    names = args.page or list(PAGES)
    weights = [PAGES[name][0] for name in names]
    calls = []
    for _ in range(50 + args.pages):
        page = rng.choices(names, weights)[0]
        calls.append((page, *make_call(page, fx, rng)))

    def send(page: str, method: str, path: str, data: dict | None) -> None:
        client = clients[PAGES[page][2]]
        if method == "GET":
            response = client.get(path)
        else:  # as the load generator sends a form (the test client's default is multipart)
            response = client.post(path, urlencode(data), content_type=FORM)
        if response.status_code not in (200, 302, 409):
            raise SystemExit(f"{page}: HTTP {response.status_code} for {path}")
        # The bench's load generator never keeps a response's cookies; the test client would keep the
        # success message of every POST (a redirect nobody follows here) and grow that cookie to its 2 kB
        # limit, re-encoding it message by message on every later response: intake POST ~1.5 ms too much.
        client.cookies.pop(CookieStorage.cookie_name, None)

    for call in calls[:50]:
        send(*call)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()

    python_cpu: dict[str, float] = defaultdict(float)
    server_cpu: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for call in calls[50:]:
        page = call[0]
        cpu, pg = time.process_time(), backend_cpu_seconds(backend)
        send(*call)
        python_cpu[page] += time.process_time() - cpu
        server_cpu[page] += backend_cpu_seconds(backend) - pg
        count[page] += 1
    wall = time.perf_counter() - started

    print(f"{'page':26} {'n':>5} {'Python ms':>10} {'PostgreSQL ms':>14} {'both ms':>8}")
    for page in names:
        if count[page]:
            py, pg = 1000 * python_cpu[page] / count[page], 1000 * server_cpu[page] / count[page]
            print(f"{page:26} {count[page]:5} {py:10.2f} {pg:14.2f} {py + pg:8.2f}")
    total = sum(count.values())
    py = 1000 * sum(python_cpu.values()) / total
    pg = 1000 * sum(server_cpu.values()) / total
    print(f"{'mix':26} {total:5} {py:10.2f} {pg:14.2f} {py + pg:8.2f}")
    print(
        f"Wall {1000 * wall / total:.2f} ms a page. Two cores doing nothing else would serve at most "
        f"{2000 / (py + pg):.0f} pages/s of this mix (PostgreSQL CPU is read in clock ticks: per-page figures "
        f"of rare pages are coarse, the mix's are not)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
