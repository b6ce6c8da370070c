"""`{% chart_section chart %}`: a statistics chart's section (its SVG and the
table of the same numbers), rendered once for the same numbers and kept.

The key is the chart's content (every field as text) and the language: the
same numbers give the same markup, so nothing needs to announce a change
(the templates are the release's, which every key names). At county scale
the on-time chart has a row per unit (510): its table was most of the
page's render on a miss (midnight, a change in the figures elsewhere).
"""

import hashlib

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

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
def chart_section(chart: Chart) -> SafeString:
    def render() -> str:
        return render_to_string("includes/stats_chart.html", {"chart": chart})

    html = caching.cached(
        f"chart-section:{get_language()}:{chart_key(chart)}",
        render,
        scopes=[],
        seconds=settings.PAGE_CACHE_MAX_SECONDS,
    )
    # Rendered by the template with autoescaping: every text escaped.
    return mark_safe(html)
