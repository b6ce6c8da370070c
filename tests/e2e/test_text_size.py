"""Text size steps (标准 / 大 / 特大) and the phone layout of every public page
type at 360 px: text, line and paragraph spacing, touch targets, no sideways
scrolling (tests/e2e/support.py LAYOUT_CHECKS; README "Accessibility")."""

import pytest

from .conftest import DESKTOP, PHONE
from .support import axe_violations, layout_problems, public_pages
from .test_accessibility import PAGE_TYPES as AXE_PAGE_TYPES

pytestmark = pytest.mark.e2e

STEPS = {"标准": None, "大": "1", "特大": "2"}


def font_size(page, selector: str) -> float:
    return page.eval_on_selector(
        selector, "e => parseFloat(getComputedStyle(e).fontSize)"
    )


def set_step(page, live_server, value) -> None:
    if value is None:
        page.context.clear_cookies(name="elder")
    else:
        page.context.add_cookies(
            [{"name": "elder", "value": value, "url": live_server.url}]
        )


# A form with its error messages (crispy's invalid-feedback), a 400, and the
# page types public_pages() leaves out (those it lists later are not checked
# twice: `extra_pages`).
FORM_ERRORS = "/compliance/?year=abc&as_of=2011-13-01"
MORE_PAGES = {
    "form_errors": (FORM_ERRORS, 400),
    "not_found": ("/boards/no-such-village/", 404),
    "county": ("/county/?year=2011", 200),
    "reports": ("/reports/", 200),
    "follow": ("/follow/", 200),
    "follow_bad_link": ("/follow/confirm/no-such-token/", 404),
    "search_none": ("/search/?q=没有这样的内容", 200),
    "board_print": ("/boards/wenli/print/", 200),
    "feedback_sheet": ("/feedback/print/wenli/2011-08/", 200),
    "apply": ("/yishenqing/", 200),
    "apply_track_form": ("/yishenqing/track/", 200),
    "gov_guide": ("/guide/", 200),
    "affairs_guide": ("/guide/affairs/", 200),
    "gov_report": ("/reports/gov/fengming/2011/", 200),
    "sheet_bad_month": ("/feedback/print/wenli/2011-13/", 400),
}


def extra_pages() -> dict[str, tuple[str, int]]:
    from govinfo.models import InfoRequest

    listed = set(public_pages().values())
    answered = InfoRequest.objects.filter(status=InfoRequest.Status.ANSWERED)
    code = answered.first().code
    pages = MORE_PAGES | {
        "apply_tracking": (f"/yishenqing/track/{code}/", 200),
        "apply_letter": (f"/yishenqing/track/{code}/letter/", 200),
    }
    return {name: page for name, page in pages.items() if page[0] not in listed}


# Forms sent back with their errors: filled as a visitor would, then sent.
def feedback_form_with_errors(page):
    page.goto("/feedback/new/?unit=wenli")
    page.locator("#id_title").fill("路灯")
    with page.expect_navigation():
        page.locator("form.feedback-form button[type=submit]").click()
    page.wait_for_selector(".invalid-feedback")


def login_with_errors(page):
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("nobody")
    page.get_by_label("密码").fill("not-the-password")
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    page.wait_for_selector(".alert-danger, .errorlist, .invalid-feedback")


def apply_form_with_errors(page):
    page.goto("/yishenqing/")
    with page.expect_navigation():
        page.locator("main form [type=submit]").last.click()
    page.wait_for_selector(".invalid-feedback, .alert-danger")


SENT_FORMS = {
    "feedback_form_errors": feedback_form_with_errors,
    "login_errors": login_with_errors,
    "apply_errors": apply_form_with_errors,
}


@pytest.mark.parametrize("step", STEPS)
def test_every_page_type_meets_the_layout_rules_in_each_step(
    demo, page, live_server, step
):
    set_step(page, live_server, STEPS[step])
    problems = {}
    pages = {name: (url, 200) for name, url in public_pages().items()} | extra_pages()
    for name, (url, status) in pages.items():
        assert page.goto(url).status == status, name
        check_layout(page, name, step, problems)
    for name, send in SENT_FORMS.items():
        send(page)
        check_layout(page, name, step, problems)
    assert problems == {}, "\n".join(
        f"{name}: {problem}" for name, found in problems.items() for problem in found
    )


def check_layout(page, name: str, step: str, problems: dict) -> None:
    elder = step != "标准"
    assert (page.locator("html.elder").count() == 1) is elder, name
    nav = page.get_by_role("navigation", name="主导航")
    if elder and nav.count():  # not on the print pages
        # The menu open without a button, headings larger than the text.
        assert nav.get_by_role("link", name="回音壁").is_visible(), name
        assert font_size(page, "h1") > font_size(page, "body") >= 18, name
    found = layout_problems(page, elder=elder)
    # axe here on the pages test_accessibility.py does not visit, in the
    # smallest and largest steps (大 lies between: its time is saved).
    if name not in AXE_PAGE_TYPES and step != "大":
        found += [f"axe {v}" for v in axe_violations(page)]
    if found:
        problems[name] = found


def test_the_size_form_switches_steps_without_javascript(demo, new_page):
    page = new_page(PHONE, java_script_enabled=False)
    page.goto("/catalog/")
    size = page.locator("form.text-size")
    assert size.get_by_role("button", name="标准").get_attribute("aria-pressed") == (
        "true"
    )
    body = 16
    for step, html_class in [("大", "elder"), ("特大", "elder-xl")]:
        size.get_by_role("button", name=step, exact=True).click()
        page.wait_for_selector(f"html.{html_class}")
        # The class is there as soon as the new page is parsed; its style
        # sheet may still be loading (a busy machine).
        page.wait_for_load_state("load")
        assert page.url.endswith("/catalog/")
        larger = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert larger > body
        body = larger
        button = size.get_by_role("button", name=step, exact=True)
        assert button.get_attribute("aria-pressed") == "true"
    size.get_by_role("button", name="标准").click()
    page.wait_for_url("**/catalog/")
    assert page.locator("html.elder").count() == 0


@pytest.mark.parametrize("name", ["catalog", "wall_item"])
def test_largest_step_has_no_wcag_violations(demo, page, live_server, name):
    set_step(page, live_server, "2")
    assert page.goto(public_pages()[name]).status == 200
    assert page.locator("html.elder-xl").count() == 1
    assert axe_violations(page) == []


MENU = ["公开栏", "公开情况", "搜索", "党员登录"]


def test_the_phone_menu_opens_without_javascript_on_every_page(demo, new_page):
    page = new_page(PHONE, java_script_enabled=False)
    urls = [*public_pages().values(), *(url for url, _ in extra_pages().values())]
    for name in urls:
        page.goto(name)
        nav = page.get_by_role("navigation", name="主导航")
        if not nav.count():  # a print page: no menu
            continue
        assert not nav.get_by_role("link", name="公开栏").is_visible(), name
        nav.locator("summary", has_text="菜单").click()
        for label in MENU:
            assert nav.get_by_role("link", name=label).is_visible(), (name, label)
    page.goto("/")
    nav.locator("summary", has_text="菜单").click()
    nav.get_by_role("link", name="公开情况").click()
    page.wait_for_url("**/compliance/")


def test_a_member_logs_in_and_out_from_the_phone_menu_without_javascript(
    demo, new_page
):
    page = new_page(PHONE, java_script_enabled=False)
    page.goto("/boards/wenli/")
    nav = page.get_by_role("navigation", name="主导航")
    nav.locator("summary").click()
    nav.get_by_role("link", name="党员登录").click()
    page.get_by_label("用户名").fill("party_member")
    page.get_by_label("密码").fill("fengming-party-2011")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/boards/wenli/")
    nav.locator("summary").click()
    nav.get_by_role("button", name="退出").click()
    page.wait_for_load_state()
    nav.locator("summary").click()
    assert nav.get_by_role("link", name="党员登录").is_visible()


def ax_roles(page) -> set[str]:
    """The roles in chromium's own accessibility tree (what a screen reader
    gets), not Playwright's reading of the markup."""
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    return {node.get("role", {}).get("value") for node in nodes}


@pytest.mark.parametrize("name", ["catalog", "compliance", "compliance_unit"])
def test_tables_become_cards_on_a_phone_and_stay_tables(demo, new_page, name):
    page = new_page(PHONE)
    page.goto(public_pages()[name])
    table = page.locator("table.stack-table").first
    assert table.locator("caption").count() == 1
    rows = table.locator("tbody tr")
    assert rows.count() > 0
    assert rows.count() == table.locator("tbody tr > th[scope=row]").count()
    cells = table.locator("tbody td")
    assert cells.count() == table.locator("tbody td[data-label]").count()
    assert rows.first.evaluate("e => getComputedStyle(e).display") == "block"
    label = cells.first.evaluate(
        "e => getComputedStyle(e, '::before').content.split(' / ')[0]"
    )
    assert cells.first.get_attribute("data-label") in label
    assert {"table", "row", "rowheader", "cell"} <= ax_roles(page)

    page.set_viewport_size(DESKTOP)
    assert rows.first.evaluate("e => getComputedStyle(e).display") == "table-row"


def test_charts_are_legible_where_drawn_and_tables_on_a_phone(demo, new_page):
    page = new_page(DESKTOP)
    page.goto(public_pages()["stats"])
    charts = page.locator(".stats-chart svg")
    assert charts.count() > 0 and charts.first.is_visible()
    assert [p for p in layout_problems(page, elder=False) if "chart" in p] == []
    sizes = page.eval_on_selector_all(
        ".stats-chart text",
        "all => all.map(t => parseFloat(getComputedStyle(t).fontSize)"
        " * t.getScreenCTM().a)",
    )
    assert min(sizes) >= 12

    page.set_viewport_size(PHONE)
    assert not charts.first.is_visible()
    assert page.locator(".stats-figure table").first.is_visible()
