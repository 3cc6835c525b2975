"""The parts of `make bench` that run without a server: the report's verdicts and ceiling line, the removal
of the bench's own bookings and requests between runs, and the load generator's HTTP client. The benchmark
itself is a command (`make bench`)."""

import datetime as dt
import http.client
import http.server
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest
from django.utils import timezone

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))  # bench/run.py imports `load`

from bench.cleanup import BENCH_PURPOSE, BENCH_TITLE, clear_bench_bookings, clear_bench_requests  # noqa: E402
from bench.load import request  # noqa: E402
from bench.report import OPTIMISED_BUILD, python_build, report  # noqa: E402
from bench.run import Fixture  # noqa: E402
from stations.models import Booking, ServiceRequest, Space  # noqa: E402
from stations.services.requests import service_request_create  # noqa: E402
from tests.factories import UserFactory  # noqa: E402


def _row(p95: float, solo_p95: float, target: int = 30) -> dict:
    return {
        "n": 10,
        "p50_ms": p95 / 2,
        "p95_ms": p95,
        "p99_ms": p95,
        "target_p95_ms": target,
        "rps": 1.0,
        "errors": 0,
        "taken": 0,
        "queries": 9,
        "bytes": 20_000,
        "solo_p50_ms": solo_p95 / 2,
        "solo_p95_ms": solo_p95,
        "baseline_p50_ms": 5.0,
        "ratio_p50": p95 / 10,
    }


def _result(**extra) -> dict:
    return {
        "size": "small",
        "data": {"requests": 1000, "communities": 2, "residents": 500},
        "date": "2026-11-30T12:00:00+08:00",
        "machine": {"cores": 2, "cpu": "test", "postgresql": "15", "python": "3.13"},
        "workers": 2,
        "worker_threads": 1,
        "threads": 6,
        "seconds": 30.0,
        "warmup": 8.0,
        "pages": {"my queue": _row(p95=80.0, solo_p95=20.0), "request list": _row(p95=90.0, solo_p95=35.0)},
        "total": {"n": 2500, "rps": 83.3, "errors": 0},
        **extra,
    }


def test_report_checks_the_mixed_and_the_alone_p95_against_the_target():
    lines = report(_result()).splitlines()
    queue = next(line for line in lines if line.startswith("| my queue"))
    listing = next(line for line in lines if line.startswith("| request list"))
    assert "| 30 ❌ |" in queue and "10.0 / 20.0 ✅" in queue
    assert "17.5 / 35.0 ❌" in listing
    assert "= 83 pages/s (target ≥ 250 ❌), 0 errors" in report(_result())


def test_report_states_the_ceiling_and_the_share_of_it():
    text = report(_result(ceiling={"n": 5000, "rps": 333.0, "errors": 0, "p50_ms": 12.0}))
    assert "bare baseline view" in text
    assert "333 pages/s, p50 12.0 ms, 0 errors" in text
    assert "OneDesk's pages run at 25% of it;" in text
    # What the machine allows: 250 pages/s against a ceiling of 333 leaves 1.3 bare views a page.
    assert "the target, 250 pages/s, is 75% of it: on this machine it needs a page of the mix" in text
    assert "to cost no more than 1.3 bare views." in text
    assert "Ceiling" not in report(_result())  # results written before the ceiling existed still render


@pytest.mark.django_db
def test_clear_bench_bookings_removes_only_the_future_bookings_the_bench_made(community_a):
    space = Space.objects.create(community=community_a, name="压测室", capacity=10, area_m2=30)
    other = Space.objects.create(community=community_a, name="别的房间", capacity=10, area_m2=30)
    user = UserFactory()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(9)))

    def book(where, purpose, starts_at):
        return Booking.objects.create(
            space=where,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=1),
            booked_by=user,
            purpose=purpose,
        )

    ours = book(space, BENCH_PURPOSE, start)
    residents = book(space, "读书会", start + dt.timedelta(hours=2))
    past = book(space, BENCH_PURPOSE, start - dt.timedelta(days=3))
    elsewhere = book(other, BENCH_PURPOSE, start)
    fx = Fixture(
        password="x",
        community=community_a.pk,
        request_pks=[],
        categories=[],
        buildings=[],
        residents=[],
        searches=[],
        spaces=[space.pk],
        list_queries=[],
        booking_days=[tomorrow.isoformat()],
    )
    assert clear_bench_bookings(fx) >= 1
    left = set(Booking.objects.values_list("pk", flat=True))
    assert ours.pk not in left
    assert {residents.pk, past.pk, elsewhere.pk} <= left


def test_cpu_profile_reads_a_process_cpu_time():
    """bench/cpu_profile.py reads PostgreSQL's backend the way it reads any local process: here, this one."""
    import os
    import time

    from bench.cpu_profile import backend_cpu_seconds

    before = backend_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert backend_cpu_seconds(os.getpid()) >= before + 0.03


def test_clear_bench_requests_removes_only_the_requests_the_bench_made(community_a, community_b, head_a):
    from stations.choices import Role
    from stations.models import Category
    from stations.services.categories import categories_seed
    from tests.factories import make_member

    head_b = make_member(role=Role.HEAD, community=community_b, username="head_b")

    def intake(community, actor, title):
        categories_seed(community=community)
        category = Category.objects.get(community=community, name="代开药")
        return service_request_create(actor=actor, community=community, category=category, title=title)[0]

    ours = intake(community_a, head_a, BENCH_TITLE)
    theirs = intake(community_a, head_a, "楼道灯不亮")
    elsewhere = intake(community_b, head_b, BENCH_TITLE)
    assert clear_bench_requests(community_a.code) == 1
    assert set(ServiceRequest.objects.values_list("pk", flat=True)) == {theirs.pk, elsewhere.pk}
    assert not ServiceRequest.history.model.objects.filter(id=ours.pk).exists()


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers["Content-Length"])))

    def _answer(self, body: bytes) -> None:
        text = f"{self.command} {self.path} {self.headers.get('Cookie')} ".encode() + body
        self.send_response(201 if body else 200)
        self.send_header("Set-Cookie", "sessionid=abc; Path=/")
        self.send_header("Content-Length", str(len(text)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args) -> None:
        pass


def test_the_load_generators_client_reads_status_headers_and_body():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        status, headers, body = request(port, "GET", "/requests/?q=%E6%A5%BC", {"Cookie": "a=1"})
        assert status == 200 and body == b"GET /requests/?q=%E6%A5%BC a=1 "
        assert ("Set-Cookie", "sessionid=abc; Path=/") in headers
        status, _headers, body = request(port, "POST", "/book/", {}, {"purpose": "压测 预约", "n": 4})
        assert status == 201 and body.endswith(b"purpose=%E5%8E%8B%E6%B5%8B+%E9%A2%84%E7%BA%A6&n=4")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises((OSError, http.client.HTTPException)):
        request(port, "GET", "/", {}, timeout=2)  # nobody listens any more


def test_make_bench_asks_the_report_whether_this_interpreter_is_optimised():
    """`make bench` runs `python bench/report.py --optimised` on the venv's Python (and on .python/'s) to
    decide whether to build or reuse the PGO+LTO interpreter: exit status 0 exactly when the report would
    name this interpreter's build PGO+LTO, and a usage error for anything else it is asked."""
    script = Path(__file__).resolve().parent.parent / "bench" / "report.py"
    answer = subprocess.run([sys.executable, script, "--optimised"], capture_output=True, check=False)
    optimised = python_build(sysconfig.get_config_var("CONFIG_ARGS") or "") == OPTIMISED_BUILD
    assert answer.returncode == (0 if optimised else 1)
    wrong = subprocess.run([sys.executable, script], capture_output=True, text=True, check=False)
    assert wrong.returncode == 1
    assert "usage" in wrong.stderr


def test_report_names_how_the_interpreter_was_built():
    assert python_build("'--prefix=/x' '--enable-optimizations' '--with-lto'") == "PGO+LTO build"
    assert (
        python_build("'--prefix=/root/.pyenv/versions/3.13.0' '--enable-shared'")
        == "built without PGO or LTO"
    )
    machine = {
        "cores": 2,
        "cpu": "test",
        "postgresql": "15",
        "python": "3.13.5",
        "python_build": "PGO+LTO build",
    }
    assert "Python 3.13.5 (PGO+LTO build); gunicorn" in report(_result(machine=machine))
    assert "Python 3.13; gunicorn" in report(_result())  # results written before the build was recorded
