"""The pure half of `make soak`: what each client was told (its ledger), the fault windows, and the
reconciliation of the ledgers with the rows found in the database afterwards.

No Django, no I/O: bench/soak.py drives the server and reads the database, this module judges; the
tests in tests/test_soak_pieces.py check the judging on hand-made ledgers.

Vocabulary. A *write* is one form a client wants submitted (an intake, a booking, a status change);
each HTTP try of it is an *attempt*, and every try of one write sends the same form (the same
submission key, or for a status change the same version). Each attempt is *told* one of:

- ok: the app said it is done (a redirect; for a status change the success message);
- refused: the app said it is not done and why (a taken slot, a stale version, a form error);
- unknown: no answer or a server error (5xx), so the client cannot know; it tries again.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field

OK, REFUSED, UNKNOWN = "ok", "refused", "unknown"
INTAKE, BOOKING, TRANSITION = "intake", "booking", "transition"
KINDS = (INTAKE, BOOKING, TRANSITION)
CONNECTION_ERROR = 599  # no HTTP answer at all: connection refused or reset, or a timeout

# django.contrib.messages levels, as found in the messages cookie of a redirect.
MESSAGE_INFO, MESSAGE_SUCCESS, MESSAGE_ERROR = 20, 25, 40

# Page → the answers the page is built to give (anything else below 500 is "unexpected": the soak
# itself sent something wrong, or the app answered what it should not).
EXPECTED = {
    "intake POST": {302, 200},  # 200: the form re-shown with its errors
    "booking POST": {302, 409, 200},  # 409: the slot was taken; 200: another rule (quota)
    "transition POST": {302},  # success and refusal both redirect, with a message
}
READ_EXPECTED = {200}


@dataclass(frozen=True)
class Call:
    """One HTTP exchange as a client saw it; times in seconds since the start of the run."""

    page: str
    started: float
    ended: float
    status: int


@dataclass
class Attempt:
    call: Call
    told: str
    message_level: int | None = None  # the highest level of the messages the answer set


@dataclass
class Write:
    """One form a client wants written, with every attempt and what each was told."""

    kind: str
    marker: str  # intake, booking: unique text in the title / purpose; transition: "<request>><status>"
    key: str = ""  # the submission key every attempt sends
    request_marker: str = ""  # transition: the marker of the request it moves
    to_status: str = ""  # transition: the status it moves to
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return final_outcome(self.kind, [a.told for a in self.attempts])


def classify(kind: str, status: int, message_level: int | None = None) -> str:
    """What one answer tells the client about its write."""
    if status >= 500:  # server error or no answer (CONNECTION_ERROR): it may or may not be written
        return UNKNOWN
    if kind == TRANSITION:
        # The transition view redirects both ways; the message says which.
        if status == 302 and message_level == MESSAGE_SUCCESS:
            return OK
        if status == 302 and message_level is not None and message_level >= MESSAGE_ERROR:
            return REFUSED
        return UNKNOWN if status == 302 else REFUSED
    return OK if status == 302 else REFUSED


def final_outcome(kind: str, told: list[str]) -> str:
    """What the client finally knows after all its attempts.

    Intake and booking look the submission key up before anything else, so once one attempt has
    written the row every later attempt is told ok ("already sent"): a refusal after an unknown
    attempt means nothing was written. A status change has no key, only the version it was made
    from: if the unknown attempt was written, the retry is refused as stale, so a refusal after an
    unknown attempt leaves the outcome unknown."""
    if OK in told:
        return OK
    if not told or told[-1] != REFUSED:
        return UNKNOWN
    if kind == TRANSITION and UNKNOWN in told:
        return UNKNOWN
    return REFUSED


def written_unanswered(write: Write) -> bool:
    """An attempt that got no answer (or a 5xx) had in fact been written: the retry was told so
    ("This form was already sent" / "This booking had already been made", an info message)."""
    return (
        write.kind != TRANSITION
        and len(write.attempts) > 1
        and write.attempts[-1].told == OK
        and write.attempts[-1].message_level == MESSAGE_INFO
    )


def is_unexpected(page: str, status: int) -> bool:
    if status >= 500:
        return False
    return status not in EXPECTED.get(page, READ_EXPECTED)


# --- Faults -----------------------------------------------------------------------------------------


@dataclass
class Fault:
    """One fault: when it began, when its action was over (PostgreSQL back up, the worker killed),
    and the first successful read and write that began after that."""

    name: str
    started: float
    action_done: float
    read_ok: float | None = None
    write_ok: float | None = None
    notes: dict = field(default_factory=dict)

    @property
    def recovered(self) -> float | None:
        if self.read_ok is None or self.write_ok is None:
            return None
        return max(self.read_ok, self.write_ok)

    @property
    def window(self) -> tuple[float, float]:
        """From the fault to the recovery (to the end of time if it never recovered)."""
        return self.started, self.recovered if self.recovered is not None else math.inf

    def recovery_seconds(self, which: str) -> float | None:
        moment = {"read": self.read_ok, "write": self.write_ok, "both": self.recovered}[which]
        return None if moment is None else round(moment - self.started, 3)


def in_window(call: Call, faults: list[Fault]) -> bool:
    """Whether the call overlaps a fault window (a call in flight when the fault hit counts)."""
    return any(call.started <= end and call.ended >= start for start, end in (f.window for f in faults))


def error_counts(calls: list[Call], faults: list[Fault]) -> dict[str, int]:
    counts = Counter()
    for call in calls:
        if call.status >= 500:
            kind = "connection_errors" if call.status == CONNECTION_ERROR else "server_errors"
            counts[f"{kind}_{'in' if in_window(call, faults) else 'outside'}_fault_windows"] += 1
        elif is_unexpected(call.page, call.status):
            counts["unexpected_answers"] += 1
    keys = [
        f"{kind}_{where}_fault_windows"
        for kind in ("server_errors", "connection_errors")
        for where in ("in", "outside")
    ]
    return {key: counts[key] for key in [*keys, "unexpected_answers"]}


# --- Reconciliation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    """A request of this run as found in the database, with what must have been written with it."""

    pk: int
    marker: str
    reference: str
    has_deadlines: bool
    created_events: int
    history_rows: int
    status_events: dict[str, int] = field(default_factory=dict)  # new status → events


@dataclass(frozen=True)
class BookingRow:
    pk: int
    marker: str
    has_space: bool
    history_rows: int


@dataclass(frozen=True)
class Problem:
    check: str  # lost, duplicated, phantom, half-written, unknown row
    marker: str
    detail: str


@dataclass
class Reconciliation:
    told: dict[str, dict[str, int]]  # kind → outcome → writes
    unknown_found: dict[str, dict[str, int]]  # kind → "0 rows"/"1 row"/"more" → unknown-outcome writes
    problems: list[Problem]

    def count(self, check: str) -> int:
        return sum(p.check == check for p in self.problems)


def half_written_request(row: RequestRow) -> str:
    missing = []
    if not row.reference:
        missing.append("reference")
    if not row.has_deadlines:
        missing.append("deadlines")
    if row.created_events != 1:
        missing.append(f"creation event ({row.created_events})")
    if row.history_rows < 1:
        missing.append("history")
    return ", ".join(missing)


def half_written_booking(row: BookingRow) -> str:
    missing = []
    if not row.has_space:
        missing.append("space")
    if row.history_rows < 1:
        missing.append("history")
    return ", ".join(missing)


def _judge(problems: list[Problem], write: Write, found: int, unknown_found: Counter) -> None:
    outcome = write.outcome
    if found > 1:
        problems.append(Problem("duplicated", write.marker, f"{write.kind} told {outcome}: {found} rows"))
    elif outcome == OK and found == 0:
        problems.append(Problem("lost", write.marker, f"{write.kind} told ok: no row"))
    elif outcome == REFUSED and found:
        problems.append(Problem("phantom", write.marker, f"{write.kind} told refused: {found} row"))
    if outcome == UNKNOWN:
        unknown_found[{0: "0 rows", 1: "1 row"}.get(found, "more")] += 1


def reconcile(writes: list[Write], requests: list[RequestRow], bookings: list[BookingRow]) -> Reconciliation:
    """Every write told ok exists exactly once, none told refused exists, an unknown one exists at
    most once, nothing is half-written, and no row of this run is missing from the ledgers."""
    problems: list[Problem] = []
    requests_by_marker: dict[str, list[RequestRow]] = {}
    for row in requests:
        requests_by_marker.setdefault(row.marker, []).append(row)
    bookings_by_marker: dict[str, list[BookingRow]] = {}
    for row in bookings:
        bookings_by_marker.setdefault(row.marker, []).append(row)

    told = {kind: Counter() for kind in KINDS}
    unknown_found = {kind: Counter() for kind in KINDS}
    ledger_markers = {INTAKE: set(), BOOKING: set()}
    for write in writes:
        told[write.kind][write.outcome] += 1
        if write.kind == INTAKE:
            found = len(requests_by_marker.get(write.marker, []))
        elif write.kind == BOOKING:
            found = len(bookings_by_marker.get(write.marker, []))
        else:
            rows = requests_by_marker.get(write.request_marker, [])
            found = sum(row.status_events.get(write.to_status, 0) for row in rows)
        if write.kind in ledger_markers:
            ledger_markers[write.kind].add(write.marker)
        _judge(problems, write, found, unknown_found[write.kind])

    for label, by_marker, kind, half_written in (
        ("request", requests_by_marker, INTAKE, half_written_request),
        ("booking", bookings_by_marker, BOOKING, half_written_booking),
    ):
        for marker, rows in by_marker.items():
            if marker not in ledger_markers[kind]:
                problems.append(Problem("unknown row", marker, f"{label} {rows[0].pk} in no ledger"))
            for row in rows:
                if missing := half_written(row):
                    problems.append(Problem("half-written", marker, f"{label} {row.pk} without {missing}"))
    return Reconciliation(
        told={kind: dict(sorted(c.items())) for kind, c in told.items()},
        unknown_found={kind: dict(sorted(c.items())) for kind, c in unknown_found.items()},
        problems=problems,
    )


# --- Verdict and report ----------------------------------------------------------------------------------


def summarize(
    *,
    writes: list[Write],
    calls: list[Call],
    faults: list[Fault],
    reconciliation: Reconciliation,
    database: dict,
    planned: list[str],
    max_recovery: float,
    meta: dict,
) -> dict:
    """The result written to bench/results/soak.json, with the criteria and the verdict."""
    statuses: dict[str, Counter] = {}
    for call in calls:
        statuses.setdefault(call.page, Counter())[str(call.status)] += 1
    rec = reconciliation
    result = {
        **meta,
        "calls": len(calls),
        "statuses_by_page": {page: dict(sorted(c.items())) for page, c in sorted(statuses.items())},
        "retried_writes": sum(len(w.attempts) > 1 for w in writes),
        "written_unanswered": sum(written_unanswered(w) for w in writes),
        "faults_planned": planned,
        "faults": [
            {
                "name": f.name,
                "window_s": [round(f.started, 2), None if f.recovered is None else round(f.recovered, 2)],
                "recovery_s": {k: f.recovery_seconds(k) for k in ("read", "write", "both")},
                "notes": f.notes,
            }
            for f in faults
        ],
        "errors": error_counts(calls, faults),
        "error_calls": [
            {**asdict(c), "in_fault_window": in_window(c, faults)} for c in calls if c.status >= 500
        ],
        "reconciliation": {
            "told": rec.told,
            "unknown_found": rec.unknown_found,
            "problems_by_check": {c: rec.count(c) for c in sorted({p.check for p in rec.problems})},
            "problems": [asdict(p) for p in rec.problems],
        },
        "database": database,
    }
    verdict = criteria(result, max_recovery=max_recovery)
    result["criteria"] = [{"name": n, "passed": p, "figures": f} for n, p, f in verdict]
    result["passed"] = all(p for _n, p, _f in verdict)
    return result


def criteria(result: dict, *, max_recovery: float) -> list[tuple[str, bool, str]]:
    """(criterion, passed, figures) for the result dict bench/soak.py writes to soak.json."""
    errors = result["errors"]
    checks = result["reconciliation"]["problems_by_check"]
    db = result["database"]
    told = result["reconciliation"]["told"]
    rows = [
        (
            "every kind of write was made and acknowledged",
            all(told.get(kind, {}).get(OK, 0) > 0 for kind in KINDS),
            ", ".join(f"{kind} {told.get(kind, {}).get(OK, 0)} ok" for kind in KINDS),
        ),
        ("no write told ok is missing", checks.get("lost", 0) == 0, f"{checks.get('lost', 0)} lost"),
        (
            "no write exists twice",
            checks.get("duplicated", 0) == 0,
            f"{checks.get('duplicated', 0)} duplicated",
        ),
        (
            "no write told refused exists",
            checks.get("phantom", 0) == 0,
            f"{checks.get('phantom', 0)} phantom",
        ),
        (
            "nothing half-written",
            checks.get("half-written", 0) == 0
            and db["requests_without_creation_event"] == 0
            and db.get("requests_without_reference", 0) == 0,
            f"{checks.get('half-written', 0)} rows of this run; new requests without a creation event "
            f"{db['requests_without_creation_event']}, without a reference {db.get('requests_without_reference', 0)}",
        ),
        (
            "every row of this run is in a ledger",
            checks.get("unknown row", 0) == 0,
            f"{checks.get('unknown row', 0)}",
        ),
        (
            "no overlapping active bookings",
            db["overlapping_bookings"] == 0,
            f"{db['overlapping_bookings']} pairs",
        ),
        (
            "no server error outside the fault windows",
            errors["server_errors_outside_fault_windows"] == 0,
            f"{errors['server_errors_outside_fault_windows']} (inside: {errors['server_errors_in_fault_windows']})",
        ),
        (
            "no connection error outside the fault windows",
            errors["connection_errors_outside_fault_windows"] == 0,
            f"{errors['connection_errors_outside_fault_windows']} "
            f"(inside: {errors['connection_errors_in_fault_windows']})",
        ),
        ("no unexpected answer (4xx)", errors["unexpected_answers"] == 0, f"{errors['unexpected_answers']}"),
    ]
    stuck = result.get("stuck_threads", [])
    rows.append(("every thread finished in time", not stuck, ", ".join(stuck) or "all"))
    expected = result.get("faults_planned", [])
    seen = [fault["name"] for fault in result["faults"]]
    rows.append(("every planned fault happened", seen == expected, ", ".join(seen) or "none"))
    for fault in result["faults"]:
        worst = fault["recovery_s"]["both"]
        rows.append(
            (
                f"{fault['name']}: recovered within {max_recovery:g} s",
                worst is not None and worst <= max_recovery,
                f"read {_seconds(fault['recovery_s']['read'])}, write {_seconds(fault['recovery_s']['write'])}",
            )
        )
    return rows


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def render(result: dict) -> str:
    """The summary table printed at the end of the run."""
    lines = [
        f"OneDesk soak {result['date']}: {result['seconds']:.0f} s, {result['threads']} client threads, "
        f"gunicorn {result['workers']} workers, PostgreSQL {result['postgresql']} (own cluster)",
        "",
        f"{'HTTP calls':<44}{result['calls']:>10}",
    ]
    for page, statuses in result["statuses_by_page"].items():
        text = " ".join(f"{status}×{n}" for status, n in statuses.items())
        lines.append(f"  {page:<42}{text}")
    lines += ["", f"{'writes':<16}{'ok':>8}{'refused':>9}{'unknown':>9}{'unknown → 0 / 1 row':>22}"]
    for kind in KINDS:
        told = result["reconciliation"]["told"].get(kind, {})
        found = result["reconciliation"]["unknown_found"].get(kind, {})
        lines.append(
            f"{kind:<16}{told.get(OK, 0):>8}{told.get(REFUSED, 0):>9}{told.get(UNKNOWN, 0):>9}"
            f"{found.get('0 rows', 0):>14} / {found.get('1 row', 0)}"
        )
    lines += [
        "",
        f"writes retried after an unknown answer: {result['retried_writes']}, of which "
        f"{result['written_unanswered']} had been written by the unanswered attempt (the retry was told "
        '"already sent")',
    ]
    for fault in result["faults"]:
        window = fault["window_s"]
        lines.append(
            f"fault {fault['name']} at {window[0]:.1f} s: back to read in {_seconds(fault['recovery_s']['read'])}, "
            f"write in {_seconds(fault['recovery_s']['write'])}"
            + "".join(f"; {key} {value}" for key, value in fault["notes"].items())
        )
    errors = result["errors"]
    lines.append(
        f"5xx inside fault windows: {errors['server_errors_in_fault_windows']}, outside: "
        f"{errors['server_errors_outside_fault_windows']}; no answer inside: "
        f"{errors['connection_errors_in_fault_windows']}, outside: {errors['connection_errors_outside_fault_windows']}"
    )
    if errors["server_errors_in_fault_windows"] or errors["connection_errors_in_fault_windows"]:
        lines.append(
            "  (expected: while PostgreSQL restarts the app answers its 500 page, and the calls in flight on the "
            "killed worker get no answer; both only inside the fault windows, and the clients retried them)"
        )
    lines += ["", "criteria:"]
    for row in result["criteria"]:
        lines.append(f"  {'PASS' if row['passed'] else 'FAIL'}  {row['name']:<52} {row['figures']}")
    for problem in result["reconciliation"]["problems"][:20]:
        lines.append(f"  ! {problem['check']}: {problem['marker']} — {problem['detail']}")
    return "\n".join(lines)
