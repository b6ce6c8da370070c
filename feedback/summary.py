"""The wall's summary, kept per unit and added up (docs/PERFORMANCE.md,
"Cold misses: scoped values").

Counting the county's 200,000 cases takes 0.5–1 s; a change to one case
changes one unit's counts. Each unit's counts of a selection are kept under
its "cases-unit:<slug>", which every change of its cases names
(feedback.page_scopes; `on_new_case`: a new case is counted at once, though
its unit's pages wait for it to be accepted), and a publication there does
not: a case coming in recounts its unit's few hundred cases, not its town's
thousands. The units' counts are added up per town (kept under its units'
scopes) and the towns' for the wall. A unit's change names a unit's scope
when it is new, deleted or given another slug
(disclosure.page_scopes.unit_change_scopes; which town holds a unit changes
no count of its own), and UNITS (the groups, the sum); an answer round, its
case's; the catalog's, none (no count reads it: a case made 党内 with its
item is saved, row by row); a topic's, "tags" (no count reads a topic's
row). The global version drops them all. The sum is kept until any case
changes ("wall") or comes in ("cases"), or a unit changes, and has the day
in its name: the one count the date changes (cases waiting past their
deadline) is counted apart for it, over the few cases not yet accepted, so
the parts outlive midnight (recounting every town at once took 0.3–0.5 s at
county scale, on the first request of each day).
"""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language

from core import caching, compiled, events
from disclosure.models import Unit
from disclosure.page_scopes import UNITS, unit_scopes

from . import kept_counts
from .models import Submission, add_parts, empty_part, plain_part, summary_of

# Kept until their scopes move, or a day and up to half a day more: parts
# counted together (after a deployment or a flush) expire one by one.
PART_SECONDS = 24 * 3600
PART_SPREAD = 0.5


def _groups() -> dict[str, dict[int, str]]:
    """The units in groups whose counts are added up together: a town with
    its villages, or a unit under no town alone. Each: its head's slug ->
    {unit id: slug}; kept until a unit changes (UNITS)."""

    def group_them() -> dict:
        units = Unit.objects.order_by("pk").values_list(
            "pk", "slug", "kind", "parent_id"
        )
        slug = {pk: s for pk, s, _kind, _parent in units}
        towns = {pk for pk, _slug, kind, _parent in units if kind == Unit.Kind.TOWN}
        groups: dict[str, dict[int, str]] = {}
        for pk, _slug, _kind, parent in units:
            head = pk if pk in towns else parent
            head = head if head in towns else pk
            groups.setdefault(slug[head], {})[pk] = slug[pk]
        return groups

    return caching.cached("feedback:summary:groups", group_them, scopes=[UNITS])


def wall_summary(
    queryset,
    selection: str,
    unit: Unit | None = None,
    shape: tuple = (),
    kept: str | None = None,
) -> dict:
    """`summary_of` this queryset of cases (`selection`: its filters, for the
    keys; `unit`: the one unit it is filtered to, if any; `shape`: what the
    queryset is a function of, `filter_shape`, for its kept SQL), from the kept
    counts of each unit, added up per town: a case's change recounts its
    unit's cases and adds up its town's units again, then the towns (adding
    up the county's 500 units on every change cost more than the recount
    it spared). `kept`: the queryset is that selection of
    feedback.kept_counts (unfiltered, or filtered to `unit` alone): each
    unit's counts are read from its rows there when not in the cache."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return queryset.summary()
    day = timezone.localdate().isoformat()
    name = f"wall-part:{selection}"

    def add_up() -> dict:
        if unit is not None:
            return summary_by_unit(
                queryset, name, {unit.pk: unit.slug}, shape, kept=kept
            )
        groups = _groups()
        members = {f"{name}:town:{head}": units for head, units in groups.items()}
        wanted = {
            key: [f"cases-unit:{slug}" for slug in units.values()]
            for key, units in members.items()
        }

        def compute(missing: list[str]) -> dict:
            units = {pk: slug for key in missing for pk, slug in members[key].items()}
            every = len(missing) == len(wanted)
            parts = unit_parts(
                queryset, name, units, every=every, shape=shape, kept=kept
            )
            return {
                key: plain_part(add_parts(parts[pk] for pk in members[key]))
                for key in missing
            }

        towns = caching.cached_many(
            wanted, compute, seconds=PART_SECONDS, spread=PART_SPREAD
        )
        return summary_of([*towns.values(), queryset.overdue_waiting_part(shape=shape)])

    # The sum too, until any case changes ("wall") or comes in ("cases"), or
    # a unit (UNITS: which units there are, and where; their own counts are
    # kept).
    return caching.cached(
        f"wall-summary:{day}:{get_language()}:{selection}",  # its labels
        add_up,
        scopes=["wall", "cases", UNITS],
        seconds=PART_SECONDS,
    )


def unit_parts(
    cases,
    name: str,
    units: dict[int, str],
    *,
    every: bool = False,
    shape=(),
    kept: str | None = None,
    also: tuple[str, ...] = (),
) -> dict[int, dict]:
    """The counts (`summary_parts`, without today's) of these cases, of each
    of these units (id -> slug), each kept under its "cases-unit:<slug>"
    (which every change of its cases names: a case coming in recounts its
    unit's alone, not the town's) for PART_SECONDS and up to PART_SPREAD
    more. `name`: what `cases` selects, for the keys. `every`: `units` are
    all there are, and `cases` needs no filter by unit (counting the county
    at once, after a flush, without a list of 500 ids). `shape`: what
    `cases` is a function of (`filter_shape`; none: not kept, core.compiled;
    the units counted are its parameters). `kept`: `cases` are this
    selection of feedback.kept_counts (or its cases of one unit): the counts
    are read from its rows instead, those stale counted again. `also`:
    scopes every unit's counts are kept under besides its own."""
    wanted = {
        f"{name}:{pk}": [f"cases-unit:{slug}", *also] for pk, slug in units.items()
    }
    ids = {f"{name}:{pk}": pk for pk in units}

    def count(chosen) -> dict:
        counted = None
        if not every or len(chosen) < len(wanted):
            counted = tuple(sorted(chosen))
        return cases.summary_parts(
            by_unit=True, today=False, shape=shape, units=counted
        )

    if kept is not None and settings.VALUE_CACHE_SECONDS > 0:
        # Their rows outlive the cache, and read 500 units at once for less
        # than the cache's versions of 500 scopes: no copy kept there.
        return kept_counts.read(kept, list(units), count, every=every)

    def compute(missing: list[str]) -> dict:
        found = count([ids[part] for part in missing])
        return {
            part: plain_part(found.get(ids[part], empty_part())) for part in missing
        }

    parts = caching.cached_many(
        wanted, compute, seconds=PART_SECONDS, spread=PART_SPREAD
    )
    return {ids[part]: value for part, value in parts.items()}


def summary_by_unit(
    cases,
    name: str,
    units: dict[int, str],
    shape: tuple = (),
    kept=None,
    also: tuple[str, ...] = (),
) -> dict:
    """`summary_of` these cases, all of these units' (id -> slug), from each
    unit's kept counts (`unit_parts`, `shape` and `also` as there) and those
    waiting past their deadline counted for today, so that midnight
    recounts only those (the home page's town, the wall filtered to a
    unit)."""
    parts = unit_parts(cases, name, units, shape=shape, kept=kept, also=also)
    # Kept too, under the same scopes as the parts, until midnight: the home
    # page's figures are made again after each publication in the town, and
    # this count read the town's cases each time. Its query built only then.
    overdue = caching.cached(
        f"{name}:overdue:{timezone.localdate()}:{','.join(map(str, sorted(units)))}",
        lambda: cases.overdue_waiting_part(shape=shape, units=sorted(units)),
        scopes=[*(f"cases-unit:{slug}" for slug in units.values()), *also],
        seconds=lambda: caching.until(None),
    )
    return summary_of([*parts.values(), overdue])


def summary_counted_now(cases, units: list[int], shape: tuple) -> dict:
    """`summary_by_unit`'s figures counted now, from no kept value: the
    same statements (`shape`: its SQL kept), the units their parameters."""
    ids = tuple(sorted(units))
    parts = cases.summary_parts(by_unit=True, today=False, shape=shape, units=ids)
    return summary_of(
        [
            *(plain_part(parts.get(pk, empty_part())) for pk in ids),
            cases.overdue_waiting_part(shape=shape, units=ids),
        ]
    )


# What a queryset of cases filtered by a form is a function of (the wall's
# filter selection, rows by their keys), for core.compiled's shapes.
filter_shape = compiled.form_shape


def on_new_case(event: events.Event) -> None:
    """A new case: the counts of its unit and town are recomputed ("cases",
    "cases-unit:<slug>", "cases-town:<slug>"), not their pages (a new case
    is not shown until accepted). The slugs are known to this process: the
    page cache asked for them for this event (disclosure.page_scopes)."""
    row = event.instance
    if event.created and isinstance(row, Submission) and row.unit_id is not None:
        named = unit_scopes([row.unit_id])
        caching.bump_scopes(["cases", *(f"cases-{scope}" for scope in named)])
