"""The dashboards' Spaces section: the figures of stations.selectors.space_admin.space_utilisation (one week
and the month; tests compare them on the same data) in one query on PostgreSQL, two elsewhere, instead of
eight on every dashboard.

PostgreSQL: one statement with the bookings, the attendance and the open minutes (opening hours over the
days, less closed dates) grouped per space. Elsewhere: the spaces with correlated subqueries per figure,
then their opening hours and closed dates."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import (
    Count,
    DateField,
    DurationField,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    TimeField,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from residents.models import Community
from stations import rates
from stations.choices import ACTIVE_BOOKING_STATES, AttendanceStatus, BookingKind, BookingStatus
from stations.models import Attendance, Booking, ClosedDate, OpeningHours, Space
from stations.rates import Period
from stations.selectors.dashboard.figures import reading
from stations.selectors.space_admin import (
    SpaceUsage,
    UsageCell,
    opening_minutes,
    utilisation_periods,
    utilisation_total,
)


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _minutes(value: dt.timedelta | None) -> int:
    return int(value.total_seconds() // 60) if value else 0


def _per_space(queryset, value) -> Subquery:
    """One number per space from ``queryset`` (already filtered to the outer space)."""
    return Subquery(queryset.values("space_key").annotate(value=value).values("value")[:1])


def space_usage(communities, today: dt.date) -> list[SpaceUsage]:
    """Per active space of the communities: this week (Monday to Sunday, local time) and this month, booked
    over open hours, course attendance and no-shows — space_utilisation(weeks=1)."""
    (monday,), month_start, month_end = utilisation_periods(today, 1)
    week_end = monday + dt.timedelta(days=7)
    periods = {"week": (monday, week_end), "month": (month_start, month_end)}
    if connection.vendor == "postgresql":
        return _usage_postgresql(communities, periods)
    held = (
        Booking.objects.filter(
            space=OuterRef("pk"),
            kind__in=[BookingKind.BOOKING, BookingKind.COURSE],
            status__in=ACTIVE_BOOKING_STATES,
        )
        .order_by()
        .annotate(space_key=F("space_id"))
    )
    attendance = (
        Attendance.objects.filter(session__space=OuterRef("pk"), session__status__in=ACTIVE_BOOKING_STATES)
        .order_by()
        .annotate(space_key=F("session__space_id"))
    )
    figures = {}
    for name, (start, end) in periods.items():
        bookings = held.filter(starts_at__gte=_aware(start), starts_at__lt=_aware(end))
        sessions = attendance.filter(
            session__starts_at__gte=_aware(start), session__starts_at__lt=_aware(end)
        )
        figures[f"{name}_length"] = _per_space(
            bookings, Sum(F("ends_at") - F("starts_at"), output_field=DurationField())
        )
        figures[f"{name}_no_shows"] = Coalesce(
            _per_space(bookings, Count("pk", filter=Q(status=BookingStatus.NO_SHOW))), 0
        )
        figures[f"{name}_present"] = Coalesce(
            _per_space(sessions, Count("pk", filter=Q(status=AttendanceStatus.PRESENT))), 0
        )
        figures[f"{name}_absent"] = Coalesce(
            _per_space(sessions, Count("pk", filter=Q(status=AttendanceStatus.ABSENT))), 0
        )
    spaces = list(
        Space.objects.filter(community__in=communities, is_active=True)
        .select_related("community")
        .annotate(**figures)
        .order_by("community__name", "position", "name")
    )
    open_by_weekday, closed = _opening(spaces, min(monday, month_start), max(week_end, month_end))

    def open_minutes(space_id: int, start: dt.date, end: dt.date) -> int:
        return opening_minutes(open_by_weekday, closed, space_id, start, end)

    rows = []
    for space in spaces:
        cells = {}
        for name, (start, end) in periods.items():
            absent = getattr(space, f"{name}_absent")
            present = getattr(space, f"{name}_present")
            cells[name] = UsageCell(
                start,
                end,
                booked_minutes=_minutes(getattr(space, f"{name}_length")),
                open_minutes=open_minutes(space.pk, start, end),
                present=present,
                recorded=present + absent,
                no_shows=getattr(space, f"{name}_no_shows") + absent,
            )
        rows.append(SpaceUsage(space=space, weeks=[cells["week"]], month=cells["month"]))
    return rows


_USAGE_SQL = """
WITH sp AS (
  SELECT s.id, s.name, s.area_m2, s.position, s.community_id, c.name AS community_name
  FROM stations_space s JOIN residents_community c ON c.id = s.community_id
  WHERE s.community_id = ANY(%(communities)s) AND s.is_active
),
held AS (
  SELECT b.space_id,
    sum(b.ends_at - b.starts_at) FILTER (WHERE b.starts_at >= %(week_from)s AND b.starts_at < %(week_to)s) AS week_length,
    count(*) FILTER (WHERE b.status = %(no_show)s AND b.starts_at >= %(week_from)s AND b.starts_at < %(week_to)s)
      AS week_no_shows,
    sum(b.ends_at - b.starts_at) FILTER (WHERE b.starts_at >= %(month_from)s AND b.starts_at < %(month_to)s)
      AS month_length,
    count(*) FILTER (WHERE b.status = %(no_show)s AND b.starts_at >= %(month_from)s AND b.starts_at < %(month_to)s)
      AS month_no_shows
  FROM stations_booking b
  WHERE b.space_id IN (SELECT id FROM sp) AND b.kind = ANY(%(held_kinds)s) AND b.status = ANY(%(active)s)
    AND b.starts_at >= %(first)s AND b.starts_at < %(last)s
  GROUP BY b.space_id
),
att AS (
  SELECT b.space_id,
    count(*) FILTER (WHERE a.status = %(present)s AND b.starts_at >= %(week_from)s AND b.starts_at < %(week_to)s)
      AS week_present,
    count(*) FILTER (WHERE a.status = %(absent)s AND b.starts_at >= %(week_from)s AND b.starts_at < %(week_to)s)
      AS week_absent,
    count(*) FILTER (WHERE a.status = %(present)s AND b.starts_at >= %(month_from)s AND b.starts_at < %(month_to)s)
      AS month_present,
    count(*) FILTER (WHERE a.status = %(absent)s AND b.starts_at >= %(month_from)s AND b.starts_at < %(month_to)s)
      AS month_absent
  FROM stations_attendance a JOIN stations_booking b ON b.id = a.session_id
  WHERE b.space_id IN (SELECT id FROM sp) AND b.status = ANY(%(active)s)
    AND b.starts_at >= %(first)s AND b.starts_at < %(last)s
  GROUP BY b.space_id
),
opening AS (
  -- Minutes open per day: each interval floored to whole minutes, as space_utilisation adds them up.
  SELECT d.day,  oh.space_id, sum(floor(extract(epoch FROM oh.closes - oh.opens) / 60)) AS minutes
  FROM generate_series(%(first_day)s::date, %(last_day)s::date - 1, interval '1 day') AS d(day)
  JOIN stations_openinghours oh ON oh.weekday = extract(isodow FROM d.day) - 1
  WHERE oh.space_id IN (SELECT id FROM sp)
    AND NOT EXISTS (SELECT 1 FROM stations_closeddate cd WHERE cd.space_id = oh.space_id AND cd.date = d.day::date)
  GROUP BY d.day, oh.space_id
),
open_minutes AS (
  SELECT space_id,
    sum(minutes) FILTER (WHERE day >= %(week_day_from)s AND day < %(week_day_to)s) AS week_open,
    sum(minutes) FILTER (WHERE day >= %(month_day_from)s AND day < %(month_day_to)s) AS month_open
  FROM opening GROUP BY space_id
)
SELECT sp.id, sp.name, sp.area_m2, sp.position, sp.community_id, sp.community_name,
  floor(extract(epoch FROM held.week_length) / 60), coalesce(held.week_no_shows, 0),
  floor(extract(epoch FROM held.month_length) / 60), coalesce(held.month_no_shows, 0),
  coalesce(att.week_present, 0), coalesce(att.week_absent, 0),
  coalesce(att.month_present, 0), coalesce(att.month_absent, 0),
  coalesce(open_minutes.week_open, 0), coalesce(open_minutes.month_open, 0)
FROM sp
LEFT JOIN held ON held.space_id = sp.id
LEFT JOIN att ON att.space_id = sp.id
LEFT JOIN open_minutes ON open_minutes.space_id = sp.id
ORDER BY sp.community_name, sp.position, sp.name
"""


def _usage_postgresql(communities, periods: dict[str, tuple[dt.date, dt.date]]) -> list[SpaceUsage]:
    (week_from, week_to), (month_from, month_to) = periods["week"], periods["month"]
    first_day, last_day = min(week_from, month_from), max(week_to, month_to)
    params = {
        "communities": [getattr(c, "pk", c) for c in communities],
        "held_kinds": [BookingKind.BOOKING, BookingKind.COURSE],
        "active": sorted(ACTIVE_BOOKING_STATES),
        "no_show": BookingStatus.NO_SHOW,
        "present": AttendanceStatus.PRESENT,
        "absent": AttendanceStatus.ABSENT,
        "week_from": _aware(week_from),
        "week_to": _aware(week_to),
        "month_from": _aware(month_from),
        "month_to": _aware(month_to),
        "first": _aware(first_day),
        "last": _aware(last_day),
        "first_day": first_day,
        "last_day": last_day,
        "week_day_from": week_from,
        "week_day_to": week_to,
        "month_day_from": month_from,
        "month_day_to": month_to,
    }
    with reading(Space) as cursor:
        cursor.execute(_USAGE_SQL, params)
        found = cursor.fetchall()
    rows = []
    for (
        pk,
        name,
        area_m2,
        position,
        community_id,
        community_name,
        week_length,
        week_no_shows,
        month_length,
        month_no_shows,
        week_present,
        week_absent,
        month_present,
        month_absent,
        week_open,
        month_open,
    ) in found:
        space = Space(pk=pk, name=name, area_m2=area_m2, position=position, community_id=community_id)
        space.community = Community(pk=community_id, name=community_name)
        week = UsageCell(
            week_from,
            week_to,
            booked_minutes=int(week_length or 0),
            open_minutes=int(week_open),
            present=week_present,
            recorded=week_present + week_absent,
            no_shows=week_no_shows + week_absent,
        )
        month = UsageCell(
            month_from,
            month_to,
            booked_minutes=int(month_length or 0),
            open_minutes=int(month_open),
            present=month_present,
            recorded=month_present + month_absent,
            no_shows=month_no_shows + month_absent,
        )
        rows.append(SpaceUsage(space=space, weeks=[week], month=month))
    return rows


def _opening(spaces: list[Space], first_day: dt.date, last_day: dt.date) -> tuple[dict, set]:
    """Open minutes per space and weekday, and the closed (space, date) pairs in [first_day, last_day): one
    query (the two small tables, as one UNION)."""
    ids = [space.pk for space in spaces]
    if not ids:
        return {}, set()
    hours = (
        OpeningHours.objects.filter(space_id__in=ids)
        .order_by()
        .annotate(
            key=F("space_id"),
            wd=F("weekday"),
            start=F("opens"),
            stop=F("closes"),
            closed_on=Value(None, output_field=DateField()),
        )
        .values("key", "wd", "start", "stop", "closed_on")
    )
    closed_dates = (
        ClosedDate.objects.filter(space_id__in=ids, date__gte=first_day, date__lt=last_day)
        .order_by()
        .annotate(
            key=F("space_id"),
            wd=Value(-1, output_field=IntegerField()),
            start=Value(None, output_field=TimeField()),
            stop=Value(None, output_field=TimeField()),
            closed_on=F("date"),
        )
        .values("key", "wd", "start", "stop", "closed_on")
    )
    by_weekday: dict[int, dict[int, int]] = {}
    closed: set[tuple[int, dt.date]] = set()
    for row in hours.union(closed_dates, all=True).order_by():
        if row["wd"] == -1:
            closed.add((row["key"], row["closed_on"]))
            continue
        span = dt.datetime.combine(dt.date.min, row["stop"]) - dt.datetime.combine(dt.date.min, row["start"])
        days = by_weekday.setdefault(row["key"], {})
        days[row["wd"]] = days.get(row["wd"], 0) + _minutes(span)
    return by_weekday, closed


def _number(value) -> float | None:
    return None if value is None else float(value)


def spaces_section(communities, period: Period, now: dt.datetime) -> dict:
    """Per active space: utilisation (booked / open hours) in the week and the month, course attendance
    and no-shows; and office area beside service area (the active spaces' area) per community. Two queries.
    For a past month "this week" is the month's last week."""
    last_day = min(timezone.localdate(now), timezone.localdate(period.end - dt.timedelta(microseconds=1)))
    usage = space_usage(communities, last_day)
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
    # Office area beside service area (stations.selectors.space_admin.area_summary), from the rows above.
    service_by_community: dict[int, float] = {}
    for item in usage:
        service_by_community[item.space.community_id] = service_by_community.get(
            item.space.community_id, 0
        ) + (item.space.area_m2 or 0)
    areas = [
        {
            "community": community,
            "office_area_m2": community.office_area_m2,
            "service_area_m2": service_by_community.get(community.pk),
        }
        for community in communities
    ]
    office = sum((a["office_area_m2"] or 0) for a in areas)
    service = sum((a["service_area_m2"] or 0) for a in areas)
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
            "office_m2": _number(office) if any(a["office_area_m2"] is not None for a in areas) else None,
            "service_m2": _number(service),
            "service_percent": rates.percent(float(service), float(office + service))
            if office + service
            else None,
            "communities": areas,
        },
    }
