"""axe-core (WCAG 2.0–2.2, A and AA rules) on every public page type: on a
phone, on a desktop (where the menu is open) and in 长辈模式."""

import pytest

from .conftest import DESKTOP, PHONE
from .support import axe_violations, public_pages

pytestmark = pytest.mark.e2e

PAGE_TYPES = [
    "home",
    "catalog",
    "catalog_item",
    "boards",
    "board",
    "disclosure",
    "list_filtered",
    "wall",
    "wall_item",
    "feedback_form",
    "track_form",
    "tracking",
    "search",
    "stats",
    "compliance",
    "compliance_unit",
    "login",
    "govinfo_form",
    "govinfo_track_form",
    "govinfo_tracking",
    "gov_guide",
    "affairs_guide",
    "gov_report",
]


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_page_has_no_wcag_violations(demo, page, live_server, name):
    url = public_pages()[name]
    assert page.goto(url).status == 200
    assert axe_violations(page) == [], "phone"

    page.set_viewport_size(DESKTOP)
    page.reload()
    assert axe_violations(page) == [], "desktop"

    page.set_viewport_size(PHONE)
    page.context.add_cookies([{"name": "elder", "value": "1", "url": live_server.url}])
    page.reload()
    assert page.locator("html.elder").count() == 1
    assert axe_violations(page) == [], "长辈模式"
