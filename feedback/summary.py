"""The wall's summary, kept per unit and added up (docs/PERFORMANCE.md,
"Cold misses: scoped values").

Counting the county's 200,000 cases takes 0.5–1 s; a change to one case
changes one town's counts. Each town's counts of a selection (its own and
its villages' cases; a unit under no town alone) are kept under its
"cases-unit:<slug>" and "cases-town:<slug>", which every change of its
cases names (feedback.page_scopes; `on_new_case`: a new case is counted at
once, though its unit's pages wait for it to be accepted), and a publication
there does not. A unit's change names them when which units a town holds
may have changed (disclosure.page_scopes.unit_change_scopes: not a
rename), and UNITS (the groups, the sum); an answer round, its case's; the
catalog's, none (no count reads it: a case made 党内 with its item is
saved, row by row); a topic's, "tags" (no count reads a topic's row). The
global version drops them all. Their sum
is kept until any case changes ("wall") or comes in ("cases"), or a unit
changes, and has the day in its name: the one count the date changes (cases
waiting past their deadline) is counted apart for it, over the few cases not
yet accepted, so the parts outlive midnight (recounting every town at once
took 0.3–0.5 s at county scale, on the first request of each day).
"""

from django.conf import settings
from django.utils import timezone

from core import caching, events
from disclosure.models import Unit
from disclosure.page_scopes import UNITS, unit_scopes

from .models import Submission, add_parts, empty_part, summary_of

# Kept until their scopes move, or a day and up to half a day more: parts
# counted together (after a deployment or a flush) expire one by one.
PART_SECONDS = 24 * 3600
PART_SPREAD = 0.5


def case_scopes(slug: str, *, town: bool) -> list[str]:
    """What every change of a unit's cases names (a town's: its villages'
    too), new or not: "cases-unit:<slug>", "cases-town:<slug>"
    (`on_new_case`, feedback.page_scopes); a unit's change names them when
    which units a town holds may have changed
    (disclosure.page_scopes.unit_change_scopes). Not its rows' scopes
    ("unit:<slug>"): a publication changes no count of cases; nor the
    catalog's."""
    named = [f"unit:{slug}", *([f"town:{slug}"] if town else [])]
    return [f"cases-{name}" for name in named]


def _groups() -> list[tuple[str, list[int], list[str]]]:
    """The units in groups whose counts are kept together: a town with its
    villages, or a unit under no town alone. Each: (key, unit ids, scopes:
    every change of their cases names one, disclosure.page_scopes)."""

    def group_them() -> list:
        units = Unit.objects.order_by("pk").values_list(
            "pk", "slug", "kind", "parent_id"
        )
        slug = {pk: s for pk, s, _kind, _parent in units}
        towns = {pk for pk, _slug, kind, _parent in units if kind == Unit.Kind.TOWN}
        groups: dict[int, list[int]] = {}
        for pk, _slug, _kind, parent in units:
            town = pk if pk in towns else parent
            groups.setdefault(town if town in towns else pk, []).append(pk)
        return [
            (slug[head], members, case_scopes(slug[head], town=head in towns))
            for head, members in groups.items()
        ]

    # A unit's change (its town, its kind) names UNITS.
    return caching.cached("feedback:summary:groups", group_them, scopes=[UNITS])


def wall_summary(queryset, selection: str, unit: Unit | None = None) -> dict:
    """`summary_of` this queryset of cases (`selection`: its filters, for the
    keys; `unit`: the one unit it is filtered to, if any), from the kept
    counts of each town (or unit under none) and those recomputed for the
    towns that changed."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return queryset.summary()
    day = timezone.localdate().isoformat()

    def add_up() -> dict:
        groups = _groups()
        if unit is not None:
            groups = [g for g in groups if unit.pk in g[1]]
        members = {f"wall-part:{selection}:{key}": ids for key, ids, _ in groups}
        wanted = {f"wall-part:{selection}:{key}": scopes for key, _, scopes in groups}

        def compute(missing: list[str]) -> dict:
            ids = [pk for name in missing for pk in members[name]]
            every = len(missing) == len(members) and unit is None
            rows = queryset if every else queryset.filter(unit__in=ids)
            found = rows.summary_parts(by_unit=True, today=False)
            return {
                name: add_parts(found[pk] for pk in members[name] if pk in found)
                for name in missing
            }

        parts = caching.cached_many(
            wanted, compute, seconds=PART_SECONDS, spread=PART_SPREAD
        )
        return summary_of([*parts.values(), queryset.overdue_waiting_part()])

    # The sum too, until any case changes ("wall") or comes in ("cases"), or
    # a unit (UNITS: the groups; the units' own counts are kept).
    return caching.cached(
        f"wall-summary:{day}:{selection}",
        add_up,
        scopes=["wall", "cases", UNITS],
        seconds=PART_SECONDS,
    )


def summary_by_unit(cases, name: str, units: dict[int, str]) -> dict:
    """`summary_of` these cases, all of these units' (id -> slug), as the
    wall's: each unit's counts kept under its "cases-unit:<slug>" (which
    every change of its cases names: a case coming in recounts its unit's
    alone, not the town's) for PART_SECONDS and up to PART_SPREAD more, and
    those waiting past their deadline counted for today, so that midnight
    recounts only those (the home page's town). `name`: what `cases`
    selects, for the keys."""
    wanted = {f"{name}:{pk}": [f"cases-unit:{slug}"] for pk, slug in units.items()}
    ids = {f"{name}:{pk}": pk for pk in units}

    def compute(missing: list[str]) -> dict:
        rows = cases.filter(unit__in=[ids[part] for part in missing])
        found = rows.summary_parts(by_unit=True, today=False)
        return {part: found.get(ids[part], empty_part()) for part in missing}

    parts = caching.cached_many(
        wanted, compute, seconds=PART_SECONDS, spread=PART_SPREAD
    )
    cases = cases.filter(unit__in=list(units))
    return summary_of([*parts.values(), cases.overdue_waiting_part()])


def on_new_case(event: events.Event) -> None:
    """A new case: the counts of its unit and town are recomputed ("cases",
    "cases-unit:<slug>", "cases-town:<slug>"), not their pages (a new case
    is not shown until accepted). The slugs are known to this process: the
    page cache asked for them for this event (disclosure.page_scopes)."""
    row = event.instance
    if event.created and isinstance(row, Submission) and row.unit_id is not None:
        named = unit_scopes([row.unit_id])
        caching.bump_scopes(["cases", *(f"cases-{scope}" for scope in named)])
