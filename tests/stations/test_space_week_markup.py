"""The week page's grid and booking list, built in Python (stations.templatetags.space_week) and its
grid computed in UTC (stations.selectors.spaces.week_grid): the same markup the template loops wrote,
user data escaped, and the same cells in a time zone with daylight saving time."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from stations.choices import ACTIVE_BOOKING_STATES, BookingKind, BookingStatus
from stations.models import Booking, ClosedDate, Course, OpeningHours, Space
from stations.selectors import spaces as selectors
from tests import factories

pytestmark = pytest.mark.django_db

PAYLOAD = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

# The loops space_week.html had before the cells and the list were built in Python, verbatim: the
# reference the tags are compared with.
REFERENCE_ROWS = """{% load i18n %}{% url 'stations:booking_create' space.pk as book_url %}
  {% for row in grid.rows %}
    <tr>
      <th scope="row" class="slot-time">{{ row.time|time:"H:i" }}</th>
      {% for cell in row.cells %}
      <td>
        {% if cell.state == "free" %}
          {% if may_book %}
          <a class="cell cell-free" href="{{ book_url }}?start={{ cell.start_param }}" aria-label="{% blocktranslate with when=cell.when %}Book {{ when }}{% endblocktranslate %}">{% translate "free" context "space slot" %}</a>
          {% else %}
          <span class="cell cell-free">{% translate "free" context "space slot" %}</span>
          {% endif %}
        {% elif cell.state == "taken" %}
          <span class="cell cell-taken{% if cell.own %} cell-own{% endif %}{% if not cell.first %} cell-cont{% endif %}">{% if cell.first %}<span class="text-truncate">{{ cell.label }}</span>{% if cell.pending %} <span class="badge text-bg-warning">{% translate "pending" context "space slot" %}</span>{% endif %}{% else %}<span class="visually-hidden">{{ cell.label }}</span>{% endif %}</span>
        {% elif cell.state == "past" %}
          <span class="cell cell-past"><span class="visually-hidden">{% translate "past" context "space slot" %}</span></span>
        {% elif cell.state == "later" %}
          <span class="cell cell-past" title="{% translate 'Not bookable yet' %}"><span class="visually-hidden">{% translate "Not bookable yet" %}</span></span>
        {% else %}
          <span class="cell cell-closed"><span class="visually-hidden">{% translate "closed" context "space slot" %}</span></span>
        {% endif %}
      </td>
      {% endfor %}
    </tr>
  {% endfor %}"""  # noqa: E501

REFERENCE_BOOKINGS = """{% load i18n %}{% for booking in bookings %}
  <div class="list-group-item">
    <div class="d-flex justify-content-between align-items-start gap-2">
      <div>
        <div class="fw-semibold">{{ booking.starts_at|date:"D m-d H:i" }}–{{ booking.ends_at|time:"H:i" }}</div>
        <div class="small">{% if booking.kind == "booking" and booking.resident %}{{ booking.resident.name }} <span class="masked text-body-secondary">{{ booking.resident.masked_phone }}</span>{% elif booking.course %}{{ booking.course.title }}{% else %}{{ booking.get_kind_display }}{% endif %}</div>
        {% if booking.purpose and not booking.course %}<div class="small text-body-secondary">{{ booking.purpose }}</div>{% endif %}
      </div>
      <span class="badge text-bg-{{ booking.status_badge }} text-wrap">{{ booking.get_status_display }}</span>
    </div>
    {% if booking.can_cancel %}
    <form method="post" action="{% url 'stations:booking_cancel' booking.pk %}" class="mt-2">{% csrf_token %}
      <button type="submit" class="btn btn-sm btn-outline-danger">{% translate "Cancel booking" %}</button>
    </form>
    {% endif %}
  </div>
{% empty %}
  <div class="list-group-item text-body-secondary">{% translate "No bookings this week." %}</div>
{% endfor %}"""  # noqa: E501

BLOCK_TAGS = r"</?(?:tr|td|th|div|form|button|input)\b[^>]*>"


def normalised(html: str) -> str:
    """Whitespace between block-level tags and table cells dropped (the browser ignores it there);
    whitespace inside text and between inline elements kept."""
    return re.sub(rf"\s*({BLOCK_TAGS})\s*", r"\1", html).strip()


def render(source: str, **context) -> str:
    request = RequestFactory().get("/")
    return Template(source).render(Context({"request": request, "csrf_token": "TOKEN", **context}))


def tags(call: str, **context) -> str:
    return render("{% load space_week %}" + call, **context)


@pytest.fixture
def space(community_a):
    space = Space.objects.create(
        community=community_a, name="活动室", area_m2=60, capacity=20, horizon_days=3, requires_approval=True
    )
    hours = [OpeningHours(space=space, weekday=d, opens=dt.time(8), closes=dt.time(12)) for d in range(7)]
    hours.append(
        OpeningHours(space=space, weekday=2, opens=dt.time(14), closes=dt.time(16))
    )  # two on Wednesday
    OpeningHours.objects.bulk_create(hours)
    return space


@pytest.fixture
def week(space, community_a, resident_a, resident_user_a, worker_a):
    """A week with every kind of cell: bookings (one pending, one with PAYLOAD in names and purposes), a
    course session, a block, a closed date, past time and time beyond a resident's horizon."""
    monday = dt.date(2026, 3, 2)
    at = lambda day, hour, minute=0: timezone.make_aware(  # noqa: E731
        dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour, minute))
    )
    other = factories.ResidentFactory(household=resident_a.household, name=PAYLOAD, phone="13912345678")
    course = Course.objects.create(
        community=community_a, space=space, title=PAYLOAD, teacher="刘老师", capacity=5
    )
    bookings = [
        {"starts_at": at(0, 8), "ends_at": at(0, 9, 30), "resident": other},
        {
            "starts_at": at(1, 10),
            "ends_at": at(1, 11),
            "resident": resident_a,
            "status": BookingStatus.PENDING,
            "purpose": PAYLOAD,
        },
        {"starts_at": at(2, 9), "ends_at": at(2, 10), "kind": BookingKind.COURSE, "course": course},
        {"starts_at": at(3, 11), "ends_at": at(3, 12), "kind": BookingKind.BLOCK, "purpose": "维修"},
        {
            "starts_at": at(4, 8),
            "ends_at": at(4, 9),
            "resident": resident_a,
            "status": BookingStatus.CANCELLED,
        },
    ]
    Booking.objects.bulk_create(
        [Booking(space=space, booked_by=worker_a.user, **fields) for fields in bookings]
    )
    ClosedDate.objects.create(space=space, date=monday + dt.timedelta(days=5))
    return {
        "monday": monday,
        "now": at(1, 9, 15),
        "resident_user": resident_user_a,
        "staff_user": worker_a.user,
    }


@pytest.mark.parametrize("staff", [True, False])
@pytest.mark.parametrize("may_book", [True, False])
def test_week_rows_write_the_markup_the_template_did(space, week, staff, may_book):
    user = week["staff_user"] if staff else week["resident_user"]
    grid = selectors.week_grid(space, monday=week["monday"], user=user, staff=staff, now=week["now"])
    states = {cell.state for row in grid.rows for cell in row.cells}
    assert states == ({"free", "taken", "past", "closed"} | (set() if staff else {"later"}))
    built = tags("{% week_rows grid space may_book %}", grid=grid, space=space, may_book=may_book)
    reference = render(REFERENCE_ROWS, grid=grid, space=space, may_book=may_book)
    assert normalised(built) == normalised(reference)
    assert PAYLOAD not in built and ESCAPED in built
    assert ('<span class="text-truncate">' + ESCAPED + "</span>") in built  # course title, and staff: a name
    assert (
        ' <span class="badge text-bg-warning">待审批</span>' in built
    )  # pending: shown to staff and its resident
    if may_book:
        assert (
            f'<a class="cell cell-free" href="/spaces/{space.pk}/book/?start=2026-03-04T14:30" '
            'aria-label="预约 2026-03-04 14:30">可约</a>'
        ) in built


def test_week_bookings_write_the_markup_the_template_did(space, week):
    grid = selectors.week_grid(
        space, monday=week["monday"], user=week["staff_user"], staff=True, now=week["now"]
    )
    assert len(grid.bookings) == 4  # the cancelled one is not in the week
    built = tags("{% week_bookings grid.bookings %}", grid=grid)
    reference = render(REFERENCE_BOOKINGS, bookings=grid.bookings)
    assert normalised(built) == normalised(reference)
    assert PAYLOAD not in built and built.count(ESCAPED) == 3  # a name, a purpose, a course title
    # Monday's booking is over: no cancel button; the others have one each, with the page's token.
    assert built.count('<input type="hidden" name="csrfmiddlewaretoken" value="TOKEN">') == 3
    assert f'action="/bookings/{grid.bookings[1].pk}/cancel/"' in built
    assert "星期一 03-02 08:00–09:30" in built  # the date filter's "D": the weekday's translated abbreviation

    empty = tags("{% week_bookings bookings %}", bookings=[])
    assert normalised(empty) == normalised(render(REFERENCE_BOOKINGS, bookings=[]))


def reference_cells(space, monday, user, staff, now) -> list[list[tuple[dt.datetime, str]]]:
    """The cells as week_grid computed them before: make_aware for each cell, datetimes of two zones
    compared directly."""
    step = space.slot_minutes
    hours = [(h.weekday, h.opens, h.closes) for h in space.opening_hours.all()]
    minutes = lambda t: t.hour * 60 + t.minute  # noqa: E731
    bookings = list(
        Booking.objects.filter(space=space, status__in=ACTIVE_BOOKING_STATES).order_by("starts_at", "pk")
    )
    horizon = now + dt.timedelta(days=space.horizon_days)
    rows = []
    for row in selectors.week_grid(space, monday=monday, user=user, staff=staff, now=now).rows:
        cells = []
        for day in (monday + dt.timedelta(days=i) for i in range(7)):
            start = timezone.make_aware(dt.datetime.combine(day, row.time))
            end = start + dt.timedelta(minutes=step)
            holder = next((b for b in bookings if b.starts_at < end and b.ends_at > start), None)
            m = minutes(row.time)
            if holder is not None:
                cells.append((start, "taken"))
            elif not any(
                wd == day.weekday() and minutes(o) <= m and m + step <= minutes(c) for wd, o, c in hours
            ):
                cells.append((start, "closed"))
            elif start < now:
                cells.append((start, "past"))
            elif not staff and start > horizon:
                cells.append((start, "later"))
            else:
                cells.append((start, "free"))
        rows.append(cells)
    return rows


@pytest.mark.parametrize(
    "monday, zone",
    [
        (dt.date(2026, 10, 26), "America/New_York"),  # clocks go back on Sunday 1 November, 02:00
        (dt.date(2026, 3, 2), "America/New_York"),  # clocks go forward on Sunday 8 March, 02:00
        (dt.date(2026, 3, 23), "Europe/Berlin"),  # forward on Sunday 29 March, 02:00
        (dt.date(2026, 3, 2), "Asia/Shanghai"),
    ],
)
def test_week_grid_cells_across_daylight_saving_changes(space, worker_a, resident_user_a, monday, zone):
    OpeningHours.objects.filter(space=space).delete()
    OpeningHours.objects.bulk_create(
        [OpeningHours(space=space, weekday=d, opens=dt.time(0), closes=dt.time(23, 59)) for d in range(7)]
    )
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        sunday = dt.datetime.combine(monday + dt.timedelta(days=6), dt.time(), tzinfo=zoneinfo.ZoneInfo(zone))
        utc = sunday.astimezone(dt.UTC)
        # Blocks around the change (02:00 local, 2 hours after midnight in each zone): one across it, one
        # in the hour after it (the repeated hour, or the one after the skipped hour).
        for starts, ends in [(60, 135), (150, 180)]:  # minutes after midnight
            Booking.objects.create(
                space=space,
                kind=BookingKind.BLOCK,
                starts_at=utc + dt.timedelta(minutes=starts),
                ends_at=utc + dt.timedelta(minutes=ends),
                booked_by=worker_a.user,
            )
        now = utc + dt.timedelta(hours=2, minutes=10)
        for user, staff in [(worker_a.user, True), (resident_user_a, False)]:
            space.horizon_days = 14 if staff else 0  # residents: the rest of the week is "later"
            grid = selectors.week_grid(space, monday=monday, user=user, staff=staff, now=now)
            got = [[(cell.starts_at, cell.state) for cell in row.cells] for row in grid.rows]
            expected = reference_cells(space, monday, user, staff, now)
            assert got == expected
            assert [[cell.start_param for cell in row.cells] for row in grid.rows] == [
                [selectors.local_input(start) for start, _state in cells] for cells in expected
            ]
