"""The rules of the generated desk: volumes by season, shares of each outcome, categories,
the working-day calendar and request topics."""

from __future__ import annotations

import base64
import datetime as dt
import random
import uuid

from community.lib.workdays import is_workday, working_deadline
from residents.choices import Gender
from stations.choices import (
    Channel,
    Satisfaction,
    TimeUnit,
)
from stations.demo.catalogue import (
    CATEGORIES,
)
from stations.demo.scene import CHANNEL_DAYS, CHANNEL_HOURS, SATURDAY_HOURS
from stations.generate.sink import Sink
from stations.generate.world import CategoryRec, ResidentRec, World
from stations.models import (
    Category,
)
from stations.services.categories import DEFAULT_TREE

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
URGENT_RESPONSE = dt.timedelta(hours=2)
# Volume by month (winter heating and summer rains bring more; the Spring Festival and National Day less),
# and by kind of day: working day, Saturday, other day off.
MONTH_FACTOR = {
    1: 0.95,
    2: 0.8,
    3: 1.0,
    4: 1.0,
    5: 1.0,
    6: 1.1,
    7: 1.15,
    8: 1.15,
    9: 1.05,
    10: 0.9,
    11: 1.1,
    12: 1.1,
}
DAY_FACTOR = (1.0, 0.45, 0.3)
HEATING_MONTHS = frozenset({11, 12, 1, 2, 3})
SUMMER_MONTHS = frozenset({6, 7, 8, 9})
# How lives go.
CANCELLED_SHARE = 0.025
STALLED_SHARE = 0.025  # accepted, then nothing: these become the overdue backlog
LATE_RESPONSE_SHARE = 0.05
LATE_RESOLUTION_SHARE = 0.07
STARTED_SHARE = 0.6  # "start work" pressed before resolving
SOLVED_SHARE = 0.96
SATISFACTION = ((Satisfaction.SATISFIED, 0.86), (Satisfaction.BASIC, 0.10), (Satisfaction.DISSATISFIED, 0.04))
URGENT_SHARE = {"水电气暖故障": 0.15, "电梯故障": 0.3, "房屋漏水": 0.05}

REQUEST_FIELDS = (
    "id", "community", "reference", "token", "submission_key", "channel", "line", "category", "requester",
    "requester_enterprise", "contact_name", "contact_phone", "building", "household", "title", "description",
    "urgency", "status", "assignee", "created_by", "received_at", "response_due_at", "resolution_due_at",
    "accepted_at", "resolved_at", "closed_at", "cancel_reason", "solved", "satisfaction", "rated_at",
    "rework_count", "urge_count", "version", "updated_at",
)  # fmt: skip
EVENT_FIELDS = (
    "id", "request", "kind", "actor", "at", "old_status", "new_status", "old_assignee", "new_assignee", "note",
    "is_public",
)  # fmt: skip
RATING_FIELDS = (
    "id",
    "request",
    "community",
    "solved",
    "satisfaction",
    "comment",
    "source",
    "recorded_by",
    "at",
)
VISIT_FIELDS = (
    "id",
    "community",
    "household",
    "building",
    "worker",
    "visited_at",
    "met",
    "found",
    "action",
    "created_at",
)


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def build_categories(world: World, sink: Sink) -> None:
    """The default category tree of every community (what categories_seed makes), in two writes."""
    parents, children = [], []
    for record in world.communities:
        for position, (parent_name, worker_type, line, kids) in enumerate(DEFAULT_TREE):
            parent_pk = sink.next_id(Category)
            parents.append(
                (
                    parent_pk,
                    record.pk,
                    None,
                    parent_name,
                    worker_type,
                    line,
                    24,
                    TimeUnit.HOURS,
                    7,
                    TimeUnit.WORKING_DAYS,
                    position,
                    True,
                )
            )
            for child_position, (name, response, response_unit, resolution, resolution_unit) in enumerate(
                kids
            ):
                pk = sink.next_id(Category)
                children.append(
                    (
                        pk,
                        record.pk,
                        parent_pk,
                        name,
                        worker_type,
                        line,
                        response,
                        response_unit,
                        resolution,
                        resolution_unit,
                        child_position,
                        True,
                    )
                )
                record.categories.append(
                    CategoryRec(
                        pk, name, worker_type, line, response, response_unit, resolution, resolution_unit
                    )
                )
    fields = (
        "id", "community", "parent", "name", "worker_type", "line", "response_limit", "response_unit",
        "resolution_limit", "resolution_unit", "position", "is_active",
    )  # fmt: skip
    sink.write(Category, fields, parents)
    sink.write(Category, fields, children)


class Calendar:
    """The days of the history with their weights, and deadlines computed once per (day, limit)."""

    def __init__(self, world: World) -> None:
        self.tz = world.start.tzinfo
        self.end = world.end
        first, last = world.start.date(), world.end.date()
        self.days: list[dt.date] = []
        self.midnights: list[dt.datetime] = []
        self.kinds: list[int] = []
        weights = []
        span = (last - first).days
        day = first
        while day < last:
            kind = 0 if is_workday(day) else 1 if day.weekday() == 5 else 2
            self.days.append(day)
            self.midnights.append(dt.datetime.combine(day, dt.time(), tzinfo=self.tz))
            self.kinds.append(kind)
            # A little busier lately: the desk became known.
            trend = 0.85 + 0.3 * (day - first).days / max(span, 1)
            weights.append(DAY_FACTOR[kind] * MONTH_FACTOR[day.month] * trend)
            day += DAY
        self.cum = _cumulative(weights)
        self.workdays = [i for i, kind in enumerate(self.kinds) if kind == 0]
        self._working: dict[tuple[dt.date, int], dt.datetime] = {}

    def deadline(self, start: dt.datetime, limit: int, unit: str) -> dt.datetime:
        if unit == TimeUnit.HOURS:
            return start + limit * HOUR
        key = (start.date(), limit)
        found = self._working.get(key)
        if found is None:
            found = self._working[key] = working_deadline(start, limit)
        return found


class Topics:
    """Per category and month: the topics in season; per category and kind of day: the channels."""

    def __init__(self, categories: list[CategoryRec], profile: int) -> None:
        self.categories = [c for c in categories if CATEGORIES[c.name].weights[profile] > 0]
        self.plans = [CATEGORIES[c.name] for c in self.categories]
        self.by_month: dict[int, list[float]] = {}
        self.topics: dict[tuple[int, int], tuple] = {}
        for month in range(1, 13):
            weights = []
            for index, plan in enumerate(self.plans):
                seasons = {t.season for t in plan.topics}
                factor = 1.0
                if "heating" in seasons and month in HEATING_MONTHS:
                    factor = 1.8
                elif "summer" in seasons and month in SUMMER_MONTHS:
                    factor = 1.4
                weights.append(plan.weights[profile] * factor)
                in_season = tuple(
                    t
                    for t in plan.topics
                    if not t.season
                    or (t.season == "heating" and month in HEATING_MONTHS)
                    or (t.season == "summer" and month in SUMMER_MONTHS)
                )
                self.topics[(index, month)] = in_season or plan.topics
            self.by_month[month] = _cumulative(weights)
        self.channels: dict[tuple[int, int], tuple[list[str], list[float]]] = {}
        for index, plan in enumerate(self.plans):
            for kind in range(3):
                names = list(plan.channels)
                weights = [plan.channels[n] * CHANNEL_DAYS[n][kind] for n in names]
                if sum(weights) == 0:
                    names, weights = [Channel.ONLINE, Channel.HOTLINE], [1.0, 1.0]
                self.channels[(index, kind)] = (names, _cumulative(weights))
        self.hours = {
            channel: (windows, _cumulative([w[2] for w in windows]))
            for channel, windows in {**CHANNEL_HOURS, "saturday": SATURDAY_HOURS}.items()
        }


def _who(resident: ResidentRec | None) -> str:
    if resident is None:
        return "居民"
    name = resident.name
    family = name[:2] if name[:2] in ("欧阳", "司马") else name[0]
    female = resident.gender == Gender.FEMALE
    if resident.age >= 60:
        return family + ("奶奶" if female else "爷爷")
    if resident.age >= 40:
        return family + ("阿姨" if female else "叔叔")
    return name


def _token(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).rstrip(b"=").decode()


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _satisfaction(rng: random.Random, solved: bool) -> str:
    if not solved:
        return Satisfaction.DISSATISFIED if rng.random() < 0.6 else Satisfaction.BASIC
    roll = rng.random()
    for value, share in SATISFACTION:
        if roll < share:
            return value
        roll -= share
    return Satisfaction.SATISFIED
