"""The residents' side (own requests, the follow-up 回访) and the public tracking page."""

import io
import re
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from stations.choices import Channel, EventKind, RatingSource, Satisfaction, Status
from stations.models import Category, Rating, RequestEvent, RequestPhoto, ServiceRequest
from stations.selectors.requests import track_request
from stations.services.categories import categories_seed
from stations.services.requests import (
    note_add,
    service_request_create,
    service_request_rate,
    service_request_transition,
)
from tests import factories

pytestmark = pytest.mark.django_db

NOT_FOUND = "No request matches this reference and phone number."


def visible_text(response) -> str:
    """The page without its tags: a status such as "New" must be looked for in what is shown, not in the
    random CSRF token or CSP nonce of an attribute (which once held "...GMNewZN...")."""
    return re.sub(r"<[^>]*>", " ", response.content.decode())


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions below read the English source strings.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


@pytest.fixture
def own_request(worker_a, resident_a, resident_user_a, medicine):
    """A's own request, logged online and routed to worker_a (responsible for building_a)."""
    service_request, _ = service_request_create(
        actor=resident_user_a,
        community=resident_a.community,
        category=medicine,
        title="帮忙开降压药",
        requester=resident_a,
        channel=Channel.ONLINE,
    )
    return service_request


@pytest.fixture
def neighbour_user(household_a, community_a):
    """A second resident of community A with a login: 王芳 in the same household's building."""
    neighbour = factories.ResidentFactory(
        household=factories.HouseholdFactory(building=household_a.building), name="王芳", phone="13700005678"
    )
    user = factories.make_member(role="resident", community=community_a, username="neighbour")
    neighbour.user = user
    neighbour.save(update_fields=["user"])
    return user


def _resolve(service_request, worker):
    for status in (Status.ACCEPTED, Status.RESOLVED):
        service_request = service_request_transition(
            service_request=service_request, to_status=status, actor=worker.user
        )
    return service_request


def _png() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(data, format="PNG")
    data.seek(0)
    data.name = "photo.png"
    return data


# --- own requests: submit -----------------------------------------------------------------------


def test_create_form_renders_with_optgroups_and_key(as_user, resident_user_a, medicine):
    response = as_user(resident_user_a).get(reverse("stations:own_request_create"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<optgroup label="为老服务">' in html
    assert f'value="{medicine.pk}"' in html
    assert 'name="submission_key"' in html
    assert 'accept="image/*"' in html and 'capture="environment"' in html
    assert 'enctype="multipart/form-data"' in html


def test_resident_submits_request(as_user, resident_user_a, resident_a, worker_a, medicine):
    client = as_user(resident_user_a)
    key = uuid.uuid4()
    response = client.post(
        reverse("stations:own_request_create"),
        {
            "submission_key": str(key),
            "category": medicine.pk,
            "title": " 帮忙开降压药 ",
            "description": "每月一次",
        },
    )
    service_request = ServiceRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "stations:own_request_detail", kwargs={"token": service_request.token}
    )
    assert service_request.channel == Channel.ONLINE
    assert service_request.requester == resident_a
    assert service_request.created_by == resident_user_a
    assert service_request.title == "帮忙开降压药" and service_request.description == "每月一次"
    assert service_request.submission_key == key
    assert service_request.assignee == worker_a
    assert service_request.household == resident_a.household
    assert list(
        service_request.events.filter(kind=EventKind.CREATED).values_list("new_status", "is_public")
    ) == [(Status.NEW, True)]
    page = client.get(response["Location"])
    assert service_request.reference in page.content.decode()


def test_double_submit_creates_one(as_user, resident_user_a, medicine):
    client = as_user(resident_user_a)
    data = {"submission_key": str(uuid.uuid4()), "category": medicine.pk, "title": "帮忙开降压药"}
    first = client.post(reverse("stations:own_request_create"), data)
    second = client.post(reverse("stations:own_request_create"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert ServiceRequest.objects.count() == 1
    assert RequestEvent.objects.filter(kind=EventKind.CREATED).count() == 1


def test_someone_elses_submission_key_reveals_nothing(as_user, own_request, neighbour_user, medicine):
    response = as_user(neighbour_user).post(
        reverse("stations:own_request_create"),
        {"submission_key": str(own_request.submission_key), "category": medicine.pk, "title": "x"},
        follow=True,
    )
    assert own_request.reference not in response.content.decode()
    assert ServiceRequest.objects.count() == 1


def test_create_rejects_category_of_other_community(as_user, resident_user_a, community_b, medicine):
    categories_seed(community=community_b)
    foreign = Category.objects.get(community=community_b, name="代开药")
    response = as_user(resident_user_a).post(
        reverse("stations:own_request_create"),
        {"submission_key": str(uuid.uuid4()), "category": foreign.pk, "title": "t"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["category"]
    assert ServiceRequest.objects.count() == 0


def test_create_with_photo(as_user, resident_user_a, medicine, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = as_user(resident_user_a).post(
        reverse("stations:own_request_create"),
        {
            "submission_key": str(uuid.uuid4()),
            "category": medicine.pk,
            "title": "楼道灯坏了",
            "photos": [_png()],
        },
    )
    assert response.status_code == 302
    photo = RequestPhoto.objects.get()
    assert (photo.width, photo.height) == (40, 30)
    assert photo.uploaded_by == resident_user_a


def test_create_with_broken_photo_shows_error(as_user, resident_user_a, medicine, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    junk = io.BytesIO(b"not a picture")
    junk.name = "x.jpg"
    response = as_user(resident_user_a).post(
        reverse("stations:own_request_create"),
        {"submission_key": str(uuid.uuid4()), "category": medicine.pk, "title": "t", "photos": [junk]},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["photos"]
    assert ServiceRequest.objects.count() == 0


def test_staff_without_resident_profile_gets_403(as_user, worker_a, head_a):
    for user in (worker_a.user, head_a):
        client = as_user(user)
        assert client.get(reverse("stations:own_request_list")).status_code == 403
        assert client.get(reverse("stations:own_request_create")).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("stations:own_request_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- own requests: list and detail ---------------------------------------------------------------


def test_list_shows_own_requests_by_token(
    as_user, resident_user_a, own_request, resident_b, community_b, worker_b
):
    categories_seed(community=community_b)
    other, _ = service_request_create(
        actor=worker_b.user,
        community=community_b,
        category=Category.objects.get(community=community_b, name="代开药"),
        title="别人的诉求",
        requester=resident_b,
    )
    response = as_user(resident_user_a).get(reverse("stations:own_request_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert own_request.title in html and own_request.reference in html
    assert reverse("stations:own_request_detail", kwargs={"token": own_request.token}) in html
    assert reverse("stations:request_detail", args=[own_request.pk]) not in html
    assert other.title not in html


def _make_requests(resident, user, category, n):
    for i in range(n):
        service_request_create(
            actor=user,
            community=resident.community,
            category=category,
            title=f"诉求{i}",
            requester=resident,
            channel=Channel.ONLINE,
        )


def _count_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("stations:own_request_list")).status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_is_constant(
    as_user, resident_user_a, resident_a, medicine, worker_a, django_assert_num_queries
):
    client = as_user(resident_user_a)
    _make_requests(resident_a, resident_user_a, medicine, 5)
    few = _count_list_queries(client)
    _make_requests(resident_a, resident_user_a, medicine, 45)
    with django_assert_num_queries(few):
        client.get(reverse("stations:own_request_list"))
    # session, user (with permissions), resident, count, page of rows (category joined)
    assert few == 5


def test_home_shows_latest_requests(as_user, resident_user_a, own_request):
    response = as_user(resident_user_a).get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert own_request.title in html
    assert reverse("stations:own_request_create") in html
    assert reverse("stations:own_request_detail", kwargs={"token": own_request.token}) in html


def test_detail_shows_public_notes_and_hides_internal(as_user, resident_user_a, own_request, worker_a):
    note_add(service_request=own_request, actor=worker_a.user, body="药已备好，明天送到", is_public=True)
    note_add(service_request=own_request, actor=worker_a.user, body="内部：家属难联系", is_public=False)
    response = as_user(resident_user_a).get(
        reverse("stations:own_request_detail", kwargs={"token": own_request.token})
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "药已备好，明天送到" in html
    assert "内部：家属难联系" not in html
    assert worker_a.display_name not in html and worker_a.user.username not in html
    assert "Community worker" in html
    assert own_request.reference in html
    assert 'name="satisfaction"' not in html  # not resolved yet: no follow-up form


def test_other_resident_gets_404_on_detail_and_rate(as_user, own_request, neighbour_user, worker_a):
    own_request = _resolve(own_request, worker_a)
    client = as_user(neighbour_user)
    token = own_request.token
    assert client.get(reverse("stations:own_request_detail", kwargs={"token": token})).status_code == 404
    response = client.post(
        reverse("stations:own_request_rate", kwargs={"token": token}),
        {"version": own_request.version, "solved": "yes", "satisfaction": Satisfaction.SATISFIED},
    )
    assert response.status_code == 404
    own_request.refresh_from_db()
    assert own_request.status == Status.RESOLVED and own_request.rated_at is None
    assert not Rating.objects.exists()


def test_resident_of_other_community_gets_404(as_user, own_request, resident_b, community_b):
    user = factories.make_member(role="resident", community=community_b, username="resident_b")
    resident_b.user = user
    resident_b.save(update_fields=["user"])
    response = as_user(user).get(reverse("stations:own_request_detail", kwargs={"token": own_request.token}))
    assert response.status_code == 404


def test_integer_pk_is_not_a_token(as_user, resident_user_a, own_request):
    response = as_user(resident_user_a).get(
        reverse("stations:own_request_detail", kwargs={"token": str(own_request.pk)})
    )
    assert response.status_code == 404


# --- the follow-up (回访) ----------------------------------------------------------------------


def test_resolved_request_shows_follow_up_form(as_user, resident_user_a, own_request, worker_a):
    own_request = _resolve(own_request, worker_a)
    html = (
        as_user(resident_user_a)
        .get(reverse("stations:own_request_detail", kwargs={"token": own_request.token}))
        .content.decode()
    )
    assert 'name="solved"' in html and 'name="satisfaction"' in html and 'name="comment"' in html
    assert reverse("stations:own_request_rate", kwargs={"token": own_request.token}) in html


def test_rate_solved_and_satisfied_closes(as_user, resident_user_a, own_request, worker_a):
    own_request = _resolve(own_request, worker_a)
    client = as_user(resident_user_a)
    response = client.post(
        reverse("stations:own_request_rate", kwargs={"token": own_request.token}),
        {
            "version": own_request.version,
            "solved": "yes",
            "satisfaction": Satisfaction.SATISFIED,
            "comment": "谢谢",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("stations:own_request_detail", kwargs={"token": own_request.token})
    own_request.refresh_from_db()
    assert own_request.status == Status.CLOSED
    assert own_request.solved is True and own_request.satisfaction == Satisfaction.SATISFIED
    assert own_request.closed_at is not None and own_request.rework_count == 0
    rating = Rating.objects.get()
    assert (rating.source, rating.recorded_by, rating.comment) == (
        RatingSource.REQUESTER,
        resident_user_a,
        "谢谢",
    )
    last = own_request.events.order_by("-at", "-pk").first()
    assert (last.kind, last.new_status) == (EventKind.STATUS, Status.CLOSED)
    page = client.get(response["Location"])
    assert "Thank you. The request has been closed." in page.content.decode()


def test_rate_dissatisfied_reopens_for_rework(as_user, resident_user_a, own_request, worker_a):
    own_request = _resolve(own_request, worker_a)
    client = as_user(resident_user_a)
    response = client.post(
        reverse("stations:own_request_rate", kwargs={"token": own_request.token}),
        {
            "version": own_request.version,
            "solved": "yes",
            "satisfaction": Satisfaction.DISSATISFIED,
            "comment": "药拿错了",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "We are sorry. The request has been reopened and the worker will contact you again." in (
        response.content.decode()
    )
    own_request.refresh_from_db()
    assert own_request.status == Status.IN_PROGRESS
    assert own_request.rework_count == 1 and own_request.resolved_at is None
    assert own_request.assignee == worker_a
    reopened = own_request.events.get(kind=EventKind.REOPENED)
    assert (reopened.old_status, reopened.new_status, reopened.is_public) == (
        Status.RESOLVED,
        Status.IN_PROGRESS,
        True,
    )


def test_rate_not_solved_reopens(as_user, resident_user_a, own_request, worker_a):
    own_request = _resolve(own_request, worker_a)
    as_user(resident_user_a).post(
        reverse("stations:own_request_rate", kwargs={"token": own_request.token}),
        {"version": own_request.version, "solved": "no", "satisfaction": Satisfaction.BASIC},
    )
    own_request.refresh_from_db()
    assert own_request.status == Status.IN_PROGRESS and own_request.solved is False
    assert own_request.rework_count == 1


def test_rate_non_resolved_request_is_refused(as_user, resident_user_a, own_request):
    before = own_request.version
    response = as_user(resident_user_a).post(
        reverse("stations:own_request_rate", kwargs={"token": own_request.token}),
        {"version": own_request.version, "solved": "yes", "satisfaction": Satisfaction.SATISFIED},
        follow=True,
    )
    assert response.status_code == 200
    assert "Only a resolved request can be rated." in response.content.decode()
    own_request.refresh_from_db()
    assert own_request.status == Status.NEW and own_request.version == before
    assert own_request.rated_at is None and not Rating.objects.exists()


def test_rate_stale_version_shows_latest(as_user, resident_user_a, own_request, worker_a):
    own_request = _resolve(own_request, worker_a)
    response = as_user(resident_user_a).post(
        reverse("stations:own_request_rate", kwargs={"token": own_request.token}),
        {"version": own_request.version - 1, "solved": "yes", "satisfaction": Satisfaction.SATISFIED},
    )
    assert response.status_code == 302
    own_request.refresh_from_db()
    assert own_request.status == Status.RESOLVED and not Rating.objects.exists()


def test_rate_invalid_form_shows_errors(as_user, resident_user_a, own_request, worker_a):
    own_request = _resolve(own_request, worker_a)
    response = as_user(resident_user_a).post(
        reverse("stations:own_request_rate", kwargs={"token": own_request.token}),
        {"version": own_request.version, "solved": "yes"},
    )
    assert response.status_code == 200
    assert response.context["rating_form"].errors["satisfaction"]
    own_request.refresh_from_db()
    assert own_request.status == Status.RESOLVED


def test_rate_rejects_get(as_user, resident_user_a, own_request):
    response = as_user(resident_user_a).get(
        reverse("stations:own_request_rate", kwargs={"token": own_request.token})
    )
    assert response.status_code == 405


# --- public tracking -------------------------------------------------------------------------


def _track(client, reference, tail, ip="10.0.0.1"):
    return client.post(
        reverse("stations:track"), {"reference": reference, "phone_tail": tail}, REMOTE_ADDR=ip
    )


def test_track_form_prefills_reference(client):
    response = client.get(reverse("stations:track"), {"ref": "ahl-2026-000123"})
    assert response.status_code == 200
    assert 'value="AHL-2026-000123"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_track_shows_status_and_public_notes_only(client, own_request, worker_a, resident_a):
    note_add(service_request=own_request, actor=worker_a.user, body="药已备好，明天送到", is_public=True)
    note_add(service_request=own_request, actor=worker_a.user, body="内部：家属难联系", is_public=False)
    own_request = service_request_transition(
        service_request=own_request, to_status=Status.ACCEPTED, actor=worker_a.user
    )
    response = _track(client, own_request.reference, "1234")
    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert own_request.reference in html
    assert own_request.get_status_display() in html
    assert "代开药" in html
    assert "药已备好，明天送到" in html
    assert "内部：家属难联系" not in html
    for personal in (
        resident_a.name,
        resident_a.phone,
        resident_a.masked_phone,
        str(resident_a.household),
        resident_a.household.building.number,
        worker_a.display_name,
        worker_a.user.username,
        own_request.title,
    ):
        assert personal not in html, personal


def test_track_hides_the_requesters_rework_comment(client, own_request, worker_a, resident_user_a):
    own_request = _resolve(own_request, worker_a)
    service_request_rate(
        service_request=own_request,
        actor=resident_user_a,
        solved=False,
        satisfaction=Satisfaction.DISSATISFIED,
        comment="我是张焱，电话13812341234",
    )
    html = _track(client, own_request.reference, "1234").content.decode()
    assert "13812341234" not in html and "张焱" not in html


def test_track_wrong_tail_and_unknown_reference_look_the_same(client, own_request):
    wrong_tail = _track(client, own_request.reference, "9999")
    unknown = _track(client, "AHL-2026-999999", "1234")
    assert wrong_tail.status_code == unknown.status_code == 200
    assert NOT_FOUND in wrong_tail.content.decode() and NOT_FOUND in unknown.content.decode()
    assert own_request.get_status_display() not in visible_text(wrong_tail)
    strip = [own_request.reference, "AHL-2026-999999"]
    bodies = [r.content.decode() for r in (wrong_tail, unknown)]
    for i, ref in enumerate(strip):
        bodies[i] = bodies[i].replace(ref, "REF")
    # Only the CSRF token differs between the two pages.
    bodies = [
        re.sub(r'value="[A-Za-z0-9]{32,}"', "TOKEN", re.sub(r'"X-CSRFToken": "[^"]*"', "", b)) for b in bodies
    ]
    assert bodies[0] == bodies[1]


def test_track_normalises_input(client, own_request):
    reference = own_request.reference.lower().replace("-", "－")  # full-width hyphen, lower case
    response = _track(client, f"  {reference} ", "１２３４")  # full-width digits
    assert response.status_code == 200
    assert response.context["service_request"] == own_request


def test_track_tail_must_be_four_digits(client, own_request):
    for tail in ("123", "12345", "12a4", "١٢٣٤"):  # the last: Arabic-Indic digits are not ASCII after NFKC
        response = _track(client, own_request.reference, tail)
        assert response.status_code == 200
        assert response.context["form"].errors["phone_tail"]
        assert response.context["service_request"] is None


def test_track_matches_contact_phone_and_enterprise_phone(worker_a, medicine, community_a):
    enterprise = factories.EnterpriseFactory(
        community=community_a,
        contact_phone="010-65005678",
        building=factories.BuildingFactory(community=community_a),
    )
    by_contact, _ = service_request_create(
        actor=worker_a.user,
        community=community_a,
        category=medicine,
        title="t",
        contact_name="李先生",
        contact_phone="13900004321",
    )
    by_company, _ = service_request_create(
        actor=worker_a.user,
        community=community_a,
        category=medicine,
        title="t",
        requester_enterprise=enterprise,
    )
    assert track_request(by_contact.reference, "4321") == by_contact
    assert track_request(by_company.reference, "5678") == by_company
    assert track_request(by_company.reference, "4321") is None
    assert track_request(by_contact.reference, "") is None


def test_track_is_rate_limited_per_ip(client, own_request):
    for _ in range(10):
        assert _track(client, own_request.reference, "0000").status_code == 200
    blocked = _track(client, own_request.reference, "1234")  # even the right digits: the IP is locked out
    assert blocked.status_code == 429
    assert blocked.context["service_request"] is None
    assert own_request.get_status_display() not in visible_text(blocked)
    # Another client is not affected.
    assert (
        _track(client, own_request.reference, "1234", ip="10.0.0.2").context["service_request"] == own_request
    )


def test_track_success_does_not_count_as_failure(client, own_request):
    for _ in range(12):
        assert _track(client, own_request.reference, "1234").status_code == 200


def test_track_needs_csrf(own_request):
    response = Client(enforce_csrf_checks=True).post(
        reverse("stations:track"), {"reference": own_request.reference, "phone_tail": "1234"}
    )
    assert response.status_code == 403


def test_track_rejects_other_methods(client):
    assert client.put(reverse("stations:track")).status_code == 405
