"""The wall's summary, kept per unit and added up (docs/PERFORMANCE.md,
"Cold misses: scoped values").

Counting the county's 200,000 cases takes 0.5–1 s; a change to one case
changes one unit's counts. Each unit's counts of a selection are kept under
that unit's scopes: "unit:<slug>" (every change of its cases but a new one,
feedback.page_scopes) and "cases:<unit id>" (`on_new_case`: a new case is
counted at once, though its unit's pages wait for it to be accepted). The
global version (a unit renamed, an item made 党内, an AnswerRound) drops
them all. Their sum is kept until any case changes ("wall") or comes in
("cases"). The day is in the names: overdue counts follow the date.
"""

from django.utils import timezone

from core import caching, events
from disclosure.models import Unit

from .models import Submission, empty_part, summary_of

# Kept until their scopes move or the day ends (at most a day).
PART_SECONDS = 24 * 3600


def _units() -> list[tuple[int, str]]:
    return caching.cached(
        "feedback:summary:units",
        lambda: list(Unit.objects.order_by("pk").values_list("pk", "slug")),
        scopes=[],  # a unit's change moves the global version
    )


def wall_summary(queryset, selection: str, unit: Unit | None = None) -> dict:
    """`summary_of` this queryset of cases (`selection`: its filters, for the
    keys; `unit`: the one unit it is filtered to, if any), from the kept
    counts of each unit and those recomputed for the units that changed."""
    day = timezone.localdate().isoformat()

    def add_up() -> dict:
        units = [(unit.pk, unit.slug)] if unit is not None else _units()
        names = {f"wall-part:{day}:{selection}:{pk}": pk for pk, _slug in units}
        wanted = {
            f"wall-part:{day}:{selection}:{pk}": [f"unit:{slug}", f"cases:{pk}"]
            for pk, slug in units
        }

        def compute(missing: list[str]) -> dict:
            ids = [names[name] for name in missing]
            rows = queryset if len(ids) == len(names) else queryset.filter(unit__in=ids)
            found = rows.summary_parts(by_unit=True)
            return {name: found.get(names[name]) or empty_part() for name in missing}

        parts = caching.cached_many(wanted, compute, seconds=PART_SECONDS)
        return summary_of(parts.values())

    # The sum too, until any case changes ("wall") or comes in ("cases").
    return caching.cached(
        f"wall-summary:{day}:{selection}",
        add_up,
        scopes=["wall", "cases"],
        seconds=PART_SECONDS,
    )


def on_new_case(event: events.Event) -> None:
    """A new case: its unit's counts are recomputed (its pages are not)."""
    row = event.instance
    if event.created and isinstance(row, Submission) and row.unit_id is not None:
        caching.bump_scopes(["cases", f"cases:{row.unit_id}"])
