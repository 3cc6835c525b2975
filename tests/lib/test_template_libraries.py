"""community.lib.template_libraries: `{% load i18n static %}` are Django's libraries, with
`{% translate "literal" %}`, `{% static "file" %}` and `{% url "name" %}` kept once rendered, and Django's
output in every language, storage, prefix and form of the tags; `{{ variables }}` of loaded templates give
Django's text for every kind of value."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Engine, engines
from django.template.base import VariableNode
from django.urls import NoReverseMatch, set_script_prefix
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from community.lib.template_libraries import (
    DjangoTemplates,
    FastVariableNode,
    LiteralStaticNode,
    LiteralTranslateNode,
    LiteralURLNode,
    Loader,
)

SOURCE = (
    '{% load i18n static %}{% translate "Log out" %}|{% translate "100%% done" %}|{% trans "Menu" %}|'
    '{% translate "Log out" as label %}[{{ label }}]|{% translate "Log out" noop %}|'
    '{% translate "May" context "month name" %}|{% translate "<b>" %}|{% translate "Log out"|upper %}|'
    '{% static "css/onedesk.css" %}|{% static "a b&c.js" as js %}[{{ js }}]|{% static name %}'
)


def render_both(language: str) -> tuple[str, str]:
    ours = engines["django"].from_string(SOURCE)
    djangos = Engine(
        libraries={"i18n": "django.templatetags.i18n", "static": "django.templatetags.static"}
    ).from_string(SOURCE)
    with translation.override(language):
        return ours.render({"name": "x.png"}), djangos.render(Context({"name": "x.png"}))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_same_output_as_djangos_libraries(language):
    ours, djangos = render_both(language)
    assert ours == djangos
    assert ours == render_both(language)[0]  # kept: the same again


def test_languages_are_kept_apart_and_only_plain_literals_are_kept():
    template = engines["django"].from_string(SOURCE)
    with translation.override("zh-hans"):
        chinese = template.render({"name": "x.png"})
    with translation.override("en"):
        english = template.render({"name": "x.png"})
    assert chinese.startswith("退出") and english.startswith("Log out") and chinese != english
    nodes = [node for node in template.template.nodelist if "Node" in type(node).__name__]
    translated = [type(node) is LiteralTranslateNode for node in nodes if "Translate" in type(node).__name__]
    assert translated == [
        True,
        True,
        True,
        True,
        False,
        False,
        True,
        False,
    ]  # noop, context, filter: Django's
    statics = [type(node) is LiteralStaticNode for node in nodes if "Static" in type(node).__name__]
    assert statics == [True, True, False]  # a variable's path: Django's


def test_a_static_url_follows_the_storage_in_use(settings):
    template = engines["django"].from_string('{% load static %}{% static "css/onedesk.css" %}')
    assert template.render({}) == "/static/css/onedesk.css"
    settings.STATIC_URL = "/assets/"  # a new storage object: the kept URL is not used
    assert template.render({}) == "/assets/css/onedesk.css"


URLS = (
    '{% url "stations:request_list" %}|{% url "stations:request_detail" 7 %}|'
    '{% url "stations:request_detail" pk=7 %}|{% url "stations:request_detail" pk %}|'
    '{% url "stations:request_list" as list_url %}[{{ list_url }}]|{% url "no-such-view" as missing %}[{{ missing }}]'
)


def test_url_gives_djangos_output_and_keeps_only_constants(rf):
    ours = engines["django"].from_string(URLS)
    djangos = Engine().from_string(URLS)
    context = {"pk": 9}
    expected = djangos.render(Context(context))
    assert expected.startswith("/requests/|/requests/7/|/requests/7/|/requests/9/|[/requests/]|[]")
    assert ours.render(context) == expected
    assert ours.render(context) == expected  # kept: the same again
    assert ours.render({"pk": 10}).split("|")[3] == "/requests/10/"  # a variable's argument: Django's node
    nodes = [node for node in ours.template.nodelist if "URLNode" in type(node).__name__]
    assert [type(node) is LiteralURLNode for node in nodes] == [True, True, True, False, True, True]
    assert all(node.rendered == {} for node in nodes[-1:])  # a failed reverse is not kept


def test_a_kept_url_follows_the_script_prefix_and_language():
    template = engines["django"].from_string('{% url "stations:request_list" %}')
    assert template.render({}) == "/requests/"
    set_script_prefix("/onedesk/")
    try:
        assert template.render({}) == "/onedesk/requests/"
    finally:
        set_script_prefix("/")
    assert template.render({}) == "/requests/"
    with translation.override("en"):
        assert template.render({}) == "/requests/"


def test_an_unknown_url_still_raises():
    with pytest.raises(NoReverseMatch):
        engines["django"].from_string('{% url "no-such-view" %}').render({})


# --- {{ variables }} -----------------------------------------------------------------------------------------

VALUES = {
    "text": "张三 <b>&'\"",
    "plain": "3号楼",
    "safe": mark_safe("<i>kept</i>"),
    "number": 12345,
    "negative": -7,
    "flag": True,
    "none": None,
    "decimal": Decimal("1234.50"),
    "ratio": 0.125,
    "day": dt.date(2026, 11, 30),
    "moment": dt.datetime(2026, 11, 30, 1, 2, tzinfo=dt.UTC),
    "lazy": gettext_lazy("Log out"),
    "items": ["<a>", 1],
    "empty": SafeString(""),
}
VARIABLES = "|".join(f"{{{{ {name} }}}}" for name in VALUES)
TEMPLATE = (
    VARIABLES
    + "{% autoescape off %}#"
    + VARIABLES
    + "{% endautoescape %}{% for n in items %}<{{ n }}>{% endfor %}{% if flag %}{{ text }}{% endif %}"
)


def _ours_and_djangos(source: str, tmp_path) -> tuple:
    """The same template file through the project's backend and through Django's own engine."""
    (tmp_path / "variables.html").write_text(source, encoding="utf-8")
    ours = DjangoTemplates(
        {"NAME": "fast", "DIRS": [tmp_path], "APP_DIRS": False, "OPTIONS": {}}
    ).get_template("variables.html")
    djangos = Engine(dirs=[tmp_path]).get_template("variables.html")
    return ours, djangos


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("thousands", [False, True])
def test_variables_give_djangos_text(language, thousands, settings, tmp_path):
    settings.USE_THOUSAND_SEPARATOR = thousands
    ours, djangos = _ours_and_djangos(TEMPLATE, tmp_path)
    with translation.override(language):
        expected = djangos.render(Context(VALUES))
        assert ours.render(VALUES) == expected
    assert "&lt;b&gt;&amp;&#x27;&quot;" in expected and "12345" in expected.replace(",", "")


def test_the_loader_makes_every_variable_node_fast(tmp_path):
    (tmp_path / "base.html").write_text("<title>{{ title }}</title>{% block body %}{% endblock %}")
    (tmp_path / "part.html").write_text("[{{ part }}]")
    ours, _djangos = _ours_and_djangos(
        '{% extends "base.html" %}{% block body %}{% for x in xs %}{% if x %}{{ x }}{% else %}{{ none }}'
        '{% endif %}{% endfor %}{% include "part.html" %}{% endblock %}',
        tmp_path,
    )
    assert ours.render({"title": "<t>", "xs": [1, 0], "none": "-", "part": "&"}) == (
        "<title>&lt;t&gt;</title>1-[&amp;]"
    )
    loader = ours.backend.engine.template_loaders[0]
    assert type(loader) is Loader
    for name in ("variables.html", "base.html", "part.html"):
        template = loader.get_template(name).nodelist
        nodes = template.get_nodes_by_type(VariableNode)
        assert nodes and all(type(node) is FastVariableNode for node in nodes), name


def test_loaders_named_in_options_are_left_alone(tmp_path):
    backend = DjangoTemplates(
        {
            "NAME": "own",
            "DIRS": [tmp_path],
            "APP_DIRS": False,
            "OPTIONS": {"loaders": ["django.template.loaders.filesystem.Loader"]},
        }
    )
    assert backend.engine.loaders == ["django.template.loaders.filesystem.Loader"]


# --- date ---------------------------------------------------------------------------------------------------

DATE_FORMATS = ["Y-m-d H:i", "Y-m-d", "m-d", "m-d H:i", "n/j", "G:i:s", "Y-m-d D H:i", "Y-m-d l", "Y年m月d日", "D", "l",
                r"Y-m-d \a\t H:i", "SHORT_DATETIME_FORMAT", "N j, Y", "", "H:i"]  # fmt: skip
DATE_VALUES = {
    "moment": dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC),  # 13:06 in Beijing
    "late": dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # the next year in Beijing
    "naive": dt.datetime(999, 1, 2, 0, 0),
    "day": dt.date(2026, 11, 30),
    "nothing": None,
    "text": "2026-11-30",
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_dates_give_djangos_text(language, tmp_path):
    source = "".join(
        f'{{{{ {name}|date:"{fmt}" }}}}|'
        for name in DATE_VALUES
        for fmt in DATE_FORMATS
        # A date with a time in the format is an error, Django's (TypeError) as ours, below.
        if fmt and not (name == "day" and (any(c in fmt for c in "GHis") or "TIME" in fmt))
    ) + "".join(f"{{{{ {name}|date }}}}|" for name in DATE_VALUES)
    ours, djangos = _ours_and_djangos(source, tmp_path)
    with translation.override(language):
        expected = djangos.render(Context(DATE_VALUES))
        assert ours.render(DATE_VALUES) == expected
    assert "2026-03-04 13:06" in expected and "2027-01-01 07:59" in expected  # in the project's time zone


def test_a_date_with_a_time_format_is_djangos_error(tmp_path):
    ours, djangos = _ours_and_djangos('{{ day|date:"Y-m-d H:i" }}', tmp_path)
    for template, context in ((ours, DATE_VALUES), (djangos, Context(DATE_VALUES))):
        with pytest.raises(TypeError, match="time-related format specifiers"):
            template.render(context)


def test_the_date_filter_of_templates_is_the_projects(monkeypatch):
    from community.lib import template_libraries

    template = engines["django"].from_string('{{ day|date:"Y-m-d" }}')
    assert template.template.engine.template_builtins[-1].filters["date"] is template_libraries.date
    assert template.render({"day": dt.date(2026, 1, 2)}) == "2026-01-02"
    # Numbers and weekdays are written directly; other words, escapes, settings' names and CJK go to Django.
    handed = []
    monkeypatch.setattr(template_libraries.defaultfilters, "date", lambda *args: handed.append(args) or "")
    template = engines["django"].from_string('{{ day|date:"Y-m-d D" }}|{{ day|date:"N" }}')
    with translation.override("en"):
        assert template.render({"day": dt.date(2026, 1, 2)}) == "2026-01-02 Fri|"
    assert handed == [(dt.date(2026, 1, 2), "N")]
    assert all(template_libraries._plain_format(f) for f in ("Y-m-d H:i", "m-d", "n/j", "G:i:s", "Y-m-d l"))
    assert not any(template_libraries._plain_format(f) for f in ("N j", r"\Y", "DATE_FORMAT", "Y年"))
