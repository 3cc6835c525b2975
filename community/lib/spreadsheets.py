"""Cells written to .xlsx and .csv files that people open in Excel, WPS or LibreOffice."""

from django.utils.functional import Promise

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A text cell starting with one of these is a formula to Excel, LibreOffice and openpyxl (CSV/formula
# injection: a category, building or resident named "=HYPERLINK(...)" would run when the file is opened).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value as a cell: text (lazy translations included) that a spreadsheet would read as a formula
    gets a leading apostrophe, so it is shown as text and never evaluated; other values pass unchanged."""
    if isinstance(value, str | Promise):
        value = str(value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value
