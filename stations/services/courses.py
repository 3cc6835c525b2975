"""Writes about courses: sessions (which hold the course's space like any booking), enrolment with a
waiting list promoted in the same transaction, leaving, attendance. Each is one transaction."""

import datetime as dt
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from community.lib.submissions import earlier_submission, earlier_submissions, save_once, submission_keys
from community.lib.validators import clean_text
from residents.models import Resident
from stations.choices import (
    AttendanceStatus,
    BookingKind,
    BookingStatus,
    EnrolmentStatus,
)
from stations.models import Attendance, Booking, Course, Enrolment, Space
from stations.services.spaces import (
    audience_allows,
    is_staff_for,
    local_time,
    lock_booking,
    save_booking,
    series_slots,
)


@transaction.atomic
def course_session_add(
    *,
    actor,
    course: Course,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    submission_key: uuid.UUID | None = None,
) -> Booking:
    """A course session holds the course's space like any booking (and clashes like one)."""
    if not is_staff_for(actor, course.space):
        raise PermissionDenied
    locked = Space.objects.select_for_update().get(pk=course.space_id)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    return save_booking(
        Booking(
            space=locked,
            kind=BookingKind.COURSE,
            course=course,
            status=BookingStatus.CONFIRMED,
            starts_at=starts_at,
            ends_at=ends_at,
            booked_by=actor,
            purpose=course.title,
            attendees=course.capacity,
            submission_key=submission_key,
        )
    )


def _may_enrol(actor, course: Course, resident: Resident) -> None:
    own = getattr(actor, "resident", None) if actor.is_authenticated else None
    staff = is_staff_for(actor, course.space)
    if not staff and (own is None or own.pk != resident.pk):
        raise PermissionDenied(_("You can only enrol yourself."))
    if resident.community_id != course.community_id:
        raise ValidationError(_("This person is not registered in this community."), code="other_community")
    if not staff and not audience_allows(course, resident):
        raise ValidationError(_("This course is not open to you."), code="not_open")


@transaction.atomic
def enrol(*, actor, course: Course, resident: Resident) -> Enrolment:
    """Take a place, or the next place on the waiting list when the course is full."""
    locked = Course.objects.select_for_update().get(pk=course.pk)
    if not locked.is_active:
        raise ValidationError(_("This course is not open for enrolment."), code="closed")
    _may_enrol(actor, locked, resident)
    current = (
        Enrolment.objects.filter(course=locked, resident=resident)
        .exclude(status=EnrolmentStatus.LEFT)
        .first()
    )
    if current is not None:
        return current
    taken = Enrolment.objects.filter(course=locked, status=EnrolmentStatus.ENROLLED).count()
    status = EnrolmentStatus.ENROLLED if taken < locked.capacity else EnrolmentStatus.WAITLISTED
    return Enrolment.objects.create(course=locked, resident=resident, status=status, enrolled_by=actor)


@transaction.atomic
def enrolment_leave(*, actor, enrolment: Enrolment) -> Enrolment | None:
    """Leave a course (or its waiting list). A freed place goes to the first person waiting, in the
    same transaction, so it goes to exactly one person. Returns the promoted enrolment, if any."""
    course = Course.objects.select_for_update().get(pk=enrolment.course_id)
    locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk, course=course)
    own = getattr(actor, "resident", None) if actor.is_authenticated else None
    if not (is_staff_for(actor, course.space) or (own is not None and own.pk == locked.resident_id)):
        raise PermissionDenied
    if locked.status == EnrolmentStatus.LEFT:
        return None
    freed = locked.status == EnrolmentStatus.ENROLLED
    locked.status, locked.left_at = EnrolmentStatus.LEFT, timezone.now()
    locked.save(update_fields=["status", "left_at"])
    if not freed:
        return None
    taken = Enrolment.objects.filter(course=course, status=EnrolmentStatus.ENROLLED).count()
    if taken >= course.capacity:
        return None
    first = (
        Enrolment.objects.select_for_update()
        .filter(course=course, status=EnrolmentStatus.WAITLISTED)
        .order_by("created_at", "pk")
        .first()
    )
    if first is None:
        return None
    first.status, first.promoted_at = EnrolmentStatus.ENROLLED, timezone.now()
    first.save(update_fields=["status", "promoted_at"])
    return first


@transaction.atomic
def attendance_record(*, actor, session: Booking, resident: Resident, present: bool) -> Attendance:
    """Staff check a participant in at a course session (or mark them absent: a no-show)."""
    locked = lock_booking(session)
    if locked.kind != BookingKind.COURSE or not is_staff_for(actor, locked.space):
        raise PermissionDenied
    if not Enrolment.objects.filter(
        course_id=locked.course_id, resident=resident, status=EnrolmentStatus.ENROLLED
    ).exists():
        raise ValidationError(_("This person is not enrolled in the course."), code="not_enrolled")
    attendance, _created = Attendance.objects.update_or_create(
        session=locked,
        resident=resident,
        defaults={
            "status": AttendanceStatus.PRESENT if present else AttendanceStatus.ABSENT,
            "recorded_by": actor,
        },
    )
    return attendance


COURSE_PERMISSION = "stations.add_course"  # committee heads set up courses
SESSION_PERMISSION = "stations.change_course"  # staff add sessions


@transaction.atomic
def course_create(
    *,
    actor,
    space: Space,
    title: str,
    capacity: int,
    description: str = "",
    teacher: str = "",
    open_to_residents: bool = True,
    open_to_enterprise_staff: bool = True,
    submission_key: uuid.UUID | None = None,
) -> Course:
    """A course of the space's community; it holds no time until sessions are added. With the form's
    submission_key, a second submit of the same form returns the course the first one set up."""
    if not (actor.has_perm(COURSE_PERMISSION) and is_staff_for(actor, space)):
        raise PermissionDenied
    if (earlier := earlier_submission(Course, submission_key, space.community_id)) is not None:
        return earlier
    title = clean_text(title, max_length=80)
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the course a title.")]
    if not space.is_active:
        errors["space"] = [_("This space cannot be booked at the moment.")]
    if capacity < 1 or capacity > space.capacity:
        errors["capacity"] = [_("This space holds at most %(n)d people.") % {"n": space.capacity}]
    if errors:
        raise ValidationError(errors)
    course = Course(
        community_id=space.community_id,
        space=space,
        title=title,
        description=clean_text(description, max_length=5000),
        teacher=clean_text(teacher, max_length=64),
        capacity=capacity,
        open_to_residents=open_to_residents,
        open_to_enterprise_staff=open_to_enterprise_staff,
        submission_key=submission_key,
    )
    return save_once(course, lambda: earlier_submission(Course, submission_key, space.community_id))[0]


@transaction.atomic
def course_sessions_add(
    *,
    actor,
    course: Course,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    weeks: int = 1,
    submission_key: uuid.UUID | None = None,
) -> list[Booking]:
    """One session, or the same slot `weeks` weeks running (wall-clock time), all or nothing: a
    clash on any date saves none of them and names that date. With the form's submission_key, a second
    submit of the same form returns the sessions the first one added (each session has its own key,
    derived from the form's); it waits for the space lock, so two at once are one after the other."""
    if not actor.has_perm(SESSION_PERMISSION):
        raise PermissionDenied
    if not 1 <= weeks <= 26:
        raise ValidationError({"weeks": _("A series has 1 to 26 weeks.")})
    if not is_staff_for(actor, course.space):
        raise PermissionDenied
    Space.objects.select_for_update().get(pk=course.space_id)
    keys = submission_keys(submission_key, weeks)
    if earlier := earlier_submissions(Booking, keys, course.community_id, via="space"):
        return sorted(earlier, key=lambda session: session.starts_at)
    made = []
    for slot, key in zip(series_slots(starts_at, ends_at, weeks), keys, strict=True):
        try:
            made.append(
                course_session_add(
                    actor=actor,
                    course=course,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    submission_key=key,
                )
            )
        except ValidationError as exc:
            transaction.set_rollback(True)
            raise ValidationError(
                _("%(date)s cannot be booked: %(reason)s")
                % {"date": local_time(slot.starts_at).strftime("%Y-%m-%d"), "reason": " ".join(exc.messages)},
                code="series_clash",
            ) from None
    return made
