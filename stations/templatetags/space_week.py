"""`{% week_rows grid space may_book %}` and `{% week_bookings grid.bookings %}`: the two big parts of a
space's week page (stations/space_week.html), built in Python.

A week is ~170 grid cells and, for staff, ~20 bookings a space at district scale. As template tags
they cost ~9,000 node renders, ~300 translations and a reverse() per booking: most of the page's time.
Here each cell or booking is one format_html() call (which escapes every value: labels, names and
purposes are user data), the strings they share are translated once per page and the URLs reversed
once. The markup is the one the template had: keep it in step with the page's CSS and the legend."""

from collections.abc import Iterable

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext

from community.lib.html import format_html
from community.lib.urls import pk_url_maker
from stations.choices import BookingKind
from stations.models import Booking, Space
from stations.selectors.spaces import Cell, WeekGrid

register = template.Library()


def _taken_cell(cell: Cell, pending: SafeString) -> SafeString:
    """A taken cell: the label (a name, a course title: user data) on the booking's first cell of the day,
    visually hidden on the ones it continues over."""
    classes = "cell cell-taken" + (" cell-own" if cell.own else "") + ("" if cell.first else " cell-cont")
    if cell.first:
        inner = format_html(
            '<span class="text-truncate">{}</span>{}', cell.label, pending if cell.pending else ""
        )
    else:
        inner = format_html('<span class="visually-hidden">{}</span>', cell.label)
    return format_html('<td><span class="{}">{}</span></td>', classes, inner)


@register.simple_tag
def week_rows(grid: WeekGrid, space: Space, may_book: bool) -> SafeString:
    """The grid's <tr>s: a time heading, then one <td> per day. Free cells link to the booking form
    with ?start=<local datetime> when the user may book, else only say "free"."""
    # Escaped once here: format_html() passes SafeStrings through as they are.
    free = escape(pgettext("space slot", "free"))
    not_yet = gettext("Not bookable yet")
    same = {  # the cells that read the same wherever they are
        "past": format_html(
            '<td><span class="cell cell-past"><span class="visually-hidden">{}</span></span></td>',
            pgettext("space slot", "past"),
        ),
        "later": format_html(
            '<td><span class="cell cell-past" title="{}"><span class="visually-hidden">{}</span></span></td>',
            not_yet,
            not_yet,
        ),
        "closed": format_html(
            '<td><span class="cell cell-closed"><span class="visually-hidden">{}</span></span></td>',
            pgettext("space slot", "closed"),
        ),
    }
    if not may_book:
        same["free"] = format_html('<td><span class="cell cell-free">{}</span></td>', free)
    book_url = escape(reverse("stations:booking_create", args=[space.pk]))
    book = gettext("Book %(when)s")
    pending = format_html(' <span class="badge text-bg-warning">{}</span>', pgettext("space slot", "pending"))
    taken: dict[tuple, SafeString] = {}  # a booking's cells after its first one read the same
    # A cell starts at its day and its row's time on the wall clock (week_grid builds it so): the link's
    # ?start= and the "Book …" label are that date and time, as Cell.start_param and Cell.when write them.
    dates = [escape(day.strftime("%Y-%m-%d")) for day in grid.days]
    lines = []
    for row in grid.rows:
        time = escape(row.time.strftime("%H:%M"))
        parts = [format_html('<tr><th scope="row" class="slot-time">{}</th>', time)]
        for date, cell in zip(dates, row.cells, strict=True):
            html = same.get(cell.state)
            if html is None and cell.state == "free":
                html = format_html(
                    '<td><a class="cell cell-free" href="{}?start={}T{}" aria-label="{}">{}</a></td>',
                    book_url,
                    date,
                    time,
                    book % {"when": f"{date} {time}"},
                    free,
                )
            elif html is None:
                key = (cell.label, cell.own, cell.first, cell.pending)
                if key not in taken:
                    taken[key] = _taken_cell(cell, pending)
                html = taken[key]
            parts.append(html)
        parts.append("</tr>\n")
        lines.append("".join(parts))
    return mark_safe("".join(lines))  # only format_html() output and literal tags


BOOKING = (
    '<div class="list-group-item">\n'
    '  <div class="d-flex justify-content-between align-items-start gap-2">\n'
    "    <div>\n"
    '      <div class="fw-semibold">{starts}–{ends}</div>\n'
    '      <div class="small">{who}</div>\n'
    "{purpose}"
    "    </div>\n"
    '    <span class="badge text-bg-{badge} text-wrap">{status}</span>\n'
    "  </div>\n"
    "{cancel}"
    "</div>\n"
)
CANCEL = (
    '  <form method="post" action="{url}" class="mt-2">{csrf}\n'
    '    <button type="submit" class="btn btn-sm btn-outline-danger">{label}</button>\n'
    "  </form>\n"
)


@register.simple_tag(takes_context=True)
def week_bookings(context, bookings: Iterable[Booking]) -> SafeString:
    """The staff's list of the week's bookings: when, who (or the course, or the kind), the purpose,
    the status and, while it can be cancelled (week_grid's `can_cancel`), the cancel button. Needs
    week_grid's select_related (resident, course)."""
    cancel_url = pk_url_maker("stations:booking_cancel")
    csrf = CsrfTokenNode().render(context)
    cancel_label = gettext("Cancel booking")
    # What the date filter's "D" and get_FOO_display() would look up for every booking, once.
    weekdays = [str(WEEKDAYS_ABBR[day]) for day in range(7)]
    kinds = dict(Booking._meta.get_field("kind").flatchoices)
    statuses = dict(Booking._meta.get_field("status").flatchoices)
    zone = timezone.get_current_timezone()
    items = []
    for booking in bookings:
        if booking.kind == BookingKind.BOOKING and booking.resident is not None:
            who = format_html(
                '{} <span class="masked text-body-secondary">{}</span>',
                booking.resident.name,
                booking.resident.masked_phone,
            )
        elif booking.course is not None:
            who = booking.course.title
        else:
            who = kinds.get(booking.kind, booking.kind)
        purpose = ""
        if booking.purpose and booking.course is None:
            purpose = format_html('      <div class="small text-body-secondary">{}</div>\n', booking.purpose)
        cancel = ""
        if booking.can_cancel:
            cancel = format_html(CANCEL, url=cancel_url(booking.pk), csrf=csrf, label=cancel_label)
        starts = booking.starts_at.astimezone(zone)
        items.append(
            format_html(
                BOOKING,
                starts=f"{weekdays[starts.weekday()]} {starts:%m-%d %H:%M}",  # |date:"D m-d H:i"
                ends=f"{booking.ends_at.astimezone(zone):%H:%M}",
                who=who,
                purpose=purpose,
                badge=booking.status_badge,
                status=statuses.get(booking.status, booking.status),
                cancel=cancel,
            )
        )
    if not items:
        items.append(
            format_html(
                '<div class="list-group-item text-body-secondary">{}</div>\n',
                gettext("No bookings this week."),
            )
        )
    return mark_safe("".join(items))  # only format_html() output
