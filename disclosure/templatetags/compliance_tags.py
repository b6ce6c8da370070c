from django import template

from catalog.models import Item
from disclosure import compliance
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
    items = Item.objects.in_bulk({o.item_id for o in obligations[:SHOWN]})
    unit_by_id = {u.pk: u for u in units}
    return {
        "units": units,
        "as_of": as_of,
        "years": compliance.year_choice(as_of.year),
        "rows": [
            (unit_by_id[o.unit_id], items[o.item_id], o) for o in obligations[:SHOWN]
        ],
        "more": max(len(obligations) - SHOWN, 0),
    }
