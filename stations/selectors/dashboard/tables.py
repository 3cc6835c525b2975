"""The dashboard's tables: trend, categories, building × category, workers, the "now" counts with care, comments (the spaces are in spaces.py)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from django.db import connection, router
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from community.lib.compiled import CompiledList
from community.lib.db import count_subquery
from residents.models import Community
from stations import rates
from stations.choices import (
    OPEN_STATES,
    EventKind,
    Status,
)
from stations.models import (
    Rating,
    RequestEvent,
    ServiceRequest,
    SocialWorker,
    SummaryDay,
    SummaryResolution,
)
from stations.models.summary import SummaryCare
from stations.rates import Period
from stations.selectors.dashboard.figures import (
    LATEST_COMMENTS,
    LIVE_STATUSES,
    MATRIX_BUILDINGS,
    MATRIX_CATEGORIES,
    PERIOD_FIGURES,
    RECURRING_MIN,
    TREND_WEEKS,
    Figures,
    _figure_counts,
    _in_periods,
    _requests_of,
    drill_query,
    live_counts_queryset,
    live_rows,
    period_rows,
    reading,
    without_jit,
)
from stations.selectors.desk import on_leave_today
from stations.selectors.visits import visits_overdue
from stations.services.summary import summary_supported


def _week_key(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _trend_window(cutoff: dt.datetime, weeks: int) -> tuple[dt.date, dt.datetime, list[dt.date]]:
    last_day = timezone.localtime(cutoff - dt.timedelta(microseconds=1)).date()
    first_monday = last_day - dt.timedelta(days=last_day.weekday()) - dt.timedelta(weeks=weeks - 1)
    return (
        first_monday,
        _local_midnight(first_monday),
        [first_monday + dt.timedelta(weeks=i) for i in range(weeks)],
    )


def weekly_trend(communities, cutoff: dt.datetime, weeks: int = TREND_WEEKS) -> list[dict]:
    """Received and resolved (办结) per week for the `weeks` weeks up to the cut-off. Resolved counts the
    requests with a "resolved" status event that week (once each). One query over SummaryDay on PostgreSQL
    (two more when a write raced the page, `_summary_trend`), else two grouped queries
    (`live_weekly_trend`)."""
    first_monday, _low, mondays = _trend_window(cutoff, weeks)
    got = _summary_trend(communities, cutoff, first_monday) if summary_supported() else None
    if got is None:
        return live_weekly_trend(communities, cutoff, weeks)
    received, resolved = got
    return [
        {"week": monday, "received": received.get(monday, 0), "resolved": resolved.get(monday, 0)}
        for monday in mondays
    ]


def _summary_trend(communities, cutoff: dt.datetime, first_monday: dt.date) -> tuple[dict, dict] | None:
    """Per week: the days before the cut-off's day, and of its own day the settled row and the steps before
    the cut-off. When that settled row was written after the cut-off (a write raced the page: an intake
    committed between the page taking "now" and this query), the cut-off's day is counted live instead
    (`_live_day`, two small queries over one day), not the twelve weeks: that recount took ~190 ms of
    PostgreSQL for a subdistrict, on one dashboard in twenty under the bench's intakes. None for a cut-off
    whose day is before the window (never, for the pages)."""
    local = timezone.localtime(cutoff)
    cut_day = local.date()
    if cut_day < first_monday:
        return None
    params = {
        "communities": [getattr(c, "pk", c) for c in communities],
        "first": first_monday,
        "cut_day": cut_day,
        "cutoff": cutoff,
    }
    days = "(d.day >= %(first)s AND d.day < %(cut_day)s)"
    if local.time() != dt.time.min:  # a cut-off at midnight takes whole days only
        days += " OR (d.day = %(cut_day)s AND (d.at IS NULL OR d.at < %(cutoff)s))"
    with reading(SummaryDay) as cursor:
        # SQL, not the ORM: building the statement cost more than running it.
        cursor.execute(
            f"""
SELECT d.day, sum(d.received), sum(d.resolved),
       max(d.settled_until) FILTER (WHERE d.day = %(cut_day)s AND d.at IS NULL)
FROM stations_summaryday d
WHERE d.community_id = ANY(%(communities)s) AND ({days})
GROUP BY d.day""",
            params,
        )
        found = cursor.fetchall()
    raced = any(settled is not None and settled >= cutoff for *_sums, settled in found)
    if raced:
        found = [row for row in found if row[0] != cut_day]
        found.append((cut_day, *_live_day(communities, cut_day, cutoff), None))
    received: dict[dt.date, int] = defaultdict(int)
    resolved: dict[dt.date, int] = defaultdict(int)
    for day, day_received, day_resolved, _settled in found:
        monday = day - dt.timedelta(days=day.weekday())
        received[monday] += day_received
        resolved[monday] += day_resolved
    return received, resolved


def _live_day(communities, day: dt.date, cutoff: dt.datetime) -> tuple[int, int]:
    """The cut-off's day as SummaryDay counts it, up to the cut-off: requests received, and requests
    resolved that day for the first time in their week."""
    start = _local_midnight(day)
    monday = _local_midnight(day - dt.timedelta(days=day.weekday()))
    received = _received_between(communities, start, cutoff).count()
    earlier_this_week = _resolutions_between(communities, monday, start).values("request")
    resolved = (
        _resolutions_between(communities, start, cutoff)
        .exclude(request__in=earlier_this_week)
        .values("request")
        .distinct()
        .count()
    )
    return received, resolved


def _received_between(communities, low: dt.datetime, high: dt.datetime) -> QuerySet[ServiceRequest]:
    return _requests_of(communities).filter(received_at__gte=low, received_at__lt=high)


def _resolutions_between(communities, low: dt.datetime, high: dt.datetime) -> QuerySet[RequestEvent]:
    return RequestEvent.objects.filter(
        kind=EventKind.STATUS,
        new_status=Status.RESOLVED,
        at__gte=low,
        at__lt=high,
        request__community__in=communities,
    ).order_by()


def live_weekly_trend(communities, cutoff: dt.datetime, weeks: int = TREND_WEEKS) -> list[dict]:
    """`weekly_trend` counted over the requests and their events: two grouped queries."""
    first_monday, low, mondays = _trend_window(cutoff, weeks)
    received = _received_between(communities, low, cutoff).annotate(week=TruncWeek("received_at"))
    resolved = _resolutions_between(communities, low, cutoff).annotate(week=TruncWeek("at"))
    got_received = {
        _week_key(row["week"]): row["n"] for row in received.values("week").annotate(n=Count("pk"))
    }
    got_resolved = {
        _week_key(row["week"]): row["n"]
        for row in resolved.values("week").annotate(n=Count("request", distinct=True))
    }
    return [
        {"week": monday, "received": got_received.get(monday, 0), "resolved": got_resolved.get(monday, 0)}
        for monday in mondays
    ]


# --- Where problems cluster ----------------------------------------------------------------------------


def grouped_figures(
    communities, period: Period, now: dt.datetime, *group_by: str, **annotations
) -> list[dict]:
    """The period's figures per group (category, building, worker…): one grouped query."""
    queryset = _in_periods(_requests_of(communities), period)
    if annotations:
        queryset = queryset.annotate(**annotations)
    with without_jit():
        return list(queryset.values(*group_by).annotate(**_figure_counts(period, now)))


def category_figures(
    communities, period: Period, now: dt.datetime, *, by_name: bool = False, rows: list[dict] | None = None
) -> list[Figures]:
    """Per category, most received first: added up from `period_rows` (pass ``rows`` when the page has them).
    Across communities (a subdistrict) categories are matched by name, since each community has its own
    tree."""
    if rows is None:
        rows = period_rows(communities, period, now)
    groups: dict[tuple, dict] = {}
    for row in rows:
        key = (row["category__parent__name"], row["category__name"]) if by_name else (row["category"],)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "category": None if by_name else row["category"],
                "name": row["category__name"],
                "parent": row["category__parent__name"] or "",
                "counts": dict.fromkeys(PERIOD_FIGURES, 0),
            }
        for figure in PERIOD_FIGURES:
            group["counts"][figure] += row[f"cur__{figure}"]
    ordered = sorted(groups.values(), key=lambda g: (-g["counts"]["received"], g["parent"], g["name"]))
    return [
        Figures(
            group["counts"],
            period,
            {} if by_name else {"category": group["category"]},
            name=group["name"],
            parent=group["parent"],
            pk=group["category"],
        )
        for group in ordered
        if group["counts"]["received"] or group["counts"]["cancelled"]
    ]


def building_category_matrix(community: Community, period: Period, now: dt.datetime) -> dict:
    """Where problems cluster: received requests per building × category this period (one grouped query),
    laid out as a table of the busiest buildings and categories, with the 每月一题 candidate: the pair that
    recurred most (at least RECURRING_MIN times)."""
    # The month's received requests (rates.received) counted per pair straight from sr_comm_period_idx, an
    # index-only range scan that carries the building and the category (picking the ids there and reading
    # each row by primary key took ~12 ms for a community's 4,000 requests of a month, 2 this way), before
    # the pairs are joined to their names.
    pairs = (
        _in_periods(_requests_of([community]), period)
        .filter(rates.received(period, now), building__isnull=False)
        .values("building_id", "category_id")
        .annotate(n=Count("*"))
    )
    alias = router.db_for_read(ServiceRequest)
    grouped, params = pairs.query.get_compiler(using=alias).as_sql()
    with reading(ServiceRequest) as cursor:
        cursor.execute(
            f"""
SELECT g.building_id, b.number, b.position, g.category_id, c.name, g.n
FROM ({grouped}) g
JOIN residents_building b ON b.id = g.building_id
JOIN stations_category c ON c.id = g.category_id
ORDER BY g.n DESC, b.position, b.number, c.name""",
            params,
        )
        keys = ("building", "building__number", "building__position", "category", "category__name", "n")
        rows = [dict(zip(keys, values, strict=True)) for values in cursor.fetchall()]
    building_totals: dict[int, int] = defaultdict(int)
    category_totals: dict[int, int] = defaultdict(int)
    names: dict[tuple[str, int], str] = {}
    cells: dict[tuple[int, int], int] = {}
    for row in rows:
        building_totals[row["building"]] += row["n"]
        category_totals[row["category"]] += row["n"]
        names["b", row["building"]] = row["building__number"]
        names["c", row["category"]] = row["category__name"]
        cells[row["building"], row["category"]] = row["n"]
    buildings = sorted(building_totals, key=lambda b: (-building_totals[b], names["b", b]))[:MATRIX_BUILDINGS]
    categories = sorted(category_totals, key=lambda c: (-category_totals[c], names["c", c]))[
        :MATRIX_CATEGORIES
    ]
    candidate = None
    if rows and rows[0]["n"] >= RECURRING_MIN:
        top = rows[0]
        candidate = {
            "building": top["building"],
            "building_number": top["building__number"],
            "category": top["category"],
            "category_name": top["category__name"],
            "n": top["n"],
            "query": drill_query(
                rate="received",
                period=period.key,
                community=community.pk,
                building=top["building"],
                category=top["category"],
            ),
        }
    table = [
        {
            "pk": b,
            "number": names["b", b],
            "total": building_totals[b],
            "cells": [
                {
                    "n": cells.get((b, c), 0),
                    "is_candidate": candidate is not None
                    and (b, c) == (candidate["building"], candidate["category"]),
                    # Only a count links to its requests; an empty cell shows a dot.
                    "query": drill_query(
                        rate="received", period=period.key, community=community.pk, building=b, category=c
                    )
                    if (b, c) in cells
                    else "",
                }
                for c in categories
            ],
        }
        for b in buildings
    ]
    return {
        "categories": [{"pk": c, "name": names["c", c], "total": category_totals[c]} for c in categories],
        "rows": table,
        "candidate": candidate,
    }


# --- Workers (忙闲不均) --------------------------------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the median of an interval or number, in the database."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False


def resolution_times(communities, period: Period, now: dt.datetime) -> dict[int, dict]:
    """Per worker: resolutions (办结 status events) in the period up to its cut-off, and the median time
    from receipt to resolution in hours. A resolution counts for the worker who marked it resolved, so
    a past month keeps its figures when requests are reassigned later; resolutions by someone who is not
    a social worker (a committee head) are under the key None."""
    cutoff = period.cutoff(now)
    result: dict[int, dict] = {}
    if connection.vendor == "postgresql":
        # SummaryResolution: the resolutions with their community, so one community's month is an index-only
        # range of summaryres_comm_at_idx instead of every resolution of the district joined to its request.
        # The actor's worker profile is joined on its user directly (the ORM would go through auth_user).
        with reading(SummaryResolution) as cursor:
            cursor.execute(
                """
SELECT w.id, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY r.at - r.received_at)
FROM stations_summaryresolution r LEFT JOIN stations_socialworker w ON w.user_id = r.actor_id
WHERE r.community_id = ANY(%s) AND r.at >= %s AND r.at < %s
GROUP BY w.id""",
                [[getattr(c, "pk", c) for c in communities], period.start, cutoff],
            )
            for worker_id, resolved, median in cursor.fetchall():
                result[worker_id] = {"resolved": resolved, "median_hours": _hours(median)}
        return result
    # SQLite has no percentile function: one query for the durations, the median in Python. This loops
    # over the period's resolutions, which is acceptable only on SQLite (development and tests); the
    # production database is PostgreSQL, which takes the branch above.
    events = RequestEvent.objects.filter(
        kind=EventKind.STATUS,
        new_status=Status.RESOLVED,
        at__gte=period.start,
        at__lt=cutoff,
        request__community__in=communities,
    ).order_by()
    durations: dict[int, list[dt.timedelta]] = defaultdict(list)
    for worker_id, at, received_at in events.values_list(
        "actor__social_worker", "at", "request__received_at"
    ):
        durations[worker_id].append(at - received_at)
    for worker_id, spans in durations.items():
        result[worker_id] = {"resolved": len(spans), "median_hours": _hours(statistics.median(spans))}
    return result


def _hours(span: dt.timedelta | None) -> float | None:
    return None if span is None else round(span.total_seconds() / 3600, 1)


def worker_table(community: Community, period: Period, now: dt.datetime) -> list[dict]:
    """The community's active workers with their open load, overdue and due-soon requests (now), whether
    they are on leave today, and their resolutions and median time to resolve in the period. Two queries;
    the counts are correlated subqueries on the partial index sr_open_assignee_due_idx. The first is
    compiled once per process (community.lib.compiled)."""
    workers = _WORKERS(community.pk, now, timezone.localdate())
    times = resolution_times([community], period, now)
    most = max((w.open_count for w in workers), default=0)
    rows = []
    for worker in workers:
        done = times.get(worker.pk, {})
        rows.append(
            {
                "worker": worker,
                "open": worker.open_count,
                "overdue": worker.overdue_count,
                "on_leave": worker.leave_until is not None,  # a leave always has an end
                "leave_until": worker.leave_until,
                "resolved": done.get("resolved", 0),
                "median_hours": done.get("median_hours"),
                "load_max": max(most, 1),
                "open_query": drill_query(
                    community=community.pk, assignee=worker.pk, status=sorted(OPEN_STATES)
                ),
                "overdue_query": drill_query(community=community.pk, assignee=worker.pk, overdue="true"),
            }
        )
    return rows


def _workers_of(community: int, now: dt.datetime, today: dt.date) -> QuerySet[SocialWorker]:
    open_requests = ServiceRequest.objects.filter(status__in=sorted(OPEN_STATES))
    return (
        SocialWorker.objects.filter(community=community, is_active=True)
        .annotate(
            open_count=count_subquery(open_requests, "assignee"),
            overdue_count=count_subquery(open_requests.filter(resolution_due_at__lt=now), "assignee"),
            leave_until=Subquery(on_leave_today(today).order_by("-ends_on").values("ends_on")[:1]),
        )
        .order_by("worker_type", "display_name", "pk")
    )


_WORKERS = CompiledList(SocialWorker, _workers_of)


# --- As at a cut-off: who had a request and in which status (for the report) ----------------------------


def status_at(cutoff: dt.datetime) -> Case:
    """A request's status at the cut-off: today's status, unless it changed since; then the status the
    first change after the cut-off started from."""
    changes = RequestEvent.objects.filter(
        request=OuterRef("pk"), kind__in=[EventKind.STATUS, EventKind.REOPENED], at__gte=cutoff
    ).order_by("at", "pk")
    return Case(
        When(Exists(changes), then=Subquery(changes.values("old_status")[:1])),
        default=F("status"),
        output_field=CharField(),
    )


def assignee_at(cutoff: dt.datetime) -> Case:
    """The request's worker at the cut-off, read the same way from the assignment and hand-over events."""
    changes = RequestEvent.objects.filter(
        request=OuterRef("pk"), kind__in=[EventKind.ASSIGNED, EventKind.HANDOVER], at__gte=cutoff
    ).order_by("at", "pk")
    return Case(
        When(Exists(changes), then=Subquery(changes.values("old_assignee")[:1])),
        default=F("assignee"),
        output_field=IntegerField(),
    )


def open_at(communities, cutoff: dt.datetime) -> list[dict]:
    """Per worker (at the cut-off): requests open at the cut-off by status, and overdue then. One query
    over the requests received before the cut-off and not closed before it."""
    return list(
        _requests_of(communities)
        .filter(received_at__lt=cutoff)
        .exclude(closed_at__lt=cutoff)
        .annotate(state_then=status_at(cutoff), worker=assignee_at(cutoff))
        .values("worker")
        .annotate(
            **{status: Count("pk", filter=Q(state_then=status)) for status in LIVE_STATUSES},
            overdue=Count("pk", filter=Q(state_then__in=sorted(OPEN_STATES), resolution_due_at__lt=cutoff)),
        )
        .order_by()
    )


# --- Care, comments ----------------------------------------------------------------------------------------


def care_overdue_counts(user, communities, now: dt.datetime | None = None) -> dict[int, int]:
    """Care-tagged residents overdue for a visit, per community: the residents of
    stations.selectors.visits.visits_overdue(user) in these communities (which the caller got from the
    scoping selectors), counted. On PostgreSQL from the care summary (`_care_sql`) instead of visits_overdue's
    cadence and last-visit subqueries repeated per resident; tests pin the two to the same numbers."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        sql, params = _care_sql(communities, now)
        with reading(SummaryCare) as cursor:
            cursor.execute(sql, params)
            return dict(cursor.fetchall())
    residents = visits_overdue(user, now=now).filter(community__in=communities)
    return {
        row["community"]: row["n"]
        for row in residents.order_by().values("community").annotate(n=Count("pk", distinct=True))
    }


def now_counts(user, communities, now: dt.datetime) -> tuple[dict[int, dict[str, int]], dict[int, int]]:
    """The "now" figures per community: open requests by status, overdue and due soon (`live_counts`), and
    care-tagged residents overdue for a visit (`care_overdue_counts`). One query on PostgreSQL (the two
    grouped queries side by side, UNION ALL), two elsewhere."""
    live_query = live_counts_queryset(communities, now)
    if connection.vendor != "postgresql":
        return live_rows(live_query), care_overdue_counts(user, communities, now)
    live_sql, live_params = live_query.query.sql_with_params()
    care_sql, care_params = _care_sql(communities, now)
    keys = (*LIVE_STATUSES, "overdue", "due_soon")
    zeros = ", ".join("0" for _key in keys)
    columns = ", ".join(f"l.{key}" for key in keys)
    sql = (
        f"SELECT l.community, {columns}, 0 FROM ({live_sql}) l "
        f"UNION ALL SELECT c.community_id, {zeros}, c.n FROM ({care_sql}) c(community_id, n)"
    )
    live: dict[int, dict[str, int]] = {}
    care: dict[int, int] = {}
    with reading(ServiceRequest) as cursor:
        cursor.execute(sql, [*live_params, *care_params])
        for community_id, *counts, overdue_residents in cursor.fetchall():
            if overdue_residents:
                care[community_id] = overdue_residents
            else:
                live[community_id] = dict(zip(keys, counts, strict=True))
    return live, care


def _care_sql(communities, now: dt.datetime) -> tuple[str, list]:
    """(community_id, n): residents with a household and a care tag with a visit cadence whose household had
    no visit within their smallest cadence, or never — visits_overdue's set, added up from SummaryCare (rows
    per household and cadence with the household's last visit, kept by triggers): an index-only scan of a
    few thousand rows for a subdistrict instead of its residents joined to their care tags."""
    return (
        """
SELECT s.community_id, sum(s.residents)
FROM stations_summarycare s
WHERE s.community_id = ANY(%s)
  AND coalesce(s.last_visit < %s::timestamptz - make_interval(days => s.cadence_days), true)
GROUP BY s.community_id""",
        [[getattr(c, "pk", c) for c in communities], now],
    )


def latest_comments(communities, cutoff: dt.datetime, limit: int = LATEST_COMMENTS) -> list[Rating]:
    """The latest answers with a comment before the cut-off (for one community: SQL compiled once)."""
    if len(communities) == 1:
        (community,) = communities
        return _COMMENTS(getattr(community, "pk", community), cutoff, limit=limit)
    return list(_comments_of(communities, cutoff)[:limit])


def _comments_of(communities, cutoff: dt.datetime) -> QuerySet[Rating]:
    return (
        Rating.objects.filter(community__in=communities, at__lt=cutoff)
        .exclude(comment="")
        .select_related("request")
        .order_by("-at", "-pk")
    )


_COMMENTS = CompiledList(Rating, lambda community, cutoff: _comments_of([community], cutoff))


# --- The pages ----------------------------------------------------------------------------------------------
