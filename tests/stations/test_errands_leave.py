"""Recurring errands (代开药 every N days), routing and hand-over around leave, and notifications."""

import datetime as dt
import uuid
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from stations.choices import Channel, EventKind, Status, WorkerType
from stations.models import Category, Leave, Notification, RecurringErrand, RequestEvent, ServiceRequest
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from stations.services.staff import leave_create
from stations.services.visits import errand_create
from tests import factories

pytestmark = pytest.mark.django_db

ERRAND_LIST = reverse("stations:errand_list")
ERRAND_CREATE = reverse("stations:errand_create")
NOTIFICATIONS = reverse("stations:notification_list")


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


def run(command: str) -> str:
    out = StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def today() -> dt.date:
    return timezone.localdate()


# Errand pages ------------------------------------------------------------------------------------------------


def test_errand_create_with_resident_preselected(as_user, worker_a, resident_a, medicine):
    client = as_user(worker_a.user)
    page = client.get(f"{ERRAND_CREATE}?resident={resident_a.pk}")
    assert page.status_code == 200
    assert f'name="resident" value="{resident_a.pk}"' in page.content.decode()
    assert f'name="first_due_on" value="{today().isoformat()}"' in page.content.decode()  # ISO for type=date
    due = today() + dt.timedelta(days=2)
    response = client.post(
        f"{ERRAND_CREATE}?resident={resident_a.pk}",
        {
            "resident": resident_a.pk,
            "category": medicine.pk,
            "title": " 代开降压药 ",
            "every_days": "14",
            "first_due_on": due.isoformat(),
            "assignee": worker_a.pk,
            "description": "社区医院",
        },
    )
    assert response.status_code == 302 and response.url == ERRAND_LIST
    errand = RecurringErrand.objects.get()
    assert (
        errand.resident,
        errand.category,
        errand.title,
        errand.every_days,
        errand.next_due_on,
        errand.assignee,
        errand.description,
        errand.created_by,
        errand.community,
    ) == (
        resident_a,
        medicine,
        "代开降压药",
        14,
        due,
        worker_a,
        "社区医院",
        worker_a.user,
        resident_a.community,
    )
    listing = client.get(ERRAND_LIST)
    assert list(listing.context["page"]) == [errand] and "代开降压药" in listing.content.decode()


def test_errand_form_submitted_twice_sets_up_one(as_user, worker_a, resident_a, medicine):
    client = as_user(worker_a.user)
    page = client.get(f"{ERRAND_CREATE}?resident={resident_a.pk}")
    key = page.context["form"]["submission_key"].value()
    data = {
        "submission_key": str(key),
        "resident": resident_a.pk,
        "category": medicine.pk,
        "title": "代开降压药",
        "every_days": "14",
        "first_due_on": today().isoformat(),
    }
    assert client.post(ERRAND_CREATE, data).status_code == 302
    assert client.post(ERRAND_CREATE, data).status_code == 302
    assert RecurringErrand.objects.count() == 1
    assert client.post(ERRAND_CREATE, {**data, "submission_key": str(uuid.uuid4())}).status_code == 302
    assert RecurringErrand.objects.count() == 2  # another form is another errand


def test_errand_key_of_another_community_is_refused(worker_a, worker_b, resident_a, resident_b, medicine):
    categories_seed(community=resident_b.community)
    key = uuid.uuid4()
    other = Category.objects.get(community=resident_b.community, name="代开药")
    errand_create(
        actor=worker_b.user, resident=resident_b, category=other, title="t", every_days=7,
        first_due_on=today(), submission_key=key,
    )  # fmt: skip
    with pytest.raises(ValidationError):
        errand_create(
            actor=worker_a.user, resident=resident_a, category=medicine, title="t", every_days=7,
            first_due_on=today(), submission_key=key,
        )  # fmt: skip
    assert RecurringErrand.objects.count() == 1


def test_errand_create_finds_the_resident_first_without_listing_everyone(
    as_user, worker_a, resident_a, resident_b, household_a, medicine, django_assert_max_num_queries
):
    for n in range(30):  # a community's residents are never all on the page
        factories.ResidentFactory(household=household_a, name=f"王{n:02d}")
    client = as_user(worker_a.user)
    page = client.get(ERRAND_CREATE).content.decode()
    assert 'name="q"' in page and "<option" not in page and 'name="title"' not in page
    with django_assert_max_num_queries(12):
        found = client.get(ERRAND_CREATE, {"q": "张焱"}).content.decode()
    assert f'href="?resident={resident_a.pk}"' in found
    other = client.get(ERRAND_CREATE, {"q": "李娜"}).content.decode()  # a resident of another community
    assert f"?resident={resident_b.pk}" not in other and "list-group-item-action" not in other
    by_phone_tail = client.get(ERRAND_CREATE, {"q": "1234"}).content.decode()
    assert f'href="?resident={resident_a.pk}"' in by_phone_tail
    assert by_phone_tail.count('class="list-group-item list-group-item-action"') == 1
    nobody = client.get(ERRAND_CREATE, {"q": "<script>x</script>"}).content.decode()
    assert "<script>x</script>" not in nobody and "&lt;script&gt;x&lt;/script&gt;" in nobody
    # The link opens the form for that person, with no list of residents either.
    form = client.get(f"{ERRAND_CREATE}?resident={resident_a.pk}").content.decode()
    assert f'name="resident" value="{resident_a.pk}"' in form and 'name="title"' in form
    assert form.count("<option") < 40  # categories and workers only
    # Another community's resident by id: back to the search.
    assert 'name="title"' not in client.get(f"{ERRAND_CREATE}?resident={resident_b.pk}").content.decode()


def test_errand_create_rejects_bad_input(as_user, worker_a, resident_b, medicine):
    response = as_user(worker_a.user).post(
        ERRAND_CREATE,
        {
            "resident": resident_b.pk,
            "category": medicine.pk,
            "title": "t",
            "every_days": "0",
            "first_due_on": (today() - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"resident", "every_days", "first_due_on"} <= set(errors)
    assert RecurringErrand.objects.count() == 0


def test_errand_pages_permissions_and_scope(
    as_user, resident_user_a, subdistrict_a, worker_b, worker_a, resident_a, medicine
):
    errand_create(
        actor=worker_a.user,
        resident=resident_a,
        category=medicine,
        title="t",
        every_days=7,
        first_due_on=today(),
    )
    assert as_user(resident_user_a).get(ERRAND_LIST).status_code == 403
    assert as_user(resident_user_a).get(ERRAND_CREATE).status_code == 403
    assert as_user(subdistrict_a).get(ERRAND_CREATE).status_code == 403
    assert list(as_user(worker_b.user).get(ERRAND_LIST).context["page"]) == []


# create_due_errands ------------------------------------------------------------------------------------------


def test_due_errand_creates_one_request_then_nothing(worker_a, resident_a, medicine):
    errand = errand_create(
        actor=worker_a.user,
        resident=resident_a,
        category=medicine,
        title="代开药",
        every_days=14,
        first_due_on=today(),
        assignee=worker_a,
    )
    assert "1" in run("create_due_errands")
    service_request = ServiceRequest.objects.get()
    assert (
        service_request.errand,
        service_request.channel,
        service_request.requester,
        service_request.assignee,
        service_request.category,
    ) == (errand, Channel.PROACTIVE, resident_a, worker_a, medicine)
    errand.refresh_from_db()
    assert errand.next_due_on == today() + dt.timedelta(days=14)
    assert "0" in run("create_due_errands")
    assert ServiceRequest.objects.count() == 1


def test_errand_three_periods_late_creates_one_request(worker_a, resident_a, medicine):
    errand = errand_create(
        actor=worker_a.user,
        resident=resident_a,
        category=medicine,
        title="代开药",
        every_days=7,
        first_due_on=today(),
    )
    RecurringErrand.objects.filter(pk=errand.pk).update(next_due_on=today() - dt.timedelta(days=21))
    run("create_due_errands")
    assert ServiceRequest.objects.filter(errand=errand).count() == 1
    errand.refresh_from_db()
    assert errand.next_due_on == today() + dt.timedelta(days=7)
    run("create_due_errands")
    assert ServiceRequest.objects.filter(errand=errand).count() == 1


def test_errand_not_yet_due_creates_nothing(worker_a, resident_a, medicine):
    errand_create(
        actor=worker_a.user,
        resident=resident_a,
        category=medicine,
        title="t",
        every_days=7,
        first_due_on=today() + dt.timedelta(days=1),
    )
    assert "0" in run("create_due_errands")
    assert ServiceRequest.objects.count() == 0


def test_errand_usual_worker_on_leave_goes_to_cover(community_a, worker_a, resident_a, medicine):
    cover = factories.make_worker(community=community_a, worker_type=WorkerType.LIAISON, username="cover")
    errand_create(
        actor=worker_a.user,
        resident=resident_a,
        category=medicine,
        title="t",
        every_days=7,
        first_due_on=today(),
        assignee=worker_a,
    )
    Leave.objects.create(worker=worker_a, starts_on=today(), ends_on=today(), cover=cover)
    run("create_due_errands")
    assert ServiceRequest.objects.get().assignee == cover


# Routing around leave ----------------------------------------------------------------------------------------


def _intake(actor, community, category, building, title="t"):
    service_request, _created = service_request_create(
        actor=actor, community=community, category=category, title=title, building=building
    )
    return service_request


def test_new_request_goes_to_cover_of_responsible_worker(head_a, community_a, building_a, worker_a, medicine):
    cover = factories.make_worker(community=community_a, worker_type=WorkerType.LIAISON, username="cover")
    Leave.objects.create(
        worker=worker_a, starts_on=today(), ends_on=today() + dt.timedelta(days=3), cover=cover
    )
    assert _intake(head_a, community_a, medicine, building_a).assignee == cover


def test_new_request_without_cover_goes_to_least_loaded_of_same_type(
    head_a, community_a, building_a, worker_a, medicine
):
    busy = factories.make_worker(community=community_a, worker_type=WorkerType.LIAISON, username="busy")
    idle = factories.make_worker(community=community_a, worker_type=WorkerType.LIAISON, username="idle")
    factories.make_worker(
        community=community_a, worker_type=WorkerType.PROJECT, username="project"
    )  # 0 load, wrong type
    for _ in range(2):
        service_request_create(
            actor=head_a, community=community_a, category=medicine, title="t", assignee=busy
        )
    service_request_create(actor=head_a, community=community_a, category=medicine, title="t", assignee=idle)
    Leave.objects.create(worker=worker_a, starts_on=today(), ends_on=today())
    assert _intake(head_a, community_a, medicine, building_a).assignee == idle


# Leave page and start_leaves ---------------------------------------------------------------------------------


def _open_requests(head, community, category, building, n=2):
    return [_intake(head, community, category, building, title=f"open {i}") for i in range(n)]


def test_leave_create_hands_over_open_requests(
    as_user, head_a, community_a, building_a, worker_a, medicine, django_capture_on_commit_callbacks
):
    cover = factories.make_worker(community=community_a, worker_type=WorkerType.LIAISON, username="cover")
    open_requests = _open_requests(head_a, community_a, medicine, building_a)
    resolved = _intake(head_a, community_a, medicine, building_a, title="done")
    ServiceRequest.objects.filter(pk=resolved.pk).update(status=Status.RESOLVED)
    url = reverse("stations:leave_create", args=[worker_a.pk])
    client = as_user(head_a)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "starts_on": today().isoformat(),
                "ends_on": (today() + dt.timedelta(days=2)).isoformat(),
                "cover": cover.pk,
                "reason": " 年假 ",
            },
        )
    assert response.status_code == 302 and response.url == worker_a.get_absolute_url()
    leave = Leave.objects.get()
    assert (leave.worker, leave.starts_on, leave.ends_on, leave.cover, leave.reason) == (
        worker_a,
        today(),
        today() + dt.timedelta(days=2),
        cover,
        "年假",
    )
    for service_request in open_requests:
        service_request.refresh_from_db()
        assert service_request.assignee == cover
        event = RequestEvent.objects.get(request=service_request, kind=EventKind.HANDOVER)
        assert (event.old_assignee, event.new_assignee, event.actor) == (worker_a, cover, head_a)
    resolved.refresh_from_db()
    assert resolved.assignee == worker_a  # only open work moves
    assert Notification.objects.filter(user=cover.user, event__kind=EventKind.HANDOVER).count() == 2
    message = [str(m) for m in client.get(response.url).context["messages"]][0]
    assert "2" in message

    assert "0" in run("start_leaves")
    assert RequestEvent.objects.filter(kind=EventKind.HANDOVER).count() == 2


def test_start_leaves_hands_over_once(head_a, community_a, building_a, worker_a, medicine):
    cover = factories.make_worker(community=community_a, worker_type=WorkerType.LIAISON, username="cover")
    open_requests = _open_requests(head_a, community_a, medicine, building_a)
    Leave.objects.create(
        worker=worker_a, starts_on=today(), ends_on=today(), cover=cover
    )  # recorded in advance
    assert "2" in run("start_leaves")
    assert set(
        ServiceRequest.objects.filter(pk__in=[r.pk for r in open_requests]).values_list("assignee", flat=True)
    ) == {cover.pk}
    assert "0" in run("start_leaves")
    assert RequestEvent.objects.filter(kind=EventKind.HANDOVER).count() == 2


def test_future_leave_moves_nothing_yet(as_user, head_a, community_a, building_a, worker_a, medicine):
    _open_requests(head_a, community_a, medicine, building_a, n=1)
    response = as_user(head_a).post(
        reverse("stations:leave_create", args=[worker_a.pk]),
        {
            "starts_on": (today() + dt.timedelta(days=5)).isoformat(),
            "ends_on": (today() + dt.timedelta(days=6)).isoformat(),
        },
    )
    assert response.status_code == 302
    assert ServiceRequest.objects.get().assignee == worker_a
    assert not RequestEvent.objects.filter(kind=EventKind.HANDOVER).exists()


def test_leave_form_submitted_twice_records_one_leave(as_user, head_a, worker_a):
    url = reverse("stations:leave_create", args=[worker_a.pk])
    client = as_user(head_a)
    key = client.get(url).context["form"]["submission_key"].value()
    data = {"submission_key": str(key), "starts_on": today().isoformat(), "ends_on": today().isoformat()}
    first, second = client.post(url, data), client.post(url, data)
    assert (first.status_code, second.status_code) == (302, 302)
    # The second is told the leave was recorded already, not that the worker has leave then.
    assert [str(m) for m in get_messages(second.wsgi_request)][-1] == "该请假已经登记过了。"
    assert Leave.objects.filter(worker=worker_a).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_leave_form_submitted_twice_at_once_records_one(head_a, worker_a):
    from tests.concurrency import _errors, _ok, run_together

    key = uuid.uuid4()
    results = run_together(
        2,
        lambda i: (
            leave_create(
                actor=head_a, worker=worker_a, starts_on=today(), ends_on=today(), submission_key=key
            ).pk
        ),
    )
    assert _errors(results) == []
    assert len(set(_ok(results))) == 1
    assert Leave.objects.count() == 1


def test_leave_permissions(as_user, community_a, worker_a, worker_b):
    url = reverse("stations:leave_create", args=[worker_a.pk])
    assert as_user(worker_a.user).get(url).status_code == 200  # the worker themself
    colleague = factories.make_worker(community=community_a, username="colleague")
    assert as_user(colleague.user).get(url).status_code == 403
    assert (
        as_user(colleague.user)
        .post(url, {"starts_on": today().isoformat(), "ends_on": today().isoformat()})
        .status_code
        == 403
    )
    assert as_user(worker_b.user).get(url).status_code == 404
    assert Leave.objects.count() == 0


def test_leave_form_errors(as_user, head_a, worker_a, worker_b):
    url = reverse("stations:leave_create", args=[worker_a.pk])
    response = as_user(head_a).post(
        url,
        {
            "starts_on": today().isoformat(),
            "ends_on": (today() - dt.timedelta(days=1)).isoformat(),
            "cover": worker_b.pk,
        },
    )
    assert response.status_code == 200
    assert {"ends_on", "cover"} <= set(response.context["form"].errors)
    Leave.objects.create(worker=worker_a, starts_on=today(), ends_on=today())
    response = as_user(head_a).post(url, {"starts_on": today().isoformat(), "ends_on": today().isoformat()})
    assert response.status_code == 200 and response.context["form"].errors["starts_on"]  # overlaps
    assert Leave.objects.count() == 1


def test_worker_page_links_to_leave(as_user, head_a, worker_a):
    body = as_user(head_a).get(worker_a.get_absolute_url()).content.decode()
    assert reverse("stations:leave_create", args=[worker_a.pk]) in body


# Notifications -----------------------------------------------------------------------------------------------


def test_notifications_list_and_mark_read(
    as_user, head_a, community_a, building_a, worker_a, worker_b, medicine, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_request = _intake(head_a, community_a, medicine, building_a, title="楼道灯坏了")
    client = as_user(worker_a.user)
    response = client.get(NOTIFICATIONS)
    assert response.status_code == 200
    notification = Notification.objects.get(user=worker_a.user)
    assert list(response.context["page"]) == [notification]
    body = response.content.decode()
    assert service_request.reference in body
    assert reverse("stations:request_detail", args=[service_request.pk]) in body
    assert list(as_user(worker_b.user).get(NOTIFICATIONS).context["page"]) == []

    client = as_user(worker_a.user)
    response = client.post(NOTIFICATIONS, {"mark_read": "1"})
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert list(client.get(NOTIFICATIONS).context["page"]) == [notification]  # recently read stay listed
    assert client.put(NOTIFICATIONS).status_code == 405


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_errand_form_submitted_twice_at_once_sets_up_one(worker_a, resident_a, medicine):
    from tests.concurrency import _errors, _ok, run_together

    key = uuid.uuid4()
    results = run_together(
        2,
        lambda i: errand_create(
            actor=worker_a.user, resident=resident_a, category=medicine, title="代开降压药", every_days=14,
            first_due_on=today(), submission_key=key,
        ).pk,
    )  # fmt: skip
    assert _errors(results) == []
    assert len(set(_ok(results))) == 1
    assert RecurringErrand.objects.count() == 1
