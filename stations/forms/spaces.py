"""Forms of the space pages: book a slot, book a weekly series. They validate and normalise; the
booking services decide (opening hours, horizon, quota, capacity, overlap) and save.

Times travel as HTML datetime-local values ("2026-12-03T09:00"), read in the site's time zone
(Asia/Shanghai). The end is a select of the lengths the space allows from the chosen start."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from community.lib.validators import clean_text
from residents.models import Resident
from stations.models import Space

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


def resident_label(resident: Resident) -> str:
    """Name, masked phone and where they live (or work): enough to pick the right person."""
    place = ""
    if resident.household_id:
        place = str(resident.household)
    elif resident.employer_id:
        place = resident.employer.name
    parts = [resident.name, resident.masked_phone, place]
    return " · ".join(part for part in parts if part)


class ResidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Resident) -> str:
        return resident_label(obj)


class BookingForm(forms.Form):
    """One booking. Staff also choose whom it is for (a walk-in); residents book for themselves."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    starts_at = forms.DateTimeField(
        label=_("Start"),
        input_formats=LOCAL_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(label=_("End"), input_formats=LOCAL_FORMATS, widget=forms.Select)
    resident = ResidentChoiceField(
        label=_("Booking for"),
        queryset=Resident.objects.none(),
        empty_label=_("Choose the person"),
        error_messages={"required": _("Say who the booking is for.")},
    )
    purpose = forms.CharField(
        label=_("What for"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Building 3 residents' meeting")}),
    )
    attendees = forms.IntegerField(
        label=_("How many people"),
        min_value=1,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(
        self,
        *args,
        space: Space,
        staff: bool,
        residents=None,
        end_choices: list[tuple[str, str]] = (),
        refresh_url: str = "",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.space = space
        if staff:
            self.fields["resident"].queryset = residents if residents is not None else Resident.objects.none()
        else:
            del self.fields["resident"]
        if "submission_key" in self.fields and not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())
        self.fields["attendees"].widget.attrs["max"] = space.capacity
        at_most = _("This space holds at most %(n)d people.") % {"n": space.capacity}
        self.fields["attendees"].validators.append(MaxValueValidator(space.capacity, message=at_most))
        self.fields["attendees"].help_text = at_most
        self.fields["starts_at"].widget.attrs["step"] = space.slot_minutes * 60
        if refresh_url:
            # Changing the start refreshes the end choices (htmx); without JavaScript the list stays
            # as it was and the booking rules say what is wrong.
            self.fields["starts_at"].widget.attrs.update(
                {
                    "hx-get": refresh_url,
                    "hx-trigger": "change",
                    "hx-target": "#end-field",
                    "hx-swap": "outerHTML",
                }
            )
        choices = list(end_choices)
        posted = self.data.get(self.add_prefix("ends_at")) if self.is_bound else None
        if posted and posted not in {value for value, _label in choices}:
            choices.append((posted, posted.replace("T", " ")))
        self.fields["ends_at"].widget.choices = choices

    def clean_purpose(self) -> str:
        return clean_text(self.cleaned_data["purpose"], max_length=200)

    def clean(self):
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", ValidationError(_("The end must be after the start."), code="order"))
        return data


class SeriesForm(BookingForm):
    """The same slot every week, 2 to 26 times."""

    weeks = forms.IntegerField(
        label=_("How many weeks"),
        min_value=2,
        max_value=26,
        initial=4,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 2, "max": 26}),
        help_text=_("The same time every week, 2 to 26 times."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["submission_key"]  # a repeated series clashes with itself, so it cannot double
