"""Server-side SVG bar charts: no JavaScript, readable by a screen reader
(a <title> and <desc>, and the page shows the same numbers in a table).

Pure: data in, markup out. Colours come from CSS classes (`series-N` in
`composition/static/portal/finding.css`), never from style attributes.
"""

from dataclasses import dataclass, field
from functools import cached_property

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

Number = int | float | None
MONTHS = range(1, 13)


def month_labels() -> list[str]:
    return [_("%(m)d月") % {"m": m} for m in MONTHS]


@dataclass
class Chart:
    key: str  # an identifier: element ids, the CSV's first column
    title: str
    description: str
    labels: list[str]
    series: list[tuple[str, list[Number]]]
    horizontal: bool = False
    unit: str = ""  # shown after values, e.g. "%"
    max_value: float | None = None  # a fixed scale (100 for shares)
    notes: list[str] = field(default_factory=list)

    @cached_property
    def totals(self) -> list[Number]:
        """Each label's sum over the series: worked out once (the table reads
        it once a row, the SVG once a bar; the statistics page has 510 units)."""
        totals = []
        for i in range(len(self.labels)):
            values = [values[i] for _, values in self.series if values[i] is not None]
            totals.append(sum(values) if values else None)
        return totals

    @property
    def rows(self) -> list[dict]:
        """The table beside the chart: one row per label."""
        totals = self.totals
        return [
            {
                "label": label,
                "values": [values[i] for _, values in self.series],
                "total": totals[i],
            }
            for i, label in enumerate(self.labels)
        ]

    @property
    def svg(self) -> SafeString:
        return render_svg(self)


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if value <= step * 4:
            return step * 4
    return value


def _fmt(value: Number) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value))


def render_svg(chart: Chart) -> SafeString:
    totals = chart.totals
    top = max(value or 0 for value in totals) if chart.labels else 0
    scale_max = chart.max_value or _nice_ceiling(top)
    legend = len(chart.series) > 1
    if chart.horizontal:
        parts, width, height = _horizontal(chart, scale_max, legend)
    else:
        parts, width, height = _vertical(chart, scale_max, legend)
    if legend:
        parts.extend(_legend(chart))
    title_id, desc_id = f"{chart.key}-title", f"{chart.key}-desc"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}">'
        f'<title id="{title_id}">{escape(chart.title)}</title>'
        f'<desc id="{desc_id}">{escape(chart.description)}</desc>'
    )
    # Every text in `parts` went through escape().
    return mark_safe(head + "".join(parts) + "</svg>")


def _legend(chart: Chart) -> list[str]:
    parts = []
    x = 10
    for k, (name, _values) in enumerate(chart.series):
        parts.append(
            f'<rect class="series-{k}" x="{x}" y="6" width="12" height="12"/>'
            f'<text x="{x + 16}" y="16">{escape(name)}</text>'
        )
        x += 28 + 13 * len(name)
    return parts


def _bar_title(chart: Chart, label: str, name: str, value: Number) -> str:
    prefix = f"{label} {name}" if len(chart.series) > 1 else label
    return f"<title>{escape(prefix)}：{escape(_fmt(value))}{escape(chart.unit)}</title>"


def _vertical(chart: Chart, scale_max: float, legend: bool):
    left, right, top, bottom = 44, 10, 34 if legend else 14, 28
    band = 50
    width = left + right + band * max(len(chart.labels), 1)
    plot_h = 200
    height = top + plot_h + bottom
    parts = []
    for tick in range(5):
        value = scale_max * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(_fmt(value))}</text>'
        )
    for i, label in enumerate(chart.labels):
        x = left + band * i + 8
        y = top + plot_h
        for k, (name, values) in enumerate(chart.series):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / scale_max
            y -= h
            parts.append(
                f'<rect class="series-{k}" x="{x}" y="{y:.1f}" width="{band - 16}" '
                f'height="{h:.1f}">{_bar_title(chart, label, name, value)}</rect>'
            )
        total = chart.totals[i]
        if total is not None:
            parts.append(
                f'<text class="value" x="{x + (band - 16) / 2}" y="{y - 4:.1f}" '
                f'text-anchor="middle">{escape(_fmt(total))}</text>'
            )
        parts.append(
            f'<text x="{x + (band - 16) / 2}" y="{top + plot_h + 18}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}"/>'
    )
    return parts, width, height


def _horizontal(chart: Chart, scale_max: float, legend: bool):
    left, right, top, bottom = 190, 50, 30 if legend else 8, 8
    row = 24
    plot_w = 420
    width = left + plot_w + right
    height = top + row * max(len(chart.labels), 1) + bottom
    parts = []
    for i, label in enumerate(chart.labels):
        y = top + row * i
        x = left
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(
            f'<text x="{left - 6}" y="{y + 16}" text-anchor="end">'
            f"{escape(short)}</text>"
        )
        for k, (name, values) in enumerate(chart.series):
            value = values[i]
            if not value:
                continue
            w = plot_w * value / scale_max
            parts.append(
                f'<rect class="series-{k}" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" '
                f'height="{row - 8}">{_bar_title(chart, label, name, value)}</rect>'
            )
            x += w
        total = chart.totals[i]
        parts.append(
            f'<text class="value" x="{x + 4:.1f}" y="{y + 16}">'
            f"{escape(_fmt(total))}{escape(chart.unit if total is not None else '')}"
            "</text>"
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" '
        f'y2="{height - bottom}"/>'
    )
    return parts, width, height
