"""community.lib.forms_renderer renders selects, inputs and textareas in Python: the markup must be exactly
Django's, for every widget of every form of the project and for hostile values."""

import datetime as dt
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override

from community.lib.forms_renderer import FAST, FastWidgetRenderer
from tests.test_fuzz_forms import FORM_CASES, world  # noqa: F401 - world is the fixture the cases need

HOSTILE = '<script>alert("x")</script> & \' "quoted" 一口办'


def both(widget: forms.Widget, name: str, value, attrs=None) -> tuple[str, str]:
    slow = widget.render(name, value, attrs=attrs, renderer=DjangoTemplates())
    fast = widget.render(name, value, attrs=attrs, renderer=FastWidgetRenderer())
    return slow, fast


@pytest.mark.parametrize(
    ("widget", "value"),
    [
        (forms.TextInput(attrs={"placeholder": HOSTILE, "required": True, "disabled": False}), HOSTILE),
        (forms.TextInput(), None),
        (forms.TextInput(), ""),
        (forms.TextInput(attrs={"data-x": mark_safe("<b>safe</b>")}), mark_safe("<i>already safe</i>")),
        (forms.NumberInput(attrs={"min": 0, "step": Decimal("0.5")}), 12),
        (forms.EmailInput(), "a@b.cn"),
        (forms.PasswordInput(render_value=True), HOSTILE),
        (forms.HiddenInput(), HOSTILE),
        (forms.DateInput(attrs={"type": "date"}), dt.date(2026, 11, 30)),
        (forms.DateTimeInput(attrs={"type": "datetime-local"}), dt.datetime(2026, 11, 30, 8, 30)),
        (forms.TimeInput(), dt.time(9, 0)),
        (forms.CheckboxInput(), True),
        (forms.CheckboxInput(), False),
        (forms.Textarea(attrs={"rows": 3}), HOSTILE + "\n第二行"),
        (forms.Textarea(), ""),
        (forms.Textarea(), None),
        (forms.Select(choices=[("", "---"), ("a", HOSTILE), (1, gettext_lazy("Yes")), (2, 3)]), "a"),
        (forms.Select(choices=[("g", [(1, "one"), (2, HOSTILE)]), ("x", "ex")], attrs={"class": "x"}), "2"),
        (forms.Select(choices=[(HOSTILE, HOSTILE)]), HOSTILE),
        (forms.SelectMultiple(choices=[(1, "one"), (2, "two"), (3, "three")]), ["1", "3"]),
        (forms.NullBooleanSelect(), None),
        (forms.Select(choices=[]), None),
    ],
)
def test_same_markup_as_djangos_templates(widget, value):
    for language in ("zh-hans", "en"):
        with override(language):
            slow, fast = both(
                widget, "field-name", value, attrs={"id": "id_field", "aria-describedby": HOSTILE}
            )
            assert fast == slow


@pytest.mark.django_db
def test_every_form_of_the_project_renders_the_same(world):  # noqa: F811 - the fixture
    """Every field of every form the fuzz tests know, unbound and bound to hostile text."""
    compared = 0
    for case in FORM_CASES:
        for data in (None, dict.fromkeys(case.fields, HOSTILE)):
            form = case.make(world, data, None)
            for name, field in form.fields.items():
                bound = form[name]
                widget = field.widget
                value = bound.value()
                attrs = bound.build_widget_attrs({}, widget)
                if bound.auto_id and "id" not in widget.attrs:
                    attrs.setdefault("id", bound.auto_id)
                slow, fast = both(widget, bound.html_name, value, attrs=attrs)
                assert fast == slow, f"{case.id}.{name}"
                compared += 1
    assert compared > 100


def test_a_select_with_a_custom_option_template_goes_through_the_engine():
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/input.html"  # any other template

    slow, fast = both(Custom(choices=[(1, "one")]), "x", 1)
    assert fast == slow


def test_only_djangos_own_templates_are_replaced(settings, tmp_path):
    """A project template overriding a widget template is rendered by the engine, not by the fast path."""
    override_dir = tmp_path / "django" / "forms" / "widgets"
    override_dir.mkdir(parents=True)
    (override_dir / "textarea.html").write_text("<textarea class='mine'>{{ widget.value }}</textarea>")
    renderer = FastWidgetRenderer()
    engine = renderer.engine.engine
    engine.dirs = [str(tmp_path), *engine.dirs]  # the renderer's own engine looks there first
    html = forms.Textarea().render("x", "hello", renderer=renderer)
    assert html == "<textarea class='mine'>hello</textarea>"
    assert set(FAST) >= {"django/forms/widgets/select.html", "django/forms/widgets/text.html"}
