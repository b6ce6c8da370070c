"""The back office on a phone, the issue 18 "Done when" journey as one test:
at 360 px 文理村's editor drafts this period's 村级财务收支明细 from the
template spreadsheet (downloaded through the admin's link, filled in, uploaded)
with a photo from the phone's camera, previews it (the table in the preview)
and submits it; the village's bodies the demo's procedure needs review and
approve it, each from the count on their start page; the editor publishes; a
resident reads the table on the public page and finds it on the board.
axe-core and the layout checks (no sideways scrolling) run on every back-office
page of the journey.

Each step is a small function, so that a step can be added between two
without rewriting the others.
"""

import re
from dataclasses import dataclass, field

import openpyxl
import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from catalog.models import Item
from disclosure.models import Disclosure, Unit

from .conftest import PHONE
from .support import axe_violations, final_screenshot
from .test_journeys import log_in_to_admin

pytestmark = pytest.mark.e2e

ITEM = "CW01"  # 村级财务收支明细, monthly, public; 村务: the village publishes
# The rows the editor types into the template (day of the period's month,
# then the columns after 日期): two incomes, one expense.
ROWS = [
    [5, "记01", "收到上级转移支付", 12000, None, "村会计", ""],
    [12, "记02", "村道维修材料费", None, 8000, "报账员", "附现场照片"],
    [20, "记03", "收到土地租金", 3500.5, None, "村会计", ""],
]
TOTALS = ["合计", "15,500.50", "8,000.00"]


def page_overflow(page) -> int:
    """How far the page scrolls sideways (0: it fits the screen)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth"
        " - document.documentElement.clientWidth"
    )


@dataclass
class Journey:
    """What the steps share: the people's pages, the period and title of the
    record, and what axe and the layout checks found where."""

    new_page: object
    period: object  # catalog.periods.Period: the one the editor is offered first
    pages: dict = field(default_factory=dict)
    violations: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"文理村{self.period.label}村级财务收支明细"

    @property
    def caption(self) -> str:
        return f"文理村{self.period.label}村级财务收支明细表"

    def phone(self, username: str):
        """The person's phone, logged in to the back office (its start page)."""
        if username not in self.pages:
            page = self.new_page(PHONE)
            log_in_to_admin(page, username)
            self.check(page, f"index, {username}")
            self.pages[username] = page
        return self.pages[username]

    def check(self, page, name: str) -> None:
        """axe and the page's width as it is now; kept, so that one run
        reports every page."""
        found = axe_violations(page)
        overflow = page_overflow(page)
        if overflow > 0:
            found.append(f"the page scrolls sideways by {overflow} px")
        if found:
            self.violations[f"{name} ({page.url})"] = found


def camera_photo(tmp_path):
    """A small JPEG, as a phone's camera hands it to the file input."""
    photo = tmp_path / "IMG_0001.jpg"
    Image.new("RGB", (800, 600), (90, 140, 60)).save(photo, "JPEG", quality=80)
    return photo


def filled_template(journey: Journey, editor, tmp_path):
    """The template, downloaded through the table inline's link and filled
    in as the village's accountant would (Excel or WPS)."""
    group = editor.locator("#tables-group")
    with editor.expect_download() as download:
        group.get_by_role("link", name="下载村级财务收支明细表模板（.xlsx）").click()
    assert download.value.suggested_filename == "村级财务收支明细表模板.xlsx"
    download.value.save_as(tmp_path / "template.xlsx")
    book = openpyxl.load_workbook(tmp_path / "template.xlsx")
    sheet = book.active
    sheet["A1"] = journey.caption
    assert [c.value for c in sheet[6]][2] == "合计"  # three blank rows, then 合计
    for row, (day, *values) in enumerate(ROWS, start=3):
        sheet.cell(row=row, column=1, value=journey.period.start.replace(day=day))
        for column, value in enumerate(values, start=2):
            sheet.cell(row=row, column=column, value=value)
    sheet["D6"], sheet["E6"] = 15500.5, 8000
    path = tmp_path / "收支明细.xlsx"
    book.save(path)
    return path


def draft_from_template(journey: Journey, photo, tmp_path) -> Disclosure:
    editor = journey.phone("wenli_editor")
    editor.goto("/admin/disclosure/disclosure/add/")
    journey.check(editor, "add")
    wenli = Unit.objects.get(slug="wenli")
    assert editor.locator("#id_unit").input_value() == str(wenli.pk)
    item = editor.locator("#id_item option", has_text=ITEM).first.inner_text()
    editor.locator("#id_item").select_option(label=item)
    # 所属期间: the item's current period is chosen with it, this year first.
    year, part = journey.period.key.split("-")
    expect(editor.locator("#id_period_0")).to_have_value(year)
    expect(editor.locator("#id_period_1")).to_have_value(part)
    first_year = editor.locator("#id_period_0 option:not([value=''])").first
    assert first_year.get_attribute("value") == str(timezone.localdate().year)
    editor.locator("#id_title").fill(journey.title)
    editor.locator("#id_body").fill("现将本月村级财务收支明细公开如下，欢迎监督。")
    editor.locator("#id_attachments-0-kind").select_option("photo")
    editor.locator("#id_attachments-0-title").fill("村道维修现场")
    editor.locator("#id_attachments-0-file").set_input_files(photo)
    sheet = filled_template(journey, editor, tmp_path)
    editor.locator("#id_tables-0-file").set_input_files(sheet)
    editor.locator("input[name=_continue]").click()
    editor.wait_for_url(re.compile(r"/admin/disclosure/disclosure/\d+/change/$"))
    journey.check(editor, "change, with the table")
    disclosure = Disclosure.objects.get(title=journey.title)
    assert disclosure.period == journey.period.key
    assert disclosure.attachments.filter(kind="photo").count() == 1
    assert disclosure.tables.get().row_count == len(ROWS)
    expect(editor.locator("#tables-group")).to_contain_text(
        "3 行；收入（元） 15,500.50；支出（元） 8,000.00"
    )
    return disclosure


def the_table(page, journey: Journey):
    """The table as a resident's screen reader finds it: a region named by
    its caption; its headers, rows and totals, amounts in 元."""
    region = page.get_by_role("region", name=journey.caption)
    expect(region).to_be_visible()
    table = region.get_by_role("table")
    headers = table.locator("thead th[scope=col]").all_inner_texts()
    assert headers[:5] == ["日期", "凭证号", "摘要", "收入（元）", "支出（元）"]
    assert table.locator("tbody tr").count() == len(ROWS)
    assert table.locator("tfoot").inner_text().split() == TOTALS
    amount = table.locator("tbody tr").first.locator("td.amount").first
    assert amount.inner_text() == "12,000.00"
    assert amount.evaluate("td => getComputedStyle(td).textAlign") in ("right", "end")
    return table


def preview(journey: Journey, disclosure: Disclosure) -> None:
    editor = journey.phone("wenli_editor")
    editor.locator(".object-tools a", has_text="在站点上查看").click()
    editor.wait_for_url(f"**{disclosure.get_absolute_url()}")
    expect(editor.locator("#preview-note")).to_contain_text("预览")
    assert editor.locator("h1").inner_text().startswith(journey.title)
    the_table(editor, journey)
    journey.check(editor, "preview")
    editor.go_back()
    editor.wait_for_url(re.compile(r"/change/$"))


def take_step(
    journey: Journey, username: str, disclosure, label: str, *, opened=False
) -> None:
    """A workflow step from the record's page (opened: the person is on it,
    as from_start_page leaves them): its button, then its page."""
    page = journey.phone(username)
    if not opened:
        page.goto(f"/admin/disclosure/disclosure/{disclosure.pk}/change/")
        journey.check(page, f"change, {username}")
    page.locator(".object-tools a", has_text=label).click()
    page.wait_for_url(re.compile(r"/transition/\w+/$"))
    journey.check(page, f"step {label}")
    secrecy = page.get_by_label("已进行保密审查")
    if secrecy.count():
        secrecy.check()
    page.locator("input[type=submit]").click()
    page.wait_for_selector(f".messagelist >> text=已完成：{label}")
    journey.check(page, f"done {label}")


def from_start_page(journey: Journey, username: str, count: str, disclosure) -> None:
    """The start page's count ("待我审核 1 条"), its filtered list, the record."""
    page = journey.phone(username)
    page.goto("/admin/")
    link = page.locator("#worklist a", has_text=count)
    expect(link).to_have_text(f"{count} 1 条")
    link.click()
    page.wait_for_url(re.compile(r"/admin/disclosure/disclosure/\?"))
    journey.check(page, f"list {count}")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name=journey.title).click()
    # The list's filter is kept (?_changelist_filters=…) for the way back.
    page.wait_for_url(
        re.compile(rf"/admin/disclosure/disclosure/{disclosure.pk}/change/")
    )
    journey.check(page, f"change, {username}")


def resident_reads_it(page, journey: Journey) -> None:
    # The board: the notice is on it, and on its printed sheet with the table.
    page.goto("/boards/wenli/")
    page.get_by_role("link", name=journey.title).click()
    expect(page.locator("h1")).to_contain_text(journey.title)
    assert page.locator("#preview-note").count() == 0
    the_table(page, journey)
    assert page_overflow(page) <= 0
    photo = page.locator(".attachment-list img")
    photo.scroll_into_view_if_needed()  # loading="lazy"
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") > 0
    assert axe_violations(page) == []
    page.goto("/boards/wenli/print/")
    captions = page.locator(".print-tables caption").all_inner_texts()
    assert any(c.startswith(journey.caption) for c in captions), captions


def test_editor_drafts_a_finance_table_on_a_phone_bodies_approve_resident_reads(
    demo, page, new_page, tmp_path
):
    period = Item.objects.get(code=ITEM).current_period(timezone.localdate())
    journey = Journey(new_page, period)
    disclosure = draft_from_template(journey, camera_photo(tmp_path), tmp_path)
    preview(journey, disclosure)
    take_step(journey, "wenli_editor", disclosure, "提交审核（提出）")
    from_start_page(journey, "wenli_supervisor", "待我审核", disclosure)
    take_step(
        journey, "wenli_supervisor", disclosure, "审核（含保密审查）", opened=True
    )
    from_start_page(journey, "wenli_approver", "待我审批", disclosure)
    take_step(journey, "wenli_approver", disclosure, "审批", opened=True)
    take_step(journey, "wenli_editor", disclosure, "发布")
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PUBLISHED
    final_screenshot(journey.pages["wenli_approver"], "admin-phone-approved")

    resident_reads_it(page, journey)
    final_screenshot(page, "admin-phone-resident-sees-it")
    assert journey.violations == {}, "\n".join(
        f"{where}: {problem}"
        for where, problems in journey.violations.items()
        for problem in problems
    )
