"""The staff request pages: intake, lookup, queue, list filters, detail, the POST actions, photos, receipt."""

import datetime as dt
import io
import re
import uuid

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from residents.models import Building, Resident
from stations.choices import (
    OPEN_STATES,
    Channel,
    EventKind,
    ExtensionStatus,
    RatingSource,
    Satisfaction,
    Status,
    WorkerType,
)
from stations.models import (
    Category,
    Extension,
    Rating,
    RequestEvent,
    RequestNote,
    RequestPhoto,
    ServiceRequest,
    SocialWorker,
)
from stations.services.categories import categories_seed
from stations.services.requests import (
    extension_request,
    note_add,
    photo_add,
    service_request_create,
    service_request_transition,
)
from tests import factories

pytestmark = pytest.mark.django_db


# --- helpers and fixtures --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


@pytest.fixture
def leak(community_a, medicine):
    return Category.objects.get(community=community_a, name="房屋漏水")


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def make_request(actor, community, category, *, title="帮忙开降压药", **kwargs) -> ServiceRequest:
    service_request, _created = service_request_create(
        actor=actor, community=community, category=category, title=title, **kwargs
    )
    return service_request


@pytest.fixture
def sr(head_a, community_a, medicine, resident_a, worker_a):
    """A new request of resident_a, routed to worker_a (building_a, liaison category)."""
    service_request = make_request(head_a, community_a, medicine, requester=resident_a)
    assert service_request.assignee == worker_a
    return service_request


def msgs(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def page_pks(response) -> set[int]:
    return {r.pk for r in response.context["page"].object_list}


def intake_data(**overrides) -> dict:
    data = {
        "submission_key": str(uuid.uuid4()),
        "channel": Channel.PHONE,
        "urgency": "normal",
        "title": "帮忙开降压药",
        "description": "每月一次",
    }
    data.update(overrides)
    return data


# --- intake ----------------------------------------------------------------------------------------


def test_intake_page_renders_one_screen(as_user, worker_a, medicine):
    response = as_user(worker_a.user).get(reverse("stations:request_create"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'name="submission_key"' in html
    assert 'capture="environment"' in html and "multiple" in html and 'accept="image/*"' in html
    assert "<optgroup" in html and "代开药" in html
    assert reverse("stations:resident_lookup") in html and "input changed delay:250ms" in html


def test_intake_creates_one_request(as_user, worker_a, resident_a, medicine, community_a):
    client = as_user(worker_a.user)
    response = client.post(
        reverse("stations:request_create"), intake_data(requester=resident_a.pk, category=medicine.pk)
    )
    sr = ServiceRequest.objects.get()
    assert response.status_code == 302 and response.url == sr.get_absolute_url()
    assert sr.reference in " ".join(msgs(response))
    assert (sr.community, sr.assignee, sr.channel, sr.requester) == (
        community_a,
        worker_a,
        Channel.PHONE,
        resident_a,
    )
    assert sr.building == resident_a.household.building and sr.household == resident_a.household
    assert sr.created_by == worker_a.user and sr.status == Status.NEW
    assert list(sr.events.values_list("kind", flat=True)) == [EventKind.CREATED, EventKind.ASSIGNED]


def test_same_submission_key_twice_gives_one_request(as_user, worker_a, resident_a, medicine):
    client = as_user(worker_a.user)
    data = intake_data(requester=resident_a.pk, category=medicine.pk)
    first = client.post(reverse("stations:request_create"), data)
    second = client.post(reverse("stations:request_create"), data)
    assert ServiceRequest.objects.count() == 1
    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert ServiceRequest.objects.get().reference in " ".join(msgs(second))


def test_intake_key_of_another_community_is_refused(as_user, worker_a, worker_b, resident_a, medicine):
    categories_seed(community=worker_b.community)
    theirs = make_request(
        worker_b.user,
        worker_b.community,
        Category.objects.get(community=worker_b.community, name="代开药"),
        contact_name="李",
        contact_phone="13900001111",
    )
    data = intake_data(
        requester=resident_a.pk, category=medicine.pk, submission_key=str(theirs.submission_key)
    )
    response = as_user(worker_a.user).post(reverse("stations:request_create"), data)
    # A replayed form: refused, and the other community's reference is not named.
    assert response.status_code == 200 and theirs.reference not in response.content.decode()
    assert ServiceRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": ""}, "category"),
        ({"title": "   "}, "title"),
        ({"contact_phone": "12345"}, "contact_phone"),
    ],
)
def test_intake_bad_input_shows_errors_and_saves_nothing(as_user, worker_a, medicine, overrides, field):
    data = intake_data(category=medicine.pk, contact_name="王五", contact_phone="13800001111")
    data.update(overrides)
    response = as_user(worker_a.user).post(reverse("stations:request_create"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert ServiceRequest.objects.count() == 0


def test_intake_without_anyone_to_call_back_is_refused(as_user, worker_a, medicine):
    response = as_user(worker_a.user).post(
        reverse("stations:request_create"), intake_data(category=medicine.pk)
    )
    assert response.status_code == 200 and "contact_name" in response.context["form"].errors
    assert ServiceRequest.objects.count() == 0


def test_intake_refuses_other_communitys_resident_and_category(
    as_user, worker_a, resident_b, community_b, medicine
):
    categories_seed(community=community_b)
    other_category = Category.objects.get(community=community_b, name="代开药")
    response = as_user(worker_a.user).post(
        reverse("stations:request_create"), intake_data(requester=resident_b.pk, category=other_category.pk)
    )
    assert response.status_code == 200
    assert {"requester", "category"} <= set(response.context["form"].errors)
    assert ServiceRequest.objects.count() == 0


def test_intake_refuses_an_erased_resident_and_ids_that_are_not_ids(as_user, worker_a, resident_a, medicine):
    Resident.objects.filter(pk=resident_a.pk).update(erased_at=timezone.now())
    client = as_user(worker_a.user)
    for requester in (resident_a.pk, "12abc", "9" * 30, "-1"):
        response = client.post(
            reverse("stations:request_create"), intake_data(requester=requester, category=medicine.pk)
        )
        assert response.status_code == 200 and "requester" in response.context["form"].errors, requester
    assert ServiceRequest.objects.count() == 0


def test_intake_forbidden_for_subdistrict_and_resident(as_user, subdistrict_a, resident_user_a, client):
    assert as_user(subdistrict_a).get(reverse("stations:request_create")).status_code == 403
    assert as_user(resident_user_a).get(reverse("stations:request_create")).status_code == 403


def test_photo_upload_is_stored_and_served(
    as_user, worker_a, resident_a, resident_user_a, worker_b, medicine
):
    client = as_user(worker_a.user)
    upload = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
    response = client.post(
        reverse("stations:request_create"),
        intake_data(requester=resident_a.pk, category=medicine.pk, photos=[upload]),
    )
    assert response.status_code == 302
    photo = RequestPhoto.objects.get()
    assert (photo.width, photo.height) == (4, 3)
    url = reverse("stations:request_photo", args=[photo.request_id, photo.pk])
    served = client.get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "private, no-store" and served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content)[:2] == b"\xff\xd8"
    # The resident who asked sees their photo; another community's worker does not.
    assert as_user(resident_user_a).get(url).status_code == 200
    assert as_user(worker_b.user).get(url).status_code == 404


def test_non_image_named_jpg_is_rejected(as_user, worker_a, resident_a, medicine):
    upload = SimpleUploadedFile("x.jpg", b"this is not a picture", content_type="image/jpeg")
    response = as_user(worker_a.user).post(
        reverse("stations:request_create"),
        intake_data(requester=resident_a.pk, category=medicine.pk, photos=[upload]),
    )
    assert response.status_code == 200 and "photos" in response.context["form"].errors
    assert ServiceRequest.objects.count() == 0 and RequestPhoto.objects.count() == 0


def test_more_than_five_photos_are_refused(as_user, worker_a, resident_a, medicine):
    uploads = [SimpleUploadedFile(f"p{i}.png", png_bytes(), content_type="image/png") for i in range(6)]
    response = as_user(worker_a.user).post(
        reverse("stations:request_create"),
        intake_data(requester=resident_a.pk, category=medicine.pk, photos=uploads),
    )
    assert response.status_code == 200 and "photos" in response.context["form"].errors
    assert ServiceRequest.objects.count() == 0


def test_photo_of_another_request_is_404(as_user, head_a, sr, community_a, medicine, resident_a):
    other = make_request(head_a, community_a, medicine, requester=resident_a, title="另一件")
    photo = RequestPhoto.objects.create(
        request=other, image="requests/x/y.jpg", width=1, height=1, uploaded_by=head_a
    )
    response = as_user(head_a).get(reverse("stations:request_photo", args=[sr.pk, photo.pk]))
    assert response.status_code == 404


# --- resident lookup -------------------------------------------------------------------------------


def test_lookup_masks_phones_and_stays_in_community(as_user, worker_a, resident_a, household_b):
    factories.ResidentFactory(household=household_b, name="张伟", phone="13700007777")
    response = as_user(worker_a.user).get(reverse("stations:resident_lookup"), {"q": "张"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "张焱" in html and "138****1234" in html and "13812341234" not in html
    assert "张伟" not in html and "7777" not in html
    assert f"pick={resident_a.pk}" in html


def test_lookup_by_phone_tail_and_pick(as_user, worker_a, resident_a, resident_b):
    client = as_user(worker_a.user)
    assert "张焱" in client.get(reverse("stations:resident_lookup"), {"q": "1234"}).content.decode()
    assert "李娜" not in client.get(reverse("stations:resident_lookup"), {"q": "1111"}).content.decode()
    picked = client.get(reverse("stations:resident_lookup"), {"pick": resident_a.pk}).content.decode()
    assert f'name="requester" value="{resident_a.pk}"' in picked and "138****1234" in picked
    assert client.get(reverse("stations:resident_lookup"), {"pick": resident_b.pk}).status_code == 404


def test_lookup_returns_at_most_eight_in_constant_queries(as_user, worker_a, household_a):
    client = as_user(worker_a.user)
    url = reverse("stations:resident_lookup")
    for i in range(2):
        factories.ResidentFactory(household=household_a, name=f"王{i}")
    client.get(url, {"q": "王"})
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"q": "王"})
    for i in range(2, 12):
        factories.ResidentFactory(household=household_a, name=f"王{i}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"q": "王"})
    assert len(few) == len(many)
    assert response.content.decode().count("list-group-item-action") == 8


# --- queue -----------------------------------------------------------------------------------------


@pytest.fixture
def queue_rows(head_a, community_a, medicine, resident_a, worker_a):
    now = timezone.now()
    mine = make_request(head_a, community_a, medicine, requester=resident_a, title="mine")
    late = make_request(head_a, community_a, medicine, requester=resident_a, title="late")
    ServiceRequest.objects.filter(pk=late.pk).update(
        received_at=now - dt.timedelta(days=9), resolution_due_at=now - dt.timedelta(hours=1)
    )
    shared = make_request(head_a, community_a, medicine, requester=resident_a, title="shared")
    ServiceRequest.objects.filter(pk=shared.pk).update(assignee=None)
    other_worker = factories.make_worker(
        community=community_a, worker_type=WorkerType.PROJECT, username="other"
    )
    other = make_request(
        head_a, community_a, medicine, requester=resident_a, title="other", assignee=other_worker
    )
    closed = make_request(head_a, community_a, medicine, requester=resident_a, title="closed")
    ServiceRequest.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    return {"mine": mine, "late": late, "shared": shared, "other": other, "closed": closed}


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"mine", "late"}),
        ("overdue", {"late"}),
        ("shared", {"shared"}),
    ],
)
def test_queue_tabs(as_user, worker_a, queue_rows, view, expected):
    response = as_user(worker_a.user).get(reverse("stations:my_queue"), {"view": view})
    assert response.status_code == 200
    assert page_pks(response) == {queue_rows[name].pk for name in expected}
    counts = {code: n for code, _label, n in response.context["tabs"]}
    assert counts == {"mine": 2, "due_soon": 0, "overdue": 1, "shared": 1}


@pytest.mark.parametrize("view", ["mine", "due_soon", "overdue", "shared"])
def test_queue_pages_by_the_tab_count(as_user, worker_a, queue_rows, view, settings):
    """The page count comes from the tab counts (no COUNT of its own): it must match the rows."""
    settings.PAGE_SIZE = 1
    client = as_user(worker_a.user)
    first = client.get(reverse("stations:my_queue"), {"view": view})
    counts = {code: n for code, _label, n in first.context["tabs"]}
    paginator = first.context["page"].paginator
    assert paginator.count == counts[view] == len(paginator.object_list)
    seen = set()
    for number in paginator.page_range:
        seen |= page_pks(client.get(reverse("stations:my_queue"), {"view": view, "page": number}))
    assert len(seen) == counts[view]


@pytest.mark.parametrize("view", ["mine", "due_soon", "overdue", "shared"])
def test_queue_compiled_for_a_worker_of_one_community_is_what_the_orm_gives(
    worker_a, queue_rows, resident_a, head_a, community_a, medicine, view, django_assert_num_queries
):
    """The queue's SQL compiled once per process (community.lib.compiled) answers as the ORM's queryset
    does, for every tab, page and deadline; other users (several communities, no worker) take the ORM."""
    from stations.selectors import requests as selectors

    now = timezone.now()
    soon = make_request(head_a, community_a, medicine, requester=resident_a, title="soon")
    ServiceRequest.objects.filter(pk=soon.pk).update(resolution_due_at=now + dt.timedelta(hours=3))
    helped = make_request(
        head_a, community_a, medicine, requester=resident_a, assignee=queue_rows["other"].assignee
    )
    helped.assisting.add(worker_a)
    user = worker_a.user
    assert selectors._compiles_queue(user, worker_a)
    counts = selectors.queue_counts(user, worker_a, now=now)
    orm = selectors.requests_visible_to(user).filter(status__in=OPEN_STATES)
    assert counts == orm.aggregate(
        **selectors._counts(selectors._mine(worker_a.pk), now, now + dt.timedelta(hours=24))
    )
    assert counts == {"mine": 4, "due_soon": 1, "overdue": 1, "shared": 1}
    expected = list(
        selectors.request_rows_for(
            user, selectors.with_overdue(selectors.my_queue(user, worker_a, view=view, now=now), now)
        )
    )
    rows = selectors.queue_rows(user, worker_a, view=view, now=now, count=counts[view])
    assert len(rows) == counts[view] == len(expected)
    with django_assert_num_queries(1):
        got = rows[0 : len(rows)]
    assert got == expected  # the same named rows (ROW_FIELDS), in the same order
    assert got[0]._fields == selectors.ROW_FIELDS and got[0].category_name == medicine.name
    assert [r.pk for r in rows[1:3]] == [r.pk for r in expected[1:3]]  # a window of it, in the same order
    assert rows[5:5] == []


def test_queue_counts_are_zero_without_open_requests(worker_a):
    from stations.selectors import requests as selectors

    assert selectors.queue_counts(worker_a.user, worker_a) == dict.fromkeys(selectors.QUEUE_TABS, 0)


def test_queue_marks_overdue_and_ignores_junk_tab(as_user, worker_a, queue_rows):
    client = as_user(worker_a.user)
    html = client.get(reverse("stations:my_queue"), {"view": "overdue"}).content.decode()
    assert "text-danger" in html and queue_rows["late"].reference in html
    response = client.get(reverse("stations:my_queue"), {"view": "<script>"})
    assert response.status_code == 200 and response.context["view"] == "mine"


def test_queue_counts_assisting_requests_as_mine(
    as_user, worker_a, community_a, head_a, medicine, resident_a
):
    other_worker = factories.make_worker(
        community=community_a, worker_type=WorkerType.PROJECT, username="other"
    )
    helped = make_request(head_a, community_a, medicine, requester=resident_a, assignee=other_worker)
    helped.assisting.add(worker_a)
    response = as_user(worker_a.user).get(reverse("stations:my_queue"))
    assert page_pks(response) == {helped.pk}
    assert dict((c, n) for c, _l, n in response.context["tabs"])["mine"] == 1


def test_queue_forbidden_without_handle_permission(as_user, subdistrict_a, resident_user_a):
    assert as_user(subdistrict_a).get(reverse("stations:my_queue")).status_code == 403
    assert as_user(resident_user_a).get(reverse("stations:my_queue")).status_code == 403


# --- list and filters ------------------------------------------------------------------------------


@pytest.fixture
def list_rows(head_a, community_a, medicine, leak, resident_a, worker_b, community_b, resident_b):
    now = timezone.now()
    rows = {}
    rows["new"] = make_request(head_a, community_a, medicine, requester=resident_a, title="厨房漏水了")
    rows["closed"] = make_request(head_a, community_a, medicine, requester=resident_a, title="开药")
    b = rows["closed"]
    ServiceRequest.objects.filter(pk=b.pk).update(
        status=Status.CLOSED,
        accepted_at=b.received_at + dt.timedelta(hours=1),
        solved=True,
        satisfaction=Satisfaction.SATISFIED,
        rated_at=now,
        closed_at=now,
    )
    rows["late"] = make_request(head_a, community_a, leak, requester=resident_a, title="楼道灯坏")
    ServiceRequest.objects.filter(pk=rows["late"].pk).update(
        status=Status.IN_PROGRESS,
        received_at=now - dt.timedelta(days=20),
        response_due_at=now - dt.timedelta(days=19),
        accepted_at=now - dt.timedelta(days=18),
        resolution_due_at=now - dt.timedelta(days=2),
    )
    rows["reopened"] = make_request(
        head_a,
        community_a,
        medicine,
        requester=resident_a,
        title="买菜",
        contact_name="赵六",
        contact_phone="13911112222",
    )
    ServiceRequest.objects.filter(pk=rows["reopened"].pk).update(
        status=Status.IN_PROGRESS,
        solved=False,
        satisfaction=Satisfaction.DISSATISFIED,
        rated_at=now,
        received_at=timezone.make_aware(dt.datetime(2026, 1, 10, 9, 0)),
    )
    categories_seed(community=community_b)
    make_request(
        worker_b.user,
        community_b,
        Category.objects.get(community=community_b, name="代开药"),
        requester=resident_b,
        title="厨房漏水了 B",
    )
    return rows


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"new", "closed", "late", "reopened"}),
        ({"status": "new"}, {"new"}),
        ({"status": ["new", "closed"]}, {"new", "closed"}),
        ({"overdue": "true"}, {"late"}),
        ({"overdue": "false"}, {"new", "closed", "reopened"}),
        ({"q": "漏水"}, {"new"}),
        ({"q": "赵六"}, {"reopened"}),
        ({"responded": "true"}, {"closed"}),
        ({"responded": "false"}, {"new", "late", "reopened"}),
        ({"solved": "true"}, {"closed"}),
        ({"solved": "false"}, {"reopened"}),
        ({"rated": "true"}, {"closed", "reopened"}),
        ({"rated": "false"}, {"new", "late"}),
        ({"satisfaction": "dissatisfied"}, {"reopened"}),
        ({"satisfaction": ["dissatisfied", "satisfied"]}, {"closed", "reopened"}),
        ({"received_before": "2026-01-10"}, {"reopened"}),
        ({"received_before": "2026-01-10T09:00"}, set()),
        ({"received_after": "2026-01-10T09:00", "received_before": "2026-01-11"}, {"reopened"}),
        ({"received_to": "2026-01-10"}, {"reopened"}),
        ({"received_from": "2026-01-11"}, {"new", "closed", "late"}),
        ({"status": "bogus"}, {"new", "closed", "late", "reopened"}),
    ],
)
def test_list_filters(as_user, head_a, list_rows, params, expected):
    response = as_user(head_a).get(reverse("stations:request_list"), params)
    assert response.status_code == 200
    assert page_pks(response) == {list_rows[name].pk for name in expected}


def test_list_category_filter_takes_children_and_is_scoped(
    as_user, head_a, worker_a, list_rows, leak, medicine, community_b
):
    client = as_user(head_a)
    response = client.get(reverse("stations:request_list"), {"category": leak.pk})
    assert page_pks(response) == {list_rows["late"].pk}
    response = client.get(reverse("stations:request_list"), {"category": medicine.parent_id})
    assert page_pks(response) == {list_rows[n].pk for n in ("new", "closed", "reopened")}
    form = response.context["form"]
    for field in ("category", "building", "assignee"):
        assert {obj.community_id for obj in form.fields[field].queryset} == {head_a.membership.community_id}
    other = Category.objects.get(community=community_b, name="代开药")
    response = client.get(reverse("stations:request_list"), {"category": other.pk})
    assert response.status_code == 200 and len(page_pks(response)) == 4  # not a valid choice: ignored
    # The same for another community's building and worker, and for ids that are no ids.
    for params in (
        {"building": Building.objects.filter(community=community_b).first().pk},
        {"assignee": SocialWorker.objects.filter(community=community_b).first().pk},
        {"category": "12abc"},
        {"building": "9" * 30},
    ):
        response = client.get(reverse("stations:request_list"), params)
        assert response.status_code == 200 and len(page_pks(response)) == 4, params
        assert response.context["form"].errors, params
    own = client.get(reverse("stations:request_list"), {"assignee": worker_a.pk, "category": medicine.pk})
    assert own.context["form"].cleaned_data["assignee"] == worker_a


def test_list_sorting_whitelist(as_user, head_a, list_rows):
    client = as_user(head_a)
    by_deadline = client.get(reverse("stations:request_list"), {"sort": "deadline"})
    dues = [r.resolution_due_at for r in by_deadline.context["page"].object_list]
    assert dues == sorted(dues)
    junk = client.get(reverse("stations:request_list"), {"sort": "password; drop table"})
    assert junk.status_code == 200
    shown = [r.pk for r in junk.context["page"].object_list]
    received = dict(ServiceRequest.objects.filter(pk__in=shown).values_list("pk", "received_at"))
    assert [received[pk] for pk in shown] == sorted(received.values(), reverse=True)


def test_list_drill_down_filters_survive_the_form(as_user, head_a, list_rows):
    html = as_user(head_a).get(reverse("stations:request_list"), {"responded": "false"}).content.decode()
    assert '<input type="hidden" name="responded" value="false">' in html


def test_list_other_community_sees_none_of_a(as_user, worker_b, list_rows):
    response = as_user(worker_b.user).get(reverse("stations:request_list"))
    assert not page_pks(response) & {r.pk for r in list_rows.values()}
    assert len(page_pks(response)) == 1


def test_list_names_each_rows_community_for_subdistrict_staff(
    as_user, head_a, subdistrict_a, community_a, list_rows
):
    neighbour = factories.CommunityFactory(name="和平里社区", code="HPL", subdistrict=community_a.subdistrict)
    categories_seed(community=neighbour)
    medicine_n = Category.objects.get(community=neighbour, name="代开药")
    make_request(head_a, neighbour, medicine_n, title="邻社区")
    street = as_user(subdistrict_a)

    def queries_and_html() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            html = street.get(reverse("stations:request_list")).content.decode()
        return len(queries.captured_queries), html

    queries_and_html()  # warm-up, as a running server is
    queries, html = queries_and_html()
    assert html.count("· 安华里社区 ·") == 4 and html.count("· 和平里社区 ·") == 1
    for n in range(5):
        make_request(head_a, neighbour, medicine_n, title=f"邻社区 {n}")
    more_queries, html = queries_and_html()
    assert html.count("· 和平里社区 ·") == 6 and more_queries == queries  # the join, not a query per row
    assert "社区 ·" not in as_user(head_a).get(reverse("stations:request_list")).content.decode()


# --- detail ----------------------------------------------------------------------------------------


def test_detail_shows_only_allowed_buttons(as_user, worker_a, head_a, sr):
    html = as_user(worker_a.user).get(sr.get_absolute_url()).content.decode()
    assert sr.reference in html and "138****1234" in html and "13812341234" not in html
    assert 'name="to_status" value="accepted"' in html
    assert reverse("stations:request_urge", args=[sr.pk]) not in html
    assert reverse("stations:request_assign", args=[sr.pk]) not in html
    assert 'name="to_status" value="resolved"' not in html
    html = as_user(head_a).get(sr.get_absolute_url()).content.decode()
    assert reverse("stations:request_urge", args=[sr.pk]) in html
    assert reverse("stations:request_assign", args=[sr.pk]) in html


def test_detail_renders_timeline_labels(as_user, worker_a, sr):
    service_request_transition(service_request=sr, to_status=Status.ACCEPTED, actor=worker_a.user)
    note_add(service_request=sr, actor=worker_a.user, body="已电话联系", is_public=False)
    html = as_user(worker_a.user).get(sr.get_absolute_url()).content.decode()
    assert "已电话联系" in html and reverse("stations:note_update", args=[sr.pk, sr.notes.get().pk]) in html
    assert "→" in html and worker_a.display_name in html


def test_detail_404_for_other_community(as_user, worker_b, sr):
    assert as_user(worker_b.user).get(sr.get_absolute_url()).status_code == 404
    assert as_user(worker_b.user).get(reverse("stations:request_receipt", args=[sr.pk])).status_code == 404


def test_detail_of_a_number_no_row_can_have_is_404(as_user, worker_a, sr):
    """<int:pk> takes any number of digits; beyond a 64-bit integer it is a 404, not a database error."""
    client = as_user(worker_a.user)
    for pk in (2**63 - 1, 2**63, 10**40):
        assert client.get(f"/requests/{pk}/").status_code == 404
        assert client.get(reverse("stations:request_receipt", args=[pk])).status_code == 404


def test_detail_forbidden_for_resident(as_user, resident_user_a, sr):
    assert as_user(resident_user_a).get(sr.get_absolute_url()).status_code == 403


# --- POST-only actions: the three refusals ----------------------------------------------------------


POST_ACTIONS = [
    ("stations:request_transition", {}),
    ("stations:request_assign", {}),
    ("stations:request_urge", {}),
    ("stations:extension_create", {}),
    ("stations:extension_decide", {"extension_pk": 1}),
    ("stations:request_callback", {}),
    ("stations:note_create", {}),
    ("stations:photo_create", {}),
]


@pytest.mark.parametrize(("name", "extra"), POST_ACTIONS)
def test_action_rejects_get(as_user, head_a, sr, name, extra):
    assert as_user(head_a).get(reverse(name, kwargs={"pk": sr.pk, **extra})).status_code == 405


@pytest.mark.parametrize(("name", "extra"), [*POST_ACTIONS, ("stations:note_update", {"note_pk": 1})])
def test_action_rejects_other_community(as_user, worker_b, sr, name, extra):
    response = as_user(worker_b.user).post(
        reverse(name, kwargs={"pk": sr.pk, **extra}), {"version": sr.version}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "extra"), [*POST_ACTIONS, ("stations:note_update", {"note_pk": 1})])
def test_action_rejects_missing_permission(as_user, resident_user_a, subdistrict_a, sr, name, extra):
    url = reverse(name, kwargs={"pk": sr.pk, **extra})
    assert as_user(resident_user_a).post(url, {"version": sr.version}).status_code in (403, 404)
    assert as_user(subdistrict_a).post(url, {"version": sr.version}).status_code == 403
    sr.refresh_from_db()
    assert sr.version == 1 and sr.status == Status.NEW


# --- POST actions: success ---------------------------------------------------------------------------


def test_transition_accept(as_user, worker_a, sr):
    response = as_user(worker_a.user).post(
        reverse("stations:request_transition", args=[sr.pk]), {"to_status": "accepted", "version": sr.version}
    )
    assert response.status_code == 302 and response.url == sr.get_absolute_url()
    sr.refresh_from_db()
    assert sr.status == Status.ACCEPTED and sr.accepted_at is not None and sr.version == 2
    event = sr.events.filter(kind=EventKind.STATUS).get()
    assert (event.old_status, event.new_status, event.actor) == (Status.NEW, Status.ACCEPTED, worker_a.user)


def test_transition_cancel_needs_reason(as_user, worker_a, sr):
    client = as_user(worker_a.user)
    url = reverse("stations:request_transition", args=[sr.pk])
    response = client.post(url, {"to_status": "cancelled", "version": sr.version, "note": ""})
    assert response.status_code == 302 and msgs(response)
    sr.refresh_from_db()
    assert sr.status == Status.NEW
    client.post(url, {"to_status": "cancelled", "version": sr.version, "note": "重复登记"})
    sr.refresh_from_db()
    assert sr.status == Status.CANCELLED and sr.cancel_reason == "重复登记"


def test_transition_target_must_be_a_workflow_target(as_user, worker_a, sr):
    response = as_user(worker_a.user).post(
        reverse("stations:request_transition", args=[sr.pk]), {"to_status": "closed", "version": sr.version}
    )
    assert response.status_code == 302 and msgs(response)
    sr.refresh_from_db()
    assert sr.status == Status.NEW and not sr.events.filter(kind=EventKind.STATUS).exists()


def test_transition_stale_version_changes_nothing(as_user, worker_a, sr):
    client = as_user(worker_a.user)
    response = client.post(
        reverse("stations:request_transition", args=[sr.pk]),
        {"to_status": "accepted", "version": sr.version + 3},
    )
    assert response.status_code == 302 and response.url == sr.get_absolute_url()
    stored = list(get_messages(response.wsgi_request))
    assert [m.level for m in stored] == [messages.ERROR]
    # The page it lands on shows the message and the latest state.
    page = client.get(response.url)
    assert stored[0].message in [str(m) for m in page.context["messages"]]
    sr.refresh_from_db()
    assert sr.status == Status.NEW and sr.version == 1
    assert not sr.events.filter(kind=EventKind.STATUS).exists()


def test_transition_by_worker_not_handling_is_403(as_user, community_a, sr):
    other = factories.make_worker(community=community_a, worker_type=WorkerType.PROJECT, username="other")
    response = as_user(other.user).post(
        reverse("stations:request_transition", args=[sr.pk]), {"to_status": "accepted", "version": sr.version}
    )
    assert response.status_code == 403
    sr.refresh_from_db()
    assert sr.status == Status.NEW


def test_assign(as_user, head_a, worker_a, community_a, sr):
    other = factories.make_worker(community=community_a, worker_type=WorkerType.PROJECT, username="other")
    response = as_user(head_a).post(
        reverse("stations:request_assign", args=[sr.pk]),
        {"assignee": other.pk, "version": sr.version, "note": "她熟悉"},
    )
    assert response.status_code == 302
    sr.refresh_from_db()
    assert sr.assignee == other
    event = sr.events.filter(kind=EventKind.ASSIGNED).latest("pk")
    assert (event.old_assignee, event.new_assignee, event.note) == (worker_a, other, "她熟悉")


def test_assign_refuses_other_communitys_worker(as_user, head_a, worker_a, worker_b, sr):
    response = as_user(head_a).post(
        reverse("stations:request_assign", args=[sr.pk]), {"assignee": worker_b.pk, "version": sr.version}
    )
    assert response.status_code == 302 and msgs(response)
    sr.refresh_from_db()
    assert sr.assignee == worker_a


def test_urge(as_user, head_a, sr):
    response = as_user(head_a).post(reverse("stations:request_urge", args=[sr.pk]), {"note": "尽快"})
    assert response.status_code == 302
    sr.refresh_from_db()
    assert sr.urge_count == 1
    assert sr.events.filter(kind=EventKind.URGED, note="尽快", actor=head_a).count() == 1


def test_urge_by_worker_is_403(as_user, worker_a, sr):
    assert as_user(worker_a.user).post(reverse("stations:request_urge", args=[sr.pk])).status_code == 403
    sr.refresh_from_db()
    assert sr.urge_count == 0


def test_extension_create_and_decide(as_user, worker_a, head_a, sr):
    new_due = timezone.localtime(sr.resolution_due_at + dt.timedelta(days=5)).replace(second=0, microsecond=0)
    response = as_user(worker_a.user).post(
        reverse("stations:extension_create", args=[sr.pk]),
        {"new_due_at": new_due.strftime("%Y-%m-%dT%H:%M"), "reason": "等药到货"},
    )
    assert response.status_code == 302
    extension = Extension.objects.get(request=sr)
    assert extension.status == ExtensionStatus.PENDING and extension.new_due_at == new_due
    assert sr.events.filter(kind=EventKind.EXTENSION_REQUESTED, note="等药到货").exists()

    html = as_user(head_a).get(sr.get_absolute_url()).content.decode()
    assert reverse("stations:extension_decide", args=[sr.pk, extension.pk]) in html
    response = as_user(head_a).post(
        reverse("stations:extension_decide", args=[sr.pk, extension.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    extension.refresh_from_db()
    sr.refresh_from_db()
    assert extension.status == ExtensionStatus.APPROVED and extension.decided_by == head_a
    assert sr.resolution_due_at == new_due
    assert sr.events.filter(kind=EventKind.EXTENSION_APPROVED).count() == 1


def test_extension_decided_through_another_request_is_404(
    as_user, head_a, worker_a, sr, community_a, medicine, resident_a
):
    other = make_request(head_a, community_a, medicine, requester=resident_a, title="另一件")
    extension = extension_request(
        service_request=sr,
        actor=worker_a.user,
        new_due_at=sr.resolution_due_at + dt.timedelta(days=3),
        reason="等待",
    )
    response = as_user(head_a).post(
        reverse("stations:extension_decide", args=[other.pk, extension.pk]), {"decision": "approve"}
    )
    assert response.status_code == 404
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.PENDING


def test_callback_closes(as_user, worker_a, sr):
    for status in (Status.ACCEPTED, Status.RESOLVED):
        sr = service_request_transition(service_request=sr, to_status=status, actor=worker_a.user)
    html = as_user(worker_a.user).get(sr.get_absolute_url()).content.decode()
    assert reverse("stations:request_callback", args=[sr.pk]) in html
    response = as_user(worker_a.user).post(
        reverse("stations:request_callback", args=[sr.pk]),
        {"solved": "yes", "satisfaction": Satisfaction.SATISFIED, "comment": "满意", "version": sr.version},
    )
    assert response.status_code == 302
    sr.refresh_from_db()
    assert sr.status == Status.CLOSED and sr.solved is True and sr.satisfaction == Satisfaction.SATISFIED
    rating = Rating.objects.get(request=sr)
    assert rating.source == RatingSource.CALLBACK and rating.recorded_by == worker_a.user
    assert sr.events.filter(kind=EventKind.RATED).count() == 1
    assert sr.events.filter(kind=EventKind.STATUS, new_status=Status.CLOSED).count() == 1


def test_callback_not_solved_reopens(as_user, worker_a, sr):
    for status in (Status.ACCEPTED, Status.RESOLVED):
        sr = service_request_transition(service_request=sr, to_status=status, actor=worker_a.user)
    as_user(worker_a.user).post(
        reverse("stations:request_callback", args=[sr.pk]),
        {"solved": "no", "satisfaction": Satisfaction.BASIC, "version": sr.version},
    )
    sr.refresh_from_db()
    assert sr.status == Status.IN_PROGRESS and sr.rework_count == 1
    assert sr.events.filter(kind=EventKind.REOPENED).count() == 1


def test_note_create_and_update(as_user, worker_a, head_a, sr):
    client = as_user(worker_a.user)
    response = client.post(
        reverse("stations:note_create", args=[sr.pk]), {"body": "已上门", "is_public": "on"}
    )
    assert response.status_code == 302
    note = RequestNote.objects.get(request=sr)
    assert (note.body, note.is_public, note.author) == ("已上门", True, worker_a.user)
    url = reverse("stations:note_update", args=[sr.pk, note.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"body": "已上门两次"})
    assert response.status_code == 302
    note.refresh_from_db()
    assert (note.body, note.is_public) == ("已上门两次", False)
    # Another user of the same community may not edit it.
    assert as_user(head_a).get(url).status_code == 403
    assert as_user(head_a).post(url, {"body": "改"}).status_code == 403
    note.refresh_from_db()
    assert note.body == "已上门两次"


def test_note_form_submitted_twice_adds_one_note(as_user, worker_a, sr):
    client = as_user(worker_a.user)
    page = client.get(reverse("stations:request_detail", args=[sr.pk])).content.decode()
    key = re.search(r'name="submission_key" value="([0-9a-f-]+)"', page.split("note_create")[-1]).group(1)
    data = {"body": "已上门", "submission_key": key}
    for _ in range(2):
        assert client.post(reverse("stations:note_create", args=[sr.pk]), data).status_code == 302
    assert RequestNote.objects.filter(request=sr).count() == 1
    client.post(reverse("stations:note_create", args=[sr.pk]), {**data, "submission_key": str(uuid.uuid4())})
    assert RequestNote.objects.filter(request=sr).count() == 2  # another form is another note


def test_photo_form_submitted_twice_adds_one_photo(as_user, worker_a, sr):
    client = as_user(worker_a.user)
    page = client.get(reverse("stations:request_detail", args=[sr.pk])).content.decode()
    key = re.search(r'name="submission_key" value="([0-9a-f-]+)"', page.split("photo_create")[-1]).group(1)
    url = reverse("stations:photo_create", args=[sr.pk])

    def send(submission_key: str):
        upload = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
        return client.post(url, {"photo": upload, "submission_key": submission_key})

    for _ in range(2):
        response = send(key)
        assert response.status_code == 302 and msgs(response)[-1] == "照片已添加。"
    assert RequestPhoto.objects.filter(request=sr).count() == 1
    send(str(uuid.uuid4()))
    assert RequestPhoto.objects.filter(request=sr).count() == 2  # another form is another photo


def test_photo_key_of_another_community_is_refused(worker_a, worker_b, sr, community_b):
    categories_seed(community=community_b)
    category = Category.objects.get(community=community_b, name="代开药")
    theirs = make_request(
        worker_b.user, community_b, category, contact_name="李", contact_phone="13900001111"
    )
    key = uuid.uuid4()
    upload = lambda: SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")  # noqa: E731
    photo_add(service_request=theirs, actor=worker_b.user, upload=upload(), submission_key=key)
    with pytest.raises(ValidationError):
        photo_add(service_request=sr, actor=worker_a.user, upload=upload(), submission_key=key)
    assert not RequestPhoto.objects.filter(request=sr).exists()


def test_note_key_of_another_community_is_refused(worker_a, worker_b, sr, community_b):
    categories_seed(community=community_b)
    category = Category.objects.get(community=community_b, name="代开药")
    theirs = make_request(
        worker_b.user, community_b, category, contact_name="李", contact_phone="13900001111"
    )
    key = uuid.uuid4()
    note_add(service_request=theirs, actor=worker_b.user, body="x", submission_key=key)
    with pytest.raises(ValidationError):
        note_add(service_request=sr, actor=worker_a.user, body="y", submission_key=key)
    assert not RequestNote.objects.filter(request=sr).exists()


def test_note_update_through_another_request_is_404(
    as_user, worker_a, head_a, sr, community_a, medicine, resident_a
):
    other = make_request(head_a, community_a, medicine, requester=resident_a, title="另一件")
    note = note_add(service_request=sr, actor=worker_a.user, body="x")
    assert (
        as_user(worker_a.user).get(reverse("stations:note_update", args=[other.pk, note.pk])).status_code
        == 404
    )


def test_empty_note_is_refused(as_user, worker_a, sr):
    response = as_user(worker_a.user).post(reverse("stations:note_create", args=[sr.pk]), {"body": "  "})
    assert response.status_code == 302 and msgs(response)
    assert not RequestNote.objects.exists()


def test_photo_create(as_user, worker_a, sr):
    client = as_user(worker_a.user)
    upload = SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")
    response = client.post(reverse("stations:photo_create", args=[sr.pk]), {"photo": upload})
    assert response.status_code == 302
    photo = RequestPhoto.objects.get(request=sr)
    assert photo.uploaded_by == worker_a.user
    assert (
        reverse("stations:request_photo", args=[sr.pk, photo.pk])
        in client.get(sr.get_absolute_url()).content.decode()
    )
    bad = SimpleUploadedFile("x.jpg", b"nope", content_type="image/jpeg")
    response = client.post(reverse("stations:photo_create", args=[sr.pk]), {"photo": bad})
    assert response.status_code == 302 and msgs(response)
    assert RequestPhoto.objects.filter(request=sr).count() == 1


# --- receipt ---------------------------------------------------------------------------------------


def test_receipt(as_user, worker_a, sr, community_a):
    factories.StationFactory(community=community_a, name="安华里一站式服务站")
    response = as_user(worker_a.user).get(reverse("stations:request_receipt", args=[sr.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert sr.reference in html and "<svg" in html and "安华里一站式服务站" in html
    assert "13812341234" not in html and "1234" not in html.replace(sr.reference, "")
    assert "张*" in html and "张焱" not in html
    assert f"/track/?ref={sr.reference}" in html and "no-print" in html


# --- query counts ----------------------------------------------------------------------------------


def _queries(client, url) -> int:
    client.get(url)  # warm caches (content types, permissions) the same way for both sizes
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _add_requests(n, head_a, community_a, medicine, resident_a):
    for i in range(n):
        make_request(head_a, community_a, medicine, requester=resident_a, title=f"r{i}")


@pytest.mark.parametrize("url_name", ["stations:my_queue", "stations:request_list"])
def test_list_pages_constant_queries(
    as_user, worker_a, head_a, community_a, medicine, resident_a, django_assert_num_queries, url_name
):
    client = as_user(worker_a.user)
    url = reverse(url_name)
    _add_requests(5, head_a, community_a, medicine, resident_a)
    n = _queries(client, url)
    _add_requests(45, head_a, community_a, medicine, resident_a)
    client.get(url)
    with django_assert_num_queries(n):
        response = client.get(url)
    assert len(response.context["page"].object_list) == 25


def test_detail_constant_queries(as_user, worker_a, head_a, sr, django_assert_num_queries):
    client = as_user(head_a)
    url = sr.get_absolute_url()

    def grow(n):
        now = timezone.now()
        RequestNote.objects.bulk_create(
            [RequestNote(request=sr, author=worker_a.user, body=f"n{i}") for i in range(n)]
        )
        RequestEvent.objects.bulk_create(
            [RequestEvent(request=sr, kind=EventKind.URGED, actor=head_a, at=now) for _ in range(n)]
        )
        RequestPhoto.objects.bulk_create(
            [
                RequestPhoto(
                    request=sr, image=f"requests/t/{i}.jpg", width=1, height=1, uploaded_by=worker_a.user
                )
                for i in range(n)
            ]
        )

    grow(5)
    n = _queries(client, url)
    grow(45)
    client.get(url)
    with django_assert_num_queries(n):
        client.get(url)


def test_intake_prefills_from_proactive_link(as_user, worker_a, building_a):
    from stations.models import Category
    from stations.services.categories import categories_seed

    categories_seed(community=worker_a.community)
    category = Category.objects.get(community=worker_a.community, name="违章停车")
    response = as_user(worker_a.user).get(
        "/requests/new/",
        {
            "category": category.pk,
            "building": building_a.pk,
            "channel": "proactive",
            "title": "违章停车 recurring",
        },
    )
    form = response.context["form"]
    assert form.initial["category"] == category.pk
    assert form.initial["building"] == building_a.pk
    assert form.initial["channel"] == "proactive"
    assert form.initial["title"] == "违章停车 recurring"
    # junk values are ignored, not a server error
    assert (
        as_user(worker_a.user).get("/requests/new/", {"category": "x", "channel": "evil"}).status_code == 200
    )
