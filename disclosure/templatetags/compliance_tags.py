from django import template

from catalog.models import Item
from disclosure import compliance, reminders
from disclosure.models import Unit

register = template.Library()

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
