"""Selects of a user who sees several communities group their choices under each community."""

import re

import pytest
from django.urls import reverse

from stations.models import SocialWorker
from stations.services.categories import categories_seed
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_communities(community_a, building_a):
    """A second community of the same subdistrict, with a building of the same number and its workers."""
    sibling = factories.CommunityFactory(name="团结湖社区", code="TJH", subdistrict=community_a.subdistrict)
    factories.BuildingFactory(community=sibling, number=building_a.number)
    for community in (community_a, sibling):
        categories_seed(community=community)
    factories.make_worker(community=sibling, username="tjh_sg")
    return sibling


def select(page: str, name: str) -> str:
    return re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)


def groups(html: str) -> list[str]:
    return re.findall(r'<optgroup label="([^"]+)"', html)


def test_subdistrict_request_filters_group_by_community(as_user, subdistrict_a, worker_a, two_communities):
    page = as_user(subdistrict_a).get(reverse("stations:request_list")).content.decode()
    for name in ("building", "assignee", "category"):
        assert sorted(groups(select(page, name))) == ["团结湖社区", "安华里社区"], name
    building = select(page, "building")
    assert building.index("全部楼栋") < building.index("<optgroup")  # the empty choice stays first
    assert "未派单" in select(page, "assignee").split("<optgroup")[0]  # and so does "unassigned"


def test_a_choice_in_a_group_still_filters(as_user, subdistrict_a, building_a, two_communities):
    response = as_user(subdistrict_a).get(reverse("stations:request_list"), {"building": building_a.pk})
    assert response.status_code == 200
    assert f'<option value="{building_a.pk}" selected>' in select(response.content.decode(), "building")


def test_one_community_keeps_a_flat_list(as_user, worker_a, two_communities):
    page = as_user(worker_a.user).get(reverse("stations:request_list")).content.decode()
    for name in ("building", "assignee"):
        assert groups(select(page, name)) == [], name


def test_subdistrict_directory_groups_buildings(as_user, subdistrict_a, two_communities):
    page = as_user(subdistrict_a).get(reverse("residents:resident_list")).content.decode()
    assert sorted(groups(select(page, "building"))) == ["团结湖社区", "安华里社区"]


def test_household_form_groups_buildings_of_several_communities(two_communities, building_a):
    """Subdistrict staff may not add households (403), but the form groups whatever buildings it is given."""
    from residents.forms import HouseholdForm
    from residents.models import Building

    form = HouseholdForm(buildings=Building.objects.select_related("community"))
    assert sorted(groups(str(form["building"]))) == ["团结湖社区", "安华里社区"]


def test_subdistrict_visit_log_groups_workers(as_user, subdistrict_a, worker_a, two_communities):
    client = as_user(subdistrict_a)
    page = client.get(reverse("stations:visit_list")).content.decode()
    assert sorted(groups(select(page, "worker"))) == ["团结湖社区", "安华里社区"]
    sibling_worker = SocialWorker.objects.get(community=two_communities)
    chosen = client.get(reverse("stations:visit_list"), {"worker": sibling_worker.pk}).content.decode()
    assert f'<option value="{sibling_worker.pk}" selected>' in select(chosen, "worker")
    worker_page = as_user(worker_a.user).get(reverse("stations:visit_list")).content.decode()
    assert groups(select(worker_page, "worker")) == []


def test_options_are_labelled_from_rows(as_user, worker_a, two_communities):
    """The choices are read as rows, not model instances: the labels still name a category's parent,
    a worker by their display name and a building by its number."""
    from residents.models import Building
    from stations.models import Category

    page = as_user(worker_a.user).get(reverse("stations:request_list")).content.decode()
    child = Category.objects.filter(community=worker_a.community, parent__isnull=False).select_related(
        "parent"
    )[0]
    assert f'<option value="{child.pk}">{child.parent.name} / {child.name}</option>' in select(
        page, "category"
    )
    assert f'<option value="{worker_a.pk}">{worker_a.display_name}</option>' in select(page, "assignee")
    building = Building.objects.filter(community=worker_a.community)[0]
    assert f'<option value="{building.pk}">{building.number}</option>' in select(page, "building")


def test_one_communitys_choices_come_from_compiled_rows(worker_a, subdistrict_a, two_communities):
    """A member of one community: the three selects read their rows with SQL compiled once per process,
    the same rows the ORM reads; subdistrict staff keep the ORM's query over their communities."""
    from stations.filters import ServiceRequestFilter
    from stations.models import ServiceRequest

    mine = ServiceRequestFilter(None, queryset=ServiceRequest.objects.none(), user=worker_a.user).form
    theirs = ServiceRequestFilter(None, queryset=ServiceRequest.objects.none(), user=subdistrict_a).form
    for name in ("building", "assignee", "category"):
        field = mine.fields[name]
        assert field.compiled_rows is not None and theirs.fields[name].compiled_rows is None
        from_orm = [(v, label) for v, label in theirs.fields[name].choices if not isinstance(label, list)]
        assert list(field.choices)[1:], name  # choices beyond the empty one
        compiled = {str(v): label for v, label in field.choices}
        orm = {str(v): label for v, label in from_orm}
        orm.update(
            {
                str(v): label
                for _g, group in theirs.fields[name].choices
                if isinstance(group, list)
                for v, label in group
            }
        )
        assert compiled.items() <= orm.items(), name  # each of one community's choices, as the ORM labels it


def test_the_directorys_building_select_of_one_community(
    worker_a, subdistrict_a, two_communities, building_a
):
    from residents.forms import DirectorySearchForm
    from residents.selectors import building_choice_rows, buildings_visible_to

    assert building_choice_rows(subdistrict_a) is None
    compiled = DirectorySearchForm(
        buildings=buildings_visible_to(worker_a.user), building_rows=building_choice_rows(worker_a.user)
    )
    orm = DirectorySearchForm(buildings=buildings_visible_to(worker_a.user))
    assert compiled.fields["building"].compiled_rows is not None
    assert [(str(v), label) for v, label in compiled.fields["building"].choices] == [
        (str(v), label) for v, label in orm.fields["building"].choices
    ]
    assert (str(building_a.pk), building_a.number) in [
        (str(v), label) for v, label in compiled.fields["building"].choices
    ]
