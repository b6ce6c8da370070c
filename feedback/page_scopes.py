"""The page cache's scopes of a 回音壁 case (core.content, disclosure.page_scopes).

A case shows on its unit's board (the 回音壁 column) and on the page of the
disclosure that answered it (`fulfilled_by`), where it is now or was when
loaded; every page naming no scope (the home page) follows any change.
"wall" (any case) and "submission:<pk>" (this one) are named too, for the
pages that read only cases: the wall and the unit's monthly sheet ("wall"),
a case's own page ("submission:<pk>").

What those pages show besides the cases: the disclosure that answered a
case or that it is about (its title, whether this reader may see it), named
by that disclosure's changes (`linked_cases`, registered with
disclosure.page_scopes); an answer round, its case's (`round_scopes`);
units, by their own (NAMES and the unit's); topics, by TAGS (and NAMES).
A new case is counted at once on the wall and the sheet ("wall" is among
its `new_row_scopes`); it is listed only once accepted, which is a change
of the case.
"""

from django.db.models import Q

from disclosure.page_scopes import unit_scopes

from .models import Submission

# Every topic: the choice lists that offer them (a card's topic is on pages:
# NAMES, `shown_everywhere`).
TAGS = "tags"


def tag_scopes(event) -> list[str]:
    return [TAGS]


def wall_scope(request, kwargs) -> list[str]:
    return ["wall"]


def case_scope(request, kwargs) -> list[str]:
    return [f"submission:{kwargs['pk']}"]


def shown_disclosures(scope: str) -> Q | None:
    """The disclosures the pages of a case scope show (their scheduled
    publications change those pages): those answering or concerned by the
    cases; None for another app's scope."""
    if scope == "wall":
        cases = Submission.objects.all()
    elif scope.startswith("submission:") and scope[11:].isdigit():
        cases = Submission.objects.filter(pk=int(scope[11:]))
    else:
        return None
    answers = cases.exclude(fulfilled_by=None).values("fulfilled_by")
    subjects = cases.exclude(disclosure=None).values("disclosure")
    return Q(pk__in=answers) | Q(pk__in=subjects)


def linked_cases(disclosure_pks) -> list[str]:
    """The scopes of the cases answered by or about these disclosures."""
    cases = Submission.objects.filter(
        Q(fulfilled_by__in=disclosure_pks) | Q(disclosure__in=disclosure_pks)
    ).values_list("pk", flat=True)
    scopes = [f"submission:{pk}" for pk in cases]
    return ["wall", *scopes] if scopes else []


def submission_scopes(event) -> list[str] | None:
    row = event.instance
    if not isinstance(row, Submission):
        return _case_scopes(event.ids)
    loaded_unit, loaded_answer = getattr(row, "_loaded_scope", (None, None))
    units = [row.unit_id, loaded_unit]
    answered = [row.fulfilled_by_id, loaded_answer]
    return _named(event.ids, units, answered)


def _case_scopes(ids) -> list[str]:
    rows = Submission.objects.filter(pk__in=ids).values_list(
        "unit_id", "fulfilled_by_id"
    )
    return _named(ids, [unit for unit, _ in rows], [pk for _, pk in rows])


def _named(ids, units, answered) -> list[str]:
    cases = ["wall", *(f"submission:{pk}" for pk in ids)]
    disclosures = [f"disclosure:{pk}" for pk in set(answered) - {None}]
    return cases + unit_scopes(units) + disclosures


def round_scopes(event) -> list[str] | None:
    """An earlier round of a case (its answer and rating, kept when a 不满意
    reopened it): shown on the case's page, counted in the wall's, the
    statistics' and the home page's ratings: the case's scopes. None (every
    page) if the round names no case."""
    row = event.instance
    if row is None or getattr(row, "submission_id", None) is None:
        return None
    return _case_scopes([row.submission_id])
