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

from django.db.models import Exists, OuterRef, Q

from catalog.models import Scope
from catalog.page_scopes import DEPARTMENTS
from core import caching
from core.content import name_scope
from core.loaded import not_loaded
from disclosure.models import Disclosure
from disclosure.page_scopes import request_scopes, unit_scopes

from .models import Submission

# Every topic: the choice lists that offer them (a card's topic is on pages:
# NAMES, `shown_everywhere`).
TAGS = "tags"


def answerer_names(case) -> list[str]:
    """The scopes of the names a case shows with its answer
    (`content.name_scope`; `Submission.answerer`): its unit's (which its
    town's change names too: a 包村干部's answer is the town's), its
    answering body's (which its unit's change names: the full name starts
    with the unit's) and the office that answered (a department's change,
    not every catalog change): disclosure.page_scopes.unit_change_scopes,
    body_scopes, catalog.page_scopes.DEPARTMENTS. Read from the case's own
    columns, no name."""
    scopes = [name_scope("unit", case.unit_id)]
    if case.answering_body_id is not None:
        scopes.append(name_scope("body", case.answering_body_id))
    if case.answered_by_id is not None:
        scopes.append(DEPARTMENTS)  # an office (catalog.Department)
    return scopes


def tag_scopes(event) -> list[str]:
    return [TAGS]


def wall_scope(request, kwargs) -> list[str]:
    return ["wall"]


def case_scope(request, kwargs) -> list[str]:
    return [f"submission:{kwargs['pk']}"]


def linked_branches() -> frozenset[str]:
    """The branches whose 党组织内部 notices answer, or are the subject of, a
    case on the wall: only their members may see those links, so only they
    need a copy of the wall and of a case page of their own. Kept under
    "wall" (a case accepted, answered or changed; a linked disclosure's
    change names it too: `linked_cases`)."""

    def compute() -> frozenset[str]:
        # Branch ids only, which pick the copy a member gets, never shown: not
        # through the visibility rule; the pages read their links through it.
        cases = Submission.objects.on_wall()
        linked = Disclosure.objects.filter(scope=Scope.BRANCH).filter(
            Exists(cases.filter(fulfilled_by=OuterRef("pk")))
            | Exists(cases.filter(disclosure=OuterRef("pk")))
        )
        rows = linked.order_by().values_list("branch_id", flat=True).distinct()
        return frozenset(str(pk) for pk in rows)

    return caching.cached("wall-linked-branches", compute, scopes=["wall"])


def case_audience(request, kwargs, audience: str) -> str:
    """A branch member's copy of the wall or a case page is the copy of a
    member of no branch unless one of their branch's 党组织内部 notices is
    linked from the wall (`linked_branches`): what else those pages show
    of disclosures is the same for every party member. The views say when
    they showed a 党组织内部 link (not kept in a shared copy)."""
    name, at, _ = audience.partition("@")
    prefix = "member:party:"
    if not (at and name.startswith(prefix)):
        return audience
    return audience if name[len(prefix) :] in linked_branches() else prefix


def shown_disclosures(scope: str) -> Q | None:
    """The disclosures the pages of a case scope show (their scheduled
    publications change those pages): those answering or concerned by the
    cases; None for another app's scope."""
    if scope.startswith("cases-"):
        # New cases counted (feedback.summary): no disclosure shown.
        return Q(pk__in=[])
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
    """The scopes of the cases answered by or about these disclosures, and of
    their units: a 点题 request answered by another unit's disclosure (the
    town's) is its own unit's obligation, whose compliance figures follow
    the answer (published, withdrawn)."""
    cases = list(
        Submission.objects.filter(
            Q(fulfilled_by__in=disclosure_pks) | Q(disclosure__in=disclosure_pks)
        ).values_list("pk", "unit_id")
    )
    if not cases:
        return []
    scopes = [f"submission:{pk}" for pk, _ in cases]
    units = unit_scopes(unit for _, unit in cases)
    return ["wall", *scopes, *units, *request_scopes(units)]


def submission_scopes(event) -> list[str] | None:
    """None (every page) for an event with no row: where the case was is
    unknown (every path of ours sends the row: row events, `services._log`)."""
    row = event.instance
    if not isinstance(row, Submission) or not_loaded(event, "unit_id"):
        return None
    loaded_unit = getattr(row, "_loaded_unit_id", None)
    loaded_answer = getattr(row, "_loaded_fulfilled_by_id", None)
    units = [row.unit_id, loaded_unit]
    answered = [row.fulfilled_by_id, loaded_answer]
    # A change of a case there was reads where its units are now; a new one
    # (the POST) and a service's verb after a save (`services._log`: the
    # save named them, and left this process's copy fresh) read the copy.
    fresh = event.is_row_event and not event.created
    return _named(event.ids, units, answered, fresh=fresh)


def _case_scopes(ids) -> list[str]:
    rows = Submission.objects.filter(pk__in=ids).values_list(
        "unit_id", "fulfilled_by_id"
    )
    units, answers = [unit for unit, _ in rows], [pk for _, pk in rows]
    return _named(ids, units, answers, fresh=True)


def _named(ids, units, answered, *, fresh: bool) -> list[str]:
    cases = ["wall", *(f"submission:{pk}" for pk in ids)]
    answers = set(answered) - {None}
    disclosures = [f"disclosure:{pk}" for pk in answers]
    named = unit_scopes(units, fresh=fresh)
    # And the counts of its unit's and town's cases (feedback.summary), which
    # a publication there does not change.
    counted = [f"cases-{scope}" for scope in named]
    # A 点题 answer published by another unit (the town's, for a village's
    # request) is used up by the request in that unit's counts too
    # (`compliance.evaluate`), kept under its scope: a query only for a
    # case with an answer linked, was or is (where the answer is, whatever
    # its state: a scope to bump, never shown).
    answering = (
        unit_scopes(
            Disclosure.objects.filter(pk__in=answers).values_list("unit", flat=True)
        )
        if answers
        else []
    )
    # And the engine's copy of its unit's 点题 requests (compliance.load_inputs).
    requested = request_scopes(named)
    return list(
        dict.fromkeys(cases + named + counted + requested + disclosures + answering)
    )


def round_scopes(event) -> list[str] | None:
    """An earlier round of a case (its answer and rating, kept when a 不满意
    reopened it): shown on the case's page, counted in the wall's, the
    statistics' and the home page's ratings: the case's scopes. None (every
    page) if the round names no case."""
    row = event.instance
    if row is None or getattr(row, "submission_id", None) is None:
        return None
    if not_loaded(event, "submission_id"):
        return None
    was = getattr(row, "_loaded_submission_id", None)
    return _case_scopes(sorted({row.submission_id, was} - {None}))
