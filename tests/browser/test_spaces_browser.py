"""Spaces and courses in Chromium: a resident books a slot from the week view on a phone and signs up
for courses (a place, then a waiting list); a social worker approves a booking and checks one in.

Labels are looked up in the Chinese catalogue (zh()) rather than copied, so a reworded translation
does not break the tests while a missing button still does."""

import datetime as dt
import re

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from stations.choices import BookingStatus, EnrolmentStatus
from stations.models import Booking, ClosedDate, Enrolment
from stations.services.spaces import booking_create
from tests.browser.conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def zh(text: str) -> str:
    """The Simplified Chinese text of a source string, as the pages show it."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def assert_no_horizontal_overflow(page, viewport: dict) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{page.url} is {width}px wide on a {viewport['width']}px screen"


def open_menu_item(page, name: str) -> None:
    """Tap a link of the navigation bar, opening the collapsed menu first on a phone."""
    toggler = page.get_by_role("button", name=zh("Menu"))
    if toggler.is_visible():
        toggler.click()
    link = page.locator("#nav").get_by_role("link", name=zh(name), exact=True)
    if not link.is_visible():  # staff menus group their links in dropdowns
        exact = re.compile(f"^{re.escape(zh(name))}$")
        page.locator("#nav .dropdown").filter(has=page.locator("a.dropdown-item", has_text=exact)).locator(
            ".dropdown-toggle"
        ).click()
    link.click()


def tomorrow_at(hour: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_resident_books_a_slot_and_signs_up_for_courses(page, live_server, spaces, login):
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_jm")
    hall = spaces["hall"]

    # Spaces → the hall's week → a free slot tomorrow at 10:00.
    open_menu_item(page, "Spaces")
    expect(page).to_have_url(re.compile(r"/spaces/$"))
    card = page.locator(".card").filter(has=page.get_by_role("heading", name=hall.name, exact=True))
    card.get_by_role("link", name=zh("See the week and book")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(hall.name)
    assert_no_horizontal_overflow(page, PHONE)  # the grid scrolls inside its box, the page does not
    start = tomorrow_at(10)
    if timezone.localdate().weekday() == 6:  # Sunday: tomorrow is in next week
        page.get_by_role("link", name=zh("Next week")).click()
    slot_name = zh("Book %(when)s") % {"when": timezone.localtime(start).strftime("%Y-%m-%d %H:%M")}
    page.get_by_role("link", name=slot_name, exact=True).click()

    # The booking form, prefilled with that slot and an hour; nothing wider than the phone.
    expect(page.get_by_role("heading", level=1)).to_contain_text(hall.name)
    expect(page.locator("input[name=starts_at]")).to_have_value(start.strftime("%Y-%m-%dT%H:%M"))
    end_value = timezone.localtime(start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    expect(page.locator("select[name=ends_at]")).to_have_value(end_value)
    assert_no_horizontal_overflow(page, PHONE)
    page.locator("input[name=purpose]").fill("楼门议事会")
    page.locator("input[name=attendees]").fill("6")
    page.get_by_role("button", name=zh("Book"), exact=True).click()

    # My bookings shows it, confirmed.
    expect(page).to_have_url(re.compile(r"/my/bookings/$"))
    expect(page.get_by_role("alert")).to_contain_text(hall.name)
    upcoming = page.locator(".list-group").first
    expect(upcoming).to_contain_text(hall.name)
    expect(upcoming).to_contain_text(timezone.localtime(start).strftime("%Y-%m-%d"))
    expect(upcoming).to_contain_text("10:00–11:00")
    expect(upcoming).to_contain_text("楼门议事会")
    assert_no_horizontal_overflow(page, PHONE)
    booking = Booking.objects.get(space=hall)
    assert booking.resident == spaces["zhang"]
    assert booking.booked_by == spaces["resident_user"]
    assert (booking.starts_at, booking.ends_at) == (start, start + dt.timedelta(hours=1))
    assert (booking.status, booking.purpose, booking.attendees) == (BookingStatus.CONFIRMED, "楼门议事会", 6)

    # Courses: a place on the yoga course, then the waiting list of the full dance course.
    open_menu_item(page, "Courses")
    expect(page).to_have_url(re.compile(r"/courses/$"))
    assert_no_horizontal_overflow(page, PHONE)
    yoga, dance = spaces["yoga"], spaces["dance"]
    page.locator(".card", has_text=yoga.title).get_by_role("button", name=zh("Enrol"), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/courses/{yoga.pk}/$"))
    expect(page.get_by_text(zh("You are enrolled."), exact=True)).to_be_visible()
    enrolment = Enrolment.objects.get(course=yoga, resident=spaces["zhang"])
    assert (enrolment.status, enrolment.enrolled_by) == (EnrolmentStatus.ENROLLED, spaces["resident_user"])

    open_menu_item(page, "Courses")
    dance_card = page.locator(".card", has_text=dance.title)
    expect(dance_card).to_contain_text(zh("Full"))
    dance_card.get_by_role("button", name=zh("Join the waiting list")).click()
    expect(page).to_have_url(re.compile(rf"/courses/{dance.pk}/$"))
    expect(page.get_by_role("alert")).to_contain_text(dance.title)
    expect(page.get_by_role("button", name=zh("Leave the waiting list"))).to_be_visible()
    enrolment = Enrolment.objects.get(course=dance, resident=spaces["zhang"])
    assert enrolment.status == EnrolmentStatus.WAITLISTED
    assert Enrolment.objects.get(course=dance, resident=spaces["wang"]).status == EnrolmentStatus.ENROLLED

    # Both courses are listed under My bookings too.
    open_menu_item(page, "My bookings")
    expect(page.get_by_role("link", name=yoga.title)).to_be_visible()
    expect(page.get_by_role("button", name=zh("Leave the waiting list"))).to_be_visible()


def test_worker_approves_and_checks_in(page, live_server, spaces, login):
    worker = spaces["worker"].user
    # 张焱 asked for the meeting room tomorrow (it needs approval); 王芳's hall booking starts now.
    pending, _ = booking_create(
        actor=spaces["resident_user"],
        space=spaces["meeting"],
        starts_at=tomorrow_at(15),
        ends_at=tomorrow_at(16),
        resident=spaces["zhang"],
        purpose="楼道议事",
        attendees=8,
    )
    assert pending.status == BookingStatus.PENDING
    now = timezone.localtime()
    starts = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
    current = Booking.objects.create(
        space=spaces["hall"],
        status=BookingStatus.CONFIRMED,
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=30),
        resident=spaces["wang"],
        booked_by=worker,
        purpose="太极拳练习",
        attendees=3,
    )

    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")

    # The approvals queue: approve 张焱's booking.
    open_menu_item(page, "Approvals")
    item = page.locator(".list-group-item", has_text=spaces["meeting"].name)
    expect(item).to_contain_text("张焱")
    expect(item).to_contain_text("楼道议事")
    assert_no_horizontal_overflow(page, PHONE)
    item.get_by_role("button", name=zh("Approve"), exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(spaces["meeting"].name)
    expect(page.get_by_text(zh("Nothing to approve."))).to_be_visible()
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (BookingStatus.CONFIRMED, worker)
    assert pending.decided_at is not None

    # Today's schedule: check in 王芳, whose booking is running now.
    open_menu_item(page, "Today's spaces")
    row = page.locator(".list-group-item", has_text="王芳")
    expect(row).to_contain_text(starts.strftime("%H:%M"))
    expect(row).to_contain_text("太极拳练习")
    assert_no_horizontal_overflow(page, PHONE)
    row.get_by_role("button", name=zh("Checked in"), exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("王芳")
    expect(
        page.locator(".list-group-item", has_text="王芳").get_by_role("button", name=zh("Checked in"))
    ).to_have_attribute("aria-pressed", "true")
    current.refresh_from_db()
    assert current.status == BookingStatus.CHECKED_IN
    assert current.checked_in_at is not None


def test_worker_books_for_a_walk_in_with_the_resident_lookup(page, live_server, spaces, login):
    # A phone call: 王芳 wants the hall the day after tomorrow at 10:00. The form has no list of every
    # resident; the worker types her name, picks her, changes her mind once, and books.
    hall, wang = spaces["hall"], spaces["wang"]
    day = timezone.localdate() + dt.timedelta(days=2)
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    page.goto(f"{live_server.url}/spaces/{hall.pk}/book/?start={day:%Y-%m-%d}T10:00")
    expect(page.locator("select[name=resident]")).to_have_count(0)

    page.get_by_label(zh("Booking for"), exact=True).fill("王")
    results = page.locator("#lookup-results")
    expect(results.get_by_role("button")).to_have_count(1)
    expect(results).to_contain_text(wang.masked_phone)
    expect(results).not_to_contain_text(wang.phone)
    results.get_by_role("button").click()
    chosen = page.locator("#resident-chosen")
    expect(chosen).to_contain_text("王芳")
    expect(chosen.locator("input[name=resident]")).to_have_value(str(wang.pk))
    expect(results.get_by_role("button")).to_have_count(0)  # the results are cleared
    chosen.get_by_role("button", name=zh("Change")).click()
    expect(chosen.locator("input[name=resident]")).to_have_count(0)
    page.get_by_label(zh("Booking for"), exact=True).fill("张焱")
    results.get_by_role("button").first.click()
    page.get_by_label(zh("Booking for"), exact=True).fill("王芳")  # typed after picking: the pick wins
    expect(chosen.locator("input[name=resident]")).to_have_value(str(spaces["zhang"].pk))
    assert_no_horizontal_overflow(page, PHONE)

    page.get_by_role("button", name=zh("Book"), exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("张焱")
    booking = Booking.objects.get(space=hall)
    assert (booking.resident, booking.booked_by) == (spaces["zhang"], spaces["worker"].user)
    assert timezone.localtime(booking.starts_at).replace(tzinfo=None) == dt.datetime.combine(day, dt.time(10))


def test_the_week_grid_scrolls_inside_its_box_on_a_phone(page, live_server, spaces, login):
    """Closed and past cells carry visually-hidden labels, which are absolutely positioned: unless the
    grid's box clips them, a closed Sunday (the last column) made the whole page slide sideways."""
    hall = spaces["hall"]
    today = timezone.localdate()
    ClosedDate.objects.create(space=hall, date=today + dt.timedelta(days=6 - today.weekday()), reason="清洁")
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    page.goto(f"{live_server.url}/spaces/{hall.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(hall.name)
    expect(page.locator(".week-grid .cell-closed").first).to_be_attached()
    assert_no_horizontal_overflow(page, PHONE)
    page.evaluate("window.scrollTo(1000, 0)")
    assert page.evaluate("window.scrollX") == 0
