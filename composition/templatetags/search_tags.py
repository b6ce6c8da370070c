"""`{% search_hits hits %}`: a page of search hits, written in Python.

Search pages are the least kept of all (their words come due with every
answered case), so a page of 20 hits is made often. As a template loop each
hit cost about a fifth of a millisecond (a dozen lookups through related
rows, two date filters); this writes the same markup with the same
messages. Titles, snippets and index numbers arrive highlighted and escaped
(`search.highlight`); everything else is escaped here.
"""

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from catalog.models import Catalog
from disclosure.templatetags.disclosure_tags import machine_time
from feedback.models import Kind

register = template.Library()


def _kind_labels() -> dict:
    """A hit's kind (and the index number's label) as shown, each translated
    once a page: a model's
    `get_kind_display` hashes every choice's lazy label (a translation
    each), some 120 a page of hits."""
    wall = _("回音壁")
    labels = {
        ("catalog", value): conditional_escape(label)
        for value, label in Catalog.Kind.choices
    }
    labels.update(
        (("wall", value), f"{conditional_escape(wall)} · {conditional_escape(label)}")
        for value, label in Kind.choices
    )
    labels["index number"] = conditional_escape(_("索引号"))
    return labels


def _meta(hit: dict, kinds: dict) -> str:
    esc = conditional_escape
    if hit["disclosure"] is not None:
        value = hit["disclosure"].item.category.catalog.kind
        kind = kinds.get(("catalog", value), esc(value))
    else:
        value = hit["submission"].kind
        kind = kinds.get(("wall", value)) or f"{esc(_('回音壁'))} · {esc(value)}"
    parts = [kind, esc(hit["unit"].name)]
    if hit["date"]:
        local = timezone.localtime(hit["date"])
        parts.append(
            f'<time datetime="{machine_time(local)}">'
            f"{local.year}年{local.month}月{local.day}日</time>"
        )
    if hit["index_number"]:
        parts.append(f"{kinds['index number']} {esc(hit['index_number'])}")
    return " · ".join(parts)


@register.simple_tag
def search_hits(hits: list[dict]) -> SafeString:
    """The <li> of each hit (composition.search_views builds `hits`)."""
    esc = conditional_escape
    kinds = _kind_labels() if hits else {}
    items = []
    for hit in hits:
        snippet = (
            f'<p class="snippet mb-0">{esc(hit["snippet"])}</p>'
            if hit["snippet"]
            else ""
        )
        items.append(
            f'<li><a href="{esc(hit["url"])}" class="hit-title">{esc(hit["title"])}'
            f'</a> <span class="meta">{_meta(hit, kinds)}</span>{snippet}</li>'
        )
    return mark_safe("".join(items))  # every value above went through escape
