"""Read replicas for the heavy read-only pages (dashboards, the subdistrict view, monthly reports).

With DATABASE_REPLICA_URL set, settings add a `replica` database and this router. Reads go to the
replica only inside `use_replica()` (a context manager, or `@replica_reads` on a view); everything
else, and every write, goes to `default`. So the desk reads its own writes at once, and only pages
that tolerate a second of replication lag ever read from the replica.

The switch is a context variable, not a thread-local: it follows the request through sync and async
code, and resets when the block ends, even on an exception.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.db import connections

REPLICA = "replica"
DEFAULT = "default"

_reading_from_replica: ContextVar[bool] = ContextVar("onedesk_reading_from_replica", default=False)


@contextmanager
def use_replica() -> Iterator[None]:
    """Inside the block, reads go to the replica (if one is configured)."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


def replica_reads(view: Callable) -> Callable:
    """A view decorator: the view's reads go to the replica. For read-only pages only."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with use_replica():
            return view(*args, **kwargs)

    return wrapped


def replica_database(url_settings: dict) -> dict:
    """The `replica` entry of DATABASES from its parsed URL. In tests it is a mirror of `default`: no
    test database is created on the replica (which would refuse writes anyway), the alias points at
    the test database of `default`."""
    return {**url_settings, "TEST": {**url_settings.get("TEST", {}), "MIRROR": DEFAULT}}


def _is_separate_database() -> bool:
    """False when the replica alias points at the primary's own database (a test mirror, or a
    misconfiguration): a second connection to the same database only costs a connection, and in a
    test it would not see the test's uncommitted rows."""
    if REPLICA not in connections.settings:
        return False
    replica, primary = connections[REPLICA].settings_dict, connections[DEFAULT].settings_dict
    keys = ("ENGINE", "HOST", "PORT", "NAME")
    return any(replica.get(key) != primary.get(key) for key in keys)


class ReplicaRouter:
    """Reads inside use_replica() → `replica`; all other reads and all writes → `default`."""

    def db_for_read(self, model, **hints) -> str:
        if _reading_from_replica.get() and _is_separate_database():
            return REPLICA
        return DEFAULT

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Both aliases hold the same data (the replica is a copy of the primary).
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool:
        # The schema is migrated on the primary only; replication carries it to the replicas.
        return db == DEFAULT
