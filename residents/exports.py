"""The roster export: residents as a table, written as an Excel workbook (openpyxl) or a CSV file.

Only the writing is here; who may export what, and the log of every export, are in
residents.privacy.personal_data_export. Every text cell passes the formula-injection guard."""

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from community.lib.spreadsheets import XLSX_TYPE, safe_cell
from residents.models import Resident

FORMATS = ("xlsx", "csv")
CONTENT_TYPES = {"xlsx": XLSX_TYPE, "csv": "text/csv; charset=utf-8"}


@dataclass
class Table:
    headers: list[str]
    rows: list[list]


def roster_table(residents: Iterable[Resident], *, unmasked: bool) -> Table:
    """One row per resident. Reads only what the roster selector joined and prefetched: no query per row."""
    headers = [
        _("Name"),
        _("Gender"),
        _("Birth date"),
        _("Building"),
        _("Entrance"),
        _("Room"),
        _("Relation to head"),
        _("Phone"),
        _("ID card number"),
        _("Care tags"),
        _("Works at"),
        _("Legal basis"),
        _("Consent given on"),
        _("Guardian who consented"),
    ]
    rows = []
    for resident in residents:
        household = resident.household
        rows.append(
            [
                resident.name,
                resident.get_gender_display(),
                resident.birth_date,
                household.building.number if household else "",
                household.entrance if household else None,
                household.room if household else "",
                resident.get_relation_display(),
                resident.phone if unmasked else resident.masked_phone,
                resident.id_number if unmasked else resident.masked_id_number,
                "、".join(tag.name for tag in resident.care_tags.all()),
                resident.employer.name if resident.employer else "",
                resident.get_legal_basis_display(),
                resident.consent_date,
                resident.guardian_name,
            ]
        )
    return Table(headers=[str(header) for header in headers], rows=rows)


def _text_or_date(value):
    if isinstance(value, dt.date):
        return value
    return "" if value is None else safe_cell(value)


def to_xlsx(table: Table) -> bytes:
    # Write-only: rows are streamed into the file instead of held as cell objects (a roster can be 10,000
    # people). Phone and ID numbers are written as text, so Excel keeps every digit.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Residents")[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in table.headers:
        cell = WriteOnlyCell(sheet, value=safe_cell(title))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_text_or_date(value) for value in row])  # dates become date cells (yyyy-mm-dd)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so Excel and WPS read the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(title) for title in table.headers])
    for row in table.rows:
        writer.writerow(
            [value.isoformat() if isinstance(value, dt.date) else _text_or_date(value) for value in row]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write(file_format: str, table: Table) -> bytes:
    return {"xlsx": to_xlsx, "csv": to_csv}[file_format](table)
