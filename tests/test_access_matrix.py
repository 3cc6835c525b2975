"""Trust: every URL of the app, walked as every persona, with the outcome each one must get.

ACCESS lists every named URL pattern once: how to build its kwargs from community A's objects, the
method to try, and the status each persona must get. A new URL without a row fails
``test_every_url_has_a_row``; a view whose behaviour differs from its row fails
``test_access_matrix``; no response may be a 5xx.

Admin URLs (``admin:*``) are left out as a group: Django's admin has its own staff check
(``AdminSite.admin_view``); ``test_admin_refuses_non_staff`` pins it for a few of them.
"""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from residents.models import ImportBatch
from stations.choices import BookingKind, BookingStatus, EnrolmentStatus, Role
from stations.models import (
    Booking,
    Category,
    Course,
    Enrolment,
    Notification,
    OpeningHours,
    RecurringErrand,
    RequestEvent,
    RequestNote,
    RequestPhoto,
    Space,
    Visit,
)
from stations.services.categories import categories_seed
from stations.services.requests import extension_request, service_request_create
from tests import factories

PERSONAS = ("anon", "res_a", "res_b", "worker_a", "worker_b", "head_a")
EXCLUDED_NAMESPACES = {"admin"}


def _is(anon, res_a, res_b, worker_a, worker_b, head_a) -> dict:
    return dict(zip(PERSONAS, (anon, res_a, res_b, worker_a, worker_b, head_a), strict=True))


def _pk(attr):
    return lambda o: {"pk": getattr(o, attr).pk}


def _req(**extra):
    return lambda o: {"pk": o.request.pk, **{k: getattr(o, v).pk for k, v in extra.items()}}


def _month(o):
    today = timezone.localdate()
    return {"year": today.year, "month": today.month}


NONE = lambda o: {}  # noqa: E731

# name → (kwargs from the World of community A, method, expected status per persona:
#         anon, resident A, resident B, worker A, worker B, committee head A)
ACCESS: dict[str, tuple] = {
    # --- project-level ---
    # home sends each role to its start page (200 here: the test client does not follow redirects).
    "home": (NONE, "GET", _is(302, 200, 200, 200, 200, 200)),
    "login": (NONE, "GET", _is(200, 302, 302, 302, 302, 302)),
    "logout": (NONE, "POST", _is(302, 302, 302, 302, 302, 302)),
    "set_language": (NONE, "POST", _is(302, 302, 302, 302, 302, 302)),
    "favicon": (NONE, "GET", _is(302, 302, 302, 302, 302, 302)),  # to the static icon, for everyone
    # --- residents ---
    "residents:resident_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "residents:resident_create": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "residents:resident_detail": (_pk("resident"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "residents:resident_update": (_pk("resident"), "GET", _is(302, 403, 403, 200, 404, 200)),
    # Erasing and exporting need residents.erase_resident / export_personal_data (the head only); an
    # empty POST (no reason) is a 422 and erases or exports nothing.
    "residents:resident_erase": (_pk("resident"), "POST", _is(302, 403, 403, 403, 403, 422)),
    "residents:resident_export": (NONE, "POST", _is(302, 403, 403, 403, 403, 422)),
    # reveal needs residents.reveal_personal_data (the head only); an empty reason is a 422.
    "residents:resident_reveal": (
        lambda o: {"pk": o.resident.pk, "field": "phone"},
        "POST",
        _is(302, 403, 403, 403, 403, 422),
    ),
    "residents:access_log": (NONE, "GET", _is(302, 403, 403, 403, 403, 200)),
    # The history of changes is the committee head's (view_historical* permissions): workers get 403.
    "residents:resident_history": (_pk("resident"), "GET", _is(302, 403, 403, 403, 403, 200)),
    "residents:community_detail": (_pk("community"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "residents:home_check": (_pk("community"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "residents:building_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "residents:building_detail": (_pk("building"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "residents:household_create": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "residents:household_detail": (_pk("household"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "residents:household_update": (_pk("household"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "residents:household_history": (_pk("household"), "GET", _is(302, 403, 403, 403, 403, 200)),
    "residents:import_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "residents:import_detail": (_pk("batch"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "residents:import_check": (_pk("batch"), "POST", _is(302, 403, 403, 302, 404, 302)),
    "residents:import_apply": (_pk("batch"), "POST", _is(302, 403, 403, 302, 404, 302)),
    # --- stations: people ---
    "stations:worker_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:worker_detail": (_pk("worker"), "GET", _is(302, 403, 403, 200, 404, 200)),
    # resident B: the worker is looked up before the permission check, so 404, never a leak.
    "stations:leave_create": (_pk("worker"), "GET", _is(302, 403, 404, 200, 404, 200)),
    "stations:notification_list": (NONE, "GET", _is(302, 200, 200, 200, 200, 200)),
    # --- stations: requests ---
    "stations:request_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:my_queue": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:request_create": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:resident_lookup": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:request_detail": (_req(), "GET", _is(302, 403, 403, 200, 404, 200)),
    # An empty POST to a write the persona may do redirects (302): back with the form's error message,
    # or, for a write without fields (cancel, enrol, leave), after doing it. The walk posts in name order
    # against the same objects, so each row is the outcome after the rows before it.
    "stations:request_transition": (_req(), "POST", _is(302, 403, 403, 302, 404, 302)),
    "stations:request_assign": (_req(), "POST", _is(302, 403, 403, 302, 404, 302)),
    "stations:request_urge": (_req(), "POST", _is(302, 403, 403, 403, 404, 302)),
    "stations:extension_create": (_req(), "POST", _is(302, 403, 403, 302, 404, 302)),
    "stations:extension_decide": (_req(extension_pk="extension"), "POST", _is(302, 403, 403, 302, 404, 302)),
    "stations:request_callback": (_req(), "POST", _is(302, 403, 403, 302, 404, 302)),
    "stations:note_create": (_req(), "POST", _is(302, 403, 403, 302, 404, 302)),
    "stations:note_update": (_req(note_pk="note"), "GET", _is(302, 403, 403, 200, 404, 403)),
    "stations:photo_create": (_req(), "POST", _is(302, 403, 403, 302, 404, 302)),
    # resident A is the requester: a resident sees the photos of their own requests.
    "stations:request_photo": (_req(photo_pk="photo"), "GET", _is(302, 200, 404, 200, 404, 200)),
    "stations:request_receipt": (_req(), "GET", _is(302, 403, 403, 200, 404, 200)),
    "stations:request_history": (_req(), "GET", _is(302, 403, 403, 403, 403, 200)),
    # --- stations: walking service ---
    "stations:visit_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:visit_create": (NONE, "GET", _is(302, 403, 403, 200, 200, 403)),
    "stations:visit_detail": (_pk("visit"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "stations:household_activity": (_pk("household"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "stations:proactive_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:errand_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:errand_create": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    # --- stations: residents' side and public tracking ---
    "stations:own_request_list": (NONE, "GET", _is(302, 200, 200, 403, 403, 403)),
    "stations:own_request_create": (NONE, "GET", _is(302, 200, 200, 403, 403, 403)),
    "stations:own_request_detail": (
        lambda o: {"token": o.request.token},
        "GET",
        _is(302, 200, 404, 403, 403, 403),
    ),
    "stations:own_request_rate": (
        lambda o: {"token": o.request.token},
        "POST",
        _is(302, 200, 404, 403, 403, 403),
    ),
    "stations:track": (NONE, "GET", _is(200, 200, 200, 200, 200, 200)),
    # --- stations: spaces and courses ---
    "stations:space_list": (NONE, "GET", _is(302, 200, 200, 200, 200, 200)),
    "stations:space_week": (_pk("space"), "GET", _is(302, 200, 404, 200, 404, 200)),
    "stations:booking_create": (_pk("space"), "GET", _is(302, 200, 404, 200, 404, 200)),
    "stations:booking_series": (_pk("space"), "GET", _is(302, 200, 404, 200, 404, 200)),
    "stations:space_photo": (_pk("space"), "GET", _is(302, 200, 404, 200, 404, 200)),
    "stations:space_feed": (
        lambda o: {"token": o.space.feed_token},
        "GET",
        _is(200, 200, 200, 200, 200, 200),
    ),
    "stations:own_bookings": (NONE, "GET", _is(302, 200, 200, 403, 403, 403)),
    "stations:booking_cancel": (_pk("booking"), "POST", _is(302, 302, 404, 302, 404, 302)),
    "stations:course_list": (NONE, "GET", _is(302, 200, 200, 200, 200, 200)),
    "stations:course_detail": (_pk("course"), "GET", _is(302, 200, 404, 200, 404, 200)),
    "stations:course_enrol": (_pk("course"), "POST", _is(302, 302, 404, 403, 404, 403)),
    # staff have no enrolment of their own to leave: 404.
    "stations:course_leave": (_pk("course"), "POST", _is(302, 302, 404, 404, 404, 404)),
    "stations:approval_list": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:booking_decide": (_pk("booking"), "POST", _is(302, 403, 403, 302, 404, 302)),
    "stations:booking_check_in": (_pk("booking"), "POST", _is(302, 403, 403, 302, 404, 302)),
    "stations:booking_history": (_pk("booking"), "GET", _is(302, 403, 403, 403, 403, 200)),
    "stations:today_schedule": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:space_block": (_pk("space"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "stations:utilisation": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:course_create": (NONE, "GET", _is(302, 403, 403, 403, 403, 200)),
    "stations:course_session_create": (_pk("course"), "GET", _is(302, 403, 403, 200, 404, 200)),
    "stations:session_attendance": (_pk("session"), "GET", _is(302, 403, 403, 200, 404, 200)),
    # --- stations: dashboards and the monthly report ---
    "stations:dashboard": (NONE, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:community_dashboard": (_pk("community"), "GET", _is(302, 403, 403, 200, 404, 200)),
    # a community's staff are redirected to their own dashboard.
    "stations:subdistrict_dashboard": (NONE, "GET", _is(302, 403, 403, 302, 302, 302)),
    "stations:monthly_report": (_month, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:monthly_report_xlsx": (_month, "GET", _is(302, 403, 403, 200, 200, 200)),
    "stations:monthly_report_csv": (_month, "GET", _is(302, 403, 403, 200, 200, 200)),
}


# Where an anonymous 302 is not "go and log in".
PUBLIC_REDIRECTS = {"logout", "set_language", "favicon"}
# Persons outside community A, and text only community A's pages may show.
OUTSIDERS = ("res_b", "worker_b")
A_MARKERS = ("给张焱代药A7", "欧阳焱焱", "已联系药房A7", "走访正常A7", "瑜伽A7", "读书会A7", "大厅A7")
INTERNAL_NOTE = "已联系药房A7"  # a staff-only note: never on a resident's page
A_PUBLIC = {"stations:space_feed"}  # the public calendar of A's space, by its secret token


def url_names() -> set[str]:
    """Every named URL pattern of the project, namespaced, admin excluded."""
    names: set[str] = set()

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace in EXCLUDED_NAMESPACES:
                    continue
                ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
                walk(entry.url_patterns, ns)
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(prefix + entry.name)

    walk(get_resolver().url_patterns, "")
    return names


def test_every_url_has_a_row():
    names = url_names()
    assert names - ACCESS.keys() == set(), "URL patterns without a row in ACCESS"
    assert ACCESS.keys() - names == set(), "rows in ACCESS for URL patterns that no longer exist"


@pytest.fixture
def world(
    settings,
    tmp_path,
    community_a,
    building_a,
    household_a,
    resident_a,
    resident_user_a,
    worker_a,
    head_a,
    resident_b,
    community_b,
    worker_b,
):
    """One of everything in community A, plus the personas."""
    settings.MEDIA_ROOT = str(tmp_path)
    resident_a.name = "欧阳焱焱"  # a name no placeholder uses, so a leak of it is a leak
    resident_a.save(update_fields=["name"])
    categories_seed(community=community_a)
    category = Category.objects.get(community=community_a, name="代开药")
    service_request, _ = service_request_create(
        actor=worker_a.user,
        community=community_a,
        category=category,
        title="给张焱代药A7",
        requester=resident_a,
        household=household_a,
        building=building_a,
        contact_name="张焱",
        contact_phone="13812341234",
        assignee=worker_a,
    )
    extension = extension_request(
        service_request=service_request,
        actor=worker_a.user,
        new_due_at=service_request.resolution_due_at + dt.timedelta(days=3),
        reason="药房缺货",
    )
    note = RequestNote.objects.create(request=service_request, author=worker_a.user, body=INTERNAL_NOTE)
    photo = RequestPhoto(request=service_request, width=1, height=1, uploaded_by=worker_a.user)
    photo.image.save("p.jpg", ContentFile(b"\xff\xd8\xff\xe0fakejpeg"), save=False)
    photo.save()
    event = RequestEvent.objects.filter(request=service_request).first()
    Notification.objects.create(user=worker_a.user, event=event)
    visit = Visit.objects.create(
        community=community_a,
        household=household_a,
        building=building_a,
        worker=worker_a,
        visited_at=timezone.now(),
        found="走访正常A7",
    )
    RecurringErrand.objects.create(
        community=community_a,
        resident=resident_a,
        category=category,
        title="每月代开药",
        every_days=30,
        next_due_on=timezone.localdate(),
        created_by=worker_a.user,
    )
    space = Space.objects.create(community=community_a, name="大厅A7", capacity=30, area_m2=200)
    space.photo.save("s.jpg", ContentFile(b"\xff\xd8\xff\xe0fakejpeg"))
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=space, weekday=d, opens=dt.time(8), closes=dt.time(21)) for d in range(7)]
    )
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    booking = Booking.objects.create(
        space=space,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        resident=resident_a,
        booked_by=resident_user_a,
        status=BookingStatus.CONFIRMED,
        purpose="读书会A7",
    )
    course = Course.objects.create(community=community_a, space=space, title="瑜伽A7", capacity=10)
    session = Booking.objects.create(
        space=space,
        kind=BookingKind.COURSE,
        course=course,
        starts_at=start + dt.timedelta(days=1),
        ends_at=start + dt.timedelta(days=1, hours=1),
        booked_by=worker_a.user,
        status=BookingStatus.CONFIRMED,
    )
    Enrolment.objects.create(
        course=course, resident=resident_a, status=EnrolmentStatus.ENROLLED, enrolled_by=resident_user_a
    )
    batch = ImportBatch.objects.create(community=community_a, created_by=worker_a.user, filename="a.xlsx")
    res_b = factories.make_member(role=Role.RESIDENT, community=community_b, username="resident_b")
    resident_b.user = res_b
    resident_b.save(update_fields=["user"])
    return SimpleNamespace(
        community=community_a,
        building=building_a,
        household=household_a,
        resident=resident_a,
        worker=worker_a,
        request=service_request,
        extension=extension,
        note=note,
        photo=photo,
        visit=visit,
        space=space,
        booking=booking,
        course=course,
        session=session,
        batch=batch,
        users={
            "anon": None,
            "res_a": resident_user_a,
            "res_b": res_b,
            "worker_a": worker_a.user,
            "worker_b": worker_b.user,
            "head_a": head_a,
        },
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_access_matrix(client, world, persona):
    user = world.users[persona]
    if user is not None:
        client.force_login(user)
    login_url = reverse("login")
    wrong = []
    for name, (kwargs, method, expected) in sorted(ACCESS.items()):
        url = reverse(name, kwargs=kwargs(world))
        response = client.post(url) if method == "POST" else client.get(url)
        assert response.status_code < 500, f"{name} as {persona}: {response.status_code}"
        if persona == "anon" and response.status_code == 302 and name not in PUBLIC_REDIRECTS:
            assert response["Location"].startswith(login_url), f"{name} as anon → {response['Location']}"
        if persona in OUTSIDERS and response.status_code == 200 and not response.streaming:
            body = response.content.decode(errors="replace")
            leaked = [marker for marker in A_MARKERS if marker in body and name not in A_PUBLIC]
            assert leaked == [], f"{name} shows community A's data to {persona}: {leaked}"
        if persona == "res_a" and response.status_code == 200 and not response.streaming:
            assert INTERNAL_NOTE not in response.content.decode(errors="replace"), (
                f"{name} shows an internal note"
            )
        if expected is None or expected[persona] != response.status_code:
            wrong.append(
                f"{name} {method} as {persona}: got {response.status_code}, "
                f"table says {expected and expected[persona]}"
            )
        if user is not None and name == "logout":
            client.force_login(user)  # logout ends the session: log back in for the rest of the walk
    assert wrong == []


@pytest.mark.parametrize("url", ["/admin/", "/admin/stations/servicerequest/", "/admin/residents/resident/"])
def test_admin_refuses_non_staff(client, world, url):
    for persona in ("res_a", "worker_a", "head_a"):
        client.force_login(world.users[persona])
        response = client.get(url)
        assert response.status_code == 302, persona
        assert response["Location"].startswith("/admin/login/"), persona
