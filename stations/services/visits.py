"""Writes of the walking service: visits (走访) that can raise requests, and recurring errands."""

import datetime as dt
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from community.lib.submissions import earlier_submission, save_once
from community.lib.validators import clean_text
from residents.models import Household, Resident
from stations.choices import Channel
from stations.models import Category, RecurringErrand, ServiceRequest, SocialWorker, Visit
from stations.services import routing
from stations.services.requests import service_request_create

TEXT_MAX = 5000


@transaction.atomic
def visit_create(
    *,
    actor,
    worker: SocialWorker,
    household: Household,
    visited_at: dt.datetime,
    met: str = "",
    found: str = "",
    action: str = "",
    submission_key: uuid.UUID | None = None,
    raise_requests: list[dict] | None = None,
) -> tuple[Visit, list[ServiceRequest]]:
    """Record a home visit (民情日志) and the requests it raises, all or nothing. Raised requests have
    the home-visit channel and count as proactive (未诉先办). With the form's submission_key, a second
    submit of the same form returns the visit the first one recorded, and its requests."""
    if (earlier := earlier_submission(Visit, submission_key, worker.community_id)) is not None:
        return earlier, list(earlier.raised_requests.all())
    if household.building.community_id != worker.community_id:
        raise ValidationError({"household": _("This household belongs to another community.")})
    if visited_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"visited_at": _("A visit cannot be in the future.")})
    visit = Visit(
        community_id=worker.community_id,
        household=household,
        building=household.building,
        worker=worker,
        visited_at=visited_at,
        met=clean_text(met, max_length=200),
        found=clean_text(found, max_length=TEXT_MAX),
        action=clean_text(action, max_length=TEXT_MAX),
        submission_key=submission_key,
    )
    visit, created = save_once(visit, lambda: earlier_submission(Visit, submission_key, worker.community_id))
    if not created:
        return visit, list(visit.raised_requests.all())
    raised = []
    for spec in raise_requests or []:
        service_request, _created = service_request_create(
            actor=actor,
            community=worker.community,
            channel=Channel.VISIT,
            household=household,
            source_visit=visit,
            received_at=visited_at if visited_at <= timezone.now() else None,
            **spec,
        )
        raised.append(service_request)
    return visit, raised


@transaction.atomic
def errand_create(
    *,
    actor,
    resident: Resident,
    category: Category,
    title: str,
    every_days: int,
    first_due_on: dt.date,
    description: str = "",
    assignee: SocialWorker | None = None,
    submission_key: uuid.UUID | None = None,
) -> RecurringErrand:
    """Set up a recurring errand. With the form's submission_key, a second submit of the same form
    returns the errand the first one set up."""
    if (earlier := earlier_submission(RecurringErrand, submission_key, resident.community_id)) is not None:
        return earlier
    errors = {}
    title = clean_text(title, max_length=120)
    if not title:
        errors["title"] = _("Say what the errand is.")
    if not 1 <= every_days <= 365:
        errors["every_days"] = _("Between 1 and 365 days.")
    if category.community_id != resident.community_id:
        errors["category"] = _("Choose a category of this community.")
    if assignee is not None and assignee.community_id != resident.community_id:
        errors["assignee"] = _("Choose a worker of this community.")
    if errors:
        raise ValidationError(errors)
    errand = RecurringErrand(
        community_id=resident.community_id,
        resident=resident,
        category=category,
        title=title,
        description=clean_text(description, max_length=TEXT_MAX),
        every_days=every_days,
        next_due_on=first_due_on,
        assignee=assignee,
        created_by=actor,
        submission_key=submission_key,
    )
    return save_once(
        errand, lambda: earlier_submission(RecurringErrand, submission_key, resident.community_id)
    )[0]


def errand_submission_key(errand: RecurringErrand, due_on: dt.date) -> uuid.UUID:
    """The same errand and due date always give the same key, so a second run creates nothing."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"onedesk:errand:{errand.pk}:{due_on.isoformat()}")


def create_due_errands(*, today: dt.date | None = None) -> int:
    """Create the request of every errand due today or earlier (one per errand, even after missed
    runs) and move its next due date past today. Idempotent: safe from cron, safe to run twice.
    The request is logged in the name of whoever set the errand up."""
    today = today or timezone.localdate()
    created_count = 0
    due_ids = list(
        RecurringErrand.objects.filter(is_active=True, next_due_on__lte=today).values_list("pk", flat=True)
    )
    for errand_id in due_ids:
        with transaction.atomic():
            errand = (
                RecurringErrand.objects.select_for_update(of=("self",))
                .select_related(
                    "resident__household__building", "category", "community", "assignee", "created_by"
                )
                .get(pk=errand_id)
            )
            if errand.next_due_on > today or not errand.is_active:
                continue  # another run got here first
            usual = errand.assignee
            if usual is not None and (not usual.is_active or routing.is_away(usual, today)):
                usual = None  # routing finds the cover or a colleague
            _request, created = service_request_create(
                actor=errand.created_by,
                community=errand.community,
                category=errand.category,
                title=errand.title,
                description=errand.description,
                channel=Channel.PROACTIVE,
                requester=errand.resident,
                errand=errand,
                assignee=usual,
                submission_key=errand_submission_key(errand, errand.next_due_on),
            )
            created_count += int(created)
            while errand.next_due_on <= today:
                errand.next_due_on += dt.timedelta(days=errand.every_days)
            errand.save(update_fields=["next_due_on"])
    return created_count
