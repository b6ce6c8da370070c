"""Helpers shared by the browser tests (no fixtures here: see conftest.py)."""

import os
import re
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
IN_CI = os.environ.get("CI", "").lower() == "true"
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA, as axe-core tags its rules.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_URL = "/__e2e__/axe.min.js"


def save_screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "_", name)
    try:
        page.screenshot(path=ARTIFACTS / f"{safe}.png", full_page=True)
    except Exception:  # a crashed page must not hide the test's own failure
        pass


def final_screenshot(page, name: str) -> None:
    """In CI, keep each journey's last page as an artefact."""
    if IN_CI:
        save_screenshot(page, name)


def serve_axe(context) -> None:
    """Answer AXE_URL on the portal's own origin with the vendored axe-core.

    The pages' CSP allows scripts from 'self' only, and Playwright's
    add_script_tag(path=…) injects an inline script that the CSP blocks; a
    routed same-origin URL keeps the CSP on while the tests run.
    """
    body = AXE_JS.read_bytes()
    context.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(
            body=body, content_type="application/javascript; charset=utf-8"
        ),
    )


def axe_violations(page) -> list[str]:
    """Run axe-core on the current page; one line per failing rule and node."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    violations = page.evaluate(
        """async (tags) => {
            // Colours as they settle: a button just clicked is still fading
            // (Bootstrap's .15s transitions), and axe measured a mid-fade
            // background on a loaded machine.
            await Promise.all(document.getAnimations()
                .filter((a) => a.effect.getComputedTiming().endTime !== Infinity)
                .map((a) => a.finished.catch(() => null)));
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            });
            return result.violations;
        }""",
        AXE_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} @ {node['target']} "
        f"{node.get('failureSummary', '')}".replace("\n", " ")
        for v in violations
        for node in v["nodes"]
    ]


def solve_challenge(label: str) -> str:
    """The feedback form's "验证：四加九等于几？" answered as digits."""
    numerals = "零一二三四五六七八九"
    match = re.search(r"验证：(.)加(.)等于几", label)
    assert match, label
    return str(numerals.index(match[1]) + numerals.index(match[2]))


def public_pages() -> dict[str, str]:
    """One URL of every public page type, in the demo town (`seed_demo`)."""
    from django.contrib.auth.models import AnonymousUser

    from disclosure.models import Disclosure
    from feedback.models import Submission

    disclosure = (
        Disclosure.objects.visible_to(AnonymousUser())
        .filter(unit__slug="wenli")
        .order_by("-published_at")
        .first()
    )
    answered = Submission.objects.published().filter(answered_at__isnull=False)
    return {
        "home": "/",
        "catalog": "/catalog/",
        "catalog_item": f"/catalog/{disclosure.item.code}/",
        "boards": "/boards/",
        "board": "/boards/wenli/",
        "disclosure": disclosure.get_absolute_url(),
        "list_filtered": "/disclosures/?unit=wenli&kind=party&period=2011-08",
        "wall": "/feedback/?unit=wenli",
        "wall_item": answered.first().get_absolute_url(),
        "feedback_form": "/feedback/new/?unit=wenli",
        "track_form": "/feedback/track/",
        "tracking": f"/feedback/track/{answered.first().tracking_code}/",
        "search": "/search/?q=防火",
        "stats": "/stats/?year=2011",
        "compliance": "/compliance/?year=2011&as_of=2011-10-01",
        "compliance_unit": "/compliance/wenli/?year=2011&as_of=2011-10-01",
        "report": "/reports/fengming/2011/",
        "login": "/accounts/login/",
        # 依申请公开 and the 政府信息公开 pages (issue 21); the demo's answered
        # application of 2011 (govinfo/data/demo_govinfo.json).
        "govinfo_form": "/yishenqing/",
        "govinfo_track_form": "/yishenqing/track/",
        "govinfo_tracking": "/yishenqing/track/SQ2011A002/",
        "gov_guide": "/guide/",
        "affairs_guide": "/guide/affairs/",
        "gov_report": "/reports/gov/2011/",
    }


LAYOUT_JS = Path(__file__).resolve().parent / "layout_checks.js"


def layout_problems(page, *, elder: bool) -> list[str]:
    """The MIIT 适老化 and WCAG 2.2 layout rules on the current page
    (layout_checks.js): text size, line and paragraph spacing, targets and
    overflow; one line per problem."""
    return page.evaluate(LAYOUT_JS.read_text(encoding="utf-8"), elder)
