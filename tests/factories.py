"""factory-boy factories for the registry and the desk. Valid ID numbers and credit codes are
computed, so every factory row passes the same validators as user input."""

import datetime as dt

import factory
from django.contrib.auth.models import Group, User

from community.lib.validators import credit_code_check_char, id_check_char
from residents.choices import BuildingKind
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
from residents.services import pinyin_of
from stations.choices import Role, WorkerType
from stations.models import SocialWorker, Station


def make_id_number(seq: int, birth: dt.date = dt.date(1950, 3, 15)) -> str:
    first17 = f"110105{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def make_credit_code(seq: int) -> str:
    first17 = f"91110105{seq:09d}"
    return first17 + credit_code_check_char(first17)


class SubdistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subdistrict

    name = factory.Sequence(lambda n: f"街道{n}")
    district = "朝阳区"


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community

    subdistrict = factory.SubFactory(SubdistrictFactory)
    name = factory.Sequence(lambda n: f"社区{n}")
    code = factory.Sequence(lambda n: f"C{n}")


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    community = factory.SubFactory(CommunityFactory)
    number = factory.Sequence(lambda n: f"{n + 1}号楼")
    kind = BuildingKind.RESIDENTIAL
    entrances = 3
    floors = 6


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    building = factory.SubFactory(BuildingFactory)
    entrance = 1
    room = factory.Sequence(lambda n: f"{100 + n}")


class CareTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTag
        django_get_or_create = ("code",)

    code = "elderly-alone"
    name = "独居老人"
    visit_cadence_days = 7


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    household = factory.SubFactory(HouseholdFactory)
    community = factory.LazyAttribute(
        lambda o: o.household.building.community if o.household else CommunityFactory()
    )
    name = factory.Sequence(lambda n: f"张{'伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚'[n % 24]}{n}")
    name_pinyin = factory.LazyAttribute(lambda o: pinyin_of(o.name)[0])
    name_initials = factory.LazyAttribute(lambda o: pinyin_of(o.name)[1])
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    id_number = factory.Sequence(lambda n: make_id_number(n))


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    building = factory.SubFactory(BuildingFactory, kind=BuildingKind.OFFICE)
    community = factory.LazyAttribute(lambda o: o.building.community)
    name = factory.Sequence(lambda n: f"企业{n}有限公司")
    credit_code = factory.Sequence(make_credit_code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "onedesk-test-pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            self.groups.add(Group.objects.get(name=role))
        if extracted:
            self.save()


def make_member(
    *,
    role: str,
    community: Community | None = None,
    subdistrict: Subdistrict | None = None,
    username: str | None = None,
) -> User:
    user = UserFactory(roles=[role], **({"username": username} if username else {}))
    Membership.objects.create(user=user, community=community, subdistrict=subdistrict)
    return user


def make_worker(
    *,
    community: Community,
    worker_type: str = WorkerType.LIAISON,
    buildings=(),
    username=None,
    role: str = Role.WORKER,
) -> SocialWorker:
    user = make_member(role=role, community=community, username=username)
    worker = SocialWorker.objects.create(
        user=user, community=community, worker_type=worker_type, display_name=f"社工{user.username}"
    )
    worker.buildings.set(buildings)
    return worker


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    community = factory.SubFactory(CommunityFactory)
    name = factory.LazyAttribute(lambda o: f"{o.community.name}服务站")
