"""Issue 19 as deployed: production's settings (deploy/env.example: DEBUG off,
HTTPS behind nginx's headers, the page cache and gzip on) and the static
files `collectstatic` wrote (hashed names, their manifest, served by
whitenoise inside Django): the phone menu, the text size form and 朗读 in a
real browser; and the size control and menu by keyboard alone."""

import pytest
from django.core.handlers.wsgi import WSGIHandler

from core import caching
from tests.deployed import apply_deployed_settings

from .conftest import PHONE
from .support import public_pages
from .test_read_aloud_and_print import FAKE_SPEECH

pytestmark = pytest.mark.e2e


@pytest.fixture
def deployed(settings, live_server, collected_static):
    """The live server answering as production does: the whole middleware
    stack (whitenoise serving the collected files, not the test server's
    finders), behind nginx's HTTPS header (sent by the browser here)."""
    apply_deployed_settings(settings)
    settings.STATIC_ROOT = collected_static
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        },
    }
    # The live server's own name, besides the production host.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost", "127.0.0.1"]
    caching.reset_local()
    httpd = live_server.thread.httpd
    test_app = httpd.get_app()
    httpd.set_app(WSGIHandler())  # built now: with the settings above
    yield {"X-Forwarded-Proto": "https"}
    httpd.set_app(test_app)


def watch(page) -> dict:
    """Every failed response and every console error (a CSP refusal, a
    missing hashed file) while the page is used."""
    seen = {"failed": [], "console": [], "encodings": {}}
    page.on(
        "response",
        lambda r: (
            seen["failed"].append(f"{r.status} {r.url}")
            if r.status >= 400
            else seen["encodings"].__setitem__(
                r.url, r.headers.get("content-encoding", "")
            )
        ),
    )
    page.on(
        "console",
        lambda m: seen["console"].append(m.text) if m.type == "error" else None,
    )
    return seen


def test_menu_size_form_and_read_aloud_work_as_deployed(demo, new_page, deployed):
    page = new_page(PHONE, extra_http_headers=deployed)
    page.add_init_script(FAKE_SPEECH)
    seen = watch(page)
    board = "/boards/wenli/"
    assert page.goto(board).status == 200
    assert seen["encodings"][page.url] == "gzip"

    nav = page.get_by_role("navigation", name="主导航")
    assert not nav.get_by_role("link", name="公开栏").is_visible()
    nav.locator("summary").click()
    assert nav.get_by_role("link", name="公开栏").is_visible()

    size = page.locator("form.text-size")
    for step, html_class in [("大", "elder"), ("特大", "elder-xl")]:
        size.get_by_role("button", name=step, exact=True).click()
        page.wait_for_selector(f"html.{html_class}")
        assert page.url.endswith(board)
        # The page cache keys on the step: the next visit, a hit, keeps it.
        response = page.reload()
        assert response.headers.get("x-page-cache") == "hit"
        assert page.locator(f"html.{html_class}").count() == 1
    size.get_by_role("button", name="标准").click()
    page.wait_for_url(f"**{board}")
    assert page.locator("html.elder").count() == 0

    page.goto(public_pages()["disclosure"])
    # The manifest's hashed names (name.hash.ext), served by whitenoise.
    files = page.eval_on_selector_all(
        "script[src], link[rel=stylesheet]", "all => all.map(e => e.src || e.href)"
    )
    assert any("read_aloud." in url for url in files)
    for url in files:
        assert url.rsplit("/", 1)[1].count(".") >= 2, url
    page.get_by_role("button", name="朗读全文").click()
    assert page.evaluate("window.__speech.spoken.length") > 0
    page.get_by_role("button", name="停止朗读").click()
    assert seen["failed"] == [] and seen["console"] == []


def test_the_size_control_and_the_menu_by_keyboard_alone(demo, page):
    page.goto("/catalog/")
    # The menu's toggle: a named disclosure whose state is announced.
    summary = page.locator("nav summary")
    assert summary.inner_text().strip() == "菜单"
    assert ax_expanded(page, "菜单") is False
    summary.focus()
    page.keyboard.press("Enter")
    assert ax_expanded(page, "菜单") is True
    assert page.get_by_role("link", name="公开栏").is_visible()
    page.keyboard.press("Space")
    assert ax_expanded(page, "菜单") is False

    # From the top of the page: Tab to 大, Enter; then to 标准, Space.
    page.reload()
    page.keyboard.press("Tab")  # the skip link
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "大":
            break
    else:
        raise AssertionError("Tab never reached 大")
    page.keyboard.press("Enter")
    page.wait_for_selector("html.elder")
    assert page.url.endswith("/catalog/")
    size = page.locator("form.text-size")
    assert size.get_by_role("button", name="大", exact=True).get_attribute(
        "aria-pressed"
    ) == ("true")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "标准"
    page.keyboard.press("Space")
    page.wait_for_selector("html:not(.elder)", state="attached")
    assert size.get_by_role("button", name="标准").get_attribute("aria-pressed") == (
        "true"
    )


def ax_expanded(page, name: str) -> bool | None:
    """The `expanded` state chromium's accessibility tree gives the node
    named `name` (what a screen reader announces)."""
    session = page.context.new_cdp_session(page)
    for node in session.send("Accessibility.getFullAXTree")["nodes"]:
        if node.get("name", {}).get("value") == name and node.get("role", {}).get(
            "value"
        ) in {"DisclosureTriangle", "button"}:
            for prop in node.get("properties", []):
                if prop["name"] == "expanded":
                    return prop["value"]["value"]
            return None
    raise AssertionError(f"no control named {name}")
