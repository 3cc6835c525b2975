"""Forms of the registry: they validate and normalise with the services' rules and never save."""

import uuid

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from community.lib.choices import CommunityModelChoiceField, community_filter_field
from community.lib.validators import (
    CleanTextField,
    birth_date_from_id,
    normalize_id_number,
    normalize_name,
    normalize_phone,
    validate_plausible_date,
)
from residents.choices import Gender, LegalBasis, Relation
from residents.models import Building, CareTag, Enterprise, Household
from residents.privacy import ERASE_REASON_MAX_LENGTH
from residents.selectors import home_address, homes_at
from residents.services import normalise_legal_basis


class CareTagsField(forms.ModelMultipleChoiceField):
    """Django checks the chosen pks with one __in query, which SQLite cannot run for a number beyond 64
    bits (OverflowError: a 500); such a pk is simply not a choice."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk)
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class HomeField(forms.CharField):
    """Where a resident lives, typed as an address ("3-2-301", "3号楼2单元301"), not picked from a <select>
    of every household of the community (about 1,100 of them). Cleans to the one Household of `households`
    at that address, or None when left blank."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)
        self.households = Household.objects.none()

    def prepare_value(self, value):
        return home_address(value) if isinstance(value, Household) else value

    def clean(self, value) -> Household | None:
        text = super().clean(value)
        if not text:
            return None
        homes = homes_at(self.households, text)
        if not homes:
            raise ValidationError(
                _(
                    "No home at “%(address)s” in this community. Write building-entrance-room, e.g. 3-2-301, "
                    "or add the household first."
                ),
                code="no_home",
                params={"address": text},
            )
        if len(homes) > 1:
            raise ValidationError(
                _("“%(address)s” could be %(homes)s. Write the building's number as on its sign."),
                code="ambiguous_home",
                params={"address": text, "homes": "; ".join(home_address(h) for h in homes)},
            )
        return homes[0]


class VersionedForm(forms.Form):
    """Carries the edited row's updated_at so a second editor is told instead of overwriting."""

    version = forms.CharField(widget=forms.HiddenInput, required=False)


class ResidentForm(VersionedForm):
    # New residents only: a second submit of the same form finds the resident the first one saved.
    submission_key = forms.UUIDField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Name"), max_length=200)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, initial=Gender.UNKNOWN)
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_plausible_date],
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    id_number = forms.CharField(
        label=_("ID card number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    household = HomeField(
        label=_("Lives at"),
        required=False,
        help_text=_("Building-entrance-room, e.g. 3-2-301 or 3号楼2单元301. Leave blank if not known."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "3-2-301"}),
    )
    relation = forms.ChoiceField(
        label=_("Relation to head"), choices=Relation.choices, initial=Relation.OTHER
    )
    employer = forms.ModelChoiceField(label=_("Works at"), queryset=Enterprise.objects.none(), required=False)
    care_tags = CareTagsField(
        label=_("Care tags"),
        queryset=CareTag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = CleanTextField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )
    legal_basis = forms.ChoiceField(
        label=_("Why we may hold this data"),
        choices=LegalBasis.choices,
        initial=LegalBasis.STATUTORY,
        widget=forms.RadioSelect,
        help_text=_(
            "Statutory duty: the committee's population and care registers. Consent: the person agreed "
            "(for a child under 14, a guardian)."
        ),
    )
    consent_date = forms.DateField(
        label=_("Consent given on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_plausible_date],
    )
    guardian_name = forms.CharField(
        label=_("Guardian who consented"),
        max_length=200,
        required=False,
        help_text=_("Required for a child under 14 whose data is held by consent."),
    )

    def __init__(
        self, *args, households=None, enterprises=None, editing=None, home_check_url: str = "", **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing is None:
            self.fields["submission_key"].initial = uuid.uuid4
        else:
            del self.fields["submission_key"]
        if households is not None:
            self.fields["household"].households = households
        if home_check_url:  # with htmx, the home found is named under the field as it is typed
            self.fields["household"].widget.attrs.update(
                {
                    "hx-get": home_check_url,
                    "hx-trigger": "input changed delay:300ms",
                    "hx-target": "#home-check",
                }
            )
        if enterprises is not None:
            self.fields["employer"].queryset = enterprises
        if editing is not None:
            # Stored numbers are never put back into the page: blank keeps them.
            for field, masked in (("phone", editing.masked_phone), ("id_number", editing.masked_id_number)):
                if masked:
                    self.fields[field].help_text = _("Now %(masked)s. Leave blank to keep it.") % {
                        "masked": masked
                    }
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "version",
            *(["submission_key"] if editing is None else []),
            "name",
            Div(Div("gender", css_class="col-6"), Div("birth_date", css_class="col-6"), css_class="row"),
            Field("phone"),
            Field("id_number"),
            "household",
            HTML('<div id="home-check" class="small mt-n2 mb-3" aria-live="polite"></div>'),
            "relation",
            "employer",
            "care_tags",
            "notes",
            Fieldset(
                _("Legal basis (PIPL)"),
                "legal_basis",
                Div(
                    Div("consent_date", css_class="col-12 col-sm-5"),
                    Div("guardian_name", css_class="col-12 col-sm-7"),
                    css_class="row",
                ),
            ),
            Submit("save", _("Save"), css_class="w-100"),
        )

    def clean_name(self) -> str:
        return normalize_name(self.cleaned_data["name"])

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"]
        return normalize_phone(value) if value.strip() else ""

    def clean_id_number(self) -> str:
        value = self.cleaned_data["id_number"]
        return normalize_id_number(value) if value.strip() else ""

    def clean(self) -> dict:
        """The legal basis rules of the service, for errors beside their fields. The age rule reads the
        birth date as the service will store it: the ID number's if one is given."""
        data = super().clean()
        if "legal_basis" not in data or "consent_date" not in data:
            return data  # the field already has its error
        birth_date = data.get("birth_date")
        # A blank ID number on the edit form keeps the stored one, which then sets the birth date.
        id_number = data.get("id_number") or (self.editing.id_number if self.editing is not None else "")
        if id_number:
            birth_date = birth_date_from_id(id_number)
        try:
            data.update(
                normalise_legal_basis(
                    legal_basis=data["legal_basis"],
                    consent_date=data["consent_date"],
                    guardian_name=data.get("guardian_name", ""),
                    birth_date=birth_date,
                )
            )
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                for error in errors:
                    self.add_error(field, error)
        return data


class HouseholdForm(VersionedForm):
    building = CommunityModelChoiceField(label=_("Building"), queryset=Building.objects.none())
    entrance = forms.IntegerField(label=_("Entrance"), min_value=1, max_value=99, initial=1)
    room = CleanTextField(label=_("Room"), max_length=16)
    notes = CleanTextField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )

    def __init__(self, *args, buildings=None, editing=None, **kwargs):
        super().__init__(*args, **kwargs)
        if buildings is not None:
            self.fields["building"].queryset = buildings
        if editing is not None:
            del self.fields["building"]
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Save"), css_class="w-100"))


class DirectorySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "placeholder": _("Name, pinyin initials, phone tail, 3-2-301"),
            }
        ),
    )
    building = CommunityModelChoiceField(
        label=_("Building"),
        queryset=Building.objects.none(),
        required=False,
        empty_label=_("All buildings"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    tag = forms.ModelChoiceField(
        label=_("Care tag"),
        queryset=CareTag.objects.all(),
        required=False,
        empty_label=_("All residents"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, buildings=None, building_rows=None, communities=None, **kwargs):
        """`communities`: for a user who sees several (subdistrict staff), a select of them as well.
        `building_rows`: the buildings' rows compiled once (residents.selectors.building_choice_rows)."""
        super().__init__(*args, **kwargs)
        if buildings is not None:
            self.fields["building"].queryset = buildings
        self.fields["building"].compiled_rows = building_rows
        if communities is not None:
            self.fields["community"] = community_filter_field(communities)


class RevealForm(forms.Form):
    reason = CleanTextField(label=_("Why do you need to see it?"), max_length=200, min_length=2)


class EraseForm(forms.Form):
    reason = CleanTextField(
        label=_("Why is this resident's data erased?"),
        max_length=ERASE_REASON_MAX_LENGTH,
        min_length=2,
        help_text=_("Kept in the record's history. Do not write the person's name or numbers here."),
    )
    confirm = forms.BooleanField(label=_("I understand that this cannot be undone."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("erase", _("Erase personal data"), css_class="btn-danger w-100"))


class ExportForm(forms.Form):
    """Exporting the directory's rows: the filters come along hidden; the user says why and how."""

    q = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    building = forms.ModelChoiceField(
        queryset=Building.objects.none(), required=False, widget=forms.HiddenInput
    )
    tag = forms.ModelChoiceField(queryset=CareTag.objects.all(), required=False, widget=forms.HiddenInput)
    file_format = forms.ChoiceField(
        label=_("Format"),
        choices=[
            ("xlsx", _("Excel workbook (.xlsx)")),
            ("csv", _("CSV (.csv), for other programs: Excel shows long numbers rounded")),
        ],
        initial="xlsx",
        widget=forms.RadioSelect,
    )
    unmasked = forms.BooleanField(
        label=_("Include full phone and ID numbers"),
        required=False,
        help_text=_("Otherwise they are masked, as on the pages (138****1234)."),
    )
    reason = CleanTextField(
        label=_("Why do you need this export?"),
        max_length=200,
        min_length=2,
        help_text=_("Logged with the export; the committee head reads the log."),
    )

    def __init__(self, *args, buildings=None, can_unmask: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if buildings is not None:
            self.fields["building"].queryset = buildings
        if not can_unmask:
            del self.fields["unmasked"]
        self.helper = FormHelper()
        self.helper.attrs = {"data-repeatable": ""}  # the answer is a download: the page stays (forms.js)
        self.helper.add_input(Submit("export", _("Download"), css_class="w-100"))


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Sheet (.xlsx or .csv)"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"})
    )

    MAX_BYTES = 5 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith((".xlsx", ".csv")):
            raise ValidationError(_("Upload an .xlsx or .csv file."), code="file_type")
        if upload.size > self.MAX_BYTES:
            raise ValidationError(
                _("The file is larger than 5 MB; split it into smaller sheets."), code="file_size"
            )
        return upload
