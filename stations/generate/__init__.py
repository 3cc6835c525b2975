"""A generated district for load tests: subdistricts, communities with their buildings, households,
residents and social workers, and a year or more of work at the desk (requests with timelines and
follow-up answers, visits, errands, spaces, bookings and courses).

Deterministic: every random choice comes from ``random.Random`` streams seeded from ``--seed`` (one per
part and community), and the history ends at midnight starting ``--until`` (default today), so the same
seed and day give the same rows. Fast: rows are made as tuples in memory and written with COPY on
PostgreSQL (executemany on SQLite), the big tables' indexes and keys rebuilt once after the load.
``manage.py generate_district`` is the entry point; see its help for the options."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from residents.models import Household, Resident
from stations.generate.desk import CommunityDesk
from stations.generate.desk_rules import Calendar, build_categories
from stations.generate.guard import Census, flush_generated, foreign_data, generated_census
from stations.generate.registry import build_places, build_registry
from stations.generate.sink import Progress, Sink, TableStats
from stations.generate.spaces import build_spaces
from stations.generate.world import PASSWORD, Sizes, World, tz
from stations.models import Rating, RequestEvent, ServiceRequest, Visit
from stations.services.summary import summary_paused

__all__ = [
    "PASSWORD",
    "Census",
    "GeneratorRefused",
    "Sizes",
    "flush_generated",
    "foreign_data",
    "generate",
    "generated_census",
]

# Below this many requests the schema is left alone (rebuilding indexes costs more than it saves).
BULK_MODE_FROM = 50_000
BULK_TABLES = (ServiceRequest, RequestEvent, Rating, Visit, Resident, Household, Resident.care_tags.through)


class GeneratorRefused(Exception):
    """The database holds data the generator did not make, or generated data already."""


class Reporter:
    """Log lines, and one progress bar per long step."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._bars: dict[str, Progress] = {}

    def __call__(self, message: str) -> None:
        self.write(message)

    def begin(self, label: str, total: int) -> None:
        self._bars[label] = Progress(label, total, self.write)

    def progress(self, label: str, done: int, total: int) -> None:
        if label not in self._bars:
            self.begin(label, total)
        self._bars[label].update(done)

    def progress_done(self, label: str) -> None:
        bar = self._bars.pop(label, None)
        if bar is not None:
            bar.done()


def history_bounds(sizes: Sizes) -> tuple[dt.datetime, dt.datetime]:
    until = sizes.until or timezone.localdate()
    end = dt.datetime.combine(until, dt.time(), tzinfo=tz())
    months_back = until.year * 12 + until.month - 1 - sizes.months
    start_day = dt.date(months_back // 12, months_back % 12 + 1, 1)
    return dt.datetime.combine(start_day, dt.time(), tzinfo=tz()), end


def generate(
    sizes: Sizes,
    *,
    write: Callable[[str], None] = lambda message: None,
    force: bool = False,
    flush: bool = False,
) -> dict[str, TableStats]:
    """Generate the district; returns rows and seconds per table. Raises GeneratorRefused when the database
    holds data the generator did not make (unless ``force``) or generated data (unless ``flush``)."""
    log = Reporter(write)
    foreign = foreign_data()
    if foreign and not force:
        raise GeneratorRefused(
            "This database holds data the generator did not make ("
            + "; ".join(foreign)
            + "). Use an empty database, or pass --force to add the generated district beside it."
        )
    start, end = history_bounds(sizes)
    world = World(sizes=sizes, start=start, end=end)
    sink = Sink(log)
    started = time.perf_counter()
    with transaction.atomic(), contextlib.ExitStack() as stack:
        census = generated_census()
        if census.communities:
            if not flush:
                raise GeneratorRefused(
                    f"Generated data is already here ({census.communities} communities, {census.requests:,} "
                    "requests). Pass --flush to replace it, or --if-missing to keep it when it has this size."
                )
            flush_started = time.perf_counter()
            deleted = flush_generated()
            log(f"Deleted {deleted:,} generated rows in {time.perf_counter() - flush_started:.1f}s.")
        bulk = sink.is_postgres and sizes.requests >= BULK_MODE_FROM
        if bulk:
            sink.drop_keys(BULK_TABLES)
            # The dashboard summary's triggers would fold every COPY batch in; one rebuild at the end is cheaper.
            stack.enter_context(summary_paused())
        log(
            f"Generating {sizes.communities} communities, {sizes.residents:,} residents, {sizes.requests:,} requests "
            f"from {start:%Y-%m-%d} to {end:%Y-%m-%d} (seed {sizes.seed}, {connection.vendor}"
            + (", bulk mode" if bulk else "")
            + ")."
        )
        build_places(world, sink)
        build_registry(world, sink, log)
        build_categories(world, sink)
        calendar = Calendar(world)
        log.begin("requests", sizes.requests)
        done = 0
        for record in world.communities:
            desk = CommunityDesk(world, calendar, record, sink)
            desk.build()
            desk.build_visits()
            desk.build_errands()
            build_spaces(world, sink, record)
            done += record.request_target
            log.progress("requests", done, sizes.requests)
        log.progress_done("requests")
        if bulk:
            log("Rebuilding indexes and keys…")
        sink.restore_keys()
        sink.finish()
    if sink.is_postgres:
        analyse_started = time.perf_counter()
        with connection.cursor() as cursor:
            # VACUUM too where it can run (not inside a test's transaction): it sets the visibility map, so
            # the dashboards' index-only scans work even where autovacuum is off or has not come round yet.
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)")
        sink.stats["(analyze)"] = TableStats(0, time.perf_counter() - analyse_started)
    sink.stats["(total)"] = TableStats(
        sum(s.rows for s in sink.stats.values()), time.perf_counter() - started
    )
    return sink.stats
