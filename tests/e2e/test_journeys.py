"""Three journeys, in a real browser, as people use the portal."""

import re

import pytest
from django.contrib.auth import get_user_model
from PIL import Image
from playwright.sync_api import expect

from catalog.models import Item
from disclosure.models import Disclosure, Unit
from feedback.models import Submission

from .conftest import DESKTOP
from .support import final_screenshot, solve_challenge

pytestmark = pytest.mark.e2e

DEMO_PASSWORDS = {
    "wenli_editor": "fengming-wenli-2011",
    "reviewer": "fengming-review-2011",
    "wenli_supervisor": "fengming-wenli-supervise-2011",
    "wenli_approver": "fengming-wenli-approve-2011",
    "party_member": "fengming-party-2011",
}


def open_menu(page) -> None:
    """On a phone the header's menu sits behind its 菜单 (a <details>)."""
    toggler = page.locator("summary.site-menu-toggle")
    if toggler.is_visible():
        toggler.click()
        page.locator("#site-nav").wait_for()


def test_resident_reads_a_board_searches_and_reads_an_answer(demo, page):
    page.goto("/")
    page.locator(".board-grid a", has_text="文理村").click()

    page.wait_for_url("**/boards/wenli/")
    assert "文理村党务村务公开栏" in page.locator("h1").inner_text()
    entry = page.locator(".board .disclosure-entry a").first
    title = entry.inner_text()
    entry.click()

    page.wait_for_url(re.compile(r"/disclosures/\d+/$"))
    assert page.locator("h1").inner_text().startswith(title)
    open_menu(page)
    page.get_by_role("link", name="搜索", exact=True).click()
    page.get_by_label("检索词").fill("防火")
    page.get_by_label("检索词").press("Enter")

    page.wait_for_url("**/search/?q=*")
    assert page.locator(".search-results mark", has_text="防火").count() > 0
    wall_hit = page.locator(".search-results li", has_text="回音壁").first
    question = wall_hit.locator("a.hit-title").inner_text()
    wall_hit.locator("a.hit-title").click()

    page.wait_for_url(re.compile(r"/feedback/\d+/$"))
    assert page.locator("h1").inner_text() == question
    answer = page.locator(".answer-box")
    assert answer.is_visible() and "答复" in answer.inner_text()
    final_screenshot(page, "journey-1-resident-reads-answer")


def fill_question(page, title: str, text: str) -> None:
    page.get_by_label("类型").select_option(label="咨询")
    page.get_by_label("所涉单位").select_option(label="文理村")
    page.get_by_label("标题").fill(title)
    page.get_by_role("textbox", name="内容").fill(text)
    page.get_by_label("同意在回音壁公开我的问题").check()
    label = page.locator("label[for=id_challenge]").inner_text()
    page.locator("#id_challenge").fill(solve_challenge(label))


def slow_network(page, *, latency_ms: int) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )


def test_resident_asks_tracks_and_a_double_click_sends_once(demo, page, settings):
    settings.FEEDBACK_MIN_FORM_SECONDS = 0
    page.goto("/feedback/")
    page.get_by_role("link", name="我要提意见").click()
    fill_question(page, "抗旱补助何时发放", "请问今年抗旱救灾的补助什么时候发放？")
    page.get_by_role("button", name="提交").click()

    page.wait_for_url("**/feedback/thanks/")
    code = page.locator(".tracking-code").inner_text().strip()
    assert re.fullmatch(r"[A-HJ-KM-NP-Z2-9]{8}", code)

    # Later: the resident looks the code up from the 回音壁.
    page.goto("/feedback/")
    page.get_by_role("link", name="查询办理情况").click()
    page.get_by_label("查询码").fill(code.lower())
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(f"**/feedback/track/{code}/")
    assert "抗旱补助何时发放" in page.locator("main").inner_text()

    # A double-click on 提交 over a slow rural line: the second click comes
    # while the first post is on its way, and the browser posts again.
    # (Chromium merges two clicks within one task into one post, so the test
    # waits for the first post to leave before clicking again.)
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.goto("/feedback/new/?unit=wenli")
    fill_question(page, "抗旱补助标准是多少", "请问抗旱救灾补助按什么标准发放？")
    slow_network(page, latency_ms=800)
    box = page.get_by_role("button", name="提交").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    with page.expect_request(lambda r: r.method == "POST"):
        page.mouse.click(x, y)
    page.mouse.click(x, y)
    # The first navigation is aborted by the second: poll the address.
    expect(page).to_have_url(re.compile(r"/feedback/(thanks|track/\w+)/$"))
    assert len(posts) == 2
    saved = Submission.objects.get(title="抗旱补助标准是多少")
    page.wait_for_selector(f"main >> text={saved.tracking_code}")
    final_screenshot(page, "journey-2-resident-double-click")


def log_in_to_admin(page, username: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(DEMO_PASSWORDS[username])
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")


def step(page, label: str) -> None:
    """One workflow step: the button under object tools, then its page."""
    page.locator(".object-tools a", has_text=label).click()
    page.locator("input[type=submit]").click()
    page.wait_for_selector(f".messagelist >> text=已完成：{label}")


def test_village_drafts_supervisor_reviews_two_committees_approve_all_read(
    demo, page, new_page, tmp_path
):
    photo = tmp_path / "cundao.png"
    Image.new("RGB", (640, 480), (90, 140, 60)).save(photo)
    item = Item.objects.get(code="CW01")  # 村级财务收支明细, monthly, public
    title = "文理村2011年10月村级财务收支明细"

    editor = new_page(DESKTOP)
    log_in_to_admin(editor, "wenli_editor")
    editor.goto("/admin/disclosure/disclosure/add/")
    # The one village the editor writes for is chosen already; the item is
    # picked from the catalog's list by its code and name.
    wenli = Unit.objects.get(name="文理村")
    assert editor.locator("#id_unit").input_value() == str(wenli.pk)
    editor.locator("#id_item").select_option(label=f"{item.code} {item.name}")
    editor.locator("#id_title").fill(title)
    editor.locator("#id_body").fill(
        "收入：上级转移支付 12000 元。\n支出：村道维修 8000 元。"
    )
    # The period is chosen: the year, then the month the item allows.
    editor.locator("#id_period_0").select_option("2011")
    editor.locator("#id_period_1").select_option("10")
    editor.locator("#id_attachments-0-kind").select_option("photo")
    editor.locator("#id_attachments-0-title").fill("村道维修现场")
    editor.locator("#id_attachments-0-file").set_input_files(photo)
    editor.locator("input[name=_continue]").click()
    editor.wait_for_url(re.compile(r"/admin/disclosure/disclosure/\d+/change/$"))
    step(editor, "提交审核（提出）")
    disclosure = Disclosure.objects.get(title=title)
    assert disclosure.status == Disclosure.Status.SUBMITTED

    # 村务: the 村务监督委员会 reviews, first forgetting the secrecy review.
    supervisor = new_page(DESKTOP)
    log_in_to_admin(supervisor, "wenli_supervisor")
    supervisor.goto(f"/admin/disclosure/disclosure/{disclosure.pk}/change/")
    supervisor.locator(".object-tools a", has_text="审核（含保密审查）").click()
    supervisor.locator("input[type=submit]").click()
    # The browser holds the form back until the box is ticked (the server
    # refuses it too: tests/disclosure/test_procedure.py).
    secrecy = supervisor.get_by_label("已进行保密审查")
    assert secrecy.evaluate("box => box.validity.valueMissing")
    assert "/transition/review/" in supervisor.url
    secrecy.check()
    supervisor.locator("input[type=submit]").click()
    supervisor.wait_for_selector(".messagelist >> text=已完成：审核（含保密审查）")

    # The 村两委 approves; the village publishes its own affairs.
    approver = new_page(DESKTOP)
    log_in_to_admin(approver, "wenli_approver")
    approver.goto(f"/admin/disclosure/disclosure/{disclosure.pk}/change/")
    step(approver, "审批")
    editor.goto(f"/admin/disclosure/disclosure/{disclosure.pk}/change/")
    step(editor, "发布")
    final_screenshot(editor, "journey-3-village-published")

    # The resident, on a phone, finds it on the board with its photo.
    page.goto("/boards/wenli/")
    page.get_by_role("link", name=title).click()
    photo_shown = page.locator(".attachment-list img")
    photo_shown.scroll_into_view_if_needed()  # loading="lazy"
    expect(photo_shown).to_have_js_property("complete", True)
    assert photo_shown.evaluate("img => img.naturalWidth") > 0
    final_screenshot(page, "journey-3-resident-sees-it")

    # A 党内 notice: on the party member's board, not on the resident's (the
    # demo's are of 2011, off the current board: the board of their period).
    party_member = get_user_model().objects.get(username="party_member")
    inner = (
        Disclosure.objects.visible_to(party_member)
        .filter(unit__slug="wenli", scope="inner")
        .information()
        .latest("published_at")
    )
    board = f"/boards/wenli/?period={inner.period}"
    member = new_page()
    member.goto("/accounts/login/")
    member.get_by_label("用户名").fill("party_member")
    member.get_by_label("密码").fill(DEMO_PASSWORDS["party_member"])
    member.get_by_role("button", name="登录").click()
    member.wait_for_url("**/")
    member.goto(board)
    assert member.get_by_role("link", name=inner.title).count() == 1
    final_screenshot(member, "journey-3-party-member-board")

    page.goto(board)
    assert page.get_by_role("link", name=inner.title).count() == 0
    assert page.goto(inner.get_absolute_url()).status == 404
