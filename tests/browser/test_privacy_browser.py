"""The committee head's privacy tools in Chromium at phone width: history, a logged export, erasure."""

import pytest
from playwright.sync_api import expect

from residents.models import PersonalDataExport
from tests.browser.conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_head_reads_history_exports_and_erases_on_a_phone(page, live_server, registry, login):
    page.set_viewport_size(PHONE)
    zhang = registry["zhang"]
    login(page, "zhangyan_sg")  # the worker changes the phone number
    page.goto(f"{live_server.url}/residents/{zhang.pk}/edit/")
    page.locator("input[name=phone]").fill("13900001111")
    page.locator("input[name=save]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("张焱")
    page.context.clear_cookies()

    login(page, "shuji")
    page.goto(f"{live_server.url}/residents/{zhang.pk}/")
    page.get_by_role("link", name="变更历史").click()
    body = page.locator("main")
    expect(body).to_contain_text("138****1234")
    expect(body).to_contain_text("139****1111")
    expect(body).not_to_contain_text("13900001111")
    _fits(page)

    page.goto(f"{live_server.url}/residents/export/")
    page.get_by_label("为何需要导出？").fill("年度关爱走访名单")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    export = PersonalDataExport.objects.get()
    assert (export.row_count, export.unmasked, export.reason) == (2, False, "年度关爱走访名单")
    _fits(page)

    page.goto(f"{live_server.url}/residents/{zhang.pk}/erase/")
    _fits(page)
    page.get_by_label("为何删除该居民的个人信息？").fill("本人申请删除")
    page.get_by_label("我了解此操作无法撤销。").check()
    page.get_by_role("button", name="删除个人信息").click()
    expect(page.locator("main")).to_contain_text("已删除居民")
    expect(page.locator("main")).not_to_contain_text("张焱")
    _fits(page)
