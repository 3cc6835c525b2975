"""Admin for the registry. Lists show masked numbers only (the history list's changes too); the change
form is for superusers. The personal data logs are read-only: nobody adds, changes or deletes a row."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from community.lib.history import MASKED_FIELDS
from residents.models import (
    Building,
    CareTag,
    Community,
    Enterprise,
    Household,
    ImportBatch,
    Membership,
    PersonalDataAccess,
    PersonalDataExport,
    Resident,
    Subdistrict,
)


class MaskedHistoryHelper(HistoricalRecordContextHelper):
    """The history list's "Changes" column shows numbers masked, as every other list does."""

    def prepare_delta_change_value(self, change, value):
        mask = MASKED_FIELDS.get(change.field)  # the same fields the History pages mask
        if mask is not None:
            return mask(value or "")
        return super().prepare_delta_change_value(change, value)


class MaskedHistoryAdmin(SimpleHistoryAdmin):
    def get_historical_record_context_helper(self, request, historical_record):
        return MaskedHistoryHelper(self.model, historical_record)


class ReadOnlyLogAdmin(admin.ModelAdmin):
    """A log is written only by the action it records (a reveal, an export)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Subdistrict)
class SubdistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "district"]
    search_fields = ["name"]


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "subdistrict"]
    list_select_related = ["subdistrict"]
    search_fields = ["name", "code"]


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ["number", "community", "kind", "entrances", "floors"]
    list_filter = ["kind", "community"]
    list_select_related = ["community"]
    search_fields = ["number"]


@admin.register(Household)
class HouseholdAdmin(MaskedHistoryAdmin):
    list_display = ["building", "entrance", "room"]
    list_select_related = ["building"]
    list_filter = ["building__community"]
    search_fields = ["room", "building__number"]
    raw_id_fields = ["building"]


@admin.register(CareTag)
class CareTagAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "colour", "visit_cadence_days", "position"]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code", "building", "contact_name", "masked_contact_phone"]
    list_select_related = ["building"]
    search_fields = ["name", "credit_code"]
    raw_id_fields = ["building"]

    @admin.display(description=_("contact phone"))
    def masked_contact_phone(self, obj: Enterprise) -> str:
        return obj.masked_contact_phone


@admin.register(Resident)
class ResidentAdmin(MaskedHistoryAdmin):
    list_display = ["name", "community", "household", "masked_phone", "masked_id_number", "legal_basis"]
    list_select_related = ["community", "household__building"]
    list_filter = ["community", "legal_basis", "care_tags"]
    search_fields = ["name", "name_pinyin", "name_initials"]
    raw_id_fields = ["household", "employer", "user"]
    readonly_fields = ["name_pinyin", "name_initials", "erased_at"]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Resident) -> str:
        return obj.masked_phone

    @admin.display(description=_("ID card number"))
    def masked_id_number(self, obj: Resident) -> str:
        return obj.masked_id_number


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "community", "subdistrict"]
    list_select_related = ["user", "community", "subdistrict"]
    raw_id_fields = ["user"]


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyLogAdmin):
    list_display = ["at", "actor", "resident", "field", "reason", "ip_address"]
    list_select_related = ["actor", "resident"]


@admin.register(PersonalDataExport)
class PersonalDataExportAdmin(ReadOnlyLogAdmin):
    list_display = [
        "at",
        "actor",
        "community",
        "file_format",
        "row_count",
        "unmasked",
        "reason",
        "ip_address",
    ]
    list_select_related = ["actor", "community"]
    list_filter = ["community", "unmasked"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["filename", "community", "status", "rows_checked", "created_at", "created_by"]
    list_select_related = ["community", "created_by"]
    exclude = ["rows"]
