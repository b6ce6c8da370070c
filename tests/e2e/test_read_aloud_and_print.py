"""Issue 19 in the browser: the 朗读 control (speech synthesis, added by
script only where the browser has it) on disclosure and 回音壁 pages; the
printed board and 回音壁 sheet, and the error pages, on a 360 px phone."""

import pytest

from .conftest import PHONE
from .support import axe_violations, public_pages

pytestmark = pytest.mark.e2e

READ = "朗读全文"
# A stand-in for the browser's speech synthesis that records what it is asked.
FAKE_SPEECH = """
window.__speech = {spoken: [], calls: []};
const fake = {
  speak(u) { window.__speech.spoken.push({text: u.text, lang: u.lang}); },
  pause() { window.__speech.calls.push("pause"); },
  resume() { window.__speech.calls.push("resume"); },
  cancel() { window.__speech.calls.push("cancel"); },
  getVoices() { return []; },
};
Object.defineProperty(
  window, "speechSynthesis", {get: () => fake, configurable: true}
);
"""
NO_SPEECH = """
Object.defineProperty(
  window, "speechSynthesis", {get: () => undefined, configurable: true}
);
"""


@pytest.mark.parametrize("name", ["disclosure", "wall_item"])
def test_read_aloud_button_where_the_browser_speaks(demo, page, name):
    # Debian's headless chromium has window.speechSynthesis.
    assert page.goto(public_pages()[name]).status == 200
    assert page.evaluate("'speechSynthesis' in window")
    assert page.get_by_role("button", name=READ).count() == 1
    assert page.get_by_role("group", name="朗读").count() == 1
    assert axe_violations(page) == []


def test_no_read_aloud_button_without_javascript_or_speech(demo, new_page):
    url = public_pages()["disclosure"]
    no_script = new_page(PHONE, java_script_enabled=False)
    no_script.goto(url)
    assert no_script.locator("main button").count() == 0
    assert no_script.get_by_text(READ).count() == 0
    no_speech = new_page(PHONE)
    no_speech.add_init_script(NO_SPEECH)
    no_speech.goto(url)
    assert no_speech.locator(".read-aloud").count() == 0


def test_read_aloud_reads_title_and_body_in_chinese_with_pause_and_stop(
    demo, page, live_server
):
    from disclosure.models import Disclosure

    page.add_init_script(FAKE_SPEECH)
    url = public_pages()["disclosure"]
    disclosure = Disclosure.objects.get(pk=int(url.rstrip("/").rsplit("/", 1)[1]))
    page.goto(url)
    page.get_by_role("button", name=READ).click()
    spoken = page.evaluate("window.__speech.spoken")
    text = "".join(piece["text"] for piece in spoken)
    assert {piece["lang"] for piece in spoken} == {"zh-CN"}
    assert disclosure.title in text
    first_sentence = disclosure.body.split("。")[0].strip()
    assert first_sentence in text.replace(" ", "")
    assert "索引号" not in text  # the page's facts are not read, its text is

    page.get_by_role("button", name="暂停朗读").click()
    page.get_by_role("button", name="继续朗读").click()
    stop = page.get_by_role("button", name="停止朗读")
    stop.click()
    assert page.evaluate("window.__speech.calls").count("cancel") >= 2
    assert page.evaluate("window.__speech.calls")[1:3] == ["pause", "resume"]
    assert page.get_by_role("button", name=READ).is_visible()
    assert not stop.is_visible()

    # 长辈模式: every control of it at least 44×44 CSS px.
    page.context.add_cookies([{"name": "elder", "value": "1", "url": live_server.url}])
    page.reload()
    page.get_by_role("button", name=READ).click()
    for button in page.locator(".read-aloud button").all():
        box = button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, box
    assert axe_violations(page) == []


PRINTS = ["/boards/wenli/print/", "/feedback/print/wenli/2011-08/"]


@pytest.mark.parametrize("url", PRINTS)
def test_printed_board_and_sheet_fit_a_phone_without_violations(demo, page, url):
    assert page.goto(url).status == 200
    assert page.locator("main").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    assert axe_violations(page) == []


def test_error_pages_fit_a_phone_without_violations(demo, page):
    assert page.goto("/boards/nowhere/").status == 404
    pages = {"404": axe_violations(page)}
    assert page.goto("/disclosures/?q=%00").status == 400
    pages["400"] = axe_violations(page)
    # 403: a form sent without its CSRF token (the cookie and the field gone).
    page.goto("/accounts/login/")
    page.context.clear_cookies()
    page.locator("input[name=csrfmiddlewaretoken]").evaluate("e => e.remove()")
    page.get_by_label("用户名").fill("someone")
    page.get_by_label("密码").fill("not-a-password")
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        page.get_by_role("button", name="登录").click()
    assert sent.value.status == 403
    page.wait_for_load_state()
    assert "无权访问" in page.content()
    pages["403"] = axe_violations(page)
    assert pages == {"404": [], "400": [], "403": []}
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
