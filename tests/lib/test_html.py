"""community.lib.html gives exactly what django.utils.html gives, for every kind of value a page passes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import html as django_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy, override

from community.lib import html

HOSTILE = [
    "",
    "plain",
    "张三 · 一口办",
    "<script>alert('x')</script>",
    "\"quoted\" & 'single'",
    "&amp; already escaped once",
    mark_safe("<b>trusted</b>"),
    SafeString("&lt;kept&gt;"),
    gettext_lazy("Overdue"),
    gettext_lazy("<Menu>"),
    0,
    -12,
    3.5,
    Decimal("99.50"),
    None,
    True,
    dt.date(2026, 11, 30),
    dt.datetime(2026, 11, 30, 8, 15),
    ["<li>", "&"],
]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_conditional_escape_matches_djangos(value):
    with override("zh-hans"):
        assert html.conditional_escape(value) == django_html.conditional_escape(value)


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_format_html_matches_djangos_and_is_safe(value):
    template = '<a href="/x/?q={}" title="{title}">{}</a>'
    with override("en"):
        ours = html.format_html(template, value, mark_safe("<i>ok</i>"), title=value)
        theirs = django_html.format_html(template, value, mark_safe("<i>ok</i>"), title=value)
    assert ours == theirs
    assert isinstance(ours, SafeString)
    assert "<script>" not in ours


def test_format_html_needs_arguments_as_djangos_does():
    with pytest.raises(TypeError):
        html.format_html("<br>")


def test_format_html_join_matches_djangos_for_tuples_and_mappings():
    rows = [("<a>", 1), (mark_safe("<b>"), gettext_lazy("Overdue"))]
    ours = html.format_html_join(mark_safe("<br>"), "<td>{}</td><td>{}</td>", rows)
    assert ours == django_html.format_html_join(mark_safe("<br>"), "<td>{}</td><td>{}</td>", rows)
    assert isinstance(ours, SafeString)
    named = [{"n": "<x>"}, {"n": "y & z"}]
    assert html.format_html_join("<&>", "{n}", named) == django_html.format_html_join("<&>", "{n}", named)
