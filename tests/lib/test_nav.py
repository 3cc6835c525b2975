"""The main menu (community.lib.nav): rendered once per language and set of rights, then reused; it shows
each role its own links and nothing personal."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from community.lib import nav
from stations.choices import WorkerType
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_menus():
    nav._MENUS.clear()
    yield
    nav._MENUS.clear()


def menu_of(client) -> str:
    html = client.get(reverse("home"), follow=True).content.decode()
    start = html.index('<ul class="navbar-nav me-auto">')
    return html[start : html.index('<span class="navbar-text', start)]


def test_each_role_gets_its_own_menu(as_user, worker_a, head_a, resident_user_a):
    worker = menu_of(as_user(worker_a.user))
    assert reverse("stations:request_create") in worker and reverse("stations:my_queue") in worker
    head = menu_of(as_user(head_a))
    assert reverse("stations:dashboard") in head and reverse("residents:access_log") in head
    resident = menu_of(as_user(resident_user_a))
    assert reverse("stations:own_request_list") in resident
    assert f'href="{reverse("stations:request_list")}"' not in resident
    assert f'href="{reverse("residents:resident_list")}"' not in resident
    assert len(nav._MENUS) == 3


def test_subdistrict_staff_menu_leads_only_to_pages_they_may_read(as_user, subdistrict_a, worker_a):
    street = as_user(subdistrict_a)
    menu = menu_of(street)
    for name in (
        "stations:request_list",
        "stations:visit_list",
        "stations:proactive_list",
        "stations:dashboard",
    ):
        assert f'href="{reverse(name)}"' in menu, name
        assert street.get(reverse(name), follow=True).status_code == 200, name
    # Not the errands (403 for them) nor the spaces and courses lists (empty for them: their figures are on
    # the dashboard).
    for name in (
        "stations:errand_list",
        "stations:space_list",
        "stations:course_list",
        "stations:request_create",
    ):
        assert f'href="{reverse(name)}"' not in menu, name
    worker = menu_of(as_user(worker_a.user))
    for name in ("stations:errand_list", "stations:space_list", "stations:visit_list"):
        assert f'href="{reverse(name)}"' in worker, name


def test_users_with_the_same_rights_share_one_rendering(as_user, worker_a, community_a, building_a):
    other = factories.make_worker(
        community=community_a, worker_type=WorkerType.LIAISON, buildings=[building_a], username="worker_z"
    )
    first = menu_of(as_user(worker_a.user))
    second = menu_of(as_user(other.user))
    assert len(nav._MENUS) == 1
    assert "worker_a" not in first and "worker_z" not in second  # the names are outside the cached part
    assert first == second


def test_language_is_part_of_the_key(as_user, worker_a):
    client = as_user(worker_a.user)
    chinese = menu_of(client)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = menu_of(client)
    assert "My queue" not in chinese
    assert "My queue" in english and len(nav._MENUS) == 2


def test_debug_renders_every_time(settings, worker_a):
    settings.DEBUG = True
    assert "navbar-nav" in nav.nav_menu({"user": worker_a.user})
    assert not nav._MENUS
    assert "navbar-nav" in nav.nav_menu({"user": AnonymousUser()})
