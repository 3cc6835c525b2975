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


def open_panel(toggle, panel) -> None:
    """Open a Bootstrap collapse and wait until it has finished sliding open: while it slides, its
    lower half is clipped and a click meant for a button there lands on the panel instead."""
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(panel).to_have_class(re.compile(r"(^|\s)show(\s|$)"))


# --- 1. Intake on a phone ---------------------------------------------------------------------------


def test_intake_on_a_phone_creates_one_request(page, live_server, desk, login):
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    posts = []
    page.on(
        "request",
        lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/requests/new/") else None,
    )
    fill_intake(page, live_server, lookup="zy", name="张焱")  # pinyin initials of 张焱
    assert_no_horizontal_overflow(page, PHONE)

    # A quick double tap on the submit button.
    page.get_by_role("button", name=zh("Log the request")).dblclick()
    expect(page).to_have_url(re.compile(r"/requests/\d+/$"))
    service_request = ServiceRequest.objects.get()
    detail_url = page.url
    assert detail_url == f"{live_server.url}/requests/{service_request.pk}/"
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("main")).to_contain_text(service_request.reference)
    # Chromium usually folds a double tap into one POST; when both arrive, the second one is told
    # "already sent". Either way the message names the one request.
    expect(page.locator("main .alert").first).to_contain_text(service_request.reference)
    expect(page.locator("main .badge").first).to_have_text(status_label(Status.NEW))
    assert_no_horizontal_overflow(page, PHONE)
    assert service_request.requester == desk["zhang"]
    assert service_request.category.name == "代开药"
    assert service_request.title == TITLE
    assert service_request.channel == Channel.WALK_IN
    assert service_request.created_by == desk["worker"].user
    assert service_request.assignee == desk["worker"]  # routed to the worker of 3号楼

    # The very same form arriving again (a flaky network resends it): the same request comes back.
    assert posts, "the intake form was not posted"
    sent = posts[0]
    again = page.request.post(
        sent.url,
        headers={"content-type": sent.headers["content-type"]},
        data=sent.post_data_buffer,
        max_redirects=0,
    )
    assert again.status == 302
    assert again.headers["location"] == f"/requests/{service_request.pk}/"
    assert ServiceRequest.objects.count() == 1

    # Back to the form and tap the button again: no second request either way (a page restored
    # from the back-forward cache keeps its submission key; a reloaded one has lost the requester).
    page.go_back()
    expect(page).to_have_url(re.compile(r"/requests/new/$"))
    page.get_by_role("button", name=zh("Log the request")).click()
    already_sent = zh("This form was already sent: request %(reference)s.") % {
        "reference": service_request.reference
    }
    form_error = zh("Please correct the fields marked below.")
    expect(page.locator("main .alert").first).to_have_text(
        re.compile(f"{re.escape(already_sent)}|{re.escape(form_error)}")
    )
    assert ServiceRequest.objects.count() == 1
    assert ServiceRequest.objects.get().requester == desk["zhang"]


# --- 2. From intake to the resident's follow-up answer ----------------------------------------------


def test_request_walked_from_intake_to_rating(page, browser, live_server, desk, login):
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    fill_intake(page, live_server, lookup="1234", name="张焱")  # the phone tail finds her too
    page.get_by_role("button", name=zh("Log the request")).click()
    expect(page).to_have_url(re.compile(r"/requests/\d+/$"))
    service_request = ServiceRequest.objects.get()
    badge = page.locator("main .badge").first

    # 签收 → start → 办结, each by its button on the detail page.
    page.get_by_role("button", name=zh(Action.ACCEPT.label), exact=True).click()
    expect(badge).to_have_text(status_label(Status.ACCEPTED))
    expect(page.locator("main .alert-success")).to_have_text(
        zh("Status changed to %(status)s.") % {"status": status_label(Status.ACCEPTED)}
    )
    page.get_by_role("button", name=zh(Action.START.label), exact=True).click()
    expect(badge).to_have_text(status_label(Status.IN_PROGRESS))
    expect(page.get_by_role("button", name=zh(Action.ACCEPT.label), exact=True)).to_have_count(0)
    resolve = page.locator("form:has(input[name=to_status][value=resolved])")
    page.locator("summary", has_text=zh(Action.RESOLVE.label)).click()
    resolve.locator("textarea[name=note]").fill("药已送到家中")
    resolve.get_by_role("button").click()
    expect(badge).to_have_text(status_label(Status.RESOLVED))
    assert_no_horizontal_overflow(page, PHONE)
    service_request.refresh_from_db()
    assert service_request.status == Status.RESOLVED
    assert service_request.accepted_at is not None and service_request.resolved_at is not None

    # The resident, on her own phone, answers the follow-up (回访).
    context = browser.new_context(viewport=PHONE)
    try:
        resident = context.new_page()
        login(resident, "zhangyan_jm")
        resident.goto(f"{live_server.url}/my/requests/{service_request.token}/")
        expect(resident.get_by_role("heading", level=1)).to_have_text(TITLE)
        rate = resident.locator("#rate")
        expect(rate).to_be_visible()
        rate.get_by_label(zh("Yes, it was solved"), exact=True).check()
        rate.get_by_label(zh(Satisfaction.SATISFIED.label), exact=True).check()
        rate.get_by_role("button", name=zh("Send my answer")).click()
        expect(resident.locator("main .alert-success")).to_have_text(
            zh("Thank you. The request has been closed.")
        )
        expect(resident.locator("main .badge").first).to_have_text(status_label(Status.CLOSED))
        expect(resident.locator("#rate")).to_have_count(0)
        assert_no_horizontal_overflow(resident, PHONE)
        # The resident's timeline shows the public steps, without the worker's name.
        expect(resident.locator("main")).to_contain_text("药已送到家中")
        expect(resident.locator("main")).not_to_contain_text("zhangyan_sg")
    finally:
        context.close()

    service_request.refresh_from_db()
    assert service_request.status == Status.CLOSED
    assert service_request.solved is True
    assert service_request.satisfaction == Satisfaction.SATISFIED
    assert service_request.closed_at is not None and service_request.rated_at is not None
    steps = list(
        RequestEvent.objects.filter(request=service_request)
        .order_by("pk")
        .values_list("kind", "old_status", "new_status")
    )
    status_steps = [(old, new) for kind, old, new in steps if kind == "status"]
    assert status_steps == [
        (Status.NEW, Status.ACCEPTED),
        (Status.ACCEPTED, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.RESOLVED),
        (Status.RESOLVED, Status.CLOSED),
    ]

    # The staff page now shows the closed request and every step in its timeline.
    page.reload()
    expect(badge).to_have_text(status_label(Status.CLOSED))
    timeline = page.locator("main ol.list-group")
    expect(timeline.locator("li")).to_have_count(len(steps))
    for old, new in status_steps:
        expect(timeline).to_contain_text(
            zh("Status %(old)s → %(new)s") % {"old": status_label(old), "new": status_label(new)}
        )
    expect(timeline).to_contain_text(zh("Follow-up answered (回访)"))
    expect(timeline).to_contain_text("药已送到家中")
    # Nothing left to do on a closed request but notes.
    expect(page.locator("form:has(input[name=to_status])")).to_have_count(0)


# --- 3. Tracking by receipt, without a login --------------------------------------------------------


def test_track_by_receipt_without_login(page, browser, live_server, desk, login):
    service_request = make_request(desk)
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    page.goto(f"{live_server.url}/requests/{service_request.pk}/")
    page.get_by_role("link", name=zh("Receipt (回执)")).click()
    expect(page).to_have_url(f"{live_server.url}/requests/{service_request.pk}/receipt/")
    receipt = page.locator("main")
    expect(receipt.locator("svg")).to_have_count(1)  # the QR code, drawn inline
    expect(receipt.locator("svg")).to_be_visible()
    expect(receipt).to_contain_text(service_request.reference)
    expect(receipt).not_to_contain_text("张焱")
    assert_no_horizontal_overflow(page, PHONE)
    link = receipt.locator("a[href*='/track/?ref=']")
    expect(link).to_have_count(1)
    track_url = link.get_attribute("href")
    assert track_url.endswith(f"/track/?ref={service_request.reference}")

    # Someone with the receipt and no account, on their own phone.
    context = browser.new_context(viewport=PHONE)
    try:
        visitor = context.new_page()
        visitor.goto(track_url)
        expect(visitor.get_by_role("heading", level=1)).to_have_text(zh("Track a request"))
        reference = visitor.locator("input[name=reference]")
        expect(reference).to_have_value(service_request.reference)
        tail = visitor.locator("input[name=phone_tail]")
        look_up = visitor.get_by_role("button", name=zh("Look it up"))

        tail.fill("4321")  # not her phone
        look_up.click()
        expect(visitor.locator("main .alert-warning")).to_have_text(
            zh("No request matches this reference and phone number.")
        )
        expect(visitor.locator("main .badge")).to_have_count(0)
        expect(reference).to_have_value(service_request.reference)

        tail.fill("1234")
        look_up.click()
        result = visitor.locator("main")
        expect(result.locator(".badge").first).to_have_text(status_label(Status.NEW))
        expect(result).to_contain_text(service_request.reference)
        expect(result).to_contain_text("代开药")
        assert_no_horizontal_overflow(visitor, PHONE)
        text = result.inner_text()
        for personal in ("张焱", "张*", "13812341234", "138****1234", "3号楼", "301", "zhangyan_sg", TITLE):
            assert personal not in text, f"{personal!r} shown on the public tracking page"
    finally:
        context.close()


# --- 4. The queue and the list, phone and desktop ---------------------------------------------------


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_queue_and_filtered_list(page, live_server, desk, login, viewport):
    worker_user = desk["worker"].user
    make_request(desk, title="帮忙开降压药")
    accepted = make_request(desk, title="代买米面油", category="代买生活用品")
    service_request_transition(service_request=accepted, to_status=Status.ACCEPTED, actor=worker_user)
    started = make_request(desk, title="楼道灯不亮", category="公共设施损坏", urgency="urgent")
    service_request_transition(service_request=started, to_status=Status.ACCEPTED, actor=worker_user)
    service_request_transition(service_request=started, to_status=Status.IN_PROGRESS, actor=worker_user)

    page.set_viewport_size(viewport)
    login(page, "zhangyan_sg")

    # My queue: the three open requests routed to her.
    page.goto(f"{live_server.url}/requests/queue/")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("My queue"))
    queue_rows = page.locator("main .list-group > a.list-group-item")
    expect(queue_rows).to_have_count(3)
    expect(page.locator("main .nav-link.active")).to_contain_text(zh("Mine"))
    assert_no_horizontal_overflow(page, viewport)
    queue_rows.filter(has_text="楼道灯不亮").click()
    expect(page).to_have_url(f"{live_server.url}/requests/{started.pk}/")

    # All requests, then only the accepted ones.
    page.goto(f"{live_server.url}/requests/")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("All requests"))
    rows = page.locator("main .list-group > a.list-group-item")
    expect(rows).to_have_count(3)
    assert_no_horizontal_overflow(page, viewport)
    filters = page.locator("form#request-filters")
    toggle = page.get_by_role("button", name=zh("Filters and sorting"))
    if viewport == PHONE:
        # Folded away on a phone until asked for.
        expect(filters).to_be_hidden()
        open_panel(toggle, filters)
    else:
        expect(toggle).to_be_hidden()
    expect(filters).to_be_visible()
    filters.get_by_text(status_label(Status.ACCEPTED), exact=True).click()
    expect(filters.locator("input[name=status][value=accepted]")).to_be_checked()
    assert_no_horizontal_overflow(page, viewport)
    filters.get_by_role("button", name=zh("Apply")).click()
    expect(page).to_have_url(re.compile(r"[?&]status=accepted(&|$)"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("代买米面油")
    expect(rows.first.locator(".badge")).to_have_text(status_label(Status.ACCEPTED))
    expect(filters.locator("input[name=status][value=accepted]")).to_be_checked()
    assert_no_horizontal_overflow(page, viewport)
    # "Clear all" is in the panel; on a phone it has to be opened again.
    if viewport == PHONE:
        open_panel(toggle, filters)
    filters.get_by_role("link", name=zh("Clear all")).click()
    expect(rows).to_have_count(3)


# --- Recurring errands: find the person, then the errand -----------------------------------------------


def test_errand_on_a_phone_finds_the_resident_then_sets_up_the_errand(page, live_server, desk, login):
    from stations.models import RecurringErrand

    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    page.goto(f"{live_server.url}/errands/new/")
    expect(page.locator("select[name=resident]")).to_have_count(0)
    page.get_by_label(zh("Who is the errand for?")).press_sequentially("1234", delay=30)  # phone tail, live
    matches = page.locator("#errand-matches a")
    expect(matches).to_have_count(1)
    expect(matches).to_contain_text("张焱")
    assert_no_horizontal_overflow(page, PHONE)
    matches.click()
    expect(page.locator("input[name=resident]")).to_have_value(str(desk["zhang"].pk))
    page.locator("select[name=category]").select_option(label="代开药")
    page.locator("input[name=title]").fill("每两周代开降压药")
    assert_no_horizontal_overflow(page, PHONE)
    page.get_by_role("button", name=zh("Set up errand")).click()
    expect(page).to_have_url(re.compile(r"/errands/$"))
    expect(page.locator("main")).to_contain_text("每两周代开降压药")
    errand = RecurringErrand.objects.get()
    assert (errand.resident, errand.title) == (desk["zhang"], "每两周代开降压药")


def test_a_double_tap_on_save_sends_the_form_once(page, live_server, desk, login, monkeypatch):
    """static/js/forms.js: the second tap of a slow submit finds the button disabled, so the browser sends
    the form once (without forms.js: two POSTs; the errand's submission key then keeps it to one errand)."""
    import time

    from stations.models import RecurringErrand
    from stations.services import visits as services

    real = services.errand_create

    def slow(**kwargs):  # a stairwell's connection: the answer takes a while
        time.sleep(0.8)
        return real(**kwargs)

    monkeypatch.setattr(services, "errand_create", slow)
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    page.goto(f"{live_server.url}/errands/new/?resident={desk['zhang'].pk}")
    page.locator("select[name=category]").select_option(label="代开药")
    page.locator("input[name=title]").fill("每周代买菜")
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    save = page.get_by_role("button", name=zh("Set up errand"))
    # The second tap, 150 ms after the first, while the first is still on its way (Playwright itself
    # would wait for the first navigation to end before its next click).
    save.evaluate("button => setTimeout(() => button.click(), 150)")
    save.click(no_wait_after=True)
    expect(page).to_have_url(re.compile(r"/errands/$"))
    assert len(posts) == 1
    assert RecurringErrand.objects.filter(title="每周代买菜").count() == 1


def test_visit_on_a_phone_finds_the_home_then_records_the_visit(page, live_server, desk, login):
    from stations.models import Visit

    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    page.goto(f"{live_server.url}/visits/new/")
    expect(page.locator("select[name=household]")).to_have_count(0)
    page.get_by_label(zh("Whose home are you visiting?")).press_sequentially("王芳", delay=30)
    homes = page.locator("#visit-homes a")
    expect(homes).to_have_count(1)
    expect(homes).to_contain_text("王芳")
    assert_no_horizontal_overflow(page, PHONE)
    homes.click()
    expect(page.locator("input[name=household]")).to_have_value(str(desk["household"].pk))
    page.locator("textarea[name=found]").fill("楼道灯不亮")
    assert_no_horizontal_overflow(page, PHONE)
    page.get_by_role("button", name=zh("Save visit")).click()
    expect(page.locator("main")).to_contain_text("楼道灯不亮")
    visit = Visit.objects.get()
    assert (visit.household, visit.found) == (desk["household"], "楼道灯不亮")


# --- Subdistrict staff on a phone ---------------------------------------------------------------------


def test_subdistrict_staff_on_a_phone_tell_the_communities_apart(page, live_server, desk, login):
    """A subdistrict's communities each have a 3号楼: every row names its community, the filters offer a
    community, and the menu leads to the visit log they may read."""
    from stations.choices import Role
    from stations.services.categories import categories_seed
    from tests import factories

    community = desk["community"]
    neighbour = factories.CommunityFactory(name="和平里社区", code="HPL", subdistrict=community.subdistrict)
    categories_seed(community=neighbour)
    worker_n = factories.make_worker(
        community=neighbour, buildings=[factories.BuildingFactory(community=neighbour, number="3号楼")]
    )
    make_request(desk, title="安华里的事")
    service_request_create(
        actor=worker_n.user,
        community=neighbour,
        category=neighbour.categories.get(name="代开药"),
        title="和平里的事",
        contact_name="李",
        contact_phone="13900001111",
    )
    factories.make_member(role=Role.SUBDISTRICT, subdistrict=community.subdistrict, username="jiedao")
    page.set_viewport_size(PHONE)
    login(page, "jiedao")

    page.goto(f"{live_server.url}/requests/")
    rows = page.locator("main .list-group > a.list-group-item")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="安华里的事")).to_contain_text("安华里社区")
    expect(rows.filter(has_text="和平里的事")).to_contain_text("和平里社区")
    assert_no_horizontal_overflow(page, PHONE)
    filters = page.locator("form#request-filters")
    open_panel(page.get_by_role("button", name=zh("Filters and sorting")), filters)
    filters.get_by_label(zh("Community")).select_option(label="和平里社区")
    filters.get_by_role("button", name=zh("Apply")).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("和平里的事")
    assert_no_horizontal_overflow(page, PHONE)

    page.get_by_role("button", name=zh("Menu")).click()
    page.get_by_role("button", name=zh("Walking service")).click()
    page.get_by_role("link", name=zh("Visits"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Visit log"))
    assert_no_horizontal_overflow(page, PHONE)
