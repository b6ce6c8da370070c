"""A disclosure's table (收支明细表) on a phone: the page does not overflow,
the table scrolls in its own labelled region, and axe finds no violation."""

from datetime import timedelta

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import Item
from disclosure.models import Disclosure, Unit

from .conftest import DESKTOP
from .support import AXE_TAGS, AXE_URL, axe_violations, layout_problems
from .test_journeys import log_in_to_admin
from .test_text_size import STEPS, set_step

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
    # (The browser may scroll smoothly: wait for it rather than read at once.)
    page.wait_for_function(
        "el => el.scrollLeft > 0", arg=region.element_handle(), timeout=5000
    )
    assert axe_violations(page) == [], "phone"
    assert layout_problems(page, elder=False) == []
    for step in STEPS.values():  # 长辈模式's steps: large text, targets
        if step:
            set_step(page, live_server, step)
            page.reload()
            assert layout_problems(page, elder=True) == [], step
            assert page_overflow(page) <= 0, step
    set_step(page, live_server, None)
    page.set_viewport_size(DESKTOP)
    page.reload()
    assert axe_violations(page) == [], "desktop"


def test_the_printed_board_shows_the_table(demo, page):
    disclosure = Disclosure.objects.get(title=TITLE)
    # A 2011 notice is off the board by now unless its 展示至 says otherwise.
    Disclosure.objects.filter(pk=disclosure.pk).update(
        display_until=timezone.localdate() + timedelta(days=30)
    )
    assert page.goto(f"/boards/{disclosure.unit.slug}/print/").status == 200
    assert (
        page.locator(".print-tables caption")
        .first.inner_text()
        .startswith("文理村2011年6月村级财务收支明细表")
    )
    assert axe_violations(page) == []


def axe_on(page, selector: str) -> list[str]:
    """axe on one part of a page (the admin's other parts are another task's)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    violations = page.evaluate(
        """async ([selector, tags]) => (await axe.run(
            {include: [[selector]]},
            {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]},
        )).violations""",
        [selector, AXE_TAGS],
    )
    return [f"{v['id']}: {n['target']}" for v in violations for n in v["nodes"]]


def test_an_editor_uploads_the_template_on_a_phone_and_previews(demo, page, tmp_path):
    editor = get_user_model().objects.get(username="wenli_editor")
    draft = Disclosure.objects.create(
        unit=Unit.objects.get(slug="wenli"),
        item=Item.objects.get(code="CW01"),
        period="2011-09",
        title="文理村2011年9月村级财务收支情况公开",
        body="现将本月收支情况公开。",
        created_by=editor,
    )
    log_in_to_admin(page, "wenli_editor")
    page.goto(f"/admin/disclosure/disclosure/{draft.pk}/change/")
    group = page.locator("#tables-group")
    assert axe_on(page, "#tables-group") == []
    with page.expect_download() as download:
        group.get_by_role("link", name="下载村级财务收支明细表模板（.xlsx）").click()
    # The editor fills the template in (as WPS would) and uploads it.
    assert download.value.suggested_filename == "村级财务收支明细表模板.xlsx"
    download.value.save_as(tmp_path / "template.xlsx")
    book = openpyxl.load_workbook(tmp_path / "template.xlsx")
    sheet = book.active
    sheet["A1"] = "文理村2011年9月村级财务收支明细表"
    for row, values in enumerate(
        [
            ["2011-09-05", "记01", "收到运转经费", 5000, None, "村会计", ""],
            ["2011-09-12", "记02", "购买办公用品", None, 320.5, "报账员", ""],
            ["", "", "", None, None, "", ""],
        ],
        start=3,
    ):
        for column, value in enumerate(values, start=1):
            sheet.cell(row=row, column=column, value=value)
    sheet["D6"], sheet["E6"] = 5000, 320.5
    path = tmp_path / "明细.xlsx"
    book.save(path)
    page.locator("#id_tables-0-file").set_input_files(path)
    page.locator("input[name=_continue]").click()
    page.wait_for_selector(".messagelist")
    table = draft.tables.get()
    assert table.row_count == 2
    assert "2 行；收入（元） 5,000.00；支出（元） 320.50" in group.inner_text()
    page.goto(draft.get_absolute_url())
    assert page.locator("#preview-note").count() == 1
    region = page.get_by_role("region", name="文理村2011年9月村级财务收支明细表")
    assert region.locator("tfoot").inner_text().split() == [
        "合计",
        "5,000.00",
        "320.50",
    ]
    assert page_overflow(page) <= 0
