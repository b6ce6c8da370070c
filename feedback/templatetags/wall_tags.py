"""The 回音壁's cards, kept as fragments (core/fragments.py).

A card shows its case, the date (overdue, days left) and, when the reader may
see it, the disclosure that answered it: the same for every reader given
that disclosure, so it is kept per case, the disclosure shown (its pk, or
none), the language and, for an open case (whether it is overdue), the day,
and follows the case's and that disclosure's scopes. An answered case's card
does not change with the date: it outlives midnight. A 党内 disclosure's
title is only in a card named with its pk, which only a reader who may see
it asks for.
"""

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language

from core import fragments
from feedback.models import Submission

register = template.Library()

# Neither the private contact nor a linked disclosure's long texts are shown
# on a card.
CARD_DEFERRED = (
    "name",
    "phone",
    "fulfilled_by__body",
    "fulfilled_by__notice_outcome_text",
    "fulfilled_by__withdrawal_reason",
)


def card_rows(pks: list[int]) -> dict[int, Submission]:
    """What the cards of these cases read, loaded only for cards not kept."""
    return Submission.objects.with_related().defer(*CARD_DEFERRED).in_bulk(pks)


@register.simple_tag
def wall_cards(cases) -> list[str]:
    """The cards of these cases, in order. Each case carries
    `visible_fulfilment_id`: the disclosure that answered it if the reader
    may see it, else None (feedback.views.wall), and its status."""
    today, language = timezone.localdate(), get_language()
    names, shown, wanted = [], {}, {}
    for case in cases:
        answer = case.visible_fulfilment_id
        # Only an open case's card reads the date (`Submission.is_overdue`).
        day = today if case.is_open else ""
        name = f"wall-card:{case.pk}:{answer or ''}:{day}:{language}"
        names.append(name)
        shown[name] = (case.pk, answer)
        wanted[name] = [f"submission:{case.pk}"]
        if answer is not None:
            wanted[name].append(f"disclosure:{answer}")

    def render(missing: list[str]) -> dict[str, str]:
        rows = card_rows([shown[name][0] for name in missing])
        cards = {}
        for name in missing:
            submission = rows.get(shown[name][0])
            if submission is None:  # deleted since the page was listed
                cards[name] = ""
                continue
            cards[name] = render_to_string(
                "feedback/submission_card.html",
                {
                    "submission": submission,
                    "link": True,
                    "fulfilled_by": submission.fulfilled_by
                    if shown[name][1] is not None
                    else None,
                },
            )
        return cards

    cards = fragments.kept_many(wanted, render)
    return [cards[name] for name in names]
