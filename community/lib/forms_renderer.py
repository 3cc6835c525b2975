"""The form renderer (settings.FORM_RENDERER): Django's template renderer, with the three widget templates
that every page renders many times — `<select>` with its `<option>`s, `<input>` and `<textarea>` — built
in Python instead.

Django renders each `<option>` through two template includes; a filter form with a few model choice
fields spent several milliseconds of a page there (35 categories: ~8 ms). The functions below produce
exactly what Django's templates in django/forms/templates/django/forms/widgets/ produce (same markup, same
escaping; tests/test_forms_renderer.py renders every widget both ways and compares). Any other template,
and a select whose options use another template, still goes through the template engine, and a project
template overriding one of these three would win, because the fast path is only taken when the
template engine would have found Django's own file."""

from collections.abc import Callable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from community.lib.html import conditional_escape

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
INPUT = "django/forms/widgets/input.html"
TEXTAREA = "django/forms/widgets/textarea.html"
_INPUT_TEMPLATES = {INPUT, *(f"django/forms/widgets/{kind}.html" for kind in ("text", "number", "email", "url", "password", "hidden", "date", "datetime", "time", "search", "tel", "color", "checkbox"))}  # fmt: skip


def _s(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: str() then escaped, unless the value was already safe."""
    if isinstance(value, SafeString):
        return value
    return conditional_escape(str(value))


def _attrs(attrs: Mapping[str, Any]) -> str:
    """django/forms/widgets/attrs.html."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(
            f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{_s(value)}"'
        )
    return "".join(parts)


def _option(option: Mapping[str, Any]) -> str:
    label = option["label"]
    label = conditional_escape(label if isinstance(label, str) else localize(label))
    return f'<option value="{_s(option["value"])}"{_attrs(option["attrs"])}>{label}</option>\n'  # the file ends in a newline


def render_select(widget: Mapping[str, Any]) -> str | None:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            if option.get("template_name") != OPTION:
                return None  # a custom option template: let the engine render the whole select
            parts.append("\n  " + _option(option))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def render_input(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    value_attr = "" if value is None else f' value="{_s(value)}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{value_attr}{_attrs(widget['attrs'])}>"
    )


def render_textarea(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    shown = conditional_escape(value if isinstance(value, str) else localize(value)) if value else ""
    return (
        f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n{shown}</textarea>'
    )


FAST: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    SELECT: render_select,
    TEXTAREA: render_textarea,
    **dict.fromkeys(_INPUT_TEMPLATES, render_input),
}


class FastWidgetRenderer(DjangoTemplates):
    """DjangoTemplates, with FAST's templates rendered in Python when Django's own file would be used."""

    def __init__(self):
        super().__init__()
        self._own: dict[str, bool] = {}

    def _is_djangos_own(self, template_name: str) -> bool:
        own = self._own.get(template_name)
        if own is None:
            origin = self.get_template(template_name).origin.name
            own = self._own[template_name] = origin.replace("\\", "/").endswith(
                "django/forms/templates/" + template_name
            )
        return own

    def render(self, template_name, context, request=None):
        fast = FAST.get(template_name)
        if (
            fast is not None
            and "widget" in context
            and self._is_djangos_own(template_name)
            and (template_name not in _INPUT_TEMPLATES or self._is_djangos_own(INPUT))
        ):
            html = fast(context["widget"])
            if html is not None:
                return mark_safe(html)  # every piece above was escaped
        return super().render(template_name, context, request)
