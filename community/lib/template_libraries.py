"""Two of Django's template libraries, `i18n` and `static`, with one change each, and the template backend
that loads them under their own names (settings.TEMPLATES), so `{% load i18n static %}` in every template,
the admin's included, gives them; and the built-in `{% url %}` likewise (a builtin library after Django's).

A page renders dozens of tags whose output never changes in a language: `{% translate "literal" %}` (the
request page 34 of them, the dashboard 94) and `{% static "file" %}` (six on every page, through base.html).
Django works each out again on every render: for a translation a lazy object, gettext() behind the
asgiref context-local lookup of the language, localisation and the "%%" restoring; for a static file the
storage's manifest lookup and URL joining. Here such a tag with a plain quoted string (no filter, no
`noop`, no `context`) renders through Django's own node the first time, which makes its output Django's by
construction, and is then answered from what it gave: per language and escaping mode for a translation,
per storage object (tests swap it) for a static URL. `{% url "name" %}` with quoted (or numeric) arguments
only is kept the same way, per language, URLconf, script prefix and current application, whatever else
reverse() may depend on (33 µs a tag here, eight a page). The builtin `date` filter writes a date whose
format is numbers and weekdays only ("Y-m-d D H:i") directly and hands any other to Django's. Every other
tag and filter of the libraries is Django's.

The backend's loader (Django's cached loader, `Loader` below) also gives each `{{ variable }}` of the
templates it loads a shorter way out for the values a page prints most, a str, a SafeString or an int
(`FastVariableNode`): the same text Django's render_value_in_context() makes of them, without its
localisation and time-zone checks and its escape() behind keep_lazy's wrapper (~70 a page)."""

import datetime as dt
import functools

from django import template
from django.apps import apps
from django.conf import settings
from django.template import defaultfilters, defaulttags
from django.template.backends import django as django_backend
from django.template.base import FilterExpression, Variable, VariableNode, render_value_in_context
from django.template.loaders import cached
from django.templatetags import i18n, static
from django.urls import get_script_prefix, get_urlconf
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.functional import empty
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from community.lib.html import conditional_escape

_KEPT_MAX = 16  # languages × escaping modes: a handful


def _is_literal(expression: FilterExpression, kinds: type | tuple = str) -> bool:
    """A quoted string (or a constant of `kinds`) without filters (kept as the value itself, or as a
    Variable of it by TranslateNode)."""
    var = expression.var
    return not expression.filters and isinstance(var.literal if isinstance(var, Variable) else var, kinds)


# --- i18n --------------------------------------------------------------------------------------------------

i18n_library = template.Library()
i18n_library.tags.update(i18n.register.tags)
i18n_library.filters.update(i18n.register.filters)


class _Kept:
    """Django's rendering of a node (with its `as` variable) whose output is a function of the subclass's
    `_key(context)` (what it depends on besides the node's own constants): rendered by the node's own
    class the first time for a key, then answered from what it gave. An empty output (a `{% url … as v %}`
    that matched nothing) is never kept. A mixin without slots or metaclass, so that a parsed node's
    `__class__` can be set to a subclass of its own class with it."""

    rendered: dict

    def render(self, context):
        key = self._key(context)
        value = self.rendered.get(key)
        if value is None:
            value = super().render(context) if self.asvar is None else self._value(context)
            if value and len(self.rendered) < _KEPT_MAX:
                self.rendered[key] = value
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value

    def _value(self, context):
        super().render(context)  # sets the variable
        return context[self.asvar]


class LiteralTranslateNode(_Kept, i18n.TranslateNode):
    """A TranslateNode of a quoted string: Django's rendering, kept per (language, autoescape)."""

    def _key(self, context) -> tuple:
        return get_language(), context.autoescape


@i18n_library.tag("translate")
@i18n_library.tag("trans")
def do_translate(parser, token):
    node = i18n.do_translate(parser, token)
    if not node.noop and node.message_context is None and _is_literal(node.filter_expression):
        node.__class__ = LiteralTranslateNode
        node.rendered = {}
    return node


# --- static ------------------------------------------------------------------------------------------------

static_library = template.Library()
static_library.tags.update(static.register.tags)
static_library.filters.update(static.register.filters)


def _storage():
    """The static files storage in use, once set up; None before, or without django.contrib.staticfiles."""
    if not apps.is_installed("django.contrib.staticfiles"):
        return None
    from django.contrib.staticfiles.storage import staticfiles_storage

    wrapped = staticfiles_storage._wrapped
    return None if wrapped is empty else wrapped


class LiteralStaticNode(static.StaticNode):
    """A StaticNode of a quoted path: Django's URL, kept for the storage that gave it (escaping and `as`
    stay Django's render())."""

    kept: tuple | None = None  # (storage, url)

    def url(self, context):
        storage = _storage()
        if storage is not None and self.kept is not None and self.kept[0] is storage:
            return self.kept[1]
        url = super().url(context)
        storage = _storage()  # set up by url() if it was not
        if storage is not None:
            self.kept = (storage, url)
        return url


@static_library.tag("static")
def do_static(parser, token):
    node = static.do_static(parser, token)
    if type(node) is static.StaticNode and _is_literal(node.path):
        node.__class__ = LiteralStaticNode
    return node


# --- url ----------------------------------------------------------------------------------------------------

url_library = template.Library()


def _current_app(context) -> str | None:
    """What URLNode.render() passes to reverse() as current_app."""
    request = getattr(context, "request", None)
    current_app = getattr(request, "current_app", None)
    if current_app is None:
        current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
    return current_app


class LiteralURLNode(_Kept, defaulttags.URLNode):
    """A URLNode of constants: Django's rendering, kept per (language, URLconf, script prefix, current app,
    autoescape); a failed reverse is never kept."""

    def _key(self, context) -> tuple:
        return get_language(), get_urlconf(), get_script_prefix(), _current_app(context), context.autoescape


@url_library.tag("url")
def do_url(parser, token):
    node = defaulttags.url(parser, token)
    constants = [node.view_name, *node.args, *node.kwargs.values()]
    if type(node) is defaulttags.URLNode and all(_is_literal(e, (str, int, float)) for e in constants):
        node.__class__ = LiteralURLNode
        node.rendered = {}
    return node


# --- date ---------------------------------------------------------------------------------------------------

date_library = template.Library()

# Django's dateformat (django.utils.dateformat) for the format characters the pages use: numbers, which
# depend on neither the language nor the time zone, and the weekday's name, translated when it is written.
_DATE_PARTS = {
    "Y": lambda v: f"{v.year:04d}",
    "m": lambda v: f"{v.month:02d}",
    "n": lambda v: str(v.month),
    "d": lambda v: f"{v.day:02d}",
    "j": lambda v: str(v.day),
    "D": lambda v: str(WEEKDAYS_ABBR[v.weekday()]),
    "l": lambda v: str(WEEKDAYS[v.weekday()]),
}
_TIME_PARTS = {
    "H": lambda v: f"{v.hour:02d}",
    "G": lambda v: str(v.hour),
    "i": lambda v: f"{v.minute:02d}",
    "s": lambda v: f"{v.second:02d}",
}
_PARTS = _DATE_PARTS | _TIME_PARTS


@functools.cache
def _plain_format(arg: str) -> tuple | None:
    """The pieces of a format made only of _PARTS' characters and separators that are no letter and no
    backslash ("Y-m-d H:i", "m-d D"): (part function or literal text, ...) and whether a time is needed;
    None for any other format, a setting's name ("SHORT_DATE_FORMAT") included."""
    if any(c.isalpha() and c not in _PARTS or c == "\\" for c in arg):
        return None
    return tuple(_PARTS.get(c, c) for c in arg), any(c in _TIME_PARTS for c in arg)


@date_library.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    """Django's `date` filter; a datetime, or a date with no time in the format, given a format of the
    characters above (most of the pages' dates: "Y-m-d H:i") is written directly: 3 µs a date against 18 µs
    for Django's DateFormat with its time-zone and format look-ups, which does the rest."""
    kind = type(value)
    if (kind is dt.datetime or kind is dt.date) and isinstance(arg, str):  # a literal is a SafeString
        plain = _plain_format(arg)
        if plain is not None and (kind is dt.datetime or not plain[1]):
            return "".join(part if type(part) is str else part(value) for part in plain[0])
    return defaultfilters.date(value, arg)


# --- {{ variables }} ---------------------------------------------------------------------------------------


class FastVariableNode(VariableNode):
    """Django's VariableNode, with the text of a str, a SafeString or an int made directly: what
    render_value_in_context() would make of them (localize() and template_localtime() leave text as it
    is, and an int without thousands separators is its digits), escaped by community.lib.html. Any other
    value, and an int when USE_THOUSAND_SEPARATOR is on, goes through Django's function."""

    def render(self, context):
        try:
            output = self.filter_expression.resolve(context)
        except UnicodeDecodeError:
            return ""  # as Django's node
        kind = type(output)
        if kind is SafeString:
            return output
        if kind is str:
            return conditional_escape(output) if context.autoescape else output
        if kind is int and not settings.USE_THOUSAND_SEPARATOR:
            return str(output)
        return render_value_in_context(output, context)


class Loader(cached.Loader):
    """Django's cached loader; each template it loads has its variable nodes made FastVariableNodes once,
    before it is first rendered (those of blocks, loops, conditions and included partials alike)."""

    def get_template(self, template_name, skip=None):
        template_ = super().get_template(template_name, skip)
        if not template_.__dict__.get("fast_variables"):
            for node in template_.nodelist.get_nodes_by_type(VariableNode):
                if type(node) is VariableNode:
                    node.__class__ = FastVariableNode
            template_.fast_variables = True
        return template_


# --- The backend ------------------------------------------------------------------------------------------


class DjangoTemplates(django_backend.DjangoTemplates):
    """Django's template backend, with `i18n` and `static` meaning this module's libraries and `url` this
    module's tag. Set on the engine rather than through the OPTIONS' `libraries` setting, which is for new
    names and warns (templates.W003) when a name is Django's own; the tag as a builtin library after
    Django's, whose tags a later builtin's replace. Its loader is this module's `Loader` around the same
    loaders, unless the OPTIONS name loaders of their own."""

    def __init__(self, params):
        super().__init__(params)
        loaders = self.engine.loaders
        # Django's default when OPTIONS name none: its cached loader around the directories' and apps' loaders.
        if len(loaders) == 1 and loaders[0][0] == "django.template.loaders.cached.Loader":
            self.engine.loaders = [(f"{__name__}.Loader", loaders[0][1])]
        self.engine.template_libraries["i18n"] = i18n_library
        self.engine.template_libraries["static"] = static_library
        self.engine.template_builtins.append(url_library)
        self.engine.template_builtins.append(date_library)
