"""Booking and enrolment races on PostgreSQL with real threads started together: the services lock
the space (or the course, or the booking) so exactly one person gets a contested slot, place or
decision, and everyone else gets a clear ValidationError — never a server error.

The last test drives the real booking form on a live server: 50 residents press "book" for the
same slot at once. Skipped on SQLite (which serialises every writer anyway). Each thread closes
its own connection at the end; the transactional test database is flushed after each test."""

import datetime as dt
import html
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from stations.choices import BookingStatus, EnrolmentStatus, Role
from stations.models import Booking, Course, Enrolment, OpeningHours, Space
from stations.services import courses
from stations.services import spaces as services
from tests import factories
from tests.concurrency import TIMEOUT, _errors, _ok, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TAKEN = "This time was just taken. Please pick another time."


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


def _residents(household, count: int):
    return [factories.ResidentFactory(household=household) for _ in range(count)]


def _resident_users(community, residents):
    """A login for each resident (residents book and enrol for themselves)."""
    users = []
    for index, resident in enumerate(residents):
        user = factories.make_member(role=Role.RESIDENT, community=community, username=f"jm{index:02d}")
        resident.user = user
        resident.save(update_fields=["user"])
        users.append(user)
    return users


# Bookings ---------------------------------------------------------------------------------------


def test_fifty_bookings_of_one_free_slot(space, worker_a, household_a):
    people = _residents(household_a, 50)
    start, end = at(2, 10), at(2, 11)

    results = run_together(
        50,
        lambda i: services.booking_create(
            actor=worker_a.user, space=space, starts_at=start, ends_at=end, resident=people[i]
        ),
    )

    [(booking, created)] = _ok(results)
    assert created is True
    errors = _errors(results)
    assert len(errors) == 49
    assert all(isinstance(e, ValidationError) and e.code == "taken" for e in errors), errors
    assert len({e.messages[0] for e in errors}) == 1  # the one "just taken" message
    [only] = Booking.objects.filter(space=space)
    assert only.pk == booking.pk
    assert (only.starts_at, only.ends_at, only.status) == (start, end, BookingStatus.CONFIRMED)
    assert only.resident_id in {p.pk for p in people}
    assert only.booked_by_id == worker_a.user.pk


def test_overlapping_slots_at_once_keep_one(space, worker_a, household_a):
    # Different but overlapping half-hour-grid ranges: 09:00–10:00, 09:30–10:30, … all contest 10:00.
    people = _residents(household_a, 4)
    ranges = [
        (at(3, 9), at(3, 10, 30)),
        (at(3, 9, 30), at(3, 10, 30)),
        (at(3, 10), at(3, 11)),
        (at(3, 9), at(3, 12)),
    ]

    results = run_together(
        4,
        lambda i: services.booking_create(
            actor=worker_a.user, space=space, starts_at=ranges[i][0], ends_at=ranges[i][1], resident=people[i]
        ),
    )

    assert len(_ok(results)) == 1
    assert all(isinstance(e, ValidationError) and e.code == "taken" for e in _errors(results))
    assert Booking.objects.filter(space=space).count() == 1


def test_double_submit_of_one_form_gives_one_booking(space, resident_user_a, resident_a):
    # A double tap sends the same submission key twice: the person gets their booking both times,
    # not a "just taken" message about their own booking.
    key = uuid.uuid4()

    results = run_together(
        5,
        lambda i: services.booking_create(
            actor=resident_user_a,
            space=space,
            starts_at=at(2, 14),
            ends_at=at(2, 15),
            resident=resident_a,
            submission_key=key,
        ),
    )

    assert _errors(results) == []
    only = Booking.objects.get(space=space)
    assert {booking.pk for booking, _created in _ok(results)} == {only.pk}
    assert sorted(created for _booking, created in _ok(results)) == [False] * 4 + [True]
    assert only.submission_key == key


def test_two_staff_approve_one_booking_at_once(space, resident_user_a, resident_a, worker_a, head_a):
    space.requires_approval = True
    space.save(update_fields=["requires_approval"])
    booking, _ = services.booking_create(
        actor=resident_user_a, space=space, starts_at=at(1, 9), ends_at=at(1, 10), resident=resident_a
    )
    assert booking.status == BookingStatus.PENDING
    deciders = [worker_a.user, head_a]

    results = run_together(
        2, lambda i: services.booking_decide(actor=deciders[i], booking=booking, approve=i == 0)
    )

    [decided] = _ok(results)
    [error] = _errors(results)
    assert isinstance(error, ValidationError) and error.code == "decided", error
    booking.refresh_from_db()
    assert booking.status == decided.status
    assert booking.status in {BookingStatus.CONFIRMED, BookingStatus.REJECTED}
    assert booking.decided_by_id == decided.decided_by_id
    assert booking.decided_at == decided.decided_at


# Courses ----------------------------------------------------------------------------------------


def test_three_leave_at_once_promote_the_first_three_waiting(space, worker_a, household_a, community_a):
    course = Course.objects.create(community=community_a, space=space, title="瑜伽", capacity=3)
    people = _residents(household_a, 8)
    users = _resident_users(community_a, people)
    enrolments = [courses.enrol(actor=users[i], course=course, resident=p) for i, p in enumerate(people)]
    assert [e.status for e in enrolments] == [EnrolmentStatus.ENROLLED] * 3 + [EnrolmentStatus.WAITLISTED] * 5
    leaving, waiting = enrolments[:3], enrolments[3:]

    results = run_together(3, lambda i: courses.enrolment_leave(actor=users[i], enrolment=leaving[i]))

    assert _errors(results) == []
    promoted = _ok(results)
    assert all(p is not None for p in promoted)
    assert sorted(p.pk for p in promoted) == [e.pk for e in waiting[:3]]  # no one twice, in order
    statuses = dict(Enrolment.objects.filter(course=course).values_list("pk", "status"))
    assert [statuses[e.pk] for e in leaving] == [EnrolmentStatus.LEFT] * 3
    assert [statuses[e.pk] for e in waiting] == [EnrolmentStatus.ENROLLED] * 3 + [
        EnrolmentStatus.WAITLISTED
    ] * 2
    assert Enrolment.objects.filter(course=course, status=EnrolmentStatus.ENROLLED).count() == 3
    for enrolment in waiting[:3]:
        enrolment.refresh_from_db()
        assert enrolment.promoted_at is not None
    for enrolment in leaving:
        enrolment.refresh_from_db()
        assert enrolment.left_at is not None


def test_ten_enrol_at_once_into_four_places(space, household_a, community_a):
    course = Course.objects.create(community=community_a, space=space, title="舞蹈", capacity=4)
    people = _residents(household_a, 10)
    users = _resident_users(community_a, people)

    results = run_together(10, lambda i: courses.enrol(actor=users[i], course=course, resident=people[i]))

    assert _errors(results) == []
    rows = list(Enrolment.objects.filter(course=course).order_by("created_at", "pk"))
    assert len(rows) == 10
    assert sorted(r.resident_id for r in rows) == sorted(p.pk for p in people)
    # Consistent order: the four places went to the first four in line, everyone after them waits.
    assert [r.status for r in rows] == [EnrolmentStatus.ENROLLED] * 4 + [EnrolmentStatus.WAITLISTED] * 6
    assert [r.pk for r in rows] == sorted(r.pk for r in rows)
    # What each thread was told matches what was stored.
    told = {e.pk: e.status for e in _ok(results)}
    assert told == {r.pk: r.status for r in rows}

    # The waiting list then moves in that same order.
    user_of = {p.pk: users[i] for i, p in enumerate(people)}
    promoted = courses.enrolment_leave(actor=user_of[rows[0].resident_id], enrolment=rows[0])
    assert promoted.pk == rows[4].pk


def test_one_person_enrolling_at_once_four_times_gets_one_place(
    space, community_a, resident_user_a, resident_a
):
    course = Course.objects.create(community=community_a, space=space, title="太极", capacity=1)

    results = run_together(
        4, lambda i: courses.enrol(actor=resident_user_a, course=course, resident=resident_a)
    )

    assert _errors(results) == []
    only = Enrolment.objects.get(course=course)
    assert {e.pk for e in _ok(results)} == {only.pk}
    assert (only.resident_id, only.status) == (resident_a.pk, EnrolmentStatus.ENROLLED)


# The booking form on a live server ---------------------------------------------------------------


def _translated_taken() -> str:
    with translation.override("zh-hans"):
        message = translation.gettext(TAKEN)
    assert message != TAKEN, "the 'just taken' message has no Simplified Chinese translation"
    return message


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # hand a 3xx back to the caller instead of following it


_OPENER = urllib.request.build_opener(_NoRedirect())


def _send(request: urllib.request.Request) -> tuple[int, dict, str]:
    """(status, headers, body) of a request, whatever its status."""
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def test_fifty_residents_press_book_at_once(live_server, space, household_a, community_a):
    taken_message = _translated_taken()
    people = _residents(household_a, 50)
    users = _resident_users(community_a, people)
    start = timezone.localtime(at(2, 15))
    slot = start.strftime("%Y-%m-%dT%H:%M")
    end = (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    form_url = live_server.url + reverse("stations:booking_create", args=[space.pk])

    # Each resident signed in, with the booking form loaded: its CSRF cookie and token, its own key.
    posts = []
    for user in users:
        client = Client()
        client.force_login(user)
        cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
        form = urllib.request.Request(f"{form_url}?start={slot}", headers={"Cookie": _cookie_header(cookies)})
        status, headers, body = _send(form)
        assert status == 200, body[:500]
        for set_cookie in headers.get_all("Set-Cookie") or []:
            cookies.update({name: morsel.value for name, morsel in SimpleCookie(set_cookie).items()})
        assert settings.CSRF_COOKIE_NAME in cookies
        data = {
            "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1),
            "starts_at": slot,
            "ends_at": end,
            "purpose": "读书会",
            "attendees": "5",
            "submission_key": str(uuid.uuid4()),
        }
        posts.append(
            urllib.request.Request(
                form_url,
                data=urllib.parse.urlencode(data).encode(),
                headers={"Cookie": _cookie_header(cookies), "Referer": form_url},
                method="POST",
            )
        )

    # Django's development server listens with a queue of 10 connections; let all 50 wait in line
    # (listen() again on a listening socket only changes its backlog).
    live_server.thread.httpd.socket.listen(64)
    results = run_together(50, lambda i: _send(posts[i]))

    assert _errors(results) == [], _errors(results)[:3]
    responses = _ok(results)
    statuses = [status for status, _location, _body in responses]
    assert all(status in {200, 302, 409} for status in statuses), sorted(set(statuses))
    [winner] = [i for i, (status, _h, _b) in enumerate(responses) if status == 302]
    assert responses[winner][1]["Location"].endswith(reverse("stations:own_bookings"))
    losers = [body for i, (_s, _h, body) in enumerate(responses) if i != winner]
    assert len(losers) == 49
    assert all(taken_message in html.unescape(body) for body in losers)
    [booking] = Booking.objects.filter(space=space)
    assert booking.resident_id == people[winner].pk
    assert booking.booked_by_id == users[winner].pk
    assert (booking.starts_at, booking.ends_at) == (at(2, 15), at(2, 16))
    assert booking.status == BookingStatus.CONFIRMED
