"""Routing (派单) on intake and the hand-over of open work when a worker goes on leave."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from stations.choices import EventKind, Role, Status, WorkerType
from stations.models import Category, Leave, Notification, RequestEvent, ServiceRequest
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from stations.services.routing import route
from stations.services.staff import hand_over_open_requests, leave_create
from tests import factories

pytestmark = pytest.mark.django_db

L, P, G = WorkerType.LIAISON, WorkerType.PROJECT, WorkerType.GOVERNMENT


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def categories(community_a):
    categories_seed(community=community_a)
    return {c.name: c for c in Category.objects.filter(community=community_a)}


@pytest.fixture
def medicine(categories):
    return categories["代开药"]  # handled by resident-liaison workers


@pytest.fixture
def worker(community_a):
    """worker(name, type=L, active=True): another worker of community A, responsible for no building."""

    def make(name, worker_type=L, active=True):
        made = factories.make_worker(community=community_a, worker_type=worker_type, username=name)
        if not active:
            made.is_active = False
            made.save(update_fields=["is_active"])
        return made

    return make


@pytest.fixture
def load(head_a, community_a, medicine):
    """load(worker, n, status=NEW): give a worker n requests in that status (set-up only)."""

    def make(assignee, n, status=Status.NEW):
        made = []
        for i in range(n):
            sr, _ = service_request_create(
                actor=head_a, community=community_a, category=medicine, title=f"负载{i}", assignee=assignee
            )
            made.append(sr)
        ServiceRequest.objects.filter(pk__in=[sr.pk for sr in made]).update(status=status)
        return made

    return make


def away(worker, day, cover=None):
    return Leave.objects.create(
        worker=worker, starts_on=day - dt.timedelta(days=1), ends_on=day + dt.timedelta(days=2), cover=cover
    )


def _route(community, building, day, worker_type=L):
    return route(community=community, worker_type=worker_type, building=building, day=day)


# --- route ----------------------------------------------------------------------------------------


def test_responsible_worker_of_matching_type(community_a, building_a, worker_a, worker, load, today):
    idle = worker("idle")  # less loaded, but not responsible for the building
    project = worker("project", P)
    project.buildings.add(building_a)
    load(worker_a, 2)
    assert _route(community_a, building_a, today) == worker_a
    assert _route(community_a, building_a, today, P) == project
    assert _route(community_a, None, today) == idle


def test_intake_goes_to_responsible_worker(community_a, worker_a, worker, head_a, resident_a, medicine):
    worker("idle")
    sr, _ = service_request_create(
        actor=head_a, community=community_a, category=medicine, title="开药", requester=resident_a
    )
    assert sr.assignee == worker_a
    [event] = RequestEvent.objects.filter(request=sr, kind=EventKind.ASSIGNED)
    assert (event.new_assignee, event.actor) == (worker_a, head_a)


def test_responsible_on_leave_goes_to_named_cover(
    community_a, building_a, worker_a, worker, load, today, head_a, resident_a, medicine
):
    worker("idle")
    cover = worker("cover", P)  # any worker may cover, and the cover's load does not matter
    load(cover, 3)
    away(worker_a, today, cover=cover)
    assert _route(community_a, building_a, today) == cover
    sr, _ = service_request_create(
        actor=head_a, community=community_a, category=medicine, title="开药", requester=resident_a
    )
    assert sr.assignee == cover


def test_cover_also_on_leave_goes_to_least_loaded_of_type(
    community_a, building_a, worker_a, worker, load, today
):
    cover = worker("cover")
    busy, idle = worker("busy"), worker("idle")
    worker("project_idle", P)
    away(worker_a, today, cover=cover)
    away(cover, today)
    load(busy, 1)
    assert _route(community_a, building_a, today) == idle


def test_inactive_cover_is_not_chosen(community_a, building_a, worker_a, worker, load, today):
    cover = worker("cover", active=False)
    busy, idle = worker("busy"), worker("idle")
    away(worker_a, today, cover=cover)
    load(busy, 1)
    assert _route(community_a, building_a, today) == idle


def test_leave_without_cover_goes_to_least_loaded_of_type(
    community_a, building_a, worker_a, worker, load, today
):
    first, second = worker("first"), worker("second")
    worker("project_idle", P)
    away(worker_a, today)
    load(first, 2)
    load(second, 1)
    assert _route(community_a, building_a, today) == second
    load(second, 2)
    assert _route(community_a, building_a, today) == first


def test_leave_in_the_future_does_not_count(community_a, building_a, worker_a, worker, today):
    worker("idle")
    Leave.objects.create(
        worker=worker_a, starts_on=today + dt.timedelta(days=1), ends_on=today + dt.timedelta(days=3)
    )
    assert _route(community_a, building_a, today) == worker_a
    assert _route(community_a, building_a, today + dt.timedelta(days=1)) != worker_a


def test_no_responsible_worker_goes_to_least_loaded_of_type(community_a, worker_a, worker, load, today):
    other_building = factories.BuildingFactory(community=community_a, number="7号楼")
    idle = worker("idle")
    worker("project_idle", P)
    load(worker_a, 1)
    assert _route(community_a, other_building, today) == idle
    assert _route(community_a, None, today) == idle


def test_no_worker_of_type_goes_to_least_loaded_of_any_type(
    community_a, building_a, worker_a, worker, load, today, head_a, resident_a, categories
):
    project = worker("project", P)
    load(worker_a, 2)
    load(project, 1)
    assert _route(community_a, building_a, today, G) == project
    sr, _ = service_request_create(
        actor=head_a,
        community=community_a,
        category=categories["证明开具"],
        title="开居住证明",
        requester=resident_a,
    )
    assert sr.assignee == project


def test_only_open_requests_count_as_load(community_a, worker, load, today):
    finished, busy = worker("finished"), worker("busy")
    for status in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED):
        load(finished, 1, status)
    load(busy, 1, Status.IN_PROGRESS)
    assert _route(community_a, None, today) == finished


def test_tie_goes_to_the_earliest_worker(community_a, worker, today):
    first = worker("first")
    worker("second")
    assert _route(community_a, None, today) == first


def test_inactive_workers_are_never_chosen(community_a, building_a, worker_a, worker, load, today):
    worker_a.is_active = False
    worker_a.save(update_fields=["is_active"])
    worker("retired", active=False)  # no load at all
    busy = worker("busy")
    load(busy, 3)
    assert _route(community_a, building_a, today) == busy
    assert _route(community_a, None, today, G) == busy


def test_nobody_available_leaves_it_in_the_shared_queue(
    community_a,
    worker_a,
    worker_b,
    worker,
    head_a,
    resident_a,
    medicine,
    today,
    django_capture_on_commit_callbacks,
):
    away(worker_a, today)
    away(worker("project", P), today)
    worker("retired", active=False)
    assert _route(community_a, worker_a.buildings.get(), today) is None
    with django_capture_on_commit_callbacks(execute=True):
        sr, _ = service_request_create(
            actor=head_a, community=community_a, category=medicine, title="开药", requester=resident_a
        )
    assert sr.assignee is None  # worker_b of community B is never a candidate
    assert [e.kind for e in sr.events.all()] == [EventKind.CREATED]
    assert not Notification.objects.exists()


# --- leave hand-over --------------------------------------------------------------------------------


@pytest.fixture
def open_and_done(worker_a, load):
    """worker_a's work: three open requests and three that are finished."""
    open_ = [
        *load(worker_a, 1, Status.NEW),
        *load(worker_a, 1, Status.ACCEPTED),
        *load(worker_a, 1, Status.IN_PROGRESS),
    ]
    done = [
        *load(worker_a, 1, Status.RESOLVED),
        *load(worker_a, 1, Status.CLOSED),
        *load(worker_a, 1, Status.CANCELLED),
    ]
    return open_, done


def _handovers(requests):
    return RequestEvent.objects.filter(request__in=requests, kind=EventKind.HANDOVER)


def test_leave_today_hands_over_to_cover(
    worker_a, worker, head_a, open_and_done, today, django_capture_on_commit_callbacks
):
    open_, done = open_and_done
    cover = worker("cover")
    with django_capture_on_commit_callbacks(execute=True):
        leave = leave_create(
            actor=head_a,
            worker=worker_a,
            starts_on=today,
            ends_on=today + dt.timedelta(days=4),
            cover=cover,
            reason="病假",
        )
    assert (leave.cover, leave.reason) == (cover, "病假")
    for sr in open_:
        sr.refresh_from_db()
        assert sr.assignee == cover and sr.version == 2
        [event] = _handovers([sr])
        assert (event.old_assignee, event.new_assignee, event.actor) == (worker_a, cover, head_a)
    for sr in done:
        sr.refresh_from_db()
        assert sr.assignee == worker_a
    assert not _handovers(done).exists()
    assert Notification.objects.filter(user=cover.user, event__kind=EventKind.HANDOVER).count() == 3


def test_leave_without_cover_spreads_over_colleagues(worker_a, worker, load, open_and_done, today):
    open_, _done = open_and_done
    first, second = worker("first"), worker("second")
    project = worker("project", P)
    leave_create(
        actor=worker_a.user, worker=worker_a, starts_on=today, ends_on=today
    )  # a worker records own leave
    assignees = []
    for sr in open_:
        sr.refresh_from_db()
        assignees.append(sr.assignee)
    # Each pick sees the load of the previous ones: first, second, then first again (tie → earliest).
    assert sorted(a.pk for a in assignees) == sorted([first.pk, second.pk, first.pk])
    assert project not in assignees
    assert _handovers(open_).count() == 3


def test_leave_starting_later_hands_over_on_its_first_day(worker_a, worker, head_a, open_and_done, today):
    open_, _done = open_and_done
    cover = worker("cover")
    tomorrow = today + dt.timedelta(days=1)
    leave_create(actor=head_a, worker=worker_a, starts_on=tomorrow, ends_on=tomorrow, cover=cover)
    assert ServiceRequest.objects.filter(assignee=worker_a).count() == 6
    assert not _handovers(open_).exists()
    assert hand_over_open_requests(worker=worker_a, day=today) == 0  # not away yet
    assert hand_over_open_requests(worker=worker_a, day=tomorrow) == 3
    assert ServiceRequest.objects.filter(assignee=cover).count() == 3


def test_hand_over_twice_moves_nothing_the_second_time(worker_a, worker, head_a, open_and_done, today):
    open_, _done = open_and_done
    worker("colleague")
    Leave.objects.create(worker=worker_a, starts_on=today, ends_on=today)
    assert hand_over_open_requests(worker=worker_a, actor=head_a) == 3
    assert hand_over_open_requests(worker=worker_a, actor=head_a) == 0
    assert _handovers(open_).count() == 3


def test_hand_over_with_nobody_in_keeps_the_work(worker_a, open_and_done, today):
    open_, _done = open_and_done
    Leave.objects.create(worker=worker_a, starts_on=today, ends_on=today)
    assert hand_over_open_requests(worker=worker_a) == 0
    assert ServiceRequest.objects.filter(assignee=worker_a).count() == 6


def test_leave_rules(worker_a, worker_b, worker, head_a, community_b, today):
    colleague = worker("colleague")
    with pytest.raises(ValidationError) as exc:
        leave_create(actor=head_a, worker=worker_a, starts_on=today, ends_on=today - dt.timedelta(days=1))
    assert "ends_on" in exc.value.message_dict
    for bad_cover in (worker_a, worker_b):
        with pytest.raises(ValidationError) as exc:
            leave_create(actor=head_a, worker=worker_a, starts_on=today, ends_on=today, cover=bad_cover)
        assert "cover" in exc.value.message_dict
    leave_create(actor=head_a, worker=worker_a, starts_on=today, ends_on=today + dt.timedelta(days=2))
    with pytest.raises(ValidationError) as exc:
        leave_create(
            actor=head_a,
            worker=worker_a,
            starts_on=today + dt.timedelta(days=2),
            ends_on=today + dt.timedelta(days=3),
        )
    assert "starts_on" in exc.value.message_dict
    head_b = factories.make_member(role=Role.HEAD, community=community_b, username="head_b")
    for outsider in (colleague.user, worker_b.user, head_b):
        with pytest.raises(PermissionDenied):
            leave_create(
                actor=outsider,
                worker=worker_a,
                starts_on=today + dt.timedelta(days=5),
                ends_on=today + dt.timedelta(days=5),
            )
    assert Leave.objects.filter(worker=worker_a).count() == 1
