"""Forms of the staff side of spaces and courses: decisions and check-ins (two buttons each), the
day's schedule filter, attendance, blocks, courses and their sessions. They validate and normalise;
they never save. Datetimes come from <input type="datetime-local"> and are read in local time
(Asia/Shanghai, the current time zone)."""

import datetime as dt

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.lib.submissions import SubmissionKeyField
from community.lib.validators import CleanTextField, validate_plausible_date
from residents.models import Resident
from stations.models import Space

MAX_SESSION_WEEKS = 26


def _flag_field(yes: str, no: str) -> forms.TypedChoiceField:
    """A yes/no decision sent as "1" / "0" by one of two submit buttons."""
    return forms.TypedChoiceField(choices=[("1", yes), ("0", no)], coerce=lambda value: value == "1")


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[validate_plausible_date],
    )


def _check_range(form: forms.Form, data: dict) -> None:
    starts_at: dt.datetime | None = data.get("starts_at")
    ends_at: dt.datetime | None = data.get("ends_at")
    if starts_at and ends_at and ends_at <= starts_at:
        form.add_error("ends_at", _("The end must be after the start."))


class DecideForm(forms.Form):
    approve = _flag_field(_("Approve"), _("Reject"))
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class CheckInForm(forms.Form):
    present = _flag_field(_("Checked in"), _("No-show"))
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class ScheduleFilterForm(forms.Form):
    """?date=YYYY-MM-DD&space=<id> of the day's schedule; anything invalid falls back to today / all."""

    date = forms.DateField(
        label=_("Day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_plausible_date],
    )
    space = forms.ModelChoiceField(
        label=_("Space"), queryset=None, required=False, empty_label=_("All spaces")
    )

    def __init__(self, *args, spaces: QuerySet[Space], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = spaces

    def day(self) -> dt.date:
        if self.is_bound:
            self.is_valid()  # a bad space does not lose a good date
            if self.cleaned_data.get("date"):
                return self.cleaned_data["date"]
        return timezone.localdate()


class AttendanceForm(forms.Form):
    resident = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    present = _flag_field(_("Present"), _("No-show"))

    def __init__(self, *args, residents: QuerySet[Resident], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].queryset = residents


class SpaceBlockForm(forms.Form):
    submission_key = SubmissionKeyField()
    starts_at = _datetime_field(_("From"))
    ends_at = _datetime_field(_("Until"))
    reason = CleanTextField(
        label=_("Reason"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. floor repair, community event")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "submission_key",
            Div(
                Div("starts_at", css_class="col-12 col-sm-6"),
                Div("ends_at", css_class="col-12 col-sm-6"),
                css_class="row",
            ),
            "reason",
        )

    def clean(self) -> dict:
        data = super().clean()
        _check_range(self, data)
        return data


class CourseForm(forms.Form):
    submission_key = SubmissionKeyField()
    title = CleanTextField(
        label=_("Title"),
        max_length=80,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Yoga for beginners")}),
    )
    description = CleanTextField(
        label=_("Description"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    teacher = CleanTextField(label=_("Teacher"), max_length=64, required=False)
    space = forms.ModelChoiceField(label=_("Space"), queryset=None)
    capacity = forms.IntegerField(label=_("Places"), min_value=1, max_value=1000)
    open_to_residents = forms.BooleanField(label=_("Residents may enrol"), required=False, initial=True)
    open_to_enterprise_staff = forms.BooleanField(
        label=_("Enterprise staff may enrol"), required=False, initial=True
    )

    def __init__(self, *args, spaces: QuerySet[Space], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = spaces
        self.fields["space"].label_from_instance = lambda s: (
            _("%(name)s (%(n)d people)")
            % {
                "name": s.name,
                "n": s.capacity,
            }
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "submission_key",
            "title",
            "space",
            Div(Div("capacity", css_class="col-6"), Div("teacher", css_class="col-6"), css_class="row"),
            "description",
            "open_to_residents",
            "open_to_enterprise_staff",
        )

    def clean(self) -> dict:
        data = super().clean()
        space, capacity = data.get("space"), data.get("capacity")
        if space and capacity and capacity > space.capacity:
            self.add_error("capacity", _("This space holds at most %(n)d people.") % {"n": space.capacity})
        return data


class CourseSessionForm(forms.Form):
    submission_key = SubmissionKeyField()
    starts_at = _datetime_field(_("Starts"))
    ends_at = _datetime_field(_("Ends"))
    weeks = forms.IntegerField(
        label=_("Weeks"),
        min_value=1,
        max_value=MAX_SESSION_WEEKS,
        initial=1,
        help_text=_("1 for a single session; up to 26 for the same time every week."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "submission_key",
            Div(
                Div("starts_at", css_class="col-12 col-sm-6"),
                Div("ends_at", css_class="col-12 col-sm-6"),
                css_class="row",
            ),
            "weeks",
        )

    def clean(self) -> dict:
        data = super().clean()
        _check_range(self, data)
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if (
            starts_at
            and ends_at
            and timezone.localtime(starts_at).date() != timezone.localtime(ends_at).date()
        ):
            self.add_error("ends_at", _("A session starts and ends on the same day."))
        return data
