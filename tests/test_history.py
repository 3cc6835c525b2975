"""The history of changes (issue #7): who changed what on a resident, household, request or booking,
readable by the committee head only, scoped to their community, numbers always masked, and pages
with a constant number of queries."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from community.lib.history import entries_for
from residents.models import Resident
from residents.selectors import home_address
from stations.choices import BookingStatus, Role, Status
from stations.models import Booking, Category, RecurringErrand, ServiceRequest, Space
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from stations.services.visits import create_due_errands
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def head_b(community_b):
    return factories.make_member(role=Role.HEAD, community=community_b, username="head_b")


@pytest.fixture
def medicine(community_a):
    categories_seed(community=community_a)
    return Category.objects.get(community=community_a, name="代开药")


@pytest.fixture
def sr(worker_a, community_a, medicine, resident_a):
    service_request, _created = service_request_create(
        actor=worker_a.user,
        community=community_a,
        category=medicine,
        title="帮忙开降压药",
        requester=resident_a,
        contact_name="张焱",
        contact_phone="13812341234",
        assignee=worker_a,
    )
    return service_request


@pytest.fixture
def booking(community_a, resident_a, resident_user_a):
    space = Space.objects.create(community=community_a, name="议事厅", capacity=20, area_m2=60)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    return Booking.objects.create(
        space=space,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        resident=resident_a,
        booked_by=resident_user_a,
        status=BookingStatus.PENDING,
        purpose="楼门议事",
    )


def edit_resident(client, resident: Resident, **changes):
    data = {
        "version": resident.updated_at.isoformat(),
        "name": resident.name,
        "gender": resident.gender,
        "relation": resident.relation,
        "household": home_address(resident.household) if resident.household else "",
        "notes": resident.notes,
        "legal_basis": resident.legal_basis,
        **changes,
    }
    response = client.post(reverse("residents:resident_update", args=[resident.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    resident.refresh_from_db()


def history_urls(resident, household, service_request, booking) -> list[str]:
    return [
        reverse("residents:resident_history", args=[resident.pk]),
        reverse("residents:household_history", args=[household.pk]),
        reverse("stations:request_history", args=[service_request.pk]),
        reverse("stations:booking_history", args=[booking.pk]),
    ]


# --- what the head sees ----------------------------------------------------------------------------


def test_head_sees_a_workers_phone_change_masked_with_the_workers_name(as_user, worker_a, head_a, resident_a):
    edit_resident(as_user(worker_a.user), resident_a, phone="139 0000 5678", notes="行动不便")
    assert resident_a.phone == "13900005678"
    latest = resident_a.history.first()
    assert (latest.history_type, latest.history_user) == ("~", worker_a.user)

    response = as_user(head_a).get(reverse("residents:resident_history", args=[resident_a.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "138****1234 → 139****5678" in html
    assert "— → 行动不便" in html
    assert "worker_a" in html  # the worker's name (no full name: their login)
    # Never a number in clear, not even the ID number shown in the "created" entry.
    for number in ("13812341234", "13900005678", resident_a.id_number):
        assert number not in html
    assert resident_a.id_number[:3] + "*" in html
    assert "<table" not in html  # stacked entries: readable at 390 px


def test_entries_are_newest_first_with_type_and_reason(as_user, worker_a, head_a, resident_a):
    edit_resident(as_user(worker_a.user), resident_a, notes="第一次")
    resident_a._change_reason = "户籍核对"
    resident_a.notes = "第二次"
    resident_a.save()
    entries = (
        as_user(head_a).get(reverse("residents:resident_history", args=[resident_a.pk])).context["entries"]
    )
    assert [e.kind for e in entries] == ["~", "~", "+"]
    assert entries[0].reason == "户籍核对" and entries[0].user is None
    assert [(c.name, c.old, c.new) for c in entries[0].changes] == [("notes", "第一次", "第二次")]
    assert entries[1].user == worker_a.user
    created = {c.name: c.new for c in entries[2].changes}
    assert created["name"] == "张焱" and created["household"] == str(resident_a.household)


def test_household_change_shows_the_household_by_name(as_user, head_a, resident_a, building_a):
    other = factories.HouseholdFactory(building=building_a, entrance=3, room="502")
    old = resident_a.household
    resident_a.household = other
    resident_a.save()
    html = as_user(head_a).get(reverse("residents:resident_history", args=[resident_a.pk])).content.decode()
    assert f"{old} → {other}" in html


def test_household_room_change_appears(as_user, worker_a, head_a, household_a):
    response = as_user(worker_a.user).post(
        reverse("residents:household_update", args=[household_a.pk]),
        {"version": household_a.updated_at.isoformat(), "entrance": 2, "room": "302", "notes": "独居"},
    )
    assert response.status_code == 302
    response = as_user(head_a).get(reverse("residents:household_history", args=[household_a.pk]))
    html = response.content.decode()
    assert "301 → 302" in html and "— → 独居" in html
    assert response.context["entries"][0].user == worker_a.user


def test_request_status_change_appears(as_user, worker_a, head_a, sr):
    response = as_user(worker_a.user).post(
        reverse("stations:request_transition", args=[sr.pk]), {"to_status": "accepted", "version": sr.version}
    )
    assert response.status_code == 302
    response = as_user(head_a).get(reverse("stations:request_history", args=[sr.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    with translation.override("zh-hans"):
        assert f"{Status.NEW.label} → {Status.ACCEPTED.label}" in html
    change = response.context["entries"][0]
    assert change.user == worker_a.user
    assert "version" not in {c.name for c in change.changes}  # bookkeeping is not shown
    assert "13812341234" not in html and "138****1234" in html  # contact phone masked


def test_booking_decision_appears(as_user, head_a, booking):
    response = as_user(head_a).post(reverse("stations:booking_decide", args=[booking.pk]), {"approve": "1"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    response = as_user(head_a).get(reverse("stations:booking_history", args=[booking.pk]))
    html = response.content.decode()
    with translation.override("zh-hans"):
        assert f"{BookingStatus.PENDING.label} → {BookingStatus.CONFIRMED.label}" in html
    assert "head_a" in html  # decided by, and who made the change


def test_history_links_only_for_the_head(as_user, worker_a, head_a, resident_a, household_a, sr):
    pages = {
        reverse("residents:resident_detail", args=[resident_a.pk]): reverse(
            "residents:resident_history", args=[resident_a.pk]
        ),
        reverse("residents:household_detail", args=[household_a.pk]): reverse(
            "residents:household_history", args=[household_a.pk]
        ),
        reverse("stations:request_detail", args=[sr.pk]): reverse("stations:request_history", args=[sr.pk]),
    }
    for page, link in pages.items():
        assert link in as_user(head_a).get(page).content.decode(), page
        assert link not in as_user(worker_a.user).get(page).content.decode(), page


def test_booking_history_link_on_approvals(as_user, worker_a, head_a, booking):
    link = reverse("stations:booking_history", args=[booking.pk])
    assert link in as_user(head_a).get(reverse("stations:approval_list")).content.decode()
    assert link not in as_user(worker_a.user).get(reverse("stations:approval_list")).content.decode()


# --- who may see it --------------------------------------------------------------------------------


def test_worker_gets_403(as_user, worker_a, resident_a, household_a, sr, booking):
    client = as_user(worker_a.user)
    for url in history_urls(resident_a, household_a, sr, booking):
        assert client.get(url).status_code == 403, url


def test_other_communitys_head_gets_404(as_user, head_b, resident_a, household_a, sr, booking):
    client = as_user(head_b)
    for url in history_urls(resident_a, household_a, sr, booking):
        assert client.get(url).status_code == 404, url


def test_head_sees_every_history_page(as_user, head_a, resident_a, household_a, sr, booking):
    client = as_user(head_a)
    for url in history_urls(resident_a, household_a, sr, booking):
        assert client.get(url).status_code == 200, url


# --- who is recorded -------------------------------------------------------------------------------


def test_request_created_from_cron_names_whoever_set_up_the_errand(
    worker_a, community_a, medicine, resident_a
):
    RecurringErrand.objects.create(
        community=community_a,
        resident=resident_a,
        category=medicine,
        title="每月代开药",
        every_days=30,
        next_due_on=timezone.localdate(),
        created_by=worker_a.user,
    )
    assert create_due_errands() == 1
    created = ServiceRequest.objects.get(errand__isnull=False)
    record = created.history.get()
    assert (record.history_type, record.history_user) == ("+", worker_a.user)


# --- constant queries ------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 20])
def test_resident_history_query_count_is_constant(
    as_user, head_a, worker_a, resident_a, building_a, django_assert_num_queries, count
):
    households = [resident_a.household, factories.HouseholdFactory(building=building_a, room="999")]
    for i in range(count - 1):  # plus the "created" record of the factory
        resident_a.phone = f"139{i:08d}"
        resident_a.household = households[(i + 1) % 2]
        resident_a._history_user = worker_a.user
        resident_a.save()
    assert resident_a.history.count() == count
    client = as_user(head_a)
    url = reverse("residents:resident_history", args=[resident_a.pk])
    # session, user with membership and permissions, the resident (+ care tags), history
    # count, the page of records with their users, the record before the page, and the households named on
    # the page that the resident does not already hold (one query for them all).
    with django_assert_num_queries(8):
        response = client.get(url)
    assert len(response.context["entries"]) == count


@pytest.mark.parametrize("count", [2, 20])
def test_request_history_query_count_is_constant(
    as_user, head_a, worker_a, sr, community_a, django_assert_num_queries, count
):
    other = factories.make_worker(community=community_a, username="worker_a2")
    for i in range(count - 1):
        sr.assignee = other if i % 2 == 0 else worker_a
        sr.urge_count += 1
        sr._history_user = head_a
        sr.save()
    assert sr.history.count() == count
    client = as_user(head_a)
    # As for a resident: the request (+ assisting, photos) instead, and one query for the workers named.
    with django_assert_num_queries(10):
        response = client.get(reverse("stations:request_history", args=[sr.pk]))
    assert len(response.context["entries"]) == count


def test_page_two_diffs_its_oldest_entry_against_the_page_before(as_user, head_a, resident_a, settings):
    settings.PAGE_SIZE = 2
    for notes in ("一", "二", "三"):
        resident_a.notes = notes
        resident_a.save()
    client = as_user(head_a)
    first = client.get(reverse("residents:resident_history", args=[resident_a.pk])).context["entries"]
    second = client.get(reverse("residents:resident_history", args=[resident_a.pk]) + "?page=2").context[
        "entries"
    ]
    assert [(c.old, c.new) for e in first for c in e.changes] == [("二", "三"), ("一", "二")]
    # The last entry of page 2 is the creation; the one before it was diffed against it.
    assert second[0].kind == "~" and [(c.old, c.new) for c in second[0].changes] == [("—", "一")]
    assert second[1].kind == "+"


# --- the helper on its own -------------------------------------------------------------------------


def test_masks_numbers_even_for_the_first_record_known(resident_a):
    records = list(resident_a.history.all())
    rows = entries_for(records)  # no older record: every value is shown as it was set
    values = {c.name: c.new for c in rows[0].changes}
    assert values["phone"] == "138****1234"
    assert "*" in values["id_number"] and resident_a.id_number not in values["id_number"]


def test_deleted_related_row_keeps_its_number(resident_a):
    resident_a.save()  # a "changed" record whose household is the same
    records = list(resident_a.history.all())
    household_pk = resident_a.household_id
    records[0].household_id = household_pk + 1000  # as if it pointed at a household deleted since
    rows = entries_for(records)
    change = {c.name: c for c in rows[0].changes}["household"]
    assert str(household_pk + 1000) in change.new


def test_one_to_one_shows_the_user_by_name(resident_user_a, resident_a):
    rows = entries_for(list(resident_a.history.all()))
    change = {c.name: c for c in rows[0].changes}["user"]
    assert (change.old, change.new) == ("—", "resident_a")
