"""community.lib.lookups: `like` / `ulike` with like_pattern() find what Django's pattern lookups find."""

import pytest

from community.lib.lookups import like_pattern
from residents.models import Resident
from tests import factories

pytestmark = pytest.mark.django_db

NAMES = ["张焱", "Zhang Yan", "zhang_yan", "100%", "a\\b", "a_b", "ab", "O'Brien", "ÄÖ", "äö", ""]
TEXTS = ["张", "zhang", "ZHANG", "_", "%", "\\", "a_b", "a\\b", "'", "ä", "Ä", "n_y", "", "yan"]


@pytest.fixture
def people(community_a):
    for name in NAMES:
        factories.ResidentFactory(household=None, community=community_a, name=name)


def names(**lookup) -> set[str]:
    return set(Resident.objects.filter(**lookup).values_list("name", flat=True))


@pytest.mark.parametrize("text", TEXTS)
def test_like_is_contains_startswith_and_endswith(people, text):
    assert names(name__like=like_pattern(text, "%", "%")) == names(name__contains=text)
    assert names(name__like=like_pattern(text, after="%")) == names(name__startswith=text)
    assert names(name__like=like_pattern(text, before="%")) == names(name__endswith=text)


@pytest.mark.parametrize("text", TEXTS)
def test_ulike_is_icontains(people, text):
    assert names(name__ulike=like_pattern(text, "%", "%")) == names(name__icontains=text)


def test_like_pattern_escapes_only_like_characters():
    assert like_pattern("a_b%c\\d", "%", "%") == "%a\\_b\\%c\\\\d%"
    assert like_pattern("张焱 'x'") == "张焱 'x'"
