"""Normalise and validate Chinese identifiers and names: ID cards (GB 11643), unified social credit
codes (GB 32100), mobile and landline numbers, personal names.

Each ``normalize_*`` function returns the canonical form or raises ``ValidationError`` with a
translated message. Forms and services call the same functions, so the rules cannot drift apart.
"""

import datetime as dt
import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")

# GB 32100: 18 characters from this alphabet (no I, O, Z, S, V); weights 3^i mod 31.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE_RE = re.compile(r"0[1-9][0-9]{1,2}-?[0-9]{7,8}")
_PHONE_STRIP = re.compile(r"[\s\-()]")

# Bidi overrides/isolates and other invisible format characters have no place in a name. Zero-width
# space, word joiner and BOM are invisible too: "张\u200b三" would look like a second 张三.
_FORBIDDEN_NAME_CHARS = {
    "\x00",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u200b",
    "\u2060",
    "\ufeff",
}
# Look-alikes of the middle dot U+00B7 that people type in transliterated names (阿依古丽·买买提):
# bullet, katakana and half-width katakana middle dots, hyphenation point (Taiwan), bullet and dot operators.
_MIDDLE_DOT_LOOKALIKES = str.maketrans(dict.fromkeys("\u2022\u30fb\uff65\u2027\u2219\u22c5", "\u00b7"))
NAME_MAX_LENGTH = 64
# "\r\n" from a textarea, a lone "\r", NEL and the Unicode line and paragraph separators: all one "\n".
_NEWLINES = re.compile("\r\n|[\r\x85\u2028\u2029]")
_LINE_BREAKS = re.compile("[\n\t]+")
PLAUSIBLE_DATES = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))


def nfkc(value: str) -> str:
    """Full-width digits and letters become ASCII; surrounding whitespace goes."""
    return unicodedata.normalize("NFKC", value or "").strip()


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_id_number(value: str) -> str:
    """Return an 18-character resident ID number (GB 11643) with an upper-case X, or raise."""
    number = nfkc(value).replace(" ", "").upper()
    if not _ID_RE.fullmatch(number):
        raise ValidationError(
            _("An ID card number has 18 characters: 17 digits and a digit or X."), code="id_format"
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date in this ID card number does not exist."), code="id_birth_date"
        ) from None
    # Today in the project's time zone (Asia/Shanghai), not the server's: at 07:00 in Beijing a UTC server
    # is still on yesterday and would call a baby born today unborn.
    if birth.year < 1890 or birth > timezone.localdate():
        raise ValidationError(
            _("The birth date in this ID card number does not exist."), code="id_birth_date"
        )
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The check digit of this ID card number is wrong; please check it."), code="id_checksum"
        )
    return number


def birth_date_from_id(number: str) -> dt.date:
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_from_id(number: str) -> str:
    """The 17th digit is odd for men and even for women."""
    return "male" if int(number[16]) % 2 else "female"


def credit_code_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    """Return an 18-character unified social credit code (GB 32100), upper case, or raise."""
    code = nfkc(value).replace(" ", "").upper()
    if not _USCC_RE.fullmatch(code):
        raise ValidationError(
            _(
                "A unified social credit code has 18 characters: digits and capital letters except I, O, Z, S, V."
            ),
            code="credit_code_format",
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character of this credit code is wrong; please check it."),
            code="credit_code_checksum",
        )
    return code


def normalize_phone(value: str) -> str:
    """Return a mobile number as 11 digits or a landline as 0XX-XXXXXXXX; accept +86, spaces, hyphens."""
    raw = nfkc(value)
    compact = _PHONE_STRIP.sub("", raw)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    if _MOBILE_RE.fullmatch(compact):
        return compact
    # Landlines keep their area code separated, as people write them: 010-65001234. NFKC has already
    # turned a full-width hyphen into "-".
    landline = re.sub(r"[\s()]", "", raw)
    if _LANDLINE_RE.fullmatch(landline):
        digits = landline.replace("-", "")
        area_len = 3 if digits[1] in "12" else 4  # 010 and 020…029 are 3 digits; all others 4.
        hyphen_at = landline.find("-")
        # The local number has 7 or 8 digits after *that* area code, and a typed hyphen must sit after it:
        # 010123456789 (9 local digits) or 0101-23456789 are typos, not 010-123456789.
        if (
            7 <= len(digits) - area_len <= 8
            and hyphen_at in (-1, area_len)
            and not (digits[1] == "1" and digits[2] != "0")
        ):  # 010 is the only 01X area code
            return f"{digits[:area_len]}-{digits[area_len:]}"
    raise ValidationError(
        _(
            "Enter an 11-digit mobile number (e.g. 13812345678) or a landline with its area code (e.g. 010-65001234)."
        ),
        code="phone_format",
    )


def normalize_name(value: str) -> str:
    """Names stay as entered (middle dot, rare characters beyond the BMP); control characters are refused."""
    name = unicodedata.normalize("NFC", value or "").strip()
    name = name.translate(_MIDDLE_DOT_LOOKALIKES)
    if not name:
        raise ValidationError(_("Enter a name."), code="name_required")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("A name has at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}, code="name_length"
        )
    if any(ch in _FORBIDDEN_NAME_CHARS or unicodedata.category(ch) in {"Cc", "Cs", "Co"} for ch in name):
        raise ValidationError(_("The name contains invisible or control characters."), code="name_chars")
    return name


def _is_hidden(ch: str) -> bool:
    # Cc: NUL (PostgreSQL refuses it in text: a 500 where SQLite shrugs), escapes, bells; Cs: lone
    # surrogates, which no database can encode.
    return ch in _FORBIDDEN_NAME_CHARS or unicodedata.category(ch) in {"Cc", "Cs"}


def clean_text(value: str, *, max_length: int | None = None, multiline: bool = True) -> str:
    """Free text as the person meant it: every line break becomes "\\n" (one space if not `multiline`),
    NUL and other control characters, bidi overrides and invisible characters go, the text is composed
    (NFC, not NFKC: "，" and "１" stay as typed), and surrounding whitespace is trimmed.

    The length is counted on the result, which is what the column holds: NFC can lengthen a text
    (U+0344 becomes two characters), so a form's check of the typed text is not enough."""
    text = _NEWLINES.sub("\n", value or "")
    text = "".join(ch for ch in text if ch in "\n\t" or not _is_hidden(ch))
    if not multiline:
        text = _LINE_BREAKS.sub(" ", text)
    text = unicodedata.normalize("NFC", text).strip()
    if max_length is not None and len(text) > max_length:
        raise ValidationError(_("At most %(max)d characters.") % {"max": max_length}, code="too_long")
    return text


class CleanTextField(forms.CharField):
    """A form's text field that hands on ``clean_text``'s result: ``required`` and ``max_length`` then
    judge what will be saved, not what was typed (a title of zero-width spaces is empty). One line
    unless the widget is a textarea."""

    def to_python(self, value):
        text = super().to_python(value)
        return clean_text(text, multiline=isinstance(self.widget, forms.Textarea)) if text else text


def validate_plausible_date(value: dt.date) -> None:
    """Dates typed into forms lie between 1900 and 2100. Django accepts years 1 to 9999, where adding a
    day or converting 0001-01-01 00:00 (Beijing) to UTC overflows: a 500 instead of a message."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if not PLAUSIBLE_DATES[0] <= day <= PLAUSIBLE_DATES[1]:
        raise ValidationError(
            _("Enter a date between %(first)s and %(last)s.")
            % {"first": PLAUSIBLE_DATES[0].year, "last": PLAUSIBLE_DATES[1].year},
            code="date_range",
        )


def mask_phone(phone: str) -> str:
    """138****1234 for mobiles, 010-****1234 for landlines."""
    if not phone:
        return ""
    if "-" in phone:
        area, number = phone.split("-", 1)
        return f"{area}-{'*' * max(len(number) - 4, 0)}{number[-4:]}"
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_id_number(number: str) -> str:
    """First 3 and last 4 characters visible: 110***********123X."""
    if not number:
        return ""
    if len(number) < 8:
        return "*" * len(number)
    return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"
