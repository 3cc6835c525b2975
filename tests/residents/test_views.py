"""Registry pages: each page for each role, scoping (404 across communities), writes, query counts."""

import pytest
from django.urls import reverse

from residents.models import Household, PersonalDataAccess, Resident
from residents.selectors import home_address
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def enterprise_a(community_a):
    office = factories.BuildingFactory(community=community_a, number="写字楼A", kind="office")
    return factories.EnterpriseFactory(building=office)


def object_urls(resident, household, building, community):
    """Every registry URL that takes an id, with the objects of one community."""
    return [
        reverse("residents:resident_detail", args=[resident.pk]),
        reverse("residents:resident_update", args=[resident.pk]),
        reverse("residents:household_detail", args=[household.pk]),
        reverse("residents:household_update", args=[household.pk]),
        reverse("residents:building_detail", args=[building.pk]),
        reverse("residents:community_detail", args=[community.pk]),
    ]


class TestPagesByRole:
    def test_worker_sees_every_page_of_own_community(
        self, as_user, worker_a, resident_a, household_a, building_a, community_a
    ):
        client = as_user(worker_a.user)
        for url in object_urls(resident_a, household_a, building_a, community_a) + [
            reverse("home"),
            reverse("residents:resident_list"),
            reverse("residents:building_list"),
            reverse("residents:resident_create"),
            reverse("residents:household_create"),
            reverse("stations:worker_list"),
            reverse("stations:worker_detail", args=[worker_a.pk]),
        ]:
            assert client.get(url).status_code == 200, url

    def test_other_community_gets_404_for_every_id_url(
        self, as_user, worker_b, resident_a, household_a, building_a, community_a, worker_a
    ):
        client = as_user(worker_b.user)
        urls = object_urls(resident_a, household_a, building_a, community_a) + [
            reverse("stations:worker_detail", args=[worker_a.pk])
        ]
        for url in urls:
            assert client.get(url).status_code == 404, url
        response = client.post(
            reverse("residents:resident_reveal", args=[resident_a.pk, "phone"]), {"reason": "test"}
        )
        assert response.status_code in (403, 404)
        assert not PersonalDataAccess.objects.exists()

    def test_head_sees_community_and_access_log(
        self, as_user, head_a, resident_a, household_a, building_a, community_a
    ):
        client = as_user(head_a)
        for url in object_urls(resident_a, household_a, building_a, community_a) + [
            reverse("home"),
            reverse("residents:access_log"),
        ]:
            assert client.get(url).status_code == 200, url

    def test_subdistrict_staff_read_only(self, as_user, subdistrict_a, resident_a, community_a):
        client = as_user(subdistrict_a)
        assert client.get(reverse("residents:resident_detail", args=[resident_a.pk])).status_code == 200
        assert client.get(reverse("residents:resident_update", args=[resident_a.pk])).status_code == 403
        assert client.get(reverse("residents:community_detail", args=[community_a.pk])).status_code == 200

    def test_resident_user_sees_only_own_home(self, as_user, resident_user_a, resident_a, household_a):
        client = as_user(resident_user_a)
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert "138****1234" in response.content.decode()
        assert client.get(reverse("residents:resident_list")).status_code == 403
        assert client.get(reverse("residents:resident_detail", args=[resident_a.pk])).status_code == 403
        assert client.get(reverse("residents:household_detail", args=[household_a.pk])).status_code == 403

    def test_anonymous_is_sent_to_login(self, client, resident_a):
        response = client.get(reverse("residents:resident_detail", args=[resident_a.pk]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


class TestDirectory:
    def test_search_masks_phone_and_filters(self, as_user, worker_a, resident_a, resident_b):
        client = as_user(worker_a.user)
        response = client.get(reverse("residents:resident_list"), {"q": "zy"})
        body = response.content.decode()
        assert "张焱" in body
        assert "138****1234" in body
        assert "13812341234" not in body
        assert "李娜" not in body  # community B

    def test_htmx_returns_only_results(self, as_user, worker_a, resident_a):
        client = as_user(worker_a.user)
        response = client.get(
            reverse("residents:resident_list"), {"q": "1234"}, headers={"HX-Request": "true"}
        )
        body = response.content.decode()
        assert "张焱" in body
        assert "<html" not in body

    def test_filter_by_care_tag(self, as_user, worker_a, resident_a, household_a):
        tag = factories.CareTagFactory()
        other = factories.ResidentFactory(household=household_a, name="王芳")
        other.care_tags.add(tag)
        client = as_user(worker_a.user)
        body = client.get(reverse("residents:resident_list"), {"tag": tag.pk}).content.decode()
        assert "王芳" in body and "张焱" not in body

    @pytest.mark.parametrize("count", [5, 50])
    def test_query_count_is_constant(self, as_user, worker_a, household_a, django_assert_num_queries, count):
        tag = factories.CareTagFactory()
        for _ in range(count):
            factories.ResidentFactory(household=household_a).care_tags.add(tag)
        client = as_user(worker_a.user)
        client.get(reverse("residents:resident_list"))  # warm the session/user caches
        # session, user with membership (the scope) and permissions (joined and read as a subquery by
        # community.lib.auth), count, buildings and tags for the filters, the page, its care tags
        with django_assert_num_queries(7):
            response = client.get(reverse("residents:resident_list"))
        assert response.status_code == 200

    def test_paginated(self, as_user, worker_a, household_a):
        for _ in range(30):
            factories.ResidentFactory(household=household_a)
        client = as_user(worker_a.user)
        first = client.get(reverse("residents:resident_list"))
        assert len(first.context["page"].object_list) == 25
        second = client.get(reverse("residents:resident_list"), {"page": 2})
        assert len(second.context["page"].object_list) == 5
        assert client.get(reverse("residents:resident_list"), {"page": "junk"}).status_code == 200


class TestResidentWrites:
    def test_create_normalises_and_redirects(self, as_user, worker_a, household_a):
        client = as_user(worker_a.user)
        id_number = factories.make_id_number(7)
        response = client.post(
            reverse("residents:resident_create"),
            {
                "name": " 阿依古丽·买买提 ",
                "gender": "unknown",
                "phone": "１３８ ００００ ０１２３",
                "id_number": id_number[:-1] + id_number[-1].lower(),
                "household": home_address(household_a),
                "relation": "head",
                "legal_basis": "statutory",
            },
        )
        resident = Resident.objects.get(name="阿依古丽·买买提")
        assert response.status_code == 302 and response["Location"] == resident.get_absolute_url()
        assert resident.phone == "13800000123"
        assert resident.id_number == id_number
        assert resident.community == worker_a.community

    def test_bad_input_shows_errors_and_saves_nothing(self, as_user, worker_a):
        client = as_user(worker_a.user)
        response = client.post(
            reverse("residents:resident_create"),
            {
                "name": "王\u202e五",
                "gender": "male",
                "phone": "12345",
                "id_number": "110105195003150011",
                "relation": "head",
                "legal_basis": "statutory",
            },
        )
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert set(errors) >= {"name", "phone", "id_number"}
        assert not Resident.objects.exists()

    def test_household_of_other_community_not_offered(self, as_user, worker_a, household_b):
        client = as_user(worker_a.user)
        response = client.post(
            reverse("residents:resident_create"),
            {
                "name": "王五",
                "gender": "male",
                "household": home_address(household_b),
                "relation": "head",
                "legal_basis": "statutory",
            },
        )
        assert "household" in response.context["form"].errors
        assert not Resident.objects.filter(name="王五").exists()

    def test_edit_keeps_numbers_when_blank(self, as_user, worker_a, resident_a):
        client = as_user(worker_a.user)
        page = client.get(reverse("residents:resident_update", args=[resident_a.pk])).content.decode()
        assert "13812341234" not in page  # the stored number is never put back into the form
        response = client.post(
            reverse("residents:resident_update", args=[resident_a.pk]),
            {
                "version": resident_a.updated_at.isoformat(),
                "name": "张焱",
                "gender": "female",
                "relation": "head",
                "legal_basis": "statutory",
                "notes": "行动不便",
                "household": home_address(resident_a.household),
            },
        )
        assert response.status_code == 302
        resident_a.refresh_from_db()
        assert resident_a.phone == "13812341234"
        assert resident_a.notes == "行动不便"

    def test_second_editor_is_told(self, as_user, worker_a, resident_a):
        client = as_user(worker_a.user)
        stale = resident_a.updated_at.isoformat()
        url = reverse("residents:resident_update", args=[resident_a.pk])
        data = {
            "name": "张焱",
            "gender": "female",
            "relation": "head",
            "household": home_address(resident_a.household),
            "legal_basis": "statutory",
        }
        assert client.post(url, {**data, "version": stale, "notes": "first"}).status_code == 302
        response = client.post(url, {**data, "version": stale, "notes": "second"}, follow=True)
        resident_a.refresh_from_db()
        assert resident_a.notes == "first"
        assert (
            "Someone else changed" in response.content.decode()
            or "其他人" in response.content.decode()
            or response.context["messages"]
        )

    def test_update_rejects_get_for_reveal(self, as_user, head_a, resident_a):
        client = as_user(head_a)
        assert (
            client.get(reverse("residents:resident_reveal", args=[resident_a.pk, "phone"])).status_code == 405
        )


class TestReveal:
    def test_head_reveals_and_it_is_logged(self, as_user, head_a, resident_a):
        client = as_user(head_a)
        response = client.post(
            reverse("residents:resident_reveal", args=[resident_a.pk, "phone"]),
            {"reason": "回访电话"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert "13812341234" in response.content.decode()
        access = PersonalDataAccess.objects.get()
        assert (access.actor, access.resident, access.field, access.reason, access.ip_address) == (
            head_a,
            resident_a,
            "phone",
            "回访电话",
            "127.0.0.1",
        )

    def test_worker_without_permission_cannot_reveal(self, as_user, worker_a, resident_a):
        client = as_user(worker_a.user)
        response = client.post(
            reverse("residents:resident_reveal", args=[resident_a.pk, "phone"]), {"reason": "x1"}
        )
        assert response.status_code == 403
        assert not PersonalDataAccess.objects.exists()

    def test_reason_required(self, as_user, head_a, resident_a):
        client = as_user(head_a)
        response = client.post(
            reverse("residents:resident_reveal", args=[resident_a.pk, "id_number"]), {"reason": ""}
        )
        assert response.status_code == 422
        assert not PersonalDataAccess.objects.exists()
        assert resident_a.id_number not in response.content.decode()

    def test_detail_masks_by_default(self, as_user, head_a, resident_a):
        body = (
            as_user(head_a).get(reverse("residents:resident_detail", args=[resident_a.pk])).content.decode()
        )
        assert resident_a.phone not in body and resident_a.id_number not in body
        assert resident_a.masked_phone in body and resident_a.masked_id_number in body


class TestHouseholds:
    def test_create_duplicate_dwelling_rejected(self, as_user, worker_a, household_a):
        client = as_user(worker_a.user)
        response = client.post(
            reverse("residents:household_create"),
            {"building": household_a.building_id, "entrance": household_a.entrance, "room": household_a.room},
        )
        assert response.status_code == 200
        assert "room" in response.context["form"].errors
        assert Household.objects.count() == 1

    def test_double_submit_creates_one(self, as_user, worker_a, building_a):
        client = as_user(worker_a.user)
        data = {"building": building_a.pk, "entrance": 1, "room": "502"}
        client.post(reverse("residents:household_create"), data)
        client.post(reverse("residents:household_create"), data)
        assert Household.objects.filter(building=building_a, room="502").count() == 1

    def test_building_page_groups_by_entrance(self, as_user, worker_a, household_a, building_a):
        factories.HouseholdFactory(building=building_a, entrance=1, room="101")
        response = as_user(worker_a.user).get(reverse("residents:building_detail", args=[building_a.pk]))
        assert [e for e, _ in response.context["entrances"]] == [1, 2]
        assert worker_a in list(response.context["workers"])

    def test_household_file_lists_members_masked(self, as_user, worker_a, resident_a, household_a):
        body = (
            as_user(worker_a.user)
            .get(reverse("residents:household_detail", args=[household_a.pk]))
            .content.decode()
        )
        assert "张焱" in body and "138****1234" in body and "13812341234" not in body
        # The breadcrumb starts at the community: subdistrict staff see a dozen "1号楼".
        community = reverse("residents:community_detail", args=[household_a.building.community_id])
        assert f'<li class="breadcrumb-item"><a href="{community}">安华里社区</a></li>' in body
