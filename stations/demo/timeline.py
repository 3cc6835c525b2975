"""The life of one demo request: which steps it went through and when, played through the real
services, then dated back.

The services stamp what they write with ``timezone.now()``. Each step is run, then the rows it
wrote (events, rating, extension, note) are moved to the step's planned time, which always lies
before the load started: so "rows of this step" are simply those stamped at or after the moment
the step began. Planned times follow the 12345 habits: about nine in ten requests are accepted
(签收) within the response limit and resolved (办结) within the resolution limit, the follow-up
call (回访) comes within three days, a few answers are dissatisfied and send the request back to work.
"""

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.utils import timezone

from community.lib.workdays import working_deadline
from stations.choices import RatingSource, Satisfaction, Status, TimeUnit
from stations.demo.catalogue import (
    CANCEL_REASONS,
    CATEGORIES,
    COMMENTS,
    EXTENSION_REASONS,
    EXTERNAL_NOTES,
    URGE_NOTES,
)
from stations.models import Extension, Rating, RequestEvent, RequestNote, ServiceRequest, SocialWorker
from stations.services.requests import (
    extension_decide,
    extension_request,
    note_add,
    service_request_assign,
    service_request_rate,
    service_request_transition,
    service_request_urge,
)

# Waiting on someone else (the property company, a party to a dispute): weeks late. Complex cases
# (15 working days) get stuck more often.
STUCK, STUCK_COMPLEX = 0.035, 0.15
LATE = 0.07  # resolved a little after the deadline
# A request held at an open state: its steps at these shares of the time since it came in.
FORCED = {
    "new": (),
    "accepted": ((0.3, "accept"),),
    "in_progress": ((0.2, "accept"), (0.45, "start")),
    "resolved": ((0.15, "accept"), (0.3, "start"), (0.6, "resolve")),
}
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)


@dataclass
class Step:
    at: dt.datetime
    action: str
    data: dict = field(default_factory=dict)


@dataclass
class Staff:
    """Who acts at the desk of one community."""

    head: User
    workers: list[SocialWorker]

    def __post_init__(self) -> None:
        self.users = {worker.pk: worker.user for worker in self.workers}
        self.by_pk = {worker.pk: worker for worker in self.workers}

    def handler(self, service_request: ServiceRequest) -> User:
        return self.users.get(service_request.assignee_id) or self.head

    def callback_caller(self, service_request: ServiceRequest, pick: float) -> User:
        """The head or a colleague other than the assignee makes the follow-up call."""
        if pick < 0.4:
            return self.head
        others = [w for w in self.workers if w.pk != service_request.assignee_id]
        return others[int((pick - 0.4) / 0.6 * len(others))].user


def schedule(
    service_request: ServiceRequest,
    fate: random.Random,
    *,
    force: str = "",
    requester_user: User | None = None,
    now: dt.datetime,
) -> list[Step]:
    """The steps of a request up to now. `force` ends it at a given state ("new", "accepted",
    "in_progress", "resolved") or makes it a plain success rated by the requester ("closed")."""
    received = service_request.received_at
    if force in FORCED:
        steps = [Step(received + (now - received) * share, action) for share, action in FORCED[force]]
        return _until(steps, now)
    plan = CATEGORIES[service_request.category.name]
    response_due, due = service_request.response_due_at, service_request.resolution_due_at
    steps: list[Step] = []
    if not force and fate.random() < 0.03:
        steps.append(Step(received + MINUTE * fate.uniform(10, 90), "reassign", {"pick": fate.random()}))
    cancel = not force and fate.random() < 0.03
    if cancel and fate.random() < 0.3:
        steps.append(
            Step(
                received + HOUR * fate.uniform(1, 20),
                "cancel",
                {"reason": fate.choice(CANCEL_REASONS), "by_head": True},
            )
        )
        return _until(steps, now)
    window = min(response_due - received, 12 * HOUR)
    if fate.random() < 0.9 or force:
        accepted = received + window * fate.uniform(0.03, 0.7)
    else:
        accepted = response_due + min(response_due - received, 24 * HOUR) * fate.uniform(0.1, 1.0)
    steps.append(Step(accepted, "accept"))
    if cancel:
        steps.append(
            Step(
                accepted + HOUR * fate.uniform(1, 48),
                "cancel",
                {"reason": fate.choice(CANCEL_REASONS), "by_head": False},
            )
        )
        return _until(steps, now)
    worked = accepted
    if fate.random() >= plan.skip_start:
        worked = accepted + max(due - accepted, HOUR) * fate.uniform(0.02, 0.2)
        steps.append(Step(worked, "start"))
    complex_case = (
        service_request.category.resolution_unit == TimeUnit.WORKING_DAYS
        and service_request.category.resolution_limit >= 15
    )
    if not force and fate.random() < (0.15 if complex_case else 0.01) and due > worked:
        asked = worked + (due - worked) * fate.uniform(0.4, 0.85)
        decided = asked + HOUR * fate.uniform(1, 20)
        approve = fate.random() < 0.85
        new_due = working_deadline(timezone.localtime(due), fate.randint(3, 10))
        steps += [
            Step(asked, "extension", {"new_due_at": new_due, "reason": fate.choice(EXTENSION_REASONS)}),
            Step(decided, "decide", {"approve": approve}),
        ]
        worked = decided
        if approve:
            due = new_due
    roll = 1.0 if force else fate.random()
    stuck = STUCK_COMPLEX if complex_case else STUCK
    if due <= worked:
        resolved = worked + HOUR * fate.uniform(1, 8)
    elif roll < stuck:
        resolved = due + DAY * fate.uniform(7, 60)
    elif roll < stuck + LATE:
        resolved = due + HOUR * fate.uniform(2, 120)
    else:
        resolved = worked + (due - worked) * fate.betavariate(1.4, 3.0)
    middle = []
    if fate.random() < (0.35 if roll < stuck + LATE else 0.03):
        urged = (
            due + HOUR * fate.uniform(4, 48)
            if roll < stuck
            else worked + (resolved - worked) * fate.uniform(0.5, 0.95)
        )
        middle.append(Step(urged, "urge", {"note": fate.choice(URGE_NOTES)}))
    if fate.random() < 0.15:
        middle.append(
            Step(
                worked + (resolved - worked) * fate.uniform(0.1, 0.6),
                "note",
                {"body": fate.choice(EXTERNAL_NOTES)},
            )
        )
    steps += sorted(middle, key=lambda step: step.at)
    steps.append(Step(resolved, "resolve"))
    stale = not force and fate.random() < 0.03  # the follow-up call slipped: still waiting for it
    called = resolved + (DAY * fate.uniform(6, 12) if stale else HOUR * fate.uniform(2, 72))
    by_requester = requester_user is not None and (force == "closed" or fate.random() < 0.7)
    roll = 0.0 if force else fate.random()
    satisfaction = (
        Satisfaction.SATISFIED
        if roll < 0.84
        else Satisfaction.BASIC
        if roll < 0.96
        else Satisfaction.DISSATISFIED
    )
    solved = satisfaction != Satisfaction.DISSATISFIED or fate.random() < 0.3
    steps.append(_rating(fate, called, satisfaction, solved, by_requester))
    if satisfaction == Satisfaction.DISSATISFIED:
        resolved = called + DAY * fate.uniform(1, 5)
        called = resolved + HOUR * fate.uniform(3, 48)
        again = Satisfaction.SATISFIED if fate.random() < 0.6 else Satisfaction.BASIC
        steps += [Step(resolved, "resolve"), _rating(fate, called, again, True, by_requester)]
    return _until(steps, now)


def _rating(
    fate: random.Random, at: dt.datetime, satisfaction: str, solved: bool, by_requester: bool
) -> Step:
    return Step(
        at,
        "rate",
        {
            "satisfaction": satisfaction,
            "solved": solved,
            "comment": fate.choice(COMMENTS[satisfaction]),
            "pick": fate.random(),
            "source": RatingSource.REQUESTER if by_requester else RatingSource.CALLBACK,
        },
    )


def _until(steps: list[Step], now: dt.datetime) -> list[Step]:
    """In time order at least a minute apart, and only what has happened by now."""
    done: list[Step] = []
    for step in steps:
        if done and step.at < done[-1].at + MINUTE:
            step.at = done[-1].at + MINUTE
        step.at = step.at.replace(microsecond=0)
        if step.at > now - 2 * MINUTE:
            break
        done.append(step)
    return done


class Player:
    """Plays the steps of requests through the services and dates what they wrote back."""

    def __init__(self, staff: Staff) -> None:
        self.staff = staff

    def play(
        self, service_request: ServiceRequest, steps: list[Step], *, requester_user: User | None = None
    ) -> ServiceRequest:
        # Everything the intake wrote (received, assigned) happened when the request came in.
        RequestEvent.objects.filter(request_id=service_request.pk).update(at=service_request.received_at)
        stamps: dict[str, dt.datetime | None] = {"updated_at": service_request.received_at}
        extension = None
        for step in steps:
            service_request, extension = self.step(
                service_request, step, stamps, extension=extension, requester_user=requester_user
            )
        return self.stamp(service_request, stamps)

    def step(
        self,
        service_request: ServiceRequest,
        step: Step,
        stamps: dict,
        *,
        extension: Extension | None = None,
        requester_user: User | None = None,
    ) -> tuple[ServiceRequest, Extension | None]:
        """Run one step, then date what it wrote; `stamps` collects the request's own timestamps."""
        began = timezone.now()
        service_request, extension = self._run(service_request, step, extension, requester_user)
        RequestEvent.objects.filter(request_id=service_request.pk, at__gte=began).update(at=step.at)
        stamps["updated_at"] = step.at
        if step.action == "accept":
            stamps["accepted_at"] = step.at
        elif step.action == "resolve":
            stamps["resolved_at"] = step.at
        elif step.action == "cancel":
            stamps["closed_at"] = step.at
        elif step.action == "rate":
            Rating.objects.filter(request_id=service_request.pk, at__gte=began).update(at=step.at)
            stamps["rated_at"] = step.at
            if service_request.status == Status.CLOSED:
                stamps["closed_at"] = step.at
            else:
                stamps["resolved_at"] = None
        elif step.action == "extension":
            Extension.objects.filter(request_id=service_request.pk, created_at__gte=began).update(
                created_at=step.at
            )
        elif step.action == "decide":
            Extension.objects.filter(request_id=service_request.pk, decided_at__gte=began).update(
                decided_at=step.at
            )
        elif step.action == "note":
            RequestNote.objects.filter(request_id=service_request.pk, created_at__gte=began).update(
                created_at=step.at, updated_at=step.at
            )
        return service_request, extension

    def stamp(self, service_request: ServiceRequest, stamps: dict) -> ServiceRequest:
        ServiceRequest.objects.filter(pk=service_request.pk).update(**stamps)
        for name, value in stamps.items():
            setattr(service_request, name, value)
        return service_request

    def _run(
        self,
        service_request: ServiceRequest,
        step: Step,
        extension: Extension | None,
        requester_user: User | None,
    ) -> tuple[ServiceRequest, Extension | None]:
        staff, data = self.staff, step.data
        handler = staff.handler(service_request)
        if step.action in {"accept", "start", "resolve"}:
            to_status = {"accept": Status.ACCEPTED, "start": Status.IN_PROGRESS, "resolve": Status.RESOLVED}
            service_request = service_request_transition(
                service_request=service_request, to_status=to_status[step.action], actor=handler
            )
        elif step.action == "cancel":
            service_request = service_request_transition(
                service_request=service_request,
                to_status=Status.CANCELLED,
                note=data["reason"],
                actor=staff.head if data["by_head"] else handler,
            )
        elif step.action == "reassign":
            current = staff.by_pk.get(service_request.assignee_id)
            others = [
                w
                for w in staff.workers
                if current and w.worker_type == current.worker_type and w.pk != current.pk
            ]
            if others:
                service_request = service_request_assign(
                    service_request=service_request,
                    assignee=others[int(data["pick"] * len(others))],
                    actor=staff.head,
                    note="原承办社工外出培训，改派同类社工办理",
                )
        elif step.action == "urge":
            service_request = service_request_urge(
                service_request=service_request, actor=staff.head, note=data["note"]
            )
        elif step.action == "note":
            note_add(service_request=service_request, actor=handler, body=data["body"], is_public=True)
        elif step.action == "extension":
            extension = extension_request(
                service_request=service_request,
                actor=handler,
                new_due_at=data["new_due_at"],
                reason=data["reason"],
            )
        elif step.action == "decide":
            extension_decide(
                extension=extension,
                actor=staff.head,
                approve=data["approve"],
                note="同意延期，请按新时限办结" if data["approve"] else "情况不复杂，请按原时限办结",
            )
            service_request = ServiceRequest.objects.get(pk=service_request.pk)
        elif step.action == "rate":
            by_requester = data["source"] == RatingSource.REQUESTER
            actor = requester_user if by_requester else staff.callback_caller(service_request, data["pick"])
            service_request = service_request_rate(
                service_request=service_request,
                actor=actor,
                solved=data["solved"],
                satisfaction=data["satisfaction"],
                comment=data["comment"],
                source=data["source"],
            )
        else:  # pragma: no cover - a typo in a schedule
            raise ValueError(step.action)
        return service_request, extension
