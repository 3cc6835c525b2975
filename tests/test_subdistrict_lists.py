"""Lists of subdistrict staff, who see a dozen communities that each have a "1号楼" and a "2单元301": every
row names its community. A member of one community is not told theirs on every row. Naming it costs a
join, not a query per row."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stations.choices import Channel
from stations.models import Category, ServiceRequest
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from stations.services.visits import visit_create
from tests import factories

pytestmark = pytest.mark.django_db

PAGES = {
    "directory": reverse("residents:resident_list"),
    "request list": reverse("stations:request_list"),
    "visit log": reverse("stations:visit_list") + "?worker=all",
    "proactive list": reverse("stations:proactive_list"),
    "hotspots": reverse("stations:proactive_list") + "?view=hotspots",
}
NAMES = ("安华里社区", "和平里社区")


@pytest.fixture
def weekly_tag(db):
    return factories.CareTagFactory(code="elderly-alone", name="独居老人", visit_cadence_days=7)


@pytest.fixture
def neighbour(community_a):
    """A second community of community_a's subdistrict, with a building of the same number."""
    return factories.CommunityFactory(name="和平里社区", code="HPL", subdistrict=community_a.subdistrict)


def grow(community, weekly_tag, n: int) -> None:
    """n more rows on each page: a care-tagged resident overdue a visit (never visited) and a visit of
    another home, three requests of one category in one building (a hotspot)."""
    if not Category.objects.filter(community=community).exists():
        categories_seed(community=community)
    category = Category.objects.filter(community=community, parent__isnull=False).first()
    worker = factories.make_worker(community=community)
    for _ in range(n):
        building = factories.BuildingFactory(community=community)
        resident = factories.ResidentFactory(household=factories.HouseholdFactory(building=building))
        resident.care_tags.add(weekly_tag)
        visit_create(
            actor=worker.user,
            worker=worker,
            household=factories.HouseholdFactory(building=building),
            visited_at=resident.created_at,
        )
        for _request in range(3):
            service_request_create(
                actor=worker.user,
                community=community,
                category=category,
                title="垃圾没人清",
                building=building,
                channel=Channel.PHONE,
                contact_name="李",
                contact_phone="13900001111",
            )


def get(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries), response.content.decode()


@pytest.mark.parametrize("name", list(PAGES))
def test_rows_name_their_community_for_subdistrict_staff(
    name, as_user, subdistrict_a, head_a, community_a, neighbour, weekly_tag
):
    for community in (community_a, neighbour):
        grow(community, weekly_tag, 1)
    street = as_user(subdistrict_a)
    get(street, PAGES[name])  # warm-up, as a running server is
    queries, html = get(street, PAGES[name])
    assert all(f"{community} · " in html for community in NAMES), name
    for community in (community_a, neighbour):
        grow(community, weekly_tag, 3)
    more_queries, html = get(street, PAGES[name])
    assert more_queries == queries, f"{name}: {queries} queries with 2 rows, {more_queries} with 8"
    assert html.count(f"{NAMES[1]} · ") >= 4

    _queries, html = get(as_user(head_a), PAGES[name])
    assert f"{NAMES[0]} · " not in html and NAMES[1] not in html


def test_request_page_names_the_community_for_subdistrict_staff(
    as_user, subdistrict_a, head_a, community_a, neighbour, weekly_tag
):
    grow(neighbour, weekly_tag, 1)
    url = ServiceRequest.objects.filter(community=neighbour).first().get_absolute_url()
    row = '<dt class="col-5 col-sm-4">社区</dt><dd class="col-7 col-sm-8">和平里社区</dd>'
    street = as_user(subdistrict_a)
    street.get(url)  # warm-up
    queries, html = get(street, url)
    assert row in html
    grow(community_a, weekly_tag, 1)
    head_url = ServiceRequest.objects.filter(community=community_a).first().get_absolute_url()
    head_queries, html = get(as_user(head_a), head_url)
    assert '<dt class="col-5 col-sm-4">社区</dt>' not in html
    assert queries <= head_queries  # a subquery, not a query


def test_subdistrict_staff_filter_the_request_list_by_community(
    as_user, subdistrict_a, head_a, community_a, neighbour, weekly_tag
):
    for community in (community_a, neighbour):
        grow(community, weekly_tag, 1)
    url = reverse("stations:request_list")
    street = as_user(subdistrict_a)
    html = street.get(url).content.decode()
    assert '<select name="community"' in html and "全部社区" in html
    response = street.get(url, {"community": neighbour.pk})
    assert {r.community_name for r in response.context["page"]} == {neighbour.name}
    html = response.content.decode()
    assert 'type="hidden" name="community"' not in html  # the select carries it, not a hidden copy too
    assert "看板数据" not in html  # not presented as a dashboard drill-down
    # A committee head has no such select: the community comes only from dashboard links.
    assert '<select name="community"' not in as_user(head_a).get(url).content.decode()


def test_subdistrict_staff_filter_the_directory_by_community(
    as_user, subdistrict_a, head_a, community_a, neighbour, weekly_tag
):
    for community in (community_a, neighbour):
        grow(community, weekly_tag, 2)
    url = reverse("residents:resident_list")
    street = as_user(subdistrict_a)
    assert '<select name="community"' in street.get(url).content.decode()
    html = street.get(url, {"community": neighbour.pk}).content.decode()
    assert html.count(f"{NAMES[1]} · ") == 2 and f"{NAMES[0]} · " not in html
    assert street.get(url, {"community": "x"}).status_code == 200  # junk: ignored, not an error page
    assert '<select name="community"' not in as_user(head_a).get(url).content.decode()


def test_a_junk_filter_does_not_drop_the_search_text(as_user, head_a, community_a, weekly_tag):
    grow(community_a, weekly_tag, 3)
    wanted = factories.ResidentFactory(
        household=factories.HouseholdFactory(building=factories.BuildingFactory(community=community_a)),
        name="欧阳娜娜",
    )
    response = as_user(head_a).get(reverse("residents:resident_list"), {"q": "欧阳", "building": "99999"})
    assert [row["url"] for row in response.context["rows"]] == [wanted.get_absolute_url()]


@pytest.mark.parametrize("view", ["care", "hotspots"])
def test_subdistrict_staff_filter_the_proactive_lists_by_community(
    view, as_user, subdistrict_a, head_a, community_a, neighbour, weekly_tag
):
    for community in (community_a, neighbour):
        grow(community, weekly_tag, 2)
    url = reverse("stations:proactive_list")
    street = as_user(subdistrict_a)
    html = street.get(url, {"view": view}).content.decode()
    assert '<select name="community"' in html
    assert f"?view=hotspots&amp;community={neighbour.pk}" not in html
    response = street.get(url, {"view": view, "community": neighbour.pk})
    html = response.content.decode()
    assert html.count(f"{NAMES[1]} · ") == 2 and f"{NAMES[0]} · " not in html
    # The tabs keep the community chosen.
    assert f"?view=hotspots&amp;community={neighbour.pk}" in html
    assert f'{reverse("stations:proactive_list")}?community={neighbour.pk}"' in html
    assert '<select name="community"' not in as_user(head_a).get(url, {"view": view}).content.decode()


def test_subdistrict_dashboard_opens_a_communitys_overdue_visits(
    as_user, subdistrict_a, community_a, neighbour, weekly_tag
):
    grow(neighbour, weekly_tag, 2)
    street = as_user(subdistrict_a)
    html = street.get(reverse("stations:subdistrict_dashboard")).content.decode()
    link = f"{reverse('stations:proactive_list')}?community={neighbour.pk}"
    assert f'<a href="{link}">2</a>' in html
    page = street.get(link).context["page"]
    assert len(page.object_list) == 2 and {r.community_id for r in page} == {neighbour.pk}


def test_subdistrict_staff_filter_the_visit_log_by_community(
    as_user, subdistrict_a, head_a, community_a, neighbour, weekly_tag
):
    for community in (community_a, neighbour):
        grow(community, weekly_tag, 2)
    url = reverse("stations:visit_list")
    street = as_user(subdistrict_a)
    assert '<select name="community"' in street.get(url).content.decode()
    response = street.get(url, {"community": neighbour.pk})
    assert {visit.community_id for visit in response.context["page"]} == {neighbour.pk}
    assert len(response.context["page"].object_list) == 2
    assert '<select name="community"' not in as_user(head_a).get(url).content.decode()


def test_subdistrict_dashboard_totals_open_their_lists(
    as_user, subdistrict_a, community_a, neighbour, weekly_tag
):
    grow(neighbour, weekly_tag, 1)
    past = timezone.now() - dt.timedelta(days=3)
    ServiceRequest.objects.update(  # all three overdue
        received_at=past, response_due_at=past, resolution_due_at=past + dt.timedelta(days=1)
    )
    html = as_user(subdistrict_a).get(reverse("stations:subdistrict_dashboard")).content.decode()
    footer = html[html.index("<tfoot>") : html.index("</tfoot>")]
    assert f'href="{reverse("stations:request_list")}?overdue=true">3</a>' in footer
    assert f'<a href="{reverse("stations:proactive_list")}">1</a>' in footer
