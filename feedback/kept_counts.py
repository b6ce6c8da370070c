"""Each unit's counts of its cases kept in the database, by the events
(docs/PERFORMANCE.md, "The wall's counts kept by the events").

The wall's figures add up each unit's counts (feedback.summary), kept in the
value cache. When that is flushed (a deployment, a bulk load, Redis
restarted) counting the county's 200,000 cases again took 0.4–0.5 s on the
first request. These rows keep each unit's counts of the wall's unfiltered
selections where no flush reaches them; only the units whose cases changed
since they were counted are counted again.

How a row stays true:

- once a change of a unit's cases (or of an earlier round of one) commits,
  its rows' `generation` is raised (`changed_units`: one upsert, which adds
  the rows not there; after the commit, so that a change holds no lock on
  them), and the page cache's scopes of its cases moved again (a page made
  between the commit and the raise added up rows not yet raised);
- a reader reads the generation before it counts, and writes the counts
  only where the generation is still the one it read: a count that started
  before the change committed is dropped, or made stale by the raise; one
  that started after it has the change in it;
- a change whose unit is unknown (a row saved over one it was not loaded
  from, an event with no row) raises every unit's; a bulk load, which sends
  no event, calls `changed_units(None)` itself (operations.seed_scale), and
  the search index's rebuild, which follows a bulk load or a restore,
  counts every row again (composition.search.rebuild);
- a process stopped between a commit and its raise leaves its units' rows
  wrong: `refresh` counts every row again each night (warm_pages);
- a raise that fails marks its rows not counted and moves their generation
  (a count under way writes nothing); the request whose change of an
  existing case committed counts its units' stale rows once its view has
  returned (`recount_acted_on`), as a reader would;
- a case coming in (saved new in a transaction: a resident's POST) raises
  its unit's rows in its own transaction, not after it, and lists itself
  in them (`added`, `_came_in`): a reader whose row's every change since
  its counts is such a case counts those cases alone and adds them
  (`_caught_up`), where it would count the unit's hundreds. The list is
  trusted only whole (as many ids as generations since the counts, as
  written); any other change empties it to null (counted whole);
- a page made inside the change's own transaction adds up the rows without
  its change (they are raised at the commit). Nothing made then is kept
  (`caching.may_keep`), and no page is made so (no ATOMIC_REQUESTS); a
  strict xfail in tests/perf/test_kept_counts_attack.py holds it.

`RULES` names the counting rules: raise it when `summary_parts` counts
differently, and every row is counted again when read.
"""

import json
import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import nullcontext

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Case, F, JSONField, Value, When
from django.utils import timezone

from core import caching, compiled, events
from core.loaded import not_loaded
from core.release import content_settings, release
from disclosure.models import Unit
from disclosure.page_scopes import unit_scopes

from .models import (
    CONFIDENTIAL_KINDS,
    AnswerRound,
    Submission,
    UnitCounts,
    add_parts,
    empty_part,
    plain_part,
)

logger = logging.getLogger(__name__)

# Raise when `SubmissionQuerySet.summary_parts` counts differently.
RULES = "1"
# The largest generation a row holds (a 64-bit integer).
GENERATION_LIMIT = 2**63 - 1
# How long a value kept by its units' cases (`by_cases`) is kept once written.
BY_CASES_SECONDS = 3 * 24 * 3600

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


def _count(value) -> int:
    if type(value) is not int:  # not bool, text or null: not as written
        raise TypeError(value)
    return value


def _part(stored: dict) -> dict:
    """A row's counts as `plain_part` gives them (JSON keeps a dictionary's
    keys as text: the days to answer are numbers); TypeError, KeyError or
    ValueError if they are not as written."""
    return {
        "totals": {str(k): _count(n) for k, n in stored["totals"].items()},
        "days": {int(days): _count(n) for days, n in stored["days"].items()},
        "ratings": {str(k): _count(n) for k, n in stored["ratings"].items()},
        "by_staff": _count(stored["by_staff"]),
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
    if selection not in SELECTIONS:
        # No change would raise its rows: they would be kept forever.
        raise ValueError(f"not a kept selection: {selection!r}")
    wanted = set(units)
    found = {}
    kept = {}
    # Rows counted before cases came in, and nothing else changed since:
    # {unit: (its counts, the cases come in)}.
    behind = {}
    for unit, generation, counted, rules, parts, added in _rows(
        selection, None if every else sorted(wanted)
    ):
        if unit not in wanted:
            continue
        found[unit] = generation
        if counted is None or rules != RULES or again:
            continue
        if counted == generation:
            cases_in = ()
        elif type(counted) is int and type(generation) is int:
            cases_in = _added(added, generation - counted)
        else:
            # SQLite keeps 2**63 as a REAL: its difference is no count.
            continue
        if cases_in is None:
            continue
        try:
            part = _part(_decoded(parts))
        except (KeyError, AttributeError, TypeError, ValueError, RecursionError):
            continue  # not as written: counted again
        if cases_in:
            behind[unit] = (part, cases_in)
        else:
            kept[unit] = part
    if behind:
        caught, whole = _caught_up(selection, behind)
        kept.update(caught)
        for unit in whole:
            kept.pop(unit, None)
    stale = sorted(wanted - kept.keys())
    if stale:
        absent = [unit for unit in stale if unit not in found]
        if absent:
            found.update(_add_rows(selection, absent))
        counted = count(stale)
        for unit in stale:
            kept[unit] = plain_part(counted.get(unit, empty_part()))
    written = sorted({*behind, *stale})
    if written:
        _keep(selection, {u: found[u] for u in written if u in found}, kept)
    return kept


# The most cases a row lists as come in since its counts (`added`): past
# them, its unit is counted again whole. Ids of up to 10 digits and a comma.
ADDED_LIMIT = 24
ADDED_CHARACTERS = ADDED_LIMIT * 11


def _added(added, changes: int) -> tuple[int, ...] | None:
    """The cases that came in since a row's counts, if every change since
    (`changes`: its generation less the counted one, not 0) is one of them;
    None: counted again whole (another change, a list not as written or too
    long, a generation gone back to 0)."""
    if added is None or not isinstance(added, str) or changes <= 0:
        return None
    if len(added) > ADDED_CHARACTERS:
        return None
    try:
        ids = tuple(int(part) for part in added.split(",")[1:])
    except ValueError:
        return None
    if len(ids) != changes or added != "".join(f",{pk}" for pk in ids):
        return None  # not as written ("+1", " 1", "01"): counted again
    if len(set(ids)) != len(ids) or not all(0 < pk < 2**63 for pk in ids):
        return None
    return ids


def _caught_up(
    selection: str, behind: dict[int, tuple[dict, tuple]]
) -> tuple[dict, set[int]]:
    """Each row's counts with the cases come in since added: those cases
    counted alone (three grouped queries by their keys, their SQL kept), and
    the units to count whole instead. A unit is given only the cases it
    listed: a case no longer where it came in (moved since: by a change
    whose raise may not have come yet, or by a bare update, which sends
    none) has both units, where it came in and where it is, counted whole
    (one query finds where the listed cases are)."""
    ids = tuple(sorted({pk for _part, cases_in in behind.values() for pk in cases_in}))
    where = dict(
        compiled.rows(
            Submission,
            ("kept-counts-where",),
            lambda _at, *keys: Submission.objects.filter(pk__in=keys).values_list(
                "pk", "unit_id"
            ),
            keys=ids,
        )
    )
    whole = set()
    for unit, (_part, cases_in) in behind.items():
        moved = {where[pk] for pk in cases_in if pk in where and where[pk] != unit}
        if moved:
            whole |= {unit, *moved}
    # Deleted ones count nothing; those in place, each in its own unit.
    placed = tuple(
        pk
        for unit, (_part, cases_in) in behind.items()
        if unit not in whole
        for pk in cases_in
        if pk in where
    )
    counted = {}
    if placed:
        counted = cases(selection).summary_parts(
            by_unit=True,
            today=False,
            shape=("kept-counts-added", selection),
            cases=tuple(sorted(placed)),
        )
    caught = {
        unit: plain_part(add_parts([part, counted.get(unit, empty_part())]))
        for unit, (part, _cases_in) in behind.items()
        if unit not in whole
    }
    return caught, whole


def by_cases(name: str, units: Iterable[int], compute: Callable, *, valid: Callable):
    """`compute()`, a function of these units' cases alone, kept in the cache
    under what names their state (`_marks`), not under the value cache's
    versions: a flush leaves it, and a change of their cases (which raises
    their rows) or the nightly check (which counts every row again) names
    another. So `compute` reads the cases themselves, no value kept under
    the versions (a copy of them a moment old, or one an event lost left
    stale, would be kept past every flush). `name`: what is computed (with
    anything else it depends on: a year, the day, the language).
    `valid(value)`: whether a value found is one `compute` gives (anything
    else under the name is computed again).

    The statistics' 回音壁 figures of a town after a flush (docs/PERFORMANCE.md,
    "The statistics' 回音壁 figures kept by the cases' generations, and the
    回音壁 after a case acted on"): five grouped queries of the town's cases,
    where reading its rows is one."""
    ids = sorted(set(units) - {None})
    if settings.VALUE_CACHE_SECONDS <= 0 or not ids:
        return compute()
    marks = _marks(ids)
    if marks is None:
        return compute()
    # The rules and the code that count, and the settings pages show by.
    state = (name, RULES, release(), content_settings(), settings.TIME_ZONE, marks)
    key = _by_cases_key(state)
    found = cache.get(key)
    if _as_kept(found, state, valid):
        return found[1]
    value = compute()
    # Not inside a change's transaction (its raise comes at the commit).
    if caching.may_keep():
        cache.set(key, (state, value), timeout=BY_CASES_SECONDS)
    return value


def by_cases_each(
    name: str, units: Iterable[int], compute: Callable, *, valid: Callable
) -> dict:
    """`compute(ids)`: {unit: value} for each of these units, each a
    function of its unit's cases alone; kept per unit as `by_cases` keeps
    a value of several (under its unit's mark, outside the versions): a
    case of one unit computes that unit's again, not its town's. A unit
    without a trusted row is computed each time."""
    ids = sorted(set(units) - {None})
    if settings.VALUE_CACHE_SECONDS <= 0 or not ids:
        return compute(ids)
    common = (name, RULES, release(), content_settings(), settings.TIME_ZONE)
    states = {unit: (*common, mark) for unit, mark in _unit_marks(ids).items()}
    keys = {unit: _by_cases_key(state) for unit, state in states.items()}
    found = cache.get_many(list(keys.values())) if keys else {}
    values = {}
    for unit, key in keys.items():
        if _as_kept(found.get(key), states[unit], valid):
            values[unit] = found[key][1]
    missing = [unit for unit in ids if unit not in values]
    if missing:
        computed = compute(missing)
        values.update({unit: computed[unit] for unit in missing})
        kept = {keys[u]: (states[u], values[u]) for u in missing if u in keys}
        if kept and caching.may_keep():
            cache.set_many(kept, timeout=BY_CASES_SECONDS)
    return values


def _by_cases_key(state: tuple) -> str:
    return f"kept-counts:by-cases:{caching.digest(state)}"


def _as_kept(found, state: tuple, valid: Callable) -> bool:
    """Whether an entry found is as written: the name beside the value (a
    digest's collision, or anything else under the key, is computed
    again), the value one `compute` gives."""
    if type(found) is not tuple or len(found) != 2 or found[0] != state:
        return False
    try:
        return bool(valid(found[1]))
    except (AttributeError, TypeError, ValueError):
        return False


def _marks(units: list[int]) -> tuple | None:
    """Each unit's mark (`_unit_marks`), in order; None if one has none."""
    marks = _unit_marks(units)
    if len(marks) != len(units):
        return None
    return tuple(marks[unit] for unit in units)


def _unit_marks(units: list[int]) -> dict[int, tuple]:
    """Each unit's row of the home page's selection (every case on record):
    its id, generation and when its counts were last counted. A change of
    its cases raises the generation; the nightly check moves the time (an
    event lost by a process stopped between a commit and its raise is
    caught there, as for the wall's counts); a row deleted and added again
    is another row. None for a unit without a row yet, or one whose raise
    failed (marked not counted until a reader counts it again)."""
    table = connection.ops.quote_name(UnitCounts._meta.db_table)
    sql = (
        f"SELECT unit_id, id, generation, counted_generation, counted_at "
        f"FROM {table} "
        f"WHERE selection = %s AND unit_id IN ({', '.join(['%s'] * len(units))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ["home", *units])
        rows = cursor.fetchall()
    return {
        unit: (unit, pk, generation, str(counted))
        for unit, pk, generation, counted_generation, counted in rows
        if counted_generation is not None
    }


def _decoded(parts):
    return json.loads(parts) if isinstance(parts, str) else parts


def _rows(selection: str, units: list[int] | None) -> list[tuple]:
    """The selection's rows of these units (None: every unit's): unit,
    generation, counted generation, rules, counts (JSON text, or decoded),
    the cases come in since (`added`).
    Its SQL written once: a miss after a case reads a town's few rows, and
    building the query cost more than running it."""
    table = connection.ops.quote_name(UnitCounts._meta.db_table)
    sql = (
        # The counts as text, decoded here: a row not as written (nested
        # deeper than the decoder goes) is counted again, not a 500.
        f"SELECT unit_id, generation, counted_generation, rules, "
        f"CAST(parts AS TEXT), added "
        f"FROM {table} WHERE selection = %s"
    )
    params = [selection]
    if units is not None:
        if not units:
            return []
        sql += f" AND unit_id IN ({', '.join(['%s'] * len(units))})"
        params += units
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _add_rows(selection: str, units: list[int]) -> dict[int, int]:
    """New rows for these units, and their generations read after they are
    there (a change's upsert may have raised one meanwhile). Nothing added
    if the database refuses (a unit deleted meanwhile, SQLite's file locked
    by a writer): counted all the same."""
    try:
        with transaction.atomic():
            UnitCounts.objects.bulk_create(
                [UnitCounts(unit_id=unit, selection=selection) for unit in units],
                ignore_conflicts=True,
            )
    except DatabaseError:
        return {}
    return dict(
        UnitCounts.objects.filter(selection=selection, unit_id__in=units).values_list(
            "unit_id", "generation"
        )
    )


# Rows written by one statement (SQLite refuses an expression a thousand
# terms deep).
KEEP_BATCH = 400


def _keep(selection: str, generations: dict[int, int], parts: dict) -> None:
    """Write the counts where the generation is still the one read before
    counting, a batch of rows a statement. They are locked first, skipping
    those another transaction holds (its generation moves anyway): a page's
    write never waits for a lock. SQLite locks the whole file, skips
    nothing, and a writer holding it makes this give up (kept next time)."""
    chosen = sorted(generations)
    if len(chosen) == 1:  # a case's change: its unit's row alone
        _keep_one(selection, chosen[0], generations[chosen[0]], parts[chosen[0]])
        return
    for start in range(0, len(chosen), KEEP_BATCH):
        batch = chosen[start : start + KEEP_BATCH]
        rows = UnitCounts.objects.filter(selection=selection, unit_id__in=batch)
        try:
            with transaction.atomic():
                locked = rows.select_for_update(skip_locked=True).values_list(
                    "pk", "unit_id", "generation"
                )
                free = {
                    pk: unit
                    for pk, unit, generation in locked
                    if generation == generations[unit]
                }
                if not free:
                    continue
                UnitCounts.objects.filter(pk__in=list(free)).update(
                    parts=Case(
                        *(
                            When(
                                pk=pk,
                                then=Value(parts[unit], output_field=JSONField()),
                            )
                            for pk, unit in free.items()
                        ),
                        output_field=JSONField(),
                    ),
                    counted_generation=F("generation"),
                    rules=RULES,
                    counted_at=timezone.now(),
                    added="",
                )
        except DatabaseError:
            return  # kept next time; the page has its counts


def _keep_one(selection: str, unit: int, generation: int, part: dict) -> None:
    """One row, one statement, no transaction: it holds one lock, so never
    deadlocks, and waits for none: a row another transaction holds (a case
    coming in, `_came_in`, keeps its unit's rows until it commits; a
    change's upsert) is left as it is (its generation moves anyway). SQLite
    locks the whole file: its writer is waited for (up to the timeout)."""
    table = connection.ops.quote_name(UnitCounts._meta.db_table)
    where = "selection = %s AND unit_id = %s AND generation = %s"
    if connection.vendor == "postgresql":
        where = f"id = (SELECT id FROM {table} WHERE {where} FOR UPDATE SKIP LOCKED)"
    jsonb = "::jsonb" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {table} SET parts = %s{jsonb}, counted_generation = generation, "
        f"rules = %s, counted_at = %s, added = '' "
        f"WHERE {where}"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [json.dumps(part), RULES, now, selection, unit, generation]
    # In a transaction (a test, a command), a savepoint: a failure here
    # must not break it. Outside one, the statement alone.
    inside = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with inside, connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError:
        pass  # kept next time; the page has its counts


def changed_units(units: Iterable[int] | None) -> None:
    """Once the change commits: raise the generation of these units' rows
    (None: every unit's), adding those not there yet. After the commit, so
    that a change holds no lock on them: a change of several units' cases
    (an item made 党内) never deadlocks with another, nor makes a resident's
    POST wait for it."""
    ids = None if units is None else sorted(set(units) - {None})
    if ids == []:
        return
    transaction.on_commit(lambda: _raise(ids))


def _raise(ids: list[int] | None) -> None:
    every = ids is None
    if every:
        ids = list(Unit.objects.order_by("pk").values_list("pk", flat=True))
    try:
        _upsert(ids)
    except IntegrityError:
        # A unit deleted meanwhile (its rows with it): the others one by one.
        for unit in ids:
            try:
                _upsert([unit])
            except IntegrityError:
                pass
    except DatabaseError:
        # Not raised (a generation at its limit, the connection lost): marked
        # not counted instead, so that no page trusts them.
        logger.exception("kept counts of units %s not raised", ids)
        try:
            # The generation moved too (back to 0 at its limit): a count
            # under way, begun before the change, then writes nothing
            # (`_keep`: at the generation read).
            UnitCounts.objects.filter(unit_id__in=ids).update(
                counted_generation=None,
                added=None,
                generation=Case(
                    When(generation__lt=GENERATION_LIMIT, then=F("generation") + 1),
                    default=Value(0),
                ),
            )
        except DatabaseError:
            logger.exception("kept counts of units %s left as they were", ids)
    # The page cache's versions moved at the commit, before this: a page made
    # in between added up these rows not yet raised. Moved again.
    if every:
        caching.bump_version()
    else:
        caching.bump_scopes(
            ["wall", "cases", *(f"cases-{scope}" for scope in unit_scopes(ids))]
        )


def _upsert(ids: list[int], *, came_in: int | None = None) -> None:
    """Raise these units' rows, adding those not there. `came_in`: the case
    coming in (`_came_in`, its unit's rows alone), listed in `added`, the
    generation back to 0 at its limit (in a POST's transaction nothing may
    fail); otherwise the list emptied to null (counted whole)."""
    if not ids:
        return
    table = connection.ops.quote_name(UnitCounts._meta.db_table)
    rows = [(unit, selection) for unit in ids for selection in sorted(SELECTIONS)]
    values = ", ".join(["(%s, %s, 1, '', '{}')"] * len(rows))
    params = [value for row in rows for value in row]
    if came_in is None:
        update = f"generation = {table}.generation + 1, added = NULL"
    else:
        suffix = f",{came_in}"
        update = (
            f"generation = CASE WHEN {table}.generation < {GENERATION_LIMIT} "
            f"THEN {table}.generation + 1 ELSE 0 END, "
            f"added = CASE WHEN LENGTH({table}.added) + %s <= {ADDED_CHARACTERS} "
            f"THEN {table}.added || %s ELSE NULL END"
        )
        params += [len(suffix), suffix]
    # One statement, in order of unit: it waits at most for a page adding a
    # row (one short statement), and two never lock rows in opposite orders.
    sql = (
        f"INSERT INTO {table} (unit_id, selection, generation, rules, parts) "
        f"VALUES {values} ON CONFLICT (unit_id, selection) DO UPDATE SET {update}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _came_in(case: Submission) -> bool:
    """A case coming in (saved new inside a transaction: a resident's POST,
    the back office's add form): its unit's rows raised in its transaction,
    the case listed as come in since they were counted (`added`), so that a
    reader counts it alone and adds it to their counts (`read`). In the
    transaction, not after it: a count that began before it commits either
    has it in and then writes nothing (the generation it read is gone), or
    has it out and waits for the commit to find the same. Outside a
    transaction (the shell) the insert commits before the raise, and a
    count in between would have it twice: raised after, as any change
    (False). The statement cannot fail but with the transaction's other
    statements (the row exists, locked by none for long; a generation at
    its limit goes back to 0, which makes its unit counted whole): a
    resident's POST never loses its case to it.

    One unit a transaction: a batch of cases in several units (a load, an
    import) raises the others after its commit (False), so that two such
    batches never hold each other's rows (a deadlock would abort one)."""
    if not connection.in_atomic_block or case.pk is None or case.unit_id is None:
        return False
    held = _unit_held()
    if held is not None and held != case.unit_id:
        return False
    _upsert([case.unit_id], came_in=case.pk)
    if held is None:
        _hold(case.unit_id)
    return True


def _unit_held() -> int | None:
    """The unit whose rows this transaction raised for a case coming in
    (`_hold`), if it still holds them: its mark still among the
    transaction's commit hooks and not run (a savepoint rolled back drops
    the hooks made in it, as the database drops its locks; a commit runs
    them, a rollback drops them all)."""
    held = getattr(connection, "_kept_counts_held", None)
    if held is None:
        return None
    index, mark, unit = held
    hooks = connection.run_on_commit
    if index < len(hooks) and hooks[index][1] is mark and not mark.ran:
        return unit
    return None


def _hold(unit: int) -> None:
    def mark():
        mark.ran = True

    mark.ran = False

    transaction.on_commit(mark)
    connection._kept_counts_held = (len(connection.run_on_commit) - 1, mark, unit)


def _counter(selection: str, done: list[int] | None = None) -> Callable:
    """`read`'s `count` for a selection: its cases' counts of these units."""

    def count(ids):
        if done is not None:
            done.append(len(ids))
        # Its SQL kept (core.compiled), the units its parameters: a case
        # acted on counts one unit, and building the statements cost more
        # than running them.
        return cases(selection).summary_parts(
            by_unit=True,
            today=False,
            shape=("kept-counts", selection),
            units=tuple(ids),
        )

    return count


def refresh(batch: int = 50, *, again: bool = True) -> int:
    """Count again every row of every kept selection (`again` False: the
    stale ones), `batch` units at a time: the nightly check (warm_pages).
    The number of units' counts counted."""
    units = list(Unit.objects.order_by("pk").values_list("pk", flat=True))
    done: list[int] = []
    for selection in SELECTIONS:
        for start in range(0, len(units), batch):
            batch_of = units[start : start + batch]
            read(selection, batch_of, _counter(selection, done), again=again)
    return sum(done)


# A case acted on (accepted, answered, rated, moved, deleted, …; not one
# coming in: a resident's POST waits for nothing more): the units of its
# rows, where they are and were, are counted again by the request that
# acted, once its view has returned (its changes committed and raised:
# `recount_acted_on`), so that the wall's and the home page's next miss
# reads them counted (docs/PERFORMANCE.md, "The statistics' 回音壁 figures
# kept by the cases' generations, and the 回音壁 after a case acted on").
# Not at the verb's commit: a service may save its case again after
# announcing it (a rating that reopens the case), which raises the rows
# again. All of a request's units in one count (cases held back
# in bulk when an item turns 党内: one count of their units, which the
# next reader would otherwise make).
NOT_RECOUNTED = frozenset({"received"})
_acted = threading.local()


def acted_on(*units: int | None) -> None:
    """A case of these units changed in this request (not one coming in)."""
    found = getattr(_acted, "units", None)
    if found is None:
        found = _acted.units = set()
    found.update(units)


def recount_acted_on(get_response):
    """Middleware: after the view, count the stale (raised) rows of the
    units whose cases changed in this request (`acted_on`), as a reader
    would. A failure is logged, never raised: a reader counts them all the
    same."""

    def middleware(request):
        _acted.units = None  # anything a command or a test left
        try:
            return get_response(request)
        finally:
            units = (getattr(_acted, "units", None) or set()) - {None}
            _acted.units = None
            if units:
                recount(units)

    return middleware


def recount(units) -> None:
    """Count these units' stale rows of every selection now. Whatever
    fails is logged: the request's changes are committed, and a reader
    counts the rows all the same."""
    ids = sorted(set(units) - {None})
    for selection in SELECTIONS:
        try:
            read(selection, ids, _counter(selection))
        except Exception:
            logger.exception("kept counts of units %s not counted again", ids)


def _unknown(event: events.Event, field: str) -> bool:
    """Where the row was is unknown: saved over (or deleted as) a row it was
    not loaded from (core.loaded.not_loaded), or no row."""
    return event.instance is None or not_loaded(event, field)


def on_case_event(event: events.Event) -> None:
    row = event.instance
    if not event.is_row_event and row is not None:
        # A service's verb: its row's save raised its unit already.
        if isinstance(row, Submission) and event.name not in NOT_RECOUNTED:
            acted_on(row.unit_id)
        return
    if not isinstance(row, Submission) or _unknown(event, "unit_id"):
        # No row (ids alone: changed at once with update(), maybe moved):
        # where the cases were is unknown.
        changed_units(None)
        return
    if event.created and _came_in(row):
        return
    units = [row.unit_id, getattr(row, "_loaded_unit_id", None)]
    changed_units(units)
    if not event.created:
        acted_on(*units)


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
    units = list(
        Submission.objects.filter(pk__in=ids).values_list("unit_id", flat=True)
    )
    changed_units(units)
    acted_on(*units)
