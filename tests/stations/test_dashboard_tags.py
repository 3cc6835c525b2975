"""stations.templatetags.dashboard: its number formatting is floatformat's and localize's, in every language."""

import random
from decimal import Decimal

import pytest
from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.formats import get_format, localize

from stations.templatetags.dashboard import _fixed, _number

VALUES = [
    0,
    0.0,
    1,
    100,
    100.0,
    99.95,
    99.94,
    0.05,
    0.15,
    0.25,
    2.25,
    2.35,
    12.5,
    1e-7,
    123456.789,
    33.333333,
]
VALUES += [Decimal("1.50"), Decimal("2.0"), Decimal("7.25"), Decimal("0.05")]


@pytest.mark.parametrize("language", ["zh-hans", "en", "de"])
def test_fixed_is_floatformat(language):
    rng = random.Random(1)
    values = [*VALUES, *(round(rng.uniform(0, 1000), rng.randint(0, 4)) for _ in range(500))]
    with translation.override(language):
        separator = get_format("DECIMAL_SEPARATOR")
        for value in values:
            for places in (0, 1, "-1"):
                assert _fixed(value, places, separator) == floatformat(value, places), (value, places)


@pytest.mark.parametrize("thousands", [False, True])
def test_number_is_localize(settings, thousands):
    settings.USE_THOUSAND_SEPARATOR = thousands
    for value in (0, 7, 1234567):
        assert _number(value) == localize(value)
