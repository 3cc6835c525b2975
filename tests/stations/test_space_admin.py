"""Staff pages of spaces and courses: approvals, the day's schedule with check-in, course attendance,
blocks, courses and their sessions, utilisation."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from stations.choices import AttendanceStatus, BookingKind, BookingStatus, EnrolmentStatus, Role
from stations.models import Attendance, Booking, ClosedDate, Course, Enrolment, OpeningHours, Space
from stations.selectors.space_admin import area_summary, space_utilisation
from stations.services import courses
from tests import factories

pytestmark = pytest.mark.django_db


def at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def field(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def space(community_a):
    space = Space.objects.create(
        community=community_a, name="活动大厅", area_m2=200, capacity=30, requires_approval=True
    )
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=space, weekday=d, opens=dt.time(8), closes=dt.time(21)) for d in range(7)]
    )
    return space


@pytest.fixture
def space_b(community_b):
    return Space.objects.create(community=community_b, name="议事空间", area_m2=60, capacity=12)


def make_booking(
    space, user, start, end, *, resident=None, status=BookingStatus.CONFIRMED, kind=BookingKind.BOOKING, **kw
):
    return Booking.objects.create(
        space=space,
        booked_by=user,
        starts_at=start,
        ends_at=end,
        resident=resident,
        status=status,
        kind=kind,
        **kw,
    )


@pytest.fixture
def pending(space, resident_a, resident_user_a):
    return make_booking(
        space,
        resident_user_a,
        at(2, 9),
        at(2, 10),
        resident=resident_a,
        status=BookingStatus.PENDING,
        purpose="楼门议事",
        attendees=6,
    )


@pytest.fixture
def course(space, community_a):
    return Course.objects.create(
        community=community_a, space=space, title="瑜伽入门", teacher="王老师", capacity=10
    )


@pytest.fixture
def session(course, space, worker_a):
    return make_booking(space, worker_a.user, at(1, 18), at(1, 19), kind=BookingKind.COURSE, course=course)


# --- Permissions across the pages --------------------------------------------------------------------


STAFF_GETS = [
    ("stations:approval_list", False),
    ("stations:today_schedule", False),
    ("stations:utilisation", False),
    ("stations:course_create", False),
]


@pytest.mark.parametrize(("name", "_"), STAFF_GETS)
def test_resident_gets_403(as_user, resident_user_a, name, _):
    assert as_user(resident_user_a).get(reverse(name)).status_code == 403


def test_resident_gets_403_on_object_pages(as_user, resident_user_a, pending, session, space, course):
    client = as_user(resident_user_a)
    assert (
        client.post(reverse("stations:booking_decide", args=[pending.pk]), {"approve": "1"}).status_code
        == 403
    )
    assert (
        client.post(reverse("stations:booking_check_in", args=[pending.pk]), {"present": "1"}).status_code
        == 403
    )
    assert client.get(reverse("stations:session_attendance", args=[session.pk])).status_code == 403
    assert client.get(reverse("stations:space_block", args=[space.pk])).status_code == 403
    assert client.get(reverse("stations:course_session_create", args=[course.pk])).status_code == 403
    pending.refresh_from_db()
    assert pending.status == BookingStatus.PENDING


def test_other_community_gets_404(as_user, worker_b, pending, session, space, course):
    client = as_user(worker_b.user)
    assert (
        client.post(reverse("stations:booking_decide", args=[pending.pk]), {"approve": "1"}).status_code
        == 404
    )
    assert (
        client.post(reverse("stations:booking_check_in", args=[pending.pk]), {"present": "1"}).status_code
        == 404
    )
    assert client.get(reverse("stations:session_attendance", args=[session.pk])).status_code == 404
    assert client.get(reverse("stations:space_block", args=[space.pk])).status_code == 404
    assert client.get(reverse("stations:course_session_create", args=[course.pk])).status_code == 404
    assert client.get(reverse("stations:today_schedule"), {"space": space.pk}).status_code == 404
    pending.refresh_from_db()
    assert pending.status == BookingStatus.PENDING
    # Nor do A's rows show on B's lists.
    assert "楼门议事" not in client.get(reverse("stations:approval_list")).content.decode()
    assert "活动大厅" not in client.get(reverse("stations:today_schedule")).content.decode()
    assert "活动大厅" not in client.get(reverse("stations:utilisation")).content.decode()


@pytest.mark.parametrize("name", ["stations:booking_decide", "stations:booking_check_in"])
def test_post_only(as_user, worker_a, pending, name):
    assert as_user(worker_a.user).get(reverse(name, args=[pending.pk])).status_code == 405


# --- Approvals ---------------------------------------------------------------------------------------


def test_approval_list_shows_who_with_masked_phone(as_user, worker_a, pending):
    response = as_user(worker_a.user).get(reverse("stations:approval_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "张焱" in html and "138****1234" in html and "13812341234" not in html
    assert "楼门议事" in html and "活动大厅" in html
    assert reverse("stations:booking_decide", args=[pending.pk]) in html


def test_approval_list_oldest_first(as_user, worker_a, space, resident_a, resident_user_a, pending):
    later = make_booking(
        space, resident_user_a, at(1, 9), at(1, 10), resident=resident_a, status=BookingStatus.PENDING
    )
    page = as_user(worker_a.user).get(reverse("stations:approval_list")).context["page"]
    assert [b.pk for b in page] == [pending.pk, later.pk]


def test_approve(as_user, worker_a, pending):
    response = as_user(worker_a.user).post(
        reverse("stations:booking_decide", args=[pending.pk]), {"approve": "1"}
    )
    assert response.status_code == 302 and response.url == reverse("stations:approval_list")
    pending.refresh_from_db()
    assert pending.status == BookingStatus.CONFIRMED
    assert pending.decided_by == worker_a.user and pending.decided_at is not None
    assert len(texts(response)) == 1


def test_reject_and_back_to_next(as_user, worker_a, pending):
    back = reverse("stations:approval_list") + "?page=1"
    response = as_user(worker_a.user).post(
        reverse("stations:booking_decide", args=[pending.pk]), {"approve": "0", "next": back}
    )
    assert response.url == back
    pending.refresh_from_db()
    assert pending.status == BookingStatus.REJECTED and pending.decided_by == worker_a.user


def test_decide_ignores_offsite_next_and_reports_decided(as_user, worker_a, pending):
    client = as_user(worker_a.user)
    client.post(reverse("stations:booking_decide", args=[pending.pk]), {"approve": "1"})
    response = client.post(
        reverse("stations:booking_decide", args=[pending.pk]),
        {"approve": "0", "next": "https://evil.example/"},
    )
    assert response.url == reverse("stations:approval_list")
    assert texts(response)[-1] == str(_("This booking has already been decided."))
    pending.refresh_from_db()
    assert pending.status == BookingStatus.CONFIRMED


def test_decide_bad_value_changes_nothing(as_user, worker_a, pending):
    response = as_user(worker_a.user).post(
        reverse("stations:booking_decide", args=[pending.pk]), {"approve": "x"}
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == BookingStatus.PENDING


# --- Check-in ----------------------------------------------------------------------------------------


def test_check_in_before_window_refused(as_user, worker_a, space, resident_a):
    start = timezone.now() + dt.timedelta(hours=2)
    booking = make_booking(space, worker_a.user, start, start + dt.timedelta(hours=1), resident=resident_a)
    response = as_user(worker_a.user).post(
        reverse("stations:booking_check_in", args=[booking.pk]), {"present": "1"}
    )
    assert response.status_code == 302
    assert response.url == reverse("stations:today_schedule") + f"?date={timezone.localtime(start).date()}"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED and booking.checked_in_at is None
    assert len(texts(response)) == 1


def test_check_in_within_window(as_user, worker_a, space, resident_a):
    start = timezone.now() + dt.timedelta(minutes=20)
    booking = make_booking(space, worker_a.user, start, start + dt.timedelta(hours=1), resident=resident_a)
    response = as_user(worker_a.user).post(
        reverse("stations:booking_check_in", args=[booking.pk]), {"present": "1"}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN and booking.checked_in_at is not None


def test_no_show(as_user, worker_a, space, resident_a):
    start = timezone.now() - dt.timedelta(hours=1)
    booking = make_booking(space, worker_a.user, start, start + dt.timedelta(minutes=30), resident=resident_a)
    as_user(worker_a.user).post(reverse("stations:booking_check_in", args=[booking.pk]), {"present": "0"})
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW and booking.checked_in_at is None


def test_check_in_pending_refused(as_user, worker_a, pending):
    as_user(worker_a.user).post(reverse("stations:booking_check_in", args=[pending.pk]), {"present": "1"})
    pending.refresh_from_db()
    assert pending.status == BookingStatus.PENDING


# --- The day's schedule ------------------------------------------------------------------------------


def test_today_schedule_shows_the_day_in_order(as_user, worker_a, space, resident_a, session, pending):
    block = make_booking(space, worker_a.user, at(1, 8), at(1, 9), kind=BookingKind.BLOCK, purpose="地面维修")
    booking = make_booking(space, worker_a.user, at(1, 10), at(1, 11), resident=resident_a, purpose="书法")
    cancelled = make_booking(
        space,
        worker_a.user,
        at(1, 12),
        at(1, 13),
        resident=resident_a,
        status=BookingStatus.CANCELLED,
        purpose="取消了",
    )
    day = timezone.localdate() + dt.timedelta(days=1)
    response = as_user(worker_a.user).get(reverse("stations:today_schedule"), {"date": day.isoformat()})
    assert response.status_code == 200
    entries = response.context["schedule"][0].entries
    assert [e.pk for e in entries] == [block.pk, booking.pk, session.pk]
    assert cancelled.pk not in [e.pk for e in entries] and pending.pk not in [e.pk for e in entries]
    html = response.content.decode()
    assert "地面维修" in html and "书法" in html and "瑜伽入门" in html and "取消了" not in html
    assert reverse("stations:session_attendance", args=[session.pk]) in html
    assert "138****1234" in html and "13812341234" not in html
    # Tomorrow 10:00 is not within 30 minutes: no check-in buttons yet.
    assert reverse("stations:booking_check_in", args=[booking.pk]) not in html
    assert f"date={(day - dt.timedelta(days=1)).isoformat()}" in html
    assert f"date={(day + dt.timedelta(days=1)).isoformat()}" in html


def test_today_schedule_check_in_buttons_when_open(as_user, worker_a, space, resident_a):
    start = timezone.now() + dt.timedelta(minutes=10)
    booking = make_booking(space, worker_a.user, start, start + dt.timedelta(minutes=30), resident=resident_a)
    response = as_user(worker_a.user).get(
        reverse("stations:today_schedule"),
        {"date": timezone.localtime(start).date().isoformat(), "space": space.pk},
    )
    assert reverse("stations:booking_check_in", args=[booking.pk]) in response.content.decode()


def test_today_schedule_defaults_to_today_on_junk(as_user, worker_a, space):
    response = as_user(worker_a.user).get(reverse("stations:today_schedule"), {"date": "yesterday"})
    assert response.status_code == 200 and response.context["day"] == timezone.localdate()


def _add_bookings(n, space, other, worker_a, resident_a, course):
    for i in range(n):
        target = space if i % 2 else other
        start = at(1, 8) + dt.timedelta(minutes=30 * (i // 2))
        kind = [BookingKind.BOOKING, BookingKind.COURSE, BookingKind.BLOCK][i % 3]
        make_booking(
            target,
            worker_a.user,
            start,
            start + dt.timedelta(minutes=30),
            kind=kind,
            resident=resident_a if kind == BookingKind.BOOKING else None,
            course=course if kind == BookingKind.COURSE else None,
            status=BookingStatus.PENDING
            if i % 5 == 0 and kind == BookingKind.BOOKING
            else BookingStatus.CONFIRMED,
        )


def _queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx.captured_queries)


def test_today_schedule_constant_queries(
    as_user, worker_a, space, community_a, resident_a, course, django_assert_num_queries
):
    other = Space.objects.create(community=community_a, name="议事空间", area_m2=60, capacity=12)
    client = as_user(worker_a.user)
    url, params = (
        reverse("stations:today_schedule"),
        {"date": (timezone.localdate() + dt.timedelta(days=1)).isoformat()},
    )
    _add_bookings(2, space, other, worker_a, resident_a, course)
    few = _queries(client, url, params)
    Booking.objects.all().delete()
    _add_bookings(20, space, other, worker_a, resident_a, course)
    with django_assert_num_queries(few):
        response = client.get(url, params)
    assert sum(len(s.entries) for s in response.context["schedule"]) == 20


def test_approval_list_constant_queries(
    as_user, worker_a, space, resident_a, resident_user_a, django_assert_num_queries
):
    client = as_user(worker_a.user)
    url = reverse("stations:approval_list")

    def add(n, offset):
        for i in range(n):
            start = at(1, 8) + dt.timedelta(minutes=30 * (i + offset))
            make_booking(
                space,
                resident_user_a,
                start,
                start + dt.timedelta(minutes=30),
                resident=resident_a,
                status=BookingStatus.PENDING,
            )

    add(2, 0)
    few = _queries(client, url)
    add(18, 2)
    with django_assert_num_queries(few):
        response = client.get(url)
    assert len(response.context["page"].object_list) == 20


# --- Course attendance -------------------------------------------------------------------------------


def test_attendance_page_and_recording(as_user, worker_a, session, course, resident_a, household_a):
    other = factories.ResidentFactory(household=household_a, name="刘敏")
    Enrolment.objects.create(
        course=course, resident=resident_a, status=EnrolmentStatus.ENROLLED, enrolled_by=worker_a.user
    )
    Enrolment.objects.create(
        course=course, resident=other, status=EnrolmentStatus.ENROLLED, enrolled_by=worker_a.user
    )
    client = as_user(worker_a.user)
    url = reverse("stations:session_attendance", args=[session.pk])
    response = client.post(url, {"resident": resident_a.pk, "present": "1"})
    assert response.status_code == 302 and response.url == url
    attendance = Attendance.objects.get(session=session, resident=resident_a)
    assert attendance.status == AttendanceStatus.PRESENT and attendance.recorded_by == worker_a.user
    client.post(url, {"resident": resident_a.pk, "present": "0"})  # corrected
    attendance.refresh_from_db()
    assert attendance.status == AttendanceStatus.ABSENT
    client.post(url, {"resident": other.pk, "present": "1"})
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["counts"] == {"present": 1, "absent": 1, "not_recorded": 0}
    html = response.content.decode()
    assert "张焱" in html and "刘敏" in html and "13812341234" not in html


def test_attendance_refused_for_someone_not_enrolled(
    as_user, worker_a, session, course, resident_a, resident_b
):
    client = as_user(worker_a.user)
    url = reverse("stations:session_attendance", args=[session.pk])
    response = client.post(url, {"resident": resident_a.pk, "present": "1"})
    assert response.status_code == 302 and len(texts(response)) == 1
    response = client.post(url, {"resident": resident_b.pk, "present": "1"})  # another community's person
    assert response.status_code == 302
    assert not Attendance.objects.exists()
    counts = client.get(url).context["counts"]
    assert counts == {"present": 0, "absent": 0, "not_recorded": 0}


def test_attendance_only_for_course_sessions(as_user, worker_a, pending):
    assert (
        as_user(worker_a.user).get(reverse("stations:session_attendance", args=[pending.pk])).status_code
        == 404
    )


# --- Blocks ------------------------------------------------------------------------------------------


def test_block_with_clash_lists_bookings_and_saves_nothing(as_user, worker_a, space, resident_a):
    make_booking(space, worker_a.user, at(3, 10), at(3, 11), resident=resident_a)
    response = as_user(worker_a.user).post(
        reverse("stations:space_block", args=[space.pk]),
        {"starts_at": field(at(3, 9)), "ends_at": field(at(3, 12)), "reason": "地面维修"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert timezone.localtime(at(3, 10)).strftime("%m-%d %H:%M") in html
    assert not Booking.objects.filter(kind=BookingKind.BLOCK).exists()


def test_block_saved(as_user, worker_a, space):
    client = as_user(worker_a.user)
    assert client.get(reverse("stations:space_block", args=[space.pk])).status_code == 200
    response = client.post(
        reverse("stations:space_block", args=[space.pk]),
        {"starts_at": field(at(3, 9)), "ends_at": field(at(3, 12)), "reason": " 地面维修 "},
    )
    assert response.status_code == 302
    block = Booking.objects.get(kind=BookingKind.BLOCK)
    assert (block.space, block.starts_at, block.ends_at) == (space, at(3, 9), at(3, 12))
    assert block.purpose == "地面维修" and block.booked_by == worker_a.user
    assert block.status == BookingStatus.CONFIRMED
    assert response.url == reverse("stations:today_schedule") + f"?date={at(3, 9).date()}&space={space.pk}"


def test_block_form_submitted_twice_makes_one_block(as_user, worker_a, space):
    client = as_user(worker_a.user)
    url = reverse("stations:space_block", args=[space.pk])
    key = client.get(url).context["form"]["submission_key"].value()
    data = {
        "submission_key": str(key),
        "starts_at": field(at(3, 9)),
        "ends_at": field(at(3, 12)),
        "reason": "维修",
    }
    for _attempt in range(2):
        response = client.post(url, data)
        # The second is told what the first did, not that the time is held (by the first).
        assert response.status_code == 302 and "维修" not in texts(response)[-1]
    assert Booking.objects.filter(kind=BookingKind.BLOCK).count() == 1
    data |= {"submission_key": str(uuid.uuid4())}
    assert client.post(url, data).status_code == 200  # another form: the time is held by the block
    assert Booking.objects.filter(kind=BookingKind.BLOCK).count() == 1


def test_block_end_before_start(as_user, worker_a, space):
    response = as_user(worker_a.user).post(
        reverse("stations:space_block", args=[space.pk]),
        {"starts_at": field(at(3, 12)), "ends_at": field(at(3, 9)), "reason": "x"},
    )
    assert response.status_code == 200 and response.context["form"].errors["ends_at"]
    assert not Booking.objects.exists()


# --- Courses and sessions ----------------------------------------------------------------------------


def test_course_create(as_user, head_a, space, community_a):
    client = as_user(head_a)
    assert client.get(reverse("stations:course_create")).status_code == 200
    response = client.post(
        reverse("stations:course_create"),
        {
            "title": " 瑜伽入门 ",
            "description": "零基础",
            "teacher": "王老师",
            "space": space.pk,
            "capacity": 12,
            "open_to_residents": "on",
        },
    )
    course = Course.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("stations:course_session_create", args=[course.pk])
    assert (course.title, course.teacher, course.capacity, course.space, course.community) == (
        "瑜伽入门",
        "王老师",
        12,
        space,
        community_a,
    )
    assert course.open_to_residents and not course.open_to_enterprise_staff


def test_course_form_submitted_twice_sets_up_one_course(as_user, head_a, space):
    client = as_user(head_a)
    key = client.get(reverse("stations:course_create")).context["form"]["submission_key"].value()
    data = {"submission_key": str(key), "title": "瑜伽入门", "space": space.pk, "capacity": 12}
    urls = {client.post(reverse("stations:course_create"), data).url for _ in range(2)}
    course = Course.objects.get()
    assert urls == {reverse("stations:course_session_create", args=[course.pk])}
    client.post(reverse("stations:course_create"), data | {"submission_key": str(uuid.uuid4())})
    assert Course.objects.count() == 2  # another form is another course


def test_course_key_of_another_community_is_refused(head_a, space, space_b, community_b):
    head_b = factories.make_member(role=Role.HEAD, community=community_b, username="head_b")
    key = uuid.uuid4()
    courses.course_create(actor=head_b, space=space_b, title="舞蹈", capacity=5, submission_key=key)
    with pytest.raises(ValidationError):
        courses.course_create(actor=head_a, space=space, title="舞蹈", capacity=5, submission_key=key)
    assert not Course.objects.filter(space=space).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_course_form_submitted_twice_at_once_sets_up_one(head_a, space):
    from tests.concurrency import _errors, _ok, run_together

    key = uuid.uuid4()
    results = run_together(
        2,
        lambda i: (
            courses.course_create(
                actor=head_a, space=space, title="瑜伽入门", capacity=12, submission_key=key
            ).pk
        ),
    )
    assert _errors(results) == []
    assert len(set(_ok(results))) == 1
    assert Course.objects.count() == 1


def test_course_create_capacity_beyond_space(as_user, head_a, space):
    response = as_user(head_a).post(
        reverse("stations:course_create"), {"title": "舞蹈", "space": space.pk, "capacity": 31}
    )
    assert response.status_code == 200 and response.context["form"].errors["capacity"]
    assert not Course.objects.exists()


def test_course_create_other_community_space_refused(as_user, head_a, space_b):
    response = as_user(head_a).post(
        reverse("stations:course_create"), {"title": "舞蹈", "space": space_b.pk, "capacity": 5}
    )
    assert response.status_code == 200 and response.context["form"].errors["space"]
    assert not Course.objects.exists()


def test_course_create_needs_add_course(as_user, worker_a):
    assert as_user(worker_a.user).get(reverse("stations:course_create")).status_code == 403


def test_course_sessions_weekly_run(as_user, worker_a, course):
    response = as_user(worker_a.user).post(
        reverse("stations:course_session_create", args=[course.pk]),
        {"starts_at": field(at(1, 18)), "ends_at": field(at(1, 19)), "weeks": 4},
    )
    assert response.status_code == 302 and response.url == reverse("stations:course_detail", args=[course.pk])
    sessions = list(Booking.objects.filter(course=course).order_by("starts_at"))
    assert [s.starts_at for s in sessions] == [at(1 + 7 * i, 18) for i in range(4)]
    assert all(s.kind == BookingKind.COURSE and s.status == BookingStatus.CONFIRMED for s in sessions)


def test_session_form_submitted_twice_adds_the_run_once(as_user, worker_a, course):
    client = as_user(worker_a.user)
    url = reverse("stations:course_session_create", args=[course.pk])
    key = client.get(url).context["form"]["submission_key"].value()
    data = {
        "submission_key": str(key),
        "starts_at": field(at(1, 18)),
        "ends_at": field(at(1, 19)),
        "weeks": 4,
    }
    for _attempt in range(2):
        response = client.post(url, data)
        assert response.status_code == 302 and texts(response)[-1] == "已为“瑜伽入门”添加 4 次课。"
    sessions = Booking.objects.filter(course=course).order_by("starts_at")
    assert [s.starts_at for s in sessions] == [at(1 + 7 * i, 18) for i in range(4)]
    assert len({s.submission_key for s in sessions}) == 4  # each has its own key, derived from the form's


def test_course_sessions_all_or_nothing(as_user, worker_a, course, space, resident_a):
    make_booking(space, worker_a.user, at(15, 18, 30), at(15, 19), resident=resident_a)
    response = as_user(worker_a.user).post(
        reverse("stations:course_session_create", args=[course.pk]),
        {"starts_at": field(at(1, 18)), "ends_at": field(at(1, 19)), "weeks": 4},
    )
    assert response.status_code == 200
    assert timezone.localtime(at(15, 18)).strftime("%Y-%m-%d") in response.content.decode()
    assert not Booking.objects.filter(course=course).exists()


def test_course_sessions_weeks_bounds(as_user, worker_a, course):
    response = as_user(worker_a.user).post(
        reverse("stations:course_session_create", args=[course.pk]),
        {"starts_at": field(at(1, 18)), "ends_at": field(at(1, 19)), "weeks": 27},
    )
    assert response.status_code == 200 and response.context["form"].errors["weeks"]
    assert not Booking.objects.exists()


# --- Utilisation -------------------------------------------------------------------------------------

TODAY = dt.date(2025, 3, 12)  # a Wednesday; the current week starts on Monday 2025-03-10
WEEK = dt.date(2025, 3, 3)  # the hand-built week, Monday 03-03 to Sunday 03-09


@pytest.fixture
def measured(community_a, worker_a, resident_a, household_a):
    """A space open 08–21 Monday to Saturday and 10:30–23:30 on Sunday: 13 h × 7 = 91 h a week."""
    space = Space.objects.create(community=community_a, name="舞蹈室", area_m2=120, capacity=20)
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=space, weekday=d, opens=dt.time(8), closes=dt.time(21)) for d in range(6)]
        + [OpeningHours(space=space, weekday=6, opens=dt.time(10, 30), closes=dt.time(23, 30))]
    )
    user = worker_a.user
    day = lambda n: WEEK + dt.timedelta(days=n)  # noqa: E731
    for start, end, status in [
        (local(day(0), 9), local(day(0), 12), BookingStatus.CONFIRMED),  # 180 min
        (local(day(1), 14), local(day(1), 16), BookingStatus.CHECKED_IN),  # 120
        (local(day(2), 10), local(day(2), 11), BookingStatus.NO_SHOW),  # 60
        (local(day(5), 8), local(day(5), 9, 6), BookingStatus.PENDING),  # 66
        (local(day(6), 23), local(day(6), 23, 30), BookingStatus.CONFIRMED),  # 30: Sunday night, this week
        (local(day(4), 13), local(day(4), 15), BookingStatus.CANCELLED),  # excluded
        (local(day(4), 15), local(day(4), 16), BookingStatus.REJECTED),  # excluded
        # Monday 00:00 local is still Sunday in UTC: it belongs to the next week.
        (local(day(7), 0), local(day(7), 0, 30), BookingStatus.CONFIRMED),  # 30, next week
    ]:
        make_booking(space, user, start, end, resident=resident_a, status=status)
    make_booking(
        space, user, local(day(5), 12), local(day(5), 18), kind=BookingKind.BLOCK, purpose="维修"
    )  # excluded
    course = Course.objects.create(community=community_a, space=space, title="舞蹈", capacity=10)
    session = make_booking(
        space, user, local(day(3), 18), local(day(3), 19, 30), kind=BookingKind.COURSE, course=course
    )  # 90
    other = factories.ResidentFactory(household=household_a)
    Attendance.objects.create(
        session=session, resident=resident_a, status=AttendanceStatus.PRESENT, recorded_by=user
    )
    Attendance.objects.create(
        session=session, resident=other, status=AttendanceStatus.ABSENT, recorded_by=user
    )
    ClosedDate.objects.create(space=space, date=dt.date(2025, 3, 11), reason="清洁")
    return space


def test_utilisation_exact_week(measured, community_a, space_b, django_assert_num_queries):
    communities = type(community_a).objects.filter(pk=community_a.pk)
    with django_assert_num_queries(7):
        rows = space_utilisation(communities, today=TODAY)
    (row,) = [r for r in rows if r.space == measured]
    assert [c.start for c in row.weeks] == [dt.date(2025, 1, 20) + dt.timedelta(weeks=i) for i in range(8)]
    week = row.weeks[-2]
    assert week.start == WEEK and week.end == dt.date(2025, 3, 10)
    assert week.open_minutes == 91 * 60 and week.open_hours == Decimal("91.0")
    assert week.booked_minutes == 546 and week.booked_hours == Decimal("9.1")
    assert week.percent == Decimal("10.0")
    assert (week.present, week.recorded, week.no_shows) == (1, 2, 2)
    current = row.weeks[-1]  # 03-10..03-16 with Tuesday 03-11 closed
    assert current.open_minutes == 78 * 60 and current.booked_minutes == 30
    assert current.percent == Decimal("0.6")
    before = row.weeks[-3]
    assert before.booked_minutes == 0 and before.percent == Decimal("0.0")
    # March 2025: 31 days × 13 h less the closed day = 390 h; 546 + 30 minutes booked.
    assert row.month.start == dt.date(2025, 3, 1) and row.month.end == dt.date(2025, 4, 1)
    assert row.month.open_minutes == 390 * 60 and row.month.booked_minutes == 576
    assert row.month.percent == Decimal("2.5")
    assert all(r.space.community_id == community_a.pk for r in rows)


def test_utilisation_page(as_user, head_a, measured, community_a):
    community_a.office_area_m2 = Decimal("75")
    community_a.save()
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    make_booking(measured, head_a, local(monday, 9), local(monday, 18, 6))  # 9.1 h of 91 h this week
    response = as_user(head_a).get(reverse("stations:utilisation"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "舞蹈室" in html and "<table" in html and "<caption" in html and 'scope="row"' in html
    this_week = response.context["rows"][0].weeks[-1]
    assert (this_week.start, this_week.percent) == (monday, Decimal("10.0"))
    assert "10.0%" in html and 'value="10.0"' in html
    assert "75.0 m²" in html and "120.0 m²" in html


def test_area_summary(community_a, measured, space):
    (community,) = area_summary(type(community_a).objects.filter(pk=community_a.pk))
    assert community.service_area_m2 == Decimal("320.0") and community.space_count == 2
