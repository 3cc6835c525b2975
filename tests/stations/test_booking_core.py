"""Booking rules at the service level: overlap (also in PostgreSQL), opening hours, horizon, quota,
series, approval, waiting list."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stations.choices import BookingStatus, EnrolmentStatus
from stations.models import Booking, Course, OpeningHours, Space
from stations.services import courses
from stations.services import spaces as services
from tests import factories

pytestmark = pytest.mark.django_db


def at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def space(community_a):
    space = Space.objects.create(
        community=community_a, name="活动大厅", area_m2=200, capacity=30, weekly_quota_hours=3
    )
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=space, weekday=d, opens=dt.time(8), closes=dt.time(21)) for d in range(7)]
    )
    return space


def book(user, space, resident, start, end, **kw):
    return services.booking_create(
        actor=user, space=space, starts_at=start, ends_at=end, resident=resident, **kw
    )[0]


def test_overlap_rejected_adjacent_accepted(space, resident_user_a, resident_a, worker_a):
    book(resident_user_a, space, resident_a, at(1, 9), at(1, 10))
    other = factories.ResidentFactory(household=resident_a.household)
    with pytest.raises(ValidationError) as exc:
        book(worker_a.user, space, other, at(1, 9, 30), at(1, 10, 30))
    assert exc.value.code == "taken"
    back_to_back = book(worker_a.user, space, other, at(1, 10), at(1, 11))
    assert back_to_back.status == BookingStatus.CONFIRMED
    assert Booking.objects.count() == 2


def test_a_refusal_does_not_roll_back(space, resident_user_a, resident_a, worker_a):
    """The refused transaction only read under the space lock, so it ends with a commit (a release of
    the test's savepoint here): a rollback would make psycopg drop its prepared statements."""
    book(resident_user_a, space, resident_a, at(1, 9), at(1, 10))
    other = factories.ResidentFactory(household=resident_a.household)
    with CaptureQueriesContext(connection) as captured, pytest.raises(ValidationError) as exc:
        book(worker_a.user, space, other, at(1, 9, 30), at(1, 10, 30))
    assert exc.value.code == "taken"
    statements = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    assert "RELEASE" in statements
    assert "ROLLBACK" not in statements
    assert Booking.objects.count() == 1


def test_other_space_same_time_accepted(space, resident_user_a, resident_a, community_a):
    second = Space.objects.create(community=community_a, name="议事空间", area_m2=60, capacity=12)
    OpeningHours.objects.create(
        space=second, weekday=at(1, 9).weekday(), opens=dt.time(8), closes=dt.time(21)
    )
    book(resident_user_a, space, resident_a, at(1, 9), at(1, 10))
    book(resident_user_a, second, resident_a, at(1, 9), at(1, 10))
    assert Booking.objects.count() == 2


@pytest.mark.postgres
def test_database_refuses_overlap_written_around_the_service(space, resident_a, worker_a):
    Booking.objects.create(space=space, starts_at=at(2, 9), ends_at=at(2, 10), booked_by=worker_a.user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            space=space, starts_at=at(2, 9, 30), ends_at=at(2, 11), booked_by=worker_a.user
        )
    Booking.objects.create(space=space, starts_at=at(2, 10), ends_at=at(2, 11), booked_by=worker_a.user)
    cancelled = Booking.objects.create(
        space=space,
        starts_at=at(2, 12),
        ends_at=at(2, 13),
        booked_by=worker_a.user,
        status=BookingStatus.CANCELLED,
    )
    Booking.objects.create(
        space=space, starts_at=cancelled.starts_at, ends_at=cancelled.ends_at, booked_by=worker_a.user
    )


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ((1, 7), (1, 8), "starts_at"),  # before opening
        ((1, 20, 30), (1, 21, 30), "starts_at"),  # past closing
        ((30, 9), (30, 10), "starts_at"),  # beyond the 14-day horizon
        ((1, 9, 10), (1, 10, 10), "starts_at"),  # off the 30-minute grid
        ((1, 9), (1, 14), "ends_at"),  # longer than 4 hours
        ((-1, 9), (-1, 10), "starts_at"),  # in the past
    ],
)
def test_rules(space, resident_user_a, resident_a, start, end, field):
    with pytest.raises(ValidationError) as exc:
        book(resident_user_a, space, resident_a, at(*start), at(*end))
    assert field in exc.value.message_dict
    assert not Booking.objects.exists()


def test_weekly_quota(space, resident_user_a, resident_a):
    monday = timezone.localdate() + dt.timedelta(days=7 - timezone.localdate().weekday())
    offset = (monday - timezone.localdate()).days
    book(resident_user_a, space, resident_a, at(offset, 9), at(offset, 11))
    with pytest.raises(ValidationError) as exc:
        book(resident_user_a, space, resident_a, at(offset + 1, 9), at(offset + 1, 10, 30))
    assert "ends_at" in exc.value.message_dict
    book(resident_user_a, space, resident_a, at(offset + 1, 9), at(offset + 1, 10))  # exactly 3 h


def test_resident_books_only_for_self(space, resident_user_a, resident_a):
    other = factories.ResidentFactory(household=resident_a.household)
    with pytest.raises(services.PermissionDenied):
        book(resident_user_a, space, other, at(1, 9), at(1, 10))


def test_approval_flow(space, resident_user_a, resident_a, worker_a):
    space.requires_approval = True
    space.save()
    booking = book(resident_user_a, space, resident_a, at(1, 9), at(1, 10))
    assert booking.status == BookingStatus.PENDING
    booking = services.booking_decide(actor=worker_a.user, booking=booking, approve=True)
    assert booking.status == BookingStatus.CONFIRMED and booking.decided_by == worker_a.user
    with pytest.raises(ValidationError):
        services.booking_decide(actor=worker_a.user, booking=booking, approve=False)


def test_series_all_or_nothing_and_skip(space, worker_a, resident_a):
    book(
        worker_a.user, space, resident_a, at(15, 19), at(15, 20)
    )  # week 3 of a series starting tomorrow+... below
    start, end = at(1, 19), at(1, 20)
    preview = services.series_preview(space=space, starts_at=start, ends_at=end, weeks=4)
    clashes = [p["clash"] for p in preview]
    assert clashes == [False, False, True, False]
    with pytest.raises(ValidationError):
        services.booking_series_create(
            actor=worker_a.user, space=space, starts_at=start, ends_at=end, weeks=4, resident=resident_a
        )
    assert Booking.objects.count() == 1
    space.weekly_quota_hours = 0
    space.save()
    _series, made, skipped = services.booking_series_create(
        actor=worker_a.user,
        space=space,
        starts_at=start,
        ends_at=end,
        weeks=4,
        resident=resident_a,
        skip_clashes=True,
    )
    assert len(made) == 3 and len(skipped) == 1


def test_waitlist_promotes_exactly_one(space, worker_a, household_a, community_a):
    course = Course.objects.create(community=community_a, space=space, title="瑜伽", capacity=2)
    people = [factories.ResidentFactory(household=household_a) for _ in range(4)]
    enrolments = [courses.enrol(actor=worker_a.user, course=course, resident=p) for p in people]
    assert [e.status for e in enrolments] == ["enrolled", "enrolled", "waitlisted", "waitlisted"]
    promoted = courses.enrolment_leave(actor=worker_a.user, enrolment=enrolments[0])
    assert promoted.pk == enrolments[2].pk
    statuses = dict(course.enrolments.values_list("resident_id", "status"))
    assert list(statuses.values()).count(EnrolmentStatus.ENROLLED) == 2
