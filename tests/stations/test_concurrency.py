"""Races on PostgreSQL with real threads: the services lock rows, so two people pressing at once
get one result and a clear message, never two events, two requests or a shared reference.

Skipped on SQLite (which serialises every writer anyway). Each thread has its own connection and
closes it at the end; the transactional test database is flushed after each test."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from stations.choices import EventKind, ExtensionStatus, RatingSource, Satisfaction, Status, WorkerType
from stations.models import Category, Extension, Rating, RequestEvent, ServiceRequest
from stations.services.categories import categories_seed
from stations.services.requests import (
    extension_decide,
    extension_request,
    service_request_create,
    service_request_rate,
    service_request_transition,
)
from tests import factories
from tests.concurrency import _errors, _ok, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


def test_two_workers_accept_at_once(community_a, head_a, medicine):
    # Logged before anyone works at the desk: it waits unassigned in the shared queue.
    sr, _ = service_request_create(actor=head_a, community=community_a, category=medicine, title="开药")
    assert sr.assignee is None
    workers = [
        factories.make_worker(community=community_a, worker_type=WorkerType.LIAISON, username=f"w{i}")
        for i in range(2)
    ]

    results = run_together(
        2,
        lambda i: service_request_transition(
            service_request=sr, to_status=Status.ACCEPTED, actor=workers[i].user, version=sr.version
        ),
    )

    [winner] = _ok(results)
    [error] = _errors(results)
    assert isinstance(error, ValidationError) and error.code in {"stale", "bad_transition"}, error
    sr.refresh_from_db()
    assert sr.status == Status.ACCEPTED and sr.assignee_id == winner.assignee_id and sr.version == 2
    [event] = RequestEvent.objects.filter(request=sr, kind=EventKind.STATUS)
    assert event.actor_id == sr.assignee.user_id
    assert RequestEvent.objects.filter(request=sr, kind=EventKind.ASSIGNED).count() == 1


def test_same_submission_key_gives_one_request(community_a, worker_a, resident_a, medicine):
    key = uuid.uuid4()

    results = run_together(
        10,
        lambda i: service_request_create(
            actor=worker_a.user,
            community=community_a,
            category=medicine,
            title="开药",
            requester=resident_a,
            submission_key=key,
        ),
    )

    assert _errors(results) == []
    pairs = _ok(results)
    assert ServiceRequest.objects.count() == 1
    only = ServiceRequest.objects.get()
    assert {sr.pk for sr, _created in pairs} == {only.pk}
    assert sorted(created for _sr, created in pairs) == [False] * 9 + [True]
    assert only.events.filter(kind=EventKind.CREATED).count() == 1
    # The losers gave their number back: the next intake follows on without a gap.
    year = timezone.localtime(only.received_at).year
    assert only.reference == f"AHL-{year}-000001"
    following, _ = service_request_create(
        actor=worker_a.user, community=community_a, category=medicine, title="再开药"
    )
    assert following.reference == f"AHL-{year}-000002"


def test_concurrent_intakes_get_consecutive_references(community_a, worker_a, medicine):
    results = run_together(
        20,
        lambda i: (
            service_request_create(
                actor=worker_a.user, community=community_a, category=medicine, title=f"诉求{i}"
            )[0].reference
        ),
    )

    assert _errors(results) == []
    year = timezone.localtime().year
    references = sorted(_ok(results))
    assert references == [f"AHL-{year}-{n:06d}" for n in range(1, 21)]
    assert sorted(ServiceRequest.objects.values_list("reference", flat=True)) == references


def test_two_ratings_at_once(community_a, worker_a, resident_a, resident_user_a, medicine):
    sr, _ = service_request_create(
        actor=worker_a.user, community=community_a, category=medicine, title="开药", requester=resident_a
    )
    for status in (Status.ACCEPTED, Status.RESOLVED):
        sr = service_request_transition(service_request=sr, to_status=status, actor=worker_a.user)
    raters = [(resident_user_a, RatingSource.REQUESTER), (worker_a.user, RatingSource.CALLBACK)]

    results = run_together(
        2,
        lambda i: service_request_rate(
            service_request=sr,
            actor=raters[i][0],
            source=raters[i][1],
            solved=True,
            satisfaction=Satisfaction.SATISFIED,
        ),
    )

    assert len(_ok(results)) == 1
    [error] = _errors(results)
    assert isinstance(error, ValidationError) and error.code == "not_resolved", error
    sr.refresh_from_db()
    assert sr.status == Status.CLOSED
    assert Rating.objects.filter(request=sr).count() == 1
    assert RequestEvent.objects.filter(request=sr, kind=EventKind.RATED).count() == 1
    assert (
        RequestEvent.objects.filter(request=sr, kind=EventKind.STATUS, new_status=Status.CLOSED).count() == 1
    )


def test_two_extension_requests_at_once(community_a, worker_a, head_a, medicine):
    sr, _ = service_request_create(
        actor=head_a, community=community_a, category=medicine, title="开药", assignee=worker_a
    )
    later = sr.resolution_due_at + dt.timedelta(days=3)
    actors = [worker_a.user, head_a]

    results = run_together(
        2,
        lambda i: extension_request(
            service_request=sr, actor=actors[i], new_due_at=later, reason="需等医院复诊"
        ),
    )

    [extension] = _ok(results)
    [error] = _errors(results)
    assert isinstance(error, ValidationError) and error.code == "extension_pending", error
    assert Extension.objects.filter(request=sr).count() == 1

    # Two approvals of that one extension at once: one decides, the other is told it was decided.
    results = run_together(2, lambda i: extension_decide(extension=extension, actor=head_a, approve=i == 0))
    [decided] = _ok(results)
    [error] = _errors(results)
    assert isinstance(error, ValidationError) and error.code == "decided", error
    extension.refresh_from_db()
    assert extension.status == decided.status != ExtensionStatus.PENDING
    assert (
        RequestEvent.objects.filter(
            request=sr, kind__in=[EventKind.EXTENSION_APPROVED, EventKind.EXTENSION_REJECTED]
        ).count()
        == 1
    )
