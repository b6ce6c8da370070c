"""The compliance engine's counts of a unit kept by what they were counted
from, not by the value cache's versions (docs/PERFORMANCE.md, "The
statistics and the matrix after a flush").

`compliance.counts_by_unit` keeps each unit's counts under its scopes'
versions. A change that names no scope (a bulk load, an event with no row)
moves every version: the town's counts were evaluated again from rows that,
for most units, had not changed (the statistics' and the matrix's cold
pages). These entries are named by a digest of everything a unit's counts
are a function of, read afresh: its rows, the requests that reach it, the
catalog's counted items and rules, the year, the quarter, the release (the
engine's code). Same inputs, same counts: an entry is never stale, only
unused, and a version moved leaves it. It holds for the days its counts hold
through (`compliance.steady_through`), from the day it was counted.

What a unit's counts depend on, counted with the others of its town
(`evaluate`, the units chosen, the rows of all of them): its own rows, its
requests and the rows they name, the requests answered by its rows (which
use them up), and the requests routed to it for the days its counts turn on
(`counts_by_unit`'s rows). An event registered for one unit and linked to a
disclosure of another (the form refuses it) would use that disclosure up
only when both are counted together: with such a link, nothing here is used.

Used only when many units are counted at once (a flush, midnight, a catalog
change): one unit counted again after its change costs less than its digest
and a round trip.
"""

from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache

from core.caching import digest
from core.release import release

# Fewer units counted at once are counted without these entries.
MANY = 4
# How long an entry is kept from when it is written (a town's counts after
# a flush are those of the last time each unit of it was counted).
SECONDS = 3 * 24 * 3600


def wanted(units: int) -> bool:
    return units >= MANY and settings.VALUE_CACHE_SECONDS > 0


def common_digest(*, items, rules: dict, year: int, within, kind) -> str:
    """What every unit's counts of one call are a function of: the catalog's
    counted items and rules (by the catalog's kind), the year, the quarter."""
    # The kind as text: the form gives the enum member, a link the text.
    return digest(
        (release(), tuple(items), sorted(rules.items()), year, within, str(kind or ""))
    )


def linked_across(events: Iterable, filings: Iterable) -> bool:
    """Whether an event is linked to a disclosure of another unit."""
    unit_of = {f.id: f.unit_id for f in filings}
    return any(
        e.disclosure_id in unit_of and unit_of[e.disclosure_id] != e.unit_id
        for e in events
    )


def keys(
    common: str, units: list, rows: dict, filings: list, requests: list
) -> dict[int, str]:
    """Each unit's entry's name: `units` (id, level) specs; `rows`: each
    unit's filings, events and routed requests (`counts_by_unit`);
    `filings`: the rows of every unit counted; `requests`: every request
    read (the town's)."""
    by_id = {f.id: f for f in filings}
    answering: dict[int, list] = {}
    for request in requests:
        if request.disclosure_id in by_id:
            owner = by_id[request.disclosure_id].unit_id
            answering.setdefault(owner, []).append(request)
    named = {}
    for unit in units:
        its_filings, its_events, routed = rows[unit.id]
        # Requests by id: their order counts for nothing (`evaluate` sorts
        # them), and follows the units' (a village moved up the list). The
        # rows as given: two of one period published the same day are
        # taken in that order.
        routed = sorted(routed, key=lambda r: r.id)
        own = sorted((r for r in requests if r.unit_id == unit.id), key=lambda r: r.id)
        answered = [by_id.get(r.disclosure_id) for r in own]
        named[unit.id] = "compliance:counts-memo:" + digest(
            (
                common,
                unit,
                its_filings,
                its_events,
                routed,
                own,
                answered,
                sorted(answering.get(unit.id, ()), key=lambda r: r.id),
            )
        )
    return named


def read(named: dict[int, str], day) -> dict:
    """The counts kept under these names that hold on `day`: {unit id: counts}."""
    if not named:
        return {}
    found = cache.get_many(list(named.values()))
    kept = {}
    for unit, name in named.items():
        entry = found.get(name)
        if _as_written(entry) and entry[0] <= day <= entry[1].through:
            kept[unit] = entry[1]
    return kept


def _as_written(entry) -> bool:
    """Whether an entry is (day, UnitCounts) as `write` keeps it (none, or
    anything else under its name, is counted again)."""
    from .compliance import Settled, UnitCounts  # it imports this module

    if type(entry) is not tuple or len(entry) != 2:
        return False
    counted_on, counts = entry
    return (
        type(counted_on) is date
        and type(counts) is UnitCounts
        and type(counts.through) is date
        and (counts.answer_due is None or isinstance(counts.answer_due, datetime))
        and type(counts.by_category) is dict
        and all(type(part) is Settled for part in counts.by_category.values())
    )


def write(named: dict[int, str], counted: dict, day) -> None:
    """Keep these counts (as of `day`) under their names."""
    entries = {
        named[unit]: (day, counts) for unit, counts in counted.items() if unit in named
    }
    if entries:
        cache.set_many(entries, timeout=SECONDS)
