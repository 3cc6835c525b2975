"""The space and course pages residents and staff share: lists, the week grid, booking (single and
weekly), my bookings, cancel, enrol / waiting list / leave, the photo and the public ICS feed."""

import datetime as dt
import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from stations.choices import BookingKind, BookingStatus, EnrolmentStatus, Role
from stations.models import Booking, BookingSeries, ClosedDate, Course, Enrolment, OpeningHours, Space
from stations.selectors.spaces import week_grid
from stations.services import courses
from stations.services import spaces as services
from tests import factories

pytestmark = pytest.mark.django_db


def at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return gettext(text)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def make_space(community, name="活动大厅", **kwargs) -> Space:
    kwargs.setdefault("area_m2", 200)
    space = Space.objects.create(community=community, name=name, capacity=30, **kwargs)
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=space, weekday=d, opens=dt.time(8), closes=dt.time(21)) for d in range(7)]
    )
    return space


@pytest.fixture
def space(community_a):
    return make_space(community_a)


@pytest.fixture
def space_b(community_b):
    return make_space(community_b, name="华贸议事空间")


@pytest.fixture
def worker_user(worker_a):
    return worker_a.user


@pytest.fixture
def resident_user_b(resident_b, community_b):
    user = factories.make_member(role=Role.RESIDENT, community=community_b, username="resident_b")
    resident_b.user = user
    resident_b.save(update_fields=["user"])
    return user


@pytest.fixture
def neighbour(household_a, community_a):
    """A second resident of A with a login."""
    person = factories.ResidentFactory(household=household_a, name="王芳", phone="13700007777")
    person.user = factories.make_member(role=Role.RESIDENT, community=community_a, username="neighbour")
    person.save(update_fields=["user"])
    return person


@pytest.fixture
def course(space, community_a):
    return Course.objects.create(
        community=community_a, space=space, title="瑜伽初级", teacher="刘老师", capacity=1
    )


@pytest.fixture
def booking_a(space, resident_a, resident_user_a):
    return services.booking_create(
        actor=resident_user_a, space=space, starts_at=at(2, 10), ends_at=at(2, 11), resident=resident_a
    )[0]


def booking_data(start, end, **extra) -> dict:
    return {
        "starts_at": local(start),
        "ends_at": local(end),
        "purpose": "读书会",
        "attendees": "5",
        "submission_key": str(uuid.uuid4()),
        **extra,
    }


# --- Pages render ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["resident_user_a", "worker_user"])
def test_pages_render_for_resident_and_worker(request, as_user, persona, space, course):
    client = as_user(request.getfixturevalue(persona))
    start = local(at(1, 9))
    pages = [
        reverse("stations:space_list"),
        reverse("stations:space_week", args=[space.pk]),
        reverse("stations:space_week", args=[space.pk]) + "?week=2020-02-30",  # junk week: this week
        reverse("stations:booking_create", args=[space.pk]) + f"?start={start}",
        reverse("stations:booking_series", args=[space.pk]) + f"?start={start}",
        reverse("stations:course_list"),
        reverse("stations:course_detail", args=[course.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    assert space.name in client.get(reverse("stations:space_list")).text
    assert course.title in client.get(reverse("stations:course_list")).text


def test_booking_form_prefilled_from_the_week_cell(as_user, resident_user_a, space):
    start = at(1, 9)
    response = as_user(resident_user_a).get(
        reverse("stations:booking_create", args=[space.pk]) + f"?start={local(start)}"
    )
    form = response.context["form"]
    assert f'value="{local(start)}"' in response.text
    assert form.initial["ends_at"] == local(start + dt.timedelta(hours=1))
    # Lengths from 30 minutes to 4 hours on the 30-minute grid.
    values = [value for value, _label in form.fields["ends_at"].widget.choices]
    assert values[0] == local(start + dt.timedelta(minutes=30))
    assert values[-1] == local(start + dt.timedelta(hours=4))
    assert "resident" not in form.fields  # residents book for themselves
    assert 'name="submission_key"' in response.text


def test_end_choices_stop_at_the_next_booking_and_refresh_with_htmx(
    as_user, resident_user_a, space, booking_a
):
    url = reverse("stations:booking_create", args=[space.pk])
    response = as_user(resident_user_a).get(
        url, {"starts_at": local(at(2, 8))}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'id="end-field"' in response.text and "<html" not in response.text
    assert local(at(2, 10)) in response.text  # up to the next booking at 10:00 …
    assert local(at(2, 10, 30)) not in response.text  # … and not across it


def test_own_bookings_renders_for_resident_and_refuses_staff(
    as_user, resident_user_a, worker_user, booking_a
):
    response = as_user(resident_user_a).get(reverse("stations:own_bookings"))
    assert response.status_code == 200
    assert booking_a.space.name in response.text
    assert reverse("stations:booking_cancel", args=[booking_a.pk]) in response.text
    assert as_user(worker_user).get(reverse("stations:own_bookings")).status_code == 403


def test_nav_links(as_user, resident_user_a, worker_user):
    page = as_user(resident_user_a).get(reverse("stations:space_list")).text
    for name in ("space_list", "course_list", "own_bookings"):
        assert reverse(f"stations:{name}") in page
    page = as_user(worker_user).get(reverse("stations:space_list")).text
    assert reverse("stations:space_list") in page and reverse("stations:own_bookings") not in page


def test_space_list_shows_office_versus_service_area(as_user, resident_user_a, space, community_a):
    community_a.office_area_m2 = 75
    community_a.save()
    make_space(community_a, name="议事空间", kind="discussion", area_m2=60)
    make_space(community_a, name="旧库房", is_active=False)  # not counted: not in service
    response = as_user(resident_user_a).get(reverse("stations:space_list"))
    areas = response.context["areas"]
    assert [(a.office_area_m2, a.service_area) for a in areas] == [(75, 260)]
    assert "75" in response.text and "260" in response.text
    assert "旧库房" not in response.text  # residents see active spaces only


def test_spaces_of_other_community_not_listed(as_user, resident_user_b, worker_b, space):
    for user in (resident_user_b, worker_b.user):
        response = as_user(user).get(reverse("stations:space_list"))
        assert response.status_code == 200 and space.name not in response.text


# --- Scoping: another community gets 404 everywhere ---------------------------------------------


@pytest.fixture
def photo_space(space, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    space.photo = SimpleUploadedFile("hall.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, content_type="image/png")
    space.save()
    return space


@pytest.mark.parametrize("persona", ["resident_user_b", "worker_b_user"])
@pytest.mark.parametrize(
    ("name", "method", "target"),
    [
        ("space_week", "get", "space"),
        ("booking_create", "get", "space"),
        ("booking_create", "post", "space"),
        ("booking_series", "get", "space"),
        ("booking_series", "post", "space"),
        ("space_photo", "get", "space"),
        ("course_detail", "get", "course"),
        ("course_enrol", "post", "course"),
        ("course_leave", "post", "course"),
        ("booking_cancel", "post", "booking"),
    ],
)
def test_other_community_gets_404(
    request, as_user, persona, name, method, target, photo_space, course, booking_a, resident_a, worker_b
):
    user = worker_b.user if persona == "worker_b_user" else request.getfixturevalue(persona)
    Enrolment.objects.create(
        course=course, resident=resident_a, status=EnrolmentStatus.ENROLLED, enrolled_by=user
    )
    obj = {"space": photo_space, "course": course, "booking": booking_a}[target]
    url = reverse(f"stations:{name}", args=[obj.pk])
    client = as_user(user)
    response = client.post(url, booking_data(at(3, 9), at(3, 10))) if method == "post" else client.get(url)
    assert response.status_code == 404
    booking_a.refresh_from_db()
    assert booking_a.status == BookingStatus.CONFIRMED
    assert Booking.objects.count() == 1
    assert Enrolment.objects.filter(status=EnrolmentStatus.ENROLLED).count() == 1


@pytest.mark.parametrize("name", ["booking_cancel", "course_enrol", "course_leave"])
def test_post_only_views_reject_get(as_user, resident_user_a, name, course, booking_a):
    pk = booking_a.pk if name == "booking_cancel" else course.pk
    assert as_user(resident_user_a).get(reverse(f"stations:{name}", args=[pk])).status_code == 405


def test_anonymous_is_sent_to_login(client, space):
    response = client.get(reverse("stations:space_week", args=[space.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- Booking through the form ------------------------------------------------------------------


def test_resident_books_through_the_form(as_user, resident_user_a, resident_a, space):
    start, end = at(1, 9), at(1, 10, 30)
    response = as_user(resident_user_a).post(
        reverse("stations:booking_create", args=[space.pk]), booking_data(start, end)
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("stations:own_bookings")
    booking = Booking.objects.get()
    assert (booking.space, booking.resident, booking.booked_by) == (space, resident_a, resident_user_a)
    assert (booking.starts_at, booking.ends_at) == (start, end)
    assert (booking.status, booking.kind, booking.purpose, booking.attendees) == (
        BookingStatus.CONFIRMED,
        BookingKind.BOOKING,
        "读书会",
        5,
    )
    assert len(messages_of(response)) == 1


def test_approval_space_makes_a_pending_booking(as_user, resident_user_a, space):
    space.requires_approval = True
    space.save()
    response = as_user(resident_user_a).post(
        reverse("stations:booking_create", args=[space.pk]), booking_data(at(1, 9), at(1, 10))
    )
    assert response.status_code == 302
    assert Booking.objects.get().status == BookingStatus.PENDING


def test_same_submission_key_twice_makes_one_booking(as_user, resident_user_a, space):
    client = as_user(resident_user_a)
    data = booking_data(at(1, 9), at(1, 10))
    url = reverse("stations:booking_create", args=[space.pk])
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert Booking.objects.count() == 1


def test_taken_slot_shows_the_form_again(as_user, resident_user_a, space, neighbour, booking_a):
    response = as_user(neighbour.user).post(
        reverse("stations:booking_create", args=[space.pk]),
        booking_data(at(2, 10, 30), at(2, 11, 30)),
    )
    assert response.status_code == 409
    assert zh("This time was just taken. Please pick another time.") in response.text
    assert response.context["form"].is_bound
    assert Booking.objects.count() == 1


def test_a_slot_held_by_the_same_person_says_so(
    as_user, resident_user_a, resident_a, space, booking_a, worker_a
):
    """A second tab or a forgotten booking: the person is told it is theirs, not to pick another time."""
    response = as_user(resident_user_a).post(
        reverse("stations:booking_create", args=[space.pk]), booking_data(at(2, 10, 30), at(2, 11, 30))
    )
    assert response.status_code == 409
    assert (
        zh("You already have a booking here at this time. You can find it under My bookings.")
        in response.text
    )
    assert zh("This time was just taken. Please pick another time.") not in response.text
    with pytest.raises(
        ValidationError
    ) as refused:  # staff booking for them are told the same, in their words
        services.booking_create(
            actor=worker_a.user, space=space, starts_at=at(2, 10), ends_at=at(2, 11), resident=resident_a
        )
    assert refused.value.code == "taken"
    assert refused.value.messages == [zh("This person already has a booking here at this time.")]
    assert Booking.objects.count() == 1


def test_service_rules_show_on_the_form(as_user, resident_user_a, space):
    url = reverse("stations:booking_create", args=[space.pk])
    response = as_user(resident_user_a).post(url, booking_data(at(1, 6), at(1, 7)))  # before opening
    assert response.status_code == 200
    assert response.context["form"].errors["starts_at"]
    response = as_user(resident_user_a).post(url, booking_data(at(1, 9), at(1, 9)))  # end = start
    assert response.context["form"].errors["ends_at"]
    response = as_user(resident_user_a).post(url, booking_data(at(1, 9), at(1, 10), attendees="31"))
    assert response.context["form"].errors["attendees"]
    assert not Booking.objects.exists()


def test_staff_books_on_behalf_of_a_resident(as_user, worker_user, resident_a, space):
    client = as_user(worker_user)
    form = client.get(reverse("stations:booking_create", args=[space.pk])).context["form"]
    assert list(form.fields["resident"].queryset) == [resident_a]
    start = at(1, 14)
    response = client.post(
        reverse("stations:booking_create", args=[space.pk]),
        booking_data(start, at(1, 15), resident=str(resident_a.pk)),
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("stations:space_week", args=[space.pk]) + "?week=")
    booking = Booking.objects.get()
    assert (booking.resident, booking.booked_by, booking.status) == (
        resident_a,
        worker_user,
        BookingStatus.CONFIRMED,
    )


def test_staff_cannot_book_for_another_communitys_resident(as_user, worker_user, resident_b, space):
    response = as_user(worker_user).post(
        reverse("stations:booking_create", args=[space.pk]),
        booking_data(at(1, 14), at(1, 15), resident=str(resident_b.pk)),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["resident"]
    assert not Booking.objects.exists()


def test_resident_field_is_ignored_for_residents(as_user, resident_user_a, resident_a, neighbour, space):
    response = as_user(resident_user_a).post(
        reverse("stations:booking_create", args=[space.pk]),
        booking_data(at(1, 9), at(1, 10), resident=str(neighbour.pk)),
    )
    assert response.status_code == 302
    assert Booking.objects.get().resident == resident_a


def test_user_without_resident_record_cannot_book(as_user, community_a, space):
    # A logged-in member of A who is neither staff nor a registered resident sees no space.
    user = factories.make_member(role=Role.RESIDENT, community=community_a, username="nobody")
    assert as_user(user).get(reverse("stations:booking_create", args=[space.pk])).status_code == 404


# --- Cancel ------------------------------------------------------------------------------------


def test_resident_cannot_cancel_someone_elses_booking(as_user, neighbour, booking_a):
    response = as_user(neighbour.user).post(reverse("stations:booking_cancel", args=[booking_a.pk]))
    assert response.status_code == 404
    booking_a.refresh_from_db()
    assert booking_a.status == BookingStatus.CONFIRMED


def test_resident_cancels_own_booking(as_user, resident_user_a, booking_a):
    response = as_user(resident_user_a).post(reverse("stations:booking_cancel", args=[booking_a.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("stations:own_bookings")
    booking_a.refresh_from_db()
    assert booking_a.status == BookingStatus.CANCELLED
    # A second cancel says why it cannot, and changes nothing.
    response = as_user(resident_user_a).post(reverse("stations:booking_cancel", args=[booking_a.pk]))
    assert response.status_code == 302
    assert messages_of(response)[-1] == zh("Only a pending or confirmed booking can be cancelled.")


def test_staff_cancels_and_returns_to_the_week(as_user, worker_user, booking_a, space):
    response = as_user(worker_user).post(reverse("stations:booking_cancel", args=[booking_a.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("stations:space_week", args=[space.pk]))
    booking_a.refresh_from_db()
    assert booking_a.status == BookingStatus.CANCELLED


# --- Weekly series -----------------------------------------------------------------------------


@pytest.fixture
def series_clash(space, neighbour, worker_user):
    """Someone else holds the third date of a 4-week series starting tomorrow at 19:00."""
    return services.booking_create(
        actor=worker_user, space=space, starts_at=at(15, 19), ends_at=at(15, 20), resident=neighbour
    )[0]


def series_data(**extra) -> dict:
    data = booking_data(at(1, 19), at(1, 20), weeks="4", **extra)
    del data["submission_key"]
    return data


def test_series_preview_lists_the_clash(as_user, resident_user_a, space, series_clash):
    response = as_user(resident_user_a).post(
        reverse("stations:booking_series", args=[space.pk]), series_data(action="check")
    )
    assert response.status_code == 200
    assert [item["clash"] for item in response.context["preview"]] == [False, False, True, False]
    assert response.context["clashes"] == 1
    assert response.text.count("✗") == 1 and response.text.count("✓") == 3
    assert Booking.objects.count() == 1


def test_series_book_all_refused_when_a_date_clashes(
    as_user, resident_user_a, resident_a, space, series_clash
):
    response = as_user(resident_user_a).post(
        reverse("stations:booking_series", args=[space.pk]), series_data(action="all")
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Booking.objects.filter(resident=resident_a).exists()
    assert not BookingSeries.objects.exists()


def test_series_skip_clashes_makes_the_others(as_user, resident_user_a, resident_a, space, series_clash):
    response = as_user(resident_user_a).post(
        reverse("stations:booking_series", args=[space.pk]), series_data(action="skip")
    )
    assert response.status_code == 302 and response["Location"] == reverse("stations:own_bookings")
    made = list(Booking.objects.filter(resident=resident_a).order_by("starts_at"))
    assert [b.starts_at for b in made] == [at(1, 19), at(8, 19), at(22, 19)]
    series = BookingSeries.objects.get()
    assert {b.series_id for b in made} == {series.pk} and series.weeks == 4
    assert made[0].booked_by == resident_user_a
    (message,) = messages_of(response)
    assert timezone.localtime(at(15, 19)).strftime("%Y-%m-%d") in message


@pytest.mark.parametrize("action", ["all", "skip"])
def test_series_form_submitted_twice_books_the_series_once(
    as_user, resident_user_a, resident_a, space, series_clash, action
):
    client = as_user(resident_user_a)
    data = series_data(action=action) | {"submission_key": str(uuid.uuid4())}
    responses = [client.post(reverse("stations:booking_series", args=[space.pk]), data) for _ in range(2)]
    if action == "all":  # refused for the clash, twice, and nothing saved
        assert [r.status_code for r in responses] == [200, 200] and not BookingSeries.objects.exists()
        return
    # The second is told what the first did (three booked, the clash skipped), not that all four are taken.
    assert [r.status_code for r in responses] == [302, 302]
    assert messages_of(responses[0]) == messages_of(responses[1])[-1:]
    assert BookingSeries.objects.count() == 1
    assert Booking.objects.filter(resident=resident_a).count() == 3


def test_series_form_with_its_key_books_once(as_user, resident_user_a, resident_a, space):
    client = as_user(resident_user_a)
    data = series_data(action="all") | {"submission_key": str(uuid.uuid4())}
    for _ in range(2):
        assert client.post(reverse("stations:booking_series", args=[space.pk]), data).status_code == 302
    assert BookingSeries.objects.count() == 1 and Booking.objects.filter(resident=resident_a).count() == 4


def test_staff_books_a_series_for_a_resident(as_user, worker_user, resident_a, space):
    response = as_user(worker_user).post(
        reverse("stations:booking_series", args=[space.pk]),
        series_data(action="all", resident=str(resident_a.pk)),
    )
    assert response.status_code == 302
    made = Booking.objects.filter(resident=resident_a)
    assert made.count() == 4 and {b.booked_by for b in made} == {worker_user}


# --- Courses -----------------------------------------------------------------------------------


def test_enrol_waitlist_and_leave_with_promotion(as_user, resident_user_a, resident_a, neighbour, course):
    enrol_url = reverse("stations:course_enrol", args=[course.pk])
    leave_url = reverse("stations:course_leave", args=[course.pk])
    response = as_user(resident_user_a).post(enrol_url)
    assert response.status_code == 302 and response["Location"] == course.get_absolute_url()
    mine = Enrolment.objects.get(resident=resident_a)
    assert mine.status == EnrolmentStatus.ENROLLED

    client = as_user(neighbour.user)
    page = client.get(course.get_absolute_url())
    assert zh("Join the waiting list") in page.text
    response = client.post(enrol_url)
    theirs = Enrolment.objects.get(resident=neighbour)
    assert theirs.status == EnrolmentStatus.WAITLISTED
    assert "1" in messages_of(response)[0]
    own_page = client.get(reverse("stations:own_bookings"))
    assert own_page.context["enrolments"][0].position == 1

    list_page = as_user(resident_user_a).get(reverse("stations:course_list"))
    listed = list_page.context["page"].object_list[0]
    assert (listed.places_left, listed.enrolled_count, listed.waiting_count, listed.my_status) == (
        0,
        1,
        1,
        EnrolmentStatus.ENROLLED,
    )

    response = as_user(resident_user_a).post(leave_url)
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert zh("Your place went to the next person on the waiting list.") in message
    assert neighbour.name not in message
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == EnrolmentStatus.LEFT and mine.left_at is not None
    assert theirs.status == EnrolmentStatus.ENROLLED and theirs.promoted_at is not None
    # Leaving again: there is no current enrolment to leave.
    assert as_user(resident_user_a).post(leave_url).status_code == 404


def test_leave_from_my_bookings_returns_there(as_user, resident_user_a, resident_a, course):
    Enrolment.objects.create(
        course=course, resident=resident_a, status=EnrolmentStatus.ENROLLED, enrolled_by=resident_user_a
    )
    response = as_user(resident_user_a).post(
        reverse("stations:course_leave", args=[course.pk]), {"next": reverse("stations:own_bookings")}
    )
    assert response["Location"] == reverse("stations:own_bookings")
    response = as_user(resident_user_a).post(
        reverse("stations:course_leave", args=[course.pk]), {"next": "https://evil.example/"}
    )
    assert response.status_code == 404  # already left; and never an outside redirect


def test_course_detail_shows_sessions_and_participants_to_staff(
    as_user, worker_user, resident_user_a, resident_a, course
):
    for day in (3, 4, 5, 6):
        courses.course_session_add(
            actor=worker_user, course=course, starts_at=at(day, 18), ends_at=at(day, 19)
        )
    courses.course_session_add(actor=worker_user, course=course, starts_at=at(-1, 18), ends_at=at(-1, 19))
    Enrolment.objects.create(
        course=course, resident=resident_a, status=EnrolmentStatus.ENROLLED, enrolled_by=resident_user_a
    )
    staff_page = as_user(worker_user).get(course.get_absolute_url())
    assert resident_a.name in staff_page.text and "13812341234" not in staff_page.text
    resident_page = as_user(resident_user_a).get(course.get_absolute_url())
    assert len(resident_page.context["course"].upcoming_sessions) == 4  # not yesterday's
    assert zh("Leave the course") in resident_page.text
    listed = as_user(resident_user_a).get(reverse("stations:course_list"))
    assert listed.text.count(f"{timezone.localtime(at(3, 18)):%m-%d}") == 1
    assert f"{timezone.localtime(at(6, 18)):%m-%d}" not in listed.text  # the list shows the next three
    assert zh("Leave the course") in resident_page.text


def test_course_list_query_count_is_constant(
    as_user, resident_user_a, community_a, space, django_assert_num_queries
):
    def add_courses(n):
        for i in range(n):
            Course.objects.create(community=community_a, space=space, title=f"课程{i:02d}", capacity=5)

    client = as_user(resident_user_a)
    add_courses(2)
    with CaptureQueriesContext(connection) as two:
        client.get(reverse("stations:course_list"))
    add_courses(8)
    with django_assert_num_queries(len(two.captured_queries)):
        client.get(reverse("stations:course_list"))


# --- The week grid -----------------------------------------------------------------------------


def next_monday() -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=7 - today.weekday())


def fill_week(space, monday, count, booked_by, community) -> None:
    slots = [(day, hour) for hour in range(8, 20) for day in range(7)][:count]
    for day, hour in slots:
        start = timezone.make_aware(dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour)))
        Booking.objects.create(
            space=space,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=30),
            resident=factories.ResidentFactory(
                household=factories.HouseholdFactory(building__community=community)
            ),
            booked_by=booked_by,
        )


@pytest.mark.parametrize("persona", ["resident_user_a", "worker_user"])
def test_week_view_query_count_is_the_same_for_2_and_20_bookings(
    request, as_user, persona, space, community_a, django_assert_num_queries
):
    user = request.getfixturevalue(persona)
    client = as_user(user)
    monday = next_monday()
    url = reverse("stations:space_week", args=[space.pk]) + f"?week={monday:%Y-%m-%d}"
    fill_week(space, monday, 2, user, community_a)
    client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as two:
        response = client.get(url)
    assert sum(cell.state == "taken" for row in response.context["grid"].rows for cell in row.cells) == 2
    Booking.objects.all().delete()
    fill_week(space, monday, 20, user, community_a)
    with django_assert_num_queries(len(two.captured_queries)):
        response = client.get(url)
    assert sum(cell.state == "taken" for row in response.context["grid"].rows for cell in row.cells) == 20


def test_week_grid_cells(as_user, resident_user_a, worker_user, resident_a, neighbour, space, course):
    monday = next_monday()
    day = lambda n, hour, minute=0: timezone.make_aware(  # noqa: E731
        dt.datetime.combine(monday + dt.timedelta(days=n), dt.time(hour, minute))
    )
    Booking.objects.create(
        space=space, starts_at=day(0, 9), ends_at=day(0, 10), resident=neighbour, booked_by=worker_user
    )
    Booking.objects.create(
        space=space, starts_at=day(1, 9), ends_at=day(1, 10), resident=resident_a, booked_by=worker_user
    )
    Booking.objects.create(
        space=space,
        kind=BookingKind.COURSE,
        course=course,
        starts_at=day(2, 18),
        ends_at=day(2, 19),
        booked_by=worker_user,
    )
    Booking.objects.create(
        space=space,
        kind=BookingKind.BLOCK,
        starts_at=day(3, 8),
        ends_at=day(3, 12),
        purpose="维修",
        booked_by=worker_user,
    )
    Booking.objects.create(
        space=space,
        starts_at=day(4, 9),
        ends_at=day(4, 10),
        resident=neighbour,
        booked_by=worker_user,
        status=BookingStatus.CANCELLED,
    )
    url = (
        reverse("stations:space_week", args=[space.pk]) + f"?week={(monday + dt.timedelta(days=3)):%Y-%m-%d}"
    )

    response = as_user(resident_user_a).get(url)
    grid = response.context["grid"]
    assert grid.monday == monday and len(grid.days) == 7
    assert [row.time for row in grid.rows][:2] == [dt.time(8), dt.time(8, 30)]
    assert grid.rows[-1].time == dt.time(20, 30)
    by_time = {row.time: row.cells for row in grid.rows}
    assert by_time[dt.time(9)][0].state == "taken" and by_time[dt.time(9)][0].label == zh("Booked")
    assert by_time[dt.time(9, 30)][0].first is False
    assert by_time[dt.time(9)][1].own and by_time[dt.time(9)][1].label == zh("Your booking")
    assert by_time[dt.time(18)][2].label == course.title
    assert by_time[dt.time(11, 30)][3].label == zh("Blocked")
    assert by_time[dt.time(9)][4].state == "free"  # cancelled bookings free their time
    assert neighbour.name not in response.text  # never another resident's name to residents
    free = by_time[dt.time(9)][4]
    assert f"?start={free.start_param}" in response.text
    assert response.context["feed_url"].endswith(f"/spaces/feed/{space.feed_token}.ics")

    staff_page = as_user(worker_user).get(url)
    assert neighbour.name in staff_page.text  # staff may see who booked


def test_week_grid_past_and_closed(as_user, resident_user_a, worker_user, space):
    today = timezone.localdate()
    OpeningHours.objects.filter(space=space, weekday=(today + dt.timedelta(days=1)).weekday()).update(
        opens=dt.time(12)
    )
    response = as_user(resident_user_a).get(reverse("stations:space_week", args=[space.pk]))
    grid = response.context["grid"]
    column = grid.days.index(today)
    first_row = grid.rows[0].cells
    assert first_row[column].state in {"past", "free"}
    if column > 0:
        assert first_row[column - 1].state == "past"
    if column < 6:
        assert first_row[column + 1].state == "closed"  # tomorrow opens at 12:00


def test_week_beyond_the_horizon_is_not_bookable_for_residents(as_user, resident_user_a, worker_user, space):
    far = f"?week={timezone.localdate() + dt.timedelta(days=28):%Y-%m-%d}"
    url = reverse("stations:space_week", args=[space.pk]) + far
    assert {c.state for r in as_user(resident_user_a).get(url).context["grid"].rows for c in r.cells} == {
        "later"
    }
    assert {c.state for r in as_user(worker_user).get(url).context["grid"].rows for c in r.cells} == {"free"}


# --- Photo ---------------------------------------------------------------------------------------


def test_space_photo_served_privately(as_user, resident_user_a, photo_space):
    response = as_user(resident_user_a).get(reverse("stations:space_photo", args=[photo_space.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_space_photo_404_without_photo(as_user, resident_user_a, space):
    assert as_user(resident_user_a).get(reverse("stations:space_photo", args=[space.pk])).status_code == 404


# --- ICS feed ----------------------------------------------------------------------------------


def parse_ics(text: str) -> list[dict]:
    """Unfold (CRLF + space), then one dict per VEVENT."""
    assert "\r\n" in text
    lines = text.replace("\r\n ", "").split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    events, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            key, _sep, value = line.partition(":")
            current[key] = value
    return events


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def test_feed_publishes_times_without_personal_data(client, space, resident_a, worker_user, course):
    space.name = "活动大厅, 二层"
    space.save()
    kept = [
        Booking.objects.create(
            space=space,
            starts_at=at(2, 9),
            ends_at=at(2, 10),
            resident=resident_a,
            booked_by=worker_user,
            purpose="张焱的生日会",
        ),
        Booking.objects.create(
            space=space,
            starts_at=at(3, 9),
            ends_at=at(3, 10),
            resident=resident_a,
            booked_by=worker_user,
            status=BookingStatus.PENDING,
        ),
        Booking.objects.create(
            space=space,
            kind=BookingKind.COURSE,
            course=course,
            starts_at=at(-20, 18),
            ends_at=at(-20, 19),
            booked_by=worker_user,
        ),
        Booking.objects.create(
            space=space, kind=BookingKind.BLOCK, starts_at=at(4, 8), ends_at=at(4, 12), booked_by=worker_user
        ),
    ]
    Booking.objects.create(  # cancelled, too old and too far ahead: left out
        space=space,
        starts_at=at(5, 9),
        ends_at=at(5, 10),
        booked_by=worker_user,
        status=BookingStatus.CANCELLED,
    )
    Booking.objects.create(space=space, starts_at=at(-40, 9), ends_at=at(-40, 10), booked_by=worker_user)
    Booking.objects.create(space=space, starts_at=at(100, 9), ends_at=at(100, 10), booked_by=worker_user)

    response = client.get(reverse("stations:space_feed", args=[space.feed_token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.content.decode("utf-8")
    assert resident_a.name not in text and resident_a.phone not in text
    assert "VERSION:2.0" in text and "PRODID:" in text
    assert "X-WR-CALNAME:活动大厅\\, 二层" in text.replace("\r\n ", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    events = parse_ics(text)
    assert [e["UID"] for e in events] == [
        f"booking-{b.pk}@onedesk" for b in sorted(kept, key=lambda b: b.starts_at)
    ]
    by_uid = {e["UID"]: e for e in events}
    expected_summary = [zh("Booked"), zh("Booked"), course.title, zh("Blocked")]
    expected_status = ["CONFIRMED", "TENTATIVE", "CONFIRMED", "CONFIRMED"]
    for booking, summary, status in zip(kept, expected_summary, expected_status, strict=True):
        event = by_uid[f"booking-{booking.pk}@onedesk"]
        assert event["DTSTART"] == utc(booking.starts_at)
        assert event["DTEND"] == utc(booking.ends_at)
        assert event["SUMMARY"] == summary
        assert event["STATUS"] == status
        assert event["DTSTAMP"].endswith("Z")


def test_feed_unknown_token_404(client, space):
    assert client.get(reverse("stations:space_feed", args=["nope"])).status_code == 404
    assert client.post(reverse("stations:space_feed", args=[space.feed_token])).status_code == 405


def test_week_grid_closes_the_closed_dates_of_its_week_only(as_user, worker_user, space, space_b):
    """The week's closed dates come from SQL compiled once with date keys (community.lib.compiled):
    each week and each space gets its own."""
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    ClosedDate.objects.create(space=space, date=monday + dt.timedelta(days=2), reason="清洁")
    ClosedDate.objects.create(space=space, date=monday + dt.timedelta(days=9), reason="下周")
    ClosedDate.objects.create(space=space_b, date=monday + dt.timedelta(days=3), reason="别处")
    weeks = [
        (space, monday, 2),
        (space, monday + dt.timedelta(days=7), 2),
        (space, monday - dt.timedelta(days=7), None),
    ]
    for place, week, closed_day in [*weeks, (space_b, monday, 3)]:
        grid = week_grid(place, monday=week, user=worker_user, staff=True, now=timezone.now())
        states = [{row.cells[day].state for row in grid.rows} for day in range(7)]
        assert [day for day in range(7) if states[day] == {"closed"}] == (
            [] if closed_day is None else [closed_day]
        )
