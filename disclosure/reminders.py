"""Daily reminders of overdue and soon-due obligations (send_reminders)."""

from collections import Counter, defaultdict
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from catalog.models import Item

from . import compliance, roles
from .models import ReminderLog, Unit


def outcome_prompts(obligations, user) -> dict[int, tuple[str, str]]:
    """For each 公示 awaiting its outcome (compliance.Obligation.awaiting_outcome)
    that `user` may open in the back office (roles.staff_disclosures): its
    title and the page where the outcome is recorded (services.record_outcome).
    One query, none when there is none."""
    ids = [o.filing.id for o in obligations if o.awaiting_outcome]
    if not ids:
        return {}
    return {
        pk: (title, reverse("admin:disclosure_disclosure_outcome", args=[pk]))
        for pk, title in roles.staff_disclosures(user)
        .filter(pk__in=ids)
        .values_list("pk", "title")
    }


def rows_of(obligations, units: dict, items: dict, user) -> list[tuple]:
    """(unit, item, obligation, prompt) rows: `prompt` is the (title, admin
    path) of a 公示 awaiting its outcome that `user` may open, else None."""
    prompts = outcome_prompts(obligations, user)
    return [
        (
            units[o.unit_id],
            items[o.item_id],
            o,
            prompts.get(o.filing.id) if o.awaiting_outcome else None,
        )
        for o in obligations
    ]


def send_reminders(*, as_of: date) -> list[str]:
    """Mail each unit editor their units' list, and town administrators a
    summary. Once per person per day: a second run sends nothing new."""
    User = get_user_model()
    editors = (
        User.objects.filter(is_active=True, groups__name=roles.UNIT_EDITOR)
        .exclude(email="")
        .prefetch_related("edited_units")
        .distinct()
    )
    units = {u.pk: u for u in Unit.objects.all()}
    obligations = compliance.attention(list(units.values()), as_of)
    items = {
        i.pk: i for i in Item.objects.filter(pk__in={o.item_id for o in obligations})
    }
    by_unit = defaultdict(list)
    for obligation in obligations:
        by_unit[obligation.unit_id].append(obligation)
    sent = []
    for editor in editors:
        mine = [o for u in editor.edited_units.all() for o in by_unit.get(u.pk, [])]
        if mine and _send(
            editor,
            as_of,
            "disclosure/email/reminder.txt",
            {
                "user": editor,
                "rows": rows_of(mine, units, items, editor),
                "as_of": as_of,
                "base_url": settings.PORTAL_BASE_URL.rstrip("/"),
                "outcome_prompt": compliance.OUTCOME_PROMPT,
            },
            mine,
        ):
            sent.append(editor.username)
    admins = User.objects.filter(is_active=True, groups__name=roles.TOWN_ADMIN).exclude(
        email=""
    )
    summary = [
        (units[pk], Counter(o.state for o in rows))
        for pk, rows in sorted(by_unit.items(), key=lambda kv: units[kv[0]].order)
    ]
    for admin in admins:
        if summary and _send(
            admin,
            as_of,
            "disclosure/email/town_summary.txt",
            {
                "user": admin,
                "summary": [
                    (
                        unit,
                        sum(counts[state] for state in compliance.OVERDUE),
                        counts[compliance.State.NOT_DUE],
                    )
                    for unit, counts in summary
                ],
                "as_of": as_of,
            },
            obligations,
        ):
            sent.append(admin.username)
    return sent


def _send(user, as_of: date, template: str, context: dict, obligations) -> bool:
    overdue = sum(o.overdue for o in obligations)
    try:
        with transaction.atomic():
            ReminderLog.objects.create(
                user=user,
                day=as_of,
                overdue=overdue,
                due_soon=len(obligations) - overdue,
            )
            send_mail(
                subject=_(
                    "【公开提醒】%(day)s：逾期 %(overdue)d 项，即将到期 %(soon)d 项"
                )
                % {
                    "day": f"{as_of:%Y-%m-%d}",
                    "overdue": overdue,
                    "soon": len(obligations) - overdue,
                },
                message=render_to_string(template, context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
    except IntegrityError:  # already reminded today
        return False
    return True
