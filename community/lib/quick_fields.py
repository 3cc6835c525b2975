"""`{% quick_field form.name %}`: a Bootstrap 5 form field (label, control, errors, help text) built in
Python — the markup of crispy's bootstrap5 `as_crispy_field` (classes included), minus its whitespace, for text-like inputs
and selects. Registered as the template library `quick_fields` (settings.TEMPLATES).

For pages where a filter form is rendered on every request (the request list): crispy's field template
cost about 0.6 ms a field on top of the widget. Checkboxes, radio lists, file inputs and anything else
go through crispy unchanged."""

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms, template
from django.forms import BoundField
from django.utils.safestring import SafeString, mark_safe

from community.lib.html import format_html, format_html_join

register = template.Library()

_INPUTS = (forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput, forms.DateInput,
           forms.DateTimeInput, forms.TimeInput, forms.PasswordInput, forms.Textarea)  # fmt: skip


@register.simple_tag
def quick_field(field: BoundField) -> SafeString:
    widget = field.field.widget
    if isinstance(
        widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple | forms.FileInput
    ):
        return as_crispy_field(field)
    if isinstance(widget, forms.Select):
        css = "form-select"
    elif isinstance(widget, _INPUTS):
        css = "form-control"
    else:
        return as_crispy_field(field)
    if field.is_hidden:
        return field.as_widget()
    errors = field.errors
    # As crispy: the widget's own classes, its type in lower case ("select", "textinput"), then Bootstrap's.
    own, kind = widget.attrs.get("class", ""), type(widget).__name__.lower()
    attrs = {"class": f"{own if kind in own else f'{own} {kind}'.strip()} {css}"}
    if errors:
        attrs["class"] += " is-invalid"
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{field.auto_id}_error"
    control = field.as_widget(attrs=attrs)
    label = ""
    if field.label:
        required = mark_safe('<span class="asteriskField">*</span>') if field.field.required else ""
        label = format_html(
            '<label for="{}" class="form-label{}">{}{}</label>',
            field.id_for_label,
            " requiredField" if field.field.required else "",
            field.label,
            required,
        )
    feedback = ""
    if errors:
        feedback = format_html(
            '<div id="{}_error" class="invalid-feedback">{}</div>',
            field.auto_id,
            format_html_join(
                "",
                '<p id="error_{}_{}"><strong>{}</strong></p>',
                ((n, field.auto_id, error) for n, error in enumerate(errors, 1)),
            ),
        )
    help_text = format_html('<div id="{}_helptext" class="form-text">{}</div>', field.auto_id, field.help_text) if field.help_text else ""  # fmt: skip
    return format_html(
        '<div id="div_{}" class="mb-3">{}{}{}{}</div>', field.auto_id, label, control, feedback, help_text
    )
