"""长辈模式: the text size form in every page's header, no JavaScript needed;
larger text, and nothing wider than a 360 px phone on any page type (each
step measured in detail by test_text_size.py)."""

import re

import pytest

from .conftest import PHONE
from .support import final_screenshot, public_pages

pytestmark = pytest.mark.e2e


def px(value: str) -> float:
    return float(re.match(r"[\d.]+", value)[0])


def font_size(page, selector: str) -> float:
    return px(page.eval_on_selector(selector, "e => getComputedStyle(e).fontSize"))


def test_elder_mode_toggle_works_without_javascript(demo, new_page):
    page = new_page(PHONE, java_script_enabled=False)
    page.goto("/boards/wenli/")
    assert font_size(page, "body") == 16
    page.get_by_role("button", name="大", exact=True).click()

    page.wait_for_url("**/boards/wenli/")
    assert page.locator("html.elder").count() == 1
    assert font_size(page, "body") >= 18
    page.get_by_role("button", name="标准").click()

    page.wait_for_url("**/boards/wenli/")
    assert page.locator("html.elder").count() == 0
    assert font_size(page, "body") == 16


def test_elder_mode_is_large_and_fits_a_phone_on_every_page(demo, page):
    page.goto("/")
    page.get_by_role("button", name="大", exact=True).click()
    page.wait_for_selector("html.elder")
    for name, url in public_pages().items():
        page.goto(url)
        assert page.locator("html.elder").count() == 1, name
        # The toggle is visible on every page, the menu open without a button.
        size = page.get_by_role("button", name="大", exact=True)
        assert size.get_attribute("aria-pressed") == "true", name
        assert page.get_by_role("link", name="回音壁", exact=True).first.is_visible()
        body = font_size(page, "body")
        assert body >= 18, name
        assert font_size(page, "h1") > body, name
        for control in page.locator("main input:visible, main select:visible").all():
            size = px(control.evaluate("e => getComputedStyle(e).fontSize"))
            assert size >= 18, (name, control)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (name, width)
    final_screenshot(page, "elder-mode-last-page")
