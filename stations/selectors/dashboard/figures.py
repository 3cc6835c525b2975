"""The dashboard's counted figures: the three rates and the counts per period, group and community."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from django.db import connection, connections, router, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import (
    Count,
    Q,
    QuerySet,
)

from residents.models import Community
from stations import rates
from stations.choices import (
    CLOSED_STATES,
    OPEN_STATES,
    StationLine,
    Status,
    WorkerType,
)
from stations.models import ServiceRequest, SummaryMonth
from stations.rates import Period
from stations.services.summary import MONTH_FIGURES, summary_supported

TREND_WEEKS = 12
TOP_CATEGORIES = 8
MATRIX_BUILDINGS = 10
MATRIX_CATEGORIES = 6
LATEST_COMMENTS = 6
# A category × building pair must come back at least this often in a month to be the 每月一题 candidate.
RECURRING_MIN = 2

# The counts taken for every period group (see stations.rates.FIGURES): the summary's month figures.
PERIOD_FIGURES = MONTH_FIGURES
LIVE_STATUSES = (Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED)


# --- Figures as the templates see them ------------------------------------------------------------------


# What quote_plus leaves as it is: most values here (numbers, codes, months) need no quoting at all.
_UNQUOTED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _quoted(value) -> str:
    text = str(value)
    return text if _UNQUOTED.issuperset(text) else quote_plus(text)


def drill_query(**params) -> str:
    """The request list's query string for a figure: ?rate=…&period=…&community=… (lists repeat the key).
    The same string as urlencode(…, doseq=True), built directly: a page makes a few hundred of them."""
    parts = []
    for key, value in params.items():
        if value in (None, "", []):
            continue
        if isinstance(value, list | tuple):
            parts.extend(f"{key}={_quoted(item)}" for item in value)
        else:
            parts.append(f"{key}={_quoted(value)}")
    return "&".join(parts)


@dataclass
class Ratio:
    """A rate: numerator / denominator, each with the request-list query that opens exactly those rows."""

    num: int
    den: int
    num_query: str = ""
    den_query: str = ""

    @property
    def percent(self) -> float | None:
        return rates.percent(self.num, self.den)


class _LazyQueries(dict):
    """figures.queries as templates read it: a mapping that builds a query string only when asked."""

    def __init__(self, figures: Figures) -> None:
        super().__init__()
        self._figures = figures

    def __missing__(self, key: str) -> str:
        if key not in PERIOD_FIGURES:
            raise KeyError(key)
        return self._figures.query(key)


@dataclass
class Figures:
    """The period counts of one group (a community, a line, a worker type, or everything)."""

    counts: dict[str, int]
    period: Period
    scope: dict = field(default_factory=dict)
    name: str = ""
    parent: str = ""
    pk: int | None = None

    def query(self, key: str) -> str:
        # Built once per figure: a page reads the same links several times (cards, tables, charts).
        cache = self.__dict__.setdefault("_queries", {})
        if key not in cache:
            cache[key] = drill_query(rate=key, period=self.period.key, **self.scope)
        return cache[key]

    @property
    def queries(self) -> dict[str, str]:
        """The drill-down query string of each count, for templates: figures.queries.received."""
        return _LazyQueries(self)

    def ratio(self, rate: str) -> Ratio:
        cache = self.__dict__.setdefault("_ratios", {})
        if rate not in cache:
            cache[rate] = Ratio(
                self.counts.get(f"{rate}_num", 0),
                self.counts.get(f"{rate}_den", 0),
                self.query(f"{rate}_num"),
                self.query(f"{rate}_den"),
            )
        return cache[rate]

    def __getitem__(self, key: str):
        # Templates: figures.response → Ratio; figures.received → count.
        if key in rates.RATES:
            return self.ratio(key)
        return self.counts[key]  # KeyError: the template engine then tries the attribute

    @property
    def response(self) -> Ratio:
        return self.ratio("response")

    @property
    def resolution(self) -> Ratio:
        return self.ratio("resolution")

    @property
    def satisfaction(self) -> Ratio:
        return self.ratio("satisfaction")

    @property
    def received(self) -> int:
        return self.counts.get("received", 0)

    @property
    def proactive(self) -> int:
        return self.counts.get("proactive", 0)

    @property
    def reactive(self) -> int:
        return self.counts.get("reactive", 0)

    @property
    def proactive_share(self) -> Ratio:
        return Ratio(self.proactive, self.received, self.query("proactive"), self.query("received"))

    def rate_rows(self, previous: Figures | None = None) -> list[dict]:
        """[{code, label, current, previous, delta}] for the three rates."""
        rows = []
        for code, label in rates.RATE_LABELS.items():
            current = self.ratio(code)
            before = previous.ratio(code) if previous is not None else None
            delta = None
            if before is not None and current.percent is not None and before.percent is not None:
                delta = round(current.percent - before.percent, 1)
            rows.append(
                {"code": code, "label": label, "current": current, "previous": before, "delta": delta}
            )
        return rows


def _figure_counts(period: Period, now: dt.datetime, prefix: str = "") -> dict:
    return {f"{prefix}{key}": Count("pk", filter=rates.figure_q(key, period, now)) for key in PERIOD_FIGURES}


def _requests_of(communities) -> QuerySet[ServiceRequest]:
    # .order_by() drops the model's default ordering, which would otherwise end up in GROUP BY.
    return ServiceRequest.objects.filter(community__in=communities).order_by()


def _in_periods(queryset: QuerySet[ServiceRequest], *periods: Period) -> QuerySet[ServiceRequest]:
    # An index-only range scan of sr_comm_period_idx (community, received_at, the columns the rates read).
    return queryset.filter(
        received_at__gte=min(p.start for p in periods), received_at__lt=max(p.end for p in periods)
    )


def reading(model) -> CursorWrapper:
    """A cursor for raw SQL on the database the ORM reads ``model`` from: inside use_replica() (the dashboards)
    the replica, like the page's other queries."""
    return connections[router.db_for_read(model)].cursor()


# --- The three rates: this period and the last, by community × line × category ----------------------------

# What the period rows are grouped by: a community's line × category, with what the pages group them by
# (the category's worker type: who the matter is for; its name and parent's name, for the subdistrict).
ROW_KEYS = (
    "community",
    "line",
    "category",
    "category__worker_type",
    "category__name",
    "category__parent__name",
)


def period_rows(communities, period: Period, now: dt.datetime) -> list[dict]:
    """For this period (prefix "cur__") and the last ("prev__") every figure of PERIOD_FIGURES, per community
    × station line × category: one query. On PostgreSQL from the summary (stations.models.summary), else —
    or when the summary cannot answer for this cut-off, see `_summary_rows` — counted live."""
    if summary_supported():
        rows = _summary_rows(communities, period, now)
        if rows is not None:
            return rows
    return live_period_rows(communities, period, now)


def live_period_rows(communities, period: Period, now: dt.datetime) -> list[dict]:
    """`period_rows` counted over the requests (rates.figure_q), in one grouped query."""
    previous = period.previous()
    with without_jit():
        return list(
            _in_periods(_requests_of(communities), previous, period)
            .values(*ROW_KEYS)
            .annotate(**_figure_counts(period, now, "cur__"), **_figure_counts(previous, now, "prev__"))
        )


@contextmanager
def without_jit():
    """PostgreSQL: no JIT compilation for the statements inside (one more query). The period figures' SQL
    carries the follow-up-history subqueries, whose estimated cost is far above what they cost (they run
    only for the few requests answered after the cut-off); past jit_above_cost PostgreSQL compiles the
    query with LLVM first, which takes 100 ms to 2 s — far longer than counting a month of requests."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def _summary_rows(communities, period: Period, now: dt.datetime) -> list[dict] | None:
    """`period_rows` from SummaryMonth: the settled rows and the steps before each period's cut-off. None when
    a settled row of a running period was written after the cut-off (a write that raced the page, or a
    cut-off in the past): its steps up to that write are all in it, so it cannot answer for this cut-off.

    Written as SQL: the ORM took longer to build this statement (twenty filtered sums) than PostgreSQL to
    answer it, and the rows come back as they are (no converter per value)."""
    periods = {"cur__": period, "prev__": period.previous()}
    # The periods again as a list, which the (community, period) index can take; the OR below cannot.
    params: dict = {
        "communities": [getattr(c, "pk", c) for c in communities],
        "periods": [p.first_day for p in periods.values()],
    }
    which, sums, settled = [], [], []
    for name, p in periods.items():
        params[name] = p.first_day
        cutoff = p.cutoff(now)
        if cutoff < p.end:  # running: steps after the cut-off are still to come
            params[f"{name}cutoff"] = cutoff
            which.append(f"(s.period = %({name})s AND (s.at IS NULL OR s.at < %({name}cutoff)s))")
            settled.append((name, cutoff))
        else:  # over: every step before its end is stored, and none after it
            which.append(f"s.period = %({name})s")
        sums += [
            f"coalesce(sum(s.{figure}) FILTER (WHERE s.period = %({name})s), 0)" for figure in PERIOD_FIGURES
        ]
    # When each running month's settled rows were last written, to compare with its cut-off.
    sums += [
        f"max(s.settled_until) FILTER (WHERE s.at IS NULL AND s.period = %({name})s)" for name, _c in settled
    ]
    columns = [f"{name}{figure}" for name in periods for figure in PERIOD_FIGURES]
    sql = f"""
SELECT s.community_id, s.line, s.category_id, c.worker_type, c.name, parent.name,
  {", ".join(sums)}
FROM stations_summarymonth s
JOIN stations_category c ON c.id = s.category_id
LEFT JOIN stations_category parent ON parent.id = c.parent_id
WHERE s.community_id = ANY(%(communities)s) AND s.period = ANY(%(periods)s) AND ({" OR ".join(which)})
GROUP BY 1, 2, 3, 4, 5, 6"""
    with reading(SummaryMonth) as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    keys = (*ROW_KEYS, *columns)
    rows = []
    for values in found:
        for (_name, cutoff), written in zip(settled, values[len(keys) :], strict=True):
            if written is not None and written >= cutoff:
                return None
        rows.append(dict(zip(keys, values[: len(keys)], strict=True)))
    return rows


@dataclass
class RateTables:
    """The period figures, added up the ways the pages show them."""

    period: Period
    total: Figures
    previous: Figures
    by_line: list[tuple[str, str, Figures]]
    by_type: list[tuple[str, str, Figures]]
    by_community: dict[int, tuple[Figures, Figures]]


def rate_tables(
    communities,
    period: Period,
    now: dt.datetime,
    *,
    community: Community | None = None,
    rows: list[dict] | None = None,
) -> RateTables:
    """The period's figures in total, by line, by worker type and by community, and last period's: added up
    from `period_rows` (pass ``rows`` when the page has them already), in one pass over them."""
    if rows is None:
        rows = period_rows(communities, period, now)
    previous = period.previous()
    scope = {"community": community.pk} if community is not None else {}

    def zeros() -> dict[str, int]:
        return dict.fromkeys(PERIOD_FIGURES, 0)

    total, before = zeros(), zeros()
    lines: dict[str, dict[str, int]] = defaultdict(zeros)
    types: dict[str, dict[str, int]] = defaultdict(zeros)
    current_of: dict[int, dict[str, int]] = defaultdict(zeros)
    previous_of: dict[int, dict[str, int]] = defaultdict(zeros)
    for row in rows:
        adding = (
            total,
            lines[row["line"]],
            types[row["category__worker_type"]],
            current_of[row["community"]],
        )
        for key in PERIOD_FIGURES:
            value = row[f"cur__{key}"] or 0
            for sums in adding:
                sums[key] += value
        mine_before = previous_of[row["community"]]
        for key in PERIOD_FIGURES:
            value = row[f"prev__{key}"] or 0
            before[key] += value
            mine_before[key] += value
    return RateTables(
        period=period,
        total=Figures(total, period, scope),
        previous=Figures(before, previous, scope),
        by_line=[
            (code, label, Figures(lines.get(code) or zeros(), period, {**scope, "line": code}))
            for code, label in StationLine.choices
        ],
        by_type=[
            (code, label, Figures(types.get(code) or zeros(), period, {**scope, "worker_type": code}))
            for code, label in WorkerType.choices
        ],
        by_community={
            community_id: (
                Figures(sums, period, {"community": community_id}),
                Figures(previous_of[community_id], previous, {"community": community_id}),
            )
            for community_id, sums in current_of.items()
        },
    )


# --- Now: open requests by status, overdue, due soon ----------------------------------------------------


def live_counts_queryset(communities, now: dt.datetime) -> QuerySet:
    """Per community: open requests by status, overdue, due within 24 h, waiting for the follow-up. One
    grouped query over the rows that are not closed: an index-only scan of the partial index
    sr_open_comm_due_idx, which carries the status (so the counts count the status, never NULL: counting the
    primary key would read every row)."""
    return (
        _requests_of(communities)
        .exclude(status__in=sorted(CLOSED_STATES))
        .values("community")
        .annotate(
            **{status: Count("status", filter=Q(status=status)) for status in LIVE_STATUSES},
            overdue=Count("status", filter=Q(status__in=sorted(OPEN_STATES), resolution_due_at__lt=now)),
            due_soon=Count("status", filter=rates.due_soon(Period.containing(now), now)),
        )
    )


def live_rows(queryset: QuerySet) -> dict[int, dict[str, int]]:
    return {row.pop("community"): row for row in queryset}


def live_counts(communities, now: dt.datetime) -> dict[int, dict[str, int]]:
    return live_rows(live_counts_queryset(communities, now))


def live_total(per_community: dict[int, dict[str, int]]) -> dict[str, int]:
    keys = (*LIVE_STATUSES, "overdue", "due_soon")
    total = dict.fromkeys(keys, 0)
    for counts in per_community.values():
        for key in keys:
            total[key] += counts.get(key, 0)
    total["open"] = sum(total[s] for s in OPEN_STATES)
    return total


# --- Trend -------------------------------------------------------------------------------------------------
