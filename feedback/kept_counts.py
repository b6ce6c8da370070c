"""Each unit's counts of its cases kept in the database, by the events
(docs/PERFORMANCE.md, "The wall's counts kept by the events").

The wall's figures add up each unit's counts (feedback.summary), kept in the
value cache. When that is flushed (a deployment, a bulk load, Redis
restarted) counting the county's 200,000 cases again took 0.4–0.5 s on the
first request. These rows keep each unit's counts of the wall's unfiltered
selections where no flush reaches them; only the units whose cases changed
since they were counted are counted again.

How a row stays true:

- every change of a unit's cases (or of an earlier round of one) raises
  its rows' `generation` in its own transaction (`changed_units`, an
  upsert: it adds the rows not there; it waits for a page's new row to
  commit, then raises it);
- a reader reads the generation before it counts, and writes the counts
  only where the generation is still the one it read (a change that
  committed before the count started is in it; one after raised the
  generation, and the write is dropped: the row stays stale);
- a change whose unit is unknown (a row saved over one it was not loaded
  from, an event with no row) raises every unit's; a bulk load, which sends
  no event, calls `changed_units(None)` itself (operations.seed_scale), and
  the search index's rebuild, which follows a bulk load or a restore,
  counts every row again (composition.search.rebuild).

`RULES` names the counting rules: raise it when `summary_parts` counts
differently, and every row is counted again when read. `refresh` (run by
warm_pages after midnight) counts every row again: the nightly check.
"""

from collections.abc import Callable, Iterable

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Case, F, JSONField, Q, Value, When
from django.utils import timezone

from core import events
from disclosure.models import Unit

from .models import (
    CONFIDENTIAL_KINDS,
    AnswerRound,
    Submission,
    UnitCounts,
    empty_part,
    plain_part,
)

# Raise when `SubmissionQuerySet.summary_parts` counts differently.
RULES = "1"

# The selections kept, and the cases each counts: the wall's (举报 never
# counted there) and the home page's (every case on record).
SELECTIONS: dict[str, Callable] = {
    "wall": lambda: Submission.objects.on_record().exclude(kind__in=CONFIDENTIAL_KINDS),
    "home": lambda: Submission.objects.on_record(),
}


def cases(selection: str):
    """The cases a kept selection counts (the wall's and the home page's
    querysets are built from here, so that the rows count what they show)."""
    return SELECTIONS[selection]()


def _part(stored: dict) -> dict:
    # JSON keeps a dictionary's keys as text: the days to answer are numbers.
    return {
        "totals": dict(stored["totals"]),
        "days": {int(days): n for days, n in stored["days"].items()},
        "ratings": dict(stored["ratings"]),
        "by_staff": int(stored["by_staff"]),
    }


def read(
    selection: str,
    units: Iterable[int],
    count: Callable[[list[int]], dict],
    *,
    every: bool = False,
    again: bool = False,
) -> dict[int, dict]:
    """The counts (`plain_part`) of these units' cases in `selection`, from
    their rows; those stale or never counted are counted (`count(ids)`:
    {id: part}, a unit without cases left out) and kept. `every`: `units`
    are all there are (read the selection's rows without listing them).
    `again`: count every one again (the nightly check: an event lost by a
    process that stopped between a commit and its raise). The rows not
    there are added (a unit without cases yet: a change adds its unit's,
    `changed_units`)."""
    wanted = set(units)
    rows = UnitCounts.objects.filter(selection=selection)
    if not every:
        rows = rows.filter(unit_id__in=wanted)
    found = {}
    kept = {}
    for unit, generation, counted, rules, parts in rows.values_list(
        "unit_id", "generation", "counted_generation", "rules", "parts"
    ):
        if unit not in wanted:
            continue
        found[unit] = generation
        if counted == generation and rules == RULES and not again:
            try:
                kept[unit] = _part(parts)
            except (KeyError, AttributeError, TypeError, ValueError):
                pass  # not as written: counted again
    stale = sorted(wanted - kept.keys())
    if not stale:
        return kept
    absent = [unit for unit in stale if unit not in found]
    if absent:
        found.update(_add_rows(selection, absent))
    counted = count(stale)
    for unit in stale:
        kept[unit] = plain_part(counted.get(unit, empty_part()))
    _keep(selection, {unit: found[unit] for unit in stale if unit in found}, kept)
    return kept


def _add_rows(selection: str, units: list[int]) -> dict[int, int]:
    """New rows for these units, and their generations read after they are
    there (a change's upsert may have raised one meanwhile)."""
    try:
        with transaction.atomic():
            UnitCounts.objects.bulk_create(
                [UnitCounts(unit_id=unit, selection=selection) for unit in units],
                ignore_conflicts=True,
            )
    except IntegrityError:
        return {}  # a unit deleted meanwhile: nothing kept, counted anyway
    return dict(
        UnitCounts.objects.filter(selection=selection, unit_id__in=units).values_list(
            "unit_id", "generation"
        )
    )


def _keep(selection: str, generations: dict[int, int], parts: dict) -> None:
    """Write the counts where the generation is still the one read before
    counting, in one statement. The rows are locked first, skipping those a
    change holds (its generation moves anyway): a page's write never waits
    for a lock, so never deadlocks with a change that raises several
    units'. SQLite locks the whole file, and skips nothing."""
    which = Q()
    for unit, generation in generations.items():
        which |= Q(unit_id=unit, generation=generation)
    if not which:
        return
    rows = UnitCounts.objects.filter(which, selection=selection)
    try:
        with transaction.atomic(savepoint=False):
            free = dict(
                rows.select_for_update(skip_locked=True).values_list("pk", "unit_id")
            )
            if not free:
                return
            rows.filter(pk__in=list(free)).update(
                parts=Case(
                    *(
                        When(pk=pk, then=Value(parts[unit], output_field=JSONField()))
                        for pk, unit in free.items()
                    ),
                    output_field=JSONField(),
                ),
                counted_generation=F("generation"),
                rules=RULES,
                counted_at=timezone.now(),
            )
    except DatabaseError:
        if connection.in_atomic_block:
            raise  # the caller's transaction is broken: not ours to hide
        # Kept next time; the page has its counts.


def changed_units(units: Iterable[int] | None) -> None:
    """In the change's transaction: raise the generation of these units'
    rows (None: every unit's), adding the rows not there yet. Not after the
    commit: the page cache's versions move then, and a page made between
    the two would add up a row not yet stale."""
    ids = None if units is None else sorted(set(units) - {None})
    if ids is None:
        ids = list(Unit.objects.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return
    table = connection.ops.quote_name(UnitCounts._meta.db_table)
    rows = [(unit, selection) for unit in ids for selection in sorted(SELECTIONS)]
    values = ", ".join(["(%s, %s, 1, '', '{}')"] * len(rows))
    # In order of unit: two changes lock the rows they share in one order.
    sql = (
        f"INSERT INTO {table} (unit_id, selection, generation, rules, parts) "
        f"VALUES {values} ON CONFLICT (unit_id, selection) "
        f"DO UPDATE SET generation = {table}.generation + 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def refresh(batch: int = 50, *, again: bool = True) -> int:
    """Count again every row of every kept selection (`again` False: the
    stale ones), `batch` units at a time: the nightly check (warm_pages).
    The number of units' counts counted."""
    units = list(Unit.objects.order_by("pk").values_list("pk", flat=True))
    done = 0
    for selection in SELECTIONS:
        for start in range(0, len(units), batch):

            def count(ids, selection=selection):
                nonlocal done
                done += len(ids)
                return cases(selection).summary_parts(
                    by_unit=True, today=False, units=tuple(ids)
                )

            read(selection, units[start : start + batch], count, again=again)
    return done


def _unknown(event: events.Event, field: str) -> bool:
    """Where the row was is unknown: saved over (or deleted as) a row it was
    not loaded from (feedback.page_scopes._not_loaded), or no row."""
    row = event.instance
    if row is None:
        return True
    return (
        event.is_row_event
        and not event.created
        and not hasattr(row, f"_loaded_{field}")
    )


def on_case_event(event: events.Event) -> None:
    row = event.instance
    if not event.is_row_event and row is not None:
        return  # a service's verb: its row's save raised its unit already
    if not isinstance(row, Submission) or _unknown(event, "unit_id"):
        # No row (ids alone: changed at once with update(), maybe moved):
        # where the cases were is unknown.
        changed_units(None)
        return
    changed_units([row.unit_id, getattr(row, "_loaded_unit_id", None)])


def on_round_event(event: events.Event) -> None:
    row = event.instance
    if (
        not isinstance(row, AnswerRound)
        or row.submission_id is None
        or _unknown(event, "submission_id")
    ):
        changed_units(None)
        return
    ids = {row.submission_id, getattr(row, "_loaded_submission_id", None)} - {None}
    changed_units(
        Submission.objects.filter(pk__in=ids).values_list("unit_id", flat=True)
    )
