"""Forms of the staff request pages: intake and the action forms of the detail page.
They validate and normalise; the services decide and save."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from community.lib.choices import CompiledModelChoiceField
from community.lib.submissions import SubmissionKeyField
from community.lib.validators import (
    CleanTextField,
    normalize_name,
    normalize_phone,
    validate_plausible_date,
)
from stations.choices import PROACTIVE_CHANNELS, Channel, Satisfaction, Urgency
from stations.models import Category
from stations.workflow import TRANSITION_ACTIONS

MAX_PHOTOS = 5
TEXT_MAX = 5000


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (possibly empty)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def category_choices(categories) -> list:
    """<optgroup> per parent with its leaf categories; a parent without children is selectable itself."""
    categories = list(categories)
    parents_with_children = {c.parent_id for c in categories if c.parent_id}
    groups: dict[int, tuple[str, list]] = {}
    loose: list[tuple[int, str]] = []
    for category in categories:
        if category.parent_id is None:
            if category.pk not in parents_with_children:
                loose.append((category.pk, category.name))
            continue
        groups.setdefault(category.parent_id, (category.parent.name, []))[1].append(
            (category.pk, category.name)
        )
    return [("", _("Choose a category")), *[(name, items) for name, items in groups.values()], *loose]


class RequestIntakeForm(forms.Form):
    """One screen for a phone in a stairwell: who, what, how it came in, photos."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    requester = CompiledModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    contact_name = forms.CharField(
        label=_("Contact name"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    contact_phone = forms.CharField(
        label=_("Contact phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    requester_enterprise = forms.ModelChoiceField(
        label=_("Enterprise"), queryset=None, required=False, empty_label=_("No enterprise")
    )
    building = forms.ModelChoiceField(
        label=_("Building"),
        queryset=None,
        required=False,
        empty_label=_("From the requester"),
        help_text=_("Only needed when nobody from the registry is chosen."),
    )
    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    title = CleanTextField(
        label=_("Title"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Say in a few words what the request is about.")},
    )
    description = CleanTextField(
        label=_("Description"), required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.WALK_IN)
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL, widget=forms.RadioSelect
    )
    photos = MultipleFileField(
        label=_("Photos"),
        required=False,
        help_text=_("Up to %(max)d photos.") % {"max": MAX_PHOTOS},
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def __init__(self, *args, residents, enterprises, buildings, categories, resident_get=None, **kwargs):
        """`resident_get`: the resident of an id among `residents`, or None (CompiledChoice)."""
        super().__init__(*args, **kwargs)
        self.fields["requester"].queryset = residents
        self.fields["requester"].compiled_get = resident_get
        self.fields["requester_enterprise"].queryset = enterprises
        self.fields["building"].queryset = buildings
        categories = list(categories)
        self.categories = {c.pk: c for c in categories}
        self.fields["category"].choices = category_choices(categories)

    def clean_category(self) -> Category:
        category = self.categories.get(self.cleaned_data["category"])
        if category is None:
            raise ValidationError(_("Choose a category of this community."), code="invalid_choice")
        return category

    def clean_contact_name(self) -> str:
        value = self.cleaned_data["contact_name"]
        return normalize_name(value) if value.strip() else ""

    def clean_contact_phone(self) -> str:
        value = self.cleaned_data["contact_phone"]
        return normalize_phone(value) if value.strip() else ""

    def clean_photos(self) -> list:
        photos = self.cleaned_data["photos"]
        if len(photos) > MAX_PHOTOS:
            raise ValidationError(_("At most %(max)d photos.") % {"max": MAX_PHOTOS}, code="too_many")
        return photos

    def clean(self) -> dict:
        data = super().clean()
        known = data.get("requester") or data.get("requester_enterprise")
        proactive = data.get("channel") in PROACTIVE_CHANNELS
        # Someone has to be reachable for the answer, unless the worker found the need themselves.
        if (
            not known
            and not proactive
            and "contact_name" not in self.errors
            and "contact_phone" not in self.errors
        ):
            if not data.get("contact_name"):
                self.add_error(
                    "contact_name", _("Choose a resident from the registry or enter a contact name.")
                )
            if not data.get("contact_phone"):
                self.add_error("contact_phone", _("Enter a phone number to call back."))
        return data


class ActionForm(forms.Form):
    """Every action carries the version of the request the user saw (optimistic locking)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class TransitionForm(ActionForm):
    to_status = forms.ChoiceField(choices=[(s, s) for s in sorted(set(TRANSITION_ACTIONS.values()))])
    note = CleanTextField(
        label=_("Note"), required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class AssignForm(ActionForm):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None)
    note = CleanTextField(label=_("Note"), required=False, max_length=TEXT_MAX)

    def __init__(self, *args, workers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = workers
        self.fields["assignee"].label_from_instance = lambda w: (
            f"{w.display_name} · {w.get_worker_type_display()}"
        )


class UrgeForm(ActionForm):
    note = CleanTextField(label=_("Note"), required=False, max_length=TEXT_MAX)


class ExtensionForm(ActionForm):
    new_due_at = forms.DateTimeField(
        label=_("New deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[validate_plausible_date],
    )
    reason = CleanTextField(label=_("Reason"), max_length=300)


class ExtensionDecideForm(ActionForm):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = CleanTextField(label=_("Note"), required=False, max_length=TEXT_MAX)


class CallbackForm(ActionForm):
    solved = forms.TypedChoiceField(
        label=_("Solved?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    satisfaction = forms.ChoiceField(label=_("Satisfaction"), choices=Satisfaction.choices)
    comment = CleanTextField(
        label=_("Comment"), required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoteForm(forms.Form):
    body = CleanTextField(
        label=_("Note"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the note.")},
    )
    is_public = forms.BooleanField(label=_("Show to the requester"), required=False)
    # A second submit of the same form (a double tap) adds no second note.
    submission_key = SubmissionKeyField()


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=_("Photo"), widget=forms.FileInput(attrs={"accept": "image/*", "capture": "environment"})
    )
    # A second submit of the same form (a double tap, a resend on a slow connection) adds no second photo.
    submission_key = SubmissionKeyField()
