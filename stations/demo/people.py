"""People: names, phones and ID numbers that pass the same validators as user input, and the care
tags an old compound has."""

import datetime as dt
import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from community.lib.validators import id_check_char
from residents.choices import Gender, Relation
from residents.models import Community, Resident
from residents.services import pinyin_of
from stations.demo.base import REFERENCE_DATE

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
# Roughly by frequency: 王李张刘陈 are the five most common surnames.
SURNAME_WEIGHTS = (10, 10, 9, 8, 7, 5, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2)
EXTRA_SURNAMES = ("郑", "梁", "谢", "宋", "唐", "韩", "冯", "曹", "欧阳", "司马")
# Given names follow the fashion of the decade a person was born in.
GIVEN_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("old", Gender.MALE): (
        "建国",
        "建华",
        "国强",
        "志强",
        "德明",
        "振华",
        "玉山",
        "福生",
        "长林",
        "保国",
        "文",
        "明",
        "华",
        "军",
        "忠",
        "海",
        "国庆",
        "树林",
        "宝山",
        "永利",
    ),
    ("old", Gender.FEMALE): (
        "秀英",
        "桂兰",
        "淑珍",
        "玉兰",
        "凤英",
        "秀兰",
        "桂英",
        "玉梅",
        "淑华",
        "素芳",
        "秀珍",
        "丽华",
        "英",
        "兰",
        "珍",
        "芳",
        "桂芳",
        "玉珍",
        "金凤",
        "秀云",
    ),
    ("mid", Gender.MALE): (
        "伟",
        "强",
        "磊",
        "军",
        "勇",
        "杰",
        "涛",
        "明",
        "超",
        "刚",
        "辉",
        "鹏",
        "海涛",
        "晓东",
        "志刚",
        "建军",
        "立新",
        "永强",
        "卫东",
        "红兵",
        "宏伟",
        "晓明",
    ),
    ("mid", Gender.FEMALE): (
        "芳",
        "娜",
        "敏",
        "静",
        "丽",
        "艳",
        "娟",
        "霞",
        "燕",
        "玲",
        "红梅",
        "晓燕",
        "丽娟",
        "海燕",
        "春梅",
        "雪梅",
        "晓丽",
        "丽萍",
        "慧",
        "颖",
    ),
    ("new", Gender.MALE): (
        "浩然",
        "子轩",
        "宇轩",
        "梓豪",
        "一鸣",
        "博文",
        "俊杰",
        "皓轩",
        "思远",
        "天佑",
        "子墨",
        "宇航",
        "浩宇",
        "明轩",
        "睿",
        "阳",
        "晨",
        "嘉懿",
        "奕辰",
        "梓睿",
    ),
    ("new", Gender.FEMALE): (
        "子涵",
        "梓萱",
        "欣怡",
        "一诺",
        "诗涵",
        "雨桐",
        "可馨",
        "思琪",
        "佳怡",
        "语嫣",
        "若汐",
        "梦琪",
        "雨欣",
        "紫萱",
        "婷",
        "悦",
        "雪",
        "欣妍",
        "梓涵",
        "沐晴",
    ),
}
# Where people were born (first six digits of the ID number): mostly Beijing, some from elsewhere.
BEIJING_AREAS = ("110105", "110105", "110105", "110101", "110102", "110106", "110108")
OTHER_AREAS = ("130102", "370102", "410105", "420106", "320106", "510104", "230103", "140105", "210102")
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)
# Foreign residents of the apartment blocks: (given names male, female, family names, family name first).
FOREIGN_NAMES: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], bool], ...] = (
    (
        ("John", "David", "James", "Michael", "Thomas"),
        ("Emily", "Sarah", "Laura", "Emma", "Olivia"),
        ("Smith", "Johnson", "Brown", "Wilson", "Taylor"),
        False,
    ),
    (
        ("Lukas", "Hans", "Felix", "Jonas"),
        ("Anna", "Lena", "Julia", "Sophie"),
        ("Müller", "Schmidt", "Becker", "Fischer"),
        False,
    ),
    (("Pierre", "Louis", "Julien"), ("Chloé", "Camille", "Léa"), ("Dubois", "Martin", "Lefèvre"), False),
    (("Carlos", "Javier", "Diego"), ("María", "Lucía", "Carmen"), ("García", "Fernández", "López"), False),
    (("Min-jun", "Ji-hoon", "Seo-jun"), ("Ji-woo", "Seo-yeon", "Ha-eun"), ("Kim", "Park", "Lee"), True),
    (("Hiroshi", "Takumi", "Kenji"), ("Yuki", "Sakura", "Aiko"), ("Tanaka", "Suzuki", "Takahashi"), True),
)
# Age bands (lowest, highest, weight) of the heads of households of an old compound built in the 1980s.
HEAD_AGES = ((25, 34, 12), (35, 44, 17), (45, 54, 21), (55, 64, 22), (65, 74, 16), (75, 84, 6), (85, 94, 2))


@dataclass
class Member:
    """A resident to be written, with its care tag codes."""

    resident: Resident
    surname: str = ""
    foreign: bool = False
    tags: list[str] = field(default_factory=list)


class People:
    """Makes people whose ID numbers, genders, birth dates and phones agree with each other."""

    def __init__(self, rng: random.Random, *, community: Community, used_ids: set[str]) -> None:
        self.rng = rng
        self.community = community
        self.used_ids = used_ids
        self.used_phones: set[str] = set()

    def surname(self) -> str:
        if self.rng.random() < 0.08:
            return self.rng.choice(EXTRA_SURNAMES)
        return self.rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]

    def given_name(self, gender: str, age: int) -> str:
        era = "old" if age >= 60 else "mid" if age >= 26 else "new"
        return self.rng.choice(GIVEN_NAMES[(era, gender)])

    def birth_date(self, age: int) -> dt.date:
        year = REFERENCE_DATE.year - age - 1
        return dt.date(year, self.rng.randint(1, 12), self.rng.randint(1, 28))

    def id_number(self, birth: dt.date, gender: str, area: str | None = None) -> str:
        if area is None:
            area = self.rng.choice(BEIJING_AREAS if self.rng.random() < 0.8 else OTHER_AREAS)
        while True:
            sex_digit = self.rng.choice("13579" if gender == Gender.MALE else "02468")
            first17 = f"{area}{birth:%Y%m%d}{self.rng.randint(0, 99):02d}{sex_digit}"
            number = first17 + id_check_char(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def mobile(self) -> str:
        while True:
            phone = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    def phone(self, age: int) -> str:
        if age < 12 or (age < 18 and self.rng.random() < 0.5):
            return ""
        if age >= 75:
            roll = self.rng.random()
            if roll < 0.2:
                return ""
            if roll < 0.35:
                return f"010-6{self.rng.randint(0, 9_999_999):07d}"  # the flat's landline
        return self.mobile()

    def chinese(
        self,
        *,
        age: int,
        gender: str | None = None,
        surname: str | None = None,
        relation: str = Relation.OTHER,
        name: str | None = None,
        area: str | None = None,
        with_id: bool = True,
    ) -> Member:
        gender = gender or self.rng.choice((Gender.MALE, Gender.FEMALE))
        if name is None:
            surname = surname or self.surname()
            name = surname + self.given_name(gender, age)
        birth = self.birth_date(age)
        # A few records lack the ID number: it was not shown when the household registered.
        id_number = self.id_number(birth, gender, area) if with_id and self.rng.random() > 0.02 else ""
        member = self._member(
            name=name,
            gender=gender,
            birth_date=birth,
            phone=self.phone(age),
            id_number=id_number,
            relation=relation,
        )
        member.surname = surname or ""
        return member

    def foreigner(
        self, *, nationality: int, family_name: str, age: int, gender: str, relation: str
    ) -> Member:
        males, females, _families, family_first = FOREIGN_NAMES[nationality]
        given = self.rng.choice(males if gender == Gender.MALE else females)
        name = f"{family_name} {given}" if family_first else f"{given} {family_name}"
        member = self._member(
            name=name,
            gender=gender,
            birth_date=self.birth_date(age),
            phone=self.mobile() if age >= 16 else "",
            id_number="",
            relation=relation,
        )
        member.foreign = True
        return member

    def _member(self, **fields) -> Member:
        name_pinyin, name_initials = _pinyin(fields["name"])
        return Member(
            Resident(community=self.community, name_pinyin=name_pinyin, name_initials=name_initials, **fields)
        )

    def family(self, *, size: int, min_head_age: int = 25, elderly_alone_share: float = 0.4) -> list[Member]:
        """A household of ``size`` people: head, spouse, child, then a parent (or a second child)."""
        rng = self.rng
        bands = HEAD_AGES
        if size == 1:
            # Single households are either the elderly living alone or people under 65.
            bands = ((65, 93, 1),) if rng.random() < elderly_alone_share else HEAD_AGES[:4]
        low, high, _w = rng.choices(bands, weights=[band[2] for band in bands])[0]
        head_age = max(rng.randint(low, high), min_head_age if size < 3 else 30)
        head_gender = Gender.MALE if rng.random() < 0.6 else Gender.FEMALE
        head = self.chinese(age=head_age, gender=head_gender, relation=Relation.HEAD)
        members = [head]
        father_surname = head.surname if head_gender == Gender.MALE else ""
        if size >= 2:
            if size == 2 and rng.random() < 0.06:
                members.append(self.chinese(age=rng.randint(20, 40), relation=Relation.OTHER))
            else:
                spouse_gender = Gender.FEMALE if head_gender == Gender.MALE else Gender.MALE
                spouse = self.chinese(
                    age=max(20, head_age + rng.randint(-5, 3)), gender=spouse_gender, relation=Relation.SPOUSE
                )
                members.append(spouse)
                father_surname = father_surname or spouse.surname
        child_ages: list[int] = []
        if size >= 3:
            child_ages.append(max(0, head_age - rng.randint(24, 34)))
        if size >= 4:
            parent_age = head_age + rng.randint(24, 32)
            if parent_age <= 84:
                members.append(
                    self.chinese(
                        age=parent_age,
                        surname=head.surname if rng.random() < 0.6 else None,
                        relation=Relation.PARENT,
                    )
                )
            else:
                child_ages.append(max(0, child_ages[0] - rng.randint(2, 6)))
        for age in child_ages:
            members.append(self.chinese(age=age, surname=father_surname or None, relation=Relation.CHILD))
        return members


@functools.cache
def _pinyin(name: str) -> tuple[str, str]:
    return pinyin_of(name)


def age_of(birth: dt.date) -> int:
    return (
        REFERENCE_DATE.year
        - birth.year
        - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day))
    )


def tag_members(rng: random.Random, households: Sequence[list[Member]]) -> None:
    """Care tags as an old compound has them: about one resident in twelve (party members aside)."""
    for members in households:
        if rng.random() < 0.012:
            members[0].tags.append("low-income")
        for member in members:
            resident = member.resident
            if member.foreign or resident.birth_date is None:
                continue  # the demo tags only residents with a Chinese household registration
            age = age_of(resident.birth_date)
            if len(members) == 1 and age >= 65:
                member.tags.append("elderly-alone")
            if age >= 80:
                member.tags.append("elderly-80")
            if age >= 5 and rng.random() < 0.012:
                member.tags.append("disabled")
            if resident.gender == Gender.MALE and age >= 40 and rng.random() < 0.02:
                member.tags.append("veteran")
            if age >= 22 and rng.random() < 0.03:
                member.tags.append("party-member")
