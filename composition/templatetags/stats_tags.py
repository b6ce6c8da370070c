"""`{% chart_section chart %}`: a statistics chart's section (its SVG and the
table of the same numbers), rendered once for the same numbers and kept.

The key is the chart's content (every field as text) and the language: the
same numbers give the same markup, so nothing needs to announce a change
(the templates are the release's, which every key names), and a flush of
every version leaves it (`caching.BY_CONTENT`). At county scale
the on-time chart has a row per unit (510): its table was most of the
page's render on a miss (midnight, a change in the figures elsewhere).
"""

import hashlib

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core import caching
from core.charts import Chart

register = template.Library()


def chart_key(chart: Chart) -> str:
    """Every field the section shows, as text (lazy translations resolved)."""
    content = (
        chart.key,
        str(chart.title),
        str(chart.description),
        [str(label) for label in chart.labels],
        [(str(name), list(values)) for name, values in chart.series],
        chart.horizontal,
        str(chart.unit),
        chart.max_value,
        [str(note) for note in chart.notes],
    )
    return hashlib.sha256(repr(content).encode()).hexdigest()


@register.simple_tag
def chart_table(chart: Chart) -> SafeString:
    """The table of the chart's numbers, written in Python: a row per label
    (the county's on-time chart has 510), where the template loop cost a
    fifth of making the statistics page again. Values are shown as the
    template showed them (`localize`), a missing one as a dash."""
    esc = conditional_escape
    unit = esc(chart.unit)
    several = len(chart.series) > 1
    head = "".join(
        f'<th scope="col">{esc(name)}</th>' for name, _values in chart.series
    )
    if several:
        head += f'<th scope="col">{esc(_("合计"))}</th>'
    rows = []
    for row in chart.rows:
        cells = "".join(
            "<td>—</td>" if value is None else f"<td>{esc(localize(value))}{unit}</td>"
            for value in row["values"]
        )
        if several:
            total = row["total"]
            cells += f"<td>{'—' if total is None else esc(localize(total))}</td>"
        rows.append(f'<tr><th scope="row">{esc(row["label"])}</th>{cells}</tr>')
    caption = _("数据表：%(title)s") % {"title": chart.title}
    return mark_safe(  # every text above went through escape
        '<table class="table table-sm stats-table mt-2">'
        f"<caption>{esc(caption)}</caption>"
        f'<thead><tr><th scope="col">{esc(_("项目"))}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


@register.simple_tag
def chart_section(chart: Chart) -> SafeString:
    def render() -> str:
        return render_to_string("includes/stats_chart.html", {"chart": chart})

    html = caching.cached(
        f"chart-section:{get_language()}:{chart_key(chart)}",
        render,
        # Its content is its name: a flush (the statistics' cold page) leaves
        # it, where the global version made the page's charts again.
        scopes=caching.BY_CONTENT,
        seconds=settings.PAGE_CACHE_MAX_SECONDS,
    )
    # Rendered by the template with autoescaping: every text escaped.
    return mark_safe(html)
