"""Walking service pages: recording a visit that raises requests, the visit log, the household's
activity fragment and the proactive list (未诉先办)."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stations.choices import Channel, EventKind, Status, WorkerType
from stations.models import Category, RequestEvent, ServiceRequest, Visit
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from stations.services.visits import visit_create
from tests import factories

pytestmark = pytest.mark.django_db

VISIT_CREATE = reverse("stations:visit_create")
VISIT_LIST = reverse("stations:visit_list")
PROACTIVE = reverse("stations:proactive_list")


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


@pytest.fixture
def walker(community_a):
    """A liaison worker of A who is NOT responsible for building_a: requests they raise there are
    routed to worker_a, the worker responsible for the building."""
    return factories.make_worker(community=community_a, worker_type=WorkerType.LIAISON, username="walker")


def local_minute(delta: dt.timedelta = dt.timedelta(0)) -> str:
    return (timezone.localtime() + delta).strftime("%Y-%m-%dT%H:%M")


def payload(household, rows=(), *, key=None, **fields) -> dict:
    data = {
        "submission_key": str(key or uuid.uuid4()),
        "household": household.pk,
        "visited_at": local_minute(-dt.timedelta(hours=1)),
        "met": "张焱本人",
        "found": "血压药快吃完了",
        "action": "约好明天代开药",
        "raise-TOTAL_FORMS": "3",
        "raise-INITIAL_FORMS": "0",
        "raise-MIN_NUM_FORMS": "0",
        "raise-MAX_NUM_FORMS": "3",
    }
    for i in range(3):
        row = rows[i] if i < len(rows) else {}
        data[f"raise-{i}-category"] = row.get("category", "")
        data[f"raise-{i}-title"] = row.get("title", "")
        data[f"raise-{i}-description"] = row.get("description", "")
        data[f"raise-{i}-urgency"] = row.get("urgency", "normal")
    data.update(fields)
    return data


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# Recording a visit -------------------------------------------------------------------------------------------


def test_visit_form_renders_for_worker_with_household_preselected(as_user, worker_a, household_a, medicine):
    response = as_user(worker_a.user).get(f"{VISIT_CREATE}?household={household_a.pk}")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="submission_key"' in body
    assert f'name="household" value="{household_a.pk}"' in body  # fixed, shown as text
    assert '<optgroup label="为老服务">' in body and "代开药" in body


def test_visit_form_asks_whose_home_first_without_listing_every_household(
    as_user, worker_a, household_a, resident_a, resident_b, building_a, django_assert_max_num_queries
):
    for room in range(30):  # a community's households are never all on the page
        factories.HouseholdFactory(building=building_a, entrance=9, room=f"{room + 100}")
    factories.ResidentFactory(household=household_a, name="王芳")
    client = as_user(worker_a.user)
    page = client.get(VISIT_CREATE).content.decode()
    assert 'name="q"' in page and "<option" not in page and 'name="visited_at"' not in page
    with django_assert_max_num_queries(12):
        found = client.get(VISIT_CREATE, {"q": "1234"}).content.decode()  # 张焱's phone tail
    assert found.count(f'href="?household={household_a.pk}"') == 1 and "张焱" in found
    by_address = client.get(VISIT_CREATE, {"q": "张"}).content.decode()
    assert f'href="?household={household_a.pk}"' in by_address
    other = client.get(VISIT_CREATE, {"q": "李娜"}).content.decode()  # a resident of another community
    assert f"?household={resident_b.household_id}" not in other and "list-group-item-action" not in other
    form = client.get(f"{VISIT_CREATE}?household={household_a.pk}").content.decode()
    assert 'name="visited_at"' in form and f'name="household" value="{household_a.pk}"' in form
    # Another community's household by id: back to the search.
    assert (
        'name="visited_at"'
        not in client.get(VISIT_CREATE, {"household": resident_b.household_id}).content.decode()
    )


def test_visit_create_needs_a_worker_profile_and_the_permission(as_user, head_a, resident_user_a):
    assert as_user(head_a).get(VISIT_CREATE).status_code == 403  # a head has add_visit but walks no buildings
    assert as_user(resident_user_a).get(VISIT_CREATE).status_code == 403


def test_visit_raises_proactive_request_routed_to_responsible_worker(
    as_user, walker, worker_a, household_a, medicine, django_capture_on_commit_callbacks
):
    client = as_user(walker.user)
    data = payload(
        household_a,
        [
            {"category": medicine.pk, "title": "代开降压药", "description": "每天一片", "urgency": "urgent"},
            {"category": "", "title": "", "description": "ignored: no title"},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(VISIT_CREATE, data)
    visit = Visit.objects.get()
    assert response.status_code == 302 and response.url == visit.get_absolute_url()
    assert (visit.worker, visit.household, visit.building, visit.community) == (
        walker,
        household_a,
        household_a.building,
        household_a.building.community,
    )
    assert (visit.met, visit.found, visit.action) == ("张焱本人", "血压药快吃完了", "约好明天代开药")
    service_request = ServiceRequest.objects.get()
    assert service_request.channel == Channel.VISIT
    assert service_request.source_visit == visit
    assert service_request.household == household_a and service_request.building == household_a.building
    assert service_request.assignee == worker_a  # 包片: the worker responsible for the building
    assert service_request.category == medicine and service_request.urgency == "urgent"
    assert service_request.title == "代开降压药" and service_request.created_by == walker.user
    assert service_request.received_at == visit.visited_at
    assert list(RequestEvent.objects.filter(request=service_request).values_list("kind", flat=True)) == [
        EventKind.CREATED,
        EventKind.ASSIGNED,
    ]
    assert worker_a.user.notifications.count() == 1
    page = client.get(response.url)
    assert service_request.reference in page.content.decode()
    assert service_request.reference in [str(m) for m in page.context["messages"]][0]


def test_row_with_title_but_no_category_saves_nothing(as_user, worker_a, household_a, medicine):
    data = payload(
        household_a, [{"category": medicine.pk, "title": "代开药"}, {"category": "", "title": "楼道灯坏了"}]
    )
    response = as_user(worker_a.user).post(VISIT_CREATE, data)
    assert response.status_code == 200
    assert response.context["formset"].forms[1].errors["category"]
    assert Visit.objects.count() == 0 and ServiceRequest.objects.count() == 0


def test_service_is_all_or_nothing(worker_a, household_a, medicine):
    with pytest.raises(ValidationError):
        visit_create(
            actor=worker_a.user,
            worker=worker_a,
            household=household_a,
            visited_at=timezone.now(),
            raise_requests=[{"category": medicine, "title": "ok"}, {"category": medicine, "title": ""}],
        )
    assert Visit.objects.count() == 0 and ServiceRequest.objects.count() == 0


def test_visit_in_the_future_is_refused(as_user, worker_a, household_a):
    response = as_user(worker_a.user).post(
        VISIT_CREATE, payload(household_a, visited_at=local_minute(dt.timedelta(days=1)))
    )
    assert response.status_code == 200 and response.context["form"].errors["visited_at"]
    assert Visit.objects.count() == 0


def test_household_of_other_community_is_refused(as_user, worker_a, household_b):
    response = as_user(worker_a.user).post(VISIT_CREATE, payload(household_b))
    assert response.status_code == 200 and response.context["form"].errors["household"]
    assert Visit.objects.count() == 0


def test_double_submit_creates_one_visit(as_user, worker_a, household_a, medicine):
    client = as_user(worker_a.user)
    data = payload(household_a, [{"category": medicine.pk, "title": "代开药"}], key=uuid.uuid4())
    first = client.post(VISIT_CREATE, data)
    second = client.post(VISIT_CREATE, data)
    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert Visit.objects.count() == 1 and ServiceRequest.objects.count() == 1


def test_visit_key_of_another_community_is_refused(worker_a, worker_b, household_a, household_b):
    key = uuid.uuid4()
    now = timezone.now()
    visit_create(
        actor=worker_b.user, worker=worker_b, household=household_b, visited_at=now, submission_key=key
    )
    with pytest.raises(ValidationError):  # a replayed form, not a double tap: not the other's visit back
        visit_create(
            actor=worker_a.user, worker=worker_a, household=household_a, visited_at=now, submission_key=key
        )
    assert not Visit.objects.filter(worker=worker_a).exists()


# Visit detail, log and the household fragment ----------------------------------------------------------------


@pytest.fixture
def visit_a(worker_a, household_a, medicine):
    visit, _raised = visit_create(
        actor=worker_a.user,
        worker=worker_a,
        household=household_a,
        visited_at=timezone.now() - dt.timedelta(days=1),
        found="漏水",
        raise_requests=[{"category": medicine, "title": "代开药一次"}],
    )
    return visit


def test_visit_detail_links_raised_requests(as_user, worker_a, visit_a):
    response = as_user(worker_a.user).get(visit_a.get_absolute_url())
    assert response.status_code == 200
    raised = visit_a.raised_requests.get()
    assert reverse("stations:request_detail", args=[raised.pk]) in response.content.decode()
    assert "安华里社区 ·" in response.content.decode()  # which community's "1号楼", for subdistrict staff


def test_visit_detail_and_activity_404_for_other_community(as_user, worker_b, visit_a, household_a):
    client = as_user(worker_b.user)
    assert client.get(visit_a.get_absolute_url()).status_code == 404
    assert client.get(reverse("stations:household_activity", args=[household_a.pk])).status_code == 404


def test_visit_pages_need_view_permission(as_user, resident_user_a, visit_a, household_a):
    client = as_user(resident_user_a)
    assert client.get(visit_a.get_absolute_url()).status_code == 403
    assert client.get(VISIT_LIST).status_code == 403
    assert client.get(reverse("stations:household_activity", args=[household_a.pk])).status_code == 403


def test_household_activity_lists_requests_and_visits(as_user, head_a, visit_a, household_a):
    url = reverse("stations:household_activity", args=[household_a.pk])
    client = as_user(head_a)
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert visit_a.raised_requests.get().reference in body and "漏水" in body
    assert client.post(url).status_code == 405


def test_household_activity_constant_queries(as_user, worker_a, household_a, medicine):
    client = as_user(worker_a.user)
    url = reverse("stations:household_activity", args=[household_a.pk])
    visit_create(
        actor=worker_a.user,
        worker=worker_a,
        household=household_a,
        visited_at=timezone.now(),
        raise_requests=[{"category": medicine, "title": "t"}],
    )
    few = count_queries(client, url)
    for _ in range(10):
        visit_create(
            actor=worker_a.user,
            worker=worker_a,
            household=household_a,
            visited_at=timezone.now(),
            raise_requests=[{"category": medicine, "title": "t"}],
        )
    assert count_queries(client, url) == few


def test_household_file_loads_activity_lazily(as_user, head_a, household_a):
    response = as_user(head_a).get(household_a.get_absolute_url())
    assert reverse("stations:household_activity", args=[household_a.pk]) in response.content.decode()


def test_visit_list_defaults_to_mine_and_filters(as_user, worker_a, walker, household_a, visit_a):
    other, _ = visit_create(
        actor=walker.user,
        worker=walker,
        household=household_a,
        visited_at=timezone.now(),
        found="其他社工的走访",
    )
    client = as_user(worker_a.user)
    mine = client.get(VISIT_LIST)
    assert list(mine.context["page"]) == [visit_a]
    everybody = client.get(f"{VISIT_LIST}?worker=all")
    assert list(everybody.context["page"]) == [other, visit_a]  # newest first
    by_walker = client.get(f"{VISIT_LIST}?worker={walker.pk}")
    assert list(by_walker.context["page"]) == [other]
    by_household = client.get(f"{VISIT_LIST}?household={household_a.pk}")  # everybody's visits by default
    assert (
        list(by_household.context["page"]) == [other, visit_a]
        and by_household.context["household"] == household_a
    )
    other_household = factories.HouseholdFactory(building=household_a.building)
    assert list(client.get(f"{VISIT_LIST}?worker=all&household={other_household.pk}").context["page"]) == []
    partial = client.get(f"{VISIT_LIST}?worker=all", headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and visit_a.get_absolute_url() in partial.content.decode()


def test_visit_list_is_scoped(as_user, worker_b, visit_a):
    assert list(as_user(worker_b.user).get(f"{VISIT_LIST}?worker=all").context["page"]) == []


def test_visit_list_constant_queries(as_user, worker_a, building_a, medicine):
    client = as_user(worker_a.user)

    def add(n):
        for _ in range(n):
            household = factories.HouseholdFactory(building=building_a)
            visit_create(
                actor=worker_a.user,
                worker=worker_a,
                household=household,
                visited_at=timezone.now(),
                raise_requests=[{"category": medicine, "title": "t"}],
            )

    add(5)
    five = count_queries(client, VISIT_LIST)
    add(45)
    assert count_queries(client, VISIT_LIST) == five


# The proactive list (未诉先办) ---------------------------------------------------------------------------------


@pytest.fixture
def weekly_tag(db):
    return factories.CareTagFactory(code="elderly-alone", name="独居老人", visit_cadence_days=7)


def test_care_tagged_resident_due_a_visit(as_user, worker_a, resident_a, household_a, weekly_tag):
    resident_a.care_tags.add(weekly_tag)
    client = as_user(worker_a.user)
    rows = list(client.get(PROACTIVE).context["page"])
    assert rows == [resident_a] and rows[0].last_visit is None and rows[0].days_overdue is None

    visit, _ = visit_create(
        actor=worker_a.user, worker=worker_a, household=household_a, visited_at=timezone.now()
    )
    assert list(client.get(PROACTIVE).context["page"]) == []

    Visit.objects.filter(pk=visit.pk).update(visited_at=timezone.now() - dt.timedelta(days=10))
    rows = list(client.get(PROACTIVE).context["page"])
    assert rows == [resident_a] and rows[0].cadence == 7 and rows[0].days_overdue == 3
    assert f"{VISIT_CREATE}?household={household_a.pk}" in client.get(PROACTIVE).content.decode()


def test_smallest_cadence_counts_and_untagged_are_ignored(
    as_user, worker_a, resident_a, household_a, weekly_tag
):
    monthly = factories.CareTagFactory(code="disabled", name="残疾人", visit_cadence_days=30)
    no_cadence = factories.CareTagFactory(code="low-income", name="低保", visit_cadence_days=None)
    resident_a.care_tags.add(weekly_tag, monthly)
    only_monthly = factories.ResidentFactory(
        household=factories.HouseholdFactory(building=household_a.building)
    )
    only_monthly.care_tags.add(monthly, no_cadence)
    factories.ResidentFactory(household=household_a)  # untagged member of the same household
    visit_create(
        actor=worker_a.user,
        worker=worker_a,
        household=household_a,
        visited_at=timezone.now() - dt.timedelta(days=10),
    )
    visit_create(
        actor=worker_a.user,
        worker=worker_a,
        household=only_monthly.household,
        visited_at=timezone.now() - dt.timedelta(days=10),
    )
    rows = list(as_user(worker_a.user).get(PROACTIVE).context["page"])
    assert rows == [resident_a]  # 10 days > 7 (smallest of 7 and 30); the monthly one is not due yet


def test_my_buildings_first_and_filter(as_user, community_a, worker_a, resident_a, weekly_tag):
    elsewhere = factories.BuildingFactory(community=community_a, number="8号楼")
    far = factories.ResidentFactory(household=factories.HouseholdFactory(building=elsewhere), name="王芳")
    far.care_tags.add(weekly_tag)
    resident_a.care_tags.add(weekly_tag)
    client = as_user(worker_a.user)
    rows = list(client.get(PROACTIVE).context["page"])
    assert rows[0] == resident_a and rows[0].mine and set(rows) == {resident_a, far}
    assert list(client.get(f"{PROACTIVE}?mine=1").context["page"]) == [resident_a]


def test_the_two_step_list_is_visits_overdue_row_for_row(
    community_a, worker_a, head_a, resident_a, weekly_tag
):
    """The proactive page reads visits_overdue_list (ids first, then the rows): the same residents, in the
    same order, with the same annotations as visits_overdue, for a worker (mine first, mine only) and a head."""
    from stations.selectors.visits import visits_overdue, visits_overdue_list

    monthly = factories.CareTagFactory(code="disabled", name="残疾人", visit_cadence_days=30)
    elsewhere = factories.BuildingFactory(community=community_a, number="8号楼")
    resident_a.care_tags.add(weekly_tag)
    for n in range(6):
        household = factories.HouseholdFactory(building=elsewhere, room=f"{n + 1}01")
        resident = factories.ResidentFactory(household=household, name=f"居民{n}")
        resident.care_tags.add(weekly_tag if n % 2 else monthly)
        if n % 3:
            Visit.objects.create(
                community=community_a,
                household=household,
                building=elsewhere,
                worker=worker_a,
                visited_at=timezone.now() - dt.timedelta(days=9 + 10 * n),
            )
    # Several tags: the smallest cadence counts; a tag without a cadence and a resident without a home
    # put nobody on the list.
    no_cadence = factories.CareTagFactory(code="party", name="党员", visit_cadence_days=None)
    both = factories.ResidentFactory(household=factories.HouseholdFactory(building=elsewhere, room="901"))
    both.care_tags.add(weekly_tag, monthly, no_cadence)
    Visit.objects.create(
        community=community_a,
        household=both.household,
        building=elsewhere,
        worker=worker_a,
        visited_at=timezone.now() - dt.timedelta(days=10),  # lapsed for the weekly tag, not the monthly
    )
    factories.ResidentFactory(
        household=factories.HouseholdFactory(building=elsewhere, room="902")
    ).care_tags.add(no_cadence)
    factories.ResidentFactory(household=None, name="无住址").care_tags.add(weekly_tag)
    now = timezone.now()
    for user, kwargs in (
        (worker_a.user, {"worker": worker_a}),
        (worker_a.user, {"worker": worker_a, "mine_only": True}),
        (head_a, {}),
    ):
        expected = list(visits_overdue(user, now=now, **kwargs))
        rows = list(visits_overdue_list(user, now=now, **kwargs))
        assert rows == expected and len(rows) >= 1
        if "mine_only" not in kwargs:  # 8号楼 is not worker_a's
            assert both in rows and rows[rows.index(both)].cadence == 7
        assert [(r.cadence, r.last_visit, r.due_at, getattr(r, "mine", None)) for r in rows] == [
            (r.cadence, r.last_visit, r.due_at, getattr(r, "mine", None)) for r in expected
        ]
        paged = visits_overdue_list(user, now=now, **kwargs)
        assert paged[2:4] == expected[2:4] and paged[-1] == expected[-1] and len(paged) == len(expected)


def test_proactive_list_is_scoped_and_needs_permission(
    as_user, worker_b, resident_user_a, resident_a, weekly_tag
):
    resident_a.care_tags.add(weekly_tag)
    assert list(as_user(worker_b.user).get(PROACTIVE).context["page"]) == []
    assert as_user(resident_user_a).get(PROACTIVE).status_code == 403


def _requests(n, *, actor, community, category, building):
    for i in range(n):
        service_request_create(
            actor=actor,
            community=community,
            category=category,
            title=f"垃圾 {i}",
            building=building,
            channel=Channel.PHONE,
        )


def test_recurring_category_in_a_building(as_user, head_a, worker_a, community_a, building_a, medicine):
    rubbish = Category.objects.get(community=community_a, name="垃圾清运")
    _requests(2, actor=head_a, community=community_a, category=rubbish, building=building_a)
    client = as_user(worker_a.user)
    assert list(client.get(f"{PROACTIVE}?view=hotspots").context["page"]) == []
    rows = list(client.get(f"{PROACTIVE}?view=hotspots&min=2").context["page"])
    assert [(r["building"], r["category"], r["n"]) for r in rows] == [(building_a.pk, rubbish.pk, 2)]

    _requests(1, actor=head_a, community=community_a, category=rubbish, building=building_a)
    old = ServiceRequest.objects.create(  # outside the 30 days: does not count
        community=community_a,
        reference="AHL-OLD-1",
        category=rubbish,
        building=building_a,
        title="旧",
        created_by=head_a,
        received_at=timezone.now() - dt.timedelta(days=40),
        response_due_at=timezone.now() - dt.timedelta(days=39),
        resolution_due_at=timezone.now(),
        status=Status.CLOSED,
    )
    response = client.get(f"{PROACTIVE}?view=hotspots")
    rows = list(response.context["page"])
    assert [(r["building"], r["category"], r["n"]) for r in rows] == [(building_a.pk, rubbish.pk, 3)]
    body = response.content.decode()
    assert (
        f"{reverse('stations:request_create')}?category={rubbish.pk}&amp;building={building_a.pk}"
        "&amp;channel=proactive" in body
    )
    assert old.pk


def test_hotspot_min_is_bounded(as_user, worker_a):
    response = as_user(worker_a.user).get(f"{PROACTIVE}?view=hotspots&min=1")
    assert response.status_code == 200 and response.context["min_count"] == 3
    assert response.context["form"].errors["min"]


def test_hotspots_are_scoped(as_user, head_a, worker_b, community_a, building_a, medicine):
    _requests(3, actor=head_a, community=community_a, category=medicine, building=building_a)
    assert list(as_user(worker_b.user).get(f"{PROACTIVE}?view=hotspots").context["page"]) == []


def test_proactive_lists_constant_queries(
    as_user, head_a, worker_a, community_a, building_a, weekly_tag, medicine
):
    client = as_user(worker_a.user)
    categories = list(Category.objects.filter(community=community_a, parent__isnull=False))

    def add(n, start):
        for i in range(start, start + n):
            resident = factories.ResidentFactory(household=factories.HouseholdFactory(building=building_a))
            resident.care_tags.add(weekly_tag)
            building = factories.BuildingFactory(community=community_a, number=f"B{i}")
            _requests(
                2,
                actor=head_a,
                community=community_a,
                category=categories[i % len(categories)],
                building=building,
            )

    add(5, 0)
    care, hotspots = (
        count_queries(client, PROACTIVE),
        count_queries(client, f"{PROACTIVE}?view=hotspots&min=2"),
    )
    add(45, 5)
    assert count_queries(client, PROACTIVE) == care
    assert count_queries(client, f"{PROACTIVE}?view=hotspots&min=2") == hotspots
