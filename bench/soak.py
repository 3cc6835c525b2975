"""`make soak`: OneDesk under a bounded mixed load while PostgreSQL restarts and a worker dies.

1. Starts a throw-away PostgreSQL cluster of its own (initdb into a temporary directory, 127.0.0.1 on
   port 5439 or a free one, a random password): the shared server on 5432 is never touched.
2. Migrates, generates a small district (`generate_district`), collects static files, and starts
   gunicorn as `make bench` does (bench/run.py: 2 sync workers, DEBUG off, persistent connections with
   health checks).
3. Client threads read (queue, list, detail, week view) and write for a bounded time: intakes (a unique
   marker in the title), accept/start of requests they made, bookings (the marker as purpose). Each keeps
   a ledger of what it was told; a write without an answer, or with a 5xx, is sent again — the same
   form, the same submission key — until it gets an answer.
4. At a third of the run PostgreSQL restarts (`pg_ctl restart -m fast`), at two thirds one gunicorn
   worker is killed (SIGKILL; the master starts another). After each, a prober times the first
   successful read and write.
5. Stops gunicorn, reconciles the ledgers with the database (bench/soak_ledger.py), prints the summary,
   writes bench/results/soak.json and exits 1 if a criterion fails. The cluster and the temporary
   directory are removed whatever happens (Ctrl-C included)."""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from http.cookies import SimpleCookie
from pathlib import Path

import run  # bench/ is on sys.path: this file runs as a script, like run.py
from load import HOST, Session
from soak_cluster import Cluster, pg_bin, port_is_free, worker_pids
from soak_ledger import (
    BOOKING,
    CONNECTION_ERROR,
    INTAKE,
    OK,
    TRANSITION,
    UNKNOWN,
    Attempt,
    BookingRow,
    Call,
    Fault,
    RequestRow,
    Write,
    classify,
    reconcile,
    render,
    summarize,
)

ROOT = run.ROOT
RESULTS = run.RESULTS
DATA = {"communities": 2, "residents": 3000, "requests": 3000, "months": 3}
FAULTS = ("postgresql restart", "worker killed")
# A client waits this long for one answer, and keeps re-sending one write for at most RETRY_FOR.
CALL_TIMEOUT = 20.0
RETRY_FOR = 45.0
PROBE_LIMIT = 90.0  # the prober gives up on a fault after this long (the criterion is 30 s)
# Client mix: (what, weight).
MIX = (("read", 50), (INTAKE, 22), (BOOKING, 14), (TRANSITION, 14))
READS = ("my queue", "request list (filtered)", "request detail", "space week")
REQUEST_PK = re.compile(r"/requests/(\d+)/$")
VERSION = re.compile(rb'name="version" value="(\d+)"')


def log(message: str) -> None:
    run.log(message, prefix="soak")


# --- Clients --------------------------------------------------------------------------------------------


def message_level(headers: list[tuple[str, str]]) -> int | None:
    """The highest level of the django.contrib.messages in the redirect's cookie (None: no message)."""
    from django.contrib.messages.storage.cookie import CookieStorage, MessageSerializer
    from django.core import signing

    for name, value in headers:
        if name.lower() != "set-cookie" or not value.startswith("messages="):
            continue
        jar = SimpleCookie()
        jar.load(value)
        if "messages" not in jar or not jar["messages"].value:
            return None
        signer = signing.get_cookie_signer(salt=CookieStorage.key_salt)
        try:
            messages = signer.unsign_object(jar["messages"].value, serializer=MessageSerializer)
        except (signing.BadSignature, ValueError):
            return None
        return max((m.level for m in messages), default=None)
    return None


class Soak:
    """What the clients share: the server, the sessions, the data to ask about, the ledgers."""

    def __init__(self, *, port: int, sessions: dict[str, Session], fx: run.Fixture, run_id: str) -> None:
        self.port = port
        self.sessions = sessions
        self.fx = fx
        self.run_id = run_id
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.writes: list[Write] = []
        self.abort = threading.Event()

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def call(self, role: str, page: str, method: str, path: str, data: dict | None = None):
        started = self.now()
        try:
            status, headers, body = self.sessions[role].send(method, path, data, timeout=CALL_TIMEOUT)
        except (OSError, http.client.HTTPException):
            status, headers, body = CONNECTION_ERROR, [], b""
        call = Call(page, round(started, 4), round(self.now(), 4), status)
        with self.lock:
            self.calls.append(call)
        return call, headers, body

    def new_write(self, write: Write) -> Write:
        with self.lock:
            self.writes.append(write)
        return write

    def attempt(self, write: Write, role: str, page: str, path: str, data: dict):
        """One try of a write; returns what it was told and the answer."""
        call, headers, body = self.call(role, page, "POST", path, data)
        level = message_level(headers) if call.status == 302 else None
        told = classify(write.kind, call.status, level)
        write.attempts.append(Attempt(call, told, level))
        return told, headers, body

    def submit(self, write: Write, role: str, page: str, path: str, data: dict, *, until: float):
        """Send the same form until it gets an answer (or RETRY_FOR / `until` runs out)."""
        deadline = min(self.now() + RETRY_FOR, until)
        delay = 0.2
        while True:
            told, headers, body = self.attempt(write, role, page, path, data)
            if told != UNKNOWN or self.now() + delay > deadline or self.abort.is_set():
                return told, headers
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


class Client(threading.Thread):
    def __init__(self, soak: Soak, index: int, *, stop_at: float, hard_stop: float, seed: int) -> None:
        super().__init__(name=f"soak-client-{index}", daemon=True)
        self.soak = soak
        self.index = index
        self.stop_at = stop_at
        self.hard_stop = hard_stop
        self.rng = random.Random(f"{seed}:{index}")
        self.seq = 0
        self.todo: list[tuple[int, str, str]] = []  # (request pk, marker, status to move it to)

    def marker(self, letter: str) -> str:
        self.seq += 1
        return f"SOAK{self.soak.run_id}-{letter}{self.index:02d}-{self.seq:05d}"

    def run(self) -> None:
        kinds, weights = zip(*MIX, strict=True)
        while self.soak.now() < self.stop_at and not self.soak.abort.is_set():
            kind = self.rng.choices(kinds, weights)[0]
            if kind == INTAKE:
                self.intake()
            elif kind == BOOKING:
                self.booking()
            elif kind == TRANSITION and self.todo:
                self.transition()
            else:
                self.read()

    def read(self) -> None:
        page = self.rng.choice(READS)
        method, path, data = run.make_call(page, self.soak.fx, self.rng)
        self.soak.call(run.PAGES[page][2], page, method, path, data)

    def intake(self, *, letter: str = "i") -> Write:
        _method, path, data = run.make_call("intake POST", self.soak.fx, self.rng)
        marker = self.marker(letter)
        data["title"] = f"{marker} 楼道灯不亮"
        write = self.soak.new_write(Write(INTAKE, marker, key=data["submission_key"]))
        told, headers = self.soak.submit(write, "worker", "intake POST", path, data, until=self.hard_stop)
        location = dict((k.lower(), v) for k, v in headers).get("location", "")
        if told == OK and (match := REQUEST_PK.search(location)) and self.rng.random() < 0.7:
            self.todo.append((int(match.group(1)), marker, "accepted"))
        return write

    def booking(self) -> None:
        _method, path, data = run.make_call("booking POST", self.soak.fx, self.rng)
        marker = self.marker("b")
        data["purpose"] = marker
        write = self.soak.new_write(Write(BOOKING, marker, key=data["submission_key"]))
        self.soak.submit(write, "head", "booking POST", path, data, until=self.hard_stop)

    def transition(self) -> None:
        pk, marker, to_status = self.todo.pop(self.rng.randrange(len(self.todo)))
        call, _headers, body = self.soak.call("head", "own request detail", "GET", f"/requests/{pk}/")
        version = VERSION.search(body) if call.status == 200 else None
        if version is None:
            return  # no page, no form: nothing is sent, so nothing to reconcile
        write = self.soak.new_write(
            Write(TRANSITION, f"{marker}>{to_status}", request_marker=marker, to_status=to_status)
        )
        data = {"to_status": to_status, "version": version.group(1).decode(), "note": ""}
        path = f"/requests/{pk}/transition/"
        told, _headers = self.soak.submit(write, "head", "transition POST", path, data, until=self.hard_stop)
        if told == OK and to_status == "accepted" and self.rng.random() < 0.5:
            self.todo.append((pk, marker, "in_progress"))


# --- Faults -------------------------------------------------------------------------------------------------


def probe(soak: Soak, prober: Client, fault: Fault) -> None:
    """Until a read and a write have both succeeded (the write: one intake, re-sent until it is)."""
    write = None
    while (fault.read_ok is None or fault.write_ok is None) and soak.now() - fault.started < PROBE_LIMIT:
        if fault.read_ok is None:
            call, _h, _b = soak.call("worker", "health read", "GET", "/requests/queue/")
            if call.status == 200:
                fault.read_ok = call.ended
        if fault.write_ok is None:
            if write is None:
                _method, path, data = run.make_call("intake POST", soak.fx, prober.rng)
                marker = prober.marker("p")
                data["title"] = f"{marker} 探测"
                write = soak.new_write(Write(INTAKE, marker, key=data["submission_key"]))
            told, _headers, _body = soak.attempt(write, "worker", "intake POST", path, data)
            if told == OK:
                fault.write_ok = write.attempts[-1].call.ended
        if fault.read_ok is None or fault.write_ok is None:
            time.sleep(0.2)


def inject_faults(soak: Soak, cluster: Cluster, server: subprocess.Popen, *, seconds: float,
                  workers: int, faults: list[Fault], seed: int) -> None:  # fmt: skip
    prober = Client(soak, 99, stop_at=0, hard_stop=0, seed=seed)

    def wait_until(moment: float) -> bool:
        while soak.now() < moment:
            if soak.abort.wait(0.1):
                return False
        return True

    if not wait_until(seconds / 3):
        return
    started = soak.now()
    log(f"fault 1: restarting PostgreSQL (pg_ctl restart -m fast) at {started:.1f} s")
    cluster.restart()
    fault = Fault(FAULTS[0], started=started, action_done=soak.now())
    fault.notes["pg_ctl restart took"] = f"{fault.action_done - started:.2f} s"
    faults.append(fault)
    probe(soak, prober, fault)
    log(f"  recovered: read {fault.recovery_seconds('read')} s, write {fault.recovery_seconds('write')} s")

    if not wait_until(2 * seconds / 3):
        return
    before = worker_pids(server.pid)
    if not before:
        log("fault 2: no gunicorn worker found")
        return
    victim = before[0]
    started = soak.now()
    log(f"fault 2: kill -9 gunicorn worker {victim} at {started:.1f} s")
    os.kill(victim, signal.SIGKILL)
    fault = Fault(FAULTS[1], started=started, action_done=soak.now())
    fault.notes["new worker process after"] = "never"
    faults.append(fault)

    def watch() -> None:  # beside the prober: the master's new worker, whenever it comes
        while soak.now() - started < PROBE_LIMIT and not soak.abort.is_set():
            pids = worker_pids(server.pid)
            if len(pids) >= workers and victim not in pids:
                fault.notes["new worker process after"] = f"{soak.now() - started:.2f} s"
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    probe(soak, prober, fault)
    watcher.join(PROBE_LIMIT)
    log(f"  recovered: read {fault.recovery_seconds('read')} s, write {fault.recovery_seconds('write')} s")


# --- The database afterwards ----------------------------------------------------------------------------------


def creation_history(model, pks: list[int]) -> dict[int, int]:
    """pk → its "created" rows in the model's django-simple-history table."""
    from django.db.models import Count

    return dict(
        model.history.model.objects.filter(id__in=pks, history_type="+")
        .values("id")
        .annotate(n=Count("history_id"))
        .values_list("id", "n")
    )


def snapshot(prefix: str, before: dict[str, int]) -> tuple[list[RequestRow], list[BookingRow], dict]:
    """The rows of this run with what must come with them, and the database-wide checks."""
    from django.db import connection
    from django.db.models import Count, Q

    from stations.choices import ACTIVE_BOOKING_STATES, EventKind
    from stations.models import Booking, RequestEvent, ServiceRequest

    created = Count("events", filter=Q(events__kind=EventKind.CREATED))
    found = list(
        ServiceRequest.objects.filter(title__startswith=prefix)
        .annotate(created_events=created)
        .values("pk", "title", "reference", "response_due_at", "resolution_due_at", "created_events")
    )
    pks = [row["pk"] for row in found]
    status_events: dict[int, dict[str, int]] = {}
    for row in (
        RequestEvent.objects.filter(request_id__in=pks, kind=EventKind.STATUS)
        .values("request_id", "new_status")
        .annotate(n=Count("pk"))
    ):
        status_events.setdefault(row["request_id"], {})[row["new_status"]] = row["n"]
    history = creation_history(ServiceRequest, pks)
    requests = [
        RequestRow(
            pk=row["pk"],
            marker=row["title"].split()[0],
            reference=row["reference"] or "",
            has_deadlines=row["response_due_at"] is not None and row["resolution_due_at"] is not None,
            created_events=row["created_events"],
            history_rows=history.get(row["pk"], 0),
            status_events=status_events.get(row["pk"], {}),
        )
        for row in found
    ]
    booked = list(Booking.objects.filter(purpose__startswith=prefix).values("pk", "purpose", "space__pk"))
    booking_history = creation_history(Booking, [row["pk"] for row in booked])
    bookings = [
        BookingRow(
            pk=row["pk"],
            marker=row["purpose"].split()[0],
            has_space=row["space__pk"] is not None,
            history_rows=booking_history.get(row["pk"], 0),
        )
        for row in booked
    ]
    table = Booking._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FROM {table} a JOIN {table} b
                ON a.space_id = b.space_id AND a.id < b.id AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
                WHERE a.status = ANY(%s) AND b.status = ANY(%s)""",
            [sorted(ACTIVE_BOOKING_STATES)] * 2,
        )
        overlaps = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    new_requests = ServiceRequest.objects.filter(pk__gt=before["request"])
    numbers = sorted(
        int(ref.rsplit("-", 1)[1])
        for ref in new_requests.filter(community_id=before["community"]).values_list("reference", flat=True)
        if ref
    )
    facts = {
        "postgresql": version,
        "new_requests": new_requests.count(),
        "new_bookings": Booking.objects.filter(pk__gt=before["booking"]).count(),
        "requests_without_creation_event": new_requests.annotate(c=created).filter(c=0).count(),
        "requests_without_reference": new_requests.filter(
            Q(reference="") | Q(reference__isnull=True)
        ).count(),
        "overlapping_bookings": overlaps,
        # Informational: numbers taken by a rolled-back intake return to the counter, so none are skipped.
        "reference_gaps": (numbers[-1] - numbers[0] + 1 - len(numbers)) if numbers else 0,
    }
    return requests, bookings, facts


# --- Main ---------------------------------------------------------------------------------------------------


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of the load (default 60).")
    parser.add_argument("--threads", type=int, default=6, help="Client threads (default 6).")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pg-port", type=int, default=5439, help="Of the throw-away cluster (taken: a free one)."
    )
    parser.add_argument(
        "--max-recovery", type=float, default=30.0, help="Seconds allowed to recover from a fault."
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", action="store_true", help="Keep the temporary directory (logs) for a post-mortem."
    )
    args = parser.parse_args()
    if not 1 <= args.threads <= 32 or not 15 <= args.seconds <= 600:
        parser.error("1–32 threads and 15–600 seconds")
    if not (pg_bin() / "initdb").exists():
        parser.error(
            f"PostgreSQL server binaries not found in {pg_bin()}: apt-get install postgresql (or set PG_BIN)"
        )
    signal.signal(signal.SIGTERM, _interrupt)

    tmp = Path(tempfile.mkdtemp(prefix="onedesk-soak-"))
    cluster = Cluster(tmp, args.pg_port if port_is_free(args.pg_port) else run.free_port())
    server = None
    try:
        log(f"PostgreSQL cluster in {tmp} on {HOST}:{cluster.port}")
        cluster.init()
        cluster.start()
        url = cluster.create_database()
        (tmp / "static").mkdir()
        env = run.server_env(url, str(tmp / "static"))
        env.pop("DATABASE_REPLICA_URL", None)  # everything on the throw-away cluster
        run.manage(env, "migrate", "--noinput", "-v", "0")
        log(f"generating a small district: {DATA}")
        run.manage(
            env, "generate_district", "--seed", str(args.seed), *(f"--{k}={v}" for k, v in DATA.items())
        )
        run.manage(env, "collectstatic", "--noinput", "-v", "0")

        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connection

        from stations.models import Booking, ServiceRequest

        rng = random.Random(args.seed)
        fx = run.load_fixture(rng)
        # Staff may book beyond the horizon: days after the generated bookings (two weeks ahead) leave the
        # soak's bookings to contend with each other only.
        today = dt.date.today()
        fx = replace(fx, booking_days=[(today + dt.timedelta(days=d)).isoformat() for d in range(20, 50)])
        before = {
            "request": ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            "booking": Booking.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            "community": fx.community,
        }
        connection.close()

        port = run.free_port()
        log(f"starting gunicorn ({args.workers} workers) on {HOST}:{port}")
        server_log = tmp / "gunicorn.log"
        with server_log.open("w") as out:
            server = run.start_server(
                env, port=port, workers=args.workers, stdout=out, stderr=subprocess.STDOUT
            )
        run.wait_for(port, server)
        sessions = {role: Session(port, fx.usernames[role], fx.password) for role in ("worker", "head")}

        run_id = uuid.uuid4().hex[:6]
        soak = Soak(port=port, sessions=sessions, fx=fx, run_id=run_id)
        stop_at = args.seconds
        hard_stop = args.seconds + RETRY_FOR
        clients = [
            Client(soak, i, stop_at=stop_at, hard_stop=hard_stop, seed=args.seed) for i in range(args.threads)
        ]
        faults: list[Fault] = []
        injector = threading.Thread(
            target=inject_faults,
            kwargs={"soak": soak, "cluster": cluster, "server": server, "seconds": args.seconds,
                    "workers": args.workers, "faults": faults, "seed": args.seed},
            name="soak-faults",
            daemon=True,
        )  # fmt: skip
        log(f"load for {args.seconds:.0f} s from {args.threads} threads; faults at 1/3 and 2/3")
        try:
            for thread in [*clients, injector]:
                thread.start()
            # Bounded even if something hangs: the clients stop retrying at hard_stop, the prober gives up.
            limit = soak.t0 + hard_stop + PROBE_LIMIT
            for thread in [*clients, injector]:
                while thread.is_alive() and time.perf_counter() < limit:
                    thread.join(0.5)
        except KeyboardInterrupt:
            soak.abort.set()
            raise
        stuck = [thread.name for thread in [*clients, injector] if thread.is_alive()]
        if stuck:
            soak.abort.set()
            log(f"still running at the time limit: {', '.join(stuck)}")
        seconds = soak.now()
        run.stop_server(server)
        server = None

        log("reconciling the ledgers with the database")
        requests, bookings, facts = snapshot(f"SOAK{run_id}-", before)
        connection.close()
        with soak.lock:
            writes, calls = list(soak.writes), list(soak.calls)
        log_text = server_log.read_text(errors="replace")
        version = facts.pop("postgresql")
        result = summarize(
            writes=writes,
            calls=calls,
            faults=faults,
            reconciliation=reconcile(writes, requests, bookings),
            database=facts,
            planned=list(FAULTS),
            max_recovery=args.max_recovery,
            meta={
                "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "run_id": run_id,
                "seconds": round(seconds, 1),
                "load_seconds": args.seconds,
                "threads": args.threads,
                "workers": args.workers,
                "postgresql": version,
                "data": DATA,
                "stuck_threads": stuck,
                "server_log": {
                    "tracebacks": log_text.count("Traceback"),
                    "worker_timeouts": log_text.count("WORKER TIMEOUT"),
                },
            },
        )
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "soak.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(render(result))
        log(f"wrote {RESULTS / 'soak.json'}" + ("" if result["passed"] else "; FAILED"))
        return 0 if result["passed"] else 1
    except KeyboardInterrupt:
        log("interrupted: stopping gunicorn and the cluster")
        return 130
    except (subprocess.CalledProcessError, RuntimeError) as exc:  # setting up failed (its output is above)
        log(f"could not set up the soak: {exc}")
        return 2
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if server is not None:
            run.stop_server(server)
        cluster.stop()
        # The logs outlive the temporary directory (bench/results/tmp/ is not committed).
        (RESULTS / "tmp").mkdir(parents=True, exist_ok=True)
        for name in ("gunicorn.log", "postgres.log"):
            if (tmp / name).exists():
                shutil.copy(tmp / name, RESULTS / "tmp" / f"soak-{name}")
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
