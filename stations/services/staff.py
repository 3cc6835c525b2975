"""Writes about the people at the desk: leave and the hand-over of their open work."""

import datetime as dt
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from community.lib.submissions import earlier_submission, save_once
from community.lib.validators import clean_text
from residents.selectors import sees_community
from stations import tasks
from stations.choices import OPEN_STATES, EventKind
from stations.models import Leave, RequestEvent, ServiceRequest, SocialWorker
from stations.services import routing


def _earlier_leave(submission_key: uuid.UUID | None, worker: SocialWorker) -> Leave | None:
    earlier = earlier_submission(Leave, submission_key, worker.community_id, via="worker")
    if earlier is not None:
        earlier.handed_over = None
    return earlier


@transaction.atomic
def leave_create(
    *,
    actor,
    worker: SocialWorker,
    starts_on: dt.date,
    ends_on: dt.date,
    cover: SocialWorker | None = None,
    reason: str = "",
    submission_key: uuid.UUID | None = None,
) -> Leave:
    """Record a leave; if it has started, hand the worker's open requests over at once. With the form's
    submission_key, a second submit of the same form returns the leave the first one recorded, with
    `handed_over` None (it handed nothing over itself)."""
    may_manage = actor.has_perm("stations.add_leave") and sees_community(actor, worker.community_id)
    if not (may_manage or actor.pk == worker.user_id):
        raise PermissionDenied
    if (earlier := _earlier_leave(submission_key, worker)) is not None:
        return earlier
    errors = {}
    if ends_on < starts_on:
        errors["ends_on"] = _("The leave cannot end before it starts.")
    if cover is not None and (cover.pk == worker.pk or cover.community_id != worker.community_id):
        errors["cover"] = _("Choose another worker of the same community as cover.")
    if Leave.objects.filter(worker=worker, starts_on__lte=ends_on, ends_on__gte=starts_on).exists():
        errors["starts_on"] = _("This worker already has leave in this period.")
    if errors:
        raise ValidationError(errors)
    leave = Leave(
        worker=worker,
        starts_on=starts_on,
        ends_on=ends_on,
        cover=cover,
        reason=clean_text(reason, max_length=200),
        submission_key=submission_key,
    )
    leave, created = save_once(leave, lambda: _earlier_leave(submission_key, worker))
    if not created:
        return leave
    # Not a field: how many open requests this call handed over, for the confirmation message.
    leave.handed_over = 0
    if starts_on <= timezone.localdate() <= ends_on:
        leave.handed_over = hand_over_open_requests(worker=worker, actor=actor)
    return leave


@transaction.atomic
def hand_over_open_requests(*, worker: SocialWorker, actor=None, day: dt.date | None = None) -> int:
    """Move an absent worker's open requests to their cover or the least-loaded colleague, each with
    a timeline event. Safe to run again: requests already moved are no longer the worker's."""
    day = day or timezone.localdate()
    if not routing.is_away(worker, day):
        return 0
    now = timezone.now()
    moved = 0
    requests = (
        ServiceRequest.objects.select_for_update()
        .filter(assignee=worker, status__in=OPEN_STATES)
        .order_by("resolution_due_at", "pk")
    )
    for service_request in requests:
        # Each pick sees the load that the previous hand-overs added, so the work is spread.
        new = routing.cover_for(worker, day) or routing.least_loaded(
            worker.community, worker.worker_type, day, exclude=worker
        )
        if new is None:
            break
        service_request.assignee = new
        service_request.version += 1
        service_request.save(update_fields=["assignee", "version", "updated_at"])
        event = RequestEvent.objects.create(
            request=service_request,
            kind=EventKind.HANDOVER,
            actor=actor,
            at=now,
            old_assignee=worker,
            new_assignee=new,
        )
        transaction.on_commit(
            lambda e=event.pk, u=new.user_id: tasks.send_notifications.enqueue(event_id=e, user_ids=[u])
        )
        moved += 1
    return moved
