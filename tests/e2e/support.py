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
    }


# What the MIIT 《互联网网站适老化通用设计规范》 and WCAG 2.2 ask of a page's
# layout, measured in the browser: one line per problem (README "Accessibility").
LAYOUT_CHECKS = """(elder) => {
  const problems = [];
  const name = (el) => {
    const cls = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    const text = (el.textContent || el.value || "").trim().replace(/\\s+/g, " ");
    return `${el.tagName.toLowerCase()}${cls} "${text.slice(0, 24)}"`;
  };
  const hidden = (el) => el.closest(".visually-hidden, .visually-hidden-focusable, title, desc, script, style, option");

  // Text: size (elder steps: at least 18 px as drawn) and line height (1.3).
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el) || hidden(el)) continue;
    seen.add(el);
    const range = document.createRange();
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;  // not rendered
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize);
    const drawn = el instanceof SVGElement ? size * el.getScreenCTM().a : size;
    if (elder && drawn < 17.95) problems.push(`text ${drawn.toFixed(1)}px: ${name(el)}`);
    if (!elder && el instanceof SVGElement && drawn < 11.95) problems.push(`chart text ${drawn.toFixed(1)}px: ${name(el)}`);
    if (!(el instanceof SVGElement)) {
      const line = style.lineHeight === "normal" ? 1.2 * size : parseFloat(style.lineHeight);
      if (line / size < 1.295) problems.push(`line-height ${(line / size).toFixed(2)}: ${name(el)}`);
    }
  }

  // Paragraph spacing: from one paragraph's last line to the next one's first,
  // at least 1.3 times the line spacing.
  for (const p of document.querySelectorAll("main p + p")) {
    const before = p.previousElementSibling.getBoundingClientRect();
    const after = p.getBoundingClientRect();
    if (!before.height || !after.height) continue;
    const line = parseFloat(getComputedStyle(p).lineHeight);
    const spacing = after.top - before.bottom + line;
    if (spacing < 1.3 * line - 0.5) problems.push(`paragraph spacing ${(spacing / line).toFixed(2)}: ${name(p)}`);
  }

  // Targets: 44×44 in the elder steps; else 24×24 or spaced (WCAG 2.5.8),
  // links in a sentence excepted. A checkbox's target includes its label.
  const targets = [];
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    if (hidden(el)) continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (["checkbox", "radio"].includes(el.type)) {
      for (const label of el.labels) {
        const l = label.getBoundingClientRect();
        box = DOMRect.fromRect({
          x: Math.min(box.left, l.left), y: Math.min(box.top, l.top),
          width: Math.max(box.right, l.right) - Math.min(box.left, l.left),
          height: Math.max(box.bottom, l.bottom) - Math.min(box.top, l.top),
        });
      }
    }
    const style = getComputedStyle(el);
    const inline = el.tagName === "A" && style.display === "inline" &&
      el.parentElement.textContent.trim().length > el.textContent.trim().length;
    targets.push({el, box, inline});
  }
  const least = elder ? 44 : 24;
  const small = targets.filter((t) => !t.inline && (t.box.width < least - 0.5 || t.box.height < least - 0.5));
  const centre = (b) => [b.left + b.width / 2, b.top + b.height / 2];
  const distance = ([x, y], b) => Math.hypot(Math.max(b.left - x, 0, x - b.right), Math.max(b.top - y, 0, y - b.bottom));
  for (const t of small) {
    const c = centre(t.box);
    const crowded = elder || targets.some((u) => u !== t && !u.el.contains(t.el) && !t.el.contains(u.el) && (
      distance(c, u.box) < 12 ||
      (small.includes(u) && Math.hypot(c[0] - centre(u.box)[0], c[1] - centre(u.box)[1]) < 24)));
    if (crowded) problems.push(`target ${t.box.width.toFixed(0)}×${t.box.height.toFixed(0)}: ${name(t.el)}`);
  }

  // Nothing wider than the screen.
  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) problems.push(`page ${width}px wide`);
  return problems;
}"""


def layout_problems(page, *, elder: bool) -> list[str]:
    return page.evaluate(LAYOUT_CHECKS, elder)
