"""Writes on service requests: intake, the status workflow, assignment, urging, extensions,
follow-up ratings, notes and photos. Every function is one transaction that locks, checks,
saves, records the timeline, then notifies after commit."""

import datetime as dt
import uuid
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from community.lib.images import clean_photo
from community.lib.submissions import earlier_submission
from community.lib.validators import clean_text, normalize_name, normalize_phone
from community.lib.workdays import working_deadline
from residents.models import Building, Community, Enterprise, Household, Resident
from residents.selectors import sees_community
from stations import tasks
from stations.choices import (
    Action,
    Channel,
    EventKind,
    ExtensionStatus,
    RatingSource,
    Satisfaction,
    Status,
    TimeUnit,
    Urgency,
)
from stations.models import (
    Category,
    Extension,
    Rating,
    ReferenceCounter,
    RequestEvent,
    RequestNote,
    RequestPhoto,
    ServiceRequest,
    SocialWorker,
)
from stations.selectors.desk import worker_of
from stations.services import routing
from stations.workflow import TRANSITION_ACTIONS, allowed_actions, can_transition_by_action

URGENT_RESPONSE = dt.timedelta(hours=2)  # 12345: emergencies are answered within 2 hours
TITLE_MAX = 120
TEXT_MAX = 5000


def deadline(start: dt.datetime, limit: int, unit: str) -> dt.datetime:
    if unit == TimeUnit.HOURS:
        return start + dt.timedelta(hours=limit)
    return working_deadline(timezone.localtime(start), limit)


def _next_reference(community: Community, year: int) -> str:
    """The next reference of the community's year. One statement takes the number and locks the
    counter row until the transaction ends (UPDATE … RETURNING: PostgreSQL, SQLite ≥ 3.35), so
    concurrent intakes queue here and a rolled-back intake gives its number back."""
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(ReferenceCounter._meta.db_table)} SET {qn('last')} = {qn('last')} + 1 "
        f"WHERE {qn('community_id')} = %s AND {qn('year')} = %s RETURNING {qn('last')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [community.pk, year])
        row = cursor.fetchone()
    if row is None:  # the community's first request of the year: make its counter, then take from it
        ReferenceCounter.objects.get_or_create(community=community, year=year)
        return _next_reference(community, year)
    return f"{community.code}-{year}-{row[0]:06d}"


def _stale_error() -> ValidationError:
    return ValidationError(
        _(
            "This request was changed by someone else a moment ago. Its latest state is shown; check it and try again."
        ),
        code="stale",
    )


def _lock(service_request: ServiceRequest, version: int | None) -> ServiceRequest:
    locked = ServiceRequest.objects.select_for_update().get(pk=service_request.pk)
    if version is not None and version != locked.version:
        raise _stale_error()
    return locked


def _bump(locked: ServiceRequest, *fields: str) -> None:
    locked.version += 1
    locked.save(update_fields=[*fields, "version", "updated_at"])


def _require(actor, locked: ServiceRequest, action: str, has_pending: bool | None = None) -> None:
    # allowed_actions trusts its caller to have scoped the request; a service cannot (a worker or
    # head of another community would otherwise act on this community's requests).
    if not sees_community(actor, locked.community_id):
        raise PermissionDenied(_("You may not do this to this request."))
    if has_pending is None:
        has_pending = locked.extensions.filter(status=ExtensionStatus.PENDING).exists()
    if action not in allowed_actions(
        user=actor, service_request=locked, worker=worker_of(actor), has_pending_extension=has_pending
    ):
        raise PermissionDenied(_("You may not do this to this request."))


def _event(locked: ServiceRequest, kind: str, actor, now: dt.datetime, **fields) -> RequestEvent:
    return RequestEvent.objects.create(request=locked, kind=kind, actor=actor, at=now, **fields)


def _notify(event: RequestEvent, *workers: SocialWorker | None, exclude_user=None) -> None:
    """After commit: an in-app notice for each worker concerned (never for the one who acted), sent
    by a background task (stations.tasks.send_notifications; at once without a task worker)."""
    user_ids = sorted({w.user_id for w in workers if w is not None} - {getattr(exclude_user, "pk", None)})
    if not user_ids:
        return
    transaction.on_commit(lambda: tasks.send_notifications.enqueue(event_id=event.pk, user_ids=user_ids))


def _check_in_community(community: Community, **objects) -> None:
    errors = {}
    for field, obj in objects.items():
        if obj is None:
            continue
        owner = obj.building.community_id if isinstance(obj, Household) else obj.community_id
        if owner != community.pk:
            errors[field] = _("This belongs to another community.")
    if errors:
        raise ValidationError(errors)


def service_request_create(
    *,
    actor,
    community: Community,
    category: Category,
    title: str,
    description: str = "",
    channel: str = Channel.WALK_IN,
    line: str | None = None,
    requester: Resident | None = None,
    requester_enterprise: Enterprise | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    building: Building | None = None,
    household: Household | None = None,
    urgency: str = Urgency.NORMAL,
    submission_key: uuid.UUID | None = None,
    source_visit=None,
    errand=None,
    photos: Iterable = (),
    received_at: dt.datetime | None = None,
    assignee: SocialWorker | None = None,
) -> tuple[ServiceRequest, bool]:
    """Log a request and route it. Returns (request, created): the same submission key twice gives
    the first request back, so a double tap or a resubmitted form creates one request.

    One transaction. The submission key is not looked up first: a second submission of a form runs
    into the key's unique constraint, its whole transaction rolls back (the reference number it took
    included, so numbers stay consecutive), and the first request is returned."""
    now = timezone.now()
    received_at = received_at or now
    errors: dict[str, str] = {}
    title = clean_text(title)
    if not title:
        errors["title"] = _("Say in a few words what the request is about.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("At most %(max)d characters.") % {"max": TITLE_MAX}
    description = clean_text(description)
    if len(description) > TEXT_MAX:
        errors["description"] = _("At most %(max)d characters.") % {"max": TEXT_MAX}
    if category.community_id != community.pk or not category.is_active:
        errors["category"] = _("Choose a category of this community.")
    if channel not in Channel.values:
        errors["channel"] = _("Choose how the request came in.")
    if urgency not in Urgency.values:
        errors["urgency"] = _("Choose the urgency.")
    if contact_name.strip():
        try:
            contact_name = normalize_name(contact_name)
        except ValidationError as exc:
            errors["contact_name"] = exc.messages[0]
    if contact_phone.strip():
        try:
            contact_phone = normalize_phone(contact_phone)
        except ValidationError as exc:
            errors["contact_phone"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    _check_in_community(
        community,
        requester=requester,
        requester_enterprise=requester_enterprise,
        building=building,
        household=household,
        assignee=assignee,
    )
    if household is not None:
        building = household.building
    elif requester is not None and requester.household_id and building is None:
        household = requester.household
        building = household.building
    if building is None and requester_enterprise is not None:
        building = requester_enterprise.building

    response_due = deadline(received_at, category.response_limit, category.response_unit)
    if urgency == Urgency.URGENT:
        response_due = min(response_due, received_at + URGENT_RESPONSE)
    resolution_due = max(
        deadline(received_at, category.resolution_limit, category.resolution_unit), response_due
    )
    try:
        with transaction.atomic():
            if assignee is None:
                assignee = routing.route(
                    community=community,
                    worker_type=category.worker_type,
                    building=building,
                    day=timezone.localdate(now),
                )
            service_request = ServiceRequest(
                community=community,
                channel=channel,
                line=line or category.line,
                category=category,
                requester=requester,
                requester_enterprise=requester_enterprise,
                contact_name=contact_name,
                contact_phone=contact_phone,
                building=building,
                household=household,
                title=title,
                description=description,
                urgency=urgency,
                assignee=assignee,
                source_visit=source_visit,
                errand=errand,
                created_by=actor,
                received_at=received_at,
                response_due_at=response_due,
                resolution_due_at=resolution_due,
            )
            if submission_key is not None:
                service_request.submission_key = submission_key
            # The history names the actor even without a web request (create_due_errands runs from cron).
            service_request._history_user = actor
            service_request.reference = _next_reference(community, timezone.localtime(received_at).year)
            service_request.save()
            events = [
                RequestEvent(
                    request=service_request,
                    kind=EventKind.CREATED,
                    actor=actor,
                    at=now,
                    new_status=Status.NEW,
                    is_public=True,
                )
            ]
            if assignee is not None:
                events.append(
                    RequestEvent(
                        request=service_request,
                        kind=EventKind.ASSIGNED,
                        actor=actor,
                        at=now,
                        new_assignee=assignee,
                    )
                )
            RequestEvent.objects.bulk_create(events)  # one INSERT for both
            if assignee is not None:
                _notify(events[1], assignee, exclude_user=actor)
            for upload in photos:
                _add_photo(service_request, actor, upload)
            return service_request, True
    except IntegrityError:
        if (earlier := earlier_submission(ServiceRequest, submission_key, community.pk)) is None:
            raise
        return earlier, False


@transaction.atomic
def service_request_transition(
    *, service_request: ServiceRequest, to_status: str, actor, note: str = "", version: int | None = None
) -> ServiceRequest:
    """Move a request along the workflow by one of the action buttons (accept, start, resolve, cancel)."""
    locked = _lock(service_request, version)
    if not can_transition_by_action(locked.status, to_status):
        raise ValidationError(_("This status change is not allowed."), code="bad_transition")
    action = next(a for a, s in TRANSITION_ACTIONS.items() if s == to_status)
    _require(actor, locked, action)
    note = clean_text(note, max_length=TEXT_MAX)
    if to_status == Status.CANCELLED and len(note) < 2:
        raise ValidationError({"note": _("Give the reason for cancelling.")}, code="reason_required")
    now = timezone.now()
    old_status = locked.status
    fields = ["status"]
    worker = worker_of(actor)
    if to_status == Status.ACCEPTED:
        locked.accepted_at = now
        fields.append("accepted_at")
        if (
            locked.assignee_id is None and worker is not None
        ):  # taking an unassigned request from the shared queue
            locked.assignee = worker
            fields.append("assignee")
            _event(locked, EventKind.ASSIGNED, actor, now, new_assignee=worker)
    elif to_status == Status.RESOLVED:
        locked.resolved_at = now
        fields.append("resolved_at")
    elif to_status == Status.CANCELLED:
        locked.cancel_reason = note[:200]
        locked.closed_at = now
        fields += ["cancel_reason", "closed_at"]
    locked.status = to_status
    _bump(locked, *fields)
    event = _event(
        locked,
        EventKind.STATUS,
        actor,
        now,
        old_status=old_status,
        new_status=to_status,
        note=note,
        is_public=True,
    )
    _notify(event, locked.assignee, exclude_user=actor)
    return locked


@transaction.atomic
def service_request_assign(
    *,
    service_request: ServiceRequest,
    assignee: SocialWorker,
    actor,
    note: str = "",
    version: int | None = None,
) -> ServiceRequest:
    """The committee head reassigns a request (派单)."""
    locked = _lock(service_request, version)
    _require(actor, locked, Action.REASSIGN)
    if assignee.community_id != locked.community_id or not assignee.is_active:
        raise ValidationError({"assignee": _("Choose an active worker of this community.")})
    if assignee.pk == locked.assignee_id:
        return locked
    now = timezone.now()
    old = locked.assignee
    locked.assignee = assignee
    _bump(locked, "assignee")
    event = _event(
        locked,
        EventKind.ASSIGNED,
        actor,
        now,
        old_assignee=old,
        new_assignee=assignee,
        note=clean_text(note, max_length=TEXT_MAX),
    )
    _notify(event, assignee, exclude_user=actor)
    return locked


@transaction.atomic
def service_request_urge(*, service_request: ServiceRequest, actor, note: str = "") -> ServiceRequest:
    """Record an urging (催办); the assignee is notified."""
    locked = _lock(service_request, None)
    _require(actor, locked, Action.URGE)
    now = timezone.now()
    locked.urge_count += 1
    _bump(locked, "urge_count")
    event = _event(locked, EventKind.URGED, actor, now, note=clean_text(note, max_length=TEXT_MAX))
    _notify(event, locked.assignee, *locked.assisting.all(), exclude_user=actor)
    return locked


@transaction.atomic
def extension_request(
    *, service_request: ServiceRequest, actor, new_due_at: dt.datetime, reason: str
) -> Extension:
    """Ask for more time (延期); the committee head decides."""
    locked = _lock(service_request, None)
    _require(actor, locked, Action.REQUEST_EXTENSION, has_pending=False)
    if locked.extensions.filter(status=ExtensionStatus.PENDING).exists():
        raise ValidationError(
            _("An extension of this request is already waiting for a decision."), code="extension_pending"
        )
    reason = clean_text(reason, max_length=300)
    errors = {}
    if len(reason) < 2:
        errors["reason"] = _("Give the reason for the extension.")
    if new_due_at <= locked.resolution_due_at:
        errors["new_due_at"] = _("The new deadline must be later than the current one.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    extension = Extension.objects.create(
        request=locked, requested_by=actor, reason=reason, new_due_at=new_due_at
    )
    _bump(locked)
    _event(locked, EventKind.EXTENSION_REQUESTED, actor, now, note=reason)
    return extension


@transaction.atomic
def extension_decide(*, extension: Extension, actor, approve: bool, note: str = "") -> Extension:
    locked = _lock(extension.request, None)
    # Checked as if pending, so a second decision of the same extension says "already decided", not 403.
    _require(actor, locked, Action.DECIDE_EXTENSION, has_pending=True)
    extension = Extension.objects.select_for_update().get(pk=extension.pk, request=locked)
    if extension.status != ExtensionStatus.PENDING:
        raise ValidationError(_("This extension has already been decided."), code="decided")
    now = timezone.now()
    extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    extension.decided_by, extension.decided_at = actor, now
    extension.save(update_fields=["status", "decided_by", "decided_at"])
    fields = []
    if approve:
        locked.resolution_due_at = extension.new_due_at
        fields.append("resolution_due_at")
    _bump(locked, *fields)
    kind = EventKind.EXTENSION_APPROVED if approve else EventKind.EXTENSION_REJECTED
    event = _event(locked, kind, actor, now, note=clean_text(note, max_length=TEXT_MAX))
    _notify(event, locked.assignee, exclude_user=actor)
    return extension


def may_rate_as_requester(user, service_request: ServiceRequest) -> bool:
    resident = getattr(user, "resident", None) if user.is_authenticated else None
    return resident is not None and service_request.requester_id == resident.pk


@transaction.atomic
def service_request_rate(
    *,
    service_request: ServiceRequest,
    actor,
    solved: bool,
    satisfaction: str,
    comment: str = "",
    source: str = RatingSource.REQUESTER,
    version: int | None = None,
) -> ServiceRequest:
    """Record the follow-up (回访) answer. Solved and not dissatisfied closes the request; otherwise
    it goes back to work (rework) with the same assignee."""
    locked = _lock(service_request, version)
    if locked.status != Status.RESOLVED:
        raise ValidationError(_("Only a resolved request can be rated."), code="not_resolved")
    if source == RatingSource.REQUESTER:
        if not may_rate_as_requester(actor, locked):
            raise PermissionDenied
    else:
        _require(actor, locked, Action.RECORD_CALLBACK)
    if satisfaction not in Satisfaction.values:
        raise ValidationError({"satisfaction": _("Choose how satisfied.")})
    comment = clean_text(comment, max_length=TEXT_MAX)
    now = timezone.now()
    Rating.objects.create(
        request=locked,
        solved=solved,
        satisfaction=satisfaction,
        comment=comment,
        source=source,
        recorded_by=actor,
        at=now,
    )
    locked.solved, locked.satisfaction, locked.rated_at = solved, satisfaction, now
    old_status = locked.status
    _event(locked, EventKind.RATED, actor, now, note=comment)
    if solved and satisfaction != Satisfaction.DISSATISFIED:
        locked.status, locked.closed_at = Status.CLOSED, now
        _bump(locked, "solved", "satisfaction", "rated_at", "status", "closed_at")
        _event(
            locked,
            EventKind.STATUS,
            actor,
            now,
            old_status=old_status,
            new_status=Status.CLOSED,
            is_public=True,
        )
        return locked
    locked.status = Status.IN_PROGRESS
    locked.rework_count += 1
    locked.resolved_at = None
    _bump(locked, "solved", "satisfaction", "rated_at", "status", "rework_count", "resolved_at")
    event = _event(
        locked,
        EventKind.REOPENED,
        actor,
        now,
        old_status=old_status,
        new_status=Status.IN_PROGRESS,
        note=comment,
        is_public=True,
    )
    _notify(event, locked.assignee, exclude_user=actor)
    return locked


@transaction.atomic
def note_add(
    *,
    service_request: ServiceRequest,
    actor,
    body: str,
    is_public: bool = False,
    submission_key: uuid.UUID | None = None,
) -> RequestNote:
    """Add a note. With the form's submission_key, a second submit of the same form returns the first
    note: under the request's row lock, so two submits at once are one after the other."""
    locked = _lock(service_request, None)
    _require(actor, locked, Action.NOTE)
    if (
        earlier := earlier_submission(RequestNote, submission_key, locked.community_id, via="request")
    ) is not None:
        return earlier
    body = clean_text(body, max_length=TEXT_MAX)
    if not body:
        raise ValidationError({"body": _("Write the note.")})
    return RequestNote.objects.create(
        request=locked, author=actor, body=body, is_public=is_public, submission_key=submission_key
    )


@transaction.atomic
def note_update(*, note: RequestNote, actor, body: str, is_public: bool) -> RequestNote:
    locked = RequestNote.objects.select_for_update().get(pk=note.pk)
    if locked.author_id != actor.pk:
        raise PermissionDenied(_("Only the author can edit a note."))
    body = clean_text(body, max_length=TEXT_MAX)
    if not body:
        raise ValidationError({"body": _("Write the note.")})
    locked.body, locked.is_public = body, is_public
    locked.save(update_fields=["body", "is_public", "updated_at"])
    return locked


def _add_photo(
    service_request: ServiceRequest, actor, upload, submission_key: uuid.UUID | None = None
) -> RequestPhoto:
    try:
        content, width, height = clean_photo(upload)
    except ValidationError as exc:
        raise ValidationError({"photos": exc.messages}) from None
    photo = RequestPhoto(
        request=service_request, uploaded_by=actor, width=width, height=height, submission_key=submission_key
    )
    # The file is written before the row. If the transaction later rolls back, the file stays behind
    # without a row: unreachable (served only through a row), at worst disk space.
    photo.image.save("photo.jpg", content, save=False)
    photo.save()
    return photo


@transaction.atomic
def photo_add(
    *, service_request: ServiceRequest, actor, upload, submission_key: uuid.UUID | None = None
) -> RequestPhoto:
    """Add a photo. With the form's submission_key, a second submit of the same form returns the first
    photo (checked under the request's row lock, as for notes)."""
    locked = _lock(service_request, None)
    _require(actor, locked, Action.NOTE)
    if (
        earlier := earlier_submission(RequestPhoto, submission_key, locked.community_id, via="request")
    ) is not None:
        return earlier
    return _add_photo(locked, actor, upload, submission_key)
