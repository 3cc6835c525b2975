"""Forms about the desk's people: recording a worker's leave. They validate; they never save."""

import datetime as dt

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout, Submit
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.lib.submissions import SubmissionKeyField
from community.lib.validators import CleanTextField, validate_plausible_date


def _date_input() -> forms.DateInput:
    # <input type="date"> takes ISO dates only, whatever the language's date format.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class LeaveForm(forms.Form):
    submission_key = SubmissionKeyField()
    starts_on = forms.DateField(label=_("From"), widget=_date_input(), validators=[validate_plausible_date])
    ends_on = forms.DateField(
        label=_("Until (inclusive)"), widget=_date_input(), validators=[validate_plausible_date]
    )
    cover = forms.ModelChoiceField(
        label=_("Covered by"),
        queryset=None,
        required=False,
        help_text=_("Empty: the desk spreads the work over colleagues of the same type."),
    )
    reason = CleanTextField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, covers=None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("starts_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.fields["cover"].queryset = covers
        self.fields["cover"].label_from_instance = lambda w: (
            f"{w.display_name} · {w.get_worker_type_display()}"
        )
        self.helper = FormHelper()
        self.helper.layout = Layout(
            "submission_key",
            Div(Div("starts_on", css_class="col-6"), Div("ends_on", css_class="col-6"), css_class="row"),
            "cover",
            "reason",
            Submit("save", _("Record leave"), css_class="w-100"),
        )

    def clean(self) -> dict:
        data = super().clean()
        starts_on: dt.date | None = data.get("starts_on")
        ends_on: dt.date | None = data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("The leave cannot end before it starts."))
        return data
