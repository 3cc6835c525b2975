"""Core of the desk: intake, routing, workflow, ratings (services only; pages are tested elsewhere)."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from stations.choices import Channel, EventKind, RatingSource, Satisfaction, Status, WorkerType
from stations.models import Category, Notification, RequestEvent, ServiceRequest
from stations.services.categories import categories_seed
from stations.services.requests import (
    service_request_create,
    service_request_rate,
    service_request_transition,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


def test_intake_routes_to_responsible_worker_and_numbers(
    worker_a, head_a, resident_a, medicine, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sr, created = service_request_create(
            actor=head_a,
            community=worker_a.community,
            category=medicine,
            title="帮忙开降压药",
            requester=resident_a,
            channel=Channel.PHONE,
        )
    assert created
    assert sr.assignee == worker_a
    assert sr.reference.startswith("AHL-") and sr.reference.endswith("-000001")
    assert sr.building == resident_a.household.building
    assert [e.kind for e in sr.events.all()] == [EventKind.CREATED, EventKind.ASSIGNED]
    assert Notification.objects.filter(user=worker_a.user).count() == 1


def test_double_submit_gives_one_request(worker_a, resident_a, medicine):
    key = uuid.uuid4()
    first, created1 = service_request_create(
        actor=worker_a.user,
        community=worker_a.community,
        category=medicine,
        title="t",
        requester=resident_a,
        submission_key=key,
    )
    second, created2 = service_request_create(
        actor=worker_a.user,
        community=worker_a.community,
        category=medicine,
        title="t",
        requester=resident_a,
        submission_key=key,
    )
    assert (created1, created2) == (True, False) and first.pk == second.pk
    assert ServiceRequest.objects.count() == 1


def test_walk_through_to_closed(worker_a, resident_a, resident_user_a, medicine):
    sr, _ = service_request_create(
        actor=worker_a.user, community=worker_a.community, category=medicine, title="t", requester=resident_a
    )
    for status in (Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED):
        sr = service_request_transition(service_request=sr, to_status=status, actor=worker_a.user)
    sr = service_request_rate(
        service_request=sr,
        actor=resident_user_a,
        solved=True,
        satisfaction=Satisfaction.SATISFIED,
        comment="谢谢",
    )
    sr.refresh_from_db()
    assert sr.status == Status.CLOSED and sr.solved is True and sr.accepted_at and sr.closed_at
    statuses = list(
        RequestEvent.objects.filter(request=sr, kind=EventKind.STATUS).values_list("new_status", flat=True)
    )
    assert statuses == [Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED]


def test_dissatisfied_reopens(worker_a, resident_a, medicine):
    sr, _ = service_request_create(
        actor=worker_a.user, community=worker_a.community, category=medicine, title="t", requester=resident_a
    )
    sr = service_request_transition(service_request=sr, to_status=Status.ACCEPTED, actor=worker_a.user)
    sr = service_request_transition(service_request=sr, to_status=Status.RESOLVED, actor=worker_a.user)
    sr = service_request_rate(
        service_request=sr,
        actor=worker_a.user,
        solved=True,
        satisfaction=Satisfaction.DISSATISFIED,
        source=RatingSource.CALLBACK,
    )
    assert sr.status == Status.IN_PROGRESS and sr.rework_count == 1


def test_forbidden_transition_and_stale_version(worker_a, resident_a, medicine):
    sr, _ = service_request_create(
        actor=worker_a.user, community=worker_a.community, category=medicine, title="t", requester=resident_a
    )
    with pytest.raises(ValidationError):
        service_request_transition(service_request=sr, to_status=Status.CLOSED, actor=worker_a.user)
    with pytest.raises(ValidationError) as exc:
        service_request_transition(
            service_request=sr, to_status=Status.ACCEPTED, actor=worker_a.user, version=99
        )
    assert exc.value.code == "stale"


def test_other_worker_cannot_resolve(worker_a, resident_a, medicine, community_a):
    other = factories.make_worker(community=community_a, worker_type=WorkerType.PROJECT, username="other")
    sr, _ = service_request_create(
        actor=worker_a.user, community=worker_a.community, category=medicine, title="t", requester=resident_a
    )
    with pytest.raises(PermissionDenied):
        service_request_transition(service_request=sr, to_status=Status.ACCEPTED, actor=other.user)


def test_deadline_working_days(worker_a, resident_a, medicine):
    received = dt.datetime(2026, 9, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    sr, _ = service_request_create(
        actor=worker_a.user,
        community=worker_a.community,
        category=medicine,
        title="t",
        requester=resident_a,
        received_at=received,
    )
    # 代开药: 3 working days. 1–7 Oct 2026 are the National Day holiday and Saturday 10 Oct is a
    # make-up workday (调休): Thu 8, Fri 9, Sat 10.
    assert sr.resolution_due_at.astimezone(received.tzinfo).date() == dt.date(2026, 10, 10)
