"""Writes about spaces and courses: bookings (single and weekly series), approval, cancellation,
check-in, blocks, enrolment with a waiting list. Each is one transaction.

Double booking is impossible twice over: the space row is locked while a booking is checked and
saved (so concurrent attempts queue up and the later ones see the slot taken), and on PostgreSQL
the exclusion constraint `booking_no_overlap` refuses any overlap whatever path wrote it."""

import datetime as dt
import functools
import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import DurationField, Exists, F, OuterRef, Subquery, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from community.lib.compiled import CompiledRows
from community.lib.submissions import earlier_submission, earlier_submissions, submission_keys
from community.lib.validators import clean_text
from residents.models import Resident
from stations.choices import (
    ACTIVE_BOOKING_STATES,
    BookingKind,
    BookingStatus,
)
from stations.models import (
    Booking,
    BookingSeries,
    ClosedDate,
    Course,
    OpeningHours,
    Space,
)

STAFF_PERMISSION = "stations.change_booking"  # approve, check in, block, book on behalf


def _taken_error(*, own: bool = False, staff: bool = False) -> ValidationError:
    """The slot is held. `own`: by a booking of the same person (a second tab, a forgotten booking), which
    they — or the staff booking for them — are told instead of being sent to look for another time."""
    if own and staff:
        return ValidationError(_("This person already has a booking here at this time."), code="taken")
    if own:
        return ValidationError(
            _("You already have a booking here at this time. You can find it under My bookings."),
            code="taken",
        )
    return ValidationError(_("This time was just taken. Please pick another time."), code="taken")


def is_staff_for(actor, space: Space) -> bool:
    """May the actor act as staff on this space (book on behalf, approve, check in, block)?

    Remembered on the user object, which lives for one request: the view and then the service ask
    the same question, and the second answer costs no query."""
    from residents.selectors import sees_community

    answers = actor.__dict__.setdefault("_space_staff_for", {})
    if space.community_id not in answers:
        answers[space.community_id] = actor.has_perm(STAFF_PERMISSION) and sees_community(
            actor, space.community_id
        )
    return answers[space.community_id]


def local_time(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value)


def _same_day(starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
    """Within one local day (an end at the following midnight counts as the same day)."""
    start, end = local_time(starts_at), local_time(ends_at)
    return start.date() == end.date() or (
        end.time() == dt.time(0) and end.date() == start.date() + dt.timedelta(1)
    )


def _overlapping(
    space: Space | int, starts_at: dt.datetime, ends_at: dt.datetime, exclude_pk: int | None = None
):
    qs = Booking.objects.filter(
        space=space, status__in=ACTIVE_BOOKING_STATES, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    return qs.exclude(pk=exclude_pk) if exclude_pk else qs


def week_bounds(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 to next Monday 00:00 (local) of the week containing `moment`."""
    local = local_time(moment)
    monday = (local - dt.timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday, monday + dt.timedelta(days=7)


def _week_bookings(space, resident, start: dt.datetime, end: dt.datetime):
    """The resident's active bookings of the space starting in the week from `start` to `end`."""
    return Booking.objects.filter(
        space=space,
        resident=resident,
        kind=BookingKind.BOOKING,
        status__in=ACTIVE_BOOKING_STATES,
        starts_at__gte=start,
        starts_at__lt=end,
    )


@dataclass(frozen=True)
class SlotFacts:
    """What the booking rules need to know from the database about one slot, read in one query."""

    opening_hours_hold_it: bool  # an opening interval of that weekday holds the whole slot
    closed_that_day: bool  # the date is one of the space's closed dates
    taken: bool  # an active booking overlaps it
    taken_by_resident: bool  # ... and one of them is the resident's own
    week_minutes: int  # minutes the resident already holds in this space that week


def slot_facts(
    space: Space,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    resident: Resident | None = None,
) -> SlotFacts:
    """Opening hours, closed dates, overlaps and the weekly quota's usage of one slot: one query
    (four subqueries on the space row) instead of four round trips. Call it after locking the space
    so that `taken` sees every booking committed before the lock was granted."""
    start, end = local_time(starts_at), local_time(ends_at)
    end_time = end.time() if end.date() == start.date() else dt.time(23, 59, 59, 999999)
    keys = [space.pk, start.time(), end_time, start.date(), starts_at, ends_at]
    if resident is not None:
        keys += [resident.pk, *week_bounds(starts_at)]
    # Compiled once per process for each weekday and shape (community.lib.compiled): building this query
    # through the ORM was a quarter of a booking's CPU.
    ((hours_hold, closed_day, taken, own, used),) = _SLOT_FACTS[start.weekday(), resident is not None](*keys)
    return SlotFacts(
        opening_hours_hold_it=hours_hold,
        closed_that_day=closed_day,
        taken=taken,
        taken_by_resident=bool(own),
        week_minutes=int(used.total_seconds() // 60) if used else 0,
    )


def _slot_facts_of(weekday: int, with_resident: bool, space: int, opens, closes, day, *keys):
    """slot_facts()'s query from its keys: the slot's start time and end time (for the opening hours), its
    day, its start and end, then the resident and their week's bounds."""
    starts_at, ends_at, *rest = keys
    opening = OpeningHours.objects.filter(
        space=OuterRef("pk"), weekday=weekday, opens__lte=opens, closes__gte=closes
    )
    closed = ClosedDate.objects.filter(space=OuterRef("pk"), date=day)
    overlapping = _overlapping(space, starts_at, ends_at)
    if with_resident:
        resident, week_start, week_end = rest[:3]
        own = Exists(overlapping.filter(resident=resident))
        used = Subquery(
            _week_bookings(space, resident, week_start, week_end)
            .order_by()
            .values("space")
            .annotate(total=Sum(F("ends_at") - F("starts_at")))
            .values("total"),
            output_field=DurationField(),
        )
    else:
        own = Value(False)
        used = Value(None, output_field=DurationField())
    return (
        Space.objects.filter(pk=space)
        .annotate(
            hours_hold=Exists(opening),
            closed_day=Exists(closed),
            taken=Exists(overlapping),
            own=own,
            used=used,
        )
        .values_list("hours_hold", "closed_day", "taken", "own", "used")
    )


_SLOT_FACTS = {
    (weekday, with_resident): CompiledRows(Space, functools.partial(_slot_facts_of, weekday, with_resident))
    for weekday in range(7)
    for with_resident in (False, True)
}


def audience_allows(place: Space | Course, resident: Resident) -> bool:
    """Enterprise staff are people registered through their employer without a home here."""
    is_employee = resident.employer_id is not None and resident.household_id is None
    return place.open_to_enterprise_staff if is_employee else place.open_to_residents


@dataclass
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime


def check_booking(
    *,
    actor,
    space: Space,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    resident: Resident | None,
    attendees: int,
    staff: bool,
    kind: str = BookingKind.BOOKING,
    extra_minutes_this_week: int = 0,
    check_horizon: bool = True,
    facts: SlotFacts | None = None,
) -> None:
    """The booking rules, without the overlap check (which happens under the lock). `facts` are the
    slot's database facts when the caller has read them already (see `slot_facts`)."""
    errors: dict[str, list[str]] = {}

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    now = timezone.now()
    if not space.is_active:
        error("space", _("This space cannot be booked at the moment."))
    if ends_at <= starts_at:
        error("ends_at", _("The end must be after the start."))
    elif kind == BookingKind.BOOKING:
        minutes = int((ends_at - starts_at).total_seconds() // 60)
        if starts_at < now:
            error("starts_at", _("This time has already passed."))
        if check_horizon and not staff and starts_at > now + dt.timedelta(days=space.horizon_days):
            error(
                "starts_at",
                _("This space can be booked at most %(days)d days ahead.") % {"days": space.horizon_days},
            )
        if minutes < space.min_minutes:
            error("ends_at", _("A booking lasts at least %(min)d minutes.") % {"min": space.min_minutes})
        if minutes > space.max_minutes:
            error("ends_at", _("A booking lasts at most %(max)d minutes.") % {"max": space.max_minutes})
        local = local_time(starts_at)
        if (local.hour * 60 + local.minute) % space.slot_minutes or minutes % space.slot_minutes:
            error("starts_at", _("Bookings follow a %(n)d-minute grid.") % {"n": space.slot_minutes})
        if facts is None:
            facts = slot_facts(space, starts_at, ends_at, resident)
        if not _same_day(starts_at, ends_at) or facts.closed_that_day or not facts.opening_hours_hold_it:
            error("starts_at", _("The space is not open at this time."))
        if attendees < 1 or attendees > space.capacity:
            error("attendees", _("This space holds at most %(n)d people.") % {"n": space.capacity})
        if resident is None:
            error("resident", _("Say who the booking is for."))
        elif resident.community_id != space.community_id:
            error("resident", _("This person is not registered in this community."))
        elif not staff and not audience_allows(space, resident):
            error("space", _("This space is not open to you for booking."))
        if resident is not None and space.weekly_quota_hours and not errors:
            used = facts.week_minutes + extra_minutes_this_week
            if used + minutes > space.weekly_quota_hours * 60:
                error(
                    "ends_at",
                    _("This would exceed %(hours)d hours in this space this week.")
                    % {"hours": space.weekly_quota_hours},
                )
    if errors:
        raise ValidationError(errors)


def save_booking(booking: Booking, *, taken: bool | None = None, savepoint: bool = True) -> Booking:
    """Save a booking the caller has checked under the space lock. `taken`: the overlap check's answer
    if the caller has it already (slot_facts). Without a savepoint the caller's own transaction is
    the unit that an IntegrityError rolls back (a caller that carries on after a refusal needs one)."""
    if taken is None:
        taken = _overlapping(booking.space, booking.starts_at, booking.ends_at, booking.pk).exists()
    if taken:
        raise _taken_error()
    try:
        with transaction.atomic(savepoint=savepoint):
            booking.save()
    except IntegrityError as exc:
        # PostgreSQL's exclusion constraint caught an overlap the lock did not (e.g. a write from
        # elsewhere), or a submission key was used again.
        if "booking_no_overlap" in str(exc):
            raise _taken_error() from None
        if "submission_key" in str(exc):
            raise ValidationError(
                _("This form has expired. Please fill it in again."), code="expired"
            ) from None
        raise
    return booking


def booking_create(
    *,
    actor,
    space: Space,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    resident: Resident | None,
    purpose: str = "",
    attendees: int = 1,
    submission_key: uuid.UUID | None = None,
) -> tuple[Booking, bool]:
    """Book a slot for a resident (or enterprise employee). Staff may book on someone's behalf and
    skip approval; residents book for themselves. Returns (booking, created).

    Four queries when it books: the space lock, the slot's facts, the row and its history row (the
    staff check is remembered from the view). The submission key is looked up only when it is refused:
    a double tap's second request waits for the lock, then finds the slot held by its own first
    booking, which it returns instead of "taken".

    A refusal (slot taken, quota full, closed) commits the transaction, which only read under the space
    lock, and is raised after it: a rollback would make psycopg forget the connection's prepared
    statements (community.lib.database), and a busy room is refused often."""
    staff = is_staff_for(actor, space)
    if not staff:
        own = getattr(actor, "resident", None) if actor.is_authenticated else None
        if own is None or resident is None or own.pk != resident.pk:
            raise PermissionDenied(_("You can only book for yourself."))
    purpose = clean_text(purpose, max_length=200)
    with transaction.atomic():
        locked = Space.objects.select_for_update().get(pk=space.pk)  # one booking check at a time per space
        try:
            facts = slot_facts(locked, starts_at, ends_at, resident)
            check_booking(
                actor=actor,
                space=locked,
                starts_at=starts_at,
                ends_at=ends_at,
                resident=resident,
                attendees=attendees,
                staff=staff,
                facts=facts,
            )
            if facts.taken:
                raise _taken_error(own=facts.taken_by_resident, staff=staff)
        except ValidationError as exc:
            if submission_key is not None:
                existing = Booking.objects.filter(submission_key=submission_key).first()
                if existing is not None:
                    return existing, False
            refusal = exc
        else:
            status = (
                BookingStatus.PENDING if locked.requires_approval and not staff else BookingStatus.CONFIRMED
            )
            booking = Booking(
                space=locked,
                kind=BookingKind.BOOKING,
                status=status,
                starts_at=starts_at,
                ends_at=ends_at,
                resident=resident,
                booked_by=actor,
                purpose=purpose,
                attendees=attendees,
                submission_key=submission_key,
            )
            # No savepoint: this transaction is what a refused INSERT rolls back.
            return save_booking(booking, taken=False, savepoint=False), True
    raise refusal


def series_slots(starts_at: dt.datetime, ends_at: dt.datetime, weeks: int) -> list[Slot]:
    # Weekly in local time, so a series keeps its wall-clock time.
    start, end = local_time(starts_at), local_time(ends_at)
    return [Slot(start + dt.timedelta(weeks=i), end + dt.timedelta(weeks=i)) for i in range(weeks)]


def series_preview(*, space: Space, starts_at: dt.datetime, ends_at: dt.datetime, weeks: int) -> list[dict]:
    """Each date of a weekly series with whether it clashes with an existing booking (one query)."""
    slots = series_slots(starts_at, ends_at, weeks)
    taken = list(
        Booking.objects.filter(
            space=space,
            status__in=ACTIVE_BOOKING_STATES,
            starts_at__lt=slots[-1].ends_at,
            ends_at__gt=slots[0].starts_at,
        ).values_list("starts_at", "ends_at")
    )
    closed = set(space.closed_dates.values_list("date", flat=True))
    return [
        {
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "clash": any(s < slot.ends_at and e > slot.starts_at for s, e in taken)
            or slot.starts_at.date() in closed,
        }
        for slot in slots
    ]


@transaction.atomic
def booking_series_create(
    *,
    actor,
    space: Space,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    weeks: int,
    resident: Resident | None,
    purpose: str = "",
    attendees: int = 1,
    skip_clashes: bool = False,
    submission_key: uuid.UUID | None = None,
) -> tuple[BookingSeries, list[Booking], list[dt.datetime]]:
    """A weekly series, all or nothing — or without the clashing dates when `skip_clashes`.
    Returns (series, bookings made, start times skipped).

    With the form's submission_key, a second submit of the same form (looked up under the space lock)
    returns the series the first one made, instead of finding every date held by it: each booking has
    its own key, derived from the form's."""
    if not 2 <= weeks <= 26:
        raise ValidationError({"weeks": _("A series has 2 to 26 weeks.")})
    staff = is_staff_for(actor, space)
    own = getattr(actor, "resident", None) if actor.is_authenticated else None
    if not staff and (own is None or resident is None or own.pk != resident.pk):
        raise PermissionDenied(_("You can only book for yourself."))
    locked = Space.objects.select_for_update().get(pk=space.pk)
    slots, keys = series_slots(starts_at, ends_at, weeks), submission_keys(submission_key, weeks)
    if earlier := earlier_submissions(Booking, keys, space.community_id, via="space"):
        earlier.sort(key=lambda booking: booking.starts_at)
        made_at = {booking.starts_at for booking in earlier}
        skipped = [slot.starts_at for slot in slots if slot.starts_at not in made_at]
        return earlier[0].series, earlier, skipped
    series = BookingSeries.objects.create(space=locked, created_by=actor, weeks=weeks)
    made, skipped = [], []
    week_minutes: dict[dt.date, int] = {}
    for index, (slot, key) in enumerate(zip(slots, keys, strict=True)):
        try:
            week = week_bounds(slot.starts_at)[0].date()
            facts = slot_facts(locked, slot.starts_at, slot.ends_at, resident)
            check_booking(
                actor=actor,
                space=locked,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                resident=resident,
                attendees=attendees,
                staff=staff,
                extra_minutes_this_week=week_minutes.get(week, 0),
                check_horizon=index == 0,  # a series reaches past the horizon by design
                facts=facts,
            )
            booking = save_booking(
                Booking(
                    space=locked,
                    series=series,
                    status=BookingStatus.PENDING
                    if locked.requires_approval and not staff
                    else BookingStatus.CONFIRMED,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    resident=resident,
                    booked_by=actor,
                    purpose=clean_text(purpose, max_length=200),
                    attendees=attendees,
                    submission_key=key,
                ),
                taken=facts.taken,
            )
        except ValidationError as exc:
            if not skip_clashes:
                transaction.set_rollback(True)
                raise ValidationError(
                    _("%(date)s cannot be booked: %(reason)s")
                    % {
                        "date": local_time(slot.starts_at).strftime("%Y-%m-%d"),
                        "reason": " ".join(exc.messages),
                    },
                    code="series_clash",
                ) from None
            skipped.append(slot.starts_at)
            continue
        week_minutes[week] = week_minutes.get(week, 0) + int(
            (slot.ends_at - slot.starts_at).total_seconds() // 60
        )
        made.append(booking)
    if not made:
        transaction.set_rollback(True)
        raise ValidationError(_("None of these dates can be booked."), code="series_empty")
    return series, made, skipped


def lock_booking(booking: Booking) -> Booking:
    return Booking.objects.select_for_update(of=("self",)).select_related("space").get(pk=booking.pk)


@transaction.atomic
def booking_cancel(*, actor, booking: Booking) -> Booking:
    locked = lock_booking(booking)
    own = getattr(actor, "resident", None) if actor.is_authenticated else None
    if not (is_staff_for(actor, locked.space) or (own is not None and locked.resident_id == own.pk)):
        raise PermissionDenied
    if locked.status not in {BookingStatus.PENDING, BookingStatus.CONFIRMED}:
        raise ValidationError(
            _("Only a pending or confirmed booking can be cancelled."), code="not_cancellable"
        )
    if locked.ends_at <= timezone.now():
        raise ValidationError(_("This booking is already over."), code="over")
    locked.status = BookingStatus.CANCELLED
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def booking_decide(*, actor, booking: Booking, approve: bool) -> Booking:
    locked = lock_booking(booking)
    if not is_staff_for(actor, locked.space):
        raise PermissionDenied
    if locked.status != BookingStatus.PENDING:
        raise ValidationError(_("This booking has already been decided."), code="decided")
    locked.status = BookingStatus.CONFIRMED if approve else BookingStatus.REJECTED
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    return locked


@transaction.atomic
def booking_check_in(*, actor, booking: Booking, present: bool = True) -> Booking:
    """Staff mark a booking as used (checked in) or as a no-show, from 30 minutes before its start."""
    locked = lock_booking(booking)
    if not is_staff_for(actor, locked.space):
        raise PermissionDenied
    if locked.status not in {BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW}:
        raise ValidationError(_("Only a confirmed booking can be checked in."), code="not_confirmed")
    if timezone.now() < locked.starts_at - dt.timedelta(minutes=30):
        raise ValidationError(_("Check-in opens 30 minutes before the start."), code="too_early")
    locked.status = BookingStatus.CHECKED_IN if present else BookingStatus.NO_SHOW
    locked.checked_in_at = timezone.now() if present else None
    locked.save(update_fields=["status", "checked_in_at", "updated_at"])
    return locked


@transaction.atomic
def space_block(
    *,
    actor,
    space: Space,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
    submission_key: uuid.UUID | None = None,
) -> Booking:
    """Block a space (maintenance, a community event). Existing bookings in the way are listed, not
    silently cancelled: staff cancel them first, telling the people concerned. With the form's
    submission_key, a second submit of the same form returns the block the first one made (looked up
    under the space lock), instead of finding the time held by it."""
    if not is_staff_for(actor, space):
        raise PermissionDenied
    locked = Space.objects.select_for_update().get(pk=space.pk)
    if (earlier := earlier_submission(Booking, submission_key, space.community_id, via="space")) is not None:
        return earlier
    reason = clean_text(reason, max_length=200)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    if not reason:
        raise ValidationError({"purpose": _("Say why the space is blocked.")})
    clashes = list(_overlapping(locked, starts_at, ends_at).order_by("starts_at")[:5])
    if clashes:
        listed = ", ".join(local_time(b.starts_at).strftime("%m-%d %H:%M") for b in clashes)
        raise ValidationError(
            _("Bookings already hold part of this time (%(list)s). Cancel them first.") % {"list": listed},
            code="blocked_by_bookings",
        )
    return save_booking(
        Booking(
            space=locked,
            kind=BookingKind.BLOCK,
            status=BookingStatus.CONFIRMED,
            starts_at=starts_at,
            ends_at=ends_at,
            booked_by=actor,
            purpose=reason,
            submission_key=submission_key,
        )
    )
