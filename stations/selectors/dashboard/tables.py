"""The dashboard's tables: trend, categories, building × category, workers, open requests, care, comments, spaces."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    When,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from community.lib.db import count_subquery
from residents.models import Community, Resident
from stations import rates
from stations.choices import (
    OPEN_STATES,
    EventKind,
    Status,
)
from stations.models import Rating, RequestEvent, ServiceRequest, SocialWorker
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
)
from stations.selectors.desk import on_leave_today
from stations.selectors.space_admin import area_summary, space_utilisation, utilisation_total
from stations.selectors.visits import visits_overdue


def _week_key(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def weekly_trend(communities, cutoff: dt.datetime, weeks: int = TREND_WEEKS) -> list[dict]:
    """Received and resolved (办结) per week for the `weeks` weeks up to the cut-off: two grouped queries.
    Resolved counts requests with a "resolved" status event that week (reqevent_resolved_at_idx)."""
    last_day = timezone.localtime(cutoff - dt.timedelta(microseconds=1)).date()
    first_monday = last_day - dt.timedelta(days=last_day.weekday()) - dt.timedelta(weeks=weeks - 1)
    low = timezone.make_aware(dt.datetime.combine(first_monday, dt.time.min))
    received = (
        _requests_of(communities)
        .filter(received_at__gte=low, received_at__lt=cutoff)
        .annotate(week=TruncWeek("received_at"))
        .values("week")
        .annotate(n=Count("pk"))
    )
    resolved = (
        RequestEvent.objects.filter(
            kind=EventKind.STATUS,
            new_status=Status.RESOLVED,
            at__gte=low,
            at__lt=cutoff,
            request__community__in=communities,
        )
        .order_by()
        .annotate(week=TruncWeek("at"))
        .values("week")
        .annotate(n=Count("request", distinct=True))
    )
    got_received = {_week_key(row["week"]): row["n"] for row in received}
    got_resolved = {_week_key(row["week"]): row["n"] for row in resolved}
    mondays = [first_monday + dt.timedelta(weeks=i) for i in range(weeks)]
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
    return list(queryset.values(*group_by).annotate(**_figure_counts(period, now)))


def category_figures(
    communities, period: Period, now: dt.datetime, *, by_name: bool = False
) -> list[Figures]:
    """Per category, most received first. Across communities (a subdistrict) categories are matched by
    name, since each community has its own tree."""
    group = (
        ("category__parent__name", "category__name")
        if by_name
        else ("category", "category__parent__name", "category__name")
    )
    rows = grouped_figures(communities, period, now, *group)
    rows.sort(key=lambda r: (-r["received"], r["category__parent__name"] or "", r["category__name"]))
    result = []
    for row in rows:
        if not (row["received"] or row["cancelled"]):
            continue
        scope = {} if by_name else {"category": row["category"]}
        result.append(
            Figures(
                {k: row[k] for k in PERIOD_FIGURES},
                period,
                scope,
                name=row["category__name"],
                parent=row["category__parent__name"] or "",
                pk=row.get("category"),
            )
        )
    return result


def building_category_matrix(community: Community, period: Period, now: dt.datetime) -> dict:
    """Where problems cluster: received requests per building × category this period (one grouped query),
    laid out as a table of the busiest buildings and categories, with the 每月一题 candidate: the pair that
    recurred most (at least RECURRING_MIN times)."""
    rows = list(
        _in_periods(_requests_of([community]), period)
        .filter(rates.received(period, now), building__isnull=False)
        .values("building", "building__number", "building__position", "category", "category__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "building__position", "building__number", "category__name")
    )
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
                    "query": drill_query(
                        rate="received", period=period.key, community=community.pk, building=b, category=c
                    ),
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
    events = RequestEvent.objects.filter(
        kind=EventKind.STATUS,
        new_status=Status.RESOLVED,
        at__gte=period.start,
        at__lt=cutoff,
        request__community__in=communities,
    ).order_by()
    result: dict[int, dict] = {}
    if connection.vendor == "postgresql":
        took = ExpressionWrapper(F("at") - F("request__received_at"), output_field=DurationField())
        rows = events.values(worker=F("actor__social_worker")).annotate(
            n=Count("pk"), median=Median(took, output_field=DurationField())
        )
        for row in rows:
            result[row["worker"]] = {"resolved": row["n"], "median_hours": _hours(row["median"])}
        return result
    # SQLite has no percentile function: one query for the durations, the median in Python. This loops
    # over the period's resolutions, which is acceptable only on SQLite (development and tests); the
    # production database is PostgreSQL, which takes the branch above.
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
    the counts are correlated subqueries on the partial index sr_open_assignee_due_idx."""
    open_requests = ServiceRequest.objects.filter(status__in=sorted(OPEN_STATES))
    leave = on_leave_today()
    workers = list(
        SocialWorker.objects.filter(community=community, is_active=True)
        .annotate(
            open_count=count_subquery(open_requests, "assignee"),
            overdue_count=count_subquery(open_requests.filter(resolution_due_at__lt=now), "assignee"),
            on_leave=Exists(leave),
            leave_until=Subquery(leave.order_by("-ends_on").values("ends_on")[:1]),
        )
        .order_by("worker_type", "display_name", "pk")
    )
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
                "on_leave": worker.on_leave,
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


class _AnyOf(Func):
    """``value = ANY(array)`` (PostgreSQL): with an ARRAY(subquery) the array is an init plan, computed
    once, and the comparison is an index condition on ``value``'s column."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def care_overdue_counts(user, communities) -> dict[int, int]:
    """Care-tagged residents overdue for a visit, per community (stations.selectors.visits)."""
    residents = visits_overdue(user).filter(community__in=communities)
    if connection.vendor == "postgresql":
        # Only a resident with a care tag that has a cadence can be overdue (visits_overdue's own
        # condition), so the same set is: those residents, looked up by pk. PostgreSQL computes the
        # array of their ids once and fetches just them, instead of running visits_overdue's cadence
        # and last-visit subqueries on every resident of the communities (a subdistrict: ~40k rows).
        tagged = Resident.care_tags.through.objects.filter(
            caretag__visit_cadence_days__isnull=False, resident__community__in=communities
        ).values("resident_id")
        residents = residents.filter(_AnyOf(F("pk"), ArraySubquery(tagged)))
    return {
        row["community"]: row["n"]
        for row in residents.order_by().values("community").annotate(n=Count("pk", distinct=True))
    }


def latest_comments(communities, cutoff: dt.datetime, limit: int = LATEST_COMMENTS) -> list[Rating]:
    return list(
        Rating.objects.filter(request__community__in=communities, at__lt=cutoff)
        .exclude(comment="")
        .select_related("request")
        .order_by("-at", "-pk")[:limit]
    )


# --- The pages ----------------------------------------------------------------------------------------------


def _number(value) -> float | None:
    return None if value is None else float(value)


def spaces_section(communities, period: Period, now: dt.datetime) -> dict:
    """Per active space: utilisation (booked / open hours) in the week and the month, course attendance
    and no-shows, from stations.selectors.space_admin.space_utilisation; and office area beside service
    area (the spaces' area) per community. A constant number of queries. For a past month "this week"
    is the month's last week."""
    last_day = min(timezone.localdate(now), timezone.localdate(period.end - dt.timedelta(microseconds=1)))
    usage = space_utilisation(communities, weeks=1, today=last_day)
    rows = []
    for item in usage:
        week, month = item.weeks[-1], item.month
        rows.append(
            {
                "space": item.space,
                "name": item.space.name,
                "community_name": item.space.community.name,
                "area_m2": _number(item.space.area_m2),
                "week_percent": _number(week.percent),
                "week_booked_hours": _number(week.booked_hours),
                "week_open_hours": _number(week.open_hours),
                "month_percent": _number(month.percent),
                "month_booked_hours": _number(month.booked_hours),
                "month_open_hours": _number(month.open_hours),
                "present": month.present,
                "absent": month.recorded - month.present,
                "no_shows": month.no_shows,
                "attendance_percent": _number(month.attendance_percent),
            }
        )
    total = utilisation_total(usage, weeks=1, today=last_day) if usage else None
    areas = list(area_summary(Community.objects.filter(pk__in=[c.pk for c in communities])))
    office = sum((c.office_area_m2 or 0) for c in areas)
    service = sum((c.service_area_m2 or 0) for c in areas)
    return {
        "rows": rows,
        "week_start": total.weeks[-1].start if total else None,
        "total": None
        if total is None
        else {
            "week_percent": _number(total.weeks[-1].percent),
            "month_percent": _number(total.month.percent),
            "present": total.month.present,
            "absent": total.month.recorded - total.month.present,
            "no_shows": total.month.no_shows,
        },
        "areas": {
            "office_m2": _number(office) if any(c.office_area_m2 is not None for c in areas) else None,
            "service_m2": _number(service),
            "service_percent": rates.percent(float(service), float(office + service))
            if office + service
            else None,
            "communities": areas,
        },
    }
