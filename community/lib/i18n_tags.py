"""Django's `i18n` template library with one change, `{% translate "literal" %}` keeping what it rendered per
language, and the template backend that loads it under that name (settings.TEMPLATES: `{% load i18n %}`
in every template, the admin's included, gives this library).

A translated literal is the same text every time in a language, but Django's TranslateNode works it out
again on each render: a lazy translation object, gettext() behind the asgiref context-local lookup of
the language, localisation and the "%%" restoring. Pages carry 10 to 90 of them (the request page 34,
the dashboard 94). Here a node with a plain quoted string (no filter, no `noop`, no `context`) renders
once per language and escaping mode through Django's own code, which makes its output Django's by
construction, and then answers from that. Every other tag and filter of the library is Django's."""

from django import template
from django.template.backends import django as django_backend
from django.template.base import Variable
from django.templatetags import i18n
from django.utils.translation import get_language

register = template.Library()
register.tags.update(i18n.register.tags)
register.filters.update(i18n.register.filters)


class LiteralTranslateNode(i18n.TranslateNode):
    """A TranslateNode of a quoted string: Django's rendering, kept per (language, autoescape)."""

    def render(self, context):
        key = (get_language(), context.autoescape)
        value = self.rendered.get(key)
        if value is None:
            value = super().render(context) if self.asvar is None else self._value(context)
            if len(self.rendered) < 16:  # languages × escaping modes: a handful
                self.rendered[key] = value
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value

    def _value(self, context):
        super().render(context)  # sets the variable
        return context[self.asvar]


def _is_literal(node: i18n.TranslateNode) -> bool:
    expression = node.filter_expression
    return (
        not node.noop
        and node.message_context is None
        and not expression.filters
        and isinstance(expression.var, Variable)
        and isinstance(expression.var.literal, str)
    )


@register.tag("translate")
@register.tag("trans")
def do_translate(parser, token):
    node = i18n.do_translate(parser, token)
    if _is_literal(node):
        node.__class__ = LiteralTranslateNode
        node.rendered = {}
    return node


class DjangoTemplates(django_backend.DjangoTemplates):
    """Django's template backend, with `i18n` meaning this module's library. Set on the engine rather than
    through the OPTIONS' `libraries` setting, which is for new names and warns (templates.W003) when a name
    is Django's own."""

    def __init__(self, params):
        super().__init__(params)
        self.engine.template_libraries["i18n"] = register
