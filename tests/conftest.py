"""Personas shared by the whole suite (healthchecks' alice/bob/charlie):

- ``community_a`` / ``community_b``: two communities in different subdistricts;
- ``worker_a``: a social worker of A responsible for ``building_a``; ``worker_b``: one of B;
- ``head_a``: A's committee head; ``subdistrict_a``: staff of A's subdistrict;
- ``resident_user_a``: a resident of A with a login.
"""

import os
import shutil

import pytest
from django.conf import settings as django_settings

from residents.choices import BuildingKind
from stations.choices import Role, WorkerType
from tests import factories

# Process-wide, at import: once Playwright's event loop starts, every later ORM call in the process
# would otherwise raise SynchronousOnlyOperation.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    is_postgres = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_chromium = shutil.which(CHROMIUM) is not None
    for item in items:
        if "postgres" in item.keywords and not is_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)"))
        if "browser" in item.keywords and not has_chromium:
            item.add_marker(
                pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM}: apt-get install chromium")
            )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _english_off(settings):
    # Tests assert on the default language, Simplified Chinese, unless they switch.
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture
def community_a(db):
    return factories.CommunityFactory(name="安华里社区", code="AHL")


@pytest.fixture
def community_b(db):
    return factories.CommunityFactory(name="华贸中心社区", code="HMZX")


@pytest.fixture
def building_a(community_a):
    return factories.BuildingFactory(community=community_a, number="1号楼", kind=BuildingKind.RESIDENTIAL)


@pytest.fixture
def building_b(community_b):
    return factories.BuildingFactory(community=community_b, number="9号楼")


@pytest.fixture
def household_a(building_a):
    return factories.HouseholdFactory(building=building_a, entrance=2, room="301")


@pytest.fixture
def household_b(building_b):
    return factories.HouseholdFactory(building=building_b, entrance=1, room="101")


@pytest.fixture
def resident_a(household_a):
    return factories.ResidentFactory(household=household_a, name="张焱", phone="13812341234")


@pytest.fixture
def resident_b(household_b):
    return factories.ResidentFactory(household=household_b, name="李娜", phone="13900001111")


@pytest.fixture
def worker_a(community_a, building_a):
    return factories.make_worker(
        community=community_a, worker_type=WorkerType.LIAISON, buildings=[building_a], username="worker_a"
    )


@pytest.fixture
def worker_b(community_b, building_b):
    return factories.make_worker(community=community_b, buildings=[building_b], username="worker_b")


@pytest.fixture
def head_a(community_a):
    return factories.make_member(role=Role.HEAD, community=community_a, username="head_a")


@pytest.fixture
def subdistrict_a(community_a):
    return factories.make_member(
        role=Role.SUBDISTRICT, subdistrict=community_a.subdistrict, username="street_a"
    )


@pytest.fixture
def resident_user_a(resident_a, community_a):
    user = factories.make_member(role=Role.RESIDENT, community=community_a, username="resident_a")
    resident_a.user = user
    resident_a.save(update_fields=["user"])
    return user


@pytest.fixture
def as_user(client):
    """as_user(user) logs the test client in as that user and returns the client."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.3 s per persona; tests are not about its strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
