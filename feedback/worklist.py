"""The start page's 回音壁 counts (core.worklist): each links to the case list
with the filters that show exactly those cases (admin.InboxFilter,
OverdueFilter, OpenFilter, the kind), drawn from the same querysets
(services.inbox, escalated_to, cases_for) and the same day (today)."""

from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from core import worklist
from disclosure.roles import is_town_admin

from . import services
from .confidential import discipline_towns, is_discipline_member
from .models import CONFIDENTIAL_KINDS, Kind, SubmissionQuerySet


def _line(text: str, n: int, query: dict, urgent: bool = False) -> worklist.Line:
    url = f"{reverse('admin:feedback_submission_changelist')}?{urlencode(query)}"
    return worklist.Line(text=text % {"n": n}, count=n, url=url, urgent=urgent)


def start_page(user) -> worklist.Section | None:
    # 镇纪委's members read their 举报 without a 回音壁 role
    # (SubmissionAdmin.has_view_permission).
    if not (user.has_perm("feedback.view_submission") or is_discipline_member(user)):
        return None
    overdue = SubmissionQuerySet._overdue_q(timezone.localdate())
    todo = services.inbox(user).aggregate(
        n=Count("id"), overdue=Count("id", filter=overdue), soonest=Min("due_date")
    )
    lines = [
        _line(_("待我办理 %(n)d 件"), todo["n"], {"inbox": "todo"}),
        _line(
            _("其中已超期 %(n)d 件"),
            todo["overdue"],
            {"inbox": "todo", "overdue": "yes"},
            urgent=True,
        ),
        _line(
            _("督办给我 %(n)d 件"),
            services.escalated_to(user).count(),
            {"inbox": "escalated"},
            urgent=True,
        ),
    ]
    if is_town_admin(user) or discipline_towns(user):
        cases = services.cases_for(user).open()
        confidential = Q(kind__in=CONFIDENTIAL_KINDS)
        counts = cases.aggregate(
            n=Count("id"),
            overdue=Count("id", filter=overdue),
            confidential=Count("id", filter=confidential),
        )
        if is_town_admin(user):
            lines.append(_line(_("全部未办结 %(n)d 件"), counts["n"], {"open": "yes"}))
            lines.append(
                _line(
                    _("全部已超期 %(n)d 件"),
                    counts["overdue"],
                    {"overdue": "yes"},
                    urgent=True,
                )
            )
        if discipline_towns(user):
            lines.append(
                _line(
                    _("举报未办结 %(n)d 件"),
                    counts["confidential"],
                    {"kind__exact": Kind.DENUNCIATION, "open": "yes"},
                )
            )
    note = ""
    if todo["soonest"]:
        note = _("待我办理的最近答复期限：%(day)s") % {
            "day": f"{todo['soonest']:%Y-%m-%d}"
        }
    return worklist.Section(title=_("回音壁（意见建议）"), lines=lines, note=note)
