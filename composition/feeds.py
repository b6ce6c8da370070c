"""Atom feeds: the town's latest disclosures, one board's, and answered 回音壁 items.

Feeds are read by aggregators and cached by proxies, so they are always built
for an anonymous reader: no 党内 item, whoever asks.
"""

from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.db.models import Count, Max, Q
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from core import caching
from core.security import without_control_characters
from disclosure.models import Disclosure, Unit
from feedback.models import ESCALATED, Submission

FEED_SIZE = 30


def public_disclosures():
    return Disclosure.objects.visible_to(AnonymousUser()).with_related()


# Conditional GET (ETag) from one aggregate query: the count catches a scheduled
# publication coming due and a withdrawal, the cache version every edit.


def latest_etag(request) -> str:
    shown = public_disclosures().aggregate(n=Count("id"), last=Max("updated_at"))
    return caching.etag(request, shown["n"], shown["last"])


def board_etag(request, slug) -> str:
    shown = (
        public_disclosures()
        .filter(unit__slug=slug)
        .aggregate(n=Count("id"), last=Max("updated_at"))
    )
    return caching.etag(request, shown["n"], shown["last"])


def feedback_etag(request) -> str:
    shown = Submission.objects.published().aggregate(
        n=Count("id"), last=Max("updated_at")
    )
    return caching.etag(request, shown["n"], shown["last"])


class PlainTextFeed(Feed):
    """A feed that can always be written. XML 1.0 cannot hold control
    characters (Django's writer raises, a 500 for every reader); the forms
    refuse them now, but rows stored before may hold some. Removed from the
    feed only: the stored text is left as it is."""

    def get_feed(self, obj, request):
        feed = super().get_feed(obj, request)
        feed.feed = {key: _xml_safe(value) for key, value in feed.feed.items()}
        feed.items = [
            {key: _xml_safe(value) for key, value in item.items()}
            for item in feed.items
        ]
        return feed


def _xml_safe(value):
    if isinstance(value, str):
        return without_control_characters(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_xml_safe(v) for v in value)
    return value


class LatestDisclosuresFeed(PlainTextFeed):
    feed_type = Atom1Feed
    title = _("凤鸣镇最新公开内容")
    subtitle = _("凤鸣镇党务、政务、村务公开网新发布的社会公开内容。")

    def link(self):
        return reverse("disclosure:list")

    def items(self):
        return public_disclosures()[:FEED_SIZE]

    def item_title(self, item):
        return f"{item.unit.name}：{item.title}"

    def item_description(self, item):
        return Truncator(item.body).chars(500)

    def item_link(self, item):
        return item.get_absolute_url()

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.corrected_at or item.published_at

    def item_author_name(self, item):
        return item.unit.name

    def item_categories(self, item):
        return [item.item.category.catalog.get_kind_display(), item.item.category.name]


class BoardFeed(LatestDisclosuresFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Unit.objects.with_boards(), slug=slug)

    def title(self, obj):
        return _("%(unit)s公开栏") % {"unit": obj.name}

    def subtitle(self, obj):
        return _("%(unit)s新发布的社会公开内容。") % {"unit": obj.name}

    def link(self, obj):
        return obj.get_absolute_url()

    def items(self, obj):
        return public_disclosures().for_unit(obj)[:FEED_SIZE]

    def item_title(self, item):
        return item.title


class FeedbackFeed(PlainTextFeed):
    """Answered items whose submitter agreed to publication, and those 督办中
    (escalated past their deadline); each answer names its round and a 采纳
    outcome. Never a name or phone, nor who a case was escalated to."""

    feed_type = Atom1Feed
    title = _("凤鸣镇回音壁：最新答复")
    subtitle = _("党员群众的意见建议及其答复，超期督办中的事项。")

    def link(self):
        return reverse("feedback:wall")

    def items(self):
        answered = Q(
            answered_at__isnull=False,
            status__in=[Submission.Status.ANSWERED, Submission.Status.CLOSED],
        )
        # A reopened case has no answer in its open round: its 督办 is its news.
        return (
            Submission.objects.published()
            .filter(answered | ESCALATED)
            .select_related("unit__parent", "answered_by", "answering_body__unit")
            .annotate(news_at=Coalesce("answered_at", "escalated_at"))
            .order_by("-news_at", "-id")[:FEED_SIZE]
        )

    def item_title(self, item):
        if item.is_escalated:
            return f"[{_('督办中')}][{item.get_kind_display()}] {item.title}"
        return f"[{item.get_kind_display()}] {item.title}"

    def item_description(self, item):
        question = Truncator(item.text).chars(300)
        if item.is_escalated:
            text = _("问：%(question)s\n督办中：第%(round)d轮办理，答复期限 %(due)s。")
            return text % {
                "question": question,
                "round": item.round,
                "due": f"{item.due_date:%Y-%m-%d}",
            }
        text = _("问：%(question)s\n答（第%(round)d轮答复）：%(answer)s") % {
            "question": question,
            "round": item.round,
            "answer": Truncator(item.answer_text).chars(500),
        }
        if item.outcome:
            text += "\n" + _("采纳情况：%(outcome)s") % {
                "outcome": item.get_outcome_display()
            }
            if item.outcome_reason:
                text += _("（%(reason)s）") % {
                    "reason": Truncator(item.outcome_reason).chars(200)
                }
        return text

    def item_link(self, item):
        return item.get_absolute_url()

    def item_pubdate(self, item):
        return item.news_at

    def item_updateddate(self, item):
        # Atom requires <updated> in every entry; Django writes it only from this.
        return item.news_at

    def item_author_name(self, item):
        # A body (never a person: Submission.answerer), else the unit.
        return item.answerer or item.unit.name

    def item_categories(self, item):
        if item.is_escalated:
            states = [_("督办中")]
        else:
            states = [_("第%(n)d轮答复") % {"n": item.round}]
        if item.outcome:
            states.append(item.get_outcome_display())
        return [item.unit.name, item.get_kind_display(), *states]
