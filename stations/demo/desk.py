"""The desk part of the demo: a few months of work in both communities, built through the real
services so that every timeline, deadline and rate is true data.

Per community: the default categories, logins for some residents (the online channel needs one),
about four months of requests over all channels, lines and states, three months of home visits
(some raising requests), standing errands; then one 安华里 worker on leave with a cover, so the
hand-over shows. Received times are relative to today, so "overdue" and "this month" stay true
whatever day the demo is loaded; every random choice still comes from the seeded stream.

Re-runnable: a community that already has requests is skipped (the submission keys are
deterministic as well), and the leave is made once.
"""

import datetime as dt
import random
from collections import Counter

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from community.lib.workdays import working_deadline
from residents.choices import Gender
from residents.models import Community, Enterprise, Resident
from stations.choices import Channel, EventKind, Role, StationLine, Status, Urgency, WorkerType
from stations.demo.base import Log, silent
from stations.demo.catalogue import CATEGORIES, EXTENSION_REASONS
from stations.demo.people import People, age_of
from stations.demo.registry import Places
from stations.demo.rounds import plan_errands, plan_visits
from stations.demo.scene import Clock, Plan, Scene, fill, in_season
from stations.demo.staff import demo_user
from stations.demo.timeline import DAY, HOUR, Player, Step, schedule
from stations.models import Leave, Notification, RequestEvent, ServiceRequest, SocialWorker, Visit
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from stations.services.staff import leave_create
from stations.services.visits import visit_create

HISTORY_DAYS = 120
REQUESTS = {"AHL": 600, "HMZX": 250}  # all of them: direct, raised on visits and from errands
VISITS = {"AHL": 220, "HMZX": 80}
ERRANDS = {"AHL": 3, "HMZX": 1}
PORTAL_USERS = {"AHL": 30, "HMZX": 10}  # plus, in 华贸中心, the contact person of each enterprise
PENDING_EXTENSIONS = 2
# 王磊 is away this week; 李静 (the "worker" login) covers for him and finds his open requests.
LEAVE = ("ahl_sg02", "worker", "年休假")
NOTIFICATIONS_READ_AFTER = dt.timedelta(days=3)


def build_desk(rng: random.Random, *, places: Places, log: Log = silent) -> None:
    now = timezone.now().replace(microsecond=0)
    communities = (places.anhuali, places.huamao)
    streams = {community.code: random.Random(rng.getrandbits(64)) for community in communities}
    started = timezone.now()
    for community in communities:
        categories_seed(community=community)
        if ServiceRequest.objects.filter(community=community).exists():
            log(f"{community.name}: requests already loaded, desk skipped.")
            continue
        build_community_desk(streams[community.code], community=community, now=now, log=log)
    build_leave(places.anhuali, now=now, log=log)
    # Notifications are written after commit; date them like their events, and older ones read.
    transaction.on_commit(lambda: settle_notifications(since=started, now=now))


def build_community_desk(
    rng: random.Random, *, community: Community, now: dt.datetime, log: Log = silent
) -> None:
    portal_rng, errand_rng, visit_rng, request_rng, extension_rng = (
        random.Random(rng.getrandbits(64)) for _ in range(5)
    )
    portal_accounts(portal_rng, community=community, count=PORTAL_USERS[community.code])
    scene = Scene.load(community, now)
    clock = Clock(now, HISTORY_DAYS)
    errands = plan_errands(scene, errand_rng, ERRANDS[community.code])
    preferred = {plan.fields["requester"].household_id for plan in errands}
    visits = plan_visits(scene, clock, visit_rng, VISITS[community.code], preferred=preferred)
    raised = sum(plan.fields is not None for plan in visits)
    requests = plan_requests(scene, clock, request_rng, REQUESTS[community.code] - len(errands) - raised)
    plans = sorted(errands + visits + requests, key=lambda plan: plan.at)
    player = Player(scene.staff)
    played = []
    for plan in plans:
        service_request = play(scene, player, plan)
        if service_request is not None:
            played.append(service_request)
    add_pending_extensions(scene, player, extension_rng, played)
    statuses = Counter(r.status for r in played)
    overdue = sum(
        r.status in {Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS} and r.resolution_due_at < now
        for r in played
    )
    log(
        f"{community.name}: {len(played)} requests ("
        + ", ".join(f"{statuses[s]} {s}" for s in Status.values)
        + f"; {overdue} overdue), "
        f"{len(visits)} visits ({raised} raised requests), {ERRANDS[community.code]} recurring errands."
    )


def play(scene: Scene, player: Player, plan: Plan) -> ServiceRequest | None:
    """Write one planned visit or request through the services, then its history."""
    if plan.visit is not None:
        visit, raised = visit_create(**plan.visit, raise_requests=[plan.fields] if plan.fields else None)
        Visit.objects.filter(pk=visit.pk).update(
            created_at=plan.at + dt.timedelta(minutes=plan.fate.randint(5, 40))
        )
        if not raised:
            return None
        service_request = raised[0]
    else:
        service_request, _created = service_request_create(
            actor=plan.actor, community=scene.community, received_at=plan.at, **plan.fields
        )
    requester_user = service_request.requester.user if service_request.requester_id else None
    steps = schedule(
        service_request, plan.fate, force=plan.force, requester_user=requester_user, now=scene.now
    )
    return player.play(service_request, steps, requester_user=requester_user)


# ---------------------------------------------------------------------------------------------------
# Requests


def plan_requests(scene: Scene, clock: Clock, rng: random.Random, count: int) -> list[Plan]:
    column = 0 if scene.community.code == "AHL" else 1
    names = [name for name, plan in CATEGORIES.items() if plan.weights[column] and name in scene.categories]
    weights = [CATEGORIES[name].weights[column] for name in names]
    people = People(random.Random(rng.getrandbits(64)), community=scene.community, used_ids=set())
    story = resident_story(scene)
    plans = [
        plan_request(scene, clock, rng, people, rng.choices(names, weights)[0], index)
        for index in range(count - len(story))
    ]
    force_recent_states(plans, scene.now)
    return plans + story


def plan_request(
    scene: Scene, clock: Clock, rng: random.Random, people: People, name: str, index: int
) -> Plan:
    spec, category = CATEGORIES[name], scene.categories[name]
    enterprise = contact = None
    if scene.enterprises and rng.random() < spec.enterprise_share:
        enterprise, contact = rng.choice(scene.enterprises)
    channel = rng.choices(list(spec.channels), weights=list(spec.channels.values()))[0]
    if channel == Channel.ONLINE and spec.requester == "elder":
        channel = Channel.PHONE  # their children phone; the elderly rarely use the portal
    received = clock.draw(rng, channel)
    topic = rng.choice(
        [
            t
            for t in spec.topics
            if in_season(t.season, received.date()) and (enterprise is not None or "{ent}" not in t.title)
        ]
    )
    requester, building, contact_name, contact_phone, line = None, None, "", "", None
    residential = scene.residential()
    if name == "电梯故障":  # only the apartment blocks and office buildings have lifts
        residential = [b for b in residential if b.floors > 6] or residential
    if enterprise is not None:
        requester, building = contact, enterprise.building
        if category.line == StationLine.COMMUNITY:
            line = StationLine.BUSINESS
    elif spec.requester == "elder":
        requester = rng.choice(scene.elders)
    elif channel == Channel.ONLINE:
        requester = rng.choice([r for r in scene.portal if r.household_id])
    elif spec.requester == "resident":
        if channel != Channel.PROACTIVE and rng.random() < 0.15:
            contact_name, contact_phone = caller(people, rng, channel)  # not in the registry (yet)
        else:
            requester = rng.choice(scene.adults[rng.choice(residential).pk])
    else:
        building = rng.choice(residential)
        if channel != Channel.PROACTIVE:
            if rng.random() < 0.5 and scene.adults.get(building.pk):
                requester = rng.choice(scene.adults[building.pk])
            else:
                contact_name, contact_phone = caller(people, rng, channel)
    household = requester.household if requester is not None else None
    place = building or (household.building if household else None)
    if place is None and "{b}" in topic.title + topic.description:
        place = building = rng.choice(residential)
    context = {
        "requester": requester,
        "building": place,
        "household": household,
        "enterprise": enterprise,
        "today": scene.today,
    }
    assignee = None
    if place is None:  # nowhere to route by (包片): the head hands it to a worker of the right type
        assignee = rng.choice([w for w in scene.staff.workers if w.worker_type == category.worker_type])
    if channel == Channel.ONLINE:
        actor = requester.user
    elif channel == Channel.HOTLINE:  # the government-affairs worker who takes the 12345 transfers
        actor = next(w for w in scene.staff.workers if w.worker_type == WorkerType.GOVERNMENT).user
    elif channel == Channel.PROACTIVE:
        actor = scene.liaison_for(place).user
    else:
        actor = rng.choice(scene.staff.workers).user
    return Plan(
        at=received,
        fate=random.Random(rng.getrandbits(64)),
        actor=actor,
        fields={
            "category": category,
            **fill(topic, rng, **context),
            "channel": channel,
            "line": line,
            "requester": requester,
            "requester_enterprise": enterprise,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
            "building": building,
            "assignee": assignee,
            "urgency": Urgency.URGENT if topic.urgent else Urgency.NORMAL,
            "submission_key": scene.key("request", index),
        },
    )


def caller(people: People, rng: random.Random, channel: str) -> tuple[str, str]:
    """Someone not in the registry: 12345 passes on "王女士"; at the desk the full name is noted."""
    member = people.chinese(age=rng.randint(24, 72), with_id=False)
    name = member.resident.name
    if channel == Channel.HOTLINE:
        name = (
            member.surname + ("先生" if member.resident.gender == Gender.MALE else "女士")
            if member.surname
            else name
        )
    return name, people.mobile()


def force_recent_states(plans: list[Plan], now: dt.datetime) -> None:
    """Whatever the hour of loading, the latest requests show every open state: the three newest
    are still new, two from the last days are accepted, one waits for its follow-up call."""
    latest = sorted(plans, key=lambda plan: plan.at, reverse=True)
    for plan in latest[:3]:
        plan.force = "new"
    recent = [p for p in latest[3:] if now - 3 * DAY < p.at < now - 6 * HOUR]
    for plan in recent[:2]:
        plan.force = "accepted"
    for plan in [p for p in latest if now - 4 * DAY < p.at < now - DAY and not p.force][:1]:
        plan.force = "resolved"


def resident_story(scene: Scene) -> list[Plan]:
    """The requests of the "resident" demo login: two closed and rated by themself, one resolved
    and waiting for their answer, one being worked on."""
    resident = next((r for r in scene.portal if r.user.username == "resident"), None)
    if resident is None:
        return []
    tz = timezone.get_current_timezone()
    story = (
        (41, Channel.PHONE, "房屋漏水", "{fu}楼卫生间漏水到{f}楼", "closed"),
        (12, Channel.WALK_IN, "证明开具", "开具居住证明用于孩子入学", "closed"),
        (3, Channel.ONLINE, "公共设施损坏", "{b}{u}楼道灯不亮", "resolved"),
        (1, Channel.ONLINE, "社保医保", "咨询城乡居民医保缴费", "in_progress"),
    )
    rng = random.Random(scene.key("resident-story").int)
    plans = []
    for days_back, channel, name, title, force in story:
        topic = next(t for t in CATEGORIES[name].topics if t.title == title)
        received = dt.datetime.combine(
            scene.today - dt.timedelta(days=days_back), dt.time(10, 12, 40), tzinfo=tz
        )
        context = {
            "requester": resident,
            "building": resident.household.building,
            "household": resident.household,
            "enterprise": None,
            "today": scene.today,
        }
        actor = (
            resident.user
            if channel == Channel.ONLINE
            else scene.liaison_for(resident.household.building).user
        )
        plans.append(
            Plan(
                at=received,
                fate=random.Random(rng.getrandbits(64)),
                actor=actor,
                force=force,
                fields={
                    "category": scene.categories[name],
                    **fill(topic, rng, **context),
                    "channel": channel,
                    "requester": resident,
                    "submission_key": scene.key("resident-story", days_back),
                },
            )
        )
    return plans


def add_pending_extensions(
    scene: Scene, player: Player, rng: random.Random, played: list[ServiceRequest]
) -> None:
    """A couple of requests in progress whose worker asked for more time today; the head has not decided."""
    now = scene.now
    candidates = [
        r
        for r in played
        if r.status == Status.IN_PROGRESS
        and r.assignee_id
        and r.updated_at < now - 6 * HOUR
        and r.resolution_due_at < now + 3 * DAY
    ]
    for service_request in rng.sample(candidates, min(PENDING_EXTENSIONS, len(candidates))):
        new_due = working_deadline(
            timezone.localtime(max(service_request.resolution_due_at, now)), rng.randint(3, 7)
        )
        stamps: dict = {}
        step = Step(
            (now - HOUR * rng.uniform(1, 5)).replace(microsecond=0),
            "extension",
            {"new_due_at": new_due, "reason": rng.choice(EXTENSION_REASONS)},
        )
        player.step(service_request, step, stamps)
        player.stamp(service_request, stamps)


# ---------------------------------------------------------------------------------------------------
# People and staff


def portal_accounts(rng: random.Random, *, community: Community, count: int) -> None:
    """Logins for some residents (and, in 华贸中心, each enterprise's contact person): the online
    channel and the requester's own follow-up answer need one."""
    candidates = [
        pk
        for pk, birth in Resident.objects.filter(
            community=community,
            household__isnull=False,
            user__isnull=True,
            phone__startswith="1",
            birth_date__isnull=False,
        )
        .order_by("pk")
        .values_list("pk", "birth_date")
        if 25 <= age_of(birth) <= 70
    ]
    chosen = rng.sample(candidates, min(count, len(candidates)))
    names = dict(Enterprise.objects.filter(community=community).values_list("pk", "contact_name"))
    chosen += [
        pk
        for pk, employer, name in Resident.objects.filter(
            community=community, employer__isnull=False, user__isnull=True
        )
        .order_by("pk")
        .values_list("pk", "employer_id", "name")
        if names.get(employer) == name
    ]
    residents = Resident.objects.in_bulk(chosen)
    for number, pk in enumerate(chosen, start=1):
        user = demo_user(
            f"{community.code.lower()}_r{number:02d}",
            display_name=residents[pk].name,
            role=Role.RESIDENT,
            community=community,
        )
        Resident.objects.filter(pk=pk).update(user=user)


def build_leave(community: Community, *, now: dt.datetime, log: Log = silent) -> None:
    """One worker on leave this week with a cover: their open requests are handed over now."""
    username, cover_username, reason = LEAVE
    workers = {
        w.user.username: w
        for w in SocialWorker.objects.filter(
            community=community, user__username__in=[username, cover_username]
        ).select_related("user")
    }
    worker, cover = workers.get(username), workers.get(cover_username)
    if worker is None or cover is None or Leave.objects.filter(worker=worker).exists():
        return
    head = User.objects.filter(groups__name=Role.HEAD, membership__community=community).order_by("pk").first()
    today = timezone.localdate(now)
    leave_create(
        actor=head,
        worker=worker,
        starts_on=today,
        ends_on=today + dt.timedelta(days=4),
        cover=cover,
        reason=reason,
    )
    moved = (
        ServiceRequest.objects.filter(events__kind=EventKind.HANDOVER, events__old_assignee=worker)
        .distinct()
        .count()
    )
    log(
        f"{community.name}: {worker.display_name} on leave until {today + dt.timedelta(days=4)}, "
        f"{moved} open requests handed over to {cover.display_name}."
    )


def settle_notifications(*, since: dt.datetime, now: dt.datetime) -> None:
    """Date the demo's notifications like their events; those older than three days were read."""
    event_at = Subquery(RequestEvent.objects.filter(pk=OuterRef("event_id")).values("at")[:1])
    fresh = Notification.objects.filter(created_at__gte=since)
    fresh.filter(
        Exists(RequestEvent.objects.filter(pk=OuterRef("event_id"), at__lt=now - NOTIFICATIONS_READ_AFTER)),
        read_at__isnull=True,
    ).update(read_at=event_at)
    fresh.update(created_at=event_at)
