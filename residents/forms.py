"""Forms of the registry: they validate and normalise with the services' rules and never save."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Layout, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from community.lib.validators import normalize_id_number, normalize_name, normalize_phone
from residents.choices import Gender, Relation
from residents.models import Building, CareTag, Enterprise, Household


class VersionedForm(forms.Form):
    """Carries the edited row's updated_at so a second editor is told instead of overwriting."""

    version = forms.CharField(widget=forms.HiddenInput, required=False)


class ResidentForm(VersionedForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, initial=Gender.UNKNOWN)
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
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
    household = forms.ModelChoiceField(
        label=_("Household"), queryset=Household.objects.none(), required=False
    )
    relation = forms.ChoiceField(
        label=_("Relation to head"), choices=Relation.choices, initial=Relation.OTHER
    )
    employer = forms.ModelChoiceField(label=_("Works at"), queryset=Enterprise.objects.none(), required=False)
    care_tags = forms.ModelMultipleChoiceField(
        label=_("Care tags"),
        queryset=CareTag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )

    def __init__(self, *args, households=None, enterprises=None, editing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if households is not None:
            self.fields["household"].queryset = households
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
            "name",
            Div(Div("gender", css_class="col-6"), Div("birth_date", css_class="col-6"), css_class="row"),
            Field("phone"),
            Field("id_number"),
            "household",
            "relation",
            "employer",
            "care_tags",
            "notes",
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


class HouseholdForm(VersionedForm):
    building = forms.ModelChoiceField(label=_("Building"), queryset=Building.objects.none())
    entrance = forms.IntegerField(label=_("Entrance"), min_value=1, max_value=99, initial=1)
    room = forms.CharField(label=_("Room"), max_length=16)
    notes = forms.CharField(
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
    building = forms.ModelChoiceField(label=_("Building"), queryset=Building.objects.none(), required=False)
    tag = forms.ModelChoiceField(label=_("Care tag"), queryset=CareTag.objects.all(), required=False)

    def __init__(self, *args, buildings=None, **kwargs):
        super().__init__(*args, **kwargs)
        if buildings is not None:
            self.fields["building"].queryset = buildings


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("Why do you need to see it?"), max_length=200, min_length=2)


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
