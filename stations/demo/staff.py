"""The social workers of both communities (包片: each walks a slice of the buildings) and one login
per role."""

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from residents.choices import Relation
from residents.models import Building, Community, Membership, Resident, Subdistrict
from stations.choices import Role, WorkerType
from stations.demo.base import Log, silent
from stations.demo.people import MOBILE_PREFIXES
from stations.demo.registry import Places
from stations.models import SocialWorker

DEMO_PASSWORD = "onedesk-demo"
# A fixed salt keeps the stored hash identical from run to run (the password is public anyway).
_DEMO_SALT = "onedeskdemo2021"


@functools.cache
def demo_password_hash() -> str:
    return make_password(DEMO_PASSWORD, salt=_DEMO_SALT)


@dataclass(frozen=True)
class DemoLogin:
    """A login shown by ``demo_logins``; ``role`` is a group name ("" for the superuser)."""

    username: str
    display_name: str
    role: str
    description: str
    community_code: str = ""
    subdistrict: str = ""


DEMO_LOGINS = (
    DemoLogin("worker", "李静", Role.WORKER, "Social worker (liaison), buildings 1-6", community_code="AHL"),
    DemoLogin("head", "杨桂芳", Role.HEAD, "Committee head", community_code="AHL"),
    DemoLogin("street", "孙建华", Role.SUBDISTRICT, "Subdistrict staff", subdistrict="安贞街道"),
    DemoLogin("resident", "", Role.RESIDENT, "Resident (1号楼)", community_code="AHL"),
    DemoLogin("hm_head", "黄立新", Role.HEAD, "Committee head", community_code="HMZX"),
    DemoLogin("admin", "系统管理员", "", "Superuser (admin site)"),
)

# Per community: (username, display name, type). Workers are listed by team: team n walks the n-th
# slice of the buildings, one worker of each type (民情, 项目, 政务) per slice.
WORKERS = {
    "AHL": (
        ("worker", "李静", WorkerType.LIAISON),
        ("ahl_sg02", "王磊", WorkerType.LIAISON),
        ("ahl_sg03", "陈晓燕", WorkerType.LIAISON),
        ("ahl_sg04", "赵敏", WorkerType.LIAISON),
        ("ahl_sg05", "刘洋", WorkerType.PROJECT),
        ("ahl_sg06", "孙丽娟", WorkerType.PROJECT),
        ("ahl_sg07", "周杰", WorkerType.PROJECT),
        ("ahl_sg08", "吴海燕", WorkerType.PROJECT),
        ("ahl_sg09", "郑伟", WorkerType.GOVERNMENT),
        ("ahl_sg10", "马红梅", WorkerType.GOVERNMENT),
        ("ahl_sg11", "胡志强", WorkerType.GOVERNMENT),
        ("ahl_sg12", "高雪", WorkerType.GOVERNMENT),
    ),
    "HMZX": (
        ("hm_sg01", "张焱", WorkerType.LIAISON),
        ("hm_sg02", "林佳怡", WorkerType.LIAISON),
        ("hm_sg03", "何俊", WorkerType.PROJECT),
        ("hm_sg04", "郭婷", WorkerType.PROJECT),
        ("hm_sg05", "罗建军", WorkerType.GOVERNMENT),
        ("hm_sg06", "徐慧", WorkerType.GOVERNMENT),
    ),
}


def slices(items: Sequence[Building], count: int) -> list[list[Building]]:
    """Split in ``count`` consecutive runs, the longer ones first: 22 → 6, 6, 5, 5."""
    size, extra = divmod(len(items), count)
    runs, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        runs.append(list(items[start:end]))
        start = end
    return runs


def demo_user(
    username: str,
    *,
    display_name: str,
    role: str,
    community: Community | None = None,
    subdistrict: Subdistrict | None = None,
    superuser: bool = False,
) -> User:
    user, _ = User.objects.update_or_create(
        username=username,
        defaults={
            "first_name": display_name,
            "last_name": "",
            "is_active": True,
            "is_staff": superuser,
            "is_superuser": superuser,
            "password": demo_password_hash(),
        },
    )
    user.groups.set(Group.objects.filter(name=role) if role else [])
    if community or subdistrict:
        Membership.objects.update_or_create(
            user=user, defaults={"community": community, "subdistrict": subdistrict}
        )
    else:
        Membership.objects.filter(user=user).delete()
    return user


def build_staff(
    rng: random.Random, *, places: Places, buildings: dict[str, list[Building]], log: Log = silent
) -> list[SocialWorker]:
    """The social workers of both communities, each with a login and the buildings they walk."""
    workers = []
    for community in (places.anhuali, places.huamao):
        team_count = len(WORKERS[community.code]) // len(WorkerType.values)
        teams = slices(buildings[community.code], team_count)
        seen: dict[str, int] = {}
        for username, display_name, worker_type in WORKERS[community.code]:
            team = seen.get(worker_type, 0)
            seen[worker_type] = team + 1
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
            user = demo_user(username, display_name=display_name, role=Role.WORKER, community=community)
            worker, _ = SocialWorker.objects.update_or_create(
                user=user,
                defaults={
                    "community": community,
                    "worker_type": worker_type,
                    "display_name": display_name,
                    "phone": phone,
                    "is_active": True,
                },
            )
            worker.buildings.set(teams[team])
            workers.append(worker)
        log(f"{community.name}: {len(WORKERS[community.code])} social workers in {team_count} teams.")
    return workers


def build_logins(*, places: Places, log: Log = silent) -> None:
    """The remaining demo logins (the worker login is made by build_staff)."""
    communities = {places.anhuali.code: places.anhuali, places.huamao.code: places.huamao}
    for login in DEMO_LOGINS:
        if login.role == Role.WORKER:
            continue
        community = communities.get(login.community_code)
        subdistrict = places.subdistricts.get(login.subdistrict)
        if login.role == Role.RESIDENT:
            resident = (
                Resident.objects.filter(
                    community=community, relation=Relation.HEAD, household__building__number="1号楼"
                )
                .order_by("household__entrance", "household__room")
                .first()
            )
            user = demo_user(login.username, display_name=resident.name, role=login.role, community=community)
            Resident.objects.filter(user=user).exclude(pk=resident.pk).update(user=None)
            if resident.user_id != user.pk:
                resident.user = user
                resident.save(update_fields=["user"])
        else:
            demo_user(
                login.username,
                display_name=login.display_name,
                role=login.role,
                community=community,
                subdistrict=subdistrict,
                superuser=not login.role,
            )
    log(f"Logins: {', '.join(login.username for login in DEMO_LOGINS)} (password {DEMO_PASSWORD}).")
