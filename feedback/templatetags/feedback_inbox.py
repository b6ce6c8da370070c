from django import template

from feedback import services
from feedback.confidential import is_discipline_member

register = template.Library()


@register.inclusion_tag("admin/feedback/inbox.html", takes_context=True)
def feedback_inbox(context):
    """The start page's 回音壁 lines: what waits for this user, and what was
    escalated to them (services.inbox / escalated_to), as links to the list."""
    user = context["request"].user
    # 镇纪委's members read their 举报 without a 回音壁 role
    # (SubmissionAdmin.has_view_permission).
    if not (user.has_perm("feedback.view_submission") or is_discipline_member(user)):
        return {"shown": False}
    return {
        "shown": True,
        "todo": services.inbox(user).count(),
        "escalated": services.escalated_to(user).count(),
    }
