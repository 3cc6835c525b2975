"""`manage.py dashboard_summary`: rebuild the dashboards' summary tables from the data (PostgreSQL), or
`--check` that they give the same figures as counting the requests live."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from residents.models import Community
from stations.rates import Period
from stations.selectors.dashboard.figures import ROW_KEYS, _summary_rows, live_period_rows
from stations.selectors.dashboard.tables import _summary_trend, _trend_window, live_weekly_trend
from stations.services.summary import summary_rebuild, summary_supported
from stations.services.summary_care_sql import CARE_COLUMNS, care_rows


class Command(BaseCommand):
    help = (
        "Rebuild the dashboards' summary tables (and their triggers) from the requests, ratings and events; "
        "with --check, compare them with live counts instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Compare with live counts; change nothing.")
        parser.add_argument("--months", type=int, default=3, help="Months back to check (default 3).")

    def handle(self, *args, check: bool, months: int, **options):
        if not summary_supported():
            raise CommandError("The summary is kept on PostgreSQL only; on SQLite the dashboards count live.")
        if check:
            self._check(months)
            return
        started = time.perf_counter()
        counts = summary_rebuild()
        rows = ", ".join(f"{table} {n:,}" for table, n in counts.items())
        self.stdout.write(f"Rebuilt in {time.perf_counter() - started:.1f}s: {rows}.")

    def _check(self, months: int) -> None:
        now = timezone.now()
        period = Period.containing(now)
        differences = 0
        communities = list(Community.objects.order_by("pk"))
        for _ in range(months):
            for community in communities:
                summary = _summary_rows([community], period, now)
                if summary is None:
                    self.stdout.write(f"{community} {period}: written after now, skipped")
                    continue
                live = live_period_rows([community], period, now)
                differences += _compare(self.stdout, f"{community} {period}", summary, live)
                cutoff = period.cutoff(now)
                first_monday, _low, mondays = _trend_window(cutoff, 12)
                got = _summary_trend([community], cutoff, first_monday)
                if got is not None:
                    for row in live_weekly_trend([community], cutoff):
                        stored = (got[0].get(row["week"], 0), got[1].get(row["week"], 0))
                        if stored != (row["received"], row["resolved"]):
                            differences += 1
                            self.stdout.write(f"{community} week {row['week']}: summary {stored}, live {row}")
            period = period.previous()
        differences += _compare_care(self.stdout)
        if differences:
            raise CommandError(f"{differences} differences between the summary and live counts.")
        self.stdout.write(
            f"The summary equals live counts ({len(communities)} communities, {months} months)."
        )


def _compare(out, label: str, summary: list[dict], live: list[dict]) -> int:
    def keyed(rows):
        return {
            tuple(row[k] for k in ROW_KEYS): {k: v for k, v in row.items() if k not in ROW_KEYS and v}
            for row in rows
        }

    mine, theirs = keyed(summary), keyed(live)
    differences = 0
    for key in sorted(set(mine) | set(theirs), key=str):
        if mine.get(key, {}) != theirs.get(key, {}):
            differences += 1
            out.write(f"{label} {key}: summary {mine.get(key)}, live {theirs.get(key)}")
    return differences


def _compare_care(out) -> int:
    """SummaryCare's rows against the same rows computed from the residents, their tags and the visits."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {CARE_COLUMNS} FROM stations_summarycare")
        kept = set(cursor.fetchall())
        cursor.execute(care_rows("true"))
        live = set(cursor.fetchall())
    for row in sorted(kept ^ live, key=str)[:20]:
        out.write(f"care {row}: {'summary only' if row in kept else 'live only'}")
    return len(kept ^ live)
