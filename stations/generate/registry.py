"""The registry of the generated district: subdistricts, communities and their stations, buildings,
households, residents (with care tags), enterprises, and the logins of staff and some residents."""

from __future__ import annotations

import datetime as dt
import functools
import random

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from community.lib.validators import credit_code_check_char
from residents.choices import BuildingKind, Gender, Relation
from residents.models import (
    Building,
    CareTag,
    Community,
    Enterprise,
    Household,
    Membership,
    Resident,
    Subdistrict,
)
from stations.choices import Role, WorkerType
from stations.demo.people import HEAD_AGES
from stations.demo.registry import CARE_TAGS
from stations.generate.people import IdNumbers, NameBook, given_name, mobile, surname
from stations.generate.sink import Sink
from stations.generate.world import (
    DISTRICT,
    PASSWORD_SALT,
    BuildingRec,
    CommunityRec,
    EnterpriseRec,
    HouseholdRec,
    ResidentRec,
    WorkerRec,
    World,
    split,
    stream,
)
from stations.models import SocialWorker, Station
from stations.roles import sync_roles

COMMUNITIES_PER_SUBDISTRICT = 10
PLACE_FIRST = "安和华康平兴福惠乐泰永宁祥瑞嘉丰春秋明德"
PLACE_LAST = ("里", "园", "苑", "庄", "西里", "北里", "家园", "新村")
SUBDISTRICT_NAMES = ("安宁", "和平", "兴华", "康乐", "永安", "惠民", "春晖", "明德", "嘉禾", "祥云")
ENTERPRISE_WORDS = (
    "华信",
    "中科",
    "博远",
    "天宇",
    "正源",
    "汇通",
    "金桥",
    "新程",
    "启明",
    "瑞丰",
    "东方",
    "创想",
)
ENTERPRISE_TRADES = ("科技", "咨询", "文化传媒", "商贸", "律师事务所", "信息技术", "设计", "投资管理")
# Households per floor and entrance of an old six-storey building, and how many flats are occupied.
ROOMS_PER_FLOOR = (2, 3, 4)
OCCUPIED = 0.93


@functools.cache
def password_hash(password: str) -> str:
    # One hash for every generated login (a fixed salt keeps runs identical); hashing is the slow part.
    return make_password(password, salt=PASSWORD_SALT)


def community_name(index: int) -> str:
    first = PLACE_FIRST[(index * 7) % len(PLACE_FIRST)]
    second = PLACE_FIRST[(index * 3 + 5) % len(PLACE_FIRST)]
    last = PLACE_LAST[index % len(PLACE_LAST)]
    return f"{first}{second}{last}社区"


def build_places(world: World, sink: Sink) -> None:
    """Subdistricts (one per ten communities), communities, stations, care tags and role groups."""
    sizes = world.sizes
    rng = stream(sizes.seed, "places")
    sync_roles()
    world.group_pks = dict(Group.objects.filter(name__in=Role.values).values_list("name", "pk"))
    for position, spec in enumerate(CARE_TAGS, start=1):
        tag, _created = CareTag.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "colour": spec.colour,
                "visit_cadence_days": spec.cadence,
                "position": position,
            },
        )
        world.tag_pks[spec.code] = tag.pk
    count = (sizes.communities + COMMUNITIES_PER_SUBDISTRICT - 1) // COMMUNITIES_PER_SUBDISTRICT
    subdistrict_rows = []
    subdistrict_pks = []
    for i in range(count):
        pk = sink.next_id(Subdistrict)
        base = SUBDISTRICT_NAMES[i % len(SUBDISTRICT_NAMES)]
        name = f"{base}街道" if i < len(SUBDISTRICT_NAMES) else f"{base}{i // len(SUBDISTRICT_NAMES) + 1}街道"
        subdistrict_rows.append((pk, name, DISTRICT))
        subdistrict_pks.append(pk)
    sink.write(Subdistrict, ("id", "name", "district"), subdistrict_rows)
    # Community sizes vary: a few big compounds, many middling ones.
    weights = [rng.uniform(0.5, 1.6) for _ in range(sizes.communities)]
    residents = split(sizes.residents, weights)
    requests = split(sizes.requests, weights)
    visits = split(sizes.visit_count, weights)
    names: set[str] = set()
    community_rows, station_rows = [], []
    for i in range(sizes.communities):
        index = i + 1
        code = f"G{index:03d}"
        name = community_name(i)
        while name in names:
            name = name.replace("社区", "") + "二社区"
        names.add(name)
        record = CommunityRec(
            index=index,
            pk=sink.next_id(Community),
            code=code,
            name=name,
            profile=1 if rng.random() < 0.3 else 0,
            weight=weights[i],
            subdistrict_pk=subdistrict_pks[i // COMMUNITIES_PER_SUBDISTRICT],
            resident_target=residents[i],
            request_target=requests[i],
            visit_target=visits[i],
        )
        world.communities.append(record)
        office = rng.choice((75, 80, 90, 110, 150, 330))
        community_rows.append((record.pk, record.subdistrict_pk, name, office, code))
        station_rows.append(
            (
                sink.next_id(Station),
                record.pk,
                f"{name}服务站",
                f"北京市{DISTRICT}{name.removesuffix('社区')}{rng.randint(1, 30)}号",
                f"010-6{rng.randrange(10_000_000):07d}",
                "周一至周五 8:30–17:30，周六 9:00–12:00",
            )
        )
    sink.write(Community, ("id", "subdistrict", "name", "office_area_m2", "code"), community_rows)
    sink.write(Station, ("id", "community", "name", "address", "phone", "opening_hours"), station_rows)


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class People:
    """Makes one community's residents (household by household) as rows and records."""

    def __init__(self, world: World, sink: Sink, names: NameBook, ids: IdNumbers) -> None:
        self.world, self.sink, self.names, self.ids = world, sink, names, ids
        self.today = world.today
        self.created = world.start - dt.timedelta(days=400)

    def person(
        self,
        rng: random.Random,
        record: CommunityRec,
        *,
        age: int,
        gender: str,
        family: str | None,
        relation: str,
    ) -> tuple[ResidentRec, tuple]:
        year = self.today.year - age - 1
        birth = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
        name = (family or surname(rng)) + given_name(rng, year, gender)
        pinyin, initials = self.names.pinyin(name)
        id_number = self.ids.make(rng, birth, gender) if rng.random() > 0.03 else ""
        if age < 12 or (age < 18 and rng.random() < 0.5) or (age >= 80 and rng.random() < 0.2):
            phone = ""
        elif age >= 75 and rng.random() < 0.15:
            phone = f"010-6{rng.randrange(10_000_000):07d}"
        else:
            phone = mobile(rng)
        pk = self.sink.next_id(Resident)
        created = self.created + dt.timedelta(minutes=rng.randrange(200 * 24 * 60))
        rec = ResidentRec(
            pk=pk, name=name, gender=gender, age=_age(birth, self.today), phone=phone, household=None
        )
        row = [
            pk,
            record.pk,
            None,
            relation,
            None,
            None,
            name,
            pinyin,
            initials,
            gender,
            birth,
            phone,
            id_number,
            "",
            "statutory",  # legal basis: the committee's population register
            None,
            "",
            None,
            created,
            created,
        ]
        return rec, row

    def family(self, rng: random.Random, record: CommunityRec, size: int) -> list[tuple[ResidentRec, list]]:
        bands = (((65, 93, 1),) if rng.random() < 0.45 else HEAD_AGES[:4]) if size == 1 else HEAD_AGES
        low, high, _w = rng.choices(bands, weights=[band[2] for band in bands])[0]
        head_age = max(rng.randint(low, high), 25 if size < 3 else 30)
        head_gender = Gender.MALE if rng.random() < 0.6 else Gender.FEMALE
        family = surname(rng)
        members = [
            self.person(rng, record, age=head_age, gender=head_gender, family=family, relation=Relation.HEAD)
        ]
        father = family if head_gender == Gender.MALE else None
        if size >= 2:
            spouse_gender = Gender.FEMALE if head_gender == Gender.MALE else Gender.MALE
            spouse_family = surname(rng)
            members.append(
                self.person(
                    rng,
                    record,
                    age=max(20, head_age + rng.randint(-5, 3)),
                    gender=spouse_gender,
                    family=spouse_family,
                    relation=Relation.SPOUSE,
                )
            )
            father = father or spouse_family
        if size >= 3:
            child_age = max(0, head_age - rng.randint(24, 34))
            members.append(
                self.person(
                    rng,
                    record,
                    age=child_age,
                    gender=rng.choice((Gender.MALE, Gender.FEMALE)),
                    family=father,
                    relation=Relation.CHILD,
                )
            )
        if size >= 4:
            members.append(
                self.person(
                    rng,
                    record,
                    age=min(95, head_age + rng.randint(24, 32)),
                    gender=rng.choice((Gender.MALE, Gender.FEMALE)),
                    family=family if rng.random() < 0.6 else None,
                    relation=Relation.PARENT,
                )
            )
        return members


def _tags(rng: random.Random, members: list[ResidentRec]) -> None:
    """Care tags as an old compound has them (the demo's rules)."""
    alone = len(members) == 1
    low_income = rng.random() < 0.012
    for position, member in enumerate(members):
        tags = []
        if low_income and position == 0:
            tags.append("low-income")
        if alone and member.age >= 65:
            tags.append("elderly-alone")
        if member.age >= 80:
            tags.append("elderly-80")
        if member.age >= 5 and rng.random() < 0.012:
            tags.append("disabled")
        if member.gender == Gender.MALE and member.age >= 40 and rng.random() < 0.02:
            tags.append("veteran")
        if member.age >= 22 and rng.random() < 0.03:
            tags.append("party-member")
        member.tags = tuple(tags)


RESIDENT_FIELDS = (
    "id", "community", "household", "relation", "employer", "user", "name", "name_pinyin", "name_initials",
    "gender", "birth_date", "phone", "id_number", "notes", "legal_basis", "consent_date", "guardian_name",
    "erased_at", "created_at", "updated_at",
)  # fmt: skip
USER_FIELDS = (
    "id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
    "is_active", "date_joined",
)  # fmt: skip


def build_registry(world: World, sink: Sink, log) -> None:
    """Buildings, households, residents, care tags, enterprises, staff and logins of every community."""
    names, ids = NameBook(), IdNumbers()
    people = People(world, sink, names, ids)
    password = password_hash(world.sizes.password)
    joined = world.start - dt.timedelta(days=30)
    users: list[tuple] = []
    groups: list[tuple] = []
    memberships: list[tuple] = []
    credit_codes: set[str] = set()

    def add_user(
        username: str, display: str, role: str, *, community: int | None, subdistrict: int | None
    ) -> int:
        pk = sink.next_id(User)
        users.append((pk, password, False, username, display, "", "", False, True, joined))
        groups.append((sink.next_id(User.groups.through), pk, world.group_pks[role]))
        memberships.append((sink.next_id(Membership), pk, community, subdistrict))
        return pk

    for number, subdistrict_pk in enumerate(sorted({c.subdistrict_pk for c in world.communities}), start=1):
        staff = add_user(
            f"gs{number:02d}_staff",
            f"街道{number:02d}",
            Role.SUBDISTRICT,
            community=None,
            subdistrict=subdistrict_pk,
        )
        world.subdistricts.append((subdistrict_pk, staff))

    resident_total = sum(c.resident_target for c in world.communities)
    log.begin("residents", resident_total)
    done = 0
    for record in world.communities:
        rng = stream(world.sizes.seed, "registry", record.code)
        building_rows, household_rows, resident_rows, tag_rows, enterprise_rows = [], [], [], [], []
        # Office buildings (and one apartment block) in the mixed communities, listed after the rest.
        position = 0
        while len(record.residents) < record.resident_target:
            position += 1
            entrances, floors = rng.choice((3, 4)), 6
            kind = BuildingKind.RESIDENTIAL
            if record.profile == 1 and position % 6 == 0:
                entrances, floors, kind = 2, 18, BuildingKind.APARTMENT
            building = BuildingRec(sink.next_id(Building), f"{position}号楼", kind, entrances, floors)
            record.buildings.append(building)
            building_rows.append(
                (
                    building.pk,
                    record.pk,
                    building.number,
                    kind,
                    entrances,
                    floors,
                    f"{record.name.removesuffix('社区')}{position}号楼",
                    position,
                )
            )
            rooms = rng.choice(ROOMS_PER_FLOOR)
            for entrance in range(1, entrances + 1):
                for floor in range(1, floors + 1):
                    for room in range(1, rooms + 1):
                        if len(record.residents) >= record.resident_target:
                            break
                        if rng.random() > OCCUPIED:
                            continue
                        household = HouseholdRec(
                            sink.next_id(Household), building, entrance, f"{floor}{room:02d}"
                        )
                        record.households.append(household)
                        household_rows.append(
                            (
                                household.pk,
                                building.pk,
                                entrance,
                                household.room,
                                "",
                                people.created,
                                people.created,
                            )
                        )
                        size = min(
                            rng.choices((1, 2, 3, 4), weights=(14, 36, 32, 18))[0],
                            record.resident_target - len(record.residents),
                        )
                        members = people.family(rng, record, size)
                        _tags(rng, [m for m, _row in members])
                        for member, row in members:
                            member.household = household
                            row[2] = household.pk
                            household.members.append(len(record.residents))
                            record.residents.append(member)
                            resident_rows.append(row)
                            for code in member.tags:
                                tag_rows.append(
                                    (sink.next_id(Resident.care_tags.through), member.pk, world.tag_pks[code])
                                )
        if record.profile == 1:
            for extra in range(2):
                position += 1
                building = BuildingRec(sink.next_id(Building), f"{position}号楼", BuildingKind.OFFICE, 2, 20)
                record.buildings.append(building)
                building_rows.append(
                    (
                        building.pk,
                        record.pk,
                        building.number,
                        BuildingKind.OFFICE,
                        2,
                        20,
                        f"{record.name.removesuffix('社区')}商务楼{extra + 1}座",
                        position,
                    )
                )
                for _ in range(10):
                    name = f"北京{rng.choice(ENTERPRISE_WORDS)}{rng.choice(ENTERPRISE_WORDS)}{rng.choice(ENTERPRISE_TRADES)}有限公司"
                    while True:
                        first17 = f"91110105{rng.randrange(10**9):09d}"
                        code = first17 + credit_code_check_char(first17)
                        if code not in credit_codes:
                            credit_codes.add(code)
                            break
                    contact = surname(rng) + given_name(rng, 1990, rng.choice((Gender.MALE, Gender.FEMALE)))
                    enterprise = EnterpriseRec(sink.next_id(Enterprise), name, building, contact, mobile(rng))
                    record.enterprises.append(enterprise)
                    enterprise_rows.append(
                        (
                            enterprise.pk,
                            record.pk,
                            building.pk,
                            name,
                            code,
                            f"{rng.randint(2, 20)}层",
                            contact,
                            enterprise.contact_phone,
                        )
                    )
            # Some working-age residents work for an enterprise of the community.
            for member, row in zip(record.residents, resident_rows, strict=True):
                if 22 <= member.age <= 60 and rng.random() < 0.08:
                    member.employer = rng.randrange(len(record.enterprises))
                    row[4] = record.enterprises[member.employer].pk
        # Logins for about one adult in sixty: they submit requests online and book rooms.
        portal = 0
        for member, row in zip(record.residents, resident_rows, strict=True):
            if member.age >= 18 and rng.random() < 1 / 60:
                portal += 1
                member.user_id = add_user(
                    f"{record.username_prefix}_r{portal:05d}",
                    member.name,
                    Role.RESIDENT,
                    community=record.pk,
                    subdistrict=None,
                )
                row[5] = member.user_id
        build_staff(world, sink, record, rng, add_user)
        sink.write(
            Building,
            ("id", "community", "number", "kind", "entrances", "floors", "address", "position"),
            building_rows,
        )
        sink.write(
            Household,
            ("id", "building", "entrance", "room", "notes", "created_at", "updated_at"),
            household_rows,
        )
        if enterprise_rows:
            sink.write(
                Enterprise,
                (
                    "id",
                    "community",
                    "building",
                    "name",
                    "credit_code",
                    "floor",
                    "contact_name",
                    "contact_phone",
                ),
                enterprise_rows,
            )
        # Residents point at logins: those go first.
        sink.write(User, USER_FIELDS, users)
        sink.write(User.groups.through, ("id", "user", "group"), groups)
        sink.write(Membership, ("id", "user", "community", "subdistrict"), memberships)
        users.clear(), groups.clear(), memberships.clear()
        sink.write(Resident, RESIDENT_FIELDS, (tuple(row) for row in resident_rows))
        sink.write(Resident.care_tags.through, ("id", "resident", "caretag"), tag_rows)
        write_workers(sink, record)
        done += len(record.residents)
        log.progress("residents", done, resident_total)
    log.progress_done("residents")


def build_staff(world: World, sink: Sink, record: CommunityRec, rng: random.Random, add_user) -> None:
    """A committee head and social workers of each type; each type splits the buildings (包片)."""
    record.head_user_id = add_user(
        f"{record.username_prefix}_head",
        surname(rng) + given_name(rng, 1970, Gender.FEMALE),
        Role.HEAD,
        community=record.pk,
        subdistrict=None,
    )
    per_type = max(2, round(len(record.households) / 550))
    number = 0
    for worker_type in WorkerType.values:
        slices = split(len(record.buildings), [1.0] * per_type)
        start = 0
        for size in slices:
            number += 1
            name = surname(rng) + given_name(
                rng, rng.randint(1975, 1998), rng.choice((Gender.MALE, Gender.FEMALE))
            )
            user = add_user(
                f"{record.username_prefix}_sg{number:02d}",
                name,
                Role.WORKER,
                community=record.pk,
                subdistrict=None,
            )
            buildings = frozenset(b.pk for b in record.buildings[start : start + size])
            start += size
            record.workers.append(WorkerRec(sink.next_id(SocialWorker), user, worker_type, name, buildings))


def write_workers(sink: Sink, record: CommunityRec) -> None:
    sink.write(
        SocialWorker,
        ("id", "user", "community", "worker_type", "display_name", "phone", "is_active"),
        [(w.pk, w.user_id, record.pk, w.worker_type, w.name, "", True) for w in record.workers],
    )
    through = SocialWorker.buildings.through
    sink.write(
        through,
        ("id", "socialworker", "building"),
        [(sink.next_id(through), w.pk, b) for w in record.workers for b in sorted(w.building_pks)],
    )
