"""The dashboards' summary tables (stations.models.summary): kept by PostgreSQL triggers, rebuilt on demand.

Why a summary, and why triggers
-------------------------------
Plain aggregates cannot make the pages fast enough at district scale: the subdistrict view counts the
twenty period figures (stations.rates) over ~25,000 requests of ten communities and two months, which
costs ~150 ms of CPU in PostgreSQL however the indexes are laid out (and far more when the planner's cost
estimate, inflated by the follow-up-history subqueries, switches JIT compilation on); "resolved per week"
and the workers' resolutions must join every resolution of the district to its request to find the
community. The summary turns those into sums over a few hundred rows.

Triggers rather than a hook in the services: every write reaches them — the services, the admin, imports,
`QuerySet.update()` and `bulk_create()` in tests, and the generator's COPY — and they run in the writer's
transaction, so the summary can never disagree with committed data. They are statement-level triggers with
transition tables: one set-based pass per statement, whether it wrote one row or a COPY of a hundred
thousand.

What is stored (see stations.models.summary for the "settled" rows and the later steps)
----------------------------------------------------------------------------------------
- SummaryMonth: for each request, the period figures of its month as functions of the cut-off, summed per
  community × month × category × line. The rules are those of stations.rates written once more in SQL
  (`_flags` in stations.services.summary_sql); tests/stations/test_dashboard_summary.py checks that both
  give the same numbers on a hand-built set (cancelled, reopened, answered after the month, crossing
  month ends, edits, deletes).
- SummaryDay: requests received per local day; requests resolved per day, counted on the day of their
  first resolution in each week (the trend counts a request once per week).
- SummaryResolution: each resolution with its request's community and receipt time.
- SummaryCare: care-tagged residents per household and smallest visit cadence, with the household's last
  visit (stations.services.summary_care_sql). Its triggers, on visits, care tags, care tags' cadence and
  residents' households, recompute the rows of the households a statement touched, one writer at a time
  (a transaction-level advisory lock, so each reads what the one before it committed). "Overdue for a
  visit" depends on now, so it is not stored: the page compares each row's last visit with its cadence.

Each request trigger recomputes the contribution of the requests a statement touched before and after it (the
old rows from the OLD transition table, the ratings as they were by leaving out the statement's new rows),
subtracts one and adds the other. Deltas are applied with INSERT … ON CONFLICT in key order.

On SQLite there are no triggers: the selectors count live, as before.

Costs and limits
----------------
- A write to a request, a rating or an event costs its statement about a millisecond more (two passes of
  the rules over the rows touched, an upsert).
- Writers of requests in the same community, month, category and line wait for each other's commit on
  their settled row (intakes of a community already queue on its reference counter). A transaction that
  writes requests of several such keys in several statements could deadlock with another doing the same
  in the other order; the services write one request per transaction.
- Care writes (a visit, a care tag, a resident moving household) wait for each other's commit: short and
  rare next to the requests' (a resident import holds the lock until it commits).
- The settled rows assume the cut-off of a page is later than the writes already committed (pages take
  "now" from the same clock as the database, on the same host). When it is not — a write racing the page,
  or a cut-off in the past — the selectors notice (``settled_until``) and count live.

`summary_rebuild()` (manage.py dashboard_summary) installs or refreshes the functions and triggers and
recomputes the tables from scratch: after a restore, a bulk load with triggers disabled, or a change of
TIME_ZONE (the triggers bake the local time zone in, for months, days and weeks)."""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction

from stations.services.summary_care_sql import care_rebuild_sql
from stations.services.summary_sql import (  # noqa: F401 (MONTH_FIGURES, SATISFIED, …: part of this API)
    CARE_TRIGGERS,
    MONTH_FIGURES,
    REQUEST_TRIGGERS,
    SATISFIED,
    TRIGGERS,
    install_sql,
    rebuild_sql,
    uninstall_sql,
)

# --- Services -----------------------------------------------------------------------------------------------


def summary_supported() -> bool:
    """The summary is kept on PostgreSQL only (statement triggers with transition tables)."""
    return connection.vendor == "postgresql"


def summary_install(triggers: dict = TRIGGERS) -> None:
    """Create or replace the trigger functions and the triggers (idempotent). PostgreSQL only. Migrations
    name theirs: 0005 (the requests') ran before SummaryCare's table existed (0007)."""
    if not summary_supported():
        return
    with connection.cursor() as cursor:
        for statement in install_sql(settings.TIME_ZONE, triggers):
            cursor.execute(statement)


def summary_uninstall(triggers: dict = TRIGGERS) -> None:
    if not summary_supported():
        return
    with connection.cursor() as cursor:
        for statement in uninstall_sql(triggers):
            cursor.execute(statement)


@contextmanager
def summary_paused():
    """For bulk loads (the generator's bulk mode): the summary triggers off inside, one rebuild at the end.
    Inside a transaction; the ALTER TABLEs lock the three tables against other writers until it commits."""
    if not summary_supported():
        yield
        return
    with transaction.atomic():
        _alter_triggers("DISABLE")
        yield
        _alter_triggers("ENABLE")
        summary_rebuild()


def _alter_triggers(action: str) -> None:
    with connection.cursor() as cursor:
        # ALTER TABLE refuses a table with deferred foreign-key checks pending in the transaction: run them.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for name, (table, _event, _transitions) in TRIGGERS.items():
            cursor.execute(f"ALTER TABLE {table} {action} TRIGGER {name}")


@transaction.atomic
def summary_rebuild(*, care: bool = True) -> dict[str, int]:
    """Install the triggers and recompute the summary tables from the data, in one transaction (request,
    rating and event writes — and with ``care``, visit, care tag and resident writes — wait until it
    commits). Returns the number of rows of each table."""
    if not summary_supported():
        return {}
    summary_install(TRIGGERS if care else REQUEST_TRIGGERS)
    tables = ["stations_summarymonth", "stations_summaryday", "stations_summaryresolution"]
    statements = rebuild_sql(settings.TIME_ZONE)
    if care:
        tables.append("stations_summarycare")
        statements += care_rebuild_sql()
    counts = {}
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    return counts


@transaction.atomic
def care_summary_rebuild() -> int:
    """Install the care summary's triggers and recompute SummaryCare alone (migration 0007). Returns its rows."""
    if not summary_supported():
        return 0
    summary_install(CARE_TRIGGERS)
    with connection.cursor() as cursor:
        for statement in care_rebuild_sql():
            cursor.execute(statement)
        cursor.execute("SELECT count(*) FROM stations_summarycare")
        return cursor.fetchone()[0]
