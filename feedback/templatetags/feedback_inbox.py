from django import template

from feedback import services

register = template.Library()


@register.inclusion_tag("admin/feedback/inbox.html", takes_context=True)
def feedback_inbox(context):
    """The start page's 回音壁 lines: what waits for this user, and what was
    escalated to them (services.inbox / escalated_to), as links to the list."""
    user = context["request"].user
    if not user.has_perm("feedback.view_submission"):
        return {"shown": False}
    return {
        "shown": True,
        "todo": services.inbox(user).count(),
        "escalated": services.escalated_to(user).count(),
    }
