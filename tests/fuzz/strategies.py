"""Hypothesis strategies for what people (and scripts) type into forms: Chinese text, full-width digits,
emoji and characters beyond the BMP, bidi overrides, NUL and other control characters, zero-width
characters, strings up to 10,000 characters, and well-formed values (phones, ID numbers with their
check digit, dates) so that some examples are valid and reach the database.

Every strategy draws raw POST values: strings, lists of strings, or a ``Ref`` to an object of the
test's world that the test turns into its primary key."""

import datetime as dt
from dataclasses import dataclass

from hypothesis import strategies as st

from community.lib.validators import credit_code_check_char, id_check_char

# --- Characters --------------------------------------------------------------------------------------

FULL_WIDTH = "０１２３４５６７８９＋－（）　ｘＸ，。：；！？"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
CONTROLS = "\x00\x01\x07\x08\x0b\x0c\x0e\x1b\x1c\x1f\x7f\x80\x85\x9f"
WHITESPACE = " \t\r\n\u3000\u00a0\u2028\u2029"
# NFC or NFKC turn each of these into more characters: ᾅ-like compositions, ﷺ (18), ㍿ (4), ﬃ (3).
EXPANDING = "\u0344\ufb2c\u1f85\ufdfa\u337f\ufb03\u3300\u2474"
# Digits that str.isdigit() accepts but int() does not, and digits of other scripts that int() accepts.
ODD_DIGITS = "²³¹⁴₀①٣۷߂०১"

ascii_chars = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
cjk_chars = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
astral_chars = st.one_of(
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),  # CJK extension B: 𠮷
    st.characters(min_codepoint=0xF0000, max_codepoint=0xF00FF),  # private use, plane 15
)
nasty_chars = st.sampled_from(FULL_WIDTH + BIDI + ZERO_WIDTH + CONTROLS + WHITESPACE + EXPANDING + ODD_DIGITS)
any_char = st.characters(codec="utf-8")  # every code point except the surrogates

chars = st.one_of(ascii_chars, cjk_chars, astral_chars, nasty_chars, any_char)


@st.composite
def long_text(draw, *, min_size: int = 1, max_size: int = 10_000) -> str:
    """A long string made of a repeated short piece: fast to draw at 10,000 characters."""
    piece = draw(st.text(chars, min_size=1, max_size=4))
    size = draw(st.integers(min_size, max_size))
    return (piece * (size // len(piece) + 1))[:size]


def boundary_text(limit: int) -> st.SearchStrategy[str]:
    """Strings of limit - 1, limit and limit + 1 characters of one (possibly expanding) character."""
    return st.builds(
        lambda ch, delta: ch * max(limit + delta, 0),
        st.one_of(cjk_chars, nasty_chars, astral_chars),
        st.sampled_from([-1, 0, 1]),
    )


def messy_text(max_size: int = 60) -> st.SearchStrategy[str]:
    return st.text(chars, max_size=max_size)


def text_value(limit: int | None = None, *examples: str) -> "Field":
    """A text field whose column holds `limit` characters (None: a text column without a limit).
    Valid: text that fits, messy characters included (cleaning must cope); junk: empty or invisible,
    too long, at the limit ± 1 of a character that normalisation may lengthen."""
    fitting = st.text(chars, min_size=1, max_size=min(limit or 200, 200))
    samples = st.sampled_from([*examples, "正常的文字", "楼道灯坏了\r\n请尽快修", "𠮷野家 🍜", " 前后空格 "])
    junk = [
        long_text(),
        messy_text(),
        st.sampled_from(["", " ", "\x00", "\u202e", "\u200b\u200b", "\x1b[2J", "\r\n", "\u3000"]),
    ]
    if limit is not None:
        junk.append(boundary_text(limit))
    return Field(st.one_of(fitting, samples), st.one_of(junk))


# --- Well-formed values ------------------------------------------------------------------------------


@st.composite
def id_numbers(draw) -> str:
    """A valid ID card number (GB 11643), sometimes typed with full-width digits, spaces or a small x."""
    birth = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)))
    first17 = f"110105{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    number = first17 + id_check_char(first17)
    style = draw(st.sampled_from(["plain", "lower", "full", "spaced"]))
    if style == "lower":
        return number.lower()
    if style == "full":
        return number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    if style == "spaced":
        return f" {number[:6]} {number[6:14]} {number[14:]} "
    return number


@st.composite
def phones(draw) -> str:
    mobile = f"1{draw(st.sampled_from('3456789'))}{draw(st.integers(0, 10**9 - 1)):09d}"
    landline = f"010-{draw(st.integers(10**7, 10**8 - 1))}"
    return draw(
        st.sampled_from(
            [
                mobile,
                f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}",
                mobile.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                landline,
                f"({landline[:3]}){landline[4:]}",
            ]
        )
    )


@st.composite
def credit_codes(draw) -> str:
    first17 = f"91110105{draw(st.integers(0, 10**9 - 1)):09d}"
    return first17 + credit_code_check_char(first17)


ODD_DATES = [
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "2026-13-01",
    "１９８０-０１-０２",
    "2026-1-1",
    "1/2/2026",
    "2026/01/02",
    "20260102",
    "99999-01-01",
    "-2026-01-01",
    "2026-01-01T00:00",
    "²⁰²⁶-01-01",
]
ODD_DATETIMES = [
    "0001-01-01T00:00",
    "0001-01-01 00:00",
    "9999-12-31T23:59",
    "9999-12-31T23:59:59",
    "2026-02-30T10:00",
    "2026-01-01T24:00",
    "2026-01-01T10:00+14:00",
    "2026-01-01T10:00Z",
    "２０２６-０１-０１T１０:００",
    "2026-01-01",
    "10:00",
]
ODD_INTEGERS = [
    "-1",
    "0",
    "1",
    "2",
    "99",
    "100",
    "1000",
    "1e3",
    "0x10",
    "１２",
    "٣",
    "²",
    "9" * 30,
    " 7 ",
    "+5",
]


def date_value(valid: st.SearchStrategy[dt.date] | None = None) -> "Field":
    if valid is None:
        valid = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
    return Field(valid.map(dt.date.isoformat), st.one_of(st.sampled_from(ODD_DATES), messy_text(20)))


def datetime_value(valid: st.SearchStrategy[dt.datetime] | None = None) -> "Field":
    if valid is None:
        valid = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 12, 31))
    return Field(
        valid.map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
        st.one_of(st.sampled_from(ODD_DATETIMES), messy_text(20)),
    )


def integer_value(lo: int, hi: int) -> "Field":
    """Valid: an integer in [lo, hi]; junk: out of range, other scripts' digits, text."""
    return Field(
        st.integers(lo, hi).map(str),
        st.one_of(st.integers(-(10**20), 10**20).map(str), st.sampled_from(ODD_INTEGERS), messy_text(8)),
    )


def choice_value(choices) -> "Field":
    """Valid: one of the choices; junk: a near miss (case, NUL, spaces) or text."""
    values = [str(value) for value in choices]
    return Field(
        st.sampled_from(values),
        st.one_of(
            st.sampled_from(values).map(lambda v: v.upper() + "\x00"),
            st.sampled_from(values).map(lambda v: f" {v}\u200b"),
            messy_text(12),
        ),
    )


def uuid_value() -> "Field":
    return Field(
        st.uuids().map(str), st.one_of(st.uuids().map(lambda u: u.hex.upper() + "\x00"), messy_text(40))
    )


def optional_uuid_value() -> "Field":
    """A form's optional submission key: valid, a UUID or nothing (an old page without one)."""
    return Field(st.one_of(st.just(""), uuid_value().valid), uuid_value().junk)


def bool_value() -> "Field":
    return Field(
        st.sampled_from(["on", "", "true", "false"]), st.sampled_from(["1", "0", "yes", "\x00", "ｏｎ", "²"])
    )


# --- Objects of the world ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """The primary key of the world's object `name` (resolved by the test)."""

    name: str


BOGUS_PKS = ["0", "-1", "999999999", "9" * 25, "1.5", "1\x00", "²", "١", "abc", "", " "]


def pk_value(*names: str) -> "Field":
    """Valid: the pk of one of the world's objects `names`; junk: a bogus pk, or the pk of the same kind
    of object in another community (`<name>_b`)."""
    return Field(
        st.sampled_from([Ref(name) for name in names]), st.sampled_from([*BOGUS_PKS, Ref(f"{names[0]}_b")])
    )


def home_value() -> "Field":
    """A home typed as an address. Valid: the world's household as the form writes it, or blank; junk: no
    such home, the address of another community's household, other scripts' digits, text."""
    return Field(
        st.sampled_from([Ref("home"), ""]),
        st.one_of(
            st.sampled_from([Ref("home_b"), "99-1-101", "3-²-301", "3-99999999-301", "-", "--", "1号楼-1-"]),
            messy_text(64),
        ),
    )


def pk_list(*names: str) -> "Field":
    one = pk_value(*names)
    return Field(
        st.lists(one.valid, max_size=3, unique=True), st.lists(st.one_of(one.valid, one.junk), max_size=3)
    )


# --- Whole forms -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """How to fill one field: `valid` values pass the field's own checks, `junk` values should not
    (or only after normalisation); both must end as a clean save or as form errors."""

    valid: st.SearchStrategy
    junk: st.SearchStrategy

    def any(self) -> st.SearchStrategy:
        return st.one_of(self.valid, self.junk)


@st.composite
def form_data(draw, fields: dict[str, Field]) -> dict:
    """A POST dict. The mode spreads the examples: all fields well-formed (so many reach the database),
    a mix, or all junk; a few fields may be missing from the request altogether."""
    mode = draw(st.sampled_from(["valid", "valid", "valid", "mixed", "junk"]))
    data = {}
    for name, field in fields.items():
        strategy = {"valid": field.valid, "mixed": field.any(), "junk": field.junk}[mode]
        data[name] = draw(strategy)
    if fields and mode != "valid":
        for name in draw(st.sets(st.sampled_from(sorted(fields)), max_size=2)):
            data.pop(name, None)
    return data
