"""The back office's lists read at an office desktop's 1366 px and a phone's
360 px: the 意见建议 titles keep a readable width, 答复期限 and 超期 are shown
whole and on screen; the start page fits a phone (issue 18)."""

import pytest

from operations.management.commands.seed_demo import DEMO_USERS

from .support import final_screenshot

pytestmark = pytest.mark.e2e

WIDE = {"width": 1366, "height": 768}
PHONE = {"width": 360, "height": 740}


def log_in_to_admin(page, username: str) -> None:
    password = next(u["password"] for u in DEMO_USERS if u["username"] == username)
    page.goto("/admin/login/?next=/admin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")


def box(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate(
        """(el) => {
            const r = el.getBoundingClientRect();
            return {left: r.left, right: r.right, width: r.width,
                    clipped: el.scrollWidth > el.clientWidth + 1,
                    text: el.innerText};
        }"""
    )


@pytest.mark.parametrize(("viewport", "min_title"), [(WIDE, 180), (PHONE, 100)])
def test_the_case_list_reads_at_1366_and_360(demo, new_page, viewport, min_title):
    page = new_page(viewport)
    log_in_to_admin(page, "town_admin")
    page.goto("/admin/feedback/submission/")
    title = box(page, "#result_list tbody .field-title_display")
    assert title["width"] >= min_title, title
    for column in ("due_date", "overdue_display"):
        header = box(page, f"#result_list th.column-{column}")
        cell = box(page, f"#result_list td.field-{column}")
        # Whole, and on screen without scrolling sideways.
        assert not header["clipped"] and not cell["clipped"], (column, header)
        assert header["right"] <= viewport["width"], (column, header)
        assert header["text"].strip() in ("答复期限", "超期")
    # The page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    final_screenshot(page, f"case-list-{viewport['width']}")


def test_the_start_page_fits_a_phone_and_its_counts_lead_to_lists(demo, new_page):
    page = new_page(PHONE)
    log_in_to_admin(page, "town_admin")
    worklist = page.locator("#worklist")
    assert worklist.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    worklist.get_by_role("link", name="全部未办结").click()
    page.wait_for_url("**/admin/feedback/submission/?open=yes")
    assert page.locator("#result_list").is_visible()
