"""Reads of the registry: the scoping gate and the directory search."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from community.lib.compiled import Window
from residents import selectors
from residents.models import Resident
from tests import factories

# --- communities_visible_to: the one scoping function ----------------------------------------------------


def visible(user) -> set[str]:
    return set(selectors.communities_visible_to(user).values_list("name", flat=True))


class TestCommunitiesVisibleTo:
    def test_worker_sees_only_their_community(self, worker_a, community_a, community_b):
        assert visible(worker_a.user) == {"安华里社区"}

    def test_committee_head_sees_only_their_community(self, head_a, community_a, community_b):
        assert visible(head_a) == {"安华里社区"}

    def test_subdistrict_staff_see_every_community_of_their_subdistrict(
        self, subdistrict_a, community_a, community_b
    ):
        factories.CommunityFactory(subdistrict=community_a.subdistrict, name="团结湖社区", code="TJH")
        factories.CommunityFactory(name="别的街道的社区", code="OTHER")  # another subdistrict
        assert community_b.subdistrict != community_a.subdistrict
        assert visible(subdistrict_a) == {"安华里社区", "团结湖社区"}

    def test_superuser_sees_all(self, community_a, community_b):
        root = factories.UserFactory(is_superuser=True)
        assert visible(root) == {"安华里社区", "华贸中心社区"}

    def test_user_without_membership_sees_nothing(self, community_a, community_b):
        assert visible(factories.UserFactory()) == set()

    def test_anonymous_sees_nothing(self, community_a, community_b):
        assert visible(AnonymousUser()) == set()

    def test_inactive_user_sees_nothing(self, worker_a, community_b):
        worker_a.user.is_active = False
        worker_a.user.save()
        assert visible(worker_a.user) == set()

    def test_inactive_superuser_sees_nothing(self, community_a):
        assert visible(factories.UserFactory(is_superuser=True, is_active=False)) == set()


def test_sees_community_agrees_with_the_scoping_function(
    django_assert_num_queries, worker_a, head_a, subdistrict_a, community_a, community_b
):
    neighbour = factories.CommunityFactory(subdistrict=community_a.subdistrict, name="团结湖社区", code="TJH")
    users = [
        worker_a.user,
        head_a,
        subdistrict_a,
        factories.UserFactory(is_superuser=True),
        factories.UserFactory(),  # no membership
        factories.UserFactory(is_superuser=True, is_active=False),
        AnonymousUser(),
    ]
    for user in users:
        for community in (community_a, neighbour, community_b):
            expected = selectors.communities_visible_to(user).filter(pk=community.pk).exists()
            assert selectors.sees_community(user, community.pk) == expected, (user, community)
            assert selectors.sees_community(user, community.pk, community.subdistrict_id) == expected
    with django_assert_num_queries(0):  # the membership tells; subdistrict staff given the subdistrict
        for user in (worker_a.user, head_a, subdistrict_a):
            selectors.sees_community(user, community_b.pk, community_b.subdistrict_id)


# --- get_*_for: 404 outside the user's communities -------------------------------------------------------


class TestGetFor:
    def test_worker_of_b_gets_404_on_a_resident_of_a(self, worker_b, resident_a):
        with pytest.raises(Http404):
            selectors.get_resident_for(worker_b.user, resident_a.pk)

    def test_worker_of_a_gets_the_resident(self, worker_a, resident_a):
        assert selectors.get_resident_for(worker_a.user, resident_a.pk) == resident_a

    def test_subdistrict_staff_get_a_resident_of_their_subdistrict(
        self, subdistrict_a, resident_a, resident_b
    ):
        assert selectors.get_resident_for(subdistrict_a, resident_a.pk) == resident_a
        with pytest.raises(Http404):
            selectors.get_resident_for(subdistrict_a, resident_b.pk)

    def test_missing_resident_is_404(self, worker_a):
        with pytest.raises(Http404):
            selectors.get_resident_for(worker_a.user, 999_999)

    def test_anonymous_gets_404(self, resident_a):
        with pytest.raises(Http404):
            selectors.get_resident_for(AnonymousUser(), resident_a.pk)

    def test_worker_of_b_gets_404_on_places_of_a(self, worker_b, community_a, building_a, household_a):
        with pytest.raises(Http404):
            selectors.get_community_for(worker_b.user, community_a.pk)
        with pytest.raises(Http404):
            selectors.get_building_for(worker_b.user, building_a.pk)
        with pytest.raises(Http404):
            selectors.get_household_for(worker_b.user, household_a.pk)

    def test_worker_of_a_gets_places_of_a(self, worker_a, community_a, building_a, household_a):
        assert selectors.get_community_for(worker_a.user, community_a.pk) == community_a
        assert selectors.get_building_for(worker_a.user, building_a.pk) == building_a
        assert selectors.get_household_for(worker_a.user, household_a.pk) == household_a


# --- resident_search --------------------------------------------------------------------------------------


@pytest.fixture
def people(worker_a, resident_a, building_a, community_a, community_b, resident_b):
    """Community A: 张焱 at 1号楼 2-301 (resident_a), 王芳 at 1号楼 1-301, 赵磊 at 10号楼 2-301, 钱老 with a
    landline. Community B has its own 1号楼 2-301 with 张燕, who has the same pinyin, initials and phone tail
    as 张焱: only the scope keeps her out of A's results."""
    same_room_other_entrance = factories.HouseholdFactory(building=building_a, entrance=1, room="301")
    building_10 = factories.BuildingFactory(community=community_a, number="10号楼")
    factories.ResidentFactory(household=same_room_other_entrance, name="王芳", phone="13812345678")
    factories.ResidentFactory(
        household=factories.HouseholdFactory(building=building_10, entrance=2, room="301"),
        name="赵磊",
        phone="13700000000",
    )
    factories.ResidentFactory(household=None, community=community_a, name="钱老", phone="010-65004321")
    building_b1 = factories.BuildingFactory(community=community_b, number="1号楼")
    factories.ResidentFactory(
        household=factories.HouseholdFactory(building=building_b1, entrance=2, room="301"),
        name="张燕",
        phone="13700001234",
    )
    return worker_a.user


def found(user, text: str) -> set[str]:
    queryset = selectors.resident_search(selectors.residents_visible_to(user), text)
    return set(queryset.values_list("name", flat=True))


def found_anywhere(text: str) -> set[str]:
    return set(selectors.resident_search(Resident.objects.all(), text).values_list("name", flat=True))


class TestResidentSearch:
    def test_empty_text_returns_everything_visible(self, people):
        assert found(people, "") == {"张焱", "王芳", "赵磊", "钱老"}
        assert found(people, "   ") == {"张焱", "王芳", "赵磊", "钱老"}

    @pytest.mark.parametrize(
        ("text", "names"),
        [
            ("焱", {"张焱"}),
            ("张", {"张焱"}),
            ("张焱", {"张焱"}),
            ("王", {"王芳"}),
            ("无此人", set()),
        ],
    )
    def test_name_fragment(self, people, text, names):
        assert found(people, text) == names

    @pytest.mark.parametrize(
        ("text", "names"),
        [
            ("zhang", {"张焱"}),
            ("zhangyan", {"张焱"}),
            ("ZhangYan", {"张焱"}),
            ("zhang yan", {"张焱"}),
            ("ｚｈａｎｇ", {"张焱"}),  # full width, as typed with a Chinese IME
            ("zh", {"张焱", "赵磊"}),
            ("wangfang", {"王芳"}),
            ("yan", set()),  # pinyin matches from the start of the name
        ],
    )
    def test_pinyin_prefix(self, people, text, names):
        assert found(people, text) == names

    @pytest.mark.parametrize(
        ("text", "names"),
        [
            ("zy", {"张焱"}),
            ("ZY", {"张焱"}),
            ("z", {"张焱", "赵磊"}),
            ("wf", {"王芳"}),
            ("yz", set()),
        ],
    )
    def test_initials(self, people, text, names):
        assert found(people, text) == names

    @pytest.mark.parametrize(
        ("text", "names"),
        [
            ("1234", {"张焱"}),  # 13812341234; 王芳's 13812345678 contains 1234 but does not end with it
            ("41234", {"张焱"}),
            ("13812341234", {"张焱"}),
            ("１２３４", {"张焱"}),  # full-width digits
            ("5678", {"王芳"}),
            ("4321", {"钱老"}),  # a landline's last digits
            ("0000", {"赵磊"}),
        ],
    )
    def test_phone_tail(self, people, text, names):
        assert found(people, text) == names

    @pytest.mark.parametrize("text", ["234", "678", "12"])
    def test_fewer_than_4_digits_do_not_match_the_phone(self, people, text):
        assert found(people, text) == set()

    def test_arabic_indic_digits_do_not_match_the_phone(self, people):
        assert found(people, "١٢٣٤") == set()

    @pytest.mark.parametrize(
        "text",
        [
            "1-2-301",
            "1号楼2单元301",
            "1号楼2单元301室",
            "1 2 301",
            "1/2/301",
            "1号2单元301",
            "1栋2单元301",
            " 1-2-301 ",
            "１－２－３０１",
        ],
    )
    def test_address(self, people, text):
        # Not 王芳 (entrance 1), not 赵磊 (10号楼: "1" is no prefix match), not B's 1号楼 2-301.
        assert found(people, text) == {"张焱"}

    def test_address_building_and_room(self, people):
        assert found(people, "1-301") == {"张焱", "王芳"}
        assert found(people, "10-2-301") == {"赵磊"}

    def test_building_alone_and_room_alone(self, people):
        assert found(people, "1号楼") == {"张焱", "王芳"}
        assert found(people, "301") == {"张焱", "王芳", "赵磊"}

    def test_room_letters_match_the_stored_upper_case(self, people, building_a):
        factories.ResidentFactory(
            household=factories.HouseholdFactory(building=building_a, entrance=3, room="302A"), name="孙丽"
        )
        assert found(people, "1-3-302a") == {"孙丽"}
        assert found(people, "302a") == {"孙丽"}

    @pytest.mark.parametrize("text", ["1-٢-301", "1-\U00010a40-301", "1-99999999999999999999-301", "1-x-301"])
    def test_odd_entrances_match_nothing_and_do_not_crash(self, people, text):
        assert found(people, text) == set()

    @pytest.mark.parametrize(
        "text", ["zhangyan", "zy", "1234", "1-2-301", "1号楼2单元301", "张", "1号楼", "301"]
    )
    def test_never_returns_residents_of_community_b(self, people, text):
        assert "张燕" not in found(people, text)
        assert "李娜" not in found(people, text)
        # Unscoped, the same search does find B's lookalike: the scope is what keeps her out.
        assert "张燕" in found_anywhere(text)

    def test_worker_of_b_finds_only_b(self, people, worker_b):
        assert found(worker_b.user, "zy") == {"张燕"}
        assert found(worker_b.user, "1-2-301") == {"张燕"}
        assert found(worker_b.user, "1234") == {"张燕"}

    def test_directory_applies_scope_and_search(self, people):
        names = list(selectors.directory(people, text="zh").values_list("name", flat=True))
        assert names == ["张焱", "赵磊"]  # ordered by pinyin: zhangyan before zhaolei


# --- directory_found: the directory page's count and rows, compiled for a member of one community ---------

SEARCHES = [
    "",
    "焱",
    "张焱",
    "无此人",
    "zhang",
    "ZhangYan",
    "zhang yan",
    "ｚｈａｎｇ",
    "zh",
    "Z",
    "1234",
    "１２３４",
    "0000",
    "234",
    "1-301",  # building and room: compiled
    "1号楼-301",
    "1栋 301",
    "1-2-301",  # building, entrance and room: the ORM (a small integer column)
    "1号楼2单元301室",
    "1号楼",
    "301",
    "302a",
    # LIKE's own characters are text here, not wildcards, and quotes are only text.
    "%",
    "_",
    "z%",
    "z_",
    "\\",
    "'; DROP TABLE residents_resident; --",
    '"',
]


def orm_directory(user, **filters) -> tuple[int, list[tuple]]:
    residents = selectors.directory(user, **filters)
    return residents.count(), list(selectors.directory_rows(user, residents))


class TestDirectoryFound:
    @pytest.fixture
    def tagged(self, people, community_a):
        """张焱 and 赵磊 carry a care tag; a resident named with LIKE's characters, and an erased one."""
        tag = factories.CareTagFactory()
        for resident in Resident.objects.filter(name__in=["张焱", "赵磊"]):
            resident.care_tags.add(tag)
        factories.ResidentFactory(household=None, community=community_a, name="百分%之_百\\")
        factories.ResidentFactory(
            household=None, community=community_a, name="张已删", erased_at=timezone.now()
        )
        return tag

    @pytest.mark.parametrize("text", SEARCHES)
    def test_the_same_count_and_rows_as_the_orm(self, people, tagged, building_a, text):
        for filters in ({}, {"building_id": building_a.pk}, {"tag_id": tagged.pk}):
            found = selectors.directory_found(people, text=text, **filters)
            assert isinstance(found.rows, Window) != (text in ("1-2-301", "1号楼2单元301室"))
            assert (found.count, list(found.rows[0 : found.count])) == orm_directory(
                people, text=text, **filters
            )

    def test_like_characters_match_only_themselves(self, people, tagged):
        assert [row.name for row in selectors.directory_found(people, text="%").rows[0:10]] == [
            "百分%之_百\\"
        ]
        assert selectors.directory_found(people, text="_").count == 1
        assert selectors.directory_found(people, text="\\").count == 1
        assert selectors.directory_found(people, text="分%之").count == 1
        assert selectors.directory_found(people, text="分_之").count == 0  # "_" is no wildcard

    def test_a_window_reads_one_page_in_order(self, people, tagged, django_assert_num_queries):
        everyone = orm_directory(people)[1]
        found = selectors.directory_found(people)
        with django_assert_num_queries(1):
            assert found.rows[1:3] == everyone[1:3]

    def test_compiled_once_per_shape(self, people, tagged, django_assert_num_queries):
        selectors.directory_found(people, text="zh")
        counted, rows = selectors._compiled_directory(((False, False, 0), False, False))
        statements = dict(counted.statements), dict(rows.statements)
        with django_assert_num_queries(1):
            found = selectors.directory_found(people, text="wangfang")  # another text, the same shape
        assert (dict(counted.statements), dict(rows.statements)) == statements
        assert [row.name for row in found.rows[0:5]] == ["王芳"]

    def test_scoped_to_the_members_community(self, people, worker_b):
        assert [r.name for r in selectors.directory_found(worker_b.user, text="zy").rows[0:5]] == ["张燕"]
        assert selectors.directory_found(people, text="zy").count == 1  # 张焱 only, not B's 张燕

    def test_subdistrict_staff_read_through_the_orm(self, people, subdistrict_a, community_a):
        found = selectors.directory_found(subdistrict_a, text="zy")
        assert not isinstance(found.rows, Window)
        assert [(row.name, row.community_name) for row in found.rows] == [("张焱", community_a.name)]
        assert (found.count, list(found.rows)) == orm_directory(subdistrict_a, text="zy")
