"""The one desk in Chromium: intake on a phone, a request walked from intake to the resident's
follow-up answer, tracking by receipt without a login, and the queue and list on phone and desktop.

Labels are looked up in the Chinese catalogue (zh()) rather than copied, so a reworded translation
does not break the tests while a missing button still does."""

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from stations.choices import Action, Channel, Satisfaction, Status
from stations.models import RequestEvent, ServiceRequest
from stations.services.requests import service_request_create, service_request_transition
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "帮忙开降压药"


def zh(text) -> str:
    """The Simplified Chinese text of a source string or lazy label, as the pages show it."""
    with translation.override("zh-hans"):
        return str(translation.gettext(text) if isinstance(text, str) else text)


def status_label(status: str) -> str:
    return zh(Status(status).label)


def assert_no_horizontal_overflow(page, viewport: dict) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{page.url} is {width}px wide on a {viewport['width']}px screen"


def make_request(desk, *, title: str = TITLE, category: str = "代开药", **kwargs) -> ServiceRequest:
    category = desk["community"].categories.get(name=category)
    service_request, _created = service_request_create(
        actor=desk["worker"].user,
        community=desk["community"],
        category=category,
        title=title,
        requester=kwargs.pop("requester", desk["zhang"]),
        **kwargs,
    )
    return service_request


def fill_intake(page, live_server, *, lookup: str, name: str, title: str = TITLE) -> None:
    """Open the intake page, find the resident by what is typed, pick them, choose 代开药, type a title."""
    page.goto(f"{live_server.url}/requests/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("New request"))
    page.get_by_label(zh("Find a resident")).fill(lookup)
    results = page.locator("#lookup-results")
    expect(results.get_by_role("button")).to_have_count(1)
    expect(results).to_contain_text(name)
    expect(results).to_contain_text("138****1234")
    expect(results).not_to_contain_text("13812341234")
    results.get_by_role("button").click()
    chosen = page.locator("#requester-chosen")
    expect(chosen).to_contain_text(name)
    expect(chosen.locator("input[name=requester]")).to_have_count(1)
    expect(results.get_by_role("button")).to_have_count(0)  # the result list is cleared on a pick
    page.locator("select[name=category]").select_option(label="代开药")
    page.locator("input[name=title]").fill(title)


# --- 1. Intake on a phone ---------------------------------------------------------------------------


def test_intake_on_a_phone_creates_one_request(page, live_server, desk, login):
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/requests/new/" in r.url else None)
    fill_intake(page, live_server, lookup="zy", name="张焱")  # pinyin initials of 张焱
    assert_no_horizontal_overflow(page, PHONE)

    # A quick double tap on the submit button.
    page.get_by_role("button", name=zh("Log the request")).dblclick()
    expect(page).to_have_url(re.compile(r"/requests/\d+/$"))
    service_request = ServiceRequest.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("main")).to_contain_text(service_request.reference)
    expect(page.locator("main .badge").first).to_have_text(status_label(Status.NEW))
    assert_no_horizontal_overflow(page, PHONE)
    assert service_request.requester == desk["zhang"]
    assert service_request.category.name == "代开药"
    assert service_request.title == TITLE
    assert service_request.channel == Channel.WALK_IN
    assert service_request.created_by == desk["worker"].user
    assert service_request.assignee == desk["worker"]  # routed to the worker of 3号楼
    print("POSTs", posts)

    # Back to the form and send it again: the browser still holds the same submission key.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/requests/new/$"))
    print(page.locator("input[name=submission_key]").input_value(), page.locator("#requester-chosen").inner_html())
    page.get_by_role("button", name=zh("Log the request")).click()
    page.wait_for_load_state()
    print(page.url)
    print(page.locator("main").inner_text()[:500])
    assert ServiceRequest.objects.count() == 1
