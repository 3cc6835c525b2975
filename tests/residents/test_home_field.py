"""The resident form's home: typed as an address (3-2-301), never a <select> of every household."""

import pytest
from django.urls import reverse

from residents.models import Resident
from residents.selectors import home_address, homes_at
from tests import factories

pytestmark = pytest.mark.django_db

BASE = {"name": "王五", "gender": "male", "relation": "head", "legal_basis": "statutory"}


@pytest.fixture
def households(community_a, building_a, household_a):
    return household_a.__class__.objects.filter(building__community=community_a)


class TestHomesAt:
    @pytest.mark.parametrize(
        "typed",
        [
            "1号楼-2-301",
            "1-2-301",
            "1号楼2单元301",
            "1号楼2单元301室",
            "1栋2单元301",
            "１-２-３０１",
            " 1 - 2 - 301 ",
        ],
    )
    def test_reads_what_people_type(self, households, household_a, typed):
        assert homes_at(households, typed) == [household_a]

    def test_reads_back_what_the_form_writes_even_with_dashes(self, community_a, households):
        dashed = factories.HouseholdFactory(
            building=factories.BuildingFactory(community=community_a, number="A-1"), entrance=3, room="B-12"
        )
        assert home_address(dashed) == "A-1-3-B-12"
        assert homes_at(households, home_address(dashed)) == [dashed]
        assert homes_at(households, "a-1-3-b-12") == []  # the building's number is matched as written

    def test_room_letters_in_either_case(self, building_a, households):
        home = factories.HouseholdFactory(building=building_a, entrance=1, room="B1")
        assert homes_at(households, "1-1-b1") == [home]

    @pytest.mark.parametrize(
        "typed",
        ["", "   ", "301", "1-2", "1-x-301", "1-٢-301", "1-99999-301", "-", "--", "1-2-301\x00", "-" * 64],
    )
    def test_no_home_for_partial_or_odd_addresses(self, households, typed):
        assert homes_at(households, typed) == []

    def test_two_buildings_that_read_alike_are_both_returned(
        self, community_a, building_a, household_a, households
    ):
        other = factories.HouseholdFactory(
            building=factories.BuildingFactory(community=community_a, number="1栋"), entrance=2, room="301"
        )
        assert set(homes_at(households, "1-2-301")) == {household_a, other}
        assert homes_at(households, "1栋-2-301") == [other]  # as written: only the one

    def test_other_communities_homes_are_not_found(self, households, household_b):
        assert homes_at(households, home_address(household_b)) == []

    def test_one_query(self, households, django_assert_num_queries):
        with django_assert_num_queries(1):
            homes_at(households, "1号楼2单元301")


class TestResidentFormHome:
    def test_the_form_has_no_list_of_households(self, as_user, worker_a, building_a):
        for room in range(40):
            factories.HouseholdFactory(building=building_a, entrance=1, room=str(100 + room))
        page = as_user(worker_a.user).get(reverse("residents:resident_create")).content.decode()
        assert 'name="household"' in page
        assert "<select" not in page.split('name="household"')[0].rsplit("<", 1)[-1]
        assert page.count("<option") < 20  # gender and relation, not 40 homes

    def test_create_with_a_typed_address(self, as_user, worker_a, household_a):
        response = as_user(worker_a.user).post(
            reverse("residents:resident_create"), {**BASE, "household": "1号楼2单元301室"}
        )
        assert response.status_code == 302
        assert Resident.objects.get(name="王五").household == household_a

    def test_blank_is_no_home(self, as_user, worker_a, household_a):
        response = as_user(worker_a.user).post(
            reverse("residents:resident_create"), {**BASE, "household": " "}
        )
        assert response.status_code == 302
        assert Resident.objects.get(name="王五").household is None

    @pytest.mark.parametrize("typed", ["1-9-999", "9号楼-1-101", "<script>alert(1)</script>", "1-٢-301"])
    def test_unknown_address_is_an_error_in_chinese_and_saves_nothing(
        self, as_user, worker_a, household_a, household_b, typed
    ):
        response = as_user(worker_a.user).post(
            reverse("residents:resident_create"), {**BASE, "household": typed}
        )
        assert response.status_code == 200
        assert "本社区没有" in str(response.context["form"].errors["household"])
        assert "<script>alert" not in response.content.decode()
        assert not Resident.objects.filter(name="王五").exists()

    def test_ambiguous_address_names_the_homes(self, as_user, worker_a, community_a, household_a):
        factories.HouseholdFactory(
            building=factories.BuildingFactory(community=community_a, number="1栋"), entrance=2, room="301"
        )
        response = as_user(worker_a.user).post(
            reverse("residents:resident_create"), {**BASE, "household": "1-2-301"}
        )
        error = str(response.context["form"].errors["household"])
        assert "1号楼-2-301" in error and "1栋-2-301" in error
        assert not Resident.objects.filter(name="王五").exists()

    def test_edit_shows_the_current_home_and_moves(self, as_user, worker_a, resident_a, building_a):
        client = as_user(worker_a.user)
        url = reverse("residents:resident_update", args=[resident_a.pk])
        assert 'value="1号楼-2-301"' in client.get(url).content.decode()
        new_home = factories.HouseholdFactory(building=building_a, entrance=1, room="102")
        response = client.post(
            url,
            {
                **BASE,
                "name": resident_a.name,
                "version": resident_a.updated_at.isoformat(),
                "household": "1-1-102",
            },
        )
        assert response.status_code == 302
        resident_a.refresh_from_db()
        assert resident_a.household == new_home

    def test_add_member_link_fills_the_address(self, as_user, worker_a, household_a, household_b):
        client = as_user(worker_a.user)
        url = reverse("residents:resident_create")
        assert 'value="1号楼-2-301"' in client.get(url, {"household": household_a.pk}).content.decode()
        other = client.get(url, {"household": household_b.pk}).content.decode()
        assert "9号楼" not in other  # another community's home is not filled in


class TestHomeCheck:
    def url(self, community):
        return reverse("residents:home_check", args=[community.pk])

    def test_names_the_home_and_who_lives_there(self, as_user, worker_a, community_a, resident_a):
        page = as_user(worker_a.user).get(self.url(community_a), {"household": "1-2-301"}).content.decode()
        assert "✓" in page and "张焱" in page

    def test_says_when_there_is_no_such_home(self, as_user, worker_a, community_a, household_a):
        page = as_user(worker_a.user).get(self.url(community_a), {"household": "1-2-999"}).content.decode()
        assert "本社区没有这个地址的住户" in page
        assert (
            as_user(worker_a.user).get(self.url(community_a), {"household": ""}).content.decode().strip()
            == ""
        )

    def test_erased_residents_are_not_named(self, as_user, worker_a, community_a, resident_a):
        Resident.objects.filter(pk=resident_a.pk).update(erased_at="2026-01-01T00:00:00Z")
        page = as_user(worker_a.user).get(self.url(community_a), {"household": "1-2-301"}).content.decode()
        assert "张焱" not in page

    @pytest.mark.parametrize("typed", ["1-2-301\x00", "-" * 500, "1-" * 300, "<b>1-2-301</b>"])
    def test_hostile_text_is_answered_not_a_500(self, as_user, worker_a, community_a, household_a, typed):
        response = as_user(worker_a.user).get(self.url(community_a), {"household": typed})
        assert response.status_code == 200
        assert "<b>" not in response.content.decode()

    def test_another_communitys_homes_are_not_checked(self, as_user, worker_a, community_b, household_b):
        assert as_user(worker_a.user).get(self.url(community_b), {"household": "9-1-101"}).status_code == 404

    def test_needs_the_household_permission(self, as_user, resident_user_a, community_a):
        assert as_user(resident_user_a).get(self.url(community_a), {"household": "1-2-301"}).status_code in (
            302,
            403,
        )

    def test_constant_queries(
        self, as_user, worker_a, community_a, building_a, resident_a, django_assert_num_queries
    ):
        client = as_user(worker_a.user)
        client.get(self.url(community_a), {"household": "1-2-301"})  # session and permissions warm
        with django_assert_num_queries(5) as few:
            client.get(self.url(community_a), {"household": "1-2-301"})
        for n in range(10):
            factories.ResidentFactory(household=resident_a.household, name=f"住户{n}")
        with django_assert_num_queries(len(few.captured_queries)):
            client.get(self.url(community_a), {"household": "1-2-301"})
