"""Browser tests: a real Chromium (Debian's) against pytest-django's live server."""

import datetime as dt

import pytest
from django.core.cache import cache

from stations.choices import Role
from stations.models import Course, OpeningHours, Space
from stations.services.categories import categories_seed
from stations.services.courses import enrol
from tests import factories

PASSWORD = "onedesk-test-pw"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def login(live_server):
    """login(page, username) signs in through the real login form."""

    def do(page, username: str):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server.url}/")

    return do


@pytest.fixture
def registry(transactional_db):
    """A small community with a worker, a head and a few residents."""
    community = factories.CommunityFactory(name="安华里社区", code="AHL")
    building = factories.BuildingFactory(community=community, number="3号楼")
    household = factories.HouseholdFactory(building=building, entrance=2, room="301")
    zhang = factories.ResidentFactory(household=household, name="张焱", phone="13812341234")
    factories.ResidentFactory(household=household, name="王芳", phone="13900005678")
    other = factories.CommunityFactory(name="华贸中心社区", code="HMZX")
    factories.ResidentFactory(
        household=factories.HouseholdFactory(building=factories.BuildingFactory(community=other)),
        name="张三丰",
    )
    worker = factories.make_worker(community=community, buildings=[building], username="zhangyan_sg")
    head = factories.make_member(role=Role.HEAD, community=community, username="shuji")
    return {
        "community": community,
        "building": building,
        "household": household,
        "zhang": zhang,
        "worker": worker,
        "head": head,
    }


@pytest.fixture
def desk(registry):
    """The registry plus the default categories and a login for the resident 张焱 (username "zhangyan_jm")."""
    # The tracking page counts failed look-ups per IP in the cache; start each test from zero.
    cache.clear()
    categories_seed(community=registry["community"])
    resident_user = factories.make_member(
        role=Role.RESIDENT, community=registry["community"], username="zhangyan_jm"
    )
    zhang = registry["zhang"]
    zhang.user = resident_user
    zhang.save(update_fields=["user"])
    return {**registry, "resident_user": resident_user}


@pytest.fixture
def spaces(desk):
    """The desk plus two spaces open 08:00–21:00 every day — 活动大厅 (booked at once) and 议事空间
    (bookings need approval) — a yoga course with places and a dance course that is full."""
    community = desk["community"]
    hall = Space.objects.create(community=community, name="活动大厅", area_m2=200, capacity=30, position=1)
    meeting = Space.objects.create(
        community=community, name="议事空间", area_m2=60, capacity=12, requires_approval=True, position=2
    )
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(space=space, weekday=day, opens=dt.time(8), closes=dt.time(21))
            for space in (hall, meeting)
            for day in range(7)
        ]
    )
    yoga = Course.objects.create(
        community=community, space=hall, title="晨练瑜伽", teacher="李老师", capacity=10
    )
    dance = Course.objects.create(
        community=community, space=hall, title="广场舞", teacher="王老师", capacity=1
    )
    wang = community.residents.get(name="王芳")
    enrol(actor=desk["worker"].user, course=dance, resident=wang)  # the one place is taken
    return {**desk, "hall": hall, "meeting": meeting, "yoga": yoga, "dance": dance, "wang": wang}
