"""What the generator is asked for (Sizes) and what it has made so far (World): the small tables as
in-memory records, so the big tables (requests, events, ratings, visits) are made without reading
anything back from the database."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings

# Generated communities have codes G001, G002, …; their users' names start with the code in lower
# case (g001_head) or with gs + the subdistrict number (gs01_staff). Nothing else matches.
CODE_PREFIX = "G"
CODE_REGEX = r"^G[0-9]{3}$"
USERNAME_REGEX = r"^(g[0-9]{3}|gs[0-9]{2})_"
DISTRICT = "生成区"
PASSWORD = "onedesk-bench"
PASSWORD_SALT = "onedeskgenerated"


@dataclass(frozen=True)
class Sizes:
    communities: int = 50
    residents: int = 200_000
    requests: int = 1_000_000
    visits: int | None = None  # default: one visit per eight requests
    months: int = 15
    seed: int = 1
    until: dt.date | None = None  # the history ends at midnight starting this day (default: today)
    password: str = PASSWORD

    @property
    def visit_count(self) -> int:
        return self.requests // 8 if self.visits is None else self.visits


def tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def stream(seed: int, *parts: object) -> random.Random:
    """One independent, reproducible stream per part (and community), so that changing one size
    does not shift every other random choice."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


@dataclass
class BuildingRec:
    pk: int
    number: str
    kind: str
    entrances: int
    floors: int


@dataclass
class HouseholdRec:
    pk: int
    building: BuildingRec
    entrance: int
    room: str
    members: list[int] = field(default_factory=list)  # indexes into CommunityRec.residents


@dataclass
class ResidentRec:
    pk: int
    name: str
    gender: str
    age: int
    phone: str
    household: HouseholdRec | None
    tags: tuple[str, ...] = ()
    user_id: int | None = None
    employer: int | None = None  # index into CommunityRec.enterprises


@dataclass
class EnterpriseRec:
    pk: int
    name: str
    building: BuildingRec
    contact_name: str
    contact_phone: str


@dataclass
class WorkerRec:
    pk: int
    user_id: int
    worker_type: str
    name: str
    building_pks: frozenset[int] = frozenset()


@dataclass
class CategoryRec:
    pk: int
    name: str
    worker_type: str
    line: str
    response_limit: int
    response_unit: str
    resolution_limit: int
    resolution_unit: str


@dataclass
class CommunityRec:
    index: int  # 1-based, in code order
    pk: int
    code: str
    name: str
    profile: int  # 0: an old residential compound, 1: a mixed CBD community (office buildings)
    weight: float  # share of the district's residents and requests
    subdistrict_pk: int = 0
    buildings: list[BuildingRec] = field(default_factory=list)
    households: list[HouseholdRec] = field(default_factory=list)
    residents: list[ResidentRec] = field(default_factory=list)
    enterprises: list[EnterpriseRec] = field(default_factory=list)
    workers: list[WorkerRec] = field(default_factory=list)
    categories: list[CategoryRec] = field(default_factory=list)
    head_user_id: int = 0
    resident_target: int = 0
    request_target: int = 0
    visit_target: int = 0

    @property
    def username_prefix(self) -> str:
        return self.code.lower()


@dataclass
class World:
    sizes: Sizes
    start: dt.datetime  # the history runs over [start, end)
    end: dt.datetime
    communities: list[CommunityRec] = field(default_factory=list)
    subdistricts: list[tuple[int, int]] = field(default_factory=list)  # (pk, staff user pk)
    tag_pks: dict[str, int] = field(default_factory=dict)
    group_pks: dict[str, int] = field(default_factory=dict)

    @property
    def today(self) -> dt.date:
        return self.end.date()


def split(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to the weights that add up to exactly ``total``."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [int(r) for r in raw]
    rest = total - sum(parts)
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)[:rest]:
        parts[i] += 1
    return parts
