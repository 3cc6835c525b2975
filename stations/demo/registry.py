"""The registry of both communities: places, buildings, households, residents and enterprises.

The bulk (households and residents) is written once per community; a second run finds the
households and skips it."""

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from community.lib.validators import credit_code_check_char
from residents.choices import BuildingKind, Gender, Relation, TagColour
from residents.models import Building, CareTag, Community, Enterprise, Household, Resident, Subdistrict
from stations.demo.base import DISTRICT, Log, silent
from stations.demo.people import FOREIGN_NAMES, Member, People, age_of, tag_members
from stations.models import Station

# ---------------------------------------------------------------------------------------------------
# Places


@dataclass(frozen=True)
class CareTagSpec:
    code: str
    name: str
    cadence: int | None
    colour: str


CARE_TAGS = (
    CareTagSpec("elderly-alone", "独居老人", 7, TagColour.RED),
    CareTagSpec("disabled", "残疾人", 14, TagColour.ORANGE),
    CareTagSpec("low-income", "低保", 30, TagColour.BLUE),
    CareTagSpec("elderly-80", "高龄老人", 14, TagColour.ORANGE),
    CareTagSpec("veteran", "退役军人", 90, TagColour.GREEN),
    CareTagSpec("party-member", "党员", None, TagColour.GREY),
)


@dataclass
class Places:
    subdistricts: dict[str, Subdistrict] = field(default_factory=dict)
    anhuali: Community | None = None
    huamao: Community | None = None
    tags: dict[str, CareTag] = field(default_factory=dict)


def build_places(log: Log = silent) -> Places:
    """Subdistricts, the two communities, their stations and the (global) care tags."""
    places = Places()
    for name in ("安贞街道", "八里庄街道"):
        places.subdistricts[name], _ = Subdistrict.objects.get_or_create(district=DISTRICT, name=name)
    places.anhuali, _ = Community.objects.update_or_create(
        code="AHL", defaults={"name": "安华里社区", "subdistrict": places.subdistricts["安贞街道"]}
    )
    places.huamao, _ = Community.objects.update_or_create(
        code="HMZX", defaults={"name": "华贸中心社区", "subdistrict": places.subdistricts["八里庄街道"]}
    )
    stations = (
        (places.anhuali, "安华里社区服务站", "北京市朝阳区安华里二区甲1号", "010-64213579"),
        (places.huamao, "华贸中心社区服务站", "北京市朝阳区建国路89号院", "010-85997531"),
    )
    for community, name, address, phone in stations:
        Station.objects.update_or_create(
            community=community,
            defaults={
                "name": name,
                "address": address,
                "phone": phone,
                "opening_hours": "周一至周五 8:30–17:30，周六 9:00–12:00",
            },
        )
    for position, spec in enumerate(CARE_TAGS, start=1):
        places.tags[spec.code], _ = CareTag.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "colour": spec.colour,
                "visit_cadence_days": spec.cadence,
                "position": position,
            },
        )
    log(f"Places: 2 subdistricts, 2 communities, 2 stations, {len(CARE_TAGS)} care tags.")
    return places


def write_households(households: Sequence[tuple[Household, list[Member]]], tags: dict[str, CareTag]) -> int:
    """Bulk-write households, their residents and the residents' care tags; returns the resident count."""
    Household.objects.bulk_create([household for household, _members in households], batch_size=500)
    members = []
    for household, household_members in households:
        for member in household_members:
            member.resident.household = household
            members.append(member)
    return write_members(members, tags)


def write_members(members: Sequence[Member], tags: dict[str, CareTag]) -> int:
    Resident.objects.bulk_create([member.resident for member in members], batch_size=500)
    through = Resident.care_tags.through
    through.objects.bulk_create(
        [
            through(resident_id=member.resident.pk, caretag_id=tags[code].pk)
            for member in members
            for code in dict.fromkeys(member.tags)
        ],
        batch_size=500,
    )
    return len(members)


def _household_size(rng: random.Random) -> int:
    return rng.choices((1, 2, 3, 4), weights=(14, 36, 32, 18))[0]


def _existing_ids() -> set[str]:
    return set(Resident.objects.exclude(id_number="").values_list("id_number", flat=True))


# ---------------------------------------------------------------------------------------------------
# The registry of each community


@dataclass(frozen=True)
class BuildingSpec:
    number: str
    position: int
    kind: str
    entrances: int
    floors: int
    address: str


def _save_buildings(community: Community, specs: Iterable[BuildingSpec]) -> list[Building]:
    return [
        Building.objects.update_or_create(
            community=community,
            number=spec.number,
            defaults={
                "position": spec.position,
                "kind": spec.kind,
                "entrances": spec.entrances,
                "floors": spec.floors,
                "address": spec.address,
            },
        )[0]
        for spec in specs
    ]


def build_registry(rng: random.Random, *, places: Places, log: Log = silent) -> dict[str, list[Building]]:
    """Buildings, households, residents and enterprises of both communities; returns their buildings."""
    anhuali_rng, huamao_rng = random.Random(rng.getrandbits(64)), random.Random(rng.getrandbits(64))
    return {
        "AHL": build_anhuali_registry(anhuali_rng, places=places, log=log),
        "HMZX": build_huamao_registry(huamao_rng, places=places, log=log),
    }


def build_anhuali_registry(rng: random.Random, *, places: Places, log: Log = silent) -> list[Building]:
    """安华里社区: 22 six-storey residential buildings of 3-4 entrances, about 100 households each."""
    community = places.anhuali
    sections = {1: "二", 9: "三", 16: "四"}
    specs = []
    section = "二"
    for n in range(1, 23):
        section = sections.get(n, section)
        specs.append(
            BuildingSpec(
                f"{n}号楼",
                n,
                BuildingKind.RESIDENTIAL,
                rng.choice((3, 4)),
                6,
                f"北京市朝阳区安华里{section}区{n}号楼",
            )
        )
    buildings = _save_buildings(community, specs)
    fill_rng = random.Random(rng.getrandbits(64))
    if Household.objects.filter(building__community=community).exists():
        log(f"{community.name}: {len(buildings)} buildings; households already loaded, skipped.")
        return buildings

    people = People(fill_rng, community=community, used_ids=_existing_ids())
    households: list[tuple[Household, list[Member]]] = []
    for building in buildings:
        # Three-entrance buildings have six flats a floor, four-entrance ones four: about 100 each.
        doors = 6 if building.entrances == 3 else 4
        for entrance in range(1, building.entrances + 1):
            for floor in range(1, building.floors + 1):
                for door in range(1, doors + 1):
                    if fill_rng.random() < 0.006:
                        continue  # an empty flat, not registered
                    households.append(
                        (
                            Household(building=building, entrance=entrance, room=f"{floor}{door:02d}"),
                            people.family(size=_household_size(fill_rng)),
                        )
                    )
    _add_special_families(people, households)
    tag_members(fill_rng, [members for _household, members in households])
    count = write_households(households, places.tags)
    log(f"{community.name}: {len(buildings)} buildings, {len(households)} households, {count} residents.")
    return buildings


def _add_special_families(people: People, households: list[tuple[Household, list[Member]]]) -> None:
    """Names the directory must cope with: the middle dot of Uyghur names and a character beyond the BMP."""
    uyghur_area = "650102"
    households[777] = (
        households[777][0],
        [
            people.chinese(
                age=46, gender=Gender.MALE, name="艾力·吐尔逊", relation=Relation.HEAD, area=uyghur_area
            ),
            people.chinese(
                age=43,
                gender=Gender.FEMALE,
                name="阿依古丽·买买提",
                relation=Relation.SPOUSE,
                area=uyghur_area,
            ),
            people.chinese(
                age=17, gender=Gender.FEMALE, name="迪丽努尔·艾力", relation=Relation.CHILD, area="110105"
            ),
        ],
    )
    households[1300] = (
        households[1300][0],
        [
            people.chinese(
                age=71,
                gender=Gender.FEMALE,
                name="古丽娜尔·阿不都拉",
                relation=Relation.HEAD,
                area=uyghur_area,
            ),
        ],
    )
    households[1555] = (
        households[1555][0],
        [
            people.chinese(age=38, gender=Gender.MALE, name="周𠮷祥", relation=Relation.HEAD),
            people.chinese(age=36, gender=Gender.FEMALE, name="林晓燕", relation=Relation.SPOUSE),
        ],
    )


ENTERPRISES = (
    # (name, registration prefix: 91 = company, 31 = law firm registered with the justice bureau)
    ("北京华贸科技有限公司", "91"),
    ("北京东方瑞智信息技术有限公司", "91"),
    ("北京嘉禾国际广告有限公司", "91"),
    ("北京汇通天下物流有限公司", "91"),
    ("北京中润投资管理有限公司", "91"),
    ("北京博雅文化传媒有限公司", "91"),
    ("北京新航道教育咨询有限公司", "91"),
    ("北京星河互动网络科技有限公司", "91"),
    ("北京恒信会计师事务所有限公司", "91"),
    ("北京明德律师事务所", "31"),
    ("北京云帆数据服务有限公司", "91"),
    ("北京锦程人力资源有限公司", "91"),
    ("北京安和健康管理有限公司", "91"),
    ("华贸国际会展服务（北京）有限公司", "91"),
    ("北京悦动体育文化发展有限公司", "91"),
)
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(rng: random.Random, prefix: str) -> str:
    area = "110000" if prefix == "31" else "110105"
    body = "".join(rng.choice(_CREDIT_ALPHABET[:10] if i < 8 else _CREDIT_ALPHABET) for i in range(9))
    first17 = f"{prefix}{area}{body}"
    return first17 + credit_code_check_char(first17)


def build_huamao_registry(rng: random.Random, *, places: Places, log: Log = silent) -> list[Building]:
    """华贸中心社区: an old compound, three apartment blocks with foreign residents, three office
    buildings with their enterprises and the enterprises' employees."""
    community = places.huamao
    specs = [
        BuildingSpec(
            f"{n}号楼", n, BuildingKind.RESIDENTIAL, rng.choice((2, 3)), 6, f"北京市朝阳区八里庄东里{n}号楼"
        )
        for n in range(1, 5)
    ]
    specs += [
        BuildingSpec(
            f"华贸公寓{block}座",
            4 + i,
            BuildingKind.APARTMENT,
            1,
            floors,
            f"北京市朝阳区建国路89号华贸公寓{block}座",
        )
        for i, (block, floors) in enumerate((("A", 24), ("B", 28), ("C", 30)), start=1)
    ]
    specs += [
        BuildingSpec(
            f"华贸中心{n}号写字楼",
            7 + n,
            BuildingKind.OFFICE,
            1,
            floors,
            f"北京市朝阳区建国路{address}号华贸中心{n}号写字楼",
        )
        for n, floors, address in ((1, 28, 79), (2, 32, 81), (3, 36, 83))
    ]
    buildings = _save_buildings(community, specs)
    offices = [b for b in buildings if b.kind == BuildingKind.OFFICE]

    # Each enterprise's contact person is also its first employee in the registry.
    contacts = People(random.Random(rng.getrandbits(64)), community=community, used_ids=set())
    enterprises: list[tuple[Enterprise, Member]] = []
    for i, (name, prefix) in enumerate(ENTERPRISES):
        office = offices[i % len(offices)]
        floor = rng.randint(5, office.floors)
        code = credit_code(rng, prefix)
        contact = contacts.chinese(age=contacts.rng.randint(26, 50), with_id=False)
        contact.resident.phone = contact.resident.phone or contacts.mobile()
        enterprise, _ = Enterprise.objects.update_or_create(
            credit_code=code,
            defaults={
                "community": community,
                "building": office,
                "name": name,
                "floor": f"{floor}层{floor}{i + 1:02d}",
                "contact_name": contact.resident.name,
                "contact_phone": contact.resident.phone,
            },
        )
        enterprises.append((enterprise, contact))
    fill_rng = random.Random(rng.getrandbits(64))

    if Household.objects.filter(building__community=community).exists():
        log(
            f"{community.name}: {len(buildings)} buildings, {len(enterprises)} enterprises; "
            "households already loaded, skipped."
        )
        return buildings

    people = People(fill_rng, community=community, used_ids=_existing_ids())
    people.used_phones |= contacts.used_phones
    households: list[tuple[Household, list[Member]]] = []
    for building in buildings:
        if building.kind == BuildingKind.RESIDENTIAL:
            for entrance in range(1, building.entrances + 1):
                for floor in range(1, building.floors + 1):
                    for door in range(1, 4):
                        households.append(
                            (
                                Household(building=building, entrance=entrance, room=f"{floor}{door:02d}"),
                                people.family(size=_household_size(fill_rng)),
                            )
                        )
        elif building.kind == BuildingKind.APARTMENT:
            # Only some flats are registered: many are let short-term or used as offices.
            rooms = fill_rng.sample(
                [f"{floor}{door:02d}" for floor in range(2, building.floors + 1) for door in range(1, 7)], 40
            )
            for room in sorted(rooms, key=lambda r: (len(r), r)):
                households.append(
                    (Household(building=building, entrance=1, room=room), _apartment_household(people))
                )
    tag_members(fill_rng, [members for _household, members in households])
    # Some residents of working age work in the community's office buildings.
    for _household, members in households:
        for member in members:
            resident = member.resident
            if resident.id_number and 23 <= age_of(resident.birth_date) <= 58 and fill_rng.random() < 0.12:
                resident.employer = fill_rng.choice(enterprises)[0]
    count = write_households(households, places.tags)
    # Employees who live elsewhere but use the community's spaces, the contact person first.
    employees: list[Member] = []
    for enterprise, contact in enterprises:
        staff = [
            people.chinese(
                age=age_of(contact.resident.birth_date),
                gender=contact.resident.gender,
                name=contact.resident.name,
            )
        ]
        staff[0].resident.phone = contact.resident.phone
        staff += [people.chinese(age=fill_rng.randint(22, 55)) for _ in range(fill_rng.randint(2, 5))]
        for member in staff:
            member.resident.employer = enterprise
        employees += staff
    count += write_members(employees, places.tags)
    log(
        f"{community.name}: {len(buildings)} buildings, {len(households)} households, {len(enterprises)} "
        f"enterprises, {count} residents ({len(employees)} employees living elsewhere)."
    )
    return buildings


def _apartment_household(people: People) -> list[Member]:
    rng = people.rng
    if rng.random() >= 0.35:
        return people.family(
            size=rng.choices((1, 2, 3), weights=(30, 45, 25))[0], min_head_age=28, elderly_alone_share=0.1
        )
    nationality = rng.randrange(len(FOREIGN_NAMES))
    family_name = rng.choice(FOREIGN_NAMES[nationality][2])
    head_gender = rng.choice((Gender.MALE, Gender.FEMALE))
    head_age = rng.randint(28, 60)
    members = [
        people.foreigner(
            nationality=nationality,
            family_name=family_name,
            age=head_age,
            gender=head_gender,
            relation=Relation.HEAD,
        )
    ]
    size = rng.choices((1, 2, 3), weights=(40, 35, 25))[0]
    if size >= 2:
        spouse_gender = Gender.FEMALE if head_gender == Gender.MALE else Gender.MALE
        members.append(
            people.foreigner(
                nationality=nationality,
                family_name=family_name,
                age=max(25, head_age + rng.randint(-5, 5)),
                gender=spouse_gender,
                relation=Relation.SPOUSE,
            )
        )
    if size >= 3:
        members.append(
            people.foreigner(
                nationality=nationality,
                family_name=family_name,
                age=max(0, head_age - rng.randint(26, 38)),
                gender=rng.choice((Gender.MALE, Gender.FEMALE)),
                relation=Relation.CHILD,
            )
        )
    return members
