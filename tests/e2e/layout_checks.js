(elder) => {
  // What the MIIT 《互联网网站适老化通用设计规范》 and WCAG 2.2 ask of a page's
  // layout, measured in the browser (tests/e2e/support.py layout_problems;
  // README "Accessibility"). Called with `elder` (a step above 标准); returns
  // one line per problem.
  const problems = [];
  const name = (el) => {
    const cls = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\s+/).join(".") : "";
    const text = (el.textContent || el.value || "").trim().replace(/\s+/g, " ");
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

  // Fields: their text too (no text node to walk).
  for (const field of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const size = parseFloat(getComputedStyle(field).fontSize);
    if (elder && field.getClientRects().length && size < 17.95) problems.push(`field text ${size}px: ${name(field)}`);
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
}
