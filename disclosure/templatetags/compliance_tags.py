import time

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog.models import Item
from core import caching
from disclosure import compliance, reminders
from disclosure.models import Unit

register = template.Library()

# The order a tally's counts are read in: done, then what is wrong, then the
# rest (the matrix's cells, a unit's total).
COUNT_ORDER = (
    compliance.State.ON_TIME,
    compliance.State.LATE,
    compliance.State.MISSING,
    compliance.State.OFF_BOARD,
    compliance.State.OUTCOME_OVERDUE,
    compliance.State.NIL,
    compliance.State.NOT_DUE,
)

SHOWN = 20


@register.inclusion_tag("admin/disclosure/attention.html", takes_context=True)
def editor_attention(context):
    """A unit editor's start page: overdue, then soon-due obligations."""
    user = context["request"].user
    units = list(Unit.objects.filter(editors=user)) if user.is_authenticated else []
    if not units:
        return {"units": []}
    as_of = compliance.reference_date()
    obligations = compliance.attention(units, as_of)
    shown = obligations[:SHOWN]
    items = Item.objects.in_bulk({o.item_id for o in shown})
    unit_by_id = {u.pk: u for u in units}
    return {
        "units": units,
        "as_of": as_of,
        "years": compliance.year_choice(as_of.year),
        "rows": reminders.rows_of(shown, unit_by_id, items, user),
        "outcome_prompt": compliance.OUTCOME_PROMPT,
        "more": max(len(obligations) - SHOWN, 0),
    }


# The matrix writes these a hundred-odd times (a cell each): tags, not
# included templates, which cost ten times as much to render.


@register.simple_tag
def tally_counts(t: compliance.Shown, labels: dict | None = None) -> str:
    """ "按时公开3 逾期公开1 …": the states a tally counts, none left out.
    `labels`: the states' names translated once (`_labels`)."""
    labels = labels or compliance.LABELS
    return " ".join(
        f"{labels[state]}{t.counts[state]}" for state in COUNT_ORDER if t.counts[state]
    )


def _labels() -> dict:
    # Translated once a table: a lazy name costs a catalog lookup each time
    # it is written, and the matrix writes them a few hundred times.
    return {state: str(label) for state, label in compliance.LABELS.items()}


@register.simple_tag
def tally_rate(t: compliance.Shown) -> str:
    """The 按时公开率 (按事项) with its base and the rate 按期次 beside it."""
    if t.rate is None:
        not_due = compliance.LABELS[compliance.State.NOT_DUE]
        return format_html('<span class="counts">{}</span>', not_due)
    return format_html(
        '<strong>{}%</strong> <span class="counts">{}{} {}%）</span>',
        _percent(t.rate),
        _("（%(n)s 个事项到期 %(due)s 期次；") % {"n": t.items, "due": t.due},
        _("按期次"),
        _percent(t.count_rate),
    )


def _percent(share: float) -> int:
    # As {% widthratio share 1 100 %} rounds (half to even).
    return round(share * 100)


@register.simple_tag
def matrix_rows(rows: list[dict], link_query: str) -> str:
    """The matrix's body: a row a unit, a cell a category (its state, named,
    and its counts), the unit's total; every cell links to the unit's page.
    Written here, not by the template: a few hundred nodes a row.

    Each row's HTML is kept in this process under what it shows (the unit,
    the categories, the states and counts, the query of its links, the
    language): a change in one village makes the table again, but only
    its row is written again."""
    total_label = _("合计")
    labels = _labels()
    keep = settings.VALUE_CACHE_SECONDS > 0
    prefix = (
        MATRIX_ROW,
        get_language(),
        str(get_urlconf() or settings.ROOT_URLCONF),  # the links are reversed
        get_script_prefix(),
        link_query,
    )
    made = []
    for row in rows:
        key = (*prefix, *_row_shows(row)) if keep else None
        html = caching._local.get(key) if keep else None
        if html is None:
            html = _row(row, link_query, total_label, labels)
            if keep:
                expires = time.time() + settings.PAGE_CACHE_MAX_SECONDS
                caching._local.put(key, html, expires=expires, size=len(html))
        made.append(html)
    return mark_safe("\n".join(made))  # each row escaped by format_html


MATRIX_ROW = "compliance:matrix-row"


def _row_shows(row: dict) -> tuple:
    """Everything a matrix row's HTML is made of: a cell's state and counts,
    the total's rates and bases as written (`tally_rate`)."""
    unit, total = row["unit"], row["total"]
    return (
        unit.slug,
        unit.name,
        tuple(
            (c.code, c.name, t and tuple((s, n) for s, n in t.counts.items() if n))
            for c, t in row["cells"]
        ),
        total and _rate_shows(total),
    )


def _rate_shows(t: compliance.Shown) -> tuple:
    rate = t.rate
    if rate is None:
        return (None,)
    return (_percent(rate), t.items, t.due, _percent(t.count_rate))


def _row(row: dict, link_query: str, total_label: str, labels: dict) -> str:
    link = reverse("disclosure:compliance_unit", args=[row["unit"].slug]) + link_query
    return format_html(
        '<tr><th scope="row"><a href="{}">{}</a></th>{}'
        '<td class="total" data-label="{}">{}</td></tr>',
        link,
        row["unit"].name,
        format_html_join(
            "", "{}", ((_cell(c, t, link, labels),) for c, t in row["cells"])
        ),
        total_label,
        tally_rate(row["total"]) if row["total"] else "—",
    )


def _cell(category, t, link: str, labels: dict) -> str:
    label = f"{category.code} {category.name}"
    if not t:
        return format_html(
            '<td data-label="{}" class="state-none">'
            '<span class="text-body-secondary">—</span></td>',
            label,
        )
    return format_html(
        '<td data-label="{}" class="state-{}"><a href="{}">{}</a> '
        '<span class="counts">{}</span></td>',
        label,
        t.state,
        link,
        labels[t.state],
        tally_counts(t, labels),
    )
