"""The request workflow, defined once. Services enforce it; templates read it to show buttons.

接 receive → 派 dispatch → 办 handle → 评 rate:
new → accepted (签收) → in progress → resolved (办结) → closed after the follow-up (回访);
a "not solved" or "dissatisfied" answer reopens the request for rework; open requests can be cancelled."""

from stations.choices import Action, Status

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.ACCEPTED, Status.CANCELLED}),
    Status.ACCEPTED: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset({Status.RESOLVED, Status.CANCELLED}),
    # Only the follow-up answer leaves "resolved": to closed, or back to work.
    Status.RESOLVED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# Buttons that move the status, with the status they lead to.
TRANSITION_ACTIONS: dict[str, str] = {
    Action.ACCEPT: Status.ACCEPTED,
    Action.START: Status.IN_PROGRESS,
    Action.RESOLVE: Status.RESOLVED,
    Action.CANCEL: Status.CANCELLED,
}

OPEN = frozenset({Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS})


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS[from_status]


def can_transition_by_action(from_status: str, to_status: str) -> bool:
    """A change the action buttons may make. Leaving "resolved" is the follow-up answer's job
    (service_request_rate counts the rework), so no button moves a resolved request."""
    return (
        from_status != Status.RESOLVED
        and to_status in TRANSITION_ACTIONS.values()
        and can_transition(from_status, to_status)
    )


def allowed_actions(*, user, service_request, worker=None, has_pending_extension: bool = False) -> set[str]:
    """What this user may do to this request now. `worker` is the user's SocialWorker profile (or None).

    Heads (manage permission) may do everything staff can; a worker acts on requests of their
    community: the assignee and assisting workers handle them, anyone may take an unassigned one."""
    status = service_request.status
    manager = user.has_perm("stations.manage_servicerequest")
    handler = user.has_perm("stations.handle_servicerequest")
    if not (manager or handler):
        return set()
    is_assignee = worker is not None and service_request.assignee_id == worker.pk
    is_helper = worker is not None and any(w.pk == worker.pk for w in service_request.assisting.all())
    unassigned = service_request.assignee_id is None
    may_handle = manager or is_assignee or is_helper or (unassigned and worker is not None)

    actions: set[str] = {Action.NOTE}
    for action, to_status in TRANSITION_ACTIONS.items():
        if not can_transition_by_action(status, to_status):
            continue
        if action == Action.CANCEL:
            if manager or is_assignee:
                actions.add(action)
        elif may_handle:
            actions.add(action)
    if status in OPEN:
        if manager:
            actions |= {Action.URGE, Action.REASSIGN}
        if (is_assignee or manager) and not has_pending_extension:
            actions.add(Action.REQUEST_EXTENSION)
        if manager and has_pending_extension:
            actions.add(Action.DECIDE_EXTENSION)
    if status == Status.RESOLVED:
        actions.add(Action.RECORD_CALLBACK)
        if manager:
            actions.add(Action.REASSIGN)
    return actions
