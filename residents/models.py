"""The registry: the places (subdistricts, communities, buildings, households) and the people in them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from community.lib.models import ChoiceLabels
from community.lib.validators import mask_id_number, mask_phone
from residents.choices import (
    BuildingKind,
    Gender,
    ImportStatus,
    LegalBasis,
    PersonalField,
    Relation,
    TagColour,
)


def _choices_check(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class Subdistrict(models.Model):
    """A subdistrict (街道) office: it oversees several communities."""

    name = models.CharField(_("name"), max_length=64)
    district = models.CharField(_("district"), max_length=64)

    class Meta:
        ordering = ["district", "name"]
        verbose_name = _("subdistrict")
        verbose_name_plural = _("subdistricts")
        constraints = [models.UniqueConstraint(fields=["district", "name"], name="subdistrict_unique_name")]

    def __str__(self) -> str:
        return self.name


class Community(models.Model):
    """One residents' committee's area: the unit that owns data. Users of one never see another's."""

    subdistrict = models.ForeignKey(
        Subdistrict, on_delete=models.PROTECT, related_name="communities", verbose_name=_("subdistrict")
    )
    name = models.CharField(_("name"), max_length=64)
    office_area_m2 = models.DecimalField(
        _("office area (m²)"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("Desk and back-office area; the rest of the station is service area for residents."),
    )
    code = models.CharField(
        _("short code"),
        max_length=8,
        unique=True,
        help_text=_("Capital letters used in request references, e.g. AHL."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "name"], name="community_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("residents:community_detail", args=[self.pk])


class Building(ChoiceLabels, models.Model):
    """A building (楼): residential, an apartment block or an office building."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="buildings", verbose_name=_("community")
    )
    number = models.CharField(_("number or name"), max_length=32, help_text=_("e.g. 3号楼"))
    kind = models.CharField(
        _("kind"), max_length=16, choices=BuildingKind.choices, default=BuildingKind.RESIDENTIAL
    )
    entrances = models.PositiveSmallIntegerField(_("entrances"), default=1)
    floors = models.PositiveSmallIntegerField(_("floors"), default=6)
    address = models.CharField(_("street address"), max_length=128, blank=True)
    position = models.PositiveIntegerField(
        _("sort position"), default=0, help_text=_("Buildings are listed in this order (2 before 10).")
    )

    class Meta:
        ordering = ["community", "position", "number"]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [
            models.UniqueConstraint(fields=["community", "number"], name="building_unique_number"),
            _choices_check("kind", BuildingKind, "building_kind_valid"),
            models.CheckConstraint(condition=Q(entrances__gte=1), name="building_entrances_positive"),
            models.CheckConstraint(condition=Q(floors__gte=1), name="building_floors_positive"),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("residents:building_detail", args=[self.pk])


class Household(models.Model):
    """A household (户): one dwelling, identified by building, entrance and room. Its file is 一户一档."""

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="households", verbose_name=_("building")
    )
    entrance = models.PositiveSmallIntegerField(_("entrance"), default=1)
    room = models.CharField(_("room"), max_length=16)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["building", "entrance", "room"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            # One household per dwelling: a re-import or a double submit cannot create a second one.
            models.UniqueConstraint(
                fields=["building", "entrance", "room"], name="household_unique_dwelling"
            ),
            models.CheckConstraint(condition=Q(entrance__gte=1), name="household_entrance_positive"),
        ]
        indexes = [
            # Resident search by a room typed alone ("301"): the room across the buildings of a community.
            models.Index(fields=["room"], name="household_room_idx"),
        ]

    def __str__(self) -> str:
        return _("%(building)s, entrance %(entrance)s, room %(room)s") % {
            "building": self.building.number,
            "entrance": self.entrance,
            "room": self.room,
        }

    def get_absolute_url(self) -> str:
        return reverse("residents:household_detail", args=[self.pk])


class CareTag(ChoiceLabels, models.Model):
    """A care tag (关爱标签) such as elderly living alone; tagged residents are visited on a cadence."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    colour = models.CharField(_("colour"), max_length=16, choices=TagColour.choices, default=TagColour.BLUE)
    visit_cadence_days = models.PositiveSmallIntegerField(
        _("visit every (days)"),
        null=True,
        blank=True,
        help_text=_("Tagged residents are due a visit this often; empty for no cadence."),
    )
    position = models.PositiveSmallIntegerField(_("sort position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("care tag")
        verbose_name_plural = _("care tags")
        constraints = [_choices_check("colour", TagColour, "caretag_colour_valid")]

    def __str__(self) -> str:
        return self.name


class Enterprise(models.Model):
    """An enterprise in one of the community's office buildings (辖区企业)."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="enterprises", verbose_name=_("community")
    )
    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="enterprises", verbose_name=_("office building")
    )
    name = models.CharField(_("name"), max_length=128)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    floor = models.CharField(_("floor / suite"), max_length=32, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)

    class Meta:
        ordering = ["community", "name"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")

    def __str__(self) -> str:
        return self.name

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone)


class Resident(ChoiceLabels, models.Model):
    """A person: lives in a household (or not yet), may work for an enterprise, may carry care tags."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="residents", verbose_name=_("community")
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
        verbose_name=_("household"),
    )
    relation = models.CharField(
        _("relation to head"), max_length=16, choices=Relation.choices, default=Relation.OTHER
    )
    employer = models.ForeignKey(
        Enterprise,
        on_delete=models.SET_NULL,
        related_name="employees",
        null=True,
        blank=True,
        verbose_name=_("works at"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="resident",
        null=True,
        blank=True,
        verbose_name=_("login"),
    )
    name = models.CharField(_("name"), max_length=64)
    # Filled by the services from the name, for search as people type: 张焱 → zhangyan / zy.
    name_pinyin = models.CharField(_("name in pinyin"), max_length=255, blank=True, editable=False)
    name_initials = models.CharField(_("pinyin initials"), max_length=64, blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, default=Gender.UNKNOWN)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    id_number = models.CharField(_("ID card number"), max_length=18, blank=True)
    care_tags = models.ManyToManyField(
        CareTag, related_name="residents", blank=True, verbose_name=_("care tags")
    )
    notes = models.TextField(_("notes"), blank=True)
    # PIPL: why we may hold this person's data; consent is dated, and for a child under 14 it is the
    # guardian's (art. 31), recorded with the guardian's name.
    legal_basis = models.CharField(
        _("legal basis"), max_length=16, choices=LegalBasis.choices, default=LegalBasis.STATUTORY
    )
    consent_date = models.DateField(_("consent given on"), null=True, blank=True)
    guardian_name = models.CharField(
        _("guardian who consented"),
        max_length=64,
        blank=True,
        help_text=_("Required for a child under 14 whose data is held by consent."),
    )
    # Erasure anonymises the personal fields and keeps the row, so request statistics stay whole.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)
    # The new-resident form's key: a second submit of the same form (a double tap) finds this row.
    submission_key = models.UUIDField(_("submission key"), unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(
        excluded_fields=["updated_at", "name_pinyin", "name_initials", "submission_key"]
    )

    class Meta:
        ordering = ["name_pinyin", "pk"]
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        permissions = [
            ("reveal_personal_data", _("Can reveal phone and ID card numbers")),
            ("export_personal_data", _("Can export residents' personal data")),
            ("erase_resident", _("Can erase a resident's personal data")),
        ]
        constraints = [
            # One person, one record: an ID number appears once (empty means not recorded).
            models.UniqueConstraint(
                fields=["id_number"], condition=~Q(id_number=""), name="resident_unique_id_number"
            ),
            _choices_check("gender", Gender, "resident_gender_valid"),
            _choices_check("relation", Relation, "resident_relation_valid"),
            _choices_check("legal_basis", LegalBasis, "resident_legal_basis_valid"),
            # Consent is a dated act: a resident held by consent has the date it was given.
            models.CheckConstraint(
                condition=~Q(legal_basis=LegalBasis.CONSENT) | Q(consent_date__isnull=False),
                name="resident_consent_dated",
            ),
        ]
        indexes = [
            # Directory: residents of a community ordered by pinyin, and search by pinyin/initials prefix.
            models.Index(fields=["community", "name_pinyin"], name="resident_comm_pinyin_idx"),
            models.Index(fields=["community", "name_initials"], name="resident_comm_initials_idx"),
            # Directory: search by the phone's last digits goes through the community's rows.
            models.Index(fields=["community", "phone"], name="resident_comm_phone_idx"),
            # Directory page (residents.selectors.directory_rows): a community's residents in pinyin order
            # with every column the search tests and a row shows, so the page reads this index alone and
            # visits no table row for the residents its search rejects.
            models.Index(
                fields=["community", "name_pinyin", "id", "name", "name_initials", "phone", "household"],
                condition=Q(erased_at__isnull=True),
                name="resident_directory_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("residents:resident_detail", args=[self.pk])

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


class Membership(models.Model):
    """Where a user belongs: one community (workers, committee heads, residents) or one subdistrict
    (subdistrict staff). The scoping selectors read only this; roles come from the user's groups."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership", verbose_name=_("user")
    )
    community = models.ForeignKey(
        Community,
        on_delete=models.PROTECT,
        related_name="memberships",
        null=True,
        blank=True,
        verbose_name=_("community"),
    )
    subdistrict = models.ForeignKey(
        Subdistrict,
        on_delete=models.PROTECT,
        related_name="memberships",
        null=True,
        blank=True,
        verbose_name=_("subdistrict"),
    )

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=Q(community__isnull=False, subdistrict__isnull=True)
                | Q(community__isnull=True, subdistrict__isnull=False),
                name="membership_one_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.community or self.subdistrict}"


class PersonalDataAccess(ChoiceLabels, models.Model):
    """A reveal of a masked phone or ID number: who saw whose, which field, why, when, from where."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("who")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="data_accesses", verbose_name=_("whose")
    )
    field = models.CharField(_("field"), max_length=16, choices=PersonalField.choices)
    reason = models.CharField(_("reason"), max_length=200)
    ip_address = models.GenericIPAddressField(pgettext_lazy("network address", "from"), null=True, blank=True)
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        constraints = [_choices_check("field", PersonalField, "personaldataaccess_field_valid")]
        indexes = [
            # The committee head's reveal log: newest first, per community via the resident.
            models.Index(fields=["resident", "-at"], name="pda_resident_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} → {self.resident} ({self.field})"


class PersonalDataExport(models.Model):
    """A download of residents' data (the roster): who, which community, how many rows, whether phone
    and ID numbers were in clear, why, when, from where. The committee head reads these beside reveals."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("who")
    )
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="data_exports", verbose_name=_("community")
    )
    file_format = models.CharField(_("format"), max_length=8)
    row_count = models.PositiveIntegerField(_("rows"))
    unmasked = models.BooleanField(_("numbers in clear"), default=False)
    filters = models.CharField(_("filters"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    ip_address = models.GenericIPAddressField(pgettext_lazy("network address", "from"), null=True, blank=True)
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("personal data export")
        verbose_name_plural = _("personal data exports")
        indexes = [
            # The committee head's export log: a community's exports, newest first.
            models.Index(fields=["community", "-at"], name="pde_community_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} → {self.community} ({self.row_count})"


class ImportBatch(ChoiceLabels, models.Model):
    """An uploaded sheet of households and residents: checked in steps (with progress), then applied
    all-or-nothing. Rows are kept as parsed data so the check can resume across requests."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="import_batches", verbose_name=_("community")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    filename = models.CharField(_("file"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.VALIDATING
    )
    rows = models.JSONField(_("rows"), default=list)
    rows_checked = models.PositiveIntegerField(_("rows checked"), default=0)
    errors = models.JSONField(_("errors"), default=list)
    summary = models.JSONField(_("summary"), default=dict)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        constraints = [_choices_check("status", ImportStatus, "importbatch_status_valid")]

    def __str__(self) -> str:
        return self.filename

    def get_absolute_url(self) -> str:
        return reverse("residents:import_detail", args=[self.pk])

    @property
    def rows_total(self) -> int:
        return len(self.rows)

    @property
    def percent_checked(self) -> int:
        return 100 if not self.rows else int(100 * self.rows_checked / len(self.rows))
