"""The property every form must keep, and an oracle of the house text rule written independently of
``community.lib.validators.clean_text`` so that a mistake there cannot agree with itself."""

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator

from django import forms

from tests.fuzz.strategies import BIDI

# Invisible characters that hide what a text says. Zero-width joiner and non-joiner stay: emoji
# sequences (👩‍👧) and Persian words need them.
INVISIBLE = frozenset(BIDI + "\u200b\u2060\ufeff")
LINE_BREAK = re.compile("\r\n|[\r\x85\u2028\u2029]")


def expected_text(raw: str, *, multiline: bool = True) -> str:
    """What a text field must save for `raw`: line breaks as "\\n" (one line: a space), no control or
    invisible characters, NFC, trimmed."""
    text = LINE_BREAK.sub("\n", raw)
    text = "".join(
        ch
        for ch in text
        if ch in "\n\t" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in INVISIBLE)
    )
    if not multiline:
        text = re.sub("[\n\t]+", " ", text)
    return unicodedata.normalize("NFC", text).strip()


def strings_in(value) -> Iterator[str]:
    """Every string inside a cleaned value (lists, dicts, tuples); model instances are not walked."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)


def problems_in_text(text: str, *, multiline: bool) -> list[str]:
    allowed = "\n\t" if multiline else ""
    found = []
    bad = sorted(
        {
            f"U+{ord(ch):04X}"
            for ch in text
            if (unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed) or ch in INVISIBLE
        }
    )
    if bad:
        found.append(f"control or invisible characters {', '.join(bad)}")
    if text != text.strip():
        found.append("surrounding whitespace")
    if not unicodedata.is_normalized("NFC", text):
        found.append("not NFC")
    return found


def check_cleaned(form: forms.BaseForm, columns: dict[str, int | None], identifiers: frozenset[str]) -> None:
    """The form is valid: what it hands on is what may be saved.

    - no NUL anywhere (PostgreSQL refuses it);
    - each stored text (`columns`: field → the column's max length, None for a text column) is clean
      (no control or invisible characters, NFC, trimmed), fits its column, and is not empty if required;
    - identifiers (phones, ID numbers) are plain ASCII;
    - dates lie in 1900–2100: year 1 or 9999 overflow when converted to UTC or when a day is added."""
    data = form.cleaned_data
    for name, value in data.items():
        for text in strings_in(value):
            assert "\x00" not in text, f"{name}: NUL in {text!r}"
        if isinstance(value, dt.date):
            day = value.date() if isinstance(value, dt.datetime) else value
            assert dt.date(1900, 1, 1) <= day <= dt.date(2100, 12, 31), f"{name}: implausible date {value}"
    for name, limit in columns.items():
        value = data.get(name)
        if not isinstance(value, str):
            continue
        field = form.fields[name]
        multiline = isinstance(field.widget, forms.Textarea)
        problems = problems_in_text(value, multiline=multiline)
        assert not problems, f"{name}: {problems} in {value!r}"
        if limit is not None:
            assert len(value) <= limit, f"{name}: {len(value)} characters for a column of {limit}"
        if field.required:
            assert value, f"{name}: required but empty after cleaning"
        if name in identifiers and value:
            assert value.isascii() and value.isprintable(), f"{name}: not plain ASCII: {value!r}"
