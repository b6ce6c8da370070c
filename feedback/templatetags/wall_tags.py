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

from core import compiled, fragments
from feedback.models import Submission
from feedback.page_scopes import TAGS, answerer_names

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


def names_shown(case) -> list[str]:
    """The scopes of the names a case's card shows: those of its answer
    (`answerer_names`) and its topic's."""
    scopes = answerer_names(case)
    if case.tag_id is not None:
        scopes.append(TAGS)
    return scopes


def card_rows(pks: list[int]) -> dict[int, Submission]:
    """What the cards of these cases read, loaded only for cards not kept:
    from SQL kept per number of cards (core.compiled; its eight tables took
    longer to build and compile than to run)."""

    def build(_at, *keys):
        # No order: the cards come in the page's order.
        return (
            Submission.objects.with_related()
            .defer(*CARD_DEFERRED)
            .filter(pk__in=keys)
            .order_by()
        )

    keys = tuple(dict.fromkeys(pks))
    rows = compiled.rows(Submission, ("wall-cards",), build, keys=keys)
    return {row.pk: row for row in rows}


@register.simple_tag
def wall_cards(cases) -> list[str]:
    """The cards of these cases, in order. Each case carries
    `visible_fulfilment_id`: the disclosure that answered it if the reader
    may see it, else None (feedback.views.wall), its status and what
    `names_shown` reads: a card follows the names it shows, not every
    unit's and the catalog's (NAMES)."""
    today, language = timezone.localdate(), get_language()
    names, shown, wanted = [], {}, {}
    for case in cases:
        answer = case.visible_fulfilment_id
        # Only an open case's card reads the date (`Submission.is_overdue`).
        day = today if case.is_open else ""
        name = f"wall-card:{case.pk}:{answer or ''}:{day}:{language}"
        names.append(name)
        shown[name] = (case.pk, answer)
        wanted[name] = [f"submission:{case.pk}", *names_shown(case)]
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

    cards = fragments.kept_many(wanted, render, names_listed=True)
    return [cards[name] for name in names]
