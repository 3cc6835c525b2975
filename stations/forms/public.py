"""Forms of the residents' side: submit a request, answer the follow-up (回访), track a request."""

import uuid

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Layout, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from community.lib.validators import CleanTextField
from stations.choices import Satisfaction
from stations.models import Category
from stations.selectors.requests import normalize_phone_tail, normalize_reference

MAX_PHOTOS = 6


def grouped_category_choices(categories) -> list:
    """Choices with one optgroup per parent category; a top-level category without children is a
    plain option. `categories` is `selectors.categories_for(community)` (parents and children)."""
    categories = list(categories)
    children: dict[int, list[Category]] = {}
    for category in categories:
        if category.parent_id is not None:
            children.setdefault(category.parent_id, []).append(category)
    choices: list = [("", _("Choose a category"))]
    for category in categories:
        if category.parent_id is not None:
            continue
        kids = children.get(category.pk)
        if kids:
            choices.append((category.name, [(kid.pk, kid.name) for kid in kids]))
        else:
            choices.append((category.pk, category.name))
    return choices


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several files in one input; each is checked and re-encoded by the service (clean_photo)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/*", "capture": "environment"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single_clean = super().clean
        if isinstance(data, list | tuple):
            files = [single_clean(item, initial) for item in data if item]
        else:
            files = [single_clean(data, initial)] if data else []
        if len(files) > MAX_PHOTOS:
            raise ValidationError(_("At most %(max)d photos.") % {"max": MAX_PHOTOS}, code="too_many_photos")
        return files


class OwnRequestForm(forms.Form):
    """A resident's own request. The submission key is made on GET and travels with the form, so a
    double tap or a resubmitted page creates one request."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    category = forms.TypedChoiceField(label=_("What is it about?"), coerce=int, choices=())
    title = CleanTextField(
        label=_("In a few words"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. The corridor light is broken")}),
    )
    description = CleanTextField(
        label=_("Details"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Where, since when, anything that helps us."),
    )
    photos = MultiplePhotoField(label=_("Photos (optional)"), required=False)

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        categories = list(categories)
        self.categories_by_pk = {c.pk: c for c in categories}
        self.fields["category"].choices = grouped_category_choices(categories)
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "submission_key",
            "category",
            "title",
            "description",
            Field("photos"),
            Submit("submit", _("Submit the request"), css_class="w-100"),
        )

    def clean_category(self) -> Category:
        category = self.categories_by_pk.get(self.cleaned_data["category"])
        if category is None:
            raise ValidationError(_("Choose a category."), code="category")
        return category


class OwnRatingForm(forms.Form):
    """The follow-up (回访) as the requester answers it."""

    SOLVED_CHOICES = [("yes", _("Yes, it was solved")), ("no", _("No, it was not solved"))]

    version = forms.IntegerField(widget=forms.HiddenInput)
    solved = forms.ChoiceField(
        label=_("Was your request solved?"), choices=SOLVED_CHOICES, widget=forms.RadioSelect
    )
    satisfaction = forms.ChoiceField(
        label=_("How satisfied are you with how it was handled?"),
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
    )
    comment = CleanTextField(
        label=_("Comment (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, action: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = action
        self.helper.layout = Layout(
            "version",
            "solved",
            "satisfaction",
            "comment",
            Submit("rate", _("Send my answer"), css_class="w-100"),
        )

    def clean_solved(self) -> bool:
        return self.cleaned_data["solved"] == "yes"


class TrackForm(forms.Form):
    """Reference and the last four digits of the phone on the request; both normalised (NFKC)."""

    reference = forms.CharField(
        label=_("Reference"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"placeholder": "AHL-2026-000123", "autocomplete": "off", "autocapitalize": "characters"}
        ),
    )
    phone_tail = forms.CharField(
        label=_("Last four digits of the phone number"),
        max_length=4,
        help_text=_("The phone number given when the request was made."),
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9０-９]{4}"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "reference", "phone_tail", Submit("track", _("Look it up"), css_class="w-100")
        )

    def clean_reference(self) -> str:
        reference = normalize_reference(self.cleaned_data["reference"])
        if not reference:
            raise ValidationError(_("Enter the reference on your receipt."), code="reference")
        return reference

    def clean_phone_tail(self) -> str:
        tail = normalize_phone_tail(self.cleaned_data["phone_tail"])
        if tail is None:
            raise ValidationError(_("Enter exactly four digits."), code="phone_tail")
        return tail
