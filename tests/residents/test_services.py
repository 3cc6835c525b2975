"""Writes to the registry: normalised, scoped, all-or-nothing, and logged where personal data is shown."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from residents import privacy, services
from residents.choices import BuildingKind, Gender, PersonalField, Relation
from residents.models import Enterprise, Household, PersonalDataAccess, Resident
from tests import factories

FEMALE_1949 = "11010519491231002X"  # GB 11643's example: 1949-12-31, 17th digit even


def id_number(first17: str) -> str:
    """GB 11643 check digit, computed here rather than with the code under test."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


MALE_1985 = id_number("44030419850601133")  # 1985-06-01, 17th digit 3: odd


def credit_code(first17: str) -> str:
    """GB 32100 check character, computed here rather than with the code under test."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    value = 31 - sum(alphabet.index(c) * w for c, w in zip(first17, weights, strict=True)) % 31
    return first17 + alphabet[value % 31]


def error_codes(exc: ValidationError) -> dict[str, list[str | None]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


@pytest.fixture
def actor(worker_a):
    return worker_a.user


@pytest.fixture
def office_a(community_a):
    return factories.BuildingFactory(
        community=community_a, number="A座", kind=BuildingKind.OFFICE, entrances=1
    )


# --- resident_create -------------------------------------------------------------------------------------


class TestResidentCreate:
    def test_normalises_and_derives_from_the_id_number(self, actor, community_a, household_a):
        resident = services.resident_create(
            actor=actor,
            community=community_a,
            name=" 张焱 ",
            phone="１３８ １２３４－５６７８",
            id_number="11010519491231002x",
            household=household_a,
            relation=Relation.HEAD,
            notes="  独居\x00\u202e ",
        )

        resident.refresh_from_db()
        assert resident.community == community_a
        assert resident.household == household_a
        assert resident.relation == Relation.HEAD
        assert resident.name == "张焱"
        assert resident.phone == "13812345678"
        assert resident.id_number == FEMALE_1949
        assert resident.birth_date == dt.date(1949, 12, 31)
        assert resident.gender == Gender.FEMALE
        assert resident.name_pinyin == "zhangyan"
        assert resident.name_initials == "zy"
        assert resident.notes == "独居"

    def test_male_from_the_id_number(self, actor, community_a):
        resident = services.resident_create(
            actor=actor, community=community_a, name="王强", id_number=MALE_1985
        )
        resident.refresh_from_db()
        assert (resident.gender, resident.birth_date) == (Gender.MALE, dt.date(1985, 6, 1))
        assert (resident.name_pinyin, resident.name_initials) == ("wangqiang", "wq")

    def test_birth_date_matching_the_id_number_is_accepted(self, actor, community_a):
        resident = services.resident_create(
            actor=actor,
            community=community_a,
            name="张焱",
            id_number=FEMALE_1949,
            birth_date=dt.date(1949, 12, 31),
        )
        assert Resident.objects.get(pk=resident.pk).birth_date == dt.date(1949, 12, 31)

    def test_without_id_number_keeps_what_was_entered(self, actor, community_a):
        resident = services.resident_create(
            actor=actor,
            community=community_a,
            name="阿依古丽•买买提",
            birth_date=dt.date(1960, 5, 4),
            gender=Gender.FEMALE,
        )
        resident.refresh_from_db()
        assert resident.name == "阿依古丽·买买提"
        assert (resident.id_number, resident.phone) == ("", "")
        assert (resident.birth_date, resident.gender) == (dt.date(1960, 5, 4), Gender.FEMALE)
        assert resident.name_pinyin == "ayigulimaimaiti"

    def test_rejects_a_birth_date_contradicting_the_id_number(self, actor, community_a):
        with pytest.raises(ValidationError) as exc_info:
            services.resident_create(
                actor=actor,
                community=community_a,
                name="张焱",
                id_number=FEMALE_1949,
                birth_date=dt.date(1949, 12, 30),
            )
        assert error_codes(exc_info.value) == {"birth_date": ["birth_date_mismatch"]}
        assert "1949-12-31" in exc_info.value.error_dict["birth_date"][0].message
        assert Resident.objects.count() == 0

    def test_rejects_a_future_birth_date(self, actor, community_a):
        with pytest.raises(ValidationError) as exc_info:
            services.resident_create(
                actor=actor,
                community=community_a,
                name="张焱",
                birth_date=timezone.localdate() + dt.timedelta(days=1),
            )
        assert error_codes(exc_info.value) == {"birth_date": ["birth_date_future"]}
        assert Resident.objects.count() == 0

    def test_reports_every_bad_field_at_once(self, actor, community_a):
        with pytest.raises(ValidationError) as exc_info:
            services.resident_create(
                actor=actor,
                community=community_a,
                name="张\u202e焱",
                phone="١٣٨١٢٣٤٥٦٧٨",
                id_number="110105194912310021",
            )
        assert error_codes(exc_info.value) == {
            "name": ["name_chars"],
            "phone": ["phone_format"],
            "id_number": ["id_checksum"],
        }
        assert Resident.objects.count() == 0

    def test_duplicate_id_number_is_a_field_error(self, actor, community_a, resident_a):
        before = Resident.objects.count()
        with pytest.raises(ValidationError) as exc_info:
            # Typed differently (lower-case x, full width) but the same number once normalised.
            services.resident_create(
                actor=actor,
                community=community_a,
                name="张三",
                id_number=resident_a.id_number.lower().replace("1", "１"),
            )
        assert list(exc_info.value.error_dict) == ["id_number"]
        assert Resident.objects.count() == before
        assert not Resident.objects.filter(name="张三").exists()

    def test_duplicate_id_number_in_another_community(self, actor, community_a, resident_b):
        before = Resident.objects.count()
        with pytest.raises(ValidationError) as exc_info:
            services.resident_create(
                actor=actor, community=community_a, name="张三", id_number=resident_b.id_number
            )
        assert list(exc_info.value.error_dict) == ["id_number"]
        assert Resident.objects.count() == before

    def test_many_residents_without_id_number(self, actor, community_a):
        for name in ("张一", "张二"):
            services.resident_create(actor=actor, community=community_a, name=name)
        assert list(Resident.objects.values_list("id_number", flat=True)) == ["", ""]

    def test_rejects_a_household_of_another_community(self, actor, community_a, household_b):
        before = Resident.objects.count()
        with pytest.raises(ValidationError) as exc_info:
            services.resident_create(actor=actor, community=community_a, name="张焱", household=household_b)
        assert list(exc_info.value.error_dict) == ["household"]
        assert Resident.objects.count() == before

    def test_rejects_an_employer_of_another_community(self, actor, community_a, community_b):
        employer_b = factories.EnterpriseFactory(building__community=community_b)
        with pytest.raises(ValidationError) as exc_info:
            services.resident_create(actor=actor, community=community_a, name="张焱", employer=employer_b)
        assert list(exc_info.value.error_dict) == ["employer"]
        assert Resident.objects.count() == 0

    def test_sets_care_tags(self, actor, community_a):
        tag = factories.CareTagFactory()
        resident = services.resident_create(actor=actor, community=community_a, name="张焱", care_tags=[tag])
        assert list(Resident.objects.get(pk=resident.pk).care_tags.all()) == [tag]


# --- resident_update -------------------------------------------------------------------------------------


class TestResidentUpdate:
    def test_changes_what_is_given(self, actor, resident_a):
        stored_id = resident_a.id_number
        updated = services.resident_update(
            actor=actor,
            resident=resident_a,
            version=resident_a.updated_at.isoformat(),
            name="李焱",
            phone="+86 139 0000 2222",
            notes=" 新\u202e备注 ",
        )
        resident_a.refresh_from_db()
        assert updated.pk == resident_a.pk
        assert resident_a.name == "李焱"
        assert (resident_a.name_pinyin, resident_a.name_initials) == ("liyan", "ly")
        assert resident_a.phone == "13900002222"
        assert resident_a.id_number == stored_id
        assert resident_a.notes == "新备注"

    def test_stale_version_raises_and_changes_nothing(self, actor, resident_a):
        first = Resident.objects.get(pk=resident_a.pk)
        second = Resident.objects.get(pk=resident_a.pk)
        services.resident_update(
            actor=actor, resident=first, version=first.updated_at.isoformat(), name="王一"
        )
        first.refresh_from_db()
        saved_at = first.updated_at

        with pytest.raises(ValidationError) as exc_info:
            services.resident_update(
                actor=actor,
                resident=second,
                version=second.updated_at.isoformat(),
                name="王二",
                phone="13900009999",
            )
        assert exc_info.value.code == "stale"

        resident_a.refresh_from_db()
        assert resident_a.name == "王一"
        assert resident_a.name_pinyin == "wangyi"
        assert resident_a.phone == "13812341234"
        assert resident_a.updated_at == saved_at

    def test_made_up_version_is_stale(self, actor, resident_a):
        with pytest.raises(ValidationError) as exc_info:
            services.resident_update(
                actor=actor, resident=resident_a, version="2000-01-01T00:00:00+00:00", name="王二"
            )
        assert exc_info.value.code == "stale"
        resident_a.refresh_from_db()
        assert resident_a.name == "张焱"

    def test_phone_and_id_number_unset_keep_the_stored_values(self, actor, resident_a):
        stored_id = resident_a.id_number
        services.resident_update(actor=actor, resident=resident_a, name="张焱焱")
        resident_a.refresh_from_db()
        assert resident_a.name == "张焱焱"
        assert resident_a.phone == "13812341234"
        assert resident_a.id_number == stored_id

    def test_blank_phone_given_clears_it(self, actor, resident_a):
        services.resident_update(actor=actor, resident=resident_a, phone="")
        resident_a.refresh_from_db()
        assert resident_a.phone == ""

    def test_invalid_phone_changes_nothing(self, actor, resident_a):
        with pytest.raises(ValidationError) as exc_info:
            services.resident_update(actor=actor, resident=resident_a, name="王二", phone="12812345678")
        assert error_codes(exc_info.value) == {"phone": ["phone_format"]}
        resident_a.refresh_from_db()
        assert (resident_a.name, resident_a.phone) == ("张焱", "13812341234")

    def test_duplicate_id_number_is_a_field_error(self, actor, resident_a, household_a):
        other = factories.ResidentFactory(household=household_a, name="张三")
        with pytest.raises(ValidationError) as exc_info:
            services.resident_update(actor=actor, resident=other, id_number=resident_a.id_number)
        assert list(exc_info.value.error_dict) == ["id_number"]
        stored = other.id_number
        other.refresh_from_db()
        assert other.id_number == stored

    def test_rejects_moving_to_a_household_of_another_community(
        self, actor, resident_a, household_a, household_b
    ):
        with pytest.raises(ValidationError) as exc_info:
            services.resident_update(actor=actor, resident=resident_a, household=household_b)
        assert list(exc_info.value.error_dict) == ["household"]
        resident_a.refresh_from_db()
        assert resident_a.household == household_a


# --- household_create ------------------------------------------------------------------------------------


class TestHouseholdCreate:
    def test_creates_with_a_normalised_room(self, actor, building_a):
        household = services.household_create(
            actor=actor, building=building_a, entrance=3, room=" ３０２ a ", notes="\u202e空置"
        )
        household.refresh_from_db()
        assert (household.building, household.entrance, household.room, household.notes) == (
            building_a,
            3,
            "302A",
            "空置",
        )

    def test_duplicate_dwelling_is_a_field_error_on_room(self, actor, building_a, household_a):
        before = Household.objects.count()
        for room in ("301", " 301 ", "３０１"):
            with pytest.raises(ValidationError) as exc_info:
                services.household_create(actor=actor, building=building_a, entrance=2, room=room)
            assert list(exc_info.value.error_dict) == ["room"]
        assert Household.objects.count() == before

    def test_same_room_at_another_entrance_is_another_dwelling(self, actor, building_a, household_a):
        household = services.household_create(actor=actor, building=building_a, entrance=1, room="301")
        assert Household.objects.filter(building=building_a, room="301").count() == 2
        assert household.entrance == 1

    @pytest.mark.parametrize("entrance", [0, -1, 4, 99])
    def test_entrance_outside_the_building(self, actor, building_a, entrance):
        assert building_a.entrances == 3
        with pytest.raises(ValidationError) as exc_info:
            services.household_create(actor=actor, building=building_a, entrance=entrance, room="101")
        assert list(exc_info.value.error_dict) == ["entrance"]
        assert Household.objects.count() == 0

    @pytest.mark.parametrize("entrance", [1, 3])
    def test_first_and_last_entrance(self, actor, building_a, entrance):
        services.household_create(actor=actor, building=building_a, entrance=entrance, room="101")
        assert list(Household.objects.values_list("entrance", "room")) == [(entrance, "101")]

    @pytest.mark.parametrize("room", ["", "  ", "\x00", "1" * 17])
    def test_bad_room(self, actor, building_a, room):
        with pytest.raises(ValidationError) as exc_info:
            services.household_create(actor=actor, building=building_a, entrance=1, room=room)
        assert list(exc_info.value.error_dict) == ["room"]
        assert Household.objects.count() == 0


# --- enterprise_create -----------------------------------------------------------------------------------


class TestEnterpriseCreate:
    def test_creates_in_an_office_building(self, actor, office_a, community_a):
        code = credit_code("91110105MA0012345")
        enterprise = services.enterprise_create(
            actor=actor,
            building=office_a,
            name=" 华贸科技有限公司 ",
            credit_code=code.lower(),
            floor="12层",
            contact_name="刘经理",
            contact_phone="010 6500 1234",
        )
        enterprise.refresh_from_db()
        assert enterprise.community == community_a
        assert enterprise.building == office_a
        assert enterprise.name == "华贸科技有限公司"
        assert enterprise.credit_code == code
        assert (enterprise.floor, enterprise.contact_name, enterprise.contact_phone) == (
            "12层",
            "刘经理",
            "010-65001234",
        )

    def test_known_real_credit_code(self, actor, office_a):
        enterprise = services.enterprise_create(
            actor=actor, building=office_a, name="某公司", credit_code="91350100M000100Y43"
        )
        assert Enterprise.objects.get(pk=enterprise.pk).credit_code == "91350100M000100Y43"

    @pytest.mark.parametrize(
        ("code", "error"),
        [
            ("91350100M000100Y44", "credit_code_checksum"),
            ("91350100I000100Y43", "credit_code_format"),
            ("91350100M000100Y4", "credit_code_format"),
            ("", "credit_code_format"),
        ],
    )
    def test_rejects_a_bad_credit_code(self, actor, office_a, code, error):
        with pytest.raises(ValidationError) as exc_info:
            services.enterprise_create(actor=actor, building=office_a, name="某公司", credit_code=code)
        assert error_codes(exc_info.value) == {"credit_code": [error]}
        assert Enterprise.objects.count() == 0

    def test_rejects_a_residential_building(self, actor, building_a):
        with pytest.raises(ValidationError) as exc_info:
            services.enterprise_create(
                actor=actor, building=building_a, name="某公司", credit_code="91350100M000100Y43"
            )
        assert list(exc_info.value.error_dict) == ["building"]
        assert Enterprise.objects.count() == 0

    def test_rejects_a_bad_contact_phone(self, actor, office_a):
        with pytest.raises(ValidationError) as exc_info:
            services.enterprise_create(
                actor=actor,
                building=office_a,
                name="某公司",
                credit_code="91350100M000100Y43",
                contact_phone="12345",
            )
        assert error_codes(exc_info.value) == {"contact_phone": ["phone_format"]}
        assert Enterprise.objects.count() == 0

    @pytest.mark.parametrize("name", ["", "  ", "\x00\u202e"])
    def test_rejects_an_empty_name(self, actor, office_a, name):
        with pytest.raises(ValidationError) as exc_info:
            services.enterprise_create(
                actor=actor, building=office_a, name=name, credit_code="91350100M000100Y43"
            )
        assert list(exc_info.value.error_dict) == ["name"]
        assert Enterprise.objects.count() == 0

    def test_duplicate_credit_code(self, actor, office_a):
        services.enterprise_create(
            actor=actor, building=office_a, name="甲公司", credit_code="91350100M000100Y43"
        )
        with pytest.raises(ValidationError) as exc_info:
            services.enterprise_create(
                actor=actor, building=office_a, name="乙公司", credit_code="91350100m000100y43"
            )
        assert list(exc_info.value.error_dict) == ["credit_code"]
        assert list(Enterprise.objects.values_list("name", flat=True)) == ["甲公司"]


# --- personal_data_reveal --------------------------------------------------------------------------------


class TestPersonalDataReveal:
    def test_without_permission_raises_and_logs_nothing(self, worker_a, resident_a):
        assert not worker_a.user.has_perm("residents.reveal_personal_data")
        with pytest.raises(PermissionError):
            privacy.personal_data_reveal(
                actor=worker_a.user,
                resident=resident_a,
                field=PersonalField.PHONE,
                reason="回访核实",
                ip_address="10.0.0.1",
            )
        assert PersonalDataAccess.objects.count() == 0

    def test_subdistrict_staff_cannot_reveal(self, subdistrict_a, resident_a):
        with pytest.raises(PermissionError):
            privacy.personal_data_reveal(
                actor=subdistrict_a,
                resident=resident_a,
                field=PersonalField.PHONE,
                reason="回访核实",
                ip_address=None,
            )
        assert PersonalDataAccess.objects.count() == 0

    def test_head_reveals_the_phone_and_it_is_logged(self, head_a, resident_a):
        assert head_a.has_perm("residents.reveal_personal_data")
        value = privacy.personal_data_reveal(
            actor=head_a,
            resident=resident_a,
            field=PersonalField.PHONE,
            reason=" 回访核实\u202e ",
            ip_address="203.0.113.7",
        )
        assert value == "13812341234"
        access = PersonalDataAccess.objects.get()
        assert access.actor == head_a
        assert access.resident == resident_a
        assert access.field == "phone"
        assert access.reason == "回访核实"
        assert access.ip_address == "203.0.113.7"
        assert access.at is not None

    def test_head_reveals_the_id_number(self, head_a, resident_a):
        value = privacy.personal_data_reveal(
            actor=head_a,
            resident=resident_a,
            field=PersonalField.ID_NUMBER,
            reason="办理低保",
            ip_address=None,
        )
        assert value == resident_a.id_number
        assert list(PersonalDataAccess.objects.values_list("field", "ip_address")) == [("id_number", None)]

    def test_each_reveal_is_logged(self, head_a, resident_a):
        for _ in range(2):
            privacy.personal_data_reveal(
                actor=head_a,
                resident=resident_a,
                field=PersonalField.PHONE,
                reason="回访核实",
                ip_address=None,
            )
        assert PersonalDataAccess.objects.count() == 2

    @pytest.mark.parametrize("reason", ["", "   ", "查", "\x00\u202e", "  查\u202e "])
    def test_rejects_an_empty_reason(self, head_a, resident_a, reason):
        with pytest.raises(ValidationError) as exc_info:
            privacy.personal_data_reveal(
                actor=head_a, resident=resident_a, field=PersonalField.PHONE, reason=reason, ip_address=None
            )
        assert error_codes(exc_info.value) == {"reason": ["reason_required"]}
        assert PersonalDataAccess.objects.count() == 0

    def test_rejects_a_too_long_reason(self, head_a, resident_a):
        with pytest.raises(ValidationError) as exc_info:
            privacy.personal_data_reveal(
                actor=head_a,
                resident=resident_a,
                field=PersonalField.PHONE,
                reason="查" * 201,
                ip_address=None,
            )
        assert exc_info.value.code == "too_long"
        assert PersonalDataAccess.objects.count() == 0

    def test_rejects_an_unknown_field(self, head_a, resident_a):
        with pytest.raises(ValidationError) as exc_info:
            privacy.personal_data_reveal(
                actor=head_a, resident=resident_a, field="name", reason="回访核实", ip_address=None
            )
        assert exc_info.value.code == "bad_field"
        assert PersonalDataAccess.objects.count() == 0

    def test_head_of_a_cannot_reveal_a_resident_of_b(self, head_a, resident_b):
        with pytest.raises(PermissionError):
            privacy.personal_data_reveal(
                actor=head_a,
                resident=resident_b,
                field=PersonalField.PHONE,
                reason="回访核实",
                ip_address=None,
            )
        assert PersonalDataAccess.objects.count() == 0
