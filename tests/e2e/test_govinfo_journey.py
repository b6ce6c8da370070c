"""依申请公开 in a real browser as a resident uses it (issue 21): on a 360 px
phone, JavaScript off, text size 特大, mistakes first; the pages of the
application pass axe in the largest step."""

import re

import pytest

from govinfo.models import InfoRequest

from .conftest import PHONE
from .support import axe_violations, layout_problems

pytestmark = pytest.mark.e2e

ID_NUMBER = "510722198001011231"  # fictitious, with a correct check digit


def test_resident_applies_with_mistakes_on_a_phone_without_javascript(
    demo, new_page, live_server, settings
):
    settings.GOVINFO_MIN_FORM_SECONDS = 0
    page = new_page(PHONE, java_script_enabled=False)
    page.context.add_cookies([{"name": "elder", "value": "2", "url": live_server.url}])
    page.goto("/")
    page.locator("#footer-govinfo-apply").click()
    page.wait_for_url("**/yishenqing/")
    assert page.locator("html.elder-xl").count() == 1

    # Mistakes: a wrong check digit, no way to reach the applicant, the
    # notice not confirmed.
    page.get_by_label("姓名或组织名称").fill("王某某")
    page.get_by_label("身份证号码（公民填写）").fill("510722198001011232")
    page.get_by_label("所需政府信息的内容描述").fill(
        "2011年文理村道路硬化工程的招标文件"
    )
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "提交未成功" in main
    assert "身份证号码不正确" in main
    assert "至少填写一种联系方式" in main
    assert "请阅读申请须知并勾选确认" in main
    # Nothing typed is lost, and the page holds at 360 px in 特大.
    assert page.get_by_label("姓名或组织名称").input_value() == "王某某"
    assert "招标文件" in page.get_by_label("所需政府信息的内容描述").input_value()
    assert layout_problems(page, elder=True) == []
    assert InfoRequest.objects.filter(name="王某某").count() == 0

    page.get_by_label("身份证号码（公民填写）").fill(ID_NUMBER)
    page.get_by_label("联系电话").fill("138 0000 1111")
    page.get_by_label("我已阅读申请须知，所填信息真实").check()
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/yishenqing/thanks/")
    code = page.locator(".request-code").inner_text().strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{10}", code)
    page.reload()  # a reload of the thanks page posts nothing again
    assert page.locator(".request-code").inner_text().strip() == code

    # Back to the form and send it again: the same application.
    page.go_back()
    page.go_back()
    if page.get_by_role("button", name="提交申请").count():
        page.get_by_role("button", name="提交申请").click()
        page.wait_for_load_state()
    assert InfoRequest.objects.filter(name="王某某").count() == 1

    # Later: the code, typed in lower case, from the footer's link.
    page.goto("/")
    page.locator("#footer-govinfo-track").click()
    page.get_by_label("受理编号").fill(code.lower())
    page.get_by_label("受理编号").press("Enter")
    page.wait_for_url(f"**/yishenqing/track/{code}/")
    body = page.locator("main").inner_text()
    assert "办理中" in body and "王某某" not in body and ID_NUMBER not in body
    assert layout_problems(page, elder=True) == []


@pytest.mark.parametrize(
    "url",
    ["/yishenqing/", "/yishenqing/track/SQ2011A002/", "/guide/", "/reports/gov/2011/"],
)
def test_the_govinfo_pages_pass_axe_in_the_largest_step(demo, page, live_server, url):
    page.context.add_cookies([{"name": "elder", "value": "2", "url": live_server.url}])
    assert page.goto(url).status == 200
    assert page.locator("html.elder-xl").count() == 1
    assert axe_violations(page) == []


def test_the_answer_letter_passes_axe(demo, page):
    assert page.goto("/yishenqing/track/SQ2011A002/letter/").status == 200
    assert axe_violations(page) == []


@pytest.mark.parametrize(("step", "least"), [("1", 20), ("2", 24)])
def test_the_answer_letter_follows_the_text_size_step(
    demo, new_page, live_server, step, least
):
    """The letter is a page of its own (A4 for print): it took no text size
    step, so a resident in 长辈模式 read it at 16 px."""
    page = new_page(PHONE)
    page.context.add_cookies([{"name": "elder", "value": step, "url": live_server.url}])
    assert page.goto("/yishenqing/track/SQ2011A002/letter/").status == 200
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= least
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []
