"""The parts of the dashboards (stations/dashboard*.html) that repeat many times a page, built in Python.

A community's dashboard shows ~40 rate cells and the building × category matrix (up to 60 cells); the
subdistrict view ~80 rate cells and a row per bookable space (30 for ten communities). As includes and
template loops they cost thousands of node renders, two translations per rate cell and several floatformats
per row: a third of the page's time at district scale. Here each cell or row is one format_html() call
(which escapes every value; names are user data); numbers read as floatformat and localize show them
(`_fixed`, `_number`: the same text without their locale lookups per number; tests compare them). The
markup is the one the templates had, to the byte: keep it in step with the pages' CSS and tests."""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.formats import get_format, localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from community.lib.html import format_html, format_html_join
from stations.selectors.dashboard.figures import Ratio

register = template.Library()

RATE_CELL = (
    '{percent} <span class="small text-nowrap">('
    '<a href="{list_url}?{num_query}" aria-label="{numerator}: {num}">{num}</a>/'
    '<a href="{list_url}?{den_query}" aria-label="{denominator}: {den}">{den}</a>)</span>\n'
)
RANKING_ROW = (
    "\n    <tr>\n"
    '      <td class="text-end">{rank}</td>\n'
    '      <th scope="row" class="fw-normal text-nowrap"><a href="{dashboard}?period={period}">{name}</a></th>\n'
    '      <td class="text-end"><a href="{list_url}?{received_query}">{received}</a></td>\n'
    "      <td>{response}</td>\n"
    "      <td>{resolution}</td>\n"
    "      <td>{satisfaction}</td>\n"
    '      <td class="text-end"><a href="{list_url}?{open_query}">{open}</a></td>\n'
    '      <td class="text-end">{overdue}</td>\n'
    '      <td class="text-end">{care_overdue}</td>\n'
    "    </tr>\n    "
)
MATRIX_CELL = '<td class="{}">{}</td>'  # class, content
SPACE_ROW = (
    "\n  <tr>\n"
    '    <th scope="row" class="fw-normal">{name}{community}</th>\n'
    '    <td class="text-end">{week} <span class="small text-body-secondary d-block">'
    "{week_booked}/{week_open} h</span></td>\n"
    '    <td class="text-end">{month} <span class="small text-body-secondary d-block">'
    "{month_booked}/{month_open} h</span></td>\n"
    '    <td class="text-end">{attendance} <span class="small text-body-secondary d-block">'
    "{present}/{answered}</span></td>\n"
    '    <td class="text-end">{no_shows}</td>\n'
    "  </tr>\n  "
)


def _number(value) -> str:
    """What the template engine shows for an int (localize), without its three locale lookups per number when
    there is no thousands separator to add."""
    return localize(value) if settings.USE_THOUSAND_SEPARATOR else str(value)


def _fixed(value, places: int | str, separator: str) -> str:
    """floatformat(value, places) for places 0, 1 and "-1" (one place, none for a whole number): Django's
    rounding (half up, from the decimal text), without its locale lookups per number."""
    number = Decimal(str(value))
    if places == "-1":
        if number == number.to_integral_value():
            return f"{int(number):d}"
        places = 1
    rounded = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{rounded:f}".replace(".", separator)


def _percent(value, places: int, separator: str) -> str:
    return "—" if value is None else f"{_fixed(value, places, separator)}%"


@register.filter
def rate_cell(ratio: Ratio, list_url: str) -> SafeString:
    """One rate in a table cell: per cent, then numerator/denominator, each opening its requests."""
    percent = ratio.percent
    return format_html(
        RATE_CELL,
        percent=mark_safe('<span class="text-body-secondary">—</span>')
        if percent is None
        else format_html(
            '<span class="fw-semibold">{}%</span>', _fixed(percent, 1, get_format("DECIMAL_SEPARATOR"))
        ),
        list_url=list_url,
        num_query=ratio.num_query,
        den_query=ratio.den_query,
        num=_number(ratio.num),
        den=_number(ratio.den),
        numerator=gettext("numerator"),
        denominator=gettext("denominator"),
    )


@register.simple_tag
def ranking_row(row: dict, list_url: str, period: str) -> SafeString:
    """A community's row of the subdistrict's ranking: rank, the three rates, open and overdue requests now,
    residents overdue for a visit (opening that community's list of them)."""
    figures, live, queries = row["figures"], row["live"], row["live_queries"]
    return format_html(
        RANKING_ROW,
        rank="—" if not row["rank"] else _number(row["rank"]),
        dashboard=reverse("stations:community_dashboard", args=[row["community"].pk]),
        period=period,
        name=row["community"].name,
        list_url=list_url,
        received_query=figures.query("received"),
        received=_number(figures.received),
        response=rate_cell(figures.response, list_url),
        resolution=rate_cell(figures.resolution, list_url),
        satisfaction=rate_cell(figures.satisfaction, list_url),
        open_query=queries["open"],
        open=_number(live["open"]),
        overdue=format_html(
            '<a class="text-danger fw-semibold" href="{}?{}">{}</a>',
            list_url,
            queries["overdue"],
            _number(live["overdue"]),
        )
        if live["overdue"]
        else "0",
        care_overdue=format_html(
            '<a href="{}?community={}">{}</a>',
            reverse("stations:proactive_list"),
            row["community"].pk,
            _number(row["care_overdue"]),
        )
        if row["care_overdue"]
        else "0",
    )


@register.filter
def matrix_cells(cells: Iterable[dict], list_url: str) -> SafeString:
    """A building's cells of the building × category matrix: the count, opening its requests, or a dot."""
    return format_html_join(
        "",
        MATRIX_CELL,
        (
            (
                "table-warning fw-bold"
                if cell["is_candidate"]
                else "table-light fw-semibold"
                if cell["n"] > 1
                else "",
                format_html('<a href="{}?{}">{}</a>', list_url, cell["query"], _number(cell["n"]))
                if cell["n"]
                else mark_safe('<span class="text-body-secondary">·</span>'),
            )
            for cell in cells
        ),
    )


@register.simple_tag
def space_rows(rows: Iterable[dict], communities) -> SafeString:
    """The Spaces table's rows: utilisation this week and this month, course attendance, no-shows; with each
    space's community when there are several (``communities``: the subdistrict view's, "" on a community's)."""
    with_community = len(communities) > 1
    separator = get_format("DECIMAL_SEPARATOR")
    return format_html_join(
        "",
        SPACE_ROW,
        (
            {
                "name": row["name"],
                "community": format_html(
                    ' <span class="small text-body-secondary d-block">{}</span>', row["community_name"]
                )
                if with_community
                else "",
                "week": _percent(row["week_percent"], 1, separator),
                "week_booked": _fixed(row["week_booked_hours"], "-1", separator),
                "week_open": _fixed(row["week_open_hours"], "-1", separator),
                "month": _percent(row["month_percent"], 1, separator),
                "month_booked": _fixed(row["month_booked_hours"], "-1", separator),
                "month_open": _fixed(row["month_open_hours"], "-1", separator),
                "attendance": _percent(row["attendance_percent"], 0, separator),
                "present": _number(row["present"]),
                "answered": _number(row["present"] + row["absent"]),
                "no_shows": _number(row["no_shows"]),
            }
            for row in rows
        ),
    )
