"""Following a board (or the whole town) by email: double opt-in and daily digests.

An address is personal data: it is only ever in the confirmation mail and the
digests, never on a page, and its row is deleted on unsubscribe (and when the
confirmation link is not used within `SUBSCRIPTION_CONFIRM_DAYS`).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from core.throttle import Throttle
from disclosure.models import Disclosure, Unit
from feedback.models import Status, Submission

from .models import Subscription

MAILS_SALT = "composition.following.confirmation-mails"
# A digest covers at most this many days, whatever was missed before.
DIGEST_MAX_DAYS = 7


def absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _target_name(unit: Unit | None) -> str:
    return unit.name if unit else _("全镇")


# Subscribing -----------------------------------------------------------------


def request_subscription(*, email: str, unit: Unit | None) -> Subscription | None:
    """Record a pending subscription and send its confirmation link.

    One row per address and target: asking again neither adds a row nor sends
    a second mail within `SUBSCRIPTION_RESEND_HOURS`; an address gets at most
    `SUBSCRIPTION_DAILY_MAILS` confirmation mails a day, so the form cannot be
    used to flood someone's inbox. Returns None when nothing was sent; callers
    show the same message either way (whether an address follows something is
    not disclosed).
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            subscription, _created = Subscription.objects.get_or_create(
                email=email, unit=unit
            )
    except IntegrityError:  # the same request, twice at once
        subscription = Subscription.objects.get(email=email, unit=unit)
    if subscription.is_confirmed:
        return None
    resend_after = timedelta(hours=settings.SUBSCRIPTION_RESEND_HOURS)
    if subscription.confirmation_sent_at and (
        now - subscription.confirmation_sent_at < resend_after
    ):
        return None
    # Counted and compared in one step, before the mail goes: requests for
    # several boards at once (several workers) cannot all pass the cap.
    if not confirmation_mails().take(salted_hmac(MAILS_SALT, email).hexdigest()):
        return None
    _send_confirmation(subscription)
    subscription.confirmation_sent_at = now
    subscription.save(update_fields=["confirmation_sent_at"])
    return subscription


def confirmation_mails() -> Throttle:
    """Confirmation mails per address a day (keyed by a hash of it)."""
    return Throttle(
        "follow-confirmation-mails", settings.SUBSCRIPTION_DAILY_MAILS, 24 * 3600
    )


def _send_confirmation(subscription: Subscription) -> None:
    context = {
        "target": _target_name(subscription.unit),
        "confirm_url": absolute(subscription.get_confirm_url()),
        "days": settings.SUBSCRIPTION_CONFIRM_DAYS,
    }
    EmailMessage(
        subject=_("请确认关注%(target)s的公开信息") % context,
        body=render_to_string("portal/email/confirm.txt", context),
        to=[subscription.email],
    ).send()


def find(token: str) -> Subscription | None:
    return Subscription.objects.select_related("unit").filter(token=token[:64]).first()


def pending(token: str) -> Subscription | None:
    """An unexpired subscription by its token (confirmed or not)."""
    subscription = find(token)
    if subscription is None or subscription.is_confirmed:
        return subscription
    cutoff = timezone.now() - timedelta(days=settings.SUBSCRIPTION_CONFIRM_DAYS)
    return subscription if subscription.created_at >= cutoff else None


def confirm(subscription: Subscription) -> Subscription:
    if not subscription.is_confirmed:
        subscription.confirmed_at = timezone.now()
        # The first digest covers what is published from today on.
        subscription.last_sent_on = timezone.localdate()
        subscription.save(update_fields=["confirmed_at", "last_sent_on"])
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    subscription.delete()


def purge_unconfirmed(now: datetime | None = None) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SUBSCRIPTION_CONFIRM_DAYS)
    deleted, _ = Subscription.objects.filter(
        confirmed_at__isnull=True, created_at__lt=cutoff
    ).delete()
    return deleted


# Digests ---------------------------------------------------------------------


@dataclass
class Digest:
    disclosures: list
    answers: list

    def __bool__(self) -> bool:
        return bool(self.disclosures or self.answers)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def digest_for(unit: Unit | None, *, since: date, until: date) -> Digest:
    """Public items of [since, until): new disclosures, answered 回音壁 items."""
    start, end = _day_start(since), _day_start(until)
    disclosures = Disclosure.objects.visible_to(AnonymousUser()).filter(
        published_at__gte=start, published_at__lt=end
    )
    answers = (
        Submission.objects.published()
        .filter(status__in=[Status.ANSWERED, Status.CLOSED])
        .filter(answered_at__gte=start, answered_at__lt=end)
    )
    if unit is not None:
        disclosures = disclosures.for_unit(unit)
        answers = answers.filter(unit=unit)
    return Digest(
        disclosures=list(disclosures.with_related().order_by("published_at", "id")),
        answers=list(answers.select_related("unit").order_by("answered_at", "id")),
    )


def send_digests(day: date | None = None) -> int:
    """Send each confirmed subscription its digest for `day`; once a day.

    A digest covers the days since the last one up to (not including) `day`;
    a subscription already done for `day` is skipped, so a second run of the
    same day sends nothing. Returns the number of mails sent.
    """
    day = day or timezone.localdate()
    sent = 0
    due = (
        Subscription.objects.filter(confirmed_at__isnull=False)
        .exclude(last_sent_on__gte=day)
        .select_related("unit")
        .order_by("id")
    )
    cache: dict[tuple, Digest] = {}
    for subscription in due:
        since = max(
            subscription.last_sent_on or day - timedelta(days=1),
            day - timedelta(days=DIGEST_MAX_DAYS),
        )
        key = (subscription.unit_id, since)
        if key not in cache:
            cache[key] = digest_for(subscription.unit, since=since, until=day)
        digest = cache[key]
        with transaction.atomic():
            # Claim the day first: a concurrent run finds nothing left to send.
            claimed = (
                Subscription.objects.filter(pk=subscription.pk)
                .exclude(last_sent_on__gte=day)
                .update(last_sent_on=day)
            )
            if claimed and digest:
                _send_digest(subscription, digest, since=since, day=day)
                sent += 1
    return sent


def _send_digest(subscription: Subscription, digest: Digest, *, since, day) -> None:
    unsubscribe_url = absolute(subscription.get_unsubscribe_url())
    context = {
        "target": _target_name(subscription.unit),
        "digest": digest,
        "since": since,
        "until": day - timedelta(days=1),
        "base_url": settings.PORTAL_BASE_URL.rstrip("/"),
        "unsubscribe_url": unsubscribe_url,
    }
    EmailMessage(
        subject=_("%(target)s公开信息摘要（%(day)s）")
        % {"target": context["target"], "day": f"{day:%Y-%m-%d}"},
        body=render_to_string("portal/email/digest.txt", context),
        to=[subscription.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    ).send()
