"""The monthly report: one set of tables (summary with the three rates, then per category, station line,
building, worker, and spaces), written out as an Excel workbook (openpyxl), a CSV file and a printable
page. The tables come from stations.selectors.dashboard, the same functions the dashboard shows, so
report cells equal dashboard figures.

A month's report reads what happened in that month: its figures are taken at the month's end (see
stations.rates), so a past month's report does not change when requests are worked on later. One
exception is documented on the page: "overdue at month end" compares with today's deadline, so an
extension approved after the month end for a request already late then would move that one count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from community.lib.spreadsheets import XLSX_TYPE as XLSX_TYPE  # the views read it from here
from community.lib.spreadsheets import safe_cell
from stations import rates
from stations.choices import OPEN_STATES, Status, WorkerType
from stations.models import SocialWorker
from stations.rates import Period
from stations.selectors import dashboard as selectors


@dataclass
class Sheet:
    """One table of the report. Cells are str, int, float (rates in per cent, one decimal) or None."""

    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    text_columns: int = 1  # leading columns that hold names, not numbers (for alignment on the page)


@dataclass
class Report:
    title: str
    period: Period
    cutoff: dt.datetime
    sheets: list[Sheet]

    def sheet(self, key: str) -> Sheet:
        return next(sheet for sheet in self.sheets if sheet.key == key)


def _rate_headers() -> list[str]:
    headers = []
    for label in rates.RATE_LABELS.values():
        headers += [
            _("%(rate)s: numerator") % {"rate": label},
            _("%(rate)s: denominator") % {"rate": label},
            _("%(rate)s (%%)") % {"rate": label},
        ]
    return headers


def _rate_cells(figures: selectors.Figures) -> list:
    cells = []
    for code in rates.RATES:
        ratio = figures.ratio(code)
        cells += [ratio.num, ratio.den, ratio.percent]
    return cells


def _figures(row: dict, period: Period) -> selectors.Figures:
    return selectors.Figures({key: row.get(key) or 0 for key in selectors.PERIOD_FIGURES}, period)


def monthly_report(user, communities, period: Period, now: dt.datetime, *, title: str) -> Report:
    communities = list(communities)
    several = len(communities) > 1
    cutoff = period.cutoff(now)
    tables = selectors.rate_tables(communities, period, now, community=None if several else communities[0])
    total = tables.total
    times = selectors.resolution_times(communities, period, now)
    at_end = selectors.open_at(communities, cutoff)
    end_totals = {key: sum(row[key] for row in at_end) for key in (*selectors.LIVE_STATUSES, "overdue")}

    summary = Sheet(
        "summary", _("Summary"), [_("Figure"), _("Count or numerator"), _("Denominator"), _("Rate (%)")]
    )
    summary.rows += [
        [_("Received"), total.received, None, None],
        [_("Cancelled (not counted in the rates)"), total["cancelled"], None, None],
    ]
    for code, label in rates.RATE_LABELS.items():
        ratio = total.ratio(code)
        summary.rows.append([str(label), ratio.num, ratio.den, ratio.percent])
    share = total.proactive_share
    summary.rows += [
        [_("Found on visits or proactively (未诉先办)"), share.num, share.den, share.percent],
        [_("Brought by residents"), total.reactive, None, None],
        [_("Resolved (办结) in the month"), sum(t["resolved"] for t in times.values()), None, None],
        [_("Open at the end: new"), end_totals[Status.NEW], None, None],
        [_("Open at the end: accepted"), end_totals[Status.ACCEPTED], None, None],
        [_("Open at the end: in progress"), end_totals[Status.IN_PROGRESS], None, None],
        [_("Waiting for the follow-up (回访) at the end"), end_totals[Status.RESOLVED], None, None],
        [_("Overdue at the end"), end_totals["overdue"], None, None],
    ]

    by_category = Sheet(
        "categories",
        _("By category"),
        [_("Category"), _("Parent category"), _("Received"), *_rate_headers()],
        text_columns=2,
    )
    for figures in selectors.category_figures(communities, period, now, by_name=several):
        by_category.rows.append([figures.name, figures.parent, figures.received, *_rate_cells(figures)])

    by_line = Sheet("lines", _("By station line"), [_("Station line"), _("Received"), *_rate_headers()])
    for _code, label, figures in tables.by_line:
        by_line.rows.append([str(label), figures.received, *_rate_cells(figures)])

    by_building = Sheet(
        "buildings",
        _("By building"),
        [*([_("Community")] if several else []), _("Building"), _("Received"), *_rate_headers()],
        text_columns=2 if several else 1,
    )
    building_rows = selectors.grouped_figures(
        communities, period, now, "community__name", "building", "building__number"
    )
    building_rows.sort(key=lambda r: (-r["received"], r["community__name"], r["building__number"] or ""))
    for row in building_rows:
        if not (row["received"] or row["cancelled"]):
            continue
        name = row["building__number"] or _("No building")
        by_building.rows.append(
            [
                *([row["community__name"]] if several else []),
                name,
                row["received"],
                *_rate_cells(_figures(row, period)),
            ]
        )

    by_worker = _worker_sheet(communities, period, now, several=several, times=times, at_end=at_end)
    sheets = [summary, by_category, by_line, by_building, by_worker]
    sheets.append(_spaces_sheet(selectors.spaces_section(communities, period, now), several=several))
    return Report(title=title, period=period, cutoff=cutoff, sheets=sheets)


def _worker_sheet(
    communities, period: Period, now: dt.datetime, *, several: bool, times: dict, at_end: list
) -> Sheet:
    cutoff = period.cutoff(now)
    sheet = Sheet(
        "workers",
        _("By worker"),
        [
            *([_("Community")] if several else []),
            _("Worker"),
            _("Type"),
            _("Received and assigned"),
            _("Resolved (办结) in the month"),
            _("Median hours to resolve"),
            _("Open at the end"),
            _("Overdue at the end"),
            *_rate_headers(),
        ],
        text_columns=3 if several else 2,
    )
    # Requests of the month by the worker they had at the month's end (timeline, not today's row).
    assigned = {
        row["worker"]: row
        for row in selectors.grouped_figures(
            communities, period, now, "worker", worker=selectors.assignee_at(cutoff)
        )
    }
    open_end = {row["worker"]: row for row in at_end}
    workers = SocialWorker.objects.filter(community__in=communities).select_related("community")
    types = dict(WorkerType.choices)
    for worker in workers.order_by("community__name", "worker_type", "display_name", "pk"):
        row, done, still = assigned.get(worker.pk, {}), times.get(worker.pk, {}), open_end.get(worker.pk, {})
        if not worker.is_active and not (row or done or still):
            continue
        sheet.rows.append(
            [
                *([worker.community.name] if several else []),
                worker.display_name,
                str(types.get(worker.worker_type, worker.worker_type)),
                row.get("received", 0),
                done.get("resolved", 0),
                done.get("median_hours"),
                sum(still.get(s, 0) for s in OPEN_STATES),
                still.get("overdue", 0),
                *_rate_cells(_figures(row, period)),
            ]
        )
    row, still = assigned.get(None, {}), open_end.get(None, {})
    if row or still:
        sheet.rows.append(
            [
                *([""] if several else []),
                _("Unassigned (shared queue)"),
                "",
                row.get("received", 0),
                None,
                None,
                sum(still.get(s, 0) for s in OPEN_STATES),
                still.get("overdue", 0),
                *_rate_cells(_figures(row, period)),
            ]
        )
    return sheet


def _spaces_sheet(spaces: dict, *, several: bool) -> Sheet:
    sheet = Sheet(
        "spaces",
        _("Spaces"),
        [
            *([_("Community")] if several else []),
            _("Space"),
            _("Area (m²)"),
            _("Open hours in the month"),
            _("Booked hours in the month"),
            _("Utilisation in the month (%)"),
            _("Course attendance: present"),
            _("Course attendance: absent"),
            _("No-shows (bookings and courses)"),
        ],
        text_columns=2 if several else 1,
    )
    for row in spaces["rows"]:
        sheet.rows.append(
            [
                *([row["community_name"]] if several else []),
                row["name"],
                row["area_m2"],
                row["month_open_hours"],
                row["month_booked_hours"],
                row["month_percent"],
                row["present"],
                row["absent"],
                row["no_shows"],
            ]
        )
    areas = spaces["areas"]
    blank = [""] if several else []
    sheet.rows.append([*blank, _("Office area (m²)"), areas["office_m2"]])
    sheet.rows.append([*blank, _("Service area: the spaces (m²)"), areas["service_m2"]])
    return sheet


# --- Writers ---------------------------------------------------------------------------------------------------


def _head(report: Report) -> list[list]:
    return [
        [_("OneDesk monthly report"), report.title],
        [_("Month"), report.period.key],
        [_("Figures as at"), formats.date_format(timezone.localtime(report.cutoff), "Y-m-d H:i")],
    ]


def _cell(value):
    if isinstance(value, float):
        return round(value, 1)
    return safe_cell(value)  # formula injection: text that would be evaluated is written as text


def to_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for index, sheet in enumerate(report.sheets):
        # Excel: at most 31 characters, none of []:*?/\
        title = "".join(ch for ch in sheet.title if ch not in "[]:*?/\\")[:31] or f"Sheet{index + 1}"
        ws = workbook.create_sheet(title)
        offset = 0
        if index == 0:
            for line in _head(report):
                ws.append([_cell(value) for value in line])
            ws.append([])
            offset = len(_head(report)) + 1
        ws.append([_cell(value) for value in sheet.headers])
        for cell in ws[offset + 1]:
            cell.font = bold
        for row in sheet.rows:
            ws.append([_cell(value) for value in row])
        ws.freeze_panes = ws.cell(row=offset + 2, column=1)
        for column, header in enumerate(sheet.headers, start=1):
            ws.column_dimensions[get_column_letter(column)].width = max(10, min(40, len(str(header)) * 2 + 2))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(report: Report) -> str:
    """All tables one after the other, each under its title, with a byte-order mark for Excel."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for line in _head(report):
        writer.writerow([_cell(value) for value in line])
    for sheet in report.sheets:
        writer.writerow([])
        writer.writerow([_cell(sheet.title)])
        writer.writerow([_cell(value) for value in sheet.headers])
        for row in sheet.rows:
            writer.writerow(["" if value is None else _cell(value) for value in row])
    return "\ufeff" + buffer.getvalue()
