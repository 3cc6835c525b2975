"""Forms of the space pages: book a slot, book a weekly series. They validate and normalise; the
booking services decide (opening hours, horizon, quota, capacity, overlap) and save.

Times travel as HTML datetime-local values ("2026-12-03T09:00"), read in the site's time zone
(Asia/Shanghai). The end is a select of the lengths the space allows from the chosen start."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from community.lib.validators import CleanTextField, nfkc, validate_plausible_date
from residents.models import Resident
from stations.models import Space
from stations.selectors.requests import LOOKUP_LIMIT, resident_matches

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
    """One booking. Staff also choose whom it is for (a walk-in); residents book for themselves.

    Staff find the person with the resident lookup (htmx, as on the intake form): picking someone puts
    their id in the hidden `resident` field, which is validated against the space's community. Without
    a pick (no JavaScript, or Enter pressed in the search box) the typed text (`resident_q`) is looked
    up when the form is sent, and nothing is booked yet: one match comes back chosen, to be checked and
    booked with a second tap; several are offered to choose from (`matches`); none is an error."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    starts_at = forms.DateTimeField(
        label=_("Start"),
        input_formats=LOCAL_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        validators=[validate_plausible_date],
    )
    ends_at = forms.DateTimeField(
        label=_("End"), input_formats=LOCAL_FORMATS, widget=forms.Select, validators=[validate_plausible_date]
    )
    resident = ResidentChoiceField(
        label=_("Booking for"),
        queryset=Resident.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("This person is not registered in this community.")},
    )
    resident_q = forms.CharField(
        label=_("Booking for"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "placeholder": _("Name, initials, phone tail, 3-2-301"),
            }
        ),
    )
    purpose = CleanTextField(
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
        self.matches: list[Resident] = []  # several people fit the typed text: the form offers them
        self.found: Resident | None = None  # the one person the typed text found, shown to be confirmed
        if staff:
            self.fields["resident"].queryset = residents if residents is not None else Resident.objects.none()
        else:
            del self.fields["resident"], self.fields["resident_q"]
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
        self.offer_ends(end_choices)

    def offer_ends(self, end_choices) -> None:
        """The end times the select offers (the posted one too). Only a form that is shown needs them,
        so a view may leave them out of a form it only validates and set them when it shows it."""
        choices = list(end_choices)
        posted = self.data.get(self.add_prefix("ends_at")) if self.is_bound else None
        if posted and posted not in {value for value, _label in choices}:
            choices.append((posted, posted.replace("T", " ")))
        self.fields["ends_at"].widget.choices = choices

    def clean(self):
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", ValidationError(_("The end must be after the start."), code="order"))
        if "resident" in self.fields and not data.get("resident") and "resident" not in self.errors:
            self._find_resident(data)
        return data

    def _find_resident(self, data: dict) -> None:
        """No one picked: look up what was typed (the form sent without JavaScript)."""
        text = nfkc(data.get("resident_q", ""))
        if not text:
            self.add_error("resident_q", ValidationError(_("Say who the booking is for."), code="required"))
            return
        found = resident_matches(self.fields["resident"].queryset, text, limit=LOOKUP_LIMIT + 1)
        if len(found) == 1:
            # Never book for someone only typed: the same text can find someone else tomorrow.
            self.found = found[0]
            self.add_error(
                "resident_q",
                ValidationError(
                    _("Found %(name)s. Check it is the right person, then book.") % {"name": found[0].name},
                    code="confirm",
                ),
            )
        elif not found:
            self.add_error("resident_q", ValidationError(_("No resident matches."), code="not_found"))
        else:
            self.matches = found[:LOOKUP_LIMIT]
            self.add_error(
                "resident_q",
                ValidationError(_("Several people match: choose one below, or type more."), code="ambiguous"),
            )

    @property
    def chosen_resident(self) -> Resident | None:
        """The person the booking is for, once the form knows them (shown with a "Change" button)."""
        if "resident" not in self.fields:
            return None
        return getattr(self, "cleaned_data", {}).get("resident") or self.found


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
        # Kept through the "check the dates" step; optional, as a series without one is refused as a
        # clash with itself rather than booked twice.
        self.fields["submission_key"].required = False
