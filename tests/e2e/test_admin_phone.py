"""The back office on a phone (issue 18): at 360 px a village editor drafts a
村级财务收支明细 with a photo from the phone's camera, previews and submits
it; the village's bodies review and approve it at 360 px; a resident reads it.
axe-core runs on every back-office page of the journey.

Each step is a small function, so that a step can be added between two
(a spreadsheet table, the start page's counts) without rewriting the others.
"""

import re
from dataclasses import dataclass, field

import pytest
from PIL import Image
from playwright.sync_api import expect

from disclosure.models import Disclosure, Unit

from .conftest import PHONE
from .support import axe_violations, final_screenshot
from .test_journeys import log_in_to_admin

pytestmark = pytest.mark.e2e

TITLE = "文理村2011年10月村级财务收支明细"
ITEM = "CW01"  # 村级财务收支明细, monthly, public; 村务: the village publishes


@dataclass
class Journey:
    """What the steps share: the people's pages, and what axe found where."""

    new_page: object
    pages: dict = field(default_factory=dict)
    violations: dict = field(default_factory=dict)

    def phone(self, username: str):
        """The person's phone, logged in to the back office."""
        if username not in self.pages:
            page = self.new_page(PHONE)
            log_in_to_admin(page, username)
            self.check(page, "index")
            self.pages[username] = page
        return self.pages[username]

    def check(self, page, name: str) -> None:
        """axe on the page as it is now; kept, so that one run reports all."""
        found = axe_violations(page)
        if found:
            self.violations[f"{name} ({page.url})"] = found


def camera_photo(tmp_path):
    """A small JPEG, as a phone's camera hands it to the file input."""
    photo = tmp_path / "IMG_20111025_093000.jpg"
    Image.new("RGB", (800, 600), (90, 140, 60)).save(photo, "JPEG", quality=80)
    return photo


def choose_period(page, period: str) -> None:
    """所属期间: typed, or chosen from the item's periods where offered."""
    box = page.locator("#id_period")
    if box.evaluate("el => el.tagName") == "SELECT":
        box.select_option(period)
    else:
        box.fill(period)


def draft_with_photo(journey: Journey, photo) -> Disclosure:
    editor = journey.phone("wenli_editor")
    editor.goto("/admin/disclosure/disclosure/add/")
    journey.check(editor, "add")
    wenli = Unit.objects.get(slug="wenli")
    assert editor.locator("#id_unit").input_value() == str(wenli.pk)
    item = editor.locator("#id_item option", has_text=ITEM).first.inner_text()
    editor.locator("#id_item").select_option(label=item)
    editor.locator("#id_title").fill(TITLE)
    editor.locator("#id_body").fill(
        "收入：上级转移支付 12000 元。\n支出：村道维修 8000 元。"
    )
    choose_period(editor, "2011-10")
    editor.locator("#id_attachments-0-kind").select_option("photo")
    editor.locator("#id_attachments-0-title").fill("村道维修现场")
    editor.locator("#id_attachments-0-file").set_input_files(photo)
    editor.locator("input[name=_continue]").click()
    editor.wait_for_url(re.compile(r"/admin/disclosure/disclosure/\d+/change/$"))
    journey.check(editor, "change")
    disclosure = Disclosure.objects.get(title=TITLE)
    assert disclosure.attachments.filter(kind="photo").count() == 1
    return disclosure


def preview(journey: Journey, disclosure: Disclosure) -> None:
    editor = journey.phone("wenli_editor")
    editor.locator(".object-tools a", has_text="在站点上查看").click()
    editor.wait_for_url(f"**{disclosure.get_absolute_url()}")
    expect(editor.locator("#preview-note")).to_contain_text("预览")
    assert editor.locator("h1").inner_text().startswith(TITLE)
    editor.go_back()
    editor.wait_for_url(re.compile(r"/change/$"))


def take_step(journey: Journey, username: str, disclosure, label: str) -> None:
    """A workflow step from the record's page: its button, then its page."""
    page = journey.phone(username)
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


def resident_reads_it(page) -> None:
    page.goto("/boards/wenli/")
    page.get_by_role("link", name=TITLE).click()
    photo = page.locator(".attachment-list img")
    photo.scroll_into_view_if_needed()  # loading="lazy"
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") > 0


def test_editor_drafts_with_a_photo_and_bodies_approve_on_a_phone(
    demo, page, new_page, tmp_path
):
    journey = Journey(new_page)
    disclosure = draft_with_photo(journey, camera_photo(tmp_path))
    preview(journey, disclosure)
    take_step(journey, "wenli_editor", disclosure, "提交审核（提出）")
    take_step(journey, "wenli_supervisor", disclosure, "审核（含保密审查）")
    take_step(journey, "wenli_approver", disclosure, "审批")
    take_step(journey, "wenli_editor", disclosure, "发布")
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PUBLISHED
    final_screenshot(journey.pages["wenli_approver"], "admin-phone-approved")

    resident_reads_it(page)
    final_screenshot(page, "admin-phone-resident-sees-it")
    assert journey.violations == {}
