"""举报 (reports about cadres' conduct): where they go and who reads them.

A 举报 goes to the town's discipline committee (镇纪委, the town's
`Organisation` of kind discipline) and is never posted: `ON_WALL` leaves the
confidential kinds out of the wall, feeds, search and sitemap (they are
counted in the figures, never listed). In the back office only the members of
that committee and the town administrator read them: every admin path (list,
change view, history, search, autocomplete, bulk actions) fetches through
`staff_submissions`.
"""

from django.contrib.auth.models import AbstractBaseUser

from catalog.models import BodyKind
from disclosure.models import Organisation, Unit

from .models import Submission, SubmissionQuerySet


def town_of(unit: Unit) -> Unit:
    if unit.kind == Unit.Kind.TOWN or unit.parent_id is None:
        return unit
    return unit.parent


def discipline_body(unit: Unit) -> Organisation | None:
    """The 镇纪委 a 举报 about this unit goes to (None if the town has none)."""
    return (
        Organisation.objects.filter(unit=town_of(unit), kind=BodyKind.DISCIPLINE)
        .select_related("unit")
        .first()
    )


def discipline_towns(user: AbstractBaseUser) -> list[int]:
    """The ids of the towns whose discipline committee this user acts for
    (one query per request: kept on the user, as roles.in_group does)."""
    if not user.is_authenticated:
        return []
    if not hasattr(user, "_discipline_towns"):
        user._discipline_towns = list(
            Unit.objects.filter(
                kind=Unit.Kind.TOWN,
                organisations__kind=BodyKind.DISCIPLINE,
                organisations__members=user,
            ).values_list("pk", flat=True)
        )
    return user._discipline_towns


def is_discipline_member(user: AbstractBaseUser) -> bool:
    return bool(discipline_towns(user))


def staff_submissions(
    user: AbstractBaseUser, cases: SubmissionQuerySet | None = None
) -> SubmissionQuerySet:
    """The cases a staff member reads in the back office, 举报 only for the
    discipline committee: the one rule is services.cases_for; this narrows
    `cases` by it."""
    from .services import cases_for  # services builds on this module

    readable = cases_for(user)
    return readable if cases is None else cases & readable


def may_read(user: AbstractBaseUser, submission: Submission) -> bool:
    return staff_submissions(user).filter(pk=submission.pk).exists()
