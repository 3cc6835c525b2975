"""Forms of the walking service: the visit record with the requests it raises, the visit-log and
proactive-list filters, and recurring errands. They validate and normalise; they never save."""

import datetime as dt
import uuid
from collections.abc import Iterable

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.lib.choices import by_community, community_filter_field
from community.lib.validators import CleanTextField, validate_plausible_date
from stations.choices import Urgency
from stations.models import Category

TITLE_MAX = 120
TEXT_MAX = 5000
MAX_RAISED = 3


def _date_input() -> forms.DateInput:
    # <input type="date"> takes ISO dates only, whatever the language's date format.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def category_choices(categories: Iterable[Category]) -> list:
    """Choices for a category select: children grouped under their parent (<optgroup>); a top-level
    category without children is a choice of its own."""
    categories = list(categories)
    roots = sorted((c for c in categories if c.parent_id is None), key=lambda c: (c.position, c.name))
    children: dict[int, list[Category]] = {}
    for category in categories:
        if category.parent_id is not None:
            children.setdefault(category.parent_id, []).append(category)
    choices: list = [("", "---------")]
    for root in roots:
        kids = children.pop(root.pk, None)
        if kids:
            choices.append((root.name, [(str(c.pk), c.name) for c in kids]))
        else:
            choices.append((str(root.pk), root.name))
    for kids in children.values():  # children of an inactive parent still have a group
        choices.append((kids[0].parent.name, [(str(c.pk), c.name) for c in kids]))
    return choices


class CategoryField(forms.ChoiceField):
    """A category select with <optgroup>s; cleans to the Category row (or None when left empty)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.by_pk: dict[str, Category] = {}

    def set_categories(self, categories: Iterable[Category]) -> None:
        categories = list(categories)
        self.by_pk = {str(c.pk): c for c in categories}
        self.choices = category_choices(categories)

    def clean(self, value):
        value = super().clean(value)
        return self.by_pk.get(str(value)) if value else None


def _local_now_minute() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)


class VisitForm(forms.Form):
    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    # Chosen before the form is shown (the view's search step, a household file or the proactive list):
    # a hidden id, validated against the worker's households.
    household = forms.ModelChoiceField(
        label=_("Household"),
        queryset=None,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("This household is not one of your community's.")},
    )
    visited_at = forms.DateTimeField(
        label=_("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[validate_plausible_date],
    )
    met = CleanTextField(
        label=_("Who was met"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 张焱 and her daughter")}),
    )
    found = CleanTextField(
        label=_("What was found"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    action = CleanTextField(
        label=_("What was done"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, households=None, fixed_household=None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("submission_key", uuid.uuid4())
        kwargs["initial"].setdefault("visited_at", _local_now_minute())
        if fixed_household is not None:  # opened from a household file or the proactive list
            kwargs["initial"]["household"] = fixed_household.pk
        super().__init__(*args, **kwargs)
        self.fields["household"].queryset = households
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout("submission_key", "household", "visited_at", "met", "found", "action")

    def clean_visited_at(self) -> dt.datetime:
        value = self.cleaned_data["visited_at"]
        if value > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError(_("A visit cannot be in the future."))
        return value


class RaiseRequestForm(forms.Form):
    """One optional row of "raise requests from this visit": a row without a title is ignored."""

    category = CategoryField(label=_("Category"), required=False)
    title = CleanTextField(
        label=_("Request"),
        max_length=TITLE_MAX,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("In a few words")}),
    )
    description = CleanTextField(
        label=_("Details"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL, required=False
    )

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].set_categories(categories)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout("category", "title", "description", "urgency")

    def clean(self) -> dict:
        data = super().clean()
        data["title"] = data.get("title") or ""
        data["description"] = data.get("description") or ""
        data["urgency"] = data.get("urgency") or Urgency.NORMAL
        if data["title"] and data.get("category") is None and "category" not in self.errors:
            self.add_error("category", _("Choose a category for this request."))
        return data

    def as_spec(self) -> dict | None:
        """The keyword arguments of the request to raise, or None for an empty row."""
        data = self.cleaned_data
        if not data.get("title"):
            return None
        return {
            "category": data["category"],
            "title": data["title"],
            "description": data["description"],
            "urgency": data["urgency"],
        }


RaiseRequestFormSet = forms.formset_factory(
    RaiseRequestForm, extra=MAX_RAISED, max_num=MAX_RAISED, absolute_max=MAX_RAISED, validate_max=True
)


class VisitFilterForm(forms.Form):
    """Filters of the visit log: whose visits (default: mine for a worker) and which household."""

    MINE, ALL = "", "all"

    worker = forms.ChoiceField(
        label=_("Worker"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    # At most a 64-bit id: SQLite cannot compare a larger number (OverflowError), whatever the lookup.
    household = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def __init__(self, *args, workers=(), me=None, communities=None, **kwargs):
        """`communities`: for a user who sees several (subdistrict staff), a select of them as well."""
        super().__init__(*args, **kwargs)
        if communities is not None:
            self.fields["community"] = community_filter_field(communities)
        self.workers = {str(w.pk): w for w in workers}
        first = (
            [(self.MINE, _("My visits")), (self.ALL, _("All workers"))]
            if me
            else [(self.MINE, _("All workers"))]
        )
        # Subdistrict staff: each community's workers under its name.
        rows = [(w.community.name, pk, w.display_name) for pk, w in self.workers.items()]
        self.fields["worker"].choices = first + by_community(rows)
        self.me = me

    def selected_worker(self):
        """The worker whose visits to show, or None for everybody's."""
        value = self.cleaned_data.get("worker", self.MINE) if self.is_bound and self.is_valid() else self.MINE
        if value == self.MINE:
            if self.household_id() and "worker" not in self.data:
                return None  # a household's log shows everybody's visits unless a worker is picked
            return self.me
        return self.workers.get(value)

    def household_id(self) -> int | None:
        return self.cleaned_data.get("household") if self.is_bound and self.is_valid() else None

    def community_id(self) -> int | None:
        community = self.cleaned_data.get("community") if self.is_bound and self.is_valid() else None
        return community.pk if community else None


class ProactiveFilterForm(forms.Form):
    CARE, HOTSPOTS = "care", "hotspots"

    view = forms.ChoiceField(
        choices=[(CARE, _("Visits due")), (HOTSPOTS, _("Recurring problems"))], required=False
    )
    mine = forms.BooleanField(label=_("Only my buildings"), required=False)
    min = forms.IntegerField(
        label=_("At least this many requests"),
        min_value=2,
        max_value=20,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    DEFAULT_MIN = 3

    def __init__(self, *args, communities=None, **kwargs):
        """`communities`: for a user who sees several (subdistrict staff), a select of them as well."""
        super().__init__(*args, **kwargs)
        if communities is not None:
            self.fields["community"] = community_filter_field(communities)

    def value(self, name: str):
        """The cleaned value, or the default when missing or invalid (the error is still shown)."""
        defaults = {"view": self.CARE, "mine": False, "min": self.DEFAULT_MIN, "community": None}
        if not self.is_bound:
            return defaults[name]
        self.is_valid()
        value = self.cleaned_data.get(name)
        return defaults[name] if value in (None, "") else value


class ResidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        if obj.household_id:
            return f"{obj.name} · {obj.household}"
        return obj.name


class ErrandForm(forms.Form):
    # A second submit of the same form (a double tap) finds the errand the first one set up.
    submission_key = forms.UUIDField(widget=forms.HiddenInput, required=False)
    # Chosen before the form is shown (the view's first step, or the resident page's link): a hidden id,
    # validated against the community's residents.
    resident = ResidentChoiceField(
        label=_("For resident"),
        queryset=None,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("This person is not registered in this community.")},
    )
    category = CategoryField(label=_("Category"))
    title = CleanTextField(
        label=_("Errand"),
        max_length=TITLE_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. fetch blood-pressure medicine")}),
        error_messages={"required": _("Say what the errand is.")},
    )
    every_days = forms.IntegerField(
        label=_("Every (days)"),
        min_value=1,
        max_value=365,
        initial=14,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    first_due_on = forms.DateField(
        label=_("First due on"), widget=_date_input(), validators=[validate_plausible_date]
    )
    assignee = forms.ModelChoiceField(
        label=_("Usually done by"),
        queryset=None,
        required=False,
        help_text=_("Empty: routed like any request of this category."),
    )
    description = CleanTextField(
        label=_("Details"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, residents=None, categories=(), workers=None, fixed_resident=None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("first_due_on", timezone.localdate())
        kwargs["initial"].setdefault("submission_key", uuid.uuid4())
        if fixed_resident is not None:
            kwargs["initial"]["resident"] = fixed_resident.pk
        super().__init__(*args, **kwargs)
        self.fields["resident"].queryset = residents
        self.fields["category"].set_categories(categories)
        self.fields["assignee"].queryset = workers
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "submission_key",
            "resident",
            "category",
            "title",
            Div(
                Div("every_days", css_class="col-6"), Div("first_due_on", css_class="col-6"), css_class="row"
            ),
            "assignee",
            "description",
        )

    def clean_first_due_on(self) -> dt.date:
        value = self.cleaned_data["first_due_on"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("The first due date cannot be in the past."))
        return value
