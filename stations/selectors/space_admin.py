"""Staff reads about spaces and courses: the approvals queue, a day's schedule, a course session's
participants, and utilisation (booked hours / open hours per space and week). Every function is
scoped to the user's communities (residents.selectors.communities_visible_to); a row of another
community is a 404."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncWeek
from django.http import Http404
from django.utils import timezone

from residents.models import Community
from residents.selectors import communities_visible_to
from stations.choices import (
    ACTIVE_BOOKING_STATES,
    AttendanceStatus,
    BookingKind,
    BookingStatus,
    EnrolmentStatus,
)
from stations.models import Attendance, Booking, ClosedDate, Course, Enrolment, OpeningHours, Space

CHECK_IN_OPENS = dt.timedelta(minutes=30)  # the same window booking_check_in enforces
UTILISATION_WEEKS = 8


# --- Scoping ---------------------------------------------------------------------------------------


def staff_spaces(user) -> QuerySet[Space]:
    return Space.objects.filter(community__in=communities_visible_to(user)).select_related("community")


def get_staff_space_for(user, pk: int) -> Space:
    space = staff_spaces(user).filter(pk=pk).first()
    if space is None:
        raise Http404
    return space


def staff_bookings(user) -> QuerySet[Booking]:
    return Booking.objects.filter(space__community__in=communities_visible_to(user)).select_related(
        "space", "resident", "course"
    )


def get_staff_booking_for(user, pk: int) -> Booking:
    booking = staff_bookings(user).filter(pk=pk).first()
    if booking is None:
        raise Http404
    return booking


def get_staff_session_for(user, pk: int) -> Booking:
    """A course session (a Booking of kind course) of one of the user's communities."""
    session = (
        staff_bookings(user).select_related("space__community").filter(pk=pk, kind=BookingKind.COURSE).first()
    )
    if session is None:
        raise Http404
    return session


def get_staff_course_for(user, pk: int) -> Course:
    course = (
        Course.objects.filter(community__in=communities_visible_to(user))
        .select_related("space", "community")
        .filter(pk=pk)
        .first()
    )
    if course is None:
        raise Http404
    return course


# --- Approvals and the day's schedule --------------------------------------------------------------


def pending_approvals(user) -> QuerySet[Booking]:
    """Bookings waiting for a decision, the longest-waiting first."""
    return (
        staff_bookings(user)
        .filter(status=BookingStatus.PENDING)
        .select_related("resident__employer")
        .order_by("created_at", "pk")
    )


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min), tz)


def _enrolled_count():
    counted = (
        Enrolment.objects.filter(course_id=OuterRef("course_id"), status=EnrolmentStatus.ENROLLED)
        .order_by()
        .values("course_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _present_count():
    counted = (
        Attendance.objects.filter(session_id=OuterRef("pk"), status=AttendanceStatus.PRESENT)
        .order_by()
        .values("session_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@dataclass
class SpaceDay:
    """One space's day: its opening hours, whether it is closed, and what holds it, in time order."""

    space: Space
    opening: list[OpeningHours]
    closed: ClosedDate | None
    entries: list[Booking] = field(default_factory=list)


def day_schedule(
    user, day: dt.date, *, space: Space | None = None, now: dt.datetime | None = None
) -> list[SpaceDay]:
    """Every space's bookings, course sessions and blocks of one day (local), in time order, in
    four queries whatever the number of spaces and bookings. Each booking carries `check_in_open`."""
    now = now or timezone.now()
    start, end = _day_bounds(day)
    spaces_qs = staff_spaces(user)
    spaces_qs = spaces_qs.filter(pk=space.pk) if space is not None else spaces_qs.filter(is_active=True)
    spaces = list(spaces_qs.order_by("community__name", "position", "name"))
    hours: dict[int, list[OpeningHours]] = {}
    for row in OpeningHours.objects.filter(space__in=spaces, weekday=day.weekday()).order_by("opens"):
        hours.setdefault(row.space_id, []).append(row)
    closed = {c.space_id: c for c in ClosedDate.objects.filter(space__in=spaces, date=day)}
    days = {s.pk: SpaceDay(space=s, opening=hours.get(s.pk, []), closed=closed.get(s.pk)) for s in spaces}
    bookings = (
        Booking.objects.filter(
            space__in=spaces, status__in=ACTIVE_BOOKING_STATES, starts_at__lt=end, ends_at__gt=start
        )
        .select_related("resident", "course")
        .annotate(enrolled_count=_enrolled_count(), present_count=_present_count())
        .order_by("starts_at", "pk")
    )
    for booking in bookings:
        booking.check_in_open = (
            booking.kind == BookingKind.BOOKING
            and booking.status != BookingStatus.PENDING
            and now >= booking.starts_at - CHECK_IN_OPENS
        )
        booking.check_in_opens_at = booking.starts_at - CHECK_IN_OPENS
        days[booking.space_id].entries.append(booking)
    return list(days.values())


# --- A course session's participants ---------------------------------------------------------------


def session_participants(session: Booking) -> list[Enrolment]:
    """The enrolled participants of a course session, each with `attendance_status` (or None)."""
    recorded = Attendance.objects.filter(session=session, resident_id=OuterRef("resident_id"))
    status = recorded.values("status")[:1]
    return list(
        Enrolment.objects.filter(course_id=session.course_id, status=EnrolmentStatus.ENROLLED)
        .select_related("resident")
        .annotate(attendance_status=Subquery(status))
        .order_by("resident__name_pinyin", "resident_id")
    )


def attendance_counts(participants: list[Enrolment]) -> dict[str, int]:
    present = sum(1 for p in participants if p.attendance_status == AttendanceStatus.PRESENT)
    absent = sum(1 for p in participants if p.attendance_status == AttendanceStatus.ABSENT)
    return {"present": present, "absent": absent, "not_recorded": len(participants) - present - absent}


# --- Utilisation -----------------------------------------------------------------------------------


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class UsageCell:
    """One space over one period [start, end): minutes booked and open, attendance and no-shows."""

    start: dt.date
    end: dt.date  # exclusive
    booked_minutes: int = 0
    open_minutes: int = 0
    present: int = 0  # course participants checked in
    recorded: int = 0  # course attendance recorded (present + absent)
    no_shows: int = 0  # bookings marked no-show + course participants marked absent

    @property
    def booked_hours(self) -> Decimal:
        return _hours(self.booked_minutes)

    @property
    def open_hours(self) -> Decimal:
        return _hours(self.open_minutes)

    @property
    def percent(self) -> Decimal | None:
        return _percent(self.booked_minutes, self.open_minutes)

    @property
    def bar(self) -> Decimal:
        """The percentage capped at 100 for a bar (bookings outside opening hours can exceed it)."""
        return min(self.percent or Decimal(0), Decimal(100))

    @property
    def attendance_percent(self) -> Decimal | None:
        return _percent(self.present, self.recorded)

    def add(self, other: "UsageCell") -> None:
        self.booked_minutes += other.booked_minutes
        self.open_minutes += other.open_minutes
        self.present += other.present
        self.recorded += other.recorded
        self.no_shows += other.no_shows


@dataclass
class SpaceUsage:
    """A row of the utilisation table: one space (None for the total of all spaces)."""

    space: Space | None
    weeks: list[UsageCell]
    month: UsageCell

    @property
    def weeks_total(self) -> UsageCell:
        total = UsageCell(self.weeks[0].start, self.weeks[-1].end)
        for cell in self.weeks:
            total.add(cell)
        return total


def utilisation_periods(
    today: dt.date, weeks: int = UTILISATION_WEEKS
) -> tuple[list[dt.date], dt.date, dt.date]:
    """The Mondays of the last `weeks` weeks (the current week last), and the current month [start, end)."""
    this_monday = today - dt.timedelta(days=today.weekday())
    mondays = [this_monday - dt.timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
    month_start = today.replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1)
    return mondays, month_start, month_end


def _minutes(value: dt.timedelta | None) -> int:
    return int(value.total_seconds() // 60) if value else 0


def _open_minutes_by_weekday(space_ids: list[int]) -> dict[int, dict[int, int]]:
    result: dict[int, dict[int, int]] = {}
    for row in OpeningHours.objects.filter(space_id__in=space_ids).values(
        "space_id", "weekday", "opens", "closes"
    ):
        opens = dt.datetime.combine(dt.date.min, row["opens"])
        closes = dt.datetime.combine(dt.date.min, row["closes"])
        days = result.setdefault(row["space_id"], {})
        days[row["weekday"]] = days.get(row["weekday"], 0) + _minutes(closes - opens)
    return result


def space_utilisation(
    communities: QuerySet[Community], *, weeks: int = UTILISATION_WEEKS, today: dt.date | None = None
) -> list[SpaceUsage]:
    """Per active space of `communities`: for each of the last `weeks` weeks (Monday to Sunday, local
    time, the current week last) and for the current month, booked hours (bookings and course
    sessions in an active state, by their start; not blocks) over open hours (opening hours minus
    closed dates), course attendance and no-shows.

    Booked hours and counts are SQL aggregates grouped by space and week (TruncWeek in local time,
    Monday-start on PostgreSQL and SQLite alike); open hours come from the small opening-hours table.
    A constant number of queries (seven) whatever the number of spaces and bookings."""
    today = today or timezone.localdate()
    tz = timezone.get_default_timezone()
    mondays, month_start, month_end = utilisation_periods(today, weeks)
    weeks_end = mondays[-1] + dt.timedelta(days=7)
    spaces = list(
        Space.objects.filter(community__in=communities, is_active=True)
        .select_related("community")
        .order_by("community__name", "position", "name")
    )
    space_ids = [s.pk for s in spaces]

    def aware(day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)

    def week_key(value: dt.datetime) -> dt.date:
        return timezone.localtime(value, tz).date() if timezone.is_aware(value) else value.date()

    held = Booking.objects.filter(
        space_id__in=space_ids,
        kind__in=[BookingKind.BOOKING, BookingKind.COURSE],
        status__in=ACTIVE_BOOKING_STATES,
    ).order_by()
    attendance = Attendance.objects.filter(
        session__space_id__in=space_ids, session__status__in=ACTIVE_BOOKING_STATES
    ).order_by()
    booking_sums = {
        "length": Sum(F("ends_at") - F("starts_at")),
        "no_shows": Count("pk", filter=Q(status=BookingStatus.NO_SHOW)),
    }
    attendance_sums = {
        "present": Count("pk", filter=Q(status=AttendanceStatus.PRESENT)),
        "absent": Count("pk", filter=Q(status=AttendanceStatus.ABSENT)),
    }

    cells: dict[tuple[int, dt.date], UsageCell] = {}
    months: dict[int, UsageCell] = {}
    for space_id in space_ids:
        for monday in mondays:
            cells[space_id, monday] = UsageCell(monday, monday + dt.timedelta(days=7))
        months[space_id] = UsageCell(month_start, month_end)

    weekly = (
        held.filter(starts_at__gte=aware(mondays[0]), starts_at__lt=aware(weeks_end))
        .annotate(week=TruncWeek("starts_at", tzinfo=tz))
        .values("space_id", "week")
        .annotate(**booking_sums)
    )
    for row in weekly:
        cell = cells.get((row["space_id"], week_key(row["week"])))
        if cell is not None:
            cell.booked_minutes += _minutes(row["length"])
            cell.no_shows += row["no_shows"]
    for row in (
        held.filter(starts_at__gte=aware(month_start), starts_at__lt=aware(month_end))
        .values("space_id")
        .annotate(**booking_sums)
    ):
        months[row["space_id"]].booked_minutes += _minutes(row["length"])
        months[row["space_id"]].no_shows += row["no_shows"]
    for row in (
        attendance.filter(session__starts_at__gte=aware(mondays[0]), session__starts_at__lt=aware(weeks_end))
        .annotate(week=TruncWeek("session__starts_at", tzinfo=tz))
        .values("session__space_id", "week")
        .annotate(**attendance_sums)
    ):
        cell = cells.get((row["session__space_id"], week_key(row["week"])))
        if cell is not None:
            cell.present += row["present"]
            cell.recorded += row["present"] + row["absent"]
            cell.no_shows += row["absent"]
    for row in (
        attendance.filter(session__starts_at__gte=aware(month_start), session__starts_at__lt=aware(month_end))
        .values("session__space_id")
        .annotate(**attendance_sums)
    ):
        month = months[row["session__space_id"]]
        month.present += row["present"]
        month.recorded += row["present"] + row["absent"]
        month.no_shows += row["absent"]

    # Open hours: the weekly opening hours of each day, except closed dates.
    first_day, last_day = min(mondays[0], month_start), max(weeks_end, month_end)
    by_weekday = _open_minutes_by_weekday(space_ids)
    closed = set(
        ClosedDate.objects.filter(space_id__in=space_ids, date__gte=first_day, date__lt=last_day).values_list(
            "space_id", "date"
        )
    )

    def open_minutes(space_id: int, start: dt.date, end: dt.date) -> int:
        return opening_minutes(by_weekday, closed, space_id, start, end)

    rows = []
    for space in spaces:
        week_cells = [cells[space.pk, monday] for monday in mondays]
        for cell in week_cells:
            cell.open_minutes = open_minutes(space.pk, cell.start, cell.end)
        month = months[space.pk]
        month.open_minutes = open_minutes(space.pk, month.start, month.end)
        rows.append(SpaceUsage(space=space, weeks=week_cells, month=month))
    return rows


def utilisation_total(
    rows: list[SpaceUsage], *, weeks: int = UTILISATION_WEEKS, today: dt.date | None = None
) -> SpaceUsage:
    """All spaces together, period by period (for the table's footer and the dashboard)."""
    mondays, month_start, month_end = utilisation_periods(today or timezone.localdate(), weeks)
    total = SpaceUsage(
        space=None,
        weeks=[UsageCell(m, m + dt.timedelta(days=7)) for m in mondays],
        month=UsageCell(month_start, month_end),
    )
    for row in rows:
        for mine, theirs in zip(total.weeks, row.weeks, strict=True):
            mine.add(theirs)
        total.month.add(row.month)
    return total


def area_summary(communities: QuerySet[Community]) -> QuerySet[Community]:
    """Each community's office area beside its service area (the sum of its active spaces' areas):
    the reform's motto, "minimise the office, maximise the service area"."""
    return communities.annotate(
        service_area_m2=Sum("spaces__area_m2", filter=Q(spaces__is_active=True)),
        space_count=Count("spaces", filter=Q(spaces__is_active=True)),
    ).order_by("name")


def opening_minutes(
    by_weekday: dict[int, dict[int, int]], closed: set, space_id: int, start: dt.date, end: dt.date
) -> int:
    """Minutes a space is open in [start, end): its weekly hours, less its closed dates."""
    days = by_weekday.get(space_id, {})
    total, day = 0, start
    while day < end:
        if (space_id, day) not in closed:
            total += days.get(day.weekday(), 0)
        day += dt.timedelta(days=1)
    return total
