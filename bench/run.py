"""`make bench SIZE=small|district`: OneDesk in its production configuration under a fixed, bounded load.

1. Makes (or reuses) a PostgreSQL database with a generated district of the chosen size.
2. Collects static files into a temporary STATIC_ROOT and starts gunicorn (2 sync workers, DEBUG off,
   persistent database connections) on 127.0.0.1.
3. Counts the SQL queries of each page once, with Django's test client in this process.
4. Logs in as a generated committee head, a social worker and subdistrict staff, warms up, then drives
   the page mix below from a few threads for a fixed time (loopback only, bounded in time and count).
5. Runs the baseline — a bare view rendering a template of each page's size, in the same server — and
   reports every page as a ratio to it; then the ceiling: the same mix sent to that bare view, in pages/s.
   (Before all this, it removes the future bookings and the requests of its earlier runs, so booking POST
   finds free slots and every run reads the same data set, and vacuums what they were in.)
6. Writes bench/results/<size>.json and bench/results/<size>.md, and stops gunicorn.

The load generator is plain Python (threads, a socket per request, time.perf_counter): it shares the two
cores with the server, which the report says; its own cost per request is a fraction of a millisecond."""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from cleanup import (  # bench/ is on sys.path
    BENCH_PURPOSE,
    BENCH_TITLE,
    clear_bench_bookings,
    clear_bench_requests,
    vacuum_bench_writes,
)
from load import HOST, Sample, Session, drive_baseline, outcome, percentile, request
from report import machine, report

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
RESULTS = ROOT / "bench" / "results"

SIZES = {
    "small": {"communities": 10, "residents": 40_000, "requests": 100_000},
    "district": {"communities": 50, "residents": 200_000, "requests": 1_000_000},
}
# Page: (weight in the mix, p95 target in ms, who asks).
PAGES = {
    "intake POST": (8, 50, "worker"),
    "my queue": (14, 30, "worker"),
    "request list (filtered)": (14, 30, "head"),
    "request detail": (22, 30, "head"),
    "resident search": (14, 30, "worker"),
    "dashboard": (6, 100, "head"),
    "subdistrict view": (3, 150, "staff"),
    "space week": (12, 30, "head"),
    "booking POST": (7, 50, "head"),
}
MAX_REQUESTS = 200_000  # a hard bound on the mixed phase, whatever the duration


def log(message: str, *, prefix: str = "bench") -> None:
    print(f"[{prefix} {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- The environment ----------------------------------------------------------------------------------


def database_url(size: str) -> str:
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or f"postgres://onedesk:onedesk@127.0.0.1:5432/onedesk_bench_{size}"
    )


def ensure_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def server_env(url: str, static_root: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + "x" * 50,
            "ALLOWED_HOSTS": HOST,
            "DATABASE_URL": url,
            "STATIC_ROOT": static_root,
            "CONN_MAX_AGE": "60",
            "LOG_LEVEL": "ERROR",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


# --- What to ask for ----------------------------------------------------------------------------------


@dataclass
class Fixture:
    """Ids and texts of the generated data the pages are asked about (community G001)."""

    password: str
    community: int
    request_pks: list[int]
    categories: list[int]
    buildings: list[int]
    residents: list[int]
    searches: list[str]
    spaces: list[int]
    list_queries: list[str]
    booking_days: list[str]
    usernames: dict[str, str] = field(default_factory=dict)


def load_fixture(rng: random.Random) -> Fixture:
    from residents.models import Building, Community, Resident
    from stations.generate import PASSWORD
    from stations.models import Category, ServiceRequest, Space

    community = Community.objects.get(code="G001")
    request_pks = list(ServiceRequest.objects.filter(community=community).values_list("pk", flat=True))
    residents = list(
        Resident.objects.filter(community=community).values_list("pk", "name", "name_pinyin", "phone")
    )
    picked = rng.sample(residents, min(300, len(residents)))
    searches = []
    for _pk, name, pinyin, phone in picked:
        searches.append(rng.choice([name[:2], pinyin[: rng.randint(3, 6)], phone[-4:] if phone else name]))
    categories = list(
        Category.objects.filter(community=community, parent__isnull=False).values_list("pk", flat=True)
    )
    buildings = list(Building.objects.filter(community=community).values_list("pk", flat=True))
    list_queries = [
        "status=accepted&status=in_progress",
        "overdue=true",
        "channel=hotline&status=closed",
        *(f"category={pk}" for pk in categories[:6]),
        *(f"building={pk}&status=closed" for pk in buildings[:4]),
    ]
    today = dt.date.today()
    return Fixture(
        password=PASSWORD,
        community=community.pk,
        request_pks=rng.sample(request_pks, min(500, len(request_pks))),
        categories=categories,
        buildings=buildings,
        residents=[pk for pk, *_rest in picked],
        searches=searches,
        spaces=list(Space.objects.filter(community=community).values_list("pk", flat=True)),
        list_queries=list_queries,
        booking_days=[(today + dt.timedelta(days=d)).isoformat() for d in range(1, 13)],
        usernames={"worker": "g001_sg01", "head": "g001_head", "staff": "gs01_staff"},
    )


def make_call(page: str, fx: Fixture, rng: random.Random) -> tuple[str, str, dict | None]:
    """(method, path, form data) of one call of a page."""
    if page == "intake POST":
        return (
            "POST",
            "/requests/new/",
            {
                "submission_key": str(uuid.uuid4()),  # fresh per run: a rerun must not resubmit
                "requester": rng.choice(fx.residents),
                "category": rng.choice(fx.categories),
                "title": BENCH_TITLE,
                "description": "基准测试生成的诉求",
                "channel": "walk_in",
                "urgency": "normal",
                "contact_name": "",
                "contact_phone": "",
                "requester_enterprise": "",
                "building": "",
            },
        )
    if page == "my queue":
        return "GET", "/requests/queue/", None
    if page == "request list (filtered)":
        return "GET", "/requests/?" + rng.choice(fx.list_queries), None
    if page == "request detail":
        return "GET", f"/requests/{rng.choice(fx.request_pks)}/", None
    if page == "resident search":
        return "GET", "/residents/?" + urlencode({"q": rng.choice(fx.searches)}), None
    if page == "dashboard":
        return "GET", "/dashboard/", None
    if page == "subdistrict view":
        return "GET", "/dashboard/subdistrict/", None
    if page == "space week":
        return "GET", f"/spaces/{rng.choice(fx.spaces)}/", None
    if page == "booking POST":
        day = rng.choice(fx.booking_days)
        hour = rng.randint(9, 15)
        minute = rng.choice((0, 30))
        return (
            "POST",
            f"/spaces/{rng.choice(fx.spaces)}/book/",
            {
                "submission_key": str(uuid.uuid4()),  # fresh per run: a rerun must not resubmit
                "starts_at": f"{day}T{hour:02d}:{minute:02d}",
                "ends_at": f"{day}T{hour + 1:02d}:{minute:02d}",
                "resident": rng.choice(fx.residents),
                "purpose": BENCH_PURPOSE,
                "attendees": 4,
            },
        )
    raise ValueError(page)


# --- Queries per page (Django test client, this process) -------------------------------------------------


def count_queries(fx: Fixture, rng: random.Random) -> dict[str, int]:
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = {}
    users = {role: User.objects.get(username=name) for role, name in fx.usernames.items()}
    for page, (_weight, _target, role) in PAGES.items():
        client = Client(HTTP_HOST=HOST)
        client.force_login(users[role])
        method, path, data = make_call(page, fx, rng)
        runs = []
        for _ in range(2):  # the first warms caches (content types, permissions of the process)
            method, path, data = make_call(page, fx, rng)
            with transaction.atomic():
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path) if method == "GET" else client.post(path, data)
                transaction.set_rollback(True)  # leave the data set as it was
            runs.append(len(queries))
        counts[page] = runs[-1]
        if response.status_code >= 400 and not (page == "booking POST" and response.status_code == 409):
            log(f"  {page}: HTTP {response.status_code} from the test client")
    return counts


# --- The load generator ------------------------------------------------------------------------------------


def drive(
    sessions: dict[str, Session],
    fx: Fixture,
    *,
    seconds: float,
    threads: int,
    seed: int,
    max_requests: int,
    only: str | None = None,
    baseline_sizes: dict[str, int] | None = None,
) -> tuple[list[Sample], float]:
    """The mix (or one page) from `threads` threads for `seconds` (at most `max_requests` in all).

    With `baseline_sizes`, every call of the mix goes to the bare baseline view instead, at the size of
    the page it stands for: the same mix, threads and server with no work of OneDesk's own (the ceiling)."""
    names = [only] if only else list(PAGES)
    weights = [PAGES[p][0] for p in names]
    samples: list[Sample] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    budget = [max_requests]

    def worker(index: int) -> None:
        rng = random.Random(f"{seed}:{index}")
        local = []
        while time.perf_counter() < stop_at:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            page = rng.choices(names, weights)[0]
            if baseline_sizes is None:
                method, path, data = make_call(page, fx, rng)
            else:
                method, path, data = "GET", f"/bench/baseline/?bytes={baseline_sizes[page]}", None
            try:
                status, size, took = sessions[PAGES[page][2]].call(method, path, data)
            except (OSError, http.client.HTTPException):
                status, size, took = 599, 0, 0.0
            local.append(Sample(page, status, size, took))
        with lock:
            samples.extend(local)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return samples, time.perf_counter() - started


# --- Main -------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_server(
    env: dict[str, str], *, port: int, workers: int, worker_threads: int = 1, **popen
) -> subprocess.Popen:
    """gunicorn with `workers` workers on 127.0.0.1:`port` (popen: e.g. stdout/stderr to a log): sync
    workers, or gthread workers of `worker_threads` threads each when that is more than 1."""
    threads = ["--worker-class", "gthread", "--threads", str(worker_threads)] if worker_threads > 1 else []
    return subprocess.Popen(
        [GUNICORN, "community.wsgi:application", "--workers", str(workers), *threads, "--bind", f"{HOST}:{port}",
         "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        **popen,
    )  # fmt: skip


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def wait_for(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            # Only our server has the baseline page: a server of somebody else on the port cannot pass.
            status, _h, _b = request(port, "GET", "/bench/baseline/?bytes=100", {})
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seconds", type=float, default=30.0, help="Length of the mixed phase (default 30).")
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="Client threads (default 4: two sync workers each serving one request with one more waiting, "
        "so both are always busy; more threads only lengthen the queue: 6 gave the same pages/s, "
        "264/244 against 266/239 alternated, with the 30 ms pages' p95 at 35-38 ms instead of 26-29).",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--worker-threads",
        type=int,
        default=1,
        help="gthread workers with this many threads (1: sync workers)",
    )
    parser.add_argument("--port", type=int, default=0, help="Default: a free port.")
    parser.add_argument("--baseline-count", type=int, default=300, help="Baseline calls per page size.")
    parser.add_argument(
        "--ceiling-seconds",
        type=float,
        default=10.0,
        help="The mix sent to the bare baseline view instead (pages/s with no work of OneDesk's own).",
    )
    parser.add_argument("--solo-seconds", type=float, default=5.0, help="Per page, alone (at most 40 calls).")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.threads <= 64 or args.seconds > 600:
        parser.error("at most 64 threads and 600 seconds")

    url = database_url(args.size)
    ensure_database(url)
    static_root = tempfile.mkdtemp(prefix="onedesk-static-")
    env = server_env(url, static_root)
    sizes = SIZES[args.size]
    manage(env, "migrate", "--noinput", "-v", "0")
    log(f"data set {args.size}: {sizes}")
    manage(
        env,
        "generate_district",
        "--if-missing",
        "--seed",
        str(args.seed),
        *(f"--{k}={v}" for k, v in sizes.items()),
    )
    manage(env, "collectstatic", "--noinput", "-v", "0")

    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    log(f"removed {clear_bench_requests()} requests of earlier runs")
    rng = random.Random(args.seed)
    fx = load_fixture(rng)
    log(f"removed {clear_bench_bookings(fx)} bookings of earlier runs")
    started = time.perf_counter()
    vacuum_bench_writes()
    log(f"vacuumed the tables they were in ({time.perf_counter() - started:.1f} s)")
    log("counting queries per page")
    queries = count_queries(fx, rng)
    from django.db import connection

    connection.close()

    args.port = args.port or free_port()
    log(f"starting gunicorn ({args.workers} workers) on {HOST}:{args.port}")
    server = start_server(env, port=args.port, workers=args.workers, worker_threads=args.worker_threads)
    try:
        wait_for(args.port, server)
        sessions = {role: Session(args.port, name, fx.password) for role, name in fx.usernames.items()}
        log(f"warming up for {args.warmup:.0f} s")
        warm, _warm_seconds = drive(
            sessions,
            fx,
            seconds=args.warmup,
            threads=args.threads,
            seed=args.seed + 1000,
            max_requests=MAX_REQUESTS,
        )
        log(f"mixed load for {args.seconds:.0f} s from {args.threads} threads")
        samples, seconds = drive(
            sessions,
            fx,
            seconds=args.seconds,
            threads=args.threads,
            seed=args.seed,
            max_requests=MAX_REQUESTS,
        )
        by_page: dict[str, list[Sample]] = {p: [] for p in PAGES}
        for s in samples:
            by_page[s.page].append(s)
        sizes_seen = {
            p: int(
                statistics.median([s.size for s in rows if s.status == 200] or [s.size for s in rows] or [0])
            )
            for p, rows in by_page.items()
        }
        log("each page alone, one at a time (service time without queueing)")
        solo = {}
        for page in PAGES:
            rows, _took = drive(
                sessions,
                fx,
                seconds=args.solo_seconds,
                threads=1,
                seed=args.seed + 7,
                max_requests=40,
                only=page,
            )
            solo[page] = [s.seconds * 1000 for s in rows if outcome(page, s.status) != "error"]
        log("baseline at each page's size")
        baselines = {}
        for page, size in sizes_seen.items():
            took = drive_baseline(
                sessions["head"], max(size, 1000), count=args.baseline_count, threads=args.threads
            )
            baselines[page] = took
        log(f"ceiling: the same mix to the bare baseline view for {args.ceiling_seconds:.0f} s")
        ceiling, ceiling_seconds = drive(
            sessions,
            fx,
            seconds=args.ceiling_seconds,
            threads=args.threads,
            seed=args.seed,
            max_requests=MAX_REQUESTS,
            baseline_sizes={page: max(size, 1000) for page, size in sizes_seen.items()},
        )
    finally:
        stop_server(server)

    pages = {}
    for page, rows in by_page.items():
        times = [s.seconds * 1000 for s in rows if outcome(page, s.status) != "error"]
        errors = sum(outcome(page, s.status) == "error" for s in rows)
        taken = sum(outcome(page, s.status) == "taken" for s in rows)
        base = [t * 1000 for t in baselines[page]]
        p50 = percentile(times, 0.50)
        base_p50 = percentile(base, 0.50)
        pages[page] = {
            "n": len(rows),
            "p50_ms": round(p50, 2),
            "p95_ms": round(percentile(times, 0.95), 2),
            "p99_ms": round(percentile(times, 0.99), 2),
            "target_p95_ms": PAGES[page][1],
            "rps": round(len(rows) / seconds, 2),
            "errors": errors,
            "taken": taken,
            "statuses": dict(
                sorted({str(s.status): sum(1 for r in rows if r.status == s.status) for s in rows}.items())
            ),
            "queries": queries[page],
            "bytes": sizes_seen[page],
            "solo_n": len(solo[page]),
            "solo_p50_ms": round(percentile(solo[page], 0.50), 2),
            "solo_p95_ms": round(percentile(solo[page], 0.95), 2),
            "baseline_p50_ms": round(base_p50, 2),
            "baseline_p95_ms": round(percentile(base, 0.95), 2),
            "ratio_p50": round(p50 / base_p50, 2) if base_p50 else None,
        }
    result = {
        "size": args.size,
        "data": sizes,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(url),
        "workers": args.workers,
        "worker_threads": args.worker_threads,
        "threads": args.threads,
        "seconds": round(seconds, 2),
        "warmup": args.warmup,
        "warmup_requests": len(warm),
        "pages": pages,
        "total": {
            "n": len(samples),
            "rps": round(len(samples) / seconds, 1),
            "errors": sum(p["errors"] for p in pages.values()),
        },
        "ceiling": {
            "n": len(ceiling),
            "rps": round(len(ceiling) / ceiling_seconds, 1),
            "errors": sum(s.status != 200 for s in ceiling),
            "p50_ms": round(percentile([s.seconds * 1000 for s in ceiling], 0.50), 2),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.size}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    markdown = report(result)
    (RESULTS / f"{args.size}.md").write_text(markdown)
    print(markdown)
    log(f"wrote {RESULTS / (args.size + '.json')} and {args.size}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
