"""Chinese identifiers, phones and names (RECIPES.md, "Chinese specifics").

Check digits are computed here from the standards' own tables, not with the module's helpers, so a
wrong table in ``community.lib.validators`` cannot agree with itself."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from community.lib.validators import (
    NAME_MAX_LENGTH,
    birth_date_from_id,
    clean_text,
    credit_code_check_char,
    gender_from_id,
    id_check_char,
    mask_id_number,
    mask_phone,
    normalize_credit_code,
    normalize_id_number,
    normalize_name,
    normalize_phone,
)

# GB 11643-1999, MOD 11-2.
GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
GB11643_CHECK = {0: "1", 1: "0", 2: "X", 3: "9", 4: "8", 5: "7", 6: "6", 7: "5", 8: "4", 9: "3", 10: "2"}

# GB 32100-2015.
GB32100_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GB32100_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def gb11643_check(first17: str) -> str:
    return GB11643_CHECK[sum(int(d) * w for d, w in zip(first17, GB11643_WEIGHTS, strict=True)) % 11]


def gb11643(first17: str) -> str:
    return first17 + gb11643_check(first17)


def wrong_id_check(number: str) -> str:
    """The same number with any other check character."""
    return number[:17] + next(c for c in "0123456789X" if c != number[17])


def gb32100_check(first17: str) -> str:
    value = (
        31 - sum(GB32100_ALPHABET.index(c) * w for c, w in zip(first17, GB32100_WEIGHTS, strict=True)) % 31
    )
    return GB32100_ALPHABET[0 if value == 31 else value]


def gb32100(first17: str) -> str:
    return first17 + gb32100_check(first17)


def assert_invalid(func, value, code):
    with pytest.raises(ValidationError) as exc_info:
        func(value)
    assert exc_info.value.code == code
    return exc_info.value


# --- ID card numbers (GB 11643) -------------------------------------------------------------------------


class TestIdNumber:
    def test_own_check_digit_table_agrees_with_the_published_example(self):
        # The standard's worked example and the number most often quoted from it.
        assert gb11643_check("11010519491231002") == "X"

    @pytest.mark.parametrize(
        "first17",
        [
            "11010519491231002",  # check X: Beijing Chaoyang, 1949-12-31, female
            "44030419900307201",  # Shenzhen Futian, 1990-03-07
            "31011520000229123",  # Shanghai Pudong, born on a leap day
            "65010219850715431",  # Urumqi
            "11010518900101001",  # the earliest accepted birth year
        ],
    )
    def test_valid_numbers_are_returned_unchanged(self, first17):
        number = gb11643(first17)
        assert normalize_id_number(number) == number

    def test_every_check_value_is_reachable_and_accepted(self):
        # The sequence code runs through all 11 remainders, so each mapping of the table is exercised.
        seen = {}
        for seq in range(200):
            first17 = f"110105199001{seq % 28 + 1:02d}{seq:03d}"
            seen.setdefault(gb11643_check(first17), first17)
        assert set(seen) == set("0123456789X")
        for first17 in seen.values():
            assert normalize_id_number(gb11643(first17)) == gb11643(first17)
            assert id_check_char(first17) == gb11643_check(first17)

    def test_published_example(self):
        assert normalize_id_number("11010519491231002X") == "11010519491231002X"

    def test_lower_case_x_is_upper_cased(self):
        assert normalize_id_number("11010519491231002x") == "11010519491231002X"

    def test_full_width_digits_and_x_are_accepted(self):
        assert normalize_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"

    @pytest.mark.parametrize(
        "typed",
        [
            " 11010519491231002X ",
            "110105 19491231 002X",
            "110105\u300019491231\u3000002X",  # ideographic spaces, as typed with a Chinese IME
            "\t11010519491231002X\n",
        ],
    )
    def test_spaces_are_stripped(self, typed):
        assert normalize_id_number(typed) == "11010519491231002X"

    def test_wrong_check_digit(self):
        assert_invalid(normalize_id_number, "110105194912310021", "id_checksum")
        assert_invalid(normalize_id_number, wrong_id_check(gb11643("44030419900307201")), "id_checksum")

    @pytest.mark.parametrize(
        "value",
        [
            "11010519491231002",  # 17
            "11010519491231002X1",  # 19
            "110105491231002",  # the old 15-digit format
            "1101051949123100XX",  # X only as the check character
            "X10105194912310021",
            "11010519491231002Y",
            "11010519491231O02X",  # letter O for zero
            "",
            "   ",
        ],
    )
    def test_wrong_format(self, value):
        assert_invalid(normalize_id_number, value, "id_format")

    def test_arabic_indic_digits_are_not_digits_here(self):
        # NFKC leaves U+0660..U+0669 alone; [0-9] must refuse them even though int() would not.
        arabic = "".join(chr(0x0660 + int(d)) for d in "11010519491231002") + "X"
        assert_invalid(normalize_id_number, arabic, "id_format")

    @pytest.mark.parametrize(
        "birth", ["19490230", "19490231", "19491301", "19490001", "19490100", "19000229", "20230229"]
    )
    def test_impossible_birth_date(self, birth):
        # The check digit is right, so only the date can be the reason.
        assert_invalid(normalize_id_number, gb11643(f"110105{birth}002"), "id_birth_date")

    def test_leap_day_is_a_possible_birth_date(self):
        number = gb11643("11010520000229002")
        assert normalize_id_number(number) == number

    def test_future_birth_date(self):
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        assert_invalid(normalize_id_number, gb11643(f"110105{tomorrow:%Y%m%d}002"), "id_birth_date")
        next_year = gb11643(f"110105{timezone.localdate().year + 1}0101002")
        assert_invalid(normalize_id_number, next_year, "id_birth_date")

    def test_born_today_in_beijing_is_accepted(self):
        today = timezone.localdate()
        number = gb11643(f"110105{today:%Y%m%d}002")
        assert normalize_id_number(number) == number

    def test_birth_year_before_1890(self):
        assert_invalid(normalize_id_number, gb11643("11010518891231002"), "id_birth_date")

    def test_birth_date_and_gender_are_read_from_the_number(self):
        assert birth_date_from_id("11010519491231002X") == dt.date(1949, 12, 31)
        assert gender_from_id("11010519491231002X") == "female"  # 17th digit 2: even
        assert gender_from_id(gb11643("11010519491231001")) == "male"  # 17th digit 1: odd


# --- Unified social credit codes (GB 32100) --------------------------------------------------------------


class TestCreditCode:
    def test_own_check_table_agrees_with_a_real_code(self):
        assert gb32100_check("91350100M000100Y4") == "3"

    def test_real_code(self):
        assert normalize_credit_code("91350100M000100Y43") == "91350100M000100Y43"

    @pytest.mark.parametrize(
        "first17",
        [
            "91350100M000100Y4",
            "91110105000000001",
            "11100000000013127",  # a government body (registration authority 1)
            "52110105MJ0000000",  # a social organisation
            "Y1110105ABCDEFGHJ",
        ],
    )
    def test_valid_codes(self, first17):
        code = gb32100(first17)
        assert normalize_credit_code(code) == code
        assert credit_code_check_char(first17) == gb32100_check(first17)

    def test_check_value_31_becomes_0(self):
        # Find a code whose weighted sum is a multiple of 31, where 31 - 0 = 31 must map to "0".
        first17 = next(
            f"91110105{n:09d}"
            for n in range(1000)
            if sum(
                GB32100_ALPHABET.index(c) * w
                for c, w in zip(f"91110105{n:09d}", GB32100_WEIGHTS, strict=True)
            )
            % 31
            == 0
        )
        assert normalize_credit_code(first17 + "0") == first17 + "0"

    def test_every_check_character_is_reachable(self):
        seen = {gb32100_check(f"91110105{n:09d}") for n in range(500)}
        assert seen == set(GB32100_ALPHABET)

    def test_lower_case_is_upper_cased(self):
        assert normalize_credit_code("91350100m000100y43") == "91350100M000100Y43"

    def test_full_width_and_spaces(self):
        assert normalize_credit_code(" ９１３５０１００Ｍ０００１００Ｙ４３ ") == "91350100M000100Y43"
        assert normalize_credit_code("9135 0100 M000 100Y 43") == "91350100M000100Y43"

    def test_wrong_check_character(self):
        for wrong in "0124ABY":
            assert_invalid(normalize_credit_code, "91350100M000100Y4" + wrong, "credit_code_checksum")

    @pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
    def test_letters_outside_the_alphabet(self, letter):
        # In the organisation code and as the check character: both are refused before any checksum.
        assert_invalid(normalize_credit_code, f"91350100{letter}000100Y43", "credit_code_format")
        assert_invalid(normalize_credit_code, f"91350100M000100Y4{letter}", "credit_code_format")

    @pytest.mark.parametrize(
        "value",
        [
            "91350100M000100Y4",  # 17
            "91350100M000100Y433",  # 19
            "9135A100M000100Y43",  # the region code is six digits
            "91350100M000100Y4-",
            "",
        ],
    )
    def test_wrong_format(self, value):
        assert_invalid(normalize_credit_code, value, "credit_code_format")


# --- Phones ----------------------------------------------------------------------------------------------


class TestPhone:
    @pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
    def test_mobiles_1_3_to_9(self, prefix):
        assert normalize_phone(f"{prefix}812345678") == f"{prefix}812345678"

    @pytest.mark.parametrize(
        "typed",
        [
            "13812345678",
            "+86 138 1234 5678",
            "+8613812345678",
            "0086 138 1234 5678",
            "138-1234-5678",
            "138 1234 5678",
            " 13812345678 ",
            "１３８１２３４５６７８",  # full-width digits
            "＋８６ １３８－１２３４－５６７８",  # full-width plus and hyphens
            "138\u30001234\u30005678",  # ideographic spaces
        ],
    )
    def test_mobile_forms(self, typed):
        assert normalize_phone(typed) == "13812345678"

    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("010-65001234", "010-65001234"),
            ("01065001234", "010-65001234"),
            ("010 6500 1234", "010-65001234"),
            ("(010)65001234", "010-65001234"),
            ("０１０－６５００１２３４", "010-65001234"),
            ("021-6500123", "021-6500123"),  # 7-digit local numbers exist
            ("0571-88886666", "0571-88886666"),
            ("057188886666", "0571-88886666"),
            ("0991-1234567", "0991-1234567"),
        ],
    )
    def test_landlines(self, typed, expected):
        assert normalize_phone(typed) == expected

    @pytest.mark.parametrize(
        "value",
        [
            "12812345678",  # 12x is no mobile prefix
            "11812345678",
            "23812345678",
            "1381234567",  # 10 digits
            "138123456789",  # 12 digits
            "1381234",
            "138abcd5678",
            "13812345678a",
            "tel:13812345678",
            "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits: NFKC keeps them, [0-9] refuses them
            "۱۳۸۱۲۳۴۵۶۷۸",  # Extended Arabic-Indic (Persian) digits
            "१३८१२३४५६७८",  # Devanagari digits
            "+86 ١٣٨ ١٢٣٤ ٥٦٧٨",
            "٠١٠-٦٥٠٠١٢٣٤",  # a landline in Arabic-Indic digits
            "",
            "   ",
            "+86",
            "010-123456",  # local part too short
            "010123456789",  # 9 local digits after 010: not 010-123456789
            "0571888866",  # 6 local digits after 0571
            "0101-23456789",  # the typed hyphen says area 0101, which does not exist
            "0108-8886666",
            "011-65001234",  # 010 is the only 01X area code
            "001-65001234",
            "65001234",  # no area code
        ],
    )
    def test_rejected(self, value):
        assert_invalid(normalize_phone, value, "phone_format")

    def test_arabic_indic_digits_survive_nfkc(self):
        # The premise of the rule above: if NFKC ever mapped them, the test above would be vacuous.
        import unicodedata

        assert unicodedata.normalize("NFKC", "١٣٨") == "١٣٨"
        assert "١".isdigit()


# --- Names -----------------------------------------------------------------------------------------------


class TestName:
    def test_plain_name(self):
        assert normalize_name("  张焱 ") == "张焱"

    def test_middle_dot_is_kept(self):
        assert normalize_name("阿依古丽·买买提") == "阿依古丽·买买提"

    @pytest.mark.parametrize("dot", ["\u2022", "\u30fb", "\uff65", "\u2027", "\u2219", "\u22c5", "\u0387"])
    def test_look_alike_dots_become_the_middle_dot(self, dot):
        assert normalize_name(f"阿依古丽{dot}买买提") == "阿依古丽\u00b7买买提"

    def test_rare_character_beyond_the_bmp(self):
        assert normalize_name("𠮷野家") == "𠮷野家"
        assert len(normalize_name("𠮷")) == 1

    def test_foreign_and_mixed_names_are_kept_as_entered(self):
        assert normalize_name("John Smith") == "John Smith"
        assert normalize_name("Мария") == "Мария"

    def test_decomposed_accents_are_composed(self):
        assert normalize_name("Jose\u0301") == "Jos\u00e9"

    def test_64_characters_accepted_65_rejected(self):
        assert NAME_MAX_LENGTH == 64
        assert normalize_name("张" * 64) == "张" * 64
        assert normalize_name("𠮷" * 64) == "𠮷" * 64  # characters, not UTF-16 units or bytes
        assert_invalid(normalize_name, "张" * 65, "name_length")
        assert_invalid(normalize_name, "𠮷" * 65, "name_length")

    @pytest.mark.parametrize(
        "name",
        [
            "张\x00三",
            "\x00",
            "张三\u202e",  # right-to-left override
            "\u202e三张",
            "张\u202d三",  # left-to-right override
            "张\u2066三\u2069",  # isolates
            "张\u200f三",  # right-to-left mark
            "张\u200b三",  # zero-width space
            "张\ufeff三",  # BOM / zero-width no-break space
            "张\x07三",  # a control character
            "张\ue000三",  # private use
        ],
    )
    def test_invisible_and_control_characters_rejected(self, name):
        assert_invalid(normalize_name, name, "name_chars")

    @pytest.mark.parametrize("name", ["", "   ", "\u3000", None])
    def test_empty_rejected(self, name):
        assert_invalid(normalize_name, name, "name_required")


# --- Masking and free text -------------------------------------------------------------------------------


class TestMasking:
    def test_mobile(self):
        assert mask_phone("13812341234") == "138****1234"

    def test_landline(self):
        assert mask_phone("010-65001234") == "010-****1234"
        assert mask_phone("0571-8888666") == "0571-***8666"

    def test_short_and_empty(self):
        assert mask_phone("") == ""
        assert mask_phone("12345") == "*****"

    def test_id_number(self):
        assert mask_id_number("11010519491231002X") == "110***********002X"
        assert len(mask_id_number("11010519491231002X")) == 18
        assert mask_id_number("") == ""
        assert mask_id_number("1234567") == "*******"


class TestCleanText:
    def test_strips_nul_and_bidi_overrides(self):
        assert clean_text(" 楼道灯坏了\x00\u202e请尽快修 ") == "楼道灯坏了请尽快修"
        assert clean_text("a\u202ab\u202bc\u202cd\u202de\u2066f\u2067g\u2068h\u2069i") == "abcdefghi"

    def test_keeps_ordinary_text(self):
        assert clean_text("第一行\n第二行 · 𠮷") == "第一行\n第二行 · 𠮷"

    def test_empty(self):
        assert clean_text("") == ""
        assert clean_text(None) == ""

    def test_max_length(self):
        assert clean_text("字" * 10, max_length=10) == "字" * 10
        assert_invalid(lambda v: clean_text(v, max_length=10), "字" * 11, "too_long")
        # Removed characters do not count.
        assert clean_text("字" * 10 + "\x00\u202e", max_length=10) == "字" * 10
