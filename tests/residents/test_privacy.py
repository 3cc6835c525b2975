"""Residents' personal data under PIPL: the legal basis (consent, a guardian's for a child under 14),
erasure (anonymised everywhere, statistics whole, all or nothing), logged roster exports (masked unless
allowed, formula-safe, constant queries), the access log's two tabs, and the admin's read-only logs."""

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from community.lib.spreadsheets import safe_cell
from residents import privacy, selectors, services
from residents.choices import LegalBasis
from residents.models import CareTag, PersonalDataAccess, PersonalDataExport, Resident
from stations.apps import erase_request_contacts
from stations.choices import Role
from stations.models import ServiceRequest
from stations.selectors import dashboard as dashboard_selectors
from stations.services.categories import categories_seed
from stations.services.requests import service_request_create
from tests import factories
from tests.stations.test_dashboard import build_month

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","click")'
# Columns of the roster export (residents.exports.roster_table).
NAME, BIRTH, BUILDING, PHONE, ID_NUMBER, TAGS, BASIS = 0, 2, 3, 7, 8, 9, 11


def years_ago(years: int, *, days: int = 0) -> dt.date:
    today = timezone.localdate()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day + dt.timedelta(days=days)


@pytest.fixture
def head_b(community_b):
    return factories.make_member(role=Role.HEAD, community=community_b, username="head_b")


@pytest.fixture
def tag():
    return factories.CareTagFactory()


def errors_of(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.value.error_dict.items()}


# --- Legal basis -----------------------------------------------------------------------------------------


class TestLegalBasis:
    def test_statutory_is_the_default(self, head_a, community_a):
        resident = services.resident_create(actor=head_a, community=community_a, name="王五")
        assert (resident.legal_basis, resident.consent_date, resident.guardian_name) == (
            "statutory",
            None,
            "",
        )

    def test_consent_needs_a_date(self, head_a, community_a):
        with pytest.raises(ValidationError) as exc:
            services.resident_create(actor=head_a, community=community_a, name="王五", legal_basis="consent")
        assert errors_of(exc) == {"consent_date": ["consent_date_required"]}
        assert not Resident.objects.exists()

    def test_consent_date_not_in_the_future(self, head_a, community_a):
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        with pytest.raises(ValidationError) as exc:
            services.resident_create(
                actor=head_a, community=community_a, name="王五", legal_basis="consent", consent_date=tomorrow
            )
        assert errors_of(exc) == {"consent_date": ["consent_date_future"]}

    def test_consent_today_is_accepted(self, head_a, community_a):
        today = timezone.localdate()
        resident = services.resident_create(
            actor=head_a,
            community=community_a,
            name="王五",
            birth_date=dt.date(1980, 5, 1),
            legal_basis="consent",
            consent_date=today,
            guardian_name="",
        )
        resident.refresh_from_db()
        assert (resident.legal_basis, resident.consent_date, resident.guardian_name) == ("consent", today, "")

    def test_child_under_14_by_consent_needs_a_guardian(self, head_a, community_a):
        child = years_ago(14, days=1)  # turns 14 tomorrow
        with pytest.raises(ValidationError) as exc:
            services.resident_create(
                actor=head_a,
                community=community_a,
                name="王小明",
                birth_date=child,
                legal_basis="consent",
                consent_date=timezone.localdate(),
            )
        assert errors_of(exc) == {"guardian_name": ["guardian_required"]}
        resident = services.resident_create(
            actor=head_a,
            community=community_a,
            name="王小明",
            birth_date=child,
            legal_basis="consent",
            consent_date=timezone.localdate(),
            guardian_name=" 王芳 ",
        )
        assert resident.guardian_name == "王芳"

    def test_a_14_year_old_consents_alone(self, head_a, community_a):
        resident = services.resident_create(
            actor=head_a,
            community=community_a,
            name="王小明",
            birth_date=years_ago(14),  # 14 today
            legal_basis="consent",
            consent_date=timezone.localdate(),
        )
        assert resident.guardian_name == ""

    def test_the_age_comes_from_the_id_number(self, head_a, community_a):
        birth = years_ago(10)
        first17 = f"110105{birth:%Y%m%d}123"
        with pytest.raises(ValidationError) as exc:
            services.resident_create(
                actor=head_a,
                community=community_a,
                name="王小明",
                id_number=first17 + factories.id_check_char(first17),
                legal_basis="consent",
                consent_date=timezone.localdate(),
            )
        assert errors_of(exc) == {"guardian_name": ["guardian_required"]}

    def test_statutory_clears_consent_date_and_guardian(self, head_a, community_a):
        resident = services.resident_create(
            actor=head_a,
            community=community_a,
            name="王小明",
            birth_date=years_ago(8),
            legal_basis="consent",
            consent_date=timezone.localdate(),
            guardian_name="王芳",
        )
        services.resident_update(actor=head_a, resident=resident, legal_basis="statutory")
        resident.refresh_from_db()
        assert (resident.legal_basis, resident.consent_date, resident.guardian_name) == (
            "statutory",
            None,
            "",
        )

    def test_a_birth_date_that_makes_a_consenting_adult_a_child_needs_a_guardian(self, head_a, community_a):
        resident = services.resident_create(
            actor=head_a,
            community=community_a,
            name="王五",
            birth_date=dt.date(1990, 1, 1),
            legal_basis="consent",
            consent_date=timezone.localdate(),
        )
        with pytest.raises(ValidationError) as exc:
            services.resident_update(actor=head_a, resident=resident, birth_date=years_ago(5))
        assert errors_of(exc) == {"guardian_name": ["guardian_required"]}
        resident.refresh_from_db()
        assert resident.birth_date == dt.date(1990, 1, 1)

    def test_person_and_basis_errors_are_reported_together(self, head_a, community_a):
        with pytest.raises(ValidationError) as exc:
            services.resident_create(
                actor=head_a, community=community_a, name="王五", phone="12345", legal_basis="consent"
            )
        assert set(errors_of(exc)) == {"phone", "consent_date"}

    def test_form_shows_the_rules_beside_their_fields(self, as_user, worker_a):
        client = as_user(worker_a.user)
        data = {
            "name": "王小明",
            "gender": "male",
            "relation": "child",
            "birth_date": years_ago(9).isoformat(),
        }
        response = client.post(reverse("residents:resident_create"), {**data, "legal_basis": "consent"})
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert set(errors) == {"consent_date", "guardian_name"}
        future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
        response = client.post(
            reverse("residents:resident_create"),
            {**data, "legal_basis": "consent", "consent_date": future, "guardian_name": "王芳"},
        )
        assert set(response.context["form"].errors) == {"consent_date"}
        assert not Resident.objects.exists()
        response = client.post(
            reverse("residents:resident_create"),
            {
                **data,
                "legal_basis": "consent",
                "consent_date": years_ago(1).isoformat(),
                "guardian_name": "王芳",
            },
        )
        assert response.status_code == 302
        resident = Resident.objects.get(name="王小明")
        assert (resident.legal_basis, resident.guardian_name) == ("consent", "王芳")

    def test_page_shows_the_basis_and_the_guardian_and_the_form_keeps_them(
        self, as_user, head_a, community_a
    ):
        resident = services.resident_create(
            actor=head_a,
            community=community_a,
            name="王小明",
            birth_date=years_ago(8),
            legal_basis="consent",
            consent_date=dt.date(2025, 9, 1),
            guardian_name="王芳",
        )
        client = as_user(head_a)
        body = client.get(resident.get_absolute_url()).content.decode()
        assert str(LegalBasis.CONSENT.label) in body or "同意" in body or "Consent" in body
        assert "2025-09-01" in body and "王芳" in body
        form = client.get(reverse("residents:resident_update", args=[resident.pk])).context["form"]
        assert form.initial["legal_basis"] == "consent"
        assert form.initial["consent_date"] == dt.date(2025, 9, 1)
        assert form.initial["guardian_name"] == "王芳"


# --- Erasure ---------------------------------------------------------------------------------------------


def raw_rows(table: str, column: str, value) -> list[str]:
    """Every column of the matching rows as one text each, read with SQL: nothing the ORM might hide."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {connection.ops.quote_name(table)} WHERE {connection.ops.quote_name(column)} = %s",
            [value],
        )
        return [" | ".join(str(cell) for cell in row) for row in cursor.fetchall()]


@pytest.fixture
def rich_resident(head_a, worker_a, resident_a, resident_user_a, tag, community_a, building_a, household_a):
    """resident_a with everything erasure removes: notes, a care tag, a consent with a guardian, a login
    with a name and e-mail, two versions in the history, a reveal log row, and a request with contacts."""
    services.resident_update(actor=head_a, resident=resident_a, notes="腿脚不便，住在女儿家")
    resident_a.refresh_from_db()
    Resident.objects.filter(pk=resident_a.pk).update(
        legal_basis=LegalBasis.CONSENT, consent_date=dt.date(2025, 3, 1), guardian_name="张监护"
    )
    resident_a.refresh_from_db()
    resident_a.care_tags.add(tag)
    resident_user_a.first_name, resident_user_a.last_name = "焱", "张"
    resident_user_a.email = "zhangyan@example.cn"
    resident_user_a.save()
    privacy.personal_data_reveal(
        actor=head_a, resident=resident_a, field="phone", reason="回访", ip_address="10.0.0.1"
    )
    categories_seed(community=community_a)
    service_request, _created = service_request_create(
        actor=worker_a.user,
        community=community_a,
        category=community_a.categories.get(name="代开药"),
        title="代开降压药",
        requester=resident_a,
        household=household_a,
        building=building_a,
        contact_name="张焱",
        contact_phone="13812341234",
        assignee=worker_a,
    )
    return resident_a


OLD = (
    "张焱",
    "zhangyan",
    "13812341234",
    "1950-03-15",
    "19500315",
    "腿脚不便",
    "张监护",
    "zhangyan@example.cn",
)


class TestErasure:
    def test_anonymises_the_row_and_keeps_what_statistics_need(self, head_a, rich_resident, household_a, tag):
        old = Resident.objects.get(pk=rich_resident.pk)
        login = old.user
        accesses = PersonalDataAccess.objects.filter(resident=old).count()
        privacy.resident_erase(actor=head_a, resident=old, reason="本人申请删除")
        resident = Resident.objects.get(pk=old.pk)
        assert resident.name == privacy.erased_name(resident.pk)
        assert str(resident.pk) in resident.name
        assert (resident.phone, resident.id_number, resident.notes, resident.guardian_name) == (
            "",
            "",
            "",
            "",
        )
        assert (resident.name_pinyin, resident.name_initials) == ("", "")
        assert resident.birth_date == dt.date(1950, 1, 1)  # the year stays for the age statistics
        assert resident.erased_at is not None
        assert resident.user is None
        assert list(resident.care_tags.all()) == []
        # Kept: the place, the gender, the basis and its date (the model requires a dated consent).
        assert (resident.household, resident.community_id, resident.gender) == (
            household_a,
            old.community_id,
            old.gender,
        )
        assert (resident.legal_basis, resident.consent_date) == ("consent", dt.date(2025, 3, 1))
        login.refresh_from_db()
        assert not login.is_active and not login.has_usable_password()
        assert (login.first_name, login.last_name, login.email) == ("", "", "")
        assert PersonalDataAccess.objects.filter(resident=resident).count() == accesses == 1
        assert CareTag.objects.filter(pk=tag.pk).exists()

    def test_leaves_a_last_history_entry_naming_who_erased_and_why(self, head_a, rich_resident):
        privacy.resident_erase(actor=head_a, resident=rich_resident, reason="本人申请删除")
        latest = rich_resident.history.order_by("-history_date", "-history_id").first()
        assert latest.history_change_reason == "erased: 本人申请删除"
        assert latest.history_user == head_a
        assert latest.history_type == "~"
        record = selectors.erasure_record(rich_resident)
        assert record.pk == latest.pk and record.history_user == head_a

    def test_no_trace_in_any_column_of_the_rows_and_their_history(self, head_a, rich_resident):
        resident_history = Resident.history.model._meta.db_table
        request_history = ServiceRequest.history.model._meta.db_table
        before = raw_rows(resident_history, "id", rich_resident.pk)
        assert len(before) >= 2 and any("13812341234" in row for row in before)  # the test sees the data
        assert any("张焱" in row for row in raw_rows(request_history, "requester_id", rich_resident.pk))
        privacy.resident_erase(actor=head_a, resident=rich_resident, reason="本人申请删除")
        rows = {
            "resident": raw_rows(Resident._meta.db_table, "id", rich_resident.pk),
            "resident history": raw_rows(resident_history, "id", rich_resident.pk),
            "requests": raw_rows(ServiceRequest._meta.db_table, "requester_id", rich_resident.pk),
            "request history": raw_rows(request_history, "requester_id", rich_resident.pk),
        }
        assert len(rows["resident history"]) == len(before) + 1
        assert rows["requests"] and rows["request history"]
        leaks = [
            (where, old) for where, texts in rows.items() for text in texts for old in OLD if old in text
        ]
        assert leaks == []

    def test_requests_and_the_three_rates_stay_the_same(
        self, head_a, community_a, building_a, worker_a, resident_a
    ):
        month = build_month(community_a, building_a, worker_a, head_a)
        ServiceRequest.objects.filter(community=community_a).update(
            requester=resident_a, contact_name="张焱", contact_phone="13812341234"
        )
        now = timezone.now()

        def figures():
            total = dashboard_selectors.rate_tables(
                [community_a], month.period, now, community=community_a
            ).total
            return (
                total.received,
                total["cancelled"],
                (total.response.num, total.response.den, total.response.percent),
                (total.resolution.num, total.resolution.den, total.resolution.percent),
                (total.satisfaction.num, total.satisfaction.den, total.satisfaction.percent),
                (total.proactive, total.reactive),
                ServiceRequest.objects.filter(requester=resident_a).count(),
            )

        before = figures()
        assert before[0] == 10
        privacy.resident_erase(actor=head_a, resident=resident_a, reason="本人申请删除")
        assert figures() == before
        assert not ServiceRequest.objects.filter(requester=resident_a).exclude(contact_phone="").exists()

    def test_a_failing_hook_leaves_everything_as_it_was(self, head_a, rich_resident, monkeypatch):
        def breaks(*, resident, actor):
            raise RuntimeError("disk full")

        # After the requests' own hook: the history and the requests were already scrubbed when it fails.
        monkeypatch.setattr(privacy, "ERASURE_HOOKS", [erase_request_contacts, breaks])
        history_table = Resident.history.model._meta.db_table
        request_history = ServiceRequest.history.model._meta.db_table
        before = (
            raw_rows(Resident._meta.db_table, "id", rich_resident.pk),
            raw_rows(history_table, "id", rich_resident.pk),
            raw_rows(ServiceRequest._meta.db_table, "requester_id", rich_resident.pk),
            raw_rows(request_history, "requester_id", rich_resident.pk),
        )
        with pytest.raises(RuntimeError):
            privacy.resident_erase(actor=head_a, resident=rich_resident, reason="本人申请删除")
        after = (
            raw_rows(Resident._meta.db_table, "id", rich_resident.pk),
            raw_rows(history_table, "id", rich_resident.pk),
            raw_rows(ServiceRequest._meta.db_table, "requester_id", rich_resident.pk),
            raw_rows(request_history, "requester_id", rich_resident.pk),
        )
        assert after == before
        resident = Resident.objects.get(pk=rich_resident.pk)
        assert resident.erased_at is None and resident.care_tags.count() == 1
        assert resident.user.is_active

    def test_the_stations_hook_is_registered(self):
        assert erase_request_contacts in privacy.ERASURE_HOOKS

    def test_needs_the_permission_and_the_community(self, worker_a, head_b, resident_a):
        for actor in (worker_a.user, head_b):
            with pytest.raises(PermissionError):
                privacy.resident_erase(actor=actor, resident=resident_a, reason="本人申请删除")
        resident_a.refresh_from_db()
        assert resident_a.erased_at is None and resident_a.name == "张焱"

    @pytest.mark.parametrize("reason", ["", " ", "x"])
    def test_needs_a_reason(self, head_a, resident_a, reason):
        with pytest.raises(ValidationError) as exc:
            privacy.resident_erase(actor=head_a, resident=resident_a, reason=reason)
        assert errors_of(exc) == {"reason": ["reason_required"]}
        resident_a.refresh_from_db()
        assert resident_a.erased_at is None

    def test_twice_is_refused(self, head_a, resident_a):
        privacy.resident_erase(actor=head_a, resident=resident_a, reason="本人申请删除")
        with pytest.raises(ValidationError) as exc:
            privacy.resident_erase(actor=head_a, resident=resident_a, reason="再删一次")
        assert exc.value.error_list[0].code == "erased"
        assert resident_a.history.filter(history_change_reason__startswith="erased").count() == 1

    def test_erased_cannot_be_changed_or_revealed(self, head_a, resident_a):
        privacy.resident_erase(actor=head_a, resident=resident_a, reason="本人申请删除")
        resident_a.refresh_from_db()
        with pytest.raises(ValidationError) as exc:
            services.resident_update(actor=head_a, resident=resident_a, name="张焱", phone="13812341234")
        assert exc.value.error_list[0].code == "erased"
        with pytest.raises(ValidationError) as exc:
            privacy.personal_data_reveal(
                actor=head_a, resident=resident_a, field="phone", reason="回访", ip_address=None
            )
        assert exc.value.error_list[0].code == "erased"
        resident_a.refresh_from_db()
        assert resident_a.phone == "" and not PersonalDataAccess.objects.exists()

    def test_erased_are_not_in_the_directory_nor_in_search(
        self, as_user, head_a, worker_a, resident_a, household_a
    ):
        other = factories.ResidentFactory(household=household_a, name="王芳")
        privacy.resident_erase(actor=head_a, resident=resident_a, reason="本人申请删除")
        client = as_user(worker_a.user)
        listed = client.get(reverse("residents:resident_list")).context["page"].object_list
        assert [r.pk for r in listed] == [other.pk]
        found = client.get(reverse("residents:resident_list"), {"q": privacy.erased_name(resident_a.pk)})
        assert list(found.context["page"].object_list) == []
        # The desk's lookup (request intake) does not find them either.
        assert list(selectors.resident_search(Resident.objects.all(), "301")) == [other]
        lookup = client.get(reverse("stations:resident_lookup"), {"q": "301"})
        assert [r.pk for r in lookup.context["results"]] == [other.pk]


class TestErasureViews:
    def url(self, resident) -> str:
        return reverse("residents:resident_erase", args=[resident.pk])

    def test_get_asks_and_changes_nothing(self, as_user, head_a, resident_a):
        response = as_user(head_a).get(self.url(resident_a))
        assert response.status_code == 200
        assert "reason" in response.context["form"].fields
        resident_a.refresh_from_db()
        assert resident_a.erased_at is None and resident_a.name == "张焱"

    def test_other_methods_are_refused(self, as_user, head_a, resident_a):
        assert as_user(head_a).put(self.url(resident_a)).status_code == 405

    def test_post_erases_and_the_page_says_by_whom(self, as_user, head_a, resident_a):
        client = as_user(head_a)
        response = client.post(self.url(resident_a), {"reason": "本人申请删除", "confirm": "on"})
        assert response.status_code == 302 and response["Location"] == resident_a.get_absolute_url()
        resident_a.refresh_from_db()
        assert resident_a.erased_at is not None and resident_a.name == privacy.erased_name(resident_a.pk)
        page = client.get(resident_a.get_absolute_url())
        body = page.content.decode()
        assert page.context["erasure"].history_user == head_a
        assert (
            "head_a" in body and timezone.localtime(resident_a.erased_at).strftime("%Y-%m-%d %H:%M") in body
        )
        assert reverse("residents:resident_update", args=[resident_a.pk]) not in body
        assert self.url(resident_a) not in body
        # A second visit to the erase page goes back to the resident.
        assert client.get(self.url(resident_a)).status_code == 302

    def test_missing_reason_or_confirmation_is_a_422_and_erases_nothing(self, as_user, head_a, resident_a):
        client = as_user(head_a)
        response = client.post(self.url(resident_a), {"reason": "本人申请删除"})
        assert response.status_code == 422 and "confirm" in response.context["form"].errors
        response = client.post(self.url(resident_a), {"confirm": "on"})
        assert response.status_code == 422 and "reason" in response.context["form"].errors
        resident_a.refresh_from_db()
        assert resident_a.erased_at is None

    def test_rejects_other_community(self, as_user, head_b, resident_a):
        client = as_user(head_b)
        assert client.get(self.url(resident_a)).status_code == 404
        assert (
            client.post(self.url(resident_a), {"reason": "本人申请删除", "confirm": "on"}).status_code == 404
        )
        resident_a.refresh_from_db()
        assert resident_a.erased_at is None

    def test_rejects_missing_permission(self, as_user, worker_a, resident_a):
        client = as_user(worker_a.user)
        assert client.get(self.url(resident_a)).status_code == 403
        assert (
            client.post(self.url(resident_a), {"reason": "本人申请删除", "confirm": "on"}).status_code == 403
        )
        resident_a.refresh_from_db()
        assert resident_a.erased_at is None
        body = client.get(resident_a.get_absolute_url()).content.decode()
        assert self.url(resident_a) not in body

    def test_edit_and_reveal_of_an_erased_resident_are_refused_clearly(self, as_user, head_a, resident_a):
        privacy.resident_erase(actor=head_a, resident=resident_a, reason="本人申请删除")
        client = as_user(head_a)
        edit = reverse("residents:resident_update", args=[resident_a.pk])
        for response in (
            client.get(edit),
            client.post(
                edit, {"name": "张焱", "gender": "female", "relation": "head", "legal_basis": "statutory"}
            ),
            client.post(
                reverse("residents:resident_reveal", args=[resident_a.pk, "phone"]), {"reason": "回访"}
            ),
        ):
            assert response.status_code == 302 and response["Location"] == resident_a.get_absolute_url()
        messages = [str(m) for m in client.get(resident_a.get_absolute_url()).context["messages"]]
        assert len(messages) == 3
        htmx = client.post(
            reverse("residents:resident_reveal", args=[resident_a.pk, "phone"]),
            {"reason": "回访"},
            headers={"HX-Request": "true"},
        )
        assert htmx.headers["HX-Redirect"] == resident_a.get_absolute_url()
        resident_a.refresh_from_db()
        assert resident_a.name == privacy.erased_name(resident_a.pk)
        assert not PersonalDataAccess.objects.exists()


# --- Exports ---------------------------------------------------------------------------------------------


def export(client, **data):
    payload = {"file_format": "csv", "reason": "核对低保名单", **data}
    return client.post(reverse("residents:resident_export"), payload)


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(response):
    book = load_workbook(io.BytesIO(response.content))
    return book.active


@pytest.fixture
def roster(resident_a, household_a, building_a, tag):
    """resident_a (tagged) and two neighbours, one in another building."""
    resident_a.care_tags.add(tag)
    resident_a.birth_date = dt.date(1950, 3, 15)  # as in the ID number
    resident_a.save(update_fields=["birth_date"])
    neighbour = factories.ResidentFactory(household=household_a, name="王芳", phone="13900005678")
    elsewhere = factories.ResidentFactory(
        household=factories.HouseholdFactory(
            building=factories.BuildingFactory(community=building_a.community, number="2号楼")
        ),
        name="李四",
    )
    return {"zhang": resident_a, "wang": neighbour, "li": elsewhere}


class TestExports:
    def test_get_shows_the_count_and_logs_nothing(self, as_user, head_a, roster, building_a):
        client = as_user(head_a)
        response = client.get(reverse("residents:resident_export"), {"building": building_a.pk})
        assert response.status_code == 200
        assert response.context["count"] == 2
        assert response.context["form"]["building"].value() == building_a.pk
        assert not PersonalDataExport.objects.exists()

    def test_csv_is_masked_and_logged(self, as_user, head_a, community_a, roster):
        response = export(as_user(head_a), q="", reason=" 核对低保名单 ")
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="residents-AHL-')
        assert response["Cache-Control"] == "no-store"
        rows = csv_rows(response)
        body = {row[NAME]: row for row in rows[1:]}
        assert set(body) == {"张焱", "王芳", "李四"}
        assert body["张焱"][PHONE] == "138****1234"
        assert body["张焱"][ID_NUMBER] == roster["zhang"].masked_id_number
        assert body["张焱"][BIRTH] == "1950-03-15"
        assert body["张焱"][TAGS] == "独居老人"
        assert "13812341234" not in response.content.decode()
        log = PersonalDataExport.objects.get()
        assert (log.actor, log.community, log.file_format, log.row_count, log.unmasked) == (
            head_a,
            community_a,
            "csv",
            3,
            False,
        )
        assert (log.reason, log.filters, log.ip_address) == ("核对低保名单", "", "127.0.0.1")

    def test_xlsx_with_full_numbers_for_a_user_who_may_reveal(self, as_user, head_a, roster, building_a, tag):
        response = export(
            as_user(head_a), file_format="xlsx", unmasked="on", building=building_a.pk, tag=tag.pk, q="zy"
        )
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        sheet = xlsx_rows(response)
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 2
        assert rows[1][NAME] == "张焱"
        assert rows[1][PHONE] == "13812341234" and rows[1][ID_NUMBER] == roster["zhang"].id_number
        assert sheet.cell(row=2, column=ID_NUMBER + 1).data_type == "s"  # text: Excel keeps every digit
        assert rows[1][BIRTH].date() == dt.date(1950, 3, 15)
        log = PersonalDataExport.objects.get()
        assert (log.file_format, log.row_count, log.unmasked) == ("xlsx", 1, True)
        assert "zy" in log.filters and "1号楼" in log.filters and tag.name in log.filters

    def test_without_the_reveal_permission_numbers_stay_masked(self, as_user, worker_a, roster):
        worker_a.user.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
        client = as_user(worker_a.user)
        page = client.get(reverse("residents:resident_export"))
        assert "unmasked" not in page.context["form"].fields
        response = export(client, unmasked="on")
        assert response.status_code == 200
        assert "13812341234" not in response.content.decode()
        assert PersonalDataExport.objects.get().unmasked is False
        with pytest.raises(PermissionError):
            privacy.personal_data_export(
                actor=worker_a.user,
                community=worker_a.community,
                file_format="csv",
                reason="核对",
                unmasked=True,
            )
        assert PersonalDataExport.objects.count() == 1

    def test_rejects_missing_permission(self, as_user, worker_a, roster):
        client = as_user(worker_a.user)
        assert client.get(reverse("residents:resident_export")).status_code == 403
        assert export(client).status_code == 403
        assert not PersonalDataExport.objects.exists()
        listed = client.get(reverse("residents:resident_list")).content.decode()
        assert reverse("residents:resident_export") not in listed

    def test_rejects_another_communitys_building_and_never_exports_its_residents(
        self, as_user, head_b, roster, building_a, resident_b
    ):
        client = as_user(head_b)
        response = export(client, building=building_a.pk)
        assert response.status_code == 422
        assert not PersonalDataExport.objects.exists()
        rows = csv_rows(export(client))
        assert [row[NAME] for row in rows[1:]] == ["李娜"]
        assert PersonalDataExport.objects.get().community == resident_b.community

    def test_reason_required(self, as_user, head_a, roster):
        response = export(as_user(head_a), reason="")
        assert response.status_code == 422
        assert "reason" in response.context["form"].errors
        assert not PersonalDataExport.objects.exists()

    def test_erased_residents_are_not_exported(self, as_user, head_a, roster):
        privacy.resident_erase(actor=head_a, resident=roster["wang"], reason="本人申请删除")
        rows = csv_rows(export(as_user(head_a)))
        assert {row[NAME] for row in rows[1:]} == {"张焱", "李四"}

    def test_formula_guard_in_csv_and_xlsx(self, as_user, head_a, household_a):
        evil_tag = CareTag.objects.create(code="evil", name="@SUM(1+1)")
        factories.ResidentFactory(household=household_a, name=FORMULA).care_tags.add(evil_tag)
        client = as_user(head_a)
        row = csv_rows(export(client))[1]
        assert row[NAME] == "'" + FORMULA and row[TAGS] == "'@SUM(1+1)"
        sheet = xlsx_rows(export(client, file_format="xlsx"))
        assert sheet.cell(row=2, column=NAME + 1).value == "'" + FORMULA
        assert sheet.cell(row=2, column=NAME + 1).data_type == "s"
        assert sheet.cell(row=2, column=TAGS + 1).value == "'@SUM(1+1)"

    @pytest.mark.parametrize("file_format", ["csv", "xlsx"])
    def test_constant_number_of_queries(self, as_user, head_a, household_a, tag, file_format):
        client = as_user(head_a)

        def queries_for(count: int) -> int:
            for _ in range(count):
                factories.ResidentFactory(household=household_a).care_tags.add(tag)
            export(client, file_format=file_format)  # warm the session and permission caches
            with CaptureQueriesContext(connection) as context:
                response = export(client, file_format=file_format)
            assert response.status_code == 200
            return len(context.captured_queries)

        small = queries_for(2)
        large = queries_for(30)
        assert small == large
        assert PersonalDataExport.objects.order_by("-pk").first().row_count == 32


class TestAccessLog:
    def test_exports_beside_reveals_scoped_and_paginated(
        self, as_user, head_a, head_b, resident_a, resident_b
    ):
        for index in range(30):
            PersonalDataExport.objects.create(
                actor=head_a,
                community=resident_a.community,
                file_format="csv",
                row_count=index,
                reason=f"A{index}",
            )
        PersonalDataExport.objects.create(
            actor=head_b, community=resident_b.community, file_format="xlsx", row_count=7, reason="B-only"
        )
        privacy.personal_data_reveal(
            actor=head_a, resident=resident_a, field="phone", reason="回访", ip_address=None
        )
        client = as_user(head_a)
        reveals = client.get(reverse("residents:access_log"))
        assert [a.resident for a in reveals.context["page"]] == [resident_a]
        first = client.get(reverse("residents:access_log"), {"tab": "exports"})
        assert first.context["tab"] == "exports"
        assert len(first.context["page"].object_list) == 25
        second = client.get(reverse("residents:access_log"), {"tab": "exports", "page": 2})
        shown = list(first.context["page"]) + list(second.context["page"])
        assert {e.reason for e in shown} == {f"A{i}" for i in range(30)}
        assert "tab=exports&amp;page=2" in first.content.decode()
        assert "B-only" not in first.content.decode() + second.content.decode()

    def test_workers_cannot_read_it(self, as_user, worker_a):
        client = as_user(worker_a.user)
        assert client.get(reverse("residents:access_log"), {"tab": "exports"}).status_code == 403


# --- Admin and the formula guard ------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.cn", "onedesk-test-pw")


class TestAdmin:
    def test_logs_are_read_only(self, client, superuser, head_a, resident_a):
        export_log = PersonalDataExport.objects.create(
            actor=head_a, community=resident_a.community, file_format="csv", row_count=1, reason="核对"
        )
        access = PersonalDataAccess.objects.create(
            actor=head_a, resident=resident_a, field="phone", reason="回访"
        )
        client.force_login(superuser)
        for model, obj in (("personaldataexport", export_log), ("personaldataaccess", access)):
            base = f"/admin/residents/{model}/"
            assert client.get(base).status_code == 200
            assert client.get(f"{base}add/").status_code == 403
            assert client.get(f"{base}{obj.pk}/delete/").status_code == 403
            assert client.post(f"{base}{obj.pk}/change/", {"reason": "改了"}).status_code == 403
        export_log.refresh_from_db()
        access.refresh_from_db()
        assert (export_log.reason, access.reason) == ("核对", "回访")

    def test_resident_history_in_the_admin_masks_numbers(self, client, superuser, head_a, resident_a):
        services.resident_update(actor=head_a, resident=resident_a, phone="13900009999")
        client.force_login(superuser)
        for url in ("/admin/residents/resident/", f"/admin/residents/resident/{resident_a.pk}/history/"):
            response = client.get(url)
            assert response.status_code == 200
            body = response.content.decode()
            assert "13900009999" not in body and "13812341234" not in body
        assert "139****9999" in body and "138****1234" in body


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("张焱", "张焱"),
        ("138****1234", "138****1234"),
        (12, 12),
        (None, None),
    ],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell
