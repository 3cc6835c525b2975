"""The request workflow by service: every status pair, every role, cancelling, ratings and rework,
extensions (延期), urging (催办) and reassignment (派单). Pages are tested elsewhere."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from stations.choices import (
    Action,
    EventKind,
    ExtensionStatus,
    RatingSource,
    Role,
    Satisfaction,
    Status,
    WorkerType,
)
from stations.models import Category, Extension, Notification, Rating, RequestEvent, ServiceRequest
from stations.services.categories import categories_seed
from stations.services.requests import (
    extension_decide,
    extension_request,
    service_request_assign,
    service_request_create,
    service_request_rate,
    service_request_transition,
    service_request_urge,
)
from stations.workflow import ALLOWED_TRANSITIONS, TRANSITION_ACTIONS, allowed_actions
from tests import factories

pytestmark = pytest.mark.django_db

S = Status
# What the action buttons (service_request_transition) may do, written out so the table is pinned.
BY_ACTION = {
    (S.NEW, S.ACCEPTED),
    (S.NEW, S.CANCELLED),
    (S.ACCEPTED, S.IN_PROGRESS),
    (S.ACCEPTED, S.RESOLVED),
    (S.ACCEPTED, S.CANCELLED),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.IN_PROGRESS, S.CANCELLED),
}
# Leaving "resolved" is the follow-up answer's job (service_request_rate).
BY_RATING = {(S.RESOLVED, S.CLOSED), (S.RESOLVED, S.IN_PROGRESS)}
ALL_PAIRS = [(old, new) for old in Status.values for new in Status.values]
ACTION_FOR = {to_status: action for action, to_status in TRANSITION_ACTIONS.items()}
REASON = "居民已自行解决"


def _status_events(service_request):
    return list(RequestEvent.objects.filter(request=service_request, kind=EventKind.STATUS).order_by("pk"))


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


@pytest.fixture
def helper(community_a):
    return factories.make_worker(community=community_a, worker_type=WorkerType.PROJECT, username="helper_a")


@pytest.fixture
def colleague(community_a):
    return factories.make_worker(
        community=community_a, worker_type=WorkerType.LIAISON, username="colleague_a"
    )


@pytest.fixture
def head_b(community_b):
    return factories.make_member(role=Role.HEAD, community=community_b, username="head_b")


@pytest.fixture
def make_request(head_a, worker_a, resident_a, medicine):
    """make_request(status=, assignee=worker_a): a request of community A put straight into a status
    (set-up only: the walk through the statuses is tested below)."""

    def make(status=Status.NEW, assignee=worker_a):
        sr, _created = service_request_create(
            actor=head_a,
            community=worker_a.community,
            category=medicine,
            title="帮忙开降压药",
            requester=resident_a,
        )
        now = timezone.now()
        stamps = {
            Status.NEW: {},
            Status.ACCEPTED: {"accepted_at": now},
            Status.IN_PROGRESS: {"accepted_at": now},
            Status.RESOLVED: {"accepted_at": now, "resolved_at": now},
            Status.CLOSED: {"accepted_at": now, "resolved_at": now, "closed_at": now},
            Status.CANCELLED: {"closed_at": now, "cancel_reason": REASON},
        }[status]
        ServiceRequest.objects.filter(pk=sr.pk).update(status=status, assignee=assignee, **stamps)
        sr.refresh_from_db()
        return sr

    return make


def test_pinned_table_is_the_workflow():
    declared = {(old, new) for old, targets in ALLOWED_TRANSITIONS.items() for new in targets}
    assert declared == BY_ACTION | BY_RATING
    assert set(ALLOWED_TRANSITIONS) == set(Status.values)


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS)
def test_transition_matrix(make_request, worker_a, old, new):
    sr = make_request(status=old)
    version = sr.version
    note = REASON if new == Status.CANCELLED else ""
    if (old, new) in BY_ACTION:
        result = service_request_transition(service_request=sr, to_status=new, actor=worker_a.user, note=note)
        sr.refresh_from_db()
        assert sr.status == new == result.status
        assert sr.version == version + 1
        [event] = _status_events(sr)
        assert (event.old_status, event.new_status, event.actor) == (old, new, worker_a.user)
        return
    with pytest.raises(ValidationError) as exc:
        service_request_transition(service_request=sr, to_status=new, actor=worker_a.user, note=note)
    assert exc.value.code == "bad_transition"
    sr.refresh_from_db()
    assert (sr.status, sr.version) == (old, version)
    assert _status_events(sr) == []


@pytest.mark.parametrize("old", Status.values)
def test_transition_never_closes(make_request, head_a, old):
    """Closing needs a follow-up answer: not even the committee head closes by a button."""
    sr = make_request(status=old)
    with pytest.raises(ValidationError) as exc:
        service_request_transition(service_request=sr, to_status=Status.CLOSED, actor=head_a)
    assert exc.value.code == "bad_transition"
    sr.refresh_from_db()
    assert sr.status == old


@pytest.mark.parametrize(
    ("solved", "satisfaction", "new"),
    [
        (True, Satisfaction.SATISFIED, Status.CLOSED),
        (False, Satisfaction.SATISFIED, Status.IN_PROGRESS),
    ],
)
def test_rating_leaves_resolved(make_request, resident_user_a, solved, satisfaction, new):
    sr = make_request(status=Status.RESOLVED)
    assert (Status.RESOLVED, new) in BY_RATING
    service_request_rate(service_request=sr, actor=resident_user_a, solved=solved, satisfaction=satisfaction)
    sr.refresh_from_db()
    assert sr.status == new
    # The answer keeps the request's community (the dashboards' latest comments are read by it).
    assert sr.ratings.get().community_id == sr.community_id


def test_an_answer_saved_without_its_community_takes_the_requests(make_request, head_a):
    sr = make_request(status=Status.RESOLVED)
    rating = Rating.objects.create(
        request=sr, solved=True, satisfaction=Satisfaction.BASIC, source="callback", recorded_by=head_a,
        at=timezone.now(),
    )  # fmt: skip
    assert rating.community_id == sr.community_id


def test_resolved_request_shows_no_status_buttons(make_request, worker_a, head_a):
    sr = make_request(status=Status.RESOLVED)
    for user, worker in ((worker_a.user, worker_a), (head_a, None)):
        actions = allowed_actions(user=user, service_request=sr, worker=worker)
        assert not actions & set(TRANSITION_ACTIONS)
        assert Action.RECORD_CALLBACK in actions


# --- roles --------------------------------------------------------------------------------------


def _actor(name, *, worker_a, helper, colleague, head_a, head_b, worker_b, resident_user_a, subdistrict_a):
    return {
        "assignee": (worker_a.user, worker_a),
        "helper": (helper.user, helper),
        "colleague": (colleague.user, colleague),
        "head": (head_a, None),
        "head_b": (head_b, None),
        "worker_b": (worker_b.user, worker_b),
        "resident": (resident_user_a, None),
        "subdistrict": (subdistrict_a, None),
    }[name]


@pytest.fixture
def actor_of(worker_a, helper, colleague, head_a, head_b, worker_b, resident_user_a, subdistrict_a):
    people = dict(
        worker_a=worker_a,
        helper=helper,
        colleague=colleague,
        head_a=head_a,
        head_b=head_b,
        worker_b=worker_b,
        resident_user_a=resident_user_a,
        subdistrict_a=subdistrict_a,
    )
    return lambda name: _actor(name, **people)


# Who may press which button on a request assigned to worker_a with `helper` assisting.
ASSIGNED_MAY = {
    "assignee": {S.ACCEPTED, S.IN_PROGRESS, S.RESOLVED, S.CANCELLED},
    "helper": {S.ACCEPTED, S.IN_PROGRESS, S.RESOLVED},  # 协办 works on it but does not cancel
    "head": {S.ACCEPTED, S.IN_PROGRESS, S.RESOLVED, S.CANCELLED},
    "colleague": set(),  # someone else's request
    "head_b": set(),
    "worker_b": set(),
    "resident": set(),
    "subdistrict": set(),
}
IN_COMMUNITY = {"assignee", "helper", "head", "colleague"}


@pytest.mark.parametrize(("old", "new"), sorted(BY_ACTION))
@pytest.mark.parametrize("role", sorted(ASSIGNED_MAY))
def test_roles_on_assigned_request(make_request, actor_of, helper, role, old, new):
    sr = make_request(status=old)
    sr.assisting.add(helper)
    user, worker = actor_of(role)
    may = new in ASSIGNED_MAY[role]
    if role in IN_COMMUNITY:  # the buttons shown are exactly what the service accepts
        assert (ACTION_FOR[new] in allowed_actions(user=user, service_request=sr, worker=worker)) is may
    note = REASON if new == Status.CANCELLED else ""
    if may:
        service_request_transition(service_request=sr, to_status=new, actor=user, note=note)
        sr.refresh_from_db()
        assert sr.status == new
        [event] = _status_events(sr)
        assert (event.old_status, event.new_status, event.actor) == (old, new, user)
        assert sr.assignee.user.username == "worker_a"  # helpers and heads do not take it over
        return
    with pytest.raises(PermissionDenied):
        service_request_transition(service_request=sr, to_status=new, actor=user, note=note)
    sr.refresh_from_db()
    assert sr.status == old and sr.version == 1
    assert _status_events(sr) == []


def test_colleague_takes_unassigned_request(make_request, colleague, django_capture_on_commit_callbacks):
    sr = make_request(status=Status.NEW, assignee=None)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        service_request_transition(service_request=sr, to_status=Status.ACCEPTED, actor=colleague.user)
    sr.refresh_from_db()
    assert sr.status == Status.ACCEPTED and sr.assignee == colleague
    assert before <= sr.accepted_at <= timezone.now()
    [assigned] = RequestEvent.objects.filter(request=sr, kind=EventKind.ASSIGNED, new_assignee=colleague)
    assert assigned.actor == colleague.user and assigned.old_assignee is None
    [event] = _status_events(sr)
    assert (event.old_status, event.new_status, event.actor) == (Status.NEW, Status.ACCEPTED, colleague.user)
    # One never notifies oneself.
    assert not Notification.objects.filter(user=colleague.user).exists()


def test_colleague_cannot_cancel_unassigned_request(make_request, colleague):
    sr = make_request(status=Status.NEW, assignee=None)
    with pytest.raises(PermissionDenied):
        service_request_transition(
            service_request=sr, to_status=Status.CANCELLED, actor=colleague.user, note=REASON
        )
    sr.refresh_from_db()
    assert sr.status == Status.NEW and sr.cancel_reason == ""


def test_head_accepts_unassigned_request_without_taking_it(make_request, head_a):
    sr = make_request(status=Status.NEW, assignee=None)
    service_request_transition(service_request=sr, to_status=Status.ACCEPTED, actor=head_a)
    sr.refresh_from_db()
    assert sr.status == Status.ACCEPTED and sr.assignee is None and sr.accepted_at is not None
    assert not RequestEvent.objects.filter(request=sr, kind=EventKind.ASSIGNED, new_assignee=None).exists()
    assert RequestEvent.objects.filter(request=sr).count() == 3  # created, routed at intake, accepted


@pytest.mark.parametrize("role", ["worker_b", "head_b", "resident", "subdistrict"])
def test_outsiders_cannot_take_unassigned_request(make_request, actor_of, role):
    sr = make_request(status=Status.NEW, assignee=None)
    user, _worker = actor_of(role)
    with pytest.raises(PermissionDenied):
        service_request_transition(service_request=sr, to_status=Status.ACCEPTED, actor=user)
    sr.refresh_from_db()
    assert sr.status == Status.NEW and sr.assignee is None and sr.accepted_at is None
    assert _status_events(sr) == []


def test_walk_stamps_times(make_request, worker_a):
    sr = make_request(status=Status.NEW)
    sr = service_request_transition(service_request=sr, to_status=Status.ACCEPTED, actor=worker_a.user)
    sr = service_request_transition(
        service_request=sr, to_status=Status.RESOLVED, actor=worker_a.user, version=sr.version
    )
    sr.refresh_from_db()
    assert sr.accepted_at is not None and sr.resolved_at is not None and sr.closed_at is None
    assert sr.accepted_at <= sr.resolved_at
    assert [(e.old_status, e.new_status) for e in _status_events(sr)] == [
        (Status.NEW, Status.ACCEPTED),
        (Status.ACCEPTED, Status.RESOLVED),
    ]


@pytest.mark.parametrize("note", ["", "   ", "x"])
def test_cancel_requires_reason(make_request, worker_a, note):
    sr = make_request(status=Status.ACCEPTED)
    with pytest.raises(ValidationError) as exc:
        service_request_transition(
            service_request=sr, to_status=Status.CANCELLED, actor=worker_a.user, note=note
        )
    assert "note" in exc.value.message_dict
    sr.refresh_from_db()
    assert (sr.status, sr.cancel_reason, sr.closed_at, sr.version) == (Status.ACCEPTED, "", None, 1)
    assert _status_events(sr) == []


def test_cancel_with_reason(make_request, head_a):
    sr = make_request(status=Status.IN_PROGRESS)
    service_request_transition(
        service_request=sr, to_status=Status.CANCELLED, actor=head_a, note=f"  {REASON} "
    )
    sr.refresh_from_db()
    assert sr.status == Status.CANCELLED and sr.cancel_reason == REASON and sr.closed_at is not None
    [event] = _status_events(sr)
    assert (event.old_status, event.new_status, event.actor, event.note) == (
        Status.IN_PROGRESS,
        Status.CANCELLED,
        head_a,
        REASON,
    )


# --- follow-up ratings (回访) ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [s for s in Status.values if s != Status.RESOLVED])
def test_only_resolved_can_be_rated(make_request, resident_user_a, status):
    sr = make_request(status=status)
    with pytest.raises(ValidationError) as exc:
        service_request_rate(
            service_request=sr, actor=resident_user_a, solved=True, satisfaction=Satisfaction.SATISFIED
        )
    assert exc.value.code == "not_resolved"
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("solved", "satisfaction"), [(True, Satisfaction.SATISFIED), (True, Satisfaction.BASIC)]
)
def test_requester_rating_closes(make_request, resident_user_a, solved, satisfaction):
    sr = make_request(status=Status.RESOLVED)
    service_request_rate(
        service_request=sr,
        actor=resident_user_a,
        solved=solved,
        satisfaction=satisfaction,
        comment="药已送到",
    )
    sr.refresh_from_db()
    assert (sr.status, sr.solved, sr.satisfaction, sr.rework_count) == (Status.CLOSED, True, satisfaction, 0)
    assert sr.closed_at is not None and sr.rated_at == sr.closed_at
    [rating] = Rating.objects.filter(request=sr)
    assert (rating.source, rating.recorded_by, rating.satisfaction, rating.comment) == (
        RatingSource.REQUESTER,
        resident_user_a,
        satisfaction,
        "药已送到",
    )
    [event] = _status_events(sr)
    assert (event.old_status, event.new_status, event.actor) == (
        Status.RESOLVED,
        Status.CLOSED,
        resident_user_a,
    )
    assert RequestEvent.objects.filter(request=sr, kind=EventKind.RATED).count() == 1


def test_worker_records_callback(make_request, colleague):
    sr = make_request(status=Status.RESOLVED)
    service_request_rate(
        service_request=sr,
        actor=colleague.user,
        solved=True,
        satisfaction=Satisfaction.SATISFIED,
        source=RatingSource.CALLBACK,
    )
    sr.refresh_from_db()
    assert sr.status == Status.CLOSED
    [rating] = Rating.objects.filter(request=sr)
    assert (rating.source, rating.recorded_by) == (RatingSource.CALLBACK, colleague.user)


@pytest.mark.parametrize("source", RatingSource.values)
def test_other_resident_cannot_rate(make_request, community_a, household_a, source):
    other = factories.make_member(role=Role.RESIDENT, community=community_a, username="neighbour")
    factories.ResidentFactory(household=household_a, name="王芳", user=other)
    sr = make_request(status=Status.RESOLVED)
    with pytest.raises(PermissionDenied):
        service_request_rate(
            service_request=sr, actor=other, solved=True, satisfaction=Satisfaction.SATISFIED, source=source
        )
    sr.refresh_from_db()
    assert sr.status == Status.RESOLVED and sr.rated_at is None
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("role", "source"),
    [
        ("worker_b", RatingSource.CALLBACK),
        ("head_b", RatingSource.CALLBACK),
        ("subdistrict", RatingSource.CALLBACK),
        ("assignee", RatingSource.REQUESTER),
    ],
)
def test_callback_refused_outside_role(make_request, actor_of, role, source):
    sr = make_request(status=Status.RESOLVED)
    user, _worker = actor_of(role)
    with pytest.raises(PermissionDenied):
        service_request_rate(
            service_request=sr, actor=user, solved=True, satisfaction=Satisfaction.SATISFIED, source=source
        )
    assert not Rating.objects.exists()


def test_rework_round_trip(make_request, worker_a, resident_user_a, django_capture_on_commit_callbacks):
    sr = make_request(status=Status.RESOLVED)
    with django_capture_on_commit_callbacks(execute=True):
        service_request_rate(
            service_request=sr,
            actor=resident_user_a,
            solved=False,
            satisfaction=Satisfaction.SATISFIED,
            comment="药没拿到",
        )
    sr.refresh_from_db()
    assert (sr.status, sr.rework_count, sr.solved, sr.resolved_at, sr.closed_at) == (
        Status.IN_PROGRESS,
        1,
        False,
        None,
        None,
    )
    assert sr.assignee == worker_a
    [reopened] = RequestEvent.objects.filter(request=sr, kind=EventKind.REOPENED)
    assert (reopened.old_status, reopened.new_status, reopened.actor, reopened.note) == (
        Status.RESOLVED,
        Status.IN_PROGRESS,
        resident_user_a,
        "药没拿到",
    )
    assert Notification.objects.filter(user=worker_a.user, event=reopened).count() == 1
    assert Rating.objects.filter(request=sr).count() == 1

    service_request_transition(service_request=sr, to_status=Status.RESOLVED, actor=worker_a.user)
    service_request_rate(
        service_request=sr, actor=resident_user_a, solved=True, satisfaction=Satisfaction.SATISFIED
    )
    sr.refresh_from_db()
    assert (sr.status, sr.rework_count, sr.solved) == (Status.CLOSED, 1, True)
    assert sorted(Rating.objects.filter(request=sr).values_list("solved", flat=True)) == [False, True]
    assert [(e.old_status, e.new_status) for e in _status_events(sr)] == [
        (Status.IN_PROGRESS, Status.RESOLVED),
        (Status.RESOLVED, Status.CLOSED),
    ]


def test_dissatisfied_reopens_even_if_solved(make_request, resident_user_a):
    sr = make_request(status=Status.RESOLVED)
    service_request_rate(
        service_request=sr, actor=resident_user_a, solved=True, satisfaction=Satisfaction.DISSATISFIED
    )
    sr.refresh_from_db()
    assert sr.status == Status.IN_PROGRESS and sr.rework_count == 1


def test_rating_rejects_unknown_satisfaction(make_request, resident_user_a):
    sr = make_request(status=Status.RESOLVED)
    with pytest.raises(ValidationError) as exc:
        service_request_rate(service_request=sr, actor=resident_user_a, solved=True, satisfaction="great")
    assert "satisfaction" in exc.value.message_dict
    sr.refresh_from_db()
    assert sr.status == Status.RESOLVED and not Rating.objects.exists()


# --- extensions (延期) ----------------------------------------------------------------------------


def _later(sr, days=5):
    return sr.resolution_due_at + dt.timedelta(days=days)


def test_extension_requested_by_assignee(make_request, worker_a):
    sr = make_request(status=Status.IN_PROGRESS)
    due = sr.resolution_due_at
    extension = extension_request(
        service_request=sr, actor=worker_a.user, new_due_at=_later(sr), reason="需等医院复诊"
    )
    sr.refresh_from_db()
    assert (extension.status, extension.requested_by, extension.new_due_at) == (
        ExtensionStatus.PENDING,
        worker_a.user,
        due + dt.timedelta(days=5),
    )
    assert sr.resolution_due_at == due
    [event] = RequestEvent.objects.filter(request=sr, kind=EventKind.EXTENSION_REQUESTED)
    assert (event.actor, event.note) == (worker_a.user, "需等医院复诊")


@pytest.mark.parametrize(
    ("reason", "days", "field"), [("", 5, "reason"), ("需等", 0, "new_due_at"), ("需等", -1, "new_due_at")]
)
def test_extension_needs_reason_and_later_deadline(make_request, worker_a, reason, days, field):
    sr = make_request(status=Status.ACCEPTED)
    with pytest.raises(ValidationError) as exc:
        extension_request(service_request=sr, actor=worker_a.user, new_due_at=_later(sr, days), reason=reason)
    assert field in exc.value.message_dict
    assert not Extension.objects.exists()


def test_second_pending_extension_is_a_validation_error(make_request, worker_a, head_a):
    sr = make_request(status=Status.ACCEPTED)
    extension_request(service_request=sr, actor=worker_a.user, new_due_at=_later(sr), reason="需等")
    for user in (worker_a.user, head_a):
        with pytest.raises(ValidationError) as exc:
            extension_request(service_request=sr, actor=user, new_due_at=_later(sr, 9), reason="再等等")
        assert exc.value.code == "extension_pending"
    assert Extension.objects.filter(request=sr).count() == 1


@pytest.mark.parametrize("role", ["colleague", "helper", "worker_b", "resident", "subdistrict"])
def test_extension_request_refused(make_request, actor_of, helper, role):
    sr = make_request(status=Status.ACCEPTED)
    sr.assisting.add(helper)
    user, _worker = actor_of(role)
    with pytest.raises(PermissionDenied):
        extension_request(service_request=sr, actor=user, new_due_at=_later(sr), reason="需等")
    assert not Extension.objects.exists()


def test_head_approves_extension(make_request, worker_a, head_a, django_capture_on_commit_callbacks):
    sr = make_request(status=Status.IN_PROGRESS)
    extension = extension_request(
        service_request=sr, actor=worker_a.user, new_due_at=_later(sr), reason="需等"
    )
    with django_capture_on_commit_callbacks(execute=True):
        extension_decide(extension=extension, actor=head_a, approve=True, note="同意")
    sr.refresh_from_db()
    extension.refresh_from_db()
    assert sr.resolution_due_at == extension.new_due_at
    assert (extension.status, extension.decided_by) == (ExtensionStatus.APPROVED, head_a)
    assert extension.decided_at is not None
    [event] = RequestEvent.objects.filter(request=sr, kind=EventKind.EXTENSION_APPROVED)
    assert (event.actor, event.note) == (head_a, "同意")
    assert Notification.objects.filter(user=worker_a.user, event=event).count() == 1
    # Decided twice (a double tap): a message, not a 403, and nothing changes.
    with pytest.raises(ValidationError) as exc:
        extension_decide(extension=extension, actor=head_a, approve=False)
    assert exc.value.code == "decided"
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.APPROVED


def test_head_rejects_extension(make_request, worker_a, head_a):
    sr = make_request(status=Status.IN_PROGRESS)
    due = sr.resolution_due_at
    extension = extension_request(
        service_request=sr, actor=worker_a.user, new_due_at=_later(sr), reason="需等"
    )
    extension_decide(extension=extension, actor=head_a, approve=False, note="请按期办结")
    sr.refresh_from_db()
    extension.refresh_from_db()
    assert sr.resolution_due_at == due and extension.status == ExtensionStatus.REJECTED
    assert (
        RequestEvent.objects.filter(request=sr, kind=EventKind.EXTENSION_REJECTED, actor=head_a).count() == 1
    )
    # Once decided, the assignee may ask again.
    extension_request(service_request=sr, actor=worker_a.user, new_due_at=_later(sr, 2), reason="确需延期")
    assert Extension.objects.filter(request=sr, status=ExtensionStatus.PENDING).count() == 1


@pytest.mark.parametrize("role", ["assignee", "colleague", "head_b", "worker_b", "subdistrict"])
def test_only_head_decides_extension(make_request, worker_a, actor_of, role):
    sr = make_request(status=Status.IN_PROGRESS)
    due = sr.resolution_due_at
    extension = extension_request(
        service_request=sr, actor=worker_a.user, new_due_at=_later(sr), reason="需等"
    )
    user, _worker = actor_of(role)
    with pytest.raises(PermissionDenied):
        extension_decide(extension=extension, actor=user, approve=True)
    sr.refresh_from_db()
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.PENDING and sr.resolution_due_at == due


# --- urging (催办) and reassignment (派单) -----------------------------------------------------------


def test_head_urges(make_request, worker_a, head_a, helper, django_capture_on_commit_callbacks):
    sr = make_request(status=Status.ACCEPTED)
    sr.assisting.add(helper)
    with django_capture_on_commit_callbacks(execute=True):
        service_request_urge(service_request=sr, actor=head_a, note="今天务必回复")
    sr.refresh_from_db()
    assert sr.urge_count == 1 and sr.status == Status.ACCEPTED
    [event] = RequestEvent.objects.filter(request=sr, kind=EventKind.URGED)
    assert (event.actor, event.note) == (head_a, "今天务必回复")
    assert Notification.objects.filter(user=worker_a.user, event=event).count() == 1
    assert Notification.objects.filter(user=helper.user, event=event).count() == 1
    assert not Notification.objects.filter(user=head_a).exists()
    service_request_urge(service_request=sr, actor=head_a)
    sr.refresh_from_db()
    assert sr.urge_count == 2


@pytest.mark.parametrize("role", ["assignee", "colleague", "head_b", "worker_b", "resident", "subdistrict"])
def test_only_head_urges(make_request, actor_of, role):
    sr = make_request(status=Status.ACCEPTED)
    user, _worker = actor_of(role)
    with pytest.raises(PermissionDenied):
        service_request_urge(service_request=sr, actor=user)
    sr.refresh_from_db()
    assert sr.urge_count == 0
    assert not RequestEvent.objects.filter(request=sr, kind=EventKind.URGED).exists()


def test_head_reassigns(make_request, worker_a, head_a, colleague, django_capture_on_commit_callbacks):
    sr = make_request(status=Status.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True):
        service_request_assign(service_request=sr, assignee=colleague, actor=head_a, note="张焱请假")
    sr.refresh_from_db()
    assert sr.assignee == colleague and sr.status == Status.ACCEPTED
    [event] = RequestEvent.objects.filter(request=sr, kind=EventKind.ASSIGNED, new_assignee=colleague)
    assert (event.old_assignee, event.new_assignee, event.note) == (worker_a, colleague, "张焱请假")
    assert Notification.objects.filter(user=colleague.user, event=event).count() == 1


def test_reassign_only_within_community(make_request, worker_a, worker_b, head_a, community_a):
    inactive = factories.make_worker(community=community_a, username="gone")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    sr = make_request(status=Status.ACCEPTED)
    for target in (worker_b, inactive):
        with pytest.raises(ValidationError) as exc:
            service_request_assign(service_request=sr, assignee=target, actor=head_a)
        assert "assignee" in exc.value.message_dict
    sr.refresh_from_db()
    assert sr.assignee == worker_a and sr.version == 1


@pytest.mark.parametrize("role", ["assignee", "colleague", "head_b", "worker_b", "resident", "subdistrict"])
def test_only_head_reassigns(make_request, worker_a, colleague, actor_of, role):
    sr = make_request(status=Status.ACCEPTED)
    user, _worker = actor_of(role)
    with pytest.raises(PermissionDenied):
        service_request_assign(service_request=sr, assignee=colleague, actor=user)
    sr.refresh_from_db()
    assert sr.assignee == worker_a
