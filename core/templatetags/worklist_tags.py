from django import template

from core import worklist

register = template.Library()


@register.inclusion_tag("admin/worklist.html", takes_context=True)
def worklist_box(context):
    """The start page's 我的待办: each app's counts (core.worklist)."""
    return {"sections": worklist.sections(context["request"].user)}
