"""The dashboard's counted figures: the three rates and the counts per period, group and community."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

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
from stations.models import ServiceRequest
from stations.rates import Period

TREND_WEEKS = 12
TOP_CATEGORIES = 8
MATRIX_BUILDINGS = 10
MATRIX_CATEGORIES = 6
LATEST_COMMENTS = 6
# A category × building pair must come back at least this often in a month to be the 每月一题 candidate.
RECURRING_MIN = 2

# The counts taken for every period group (see stations.rates.FIGURES).
PERIOD_FIGURES = (
    "received",
    "cancelled",
    "proactive",
    "reactive",
    "response_num",
    "response_den",
    "resolution_num",
    "resolution_den",
    "satisfaction_num",
    "satisfaction_den",
)
LIVE_STATUSES = (Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED)


# --- Figures as the templates see them ------------------------------------------------------------------


def drill_query(**params) -> str:
    """The request list's query string for a figure: ?rate=…&period=…&community=… (lists repeat the key)."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "", [])}, doseq=True)


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
        return drill_query(rate=key, period=self.period.key, **self.scope)

    @property
    def queries(self) -> dict[str, str]:
        """The drill-down query string of each count, for templates: figures.queries.received."""
        return {key: self.query(key) for key in PERIOD_FIGURES}

    def ratio(self, rate: str) -> Ratio:
        return Ratio(
            self.counts.get(f"{rate}_num", 0),
            self.counts.get(f"{rate}_den", 0),
            self.query(f"{rate}_num"),
            self.query(f"{rate}_den"),
        )

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


def _sum(rows: Iterable[dict], prefix: str) -> dict[str, int]:
    totals = dict.fromkeys(PERIOD_FIGURES, 0)
    for row in rows:
        for key in PERIOD_FIGURES:
            totals[key] += row.get(f"{prefix}{key}") or 0
    return totals


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


# --- The three rates: this period and the last, by community × line × worker type ------------------------


def period_counts(communities, period: Period, now: dt.datetime) -> list[dict]:
    """One grouped query: for this period (prefix "cur__") and the last ("prev__") every figure of
    PERIOD_FIGURES, per community × station line × worker type (the category's: who the matter is for)."""
    previous = period.previous()
    return list(
        _in_periods(_requests_of(communities), previous, period)
        .values("community", "line", "category__worker_type")
        .annotate(**_figure_counts(period, now, "cur__"), **_figure_counts(previous, now, "prev__"))
    )


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
    communities, period: Period, now: dt.datetime, *, community: Community | None = None
) -> RateTables:
    rows = period_counts(communities, period, now)
    previous = period.previous()
    scope = {"community": community.pk} if community is not None else {}

    def group(key: str, value) -> list[dict]:
        return [row for row in rows if row[key] == value]

    by_community = {}
    for community_id in {row["community"] for row in rows}:
        mine = group("community", community_id)
        by_community[community_id] = (
            Figures(_sum(mine, "cur__"), period, {"community": community_id}),
            Figures(_sum(mine, "prev__"), previous, {"community": community_id}),
        )
    return RateTables(
        period=period,
        total=Figures(_sum(rows, "cur__"), period, scope),
        previous=Figures(_sum(rows, "prev__"), previous, scope),
        by_line=[
            (code, label, Figures(_sum(group("line", code), "cur__"), period, {**scope, "line": code}))
            for code, label in StationLine.choices
        ],
        by_type=[
            (
                code,
                label,
                Figures(
                    _sum(group("category__worker_type", code), "cur__"),
                    period,
                    {**scope, "worker_type": code},
                ),
            )
            for code, label in WorkerType.choices
        ],
        by_community=by_community,
    )


# --- Now: open requests by status, overdue, due soon ----------------------------------------------------


def live_counts(communities, now: dt.datetime) -> dict[int, dict[str, int]]:
    """Per community: open requests by status, overdue, due within 24 h, waiting for the follow-up.
    One query over the rows that are not closed (the partial index sr_open_comm_due_idx)."""
    rows = (
        _requests_of(communities)
        .exclude(status__in=sorted(CLOSED_STATES))
        .values("community")
        .annotate(
            **{status: Count("pk", filter=Q(status=status)) for status in LIVE_STATUSES},
            overdue=Count("pk", filter=Q(status__in=sorted(OPEN_STATES), resolution_due_at__lt=now)),
            due_soon=Count("pk", filter=rates.due_soon(Period.containing(now), now)),
        )
    )
    return {row.pop("community"): row for row in rows}


def live_total(per_community: dict[int, dict[str, int]]) -> dict[str, int]:
    keys = (*LIVE_STATUSES, "overdue", "due_soon")
    total = dict.fromkeys(keys, 0)
    for counts in per_community.values():
        for key in keys:
            total[key] += counts.get(key, 0)
    total["open"] = sum(total[s] for s in OPEN_STATES)
    return total


# --- Trend -------------------------------------------------------------------------------------------------
