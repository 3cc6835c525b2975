"""`{% quick_field %}` (community.lib.quick_fields): Bootstrap markup for text inputs and selects, errors
and help text included, everything escaped; other widgets go through crispy."""

from django import forms
from django.template import Context, Template

HOSTILE = '<script>alert("x")</script>'


class SampleForm(forms.Form):
    q = forms.CharField(label="Search " + HOSTILE, required=False, max_length=10, help_text="Hint " + HOSTILE)
    kind = forms.ChoiceField(label="Kind", choices=[("", "Any"), ("a", HOSTILE)])
    when = forms.DateField(label="When", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    flag = forms.BooleanField(label="Flag", required=False)


def render(field) -> str:
    return Template("{% load quick_fields %}{% quick_field f %}").render(Context({"f": field}))


def test_text_input_with_label_and_help():
    html = render(SampleForm()["q"])
    assert html.startswith('<div id="div_id_q" class="mb-3"><label for="id_q" class="form-label">')
    assert 'class="textinput form-control"' in html and 'id="id_q"' in html and 'maxlength="10"' in html
    assert '<div id="id_q_helptext" class="form-text">Hint &lt;script&gt;' in html
    assert "<script>" not in html


def test_select_with_errors_is_marked_invalid_and_escaped():
    form = SampleForm(data={"kind": "nope", "when": "not a date", "q": HOSTILE})
    assert not form.is_valid()
    html = render(form["kind"])
    assert 'class="select form-select is-invalid"' in html and 'aria-invalid="true"' in html
    assert 'aria-describedby="id_kind_error"' in html
    assert '<div id="id_kind_error" class="invalid-feedback"><p id="error_1_id_kind"><strong>' in html
    assert 'requiredField">Kind<span class="asteriskField">*</span></label>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    date = render(form["when"])
    assert 'type="date"' in date and "is-invalid" in date and 'value="not a date"' in date
    assert "<script>" not in render(form["q"])


def test_other_widgets_go_through_crispy():
    html = render(SampleForm()["flag"])
    assert "form-check-input" in html and 'id="id_flag"' in html
