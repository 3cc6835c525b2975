"""The committee head's dashboard in Chromium: on a phone (no horizontal overflow, the three rates
readable) and on a desktop (charts drawn under the strict CSP), and a rate's numerator clicked through
to the request list, whose count is that numerator."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from stations.choices import Satisfaction, Status
from stations.models import Category, ServiceRequest
from stations.rates import Period
from tests.browser.conftest import DESKTOP, PHONE
from tests.stations.test_dashboard import answer, new_request

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_no_horizontal_overflow(page, viewport: dict) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{page.url} is {width}px wide on a {viewport['width']}px screen"


@pytest.fixture
def last_month(desk):
    """Last month's requests: 5 accepted in time, 2 late, 1 never accepted (all due); 3 answered."""
    community, head, worker = desk["community"], desk["head"], desk["worker"]
    period = Period.containing(timezone.now()).previous()
    medicine = Category.objects.get(community=community, name="代开药")
    hours = dt.timedelta(hours=1)
    made = []
    for i in range(8):
        received = period.start + dt.timedelta(days=1 + i)
        accepted = None if i == 7 else received + (2 * hours if i < 5 else 30 * hours)
        made.append(
            new_request(
                community,
                medicine,
                head,
                received=received,
                accepted=accepted,
                status=Status.NEW if accepted is None else Status.ACCEPTED,
                assignee=worker,
                building=desk["building"],
            )
        )
    for service_request, satisfaction in zip(
        made[:3], (Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.DISSATISFIED), strict=True
    ):
        answer(
            service_request,
            head,
            at=service_request.received_at + dt.timedelta(days=2),
            solved=True,
            satisfaction=satisfaction,
        )
    ServiceRequest.objects.filter(pk__in=[r.pk for r in made[:2]]).update(status=Status.CLOSED)
    return period


def open_dashboard(page, live_server, period: Period) -> None:
    page.goto(f"{live_server.url}/dashboard/?period={period.key}")
    expect(page.locator("#rate-response")).to_be_visible()


def test_dashboard_on_a_phone_and_click_through_a_rate(page, live_server, desk, last_month, login):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.set_viewport_size(PHONE)
    login(page, "shuji")
    open_dashboard(page, live_server, last_month)
    assert_no_horizontal_overflow(page, PHONE)
    # The three rates are on the screen with their numerator and denominator.
    response = page.locator("#rate-response")
    expect(response.locator("[data-figure=response]")).to_have_text("62.5%")  # 5 of 8 due
    expect(page.locator("#rate-response-num")).to_have_text("5")
    expect(page.locator("#rate-response-den")).to_have_text("8")
    expect(page.locator("#rate-resolution [data-figure=resolution]")).to_have_text("100.0%")
    expect(page.locator("#rate-satisfaction [data-figure=satisfaction]")).to_have_text("66.7%")
    # The charts are drawn (Chart.js ran under the CSP) and every chart has its table.
    expect(page.locator("canvas[data-drawn=true]").first).to_be_attached()
    assert page.locator("canvas[data-chart]").count() == page.locator("canvas[data-drawn=true]").count()
    # Click the numerator: the list shows exactly those requests.
    page.locator("#rate-response-num").click()
    expect(page).to_have_url(re.compile(r"/requests/\?.*rate=response_num"))
    count_text = page.locator("main p.small.text-body-secondary.mb-2").inner_text()
    assert re.search(r"\d+", count_text).group() == "5"
    expect(page.locator("main .list-group > *")).to_have_count(5)
    assert_no_horizontal_overflow(page, PHONE)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_dashboard_on_a_desktop(page, live_server, desk, last_month, login):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.set_viewport_size(DESKTOP)
    login(page, "shuji")
    open_dashboard(page, live_server, last_month)
    assert_no_horizontal_overflow(page, DESKTOP)
    # Rates side by side on a desktop.
    boxes = [
        page.locator(f"#rate-{code}").bounding_box() for code in ("response", "resolution", "satisfaction")
    ]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"]
    assert page.locator("canvas[data-drawn=true]").count() >= 3
    # The 每月一题 candidate: 代开药 in 3号楼, eight times.
    expect(page.locator("#monthly-theme")).to_contain_text("代开药")
    page.locator("#rate-satisfaction-den").click()
    expect(page).to_have_url(re.compile(r"rate=satisfaction_den"))
    assert (
        re.search(r"\d+", page.locator("main p.small.text-body-secondary.mb-2").inner_text()).group() == "3"
    )
    assert not errors, errors
