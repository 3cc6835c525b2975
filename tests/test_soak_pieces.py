"""The pure parts of `make soak` (bench/soak_ledger.py): what a client concludes from an answer, the
reconciliation of its ledger with the database rows, the fault windows and the verdict. The soak run
itself (a PostgreSQL cluster, gunicorn, faults) is not part of the suite: `make soak`."""

import importlib
import math
from pathlib import Path

import pytest

from bench.soak_ledger import (
    BOOKING,
    CONNECTION_ERROR,
    INTAKE,
    MESSAGE_ERROR,
    MESSAGE_INFO,
    MESSAGE_SUCCESS,
    OK,
    REFUSED,
    TRANSITION,
    UNKNOWN,
    Attempt,
    BookingRow,
    Call,
    Fault,
    RequestRow,
    Write,
    classify,
    error_counts,
    final_outcome,
    in_window,
    reconcile,
    render,
    summarize,
    written_unanswered,
)


def _write(kind, marker, *answers, request_marker="", to_status="", at=0.0):
    """A write whose attempts got these (status, told[, message level]) answers, from `at`, a second apart."""
    write = Write(kind, marker, key=f"key-{marker}", request_marker=request_marker, to_status=to_status)
    for n, (status, told, *level) in enumerate(answers):
        page = {INTAKE: "intake POST", BOOKING: "booking POST", TRANSITION: "transition POST"}[kind]
        write.attempts.append(
            Attempt(Call(page, at + n, at + n + 0.5, status), told, level[0] if level else None)
        )
    return write


def _request(pk, marker, **changes):
    fields = {
        "pk": pk,
        "marker": marker,
        "reference": f"G001-2026-{pk:06d}",
        "has_deadlines": True,
        "created_events": 1,
        "history_rows": 1,
        "status_events": {},
    }
    return RequestRow(**{**fields, **changes})


def _booking(pk, marker, **changes):
    return BookingRow(**{"pk": pk, "marker": marker, "has_space": True, "history_rows": 1, **changes})


# --- What one answer tells the client -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "level", "told"),
    [
        (INTAKE, 302, MESSAGE_SUCCESS, OK),
        (INTAKE, 302, MESSAGE_INFO, OK),  # "this form was already sent"
        (INTAKE, 200, None, REFUSED),  # the form re-shown with its errors
        (INTAKE, 500, None, UNKNOWN),
        (INTAKE, CONNECTION_ERROR, None, UNKNOWN),
        (BOOKING, 302, MESSAGE_SUCCESS, OK),
        (BOOKING, 409, None, REFUSED),  # the slot was taken
        (BOOKING, 200, None, REFUSED),  # another rule, e.g. the weekly quota
        (BOOKING, 502, None, UNKNOWN),
        (TRANSITION, 302, MESSAGE_SUCCESS, OK),
        (TRANSITION, 302, MESSAGE_ERROR, REFUSED),  # stale version or not allowed: same redirect
        (TRANSITION, 302, None, UNKNOWN),  # a redirect without a message says nothing
        (TRANSITION, CONNECTION_ERROR, None, UNKNOWN),
    ],
)
def test_classify(kind, status, level, told):
    assert classify(kind, status, level) == told


@pytest.mark.parametrize(
    ("kind", "told", "outcome"),
    [
        (INTAKE, [UNKNOWN, OK], OK),
        (INTAKE, [UNKNOWN, UNKNOWN], UNKNOWN),
        (INTAKE, [], UNKNOWN),
        # The submission key is looked up first: a refusal after a lost answer means nothing was written.
        (BOOKING, [UNKNOWN, REFUSED], REFUSED),
        (BOOKING, [REFUSED], REFUSED),
        # A status change has only its version: the retry of a written change is refused as stale.
        (TRANSITION, [UNKNOWN, REFUSED], UNKNOWN),
        (TRANSITION, [REFUSED], REFUSED),
        (TRANSITION, [UNKNOWN, OK], OK),
    ],
)
def test_final_outcome(kind, told, outcome):
    assert final_outcome(kind, told) == outcome


def test_written_unanswered_is_a_retry_told_already_sent():
    already = _write(INTAKE, "m1", (CONNECTION_ERROR, UNKNOWN), (302, OK, MESSAGE_INFO))
    fresh = _write(INTAKE, "m2", (500, UNKNOWN), (302, OK, MESSAGE_SUCCESS))
    first_time = _write(BOOKING, "m3", (302, OK, MESSAGE_INFO))

    assert [written_unanswered(w) for w in (already, fresh, first_time)] == [True, False, False]


# --- Reconciliation -----------------------------------------------------------------------------------------


def test_reconcile_accepts_exactly_once_and_unknown_at_most_once():
    writes = [
        _write(INTAKE, "i1", (302, OK)),
        _write(INTAKE, "i2", (500, UNKNOWN), (302, OK)),
        _write(INTAKE, "i3", (CONNECTION_ERROR, UNKNOWN)),  # never answered, and not written
        _write(INTAKE, "i4", (CONNECTION_ERROR, UNKNOWN)),  # never answered, but written
        _write(BOOKING, "b1", (302, OK)),
        _write(BOOKING, "b2", (409, REFUSED)),
        _write(
            TRANSITION, "i1>accepted", (302, OK, MESSAGE_SUCCESS), request_marker="i1", to_status="accepted"
        ),
    ]
    requests = [
        _request(1, "i1", status_events={"accepted": 1}),
        _request(2, "i2"),
        _request(4, "i4"),
    ]

    rec = reconcile(writes, requests, [_booking(7, "b1")])

    assert rec.problems == []
    assert rec.told == {INTAKE: {OK: 2, UNKNOWN: 2}, BOOKING: {OK: 1, REFUSED: 1}, TRANSITION: {OK: 1}}
    assert rec.unknown_found[INTAKE] == {"0 rows": 1, "1 row": 1}


def test_reconcile_finds_lost_duplicated_and_phantom_writes():
    writes = [
        _write(INTAKE, "lost", (302, OK)),
        _write(INTAKE, "twice", (CONNECTION_ERROR, UNKNOWN)),  # unknown: 0 or 1 row, never 2
        _write(BOOKING, "phantom", (409, REFUSED)),
        _write(TRANSITION, "twice>accepted", (302, OK, MESSAGE_SUCCESS), request_marker="twice", to_status="accepted"),
        _write(TRANSITION, "twice>in_progress", (302, OK, MESSAGE_SUCCESS), request_marker="twice", to_status="in_progress"),
    ]  # fmt: skip
    requests = [_request(1, "twice", status_events={"accepted": 2}), _request(2, "twice")]

    rec = reconcile(writes, requests, [_booking(9, "phantom")])

    assert sorted((p.check, p.marker) for p in rec.problems) == [
        ("duplicated", "twice"),
        ("duplicated", "twice>accepted"),
        ("lost", "lost"),
        ("lost", "twice>in_progress"),
        ("phantom", "phantom"),
    ]
    assert rec.count("duplicated") == 2


def test_reconcile_finds_half_written_rows_and_rows_in_no_ledger():
    writes = [_write(INTAKE, "i1", (302, OK)), _write(BOOKING, "b1", (302, OK))]
    requests = [
        _request(1, "i1", created_events=0, history_rows=0),
        _request(2, "stray"),
    ]
    bookings = [_booking(5, "b1", has_space=False)]

    rec = reconcile(writes, requests, bookings)

    assert sorted((p.check, p.marker, p.detail) for p in rec.problems) == [
        ("half-written", "b1", "booking 5 without space"),
        ("half-written", "i1", "request 1 without creation event (0), history"),
        ("unknown row", "stray", "request 2 in no ledger"),
    ]


# --- Fault windows ---------------------------------------------------------------------------------------


def test_calls_overlapping_a_fault_window_are_inside_it():
    fault = Fault("postgresql restart", started=10.0, action_done=12.0, read_ok=12.5, write_ok=13.0)
    assert fault.window == (10.0, 13.0)
    assert fault.recovery_seconds("read") == 2.5
    assert fault.recovery_seconds("both") == 3.0

    in_flight = Call("intake POST", 9.0, 10.2, 500)  # began before the fault
    during = Call("my queue", 11.0, 11.1, 500)
    after = Call("my queue", 13.2, 13.3, 500)
    assert [in_window(c, [fault]) for c in (in_flight, during, after)] == [True, True, False]


def test_a_fault_that_never_recovers_has_an_endless_window():
    fault = Fault("worker killed", started=40.0, action_done=40.0, read_ok=41.0)

    assert fault.recovered is None
    assert fault.window == (40.0, math.inf)
    assert fault.recovery_seconds("write") is None
    assert in_window(Call("my queue", 500.0, 500.1, 500), [fault])


def test_error_counts_split_by_window_and_kind():
    fault = Fault("worker killed", started=10.0, action_done=10.0, read_ok=10.5, write_ok=11.0)
    calls = [
        Call("intake POST", 9.9, 10.1, CONNECTION_ERROR),
        Call("my queue", 10.2, 10.3, 500),
        Call("my queue", 20.0, 20.1, 500),
        Call("space week", 21.0, 21.1, 200),
        Call("booking POST", 22.0, 22.1, 409),  # a taken slot is an answer, not an error
        Call("request detail", 23.0, 23.1, 403),
    ]

    assert error_counts(calls, [fault]) == {
        "server_errors_in_fault_windows": 1,
        "server_errors_outside_fault_windows": 1,
        "connection_errors_in_fault_windows": 1,
        "connection_errors_outside_fault_windows": 0,
        "unexpected_answers": 1,
    }


# --- Verdict -------------------------------------------------------------------------------------------------


def _summary(*, calls=(), faults=None, requests=None, database=None, max_recovery=30.0):
    writes = [
        _write(INTAKE, "i1", (500, UNKNOWN), (302, OK, MESSAGE_INFO), at=11.0),  # during the restart
        _write(BOOKING, "b1", (302, OK, MESSAGE_SUCCESS)),
        _write(
            TRANSITION, "i1>accepted", (302, OK, MESSAGE_SUCCESS), request_marker="i1", to_status="accepted"
        ),
    ]
    if faults is None:
        faults = [
            Fault("postgresql restart", started=10.0, action_done=12.0, read_ok=12.4, write_ok=12.9),
            Fault("worker killed", started=20.0, action_done=20.0, read_ok=20.3, write_ok=20.6),
        ]
    requests = requests if requests is not None else [_request(1, "i1", status_events={"accepted": 1})]
    facts = {"requests_without_creation_event": 0, "overlapping_bookings": 0, **(database or {})}
    return summarize(
        writes=writes,
        calls=[*(a.call for w in writes for a in w.attempts), *calls],
        faults=faults,
        reconciliation=reconcile(writes, requests, [_booking(3, "b1")]),
        database=facts,
        planned=["postgresql restart", "worker killed"],
        max_recovery=max_recovery,
        meta={"date": "2026-11-30", "seconds": 60.0, "threads": 6, "workers": 2, "postgresql": "15"},
    )


def _failed(result):
    return [row["name"] for row in result["criteria"] if not row["passed"]]


def test_a_clean_run_passes_and_explains_the_500s_inside_the_windows():
    result = _summary(calls=[Call("my queue", 11.0, 11.2, 500)])

    assert _failed(result) == []
    assert result["passed"] is True
    assert result["retried_writes"] == 1
    assert result["written_unanswered"] == 1
    assert result["errors"]["server_errors_in_fault_windows"] == 2
    assert result["error_calls"][1] == {
        "page": "my queue",
        "started": 11.0,
        "ended": 11.2,
        "status": 500,
        "in_fault_window": True,
    }
    text = render(result)
    assert "5xx inside fault windows: 2, outside: 0" in text
    assert "expected: while PostgreSQL restarts the app answers its 500 page" in text
    assert "FAIL" not in text


def test_a_server_error_outside_the_windows_fails():
    result = _summary(calls=[Call("space week", 30.0, 30.1, 500)])

    assert _failed(result) == ["no server error outside the fault windows"]
    assert result["passed"] is False


def test_slow_recovery_missing_fault_and_bad_rows_fail():
    slow = _summary(
        faults=[Fault("postgresql restart", started=10.0, action_done=12.0, read_ok=41.5, write_ok=41.0)]
    )
    assert _failed(slow) == [
        "every planned fault happened",
        "postgresql restart: recovered within 30 s",
    ]
    assert slow["faults"][0]["recovery_s"] == {"read": 31.5, "write": 31.0, "both": 31.5}

    broken = _summary(requests=[], database={"overlapping_bookings": 1, "requests_without_reference": 2})
    assert _failed(broken) == [
        "no write told ok is missing",
        "nothing half-written",
        "no overlapping active bookings",
    ]


# --- The messages cookie (bench/soak.py) ---------------------------------------------------------------------


def test_message_level_reads_the_messages_cookie_of_a_redirect(monkeypatch, rf):
    from django.contrib import messages
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponseRedirect

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "bench"))
    soak = importlib.import_module("soak")

    def answer(*levels):
        storage = CookieStorage(rf.post("/requests/1/transition/"))
        for level in levels:
            storage.add(level, "状态已更新")
        response = HttpResponseRedirect("/requests/1/")
        storage.update(response)
        return [("Set-Cookie", morsel.OutputString()) for morsel in response.cookies.values()]

    assert soak.message_level(answer(messages.SUCCESS)) == MESSAGE_SUCCESS
    assert soak.message_level(answer(messages.INFO, messages.ERROR)) == MESSAGE_ERROR
    assert soak.message_level(answer()) is None
    assert soak.message_level([("Set-Cookie", 'messages="forged:1a2b"; Path=/')]) is None
