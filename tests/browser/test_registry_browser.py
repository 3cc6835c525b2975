"""Login and the resident directory in Chromium, on a phone and on a desktop."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_rejects_wrong_password_then_accepts(page, live_server, registry, login):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("用户名").fill("zhangyan_sg")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".alert-danger, .errorlist").first).to_be_visible()
    login(page, "zhangyan_sg")
    expect(page.get_by_role("heading", level=1)).to_have_text("安华里社区")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_directory_search_as_you_type(page, live_server, registry, login, viewport):
    page.set_viewport_size(viewport)
    login(page, "zhangyan_sg")
    page.goto(f"{live_server.url}/residents/")
    results = page.locator("#results")
    expect(results).to_contain_text("张焱")
    expect(results).not_to_contain_text("张三丰")  # another community
    page.get_by_role("searchbox").fill("wf")  # pinyin initials of 王芳
    expect(results.locator(".list-group-item")).to_have_count(1)
    expect(results).to_contain_text("王芳")
    expect(results).to_contain_text("139****5678")
    expect(results).not_to_contain_text("13900005678")
    page.get_by_role("searchbox").fill("3-2-301")
    expect(results.locator(".list-group-item")).to_have_count(2)
    # Nothing overflows the phone's width.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    results.get_by_text("张焱").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("张焱")
    expect(page.locator("#reveal-phone")).to_contain_text("138****1234")


def test_head_reveals_phone_with_reason(page, live_server, registry, login):
    page.set_viewport_size(PHONE)
    login(page, "shuji")
    page.goto(f"{live_server.url}/residents/{registry['zhang'].pk}/")
    reveal = page.locator("#reveal-phone")
    reveal.locator("summary").click()
    reveal.get_by_role("textbox").fill("回访电话")
    reveal.get_by_role("button").click()
    expect(page.locator("#reveal-phone")).to_contain_text("13812341234")


def test_new_resident_names_the_home_as_the_address_is_typed(page, live_server, registry, login):
    """On a phone: the home is typed (3-2-301), the form says whose home it is before saving, and a wrong
    address is refused in Chinese with what was typed kept."""
    page.set_viewport_size(PHONE)
    login(page, "zhangyan_sg")
    page.goto(f"{live_server.url}/residents/new/")
    expect(page.locator("select[name=household]")).to_have_count(0)
    page.get_by_label("姓名").fill("李四")
    home = page.get_by_label("住址")
    home.fill("3-2-999")
    expect(page.locator("#home-check")).to_contain_text("本社区没有这个地址的住户")
    home.fill("3-2-301")
    expect(page.locator("#home-check")).to_contain_text("✓")
    expect(page.locator("#home-check")).to_contain_text("张焱")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    home.fill("3-9-301")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".invalid-feedback, .errorlist").first).to_contain_text("本社区没有“3-9-301”这户")
    expect(page.get_by_label("住址")).to_have_value("3-9-301")
    page.get_by_label("住址").fill("3号楼2单元301")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("李四")
    expect(page.locator("main")).to_contain_text("3号楼")
