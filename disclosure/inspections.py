"""督查 figures: the computed criteria an inspection is pre-filled with, and
the public summary of the 督查 records (counts only, never names).

The 回音壁 share answered on time lives in the feedback app, a layer above:
it registers its figure here (FeedbackConfig.ready()), as figures do.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date

from django.db.models import Count, F, Q

from . import compliance
from .models import CRITERIA, Inspection, Rectification, Unit
from .models.inspections import weighted_total

# (unit ids, year, as_of) -> share of 回音壁 cases answered on time, or None.
FeedbackRate = Callable[[list[int], int, date], float | None]
feedback_rates: list[FeedbackRate] = []


def register_feedback_rate(provider: FeedbackRate) -> None:
    if provider not in feedback_rates:
        feedback_rates.append(provider)


def inspected_units(unit: Unit) -> list[Unit]:
    """A town's check covers its own board and its villages'; a village's its own."""
    if unit.kind == Unit.Kind.TOWN:
        return list(Unit.objects.of_town(unit))
    return [unit]


def timeliness_rate(units: list[Unit], year: int, as_of: date) -> float | None:
    """按时公开率 as on /compliance/ (the same engine)."""
    obligations, _items = compliance.load(units=units, year=year, as_of=as_of)
    overall = compliance.tally(obligations, lambda o: "all").get("all")
    return overall.rate if overall else None


def feedback_rate(unit_ids: list[int], year: int, as_of: date) -> float | None:
    for provider in feedback_rates:
        return provider(unit_ids, year, as_of)
    return None


def as_score(rate: float | None) -> int | None:
    return None if rate is None else round(100 * rate)


def prefill(inspection: Inspection) -> None:
    """Fill the computed criteria left blank, from the data of the year of the
    check as it stood on the check's day."""
    day = inspection.inspected_on
    units = inspected_units(inspection.unit)
    if inspection.score_timeliness is None:
        inspection.score_timeliness = as_score(timeliness_rate(units, day.year, day))
    if inspection.score_feedback is None:
        ids = [u.pk for u in units]
        inspection.score_feedback = as_score(feedback_rate(ids, day.year, day))


def summary(units: Iterable[Unit], *, year: int, as_of: date) -> dict[int, Counter]:
    """Per unit: the checks of `year`, the 整改 still open, and of those the
    ones past their deadline on `as_of`. Two grouped queries."""
    ids = [u.pk for u in units]
    out: dict[int, Counter] = {pk: Counter() for pk in ids}
    for unit_id, n in (
        Inspection.objects.filter(unit_id__in=ids, inspected_on__year=year)
        .values_list("unit_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        out[unit_id]["inspections"] += n
    for unit_id, given, still_open, overdue in (
        Rectification.objects.filter(
            unit_id__in=ids, inspection__inspected_on__year=year
        )
        .values_list("unit_id")
        .annotate(
            given=Count("id"),
            still_open=Count("id", filter=Q(completed_on__isnull=True)),
            overdue=Count(
                "id", filter=Q(completed_on__isnull=True, deadline__lt=as_of)
            ),
        )
        .order_by()
    ):
        out[unit_id].update(rectifications=given, open=still_open, overdue=overdue)
    return out


def add_up(counters: Iterable[Counter]) -> Counter:
    total = Counter()
    for c in counters:
        total.update(c)
    return total


def year_figures(units: Iterable[Unit], *, year: int, as_of: date) -> dict:
    """For the yearly report: the checks of `year` in these units, their
    average weighted score (weighted_total, over the checks scored), and the
    整改通知 they gave: issued, completed (of which after the deadline), and
    not completed, of which past the deadline on `as_of`, as summary() counts
    them for the compliance pages. Counts only, no names; two queries."""
    ids = [u.pk for u in units]
    keys = [key for key, _label in CRITERIA]
    rows = Inspection.objects.filter(
        unit_id__in=ids, inspected_on__year=year
    ).values_list(*(f"score_{key}" for key in keys))
    totals = [weighted_total(dict(zip(keys, row, strict=True))) for row in rows]
    scored = [t for t in totals if t is not None]
    done = Q(completed_on__isnull=False)
    still_open = Q(completed_on__isnull=True)
    notices = Rectification.objects.filter(
        unit_id__in=ids, inspection__inspected_on__year=year
    ).aggregate(
        issued=Count("id"),
        completed=Count("id", filter=done),
        completed_late=Count("id", filter=done & Q(completed_on__gt=F("deadline"))),
        open=Count("id", filter=still_open),
        overdue=Count("id", filter=still_open & Q(deadline__lt=as_of)),
    )
    return {
        "inspections": len(totals),
        "scored": len(scored),
        "average": round(sum(scored) / len(scored), 1) if scored else None,
        **notices,
    }
