"""A disclosure's table (收支明细表) on a phone: the page does not overflow,
the table scrolls in its own labelled region, and axe finds no violation."""

import pytest

from disclosure.models import Disclosure

from .conftest import DESKTOP
from .support import axe_violations

pytestmark = pytest.mark.e2e

TITLE = "文理村2011年6月村级财务收支情况公开"


def page_overflow(page) -> int:
    return page.evaluate(
        "() => document.documentElement.scrollWidth"
        " - document.documentElement.clientWidth"
    )


def test_a_finance_table_reads_on_a_phone(demo, page, live_server):
    disclosure = Disclosure.objects.get(title=TITLE)
    assert page.goto(disclosure.get_absolute_url()).status == 200
    region = page.get_by_role("region", name="文理村2011年6月村级财务收支明细表")
    assert region.count() == 1
    table = region.get_by_role("table")
    assert table.locator("tfoot th[scope=row]").inner_text() == "合计"
    assert page_overflow(page) <= 0
    # The table is wider than a 360 px phone: it scrolls, the page does not.
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")
    region.focus()
    page.keyboard.press("ArrowRight")
    assert region.evaluate("el => el.scrollLeft") > 0
    assert axe_violations(page) == [], "phone"
    page.set_viewport_size(DESKTOP)
    page.reload()
    assert axe_violations(page) == [], "desktop"


def test_the_printed_board_shows_the_table(demo, page):
    disclosure = Disclosure.objects.get(title=TITLE)
    disclosure.unit.disclosures.exclude(pk=disclosure.pk).filter(
        item=disclosure.item
    ).update(display_until="2011-01-01")  # June's statement the newest on display
    assert page.goto(f"/boards/{disclosure.unit.slug}/print/").status == 200
    assert (
        page.locator(".print-tables caption")
        .first.inner_text()
        .startswith("文理村2011年6月村级财务收支明细表")
    )
    assert axe_violations(page) == []
