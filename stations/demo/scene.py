"""One community as the desk part of the demo sees it: its categories, staff, places and people,
loaded once, plus the planned requests and visits that are played through the services."""

import datetime as dt
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.utils import timezone

from community.lib.workdays import is_workday
from residents.choices import BuildingKind, Gender
from residents.models import Building, Community, Enterprise, Household, Resident
from stations.choices import Channel, Role, WorkerType
from stations.demo.base import SEED
from stations.demo.catalogue import Topic
from stations.demo.people import age_of
from stations.demo.timeline import Staff
from stations.models import Category, SocialWorker

COMPOUND_SURNAMES = ("欧阳", "司马")
CARE_FOR_ERRANDS = {"elderly-alone", "elderly-80", "disabled"}


@dataclass
class Plan:
    """A request or a visit to play: when, through which service, with what."""

    at: dt.datetime
    fate: random.Random
    actor: User | None = None
    fields: dict | None = None  # service_request_create arguments (or the raised request of a visit)
    visit: dict | None = None  # visit_create arguments
    force: str = ""


@dataclass
class Scene:
    community: Community
    now: dt.datetime
    staff: Staff
    categories: dict[str, Category]
    buildings: list[Building]
    responsible: dict[tuple[int, str], SocialWorker]
    households: dict[int, list[Household]]
    members: dict[int, list[Resident]]
    tags: dict[int, set[str]]
    cadence: dict[int, int]  # household pk → the shortest visit cadence of its members, in days
    elders: list[Resident]
    adults: dict[int, list[Resident]]  # building pk → adults living there
    portal: list[Resident]  # residents with a login of their own (the online channel needs one)
    enterprises: list[tuple[Enterprise, Resident]]
    plans: list[Plan] = field(default_factory=list)

    @classmethod
    def load(cls, community: Community, now: dt.datetime) -> "Scene":
        workers = list(
            SocialWorker.objects.filter(community=community, is_active=True)
            .select_related("user")
            .prefetch_related("buildings")
            .order_by("pk")
        )
        head = (
            User.objects.filter(groups__name=Role.HEAD, membership__community=community)
            .order_by("pk")
            .first()
        )
        responsible = {}
        for worker in workers:
            for building in worker.buildings.all():
                responsible.setdefault((building.pk, worker.worker_type), worker)
        residents = list(
            Resident.objects.filter(community=community)
            .select_related("household__building", "user")
            .order_by("pk")
        )
        tags: dict[int, set[str]] = defaultdict(set)
        cadence: dict[int, int] = {}
        household_of = {r.pk: r.household_id for r in residents}
        for resident_id, code, days in Resident.care_tags.through.objects.filter(
            resident__community=community
        ).values_list("resident_id", "caretag__code", "caretag__visit_cadence_days"):
            tags[resident_id].add(code)
            household = household_of.get(resident_id)
            if days and household:
                cadence[household] = min(days, cadence.get(household, days))
        households: dict[int, list[Household]] = defaultdict(list)
        members: dict[int, list[Resident]] = defaultdict(list)
        adults: dict[int, list[Resident]] = defaultdict(list)
        for resident in residents:
            if resident.household_id is None:
                continue
            if resident.household_id not in members:
                households[resident.household.building_id].append(resident.household)
            members[resident.household_id].append(resident)
            if resident.birth_date and age_of(resident.birth_date) >= 20:
                adults[resident.household.building_id].append(resident)
        employees = {(r.employer_id, r.name): r for r in residents if r.employer_id}
        enterprises = [
            (e, employees[(e.pk, e.contact_name)])
            for e in Enterprise.objects.filter(community=community).select_related("building").order_by("pk")
            if (e.pk, e.contact_name) in employees
        ]
        return cls(
            community=community,
            now=now,
            staff=Staff(head=head, workers=workers),
            categories={
                c.name: c for c in Category.objects.filter(community=community, parent__isnull=False)
            },
            buildings=list(community.buildings.order_by("position", "pk")),
            responsible=responsible,
            households=households,
            members=members,
            tags=tags,
            cadence=cadence,
            elders=[r for r in residents if r.household_id and tags[r.pk] & CARE_FOR_ERRANDS],
            adults=adults,
            portal=[r for r in residents if r.user_id],
            enterprises=enterprises,
        )

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)

    def key(self, *parts: object) -> uuid.UUID:
        """A submission key that is the same on every load."""
        return uuid.uuid5(
            uuid.NAMESPACE_URL, ":".join(["onedesk-demo", str(SEED), self.community.code, *map(str, parts)])
        )

    def liaison_for(self, building: Building | None) -> SocialWorker:
        worker = building and self.responsible.get((building.pk, WorkerType.LIAISON))
        return worker or next(w for w in self.staff.workers if w.worker_type == WorkerType.LIAISON)

    def residential(self) -> list[Building]:
        return [b for b in self.buildings if b.kind != BuildingKind.OFFICE and self.households.get(b.pk)]


def who(resident: Resident | None) -> str:
    """How a worker writes about a resident: 张奶奶, 王叔叔, or the full name."""
    if resident is None:
        return "居民"
    name = resident.name
    if not resident.birth_date or "·" in name or name[:1].isascii():
        return name
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES else name[0]
    female = resident.gender == Gender.FEMALE
    age = age_of(resident.birth_date)
    if age >= 60:
        return surname + ("奶奶" if female else "爷爷")
    if age >= 40:
        return surname + ("阿姨" if female else "叔叔")
    return name


def fill(
    topic: Topic,
    rng: random.Random,
    *,
    requester: Resident | None,
    building: Building | None,
    household: Household | None,
    enterprise: Enterprise | None,
    today: dt.date,
) -> dict[str, str]:
    """The title and description of a topic for this requester and place (one floor for both)."""
    floors = building.floors if building else 6
    floor = rng.randint(2, max(2, floors - 1))
    if household is not None and household.room[:-2].isdigit():
        floor = int(household.room[:-2])
    floor = max(1, min(floor, floors - 1))
    entrance = household.entrance if household else rng.randint(1, building.entrances if building else 1)
    short = enterprise.name.removeprefix("北京").removesuffix("有限公司") if enterprise else ""
    context = {
        "who": who(requester),
        "b": building.number if building else "",
        "u": f"{entrance}单元" if building and building.entrances > 1 else "",
        "f": floor,
        "fu": floor + 1,
        "ent": short,
        "year": today.year,
    }
    return {"title": topic.title.format(**context), "description": topic.description.format(**context)}


def in_season(season: str, day: dt.date) -> bool:
    if season == "heating":
        return (day.month, day.day) >= (11, 15) or (day.month, day.day) <= (3, 15)
    if season == "summer":
        return 6 <= day.month <= 9
    return True


# When requests come in: relative weight of a working day, a Saturday, another day off, then the
# hours of the day (minutes from midnight) with their weights.
CHANNEL_DAYS = {
    Channel.WALK_IN: (1.0, 0.25, 0.0),
    Channel.PHONE: (1.0, 0.2, 0.2),
    Channel.HOTLINE: (1.0, 0.7, 0.7),
    Channel.ONLINE: (1.0, 0.9, 0.9),
    Channel.PROACTIVE: (1.0, 0.05, 0.05),
    Channel.VISIT: (1.0, 0.0, 0.0),
}
CHANNEL_HOURS = {
    Channel.WALK_IN: ((510, 690, 3), (810, 1050, 2)),
    Channel.PHONE: ((480, 720, 3), (780, 1080, 3), (1080, 1200, 0.5)),
    Channel.HOTLINE: ((360, 480, 0.3), (480, 720, 3), (720, 1080, 3), (1080, 1320, 1.5)),
    Channel.ONLINE: ((420, 540, 1), (540, 1080, 2), (1080, 1410, 3)),
    Channel.PROACTIVE: ((510, 690, 2), (840, 1020, 2)),
    Channel.VISIT: ((540, 690, 2), (840, 1020, 2)),
}
SATURDAY_HOURS = ((540, 720, 1),)


class Clock:
    """Draws past moments for a channel over the last `days` days, busier on working days and a
    little busier lately."""

    def __init__(self, now: dt.datetime, days: int) -> None:
        self.now = now
        today = timezone.localdate(now)
        self.days = [today - dt.timedelta(days=offset) for offset in range(days)]
        self.kinds = [0 if is_workday(d) else 1 if d.weekday() == 5 else 2 for d in self.days]
        self.cumulative: dict[str, list[float]] = {}
        for channel, weights in CHANNEL_DAYS.items():
            total, cumulative = 0.0, []
            for offset, kind in enumerate(self.kinds):
                total += weights[kind] * (1.15 - 0.3 * offset / days)
                cumulative.append(total)
            self.cumulative[channel] = cumulative

    def draw(self, rng: random.Random, channel: str) -> dt.datetime:
        """One moment; the same number of random draws whatever the hour, so a load later in the
        day does not shift every choice after it (a moment not yet past moves back by days)."""
        tz = timezone.get_current_timezone()
        index = rng.choices(range(len(self.days)), cum_weights=self.cumulative[channel])[0]
        day = self.days[index]
        windows = (
            SATURDAY_HOURS if channel == Channel.WALK_IN and self.kinds[index] else CHANNEL_HOURS[channel]
        )
        start, end, _weight = rng.choices(windows, weights=[w[2] for w in windows])[0]
        minute, second = rng.randrange(start, end), rng.randrange(60)
        at = dt.datetime.combine(day, dt.time(minute // 60, minute % 60, second), tzinfo=tz)
        while at >= self.now - dt.timedelta(minutes=10):
            at -= dt.timedelta(days=1)
        return at

    def working_moment(self, rng: random.Random, day: dt.date) -> dt.datetime:
        """A time in working hours on `day` or the last working day before it, in the past."""
        tz = timezone.get_current_timezone()
        start, end, _weight = rng.choice(CHANNEL_HOURS[Channel.VISIT])
        minute, second = rng.randrange(start, end), rng.randrange(60)
        while True:
            while not is_workday(day):
                day -= dt.timedelta(days=1)
            at = dt.datetime.combine(day, dt.time(minute // 60, minute % 60, second), tzinfo=tz)
            if at < self.now - dt.timedelta(minutes=30):
                return at
            day -= dt.timedelta(days=1)
