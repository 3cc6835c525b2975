"""Reading an uploaded sheet into plain rows: the columns, header mapping and cell conversion."""

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from community.lib.validators import (
    nfkc,
)
from residents.choices import Gender, ImportStatus, Relation
from residents.models import Community, ImportBatch

MAX_ROWS = 20_000
CHECK_STEP = 500  # rows per check request: well under a second, so the progress bar moves smoothly
PREVIEW_ROWS = 50
MAX_ERRORS = 1_000  # kept on the batch; a sheet of garbage should not store 20,000 messages
HEADER_SEARCH_ROWS = 5  # sheets often carry a title row (XX社区居民信息表) above the header
NOTES_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # what our template sheet calls it; the field name is the English header
    aliases: tuple[str, ...]
    label: Promise
    hint: Promise
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column(
        "building",
        "楼号",
        ("楼号", "楼栋", "楼栋号", "楼"),
        gettext_lazy("Building"),
        gettext_lazy("As on the building list, e.g. 3号楼; 3 also works."),
        required=True,
    ),
    Column(
        "entrance",
        "单元",
        ("单元", "单元号"),
        gettext_lazy("Entrance"),
        gettext_lazy("A number; empty means 1."),
    ),
    Column(
        "room",
        "室号",
        ("室号", "房号", "房间号", "门牌号"),
        gettext_lazy("Room"),
        gettext_lazy("e.g. 301."),
        required=True,
    ),
    Column(
        "name",
        "姓名",
        ("姓名",),
        gettext_lazy("Name"),
        gettext_lazy("As on the ID card."),
        required=True,
    ),
    Column(
        "gender",
        "性别",
        ("性别", "sex"),
        gettext_lazy("Gender"),
        gettext_lazy("男 or 女 (male or female); empty: read from the ID card number."),
    ),
    Column(
        "birth_date",
        "出生日期",
        ("出生日期", "生日", "date of birth"),
        gettext_lazy("Birth date"),
        gettext_lazy("e.g. 1950-03-15; empty: read from the ID card number."),
    ),
    Column(
        "phone",
        "电话",
        ("电话", "手机", "手机号", "手机号码", "联系电话", "mobile"),
        gettext_lazy("Phone"),
        gettext_lazy("A mobile number, or a landline with its area code."),
    ),
    Column(
        "id_number",
        "身份证号",
        ("身份证号", "身份证号码", "身份证", "id card number"),
        gettext_lazy("ID card number"),
        gettext_lazy("18 characters. It recognises the person when a sheet is imported again."),
    ),
    Column(
        "relation",
        "与户主关系",
        ("与户主关系", "关系", "relation to head"),
        gettext_lazy("Relation to head"),
        gettext_lazy("户主, 配偶, 子女, 父母 or 其他."),
    ),
    Column(
        "care_tags",
        "关爱标签",
        ("关爱标签", "标签", "tags"),
        gettext_lazy("Care tags"),
        gettext_lazy("Care tag names separated by 、 or commas."),
    ),
    Column(
        "notes",
        "备注",
        ("备注", "note", "remarks"),
        gettext_lazy("Notes"),
        gettext_lazy("Free text."),
    ),
)
FIELDS: tuple[str, ...] = tuple(column.field for column in COLUMNS)
REQUIRED: frozenset[str] = frozenset(column.field for column in COLUMNS if column.required)
FIELD_LABELS: dict[str, Promise] = {column.field: column.label for column in COLUMNS} | {
    "household": gettext_lazy("Household")
}

NEW, UPDATED, UNCHANGED, ERROR = "new", "updated", "unchanged", "error"
# What a row will do (or did): label and Bootstrap badge colour, from one mapping.
ACTIONS: dict[str, tuple[Promise, str]] = {
    NEW: (gettext_lazy("New"), "success"),
    UPDATED: (gettext_lazy("Changed"), "warning"),
    UNCHANGED: (gettext_lazy("Unchanged"), "secondary"),
    ERROR: (gettext_lazy("Error"), "danger"),
}
STATUS_BADGES: dict[str, str] = {
    ImportStatus.VALIDATING: "info",
    ImportStatus.READY: "primary",
    ImportStatus.INVALID: "danger",
    ImportStatus.DONE: "success",
}

_GENDERS = {
    "男": Gender.MALE,
    "男性": Gender.MALE,
    "male": Gender.MALE,
    "m": Gender.MALE,
    "女": Gender.FEMALE,
    "女性": Gender.FEMALE,
    "female": Gender.FEMALE,
    "f": Gender.FEMALE,
    "未知": Gender.UNKNOWN,
    "unknown": Gender.UNKNOWN,
}
_RELATIONS = {
    "户主": Relation.HEAD,
    "本人": Relation.HEAD,
    "head of household": Relation.HEAD,
    "配偶": Relation.SPOUSE,
    "妻子": Relation.SPOUSE,
    "丈夫": Relation.SPOUSE,
    "妻": Relation.SPOUSE,
    "夫": Relation.SPOUSE,
    "子女": Relation.CHILD,
    "儿子": Relation.CHILD,
    "女儿": Relation.CHILD,
    "子": Relation.CHILD,
    "女": Relation.CHILD,
    "父母": Relation.PARENT,
    "父亲": Relation.PARENT,
    "母亲": Relation.PARENT,
    "其他": Relation.OTHER,
    "其它": Relation.OTHER,
} | {code: code for code in Relation.values}
_TAG_SEPARATORS = re.compile(r"[,，、;；]+")
_DATE_RE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?(?:[ T]00:00(?::00)?)?")
_COMPACT_DATE_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_ENTRANCE_RE = re.compile(r"([0-9]{1,2})(?:单元)?")


# ---------------------------------------------------------------------------------------------------------
# Reading the upload


def _header_key(value: str) -> str:
    """'出生日期*', 'Birth date', 'birth_date', '姓名(必填)' → one comparable spelling."""
    return re.sub(r"\(必填\)|[\s_\-*:]", "", nfkc(value).lower())


_HEADER_FIELDS: dict[str, str] = {
    _header_key(name): column.field
    for column in COLUMNS
    for name in (column.header, column.field, *column.aliases)
}


def _cell_text(value: Any) -> str:
    """Sheet cells arrive as str, int, float or datetime; rows are kept as text (dates in ISO form)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a room typed as 301 is stored by Excel as 301.0
    return str(value).strip()


def _unreadable() -> ValidationError:
    return ValidationError(
        _("This file could not be read. Save it as .xlsx or as .csv (UTF-8) and try again."),
        code="unreadable",
    )


def _xlsx_rows(upload: UploadedFile) -> Iterator[list[str]]:
    import openpyxl

    workbook = openpyxl.load_workbook(upload, read_only=True, data_only=True)
    try:
        if not workbook.worksheets:
            return
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _csv_rows(upload: UploadedFile) -> Iterator[list[str]]:
    data = upload.read()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _unreadable()
    if "\x00" in text:  # UTF-16 ("Unicode text") or a binary file renamed to .csv
        raise _unreadable()
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    for values in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield [value.strip() for value in values]


def _map_header(cells: list[str]) -> tuple[dict[int, str], set[str]]:
    """{column index: field} for the cells that name a known column, and the fields named twice."""
    mapping: dict[int, str] = {}
    twice: set[str] = set()
    for index, cell in enumerate(cells):
        name = _HEADER_FIELDS.get(_header_key(cell)) if cell else None
        if name is None:
            continue
        if name in mapping.values():
            twice.add(name)
        else:
            mapping[index] = name
    return mapping, twice


def _column_names(fields: Iterable[str]) -> str:
    by_field = {column.field: column for column in COLUMNS}
    return ", ".join(f"{by_field[name].header} ({name})" for name in FIELDS if name in fields)


def _parse_sheet(sheet: Iterable[list[str]]) -> list[dict[str, Any]]:
    header: dict[int, str] | None = None
    first_seen: dict[int, str] | None = None
    rows: list[dict[str, Any]] = []
    for number, cells in enumerate(sheet, start=1):
        if header is None:
            if number > HEADER_SEARCH_ROWS:
                break
            if not any(cells):
                continue
            mapping, twice = _map_header(cells)
            if first_seen is None:
                first_seen = mapping
            if set(mapping.values()) >= REQUIRED:
                if twice:
                    raise ValidationError(
                        _("These columns appear more than once: %(columns)s.")
                        % {"columns": _column_names(twice)},
                        code="duplicate_columns",
                    )
                header = mapping
            continue
        if not any(cells):
            continue
        row: dict[str, Any] = {"row": number} | dict.fromkeys(FIELDS, "")
        for index, name in header.items():
            if index < len(cells):
                row[name] = cells[index]
        if not any(row[name] for name in FIELDS):  # only unknown columns are filled
            continue
        if len(rows) >= MAX_ROWS:
            raise ValidationError(
                _("The sheet has more than %(max)d rows; split it into smaller sheets.") % {"max": MAX_ROWS},
                code="too_many_rows",
            )
        rows.append(row)
    if first_seen is None:
        raise ValidationError(_("The sheet is empty."), code="empty")
    if header is None:
        missing = REQUIRED - set(first_seen.values())
        raise ValidationError(
            _("The first row must name the columns; these are missing: %(columns)s.")
            % {"columns": _column_names(missing)},
            code="missing_columns",
        )
    if not rows:
        raise ValidationError(_("The sheet has a header but no rows."), code="empty")
    return rows


def import_batch_create(*, actor, community: Community, upload: UploadedFile) -> ImportBatch:
    """Read an uploaded .xlsx or .csv sheet into a batch waiting to be checked."""
    filename = (upload.name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    extension = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if extension not in {"xlsx", "csv"}:
        raise ValidationError(_("Upload an .xlsx or .csv file."), code="file_type")
    upload.seek(0)
    try:
        rows = _parse_sheet(_xlsx_rows(upload) if extension == "xlsx" else _csv_rows(upload))
    except ValidationError:
        raise
    except Exception as exc:  # a damaged file fails deep inside openpyxl or csv with many exception types
        raise _unreadable() from exc
    return ImportBatch.objects.create(
        community=community,
        created_by=actor,
        filename=filename[:200],
        rows=rows,
        status=ImportStatus.VALIDATING,
        summary={"rows": len(rows)},
    )


# ---------------------------------------------------------------------------------------------------------
# Checking rows
