"""The dashboards as pages: each section's figures and the charts' data, for a community or a subdistrict.

Reads of the dashboards and the monthly report.

Every figure is an aggregate, so a page costs a constant number of queries however many requests there
are (at most 15 with the session and permission lookups; tests pin it for 10 and 1,000 requests). The sets
counted come from stations.rates, the same sets the drill-down links open. On PostgreSQL the period
figures, the weekly trend, the resolutions and the residents overdue for a visit are read from the summary
tables the triggers keep (stations.models.summary, stations.services.summary) — sums over a few hundred or
thousand rows instead of counting a month of requests or a subdistrict's residents — and are exactly the
live counts (tests compare them); elsewhere, or when the summary cannot answer for a cut-off, they are
counted live. Python only adds up grouped rows (communities × lines × categories, days, spaces), never loops
over requests — except the median on SQLite, see `resolution_times`. The statements the ORM is slowest to
build for what they do (the summary sums, the trend, the matrix, the resolutions) are written as SQL, run on
the database the router reads from (`figures.reading`); the cells and rows a page repeats are built by
stations.templatetags.dashboard.

Figures about a period are taken as they stood at its cut-off (stations.rates.Period.cutoff), so the
report of a past month reads what happened in that month: who was assigned and which status a request
had at the month's end come from the timeline (RequestEvent), not from today's row.

Queries of the community dashboard on PostgreSQL: period rows (both months, every line and category), the
trend, the workers and their resolutions (two), the "now" figures with care, the building × category
matrix, the latest comments, the spaces — eight. The subdistrict view: period rows, "now", trend, spaces.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from residents.models import Community
from stations import rates
from stations.choices import (
    OPEN_STATES,
)
from stations.rates import Period
from stations.selectors.dashboard.figures import (
    LIVE_STATUSES,
    PERIOD_FIGURES,
    TOP_CATEGORIES,
    Figures,
    drill_query,
    live_total,
    period_rows,
    rate_tables,
)
from stations.selectors.dashboard.spaces import spaces_section
from stations.selectors.dashboard.tables import (
    building_category_matrix,
    category_figures,
    latest_comments,
    now_counts,
    weekly_trend,
    worker_table,
)


def _chart(
    kind: str, labels: list, series: list[tuple[str, list]], *, aspect: float = 2.0, stacked=False
) -> dict:
    """What static/js/charts.js draws: Chart.js type, labels, datasets (label, numbers)."""
    return {
        "type": kind,
        "labels": [str(label) for label in labels],
        "datasets": [{"label": str(label), "data": list(data)} for label, data in series],
        "aspect": aspect,
        "stacked": stacked,
        "horizontal": kind == "hbar",
    }


def _trend_chart(trend: list[dict]) -> dict:
    return _chart(
        "line",
        [row["week"].strftime("%m-%d") for row in trend],
        [
            (_("Received"), [row["received"] for row in trend]),
            (_("Resolved (办结)"), [row["resolved"] for row in trend]),
        ],
        aspect=3.0,
    )


def _category_chart(categories: list[Figures]) -> dict:
    return _chart(
        "hbar",
        [c.name for c in categories],
        [(_("Received"), [c.received for c in categories])],
        aspect=1.4,
    )


def _spaces_chart(spaces: dict) -> dict:
    rows = spaces["rows"]
    return _chart(
        "hbar",
        [row["name"] for row in rows],
        [
            (_("This week (%)"), [row["week_percent"] or 0 for row in rows]),
            (_("This month (%)"), [row["month_percent"] or 0 for row in rows]),
        ],
        aspect=1.4,
    )


def _live_queries(scope: dict) -> dict[str, str]:
    queries = {status: drill_query(status=status, **scope) for status in LIVE_STATUSES}
    queries["open"] = drill_query(status=sorted(OPEN_STATES), **scope)
    queries["overdue"] = drill_query(overdue="true", **scope)
    queries["due_soon"] = drill_query(rate="due_soon", **scope)
    return queries


def community_dashboard(user, community: Community, period: Period, now: dt.datetime) -> dict:
    """Everything on a community's dashboard, in a constant number of queries."""
    cutoff = period.cutoff(now)
    scope = {"community": community.pk}
    rows = period_rows([community], period, now)
    tables = rate_tables([community], period, now, community=community, rows=rows)
    categories = category_figures([community], period, now, rows=rows)
    trend = weekly_trend([community], cutoff)
    workers = worker_table(community, period, now)
    live_by_community, care = now_counts(user, [community], now)
    live = live_total(live_by_community)
    spaces = spaces_section([community], period, now)
    return {
        "community": community,
        "cutoff": cutoff,
        "live": live,
        "live_queries": _live_queries(scope),
        "tables": tables,
        "figures": tables.total,
        "rate_rows": tables.total.rate_rows(tables.previous),
        "trend": trend,
        "categories": categories[:TOP_CATEGORIES],
        "matrix": building_category_matrix(community, period, now),
        "workers": workers,
        "care_overdue": care.get(community.pk, 0),
        "comments": latest_comments([community], cutoff),
        "spaces": spaces,
        "charts": {
            "spaces": _spaces_chart(spaces),
            "trend": _trend_chart(trend),
            "categories": _category_chart(categories[:TOP_CATEGORIES]),
            "workers": _chart(
                "hbar",
                [row["worker"].display_name for row in workers],
                [
                    (_("Open"), [row["open"] for row in workers]),
                    (_("Overdue"), [row["overdue"] for row in workers]),
                ],
                aspect=1.4,
            ),
        },
    }


def _rank_key(rate: str):
    def key(row: dict):
        value = row["figures"].ratio(rate).percent
        return (value is None, -(value or 0), row["community"].name)

    return key


def subdistrict_dashboard(
    user, communities, period: Period, now: dt.datetime, *, rank: str = "response"
) -> dict:
    """The same figures over several communities: totals are the sums of the communities' figures."""
    communities = list(communities)
    cutoff = period.cutoff(now)
    rows = period_rows(communities, period, now)
    tables = rate_tables(communities, period, now, rows=rows)
    live, care = now_counts(user, communities, now)
    categories = category_figures(communities, period, now, by_name=True, rows=rows)
    trend = weekly_trend(communities, cutoff)
    spaces = spaces_section(communities, period, now)
    empty = dict.fromkeys(PERIOD_FIGURES, 0)
    rows = []
    for community in communities:
        current, previous = tables.by_community.get(
            community.pk,
            (
                Figures(dict(empty), period, {"community": community.pk}),
                Figures(dict(empty), period.previous(), {"community": community.pk}),
            ),
        )
        counts = live_total({community.pk: live.get(community.pk, {})})
        rows.append(
            {
                "community": community,
                "figures": current,
                "previous": previous,
                "live": counts,
                "live_queries": _live_queries({"community": community.pk}),
                "care_overdue": care.get(community.pk, 0),
            }
        )
    rows.sort(key=_rank_key(rank))
    for position, row in enumerate(rows, start=1):
        row["rank"] = position if row["figures"].ratio(rank).percent is not None else None
    return {
        "communities": communities,
        "cutoff": cutoff,
        "live": live_total(live),
        "live_queries": _live_queries({}),
        "tables": tables,
        "figures": tables.total,
        "rate_rows": tables.total.rate_rows(tables.previous),
        "ranking": rows,
        "care_overdue": sum(care.values()),
        "trend": trend,
        "categories": categories[:TOP_CATEGORIES],
        "spaces": spaces,
        "charts": {
            "spaces": _spaces_chart(spaces),
            "trend": _trend_chart(trend),
            "categories": _category_chart(categories[:TOP_CATEGORIES]),
            "ranking": _chart(
                "hbar",
                [row["community"].name for row in rows],
                [
                    (rates.RATE_LABELS[code], [row["figures"].ratio(code).percent or 0 for row in rows])
                    for code in rates.RATES
                ],
                aspect=1.4,
            ),
        },
    }


# --- Spaces -------------------------------------------------------------------------------------------------
