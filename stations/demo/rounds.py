"""The walking service of the demo: liaison workers' home visits (走访) in their own buildings and
the standing errands (代开药 every two weeks) of elderly residents living alone.

Each liaison worker keeps a few care-tagged households on a regular round, about as often as their
care tag asks, so those are up to date; the rest of the visits are one-off, so most other
care-tagged households are overdue, as they are in a real community."""

import datetime as dt
import random

from django.utils import timezone

from residents.models import Household
from stations.choices import Channel, Urgency, WorkerType
from stations.demo.catalogue import (
    CARE_ONLY,
    VISIT_ACTION,
    VISIT_ACTION_HOUSEHOLD,
    VISIT_FOUND,
    VISIT_FOUND_HOUSEHOLD,
    VISIT_MET_ALONE,
    VISIT_MET_FAMILY,
    VISIT_RAISES,
)
from stations.demo.scene import Clock, Plan, Scene, fill, in_season, who
from stations.models import RecurringErrand, SocialWorker
from stations.services.visits import errand_create, errand_submission_key

VISIT_DAYS = 90
RAISE_SHARE = 0.15  # visits that find something to do
REGULAR_SHARE = 0.7  # of a worker's visits, those of their regular round
ERRAND_EVERY = 14
MEDICINES = (
    ("降压药", "苯磺酸氨氯地平片和阿司匹林肠溶片"),
    ("糖尿病药", "二甲双胍缓释片"),
    ("心脏病药", "单硝酸异山梨酯片"),
    ("降脂药", "阿托伐他汀钙片"),
)


def plan_errands(scene: Scene, rng: random.Random, count: int) -> list[Plan]:
    """Set up `count` errands for elderly residents living alone, started some weeks ago, and plan
    the requests they have produced so far (as the daily ``create_due_errands`` run would have)."""
    category = scene.categories["代开药"]
    alone = [r for r in scene.elders if "elderly-alone" in scene.tags[r.pk]]
    today, tz = scene.today, timezone.get_current_timezone()
    plans = []
    for index, resident in enumerate(rng.sample(alone, min(count, len(alone)))):
        worker = scene.liaison_for(resident.household.building)
        medicine, detail = MEDICINES[index % len(MEDICINES)]
        first = today - dt.timedelta(days=ERRAND_EVERY * rng.randint(5, 8) + rng.randint(0, ERRAND_EVERY - 1))
        # The daily run creates the request at 8:00; today's counts only once that has passed.
        last = today if timezone.localtime(scene.now).hour >= 9 else today - dt.timedelta(days=1)
        due_days = [first]
        while due_days[-1] + dt.timedelta(days=ERRAND_EVERY) <= last:
            due_days.append(due_days[-1] + dt.timedelta(days=ERRAND_EVERY))
        title = f"为{who(resident)}代开{medicine}"
        description = f"{who(resident)}独居，每两周到社区卫生服务中心代开{detail}，取药前电话确认余量。"
        errand = errand_create(
            actor=worker.user,
            resident=resident,
            category=category,
            title=title,
            description=description,
            every_days=ERRAND_EVERY,
            first_due_on=due_days[-1] + dt.timedelta(days=ERRAND_EVERY),
            assignee=worker,
        )
        RecurringErrand.objects.filter(pk=errand.pk).update(
            created_at=dt.datetime.combine(first - dt.timedelta(days=1), dt.time(15, 20), tzinfo=tz)
        )
        # Its own stream: today's run may or may not have happened, the main stream stays the same.
        occurrences = random.Random(rng.getrandbits(64))
        for due_on in due_days:
            received = dt.datetime.combine(due_on, dt.time(8, 0, occurrences.randrange(60)), tzinfo=tz)
            plans.append(
                Plan(
                    at=received,
                    fate=random.Random(occurrences.getrandbits(64)),
                    actor=worker.user,
                    fields={
                        "category": category,
                        "title": title,
                        "description": description,
                        "channel": Channel.PROACTIVE,
                        "requester": resident,
                        "errand": errand,
                        "assignee": worker,
                        "submission_key": errand_submission_key(errand, due_on),
                    },
                )
            )
    return plans


def plan_visits(
    scene: Scene, clock: Clock, rng: random.Random, count: int, *, preferred: set[int]
) -> list[Plan]:
    """About `count` visits over the last 90 days, shared among the liaison workers."""
    liaisons = [w for w in scene.staff.workers if w.worker_type == WorkerType.LIAISON]
    plans: list[Plan] = []
    for position, worker in enumerate(liaisons):
        budget = count // len(liaisons) + (1 if position < count % len(liaisons) else 0)
        own = [h for b in worker.buildings.all() for h in scene.households.get(b.pk, [])]
        care = [h for h in own if h.pk in scene.cadence]
        ordinary = [h for h in own if h.pk not in scene.cadence]
        rng.shuffle(care)
        care.sort(key=lambda h: h.pk not in preferred)  # the errand households are on the round first
        used, regular = 0, set()
        for household in care:
            cadence = scene.cadence[household.pk]
            back, visits = rng.uniform(0.2, 0.7) * cadence, []
            while back < VISIT_DAYS:
                visits.append(back)
                back += cadence * rng.uniform(0.75, 1.0)
            if used + len(visits) > budget * REGULAR_SHARE:
                continue
            used += len(visits)
            regular.add(household.pk)
            for days_back in visits:
                day = timezone.localtime(scene.now - dt.timedelta(days=days_back)).date()
                plans.append(_visit(scene, rng, worker, household, clock.working_moment(rng, day)))
        occasional = [h for h in care if h.pk not in regular]
        for _n in range(budget - used):
            pool = occasional if occasional and rng.random() < 0.6 else ordinary or care
            day = scene.today - dt.timedelta(days=rng.randrange(VISIT_DAYS))
            plans.append(_visit(scene, rng, worker, rng.choice(pool), clock.working_moment(rng, day)))
    for index, plan in enumerate(sorted(plans, key=lambda p: (p.at, p.visit["household"].pk))):
        plan.visit["submission_key"] = scene.key("visit", index)
        if plan.fields is not None:
            plan.fields["submission_key"] = scene.key("visit-request", index)
    return plans


def _visit(
    scene: Scene, rng: random.Random, worker: SocialWorker, household: Household, at: dt.datetime
) -> Plan:
    members = scene.members[household.pk]
    cared = [m for m in members if scene.tags[m.pk] - {"party-member"}]
    subject = cared[0] if cared else members[0]
    fields = None
    if rng.random() < RAISE_SHARE:
        raises = [
            r
            for r in VISIT_RAISES
            if in_season(r[1].season, at.date())
            and r[0] in scene.categories
            and (cared or r[0] not in CARE_ONLY)
        ]
        name, topic, found, action = rng.choice(raises)
        context = {
            "requester": subject,
            "building": household.building,
            "household": household,
            "enterprise": None,
            "today": scene.today,
        }
        fields = {
            "category": scene.categories[name],
            **fill(topic, rng, **context),
            "requester": subject,
            "urgency": Urgency.URGENT if topic.urgent else Urgency.NORMAL,
        }
    else:
        elderly = any(scene.tags[m.pk] & {"elderly-alone", "elderly-80"} for m in members)
        found = rng.choice(VISIT_FOUND if elderly else VISIT_FOUND_HOUSEHOLD)
        action = rng.choice(VISIT_ACTION if elderly else VISIT_ACTION_HOUSEHOLD)
    met = rng.choice(VISIT_MET_ALONE if len(members) == 1 else VISIT_MET_FAMILY)
    return Plan(
        at=at,
        fate=random.Random(rng.getrandbits(64)),
        fields=fields,
        visit={
            "actor": worker.user,
            "worker": worker,
            "household": household,
            "visited_at": at,
            "met": met,
            "found": found,
            "action": action,
        },
    )
