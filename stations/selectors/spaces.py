"""Reads of spaces, bookings and courses; the gate every space page goes through.

A space (and a course) is visible to staff of its community (`communities_visible_to` with the
`stations.view_space` permission) and to residents of its community (`user.resident`); anyone else
gets 404. Residents never see who booked a slot: the labels the week grid shows are computed here,
so a template cannot leak a name by accident."""

import datetime as dt
import functools
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from community.lib.compiled import CompiledGet, CompiledList, CompiledRows
from community.lib.db import count_subquery
from community.lib.validators import PLAUSIBLE_DATES
from residents.models import Community, Resident
from residents.selectors import communities_visible_to, only_community_id
from stations.choices import ACTIVE_BOOKING_STATES, BookingKind, BookingStatus, EnrolmentStatus
from stations.models import Booking, ClosedDate, Course, Enrolment, OpeningHours, Space

STAFF_VIEW = "stations.view_space"
CANCELLABLE = frozenset({BookingStatus.PENDING, BookingStatus.CONFIRMED})
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what an HTML datetime-local input sends


def own_resident(user) -> Resident | None:
    """The resident record behind a login (residents and enterprise employees), if any."""
    if not user.is_authenticated:
        return None
    return getattr(user, "resident", None)


def is_space_staff(user) -> bool:
    return user.is_authenticated and user.is_active and user.has_perm(STAFF_VIEW)


# --- Spaces ------------------------------------------------------------------------------------


def spaces_visible_to(user) -> QuerySet[Space]:
    """Staff: every space of their communities. Residents: the active spaces of their community."""
    if is_space_staff(user):
        return Space.objects.filter(community__in=communities_visible_to(user)).select_related("community")
    resident = own_resident(user)
    if resident is None or not user.is_active:
        return Space.objects.none()
    return Space.objects.filter(community_id=resident.community_id, is_active=True).select_related(
        "community"
    )


def get_space_for(user, pk: int) -> Space:
    """The space if the user may see it (spaces_visible_to), else 404; for staff of one community with SQL
    compiled once per process (community.lib.compiled)."""
    community = only_community_id(user) if is_space_staff(user) else None
    if community is not None:
        space = _STAFF_SPACE(community, pk)
    else:
        space = spaces_visible_to(user).filter(pk=pk).first()
    if space is None:
        raise Http404
    return space


_STAFF_SPACE = CompiledGet(
    Space,
    lambda community, pk: Space.objects.filter(community__in=[community], pk=pk).select_related("community"),
)


def area_summary(user) -> list[Community]:
    """The seed's point: minimise the office, maximise the service area. Each visible community with
    an office area recorded, annotated with `service_area` = the sum of its active spaces (one query)."""
    if is_space_staff(user):
        communities = communities_visible_to(user)
    else:
        resident = own_resident(user)
        if resident is None:
            return []
        communities = Community.objects.filter(pk=resident.community_id)
    return list(
        communities.filter(office_area_m2__isnull=False)
        .annotate(service_area=Sum("spaces__area_m2", filter=Q(spaces__is_active=True)))
        .order_by("name")
    )


def feed_space(token: str) -> Space:
    """The space whose secret calendar-feed token this is (no login: the token is the key)."""
    space = Space.objects.filter(feed_token=token).first() if token else None
    if space is None:
        raise Http404
    return space


def feed_bookings(space: Space, now: dt.datetime) -> QuerySet[Booking]:
    """What the feed publishes: active bookings from 30 days ago to 90 days ahead."""
    return (
        Booking.objects.filter(
            space=space,
            status__in=ACTIVE_BOOKING_STATES,
            ends_at__gt=now - dt.timedelta(days=30),
            starts_at__lt=now + dt.timedelta(days=90),
        )
        .select_related("course")
        .order_by("starts_at", "pk")
    )


def public_label(booking: Booking) -> str:
    """What anyone may read about a booking: the course title, "Blocked" or "Booked" — no person."""
    if booking.kind == BookingKind.COURSE and booking.course is not None:
        return booking.course.title
    if booking.kind == BookingKind.BLOCK:
        return _("Blocked")
    return _("Booked")


# --- The week grid -----------------------------------------------------------------------------


def parse_local(value: str | None) -> dt.datetime | None:
    """An HTML datetime-local value ("2026-12-03T09:00") as an aware time in the site's zone."""
    if not value:
        return None
    try:
        naive = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if not PLAUSIBLE_DATES[0] <= naive.date() <= PLAUSIBLE_DATES[1]:
        return None  # year 1 or 9999: converting to UTC or adding the booking's length overflows
    if naive.tzinfo is not None:
        return timezone.localtime(naive)
    return timezone.make_aware(naive.replace(second=0, microsecond=0))


def next_slot(space: Space, now: dt.datetime) -> dt.datetime:
    """The first start on the space's grid after now: the form's default when no slot was tapped."""
    local = timezone.localtime(now).replace(second=0, microsecond=0)
    minutes = local.hour * 60 + local.minute
    step = space.slot_minutes
    return local + dt.timedelta(minutes=-minutes % step or step)


def local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime(LOCAL_INPUT_FORMAT)


def week_monday(value: str | None, today: dt.date) -> dt.date:
    """The Monday of ?week=YYYY-MM-DD (any day of that week), or of this week."""
    day = today
    if value:
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            day = today
    return day - dt.timedelta(days=day.weekday())


@dataclass
class Cell:
    starts_at: dt.datetime
    state: str  # free, taken, past, closed, later (beyond the booking horizon)
    label: str = ""
    first: bool = False  # the first cell of its booking on that day: the label is shown there
    own: bool = False
    pending: bool = False

    @property
    def start_param(self) -> str:
        return local_input(self.starts_at)

    @property
    def when(self) -> str:
        """The start as the page says it ("2026-12-03 09:00"): strftime, not the date filter, which
        costs ten times more and runs for every free cell of the week."""
        return timezone.localtime(self.starts_at).strftime("%Y-%m-%d %H:%M")


@dataclass
class Row:
    time: dt.time
    cells: list[Cell]


@dataclass
class WeekGrid:
    monday: dt.date
    days: list[dt.date]
    rows: list[Row]
    bookings: list[Booking] = field(default_factory=list)
    today: dt.date | None = None

    @property
    def previous_week(self) -> dt.date:
        return self.monday - dt.timedelta(days=7)

    @property
    def next_week(self) -> dt.date:
        return self.monday + dt.timedelta(days=7)

    @property
    def is_empty(self) -> bool:
        return not self.rows


# week_grid's queries. Unordered where the order does not matter: the models' default ordering (by space,
# so by community name) would join two tables.
_OPENING_HOURS = CompiledRows(
    OpeningHours,
    lambda space: (
        OpeningHours.objects.filter(space=space).order_by().values_list("weekday", "opens", "closes")
    ),
)
_CLOSED_DATES = CompiledRows(
    ClosedDate,
    lambda space, first, last: (
        ClosedDate.objects.filter(space=space, date__gte=first, date__lte=last).order_by().values_list("date")
    ),
)
_WEEK_BOOKINGS = CompiledList(
    Booking,
    lambda space, start, end: (
        Booking.objects.filter(
            space=space, status__in=ACTIVE_BOOKING_STATES, starts_at__lt=end, ends_at__gt=start
        )
        .select_related("course", "resident")
        .order_by("starts_at", "pk")
    ),
)


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def week_grid(space: Space, *, monday: dt.date, user, staff: bool, now: dt.datetime) -> WeekGrid:
    """Mon–Sun × the space's time slots, each cell free / taken / past / closed / later.

    Three queries whatever the number of bookings: opening hours, closed dates, the week's bookings (each
    compiled once per process: community.lib.compiled)."""
    step = space.slot_minutes
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    hours: dict[int, list[tuple[int, int]]] = {}
    for weekday, opens, closes in _OPENING_HOURS(space.pk):
        hours.setdefault(weekday, []).append((_minutes(opens), _minutes(closes)))
    closed = {date for (date,) in _CLOSED_DATES(space.pk, days[0], days[-1])}
    week_start = timezone.make_aware(dt.datetime.combine(days[0], dt.time()))
    week_end = week_start + dt.timedelta(days=7)
    bookings = _WEEK_BOOKINGS(space.pk, week_start, week_end)

    # The slots (minutes after midnight) open on each weekday, once, not per cell.
    open_slots = {
        weekday: {
            minute
            for minute in range(0, 24 * 60 - step + 1, step)
            if any(opens <= minute and minute + step <= closes for opens, closes in hours.get(weekday, ()))
        }
        for weekday in range(7)
    }
    # Rows: the union over the week of the slots that are open on at least one day.
    row_minutes = sorted(set().union(*open_slots.values()))
    # The user's own bookings are those of the resident behind the login. Resident.user is one-to-one, so
    # the bookings' select_related resident tells, without own_resident()'s query (staff seldom have one).
    user_id = user.pk if user.is_authenticated else None
    horizon = now + dt.timedelta(days=space.horizon_days)
    # make_aware(naive) is naive.replace(tzinfo=zone): the same wall-clock time, correct in any zone,
    # built directly for each of the ~170 cells. Times are compared in UTC, as Python compares datetimes
    # of two zones, but without working out the zone's offset again in every comparison.
    zone = timezone.get_current_timezone()
    now_utc, horizon_utc = now.astimezone(dt.UTC), horizon.astimezone(dt.UTC)
    spans = [(b.starts_at.astimezone(dt.UTC), b.ends_at.astimezone(dt.UTC), b) for b in bookings]
    slot = dt.timedelta(minutes=step)
    labels: dict[int, tuple[str, bool]] = {}

    def label_for(booking: Booking) -> tuple[str, bool]:
        own = (
            booking.kind == BookingKind.BOOKING
            and user_id is not None
            and booking.resident is not None
            and booking.resident.user_id == user_id
        )
        if booking.kind == BookingKind.BOOKING and staff and booking.resident is not None:
            return booking.resident.name, own  # staff may see who booked
        if own:
            return _("Your booking"), True
        return public_label(booking), False

    rows = [Row(time=dt.time(m // 60, m % 60), cells=[]) for m in row_minutes]
    for day in days:
        seen: set[int] = set()
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
        day_start, day_end = midnight.astimezone(dt.UTC), (midnight + dt.timedelta(days=1)).astimezone(dt.UTC)
        # Each cell looks only at the day's bookings, not the week's.
        todays = [(starts, ends, b) for starts, ends, b in spans if starts < day_end and ends > day_start]
        opens = () if day in closed else open_slots[day.weekday()]
        for row, minute in zip(rows, row_minutes, strict=True):
            start = dt.datetime.combine(day, row.time, tzinfo=zone)
            start_utc = start.astimezone(dt.UTC)
            holder = None
            if todays:
                end_utc = (start + slot).astimezone(dt.UTC)  # wall-clock step, as the grid's rows
                holder = next(
                    (b for starts, ends, b in todays if starts < end_utc and ends > start_utc), None
                )
            if holder is not None:
                if holder.pk not in labels:
                    labels[holder.pk] = label_for(holder)
                label, own = labels[holder.pk]
                cell = Cell(
                    start,
                    "taken",
                    label=label,
                    first=holder.pk not in seen,
                    own=own,
                    pending=holder.status == BookingStatus.PENDING and (staff or own),
                )
                seen.add(holder.pk)
            elif minute not in opens:
                cell = Cell(start, "closed")
            elif start_utc < now_utc:
                cell = Cell(start, "past")
            elif not staff and start_utc > horizon_utc:
                cell = Cell(start, "later")
            else:
                cell = Cell(start, "free")
            row.cells.append(cell)
    for booking in bookings:
        booking.can_cancel = booking.status in CANCELLABLE and booking.ends_at > now
    return WeekGrid(monday=monday, days=days, rows=rows, bookings=bookings, today=timezone.localdate(now))


def _duration_label(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return ngettext("%(m)d min", "%(m)d min", rest) % {"m": rest}
    if not rest:
        return ngettext("%(h)d h", "%(h)d h", hours) % {"h": hours}
    return _("%(h)d h %(m)d min") % {"h": hours, "m": rest}


def end_choices(space: Space, start: dt.datetime | None) -> list[tuple[str, str]]:
    """The end times to offer for a start: the space's grid from its shortest to its longest booking,
    stopping at closing time and at the next booking (one query). Without a start: nothing."""
    if start is None:
        return []
    local = timezone.localtime(start)
    step = space.slot_minutes
    first = -(-space.min_minutes // step) * step  # the shortest length on the grid
    ((closing, following),) = _END_BOUNDS[local.weekday()](space.pk, local.time(), start)
    limit = timezone.make_aware(dt.datetime.combine(local.date(), closing)) if closing else None
    if following is not None and (limit is None or following < limit):
        limit = following

    def build(until: dt.datetime | None) -> list[tuple[str, str]]:
        choices = []
        for minutes in range(first, space.max_minutes + 1, step):
            end = local + dt.timedelta(minutes=minutes)
            if until is not None and end > until:
                break
            label = _("%(time)s (%(duration)s)") % {
                "time": timezone.localtime(end).strftime("%H:%M"),
                "duration": _duration_label(minutes),
            }
            choices.append((local_input(end), label))
        return choices

    # A start in closed or taken time offers the plain grid; the booking rules then say what is wrong.
    return build(limit) or build(None)


def _end_bounds(weekday: int, space: int, at: dt.time, start: dt.datetime) -> QuerySet[Space]:
    """The closing time of the opening hours around a start, and the next booking after it."""
    closes = (
        OpeningHours.objects.filter(space=OuterRef("pk"), weekday=weekday, opens__lte=at, closes__gt=at)
        .order_by("-closes")
        .values("closes")[:1]
    )
    following = (
        Booking.objects.filter(space=OuterRef("pk"), status__in=ACTIVE_BOOKING_STATES, starts_at__gt=start)
        .order_by("starts_at")
        .values("starts_at")[:1]
    )
    return (
        Space.objects.filter(pk=space)
        .annotate(closes=Subquery(closes), following=Subquery(following))
        .values_list("closes", "following")
    )


# end_choices' one query, compiled once per process for each weekday: the weekday cannot be a key, being a
# small integer column whose range the stand-in keys are beyond (community.lib.compiled).
_END_BOUNDS = {weekday: CompiledRows(Space, functools.partial(_end_bounds, weekday)) for weekday in range(7)}


def residents_for_booking(space: Space) -> QuerySet[Resident]:
    """Whom staff may book for: the residents (and enterprise employees) of the space's community,
    not erased. Staff find them with the resident lookup; the form validates a picked id against this."""
    return (
        Resident.objects.filter(community_id=space.community_id, erased_at__isnull=True)
        .select_related("household__building", "employer")
        .order_by("name_pinyin", "pk")
    )


# --- Bookings ----------------------------------------------------------------------------------


def own_bookings(user) -> QuerySet[Booking]:
    """A resident's own bookings (the ones made for them, by themselves or by staff)."""
    resident = own_resident(user)
    if resident is None:
        return Booking.objects.none()
    return Booking.objects.filter(resident=resident, kind=BookingKind.BOOKING).select_related("space")


def mark_cancellable(bookings, now: dt.datetime) -> list[Booking]:
    bookings = list(bookings)
    for booking in bookings:
        booking.can_cancel = booking.status in CANCELLABLE and booking.starts_at > now
    return bookings


def get_booking_for_cancel(user, pk: int) -> Booking:
    """Staff reach the bookings of their communities; a resident only their own; others 404."""
    booking = None
    if user.is_authenticated and user.has_perm("stations.view_booking"):
        booking = (
            Booking.objects.filter(pk=pk, space__community__in=communities_visible_to(user))
            .select_related("space")
            .first()
        )
    resident = own_resident(user)
    if booking is None and resident is not None:
        booking = Booking.objects.filter(pk=pk, resident=resident).select_related("space").first()
    if booking is None:
        raise Http404
    return booking


# --- Courses -----------------------------------------------------------------------------------


def _waiting_position() -> Coalesce:
    """1 + the people ahead on the same course's waiting list (created earlier, then lower pk)."""
    ahead = (
        Enrolment.objects.filter(course=OuterRef("course"), status=EnrolmentStatus.WAITLISTED)
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
        )
        .order_by()
        .values("course")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(ahead, output_field=IntegerField()), Value(0)) + 1


def courses_visible_to(user, *, now: dt.datetime | None = None) -> QuerySet[Course]:
    """Courses of the user's communities with places left, waiting-list length and the upcoming
    sessions, all in constant queries; for a resident also their own current enrolment status."""
    now = now or timezone.now()
    if is_space_staff(user):
        courses = Course.objects.filter(community__in=communities_visible_to(user))
        resident = None
    else:
        resident = own_resident(user)
        if resident is None or not user.is_active:
            return Course.objects.none()
        courses = Course.objects.filter(community_id=resident.community_id)
    enrolled = count_subquery(Enrolment.objects.filter(status=EnrolmentStatus.ENROLLED), "course")
    waiting = count_subquery(Enrolment.objects.filter(status=EnrolmentStatus.WAITLISTED), "course")
    courses = courses.select_related("space", "community").annotate(
        enrolled_count=enrolled,
        waiting_count=waiting,
        places_left=Greatest(F("capacity") - F("enrolled_count"), Value(0), output_field=IntegerField()),
    )
    if resident is not None:
        mine = Enrolment.objects.filter(course=OuterRef("pk"), resident=resident).exclude(
            status=EnrolmentStatus.LEFT
        )
        courses = courses.annotate(my_status=Subquery(mine.values("status")[:1]))
    sessions = Booking.objects.filter(
        kind=BookingKind.COURSE, status__in=ACTIVE_BOOKING_STATES, ends_at__gt=now
    ).order_by("starts_at", "pk")
    return courses.prefetch_related(Prefetch("sessions", queryset=sessions, to_attr="upcoming_sessions"))


def course_list(user) -> QuerySet[Course]:
    """Open courses; plus, for a resident, closed ones they still hold a place in."""
    courses = courses_visible_to(user)
    if is_space_staff(user):
        return courses.order_by("-is_active", "title", "pk")
    resident = own_resident(user)
    mine = Enrolment.objects.filter(course=OuterRef("pk"), resident=resident).exclude(
        status=EnrolmentStatus.LEFT
    )
    return courses.filter(Q(is_active=True) | Exists(mine)).order_by("-is_active", "title", "pk")


def get_course_for(user, pk: int) -> Course:
    course = courses_visible_to(user).filter(pk=pk).first()
    if course is None:
        raise Http404
    return course


def current_enrolment(user, course: Course) -> Enrolment | None:
    """The user's own place (or waiting-list entry) in the course, with its waiting-list position."""
    resident = own_resident(user)
    if resident is None:
        return None
    return (
        Enrolment.objects.filter(course=course, resident=resident)
        .exclude(status=EnrolmentStatus.LEFT)
        .annotate(position=_waiting_position())
        .first()
    )


def course_participants(course: Course) -> QuerySet[Enrolment]:
    """For staff: who holds a place and who is waiting, in waiting-list order."""
    return (
        Enrolment.objects.filter(course=course)
        .exclude(status=EnrolmentStatus.LEFT)
        .select_related("resident__household__building", "resident__employer")
        .order_by("created_at", "pk")
    )


def own_enrolments(user) -> QuerySet[Enrolment]:
    """A resident's current places and waiting-list entries, with their waiting-list position."""
    resident = own_resident(user)
    if resident is None:
        return Enrolment.objects.none()
    return (
        Enrolment.objects.filter(resident=resident)
        .exclude(status=EnrolmentStatus.LEFT)
        .select_related("course", "course__space")
        .annotate(position=_waiting_position())
        .order_by("course__title", "pk")
    )
