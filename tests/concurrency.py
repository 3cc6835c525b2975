"""Run the same action in several threads released together, for the PostgreSQL concurrency tests."""

import threading

from django.db import connection

TIMEOUT = 60  # seconds (50 threads on 2 cores); a deadlock or lost wake-up fails the test instead of hanging the suite


def run_together(count: int, action) -> list[tuple[str, object]]:
    """Start `count` threads at the same moment; each runs action(i). Returns ("ok", result) or
    ("error", exception) per thread, in thread order."""
    barrier = threading.Barrier(count, timeout=TIMEOUT)
    results: list[tuple[str, object] | None] = [None] * count

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = ("ok", action(i))
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def _ok(results):
    return [value for kind, value in results if kind == "ok"]


def _errors(results):
    return [value for kind, value in results if kind == "error"]
