"""Names, ID numbers and phones of generated people: valid by the same validators as user input, drawn
from a fixed pool of names whose pinyin is computed once per name."""

from __future__ import annotations

import datetime as dt
import random

from community.lib.validators import id_check_char
from residents.choices import Gender
from residents.services import pinyin_of
from stations.demo.people import (
    BEIJING_AREAS,
    EXTRA_SURNAMES,
    GIVEN_NAMES,
    MOBILE_PREFIXES,
    OTHER_AREAS,
    SURNAME_WEIGHTS,
    SURNAMES,
)

_SURNAMES = tuple(SURNAMES) + EXTRA_SURNAMES
_SURNAME_CUM: list[float] = []
_total = 0.0
for _w in (
    *(w * 0.92 for w in SURNAME_WEIGHTS),
    *([0.08 * sum(SURNAME_WEIGHTS) / len(EXTRA_SURNAMES)] * len(EXTRA_SURNAMES)),
):
    _total += _w
    _SURNAME_CUM.append(_total)


class NameBook:
    """Pinyin per name, computed once (pypinyin is the slow part of making a resident)."""

    def __init__(self) -> None:
        self._pinyin: dict[str, tuple[str, str]] = {}

    def pinyin(self, name: str) -> tuple[str, str]:
        found = self._pinyin.get(name)
        if found is None:
            found = self._pinyin[name] = pinyin_of(name)
        return found


def era_of(birth_year: int) -> str:
    return "old" if birth_year < 1965 else "mid" if birth_year < 1990 else "new"


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]


def given_name(rng: random.Random, birth_year: int, gender: str) -> str:
    return rng.choice(GIVEN_NAMES[(era_of(birth_year), gender)])


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


class IdNumbers:
    """GB 11643 numbers, unique over the whole run; the 17th digit agrees with the gender."""

    def __init__(self, used: set[str] | None = None) -> None:
        self.used: set[str] = used if used is not None else set()

    def make(self, rng: random.Random, birth: dt.date, gender: str) -> str:
        area = rng.choice(BEIJING_AREAS) if rng.random() < 0.8 else rng.choice(OTHER_AREAS)
        stem = f"{area}{birth:%Y%m%d}"
        parity = 1 if gender == Gender.MALE else 0
        while True:
            sequence = rng.randrange(500) * 2 + parity  # 000-999, odd for men
            first17 = f"{stem}{sequence:03d}"
            number = first17 + id_check_char(first17)
            if number not in self.used:
                self.used.add(number)
                return number
