"""Keyboard only: the skip link, a visible focus ring on every stop, and the
回音壁 form filled in and sent with Tab, typing, Space and Enter; its Chinese
error messages tied to their fields."""

import pytest

from feedback.models import Submission

from .support import axe_violations, solve_challenge

pytestmark = pytest.mark.e2e

FOCUS_STYLE = """() => {
    const e = document.activeElement;
    const s = getComputedStyle(e);
    return {
        tag: e.tagName, id: e.id, text: (e.innerText || "").slice(0, 20),
        outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
        shadow: s.boxShadow,
    };
}"""


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until `selector` has the focus; every stop shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        assert focus["outline"] != "none" and focus["width"] >= 2, focus
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_skip_link_is_first_and_moves_focus_to_the_content(demo, desktop_page):
    page = desktop_page
    page.goto("/boards/wenli/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className").find("skip-link") >= 0
    assert skip.inner_text() == "跳到正文"
    box = skip.bounding_box()
    assert box and box["width"] > 20 and box["y"] >= 0  # on screen once focused

    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    # The next stop is inside the content, past the whole menu.
    assert page.evaluate(
        "document.querySelector('main').contains(document.activeElement)"
    )


def test_feedback_form_by_keyboard_only(demo, page, settings):
    settings.FEEDBACK_MIN_FORM_SECONDS = 0
    page.goto("/feedback/new/?unit=wenli")

    tab_to(page, "#id_kind")
    page.keyboard.press("ArrowDown")  # 意见 → the next kind
    page.keyboard.press("ArrowDown")
    tab_to(page, "#id_title")
    page.keyboard.type("村道路灯何时修好")
    tab_to(page, "#id_text")
    page.keyboard.type("三组到五组的路灯坏了两个月，晚上出行不便。")
    tab_to(page, "#id_consent_to_publish")
    page.keyboard.press("Space")
    tab_to(page, "#id_challenge")
    label = page.locator("label[for=id_challenge]").inner_text()
    page.keyboard.type(solve_challenge(label))
    tab_to(page, "form.feedback-form button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_url("**/feedback/thanks/")
    code = page.locator(".tracking-code").inner_text().strip()
    submission = Submission.objects.get(tracking_code=code)
    assert submission.title == "村道路灯何时修好"
    assert submission.unit.slug == "wenli" and submission.consent_to_publish
    assert page.evaluate("document.activeElement === document.body")


def test_form_errors_are_in_chinese_and_tied_to_their_fields(demo, page):
    before = Submission.objects.count()
    page.goto("/feedback/new/?unit=wenli")
    tab_to(page, "#id_title")
    page.keyboard.press("Enter")  # sends the empty form

    page.wait_for_selector(".alert-danger")
    expected = {"id_kind": "请选择类型。", "id_title": "请填写标题。"}
    expected |= {"id_text": "请填写内容。", "id_challenge": "请填写计算结果。"}
    for field_id, message in expected.items():
        field = page.locator(f"#{field_id}")
        assert field.get_attribute("aria-invalid") == "true", field_id
        described = field.get_attribute("aria-describedby") or ""
        texts = [page.locator(f"#{i}").inner_text() for i in described.split()]
        assert any(message in t for t in texts), (field_id, described, texts)
    assert Submission.objects.count() == before
    assert axe_violations(page) == []
