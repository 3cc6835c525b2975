"""community.lib.i18n_tags: `{% load i18n %}` is Django's library, `{% translate "literal" %}` kept per
language, with Django's output in every language and form of the tag."""

import pytest
from django.template import Context, Engine, engines
from django.utils import translation

from community.lib.i18n_tags import LiteralTranslateNode

SOURCE = (
    '{% load i18n %}{% translate "Log out" %}|{% translate "100%% done" %}|{% trans "Menu" %}|'
    '{% translate "Log out" as label %}[{{ label }}]|{% translate "Log out" noop %}|'
    '{% translate "May" context "month name" %}|{% translate "<b>" %}|{% translate "Log out"|upper %}'
)


def render_both(language: str) -> tuple[str, str]:
    ours = engines["django"].from_string(SOURCE)
    djangos = Engine(libraries={"i18n": "django.templatetags.i18n"}).from_string(SOURCE)  # Django's own
    with translation.override(language):
        return ours.render({}), djangos.render(Context({}))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_same_output_as_djangos_library(language):
    ours, djangos = render_both(language)
    assert ours == djangos
    assert ours == render_both(language)[0]  # kept: the same again


def test_languages_are_kept_apart_and_only_plain_literals_are_kept():
    template = engines["django"].from_string(SOURCE)
    with translation.override("zh-hans"):
        chinese = template.render({})
    with translation.override("en"):
        english = template.render({})
    assert chinese.startswith("退出") and english.startswith("Log out") and chinese != english
    nodes = [node for node in template.template.nodelist if "Translate" in type(node).__name__]
    kept = [type(node) is LiteralTranslateNode for node in nodes]
    assert kept == [True, True, True, True, False, False, True, False]  # noop, context, filter: Django's
