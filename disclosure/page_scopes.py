"""The page cache's scopes of disclosures and units (core.content, core.caching).

A change names the scopes whose pages it changes: "unit:<slug>" (the unit's
board, its feed, the list filtered to it), "town:<slug>", "disclosure:<pk>"
(its own page) and "year:<year>"; a page names those it shows. A row that no
public page shows (a draft, a notice under review, never published) changes
none. What a page shows of other things (the unit's name, the catalog) is
announced without a scope and makes every page stale.

Two more: "periods", the county's set of periods that the list's filter
offers (a DISTINCT over every visible row, whichever unit the list shows):
named only when a change may add or remove one, i.e. when no other row
that visitors see (hence everyone: members see more) holds the row's period
now or as loaded; looked at again after the commit when another row held
it (a concurrent change may have taken that one away). A
`QuerySet.update()` of `period` would escape that (none exists: a period
is set on the row's form). And what the 回音壁 shows
of a disclosure (a case's answer or subject, `register_links`): the cases
linking it ("wall", "submission:<pk>").
"""

import re
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, Q
from django.utils import timezone

from catalog.models import Scope
from catalog.page_scopes import CATALOG, COUNTED, DEPARTMENTS, FILED, GROUPED
from core import caching, content
from core.content import ANY

from .models import Disclosure, Inspection, ObligationEvent, Rectification, Unit

PUBLIC_STATUSES = {Disclosure.Status.PUBLISHED, Disclosure.Status.WITHDRAWN}

# Unit id -> (slug, its town's slug), and every unit's slug, read on every
# change (a 回音壁 POST included) and changed almost never: kept per process,
# forgotten on any unit's row event (`forget_slugs`), when the global version
# or UNITS moves (a unit's change in another process names it: otherwise this
# process would bump the old slug's pages only, and the new slug's pages would
# go on showing the unit as they were) and after SLUGS_SECONDS.
SLUGS_SECONDS = 60
_slugs: dict[int, tuple[str, str | None]] = {}
_slugs_known: set[str] = set()
# (when, under which global version) they were last forgotten.
_slugs_since = [0.0, None]


# The transactions (their outermost block but a test's) in which a unit
# changed and are not known to have committed: what was read of the units
# during one is forgotten once it has ended without (rolled back: no
# UNITS bump, its on_commit, will come), `_fresh_slugs`.
_unsettled: list = []


def forget_slugs(event=None) -> None:
    _slugs.clear()
    _slugs_known.clear()
    _slugs_since[0] = time.monotonic()
    _slugs_since[1] = None
    if event is not None:
        _watch(transaction.get_connection())


def _watch(connection) -> None:
    blocks = [
        block
        for block in connection.atomic_blocks
        if not getattr(block, "_from_testcase", False)
    ]
    if not blocks or any(block is blocks[0] for block in _unsettled):
        return
    block = blocks[0]
    _unsettled.append(block)
    transaction.on_commit(lambda: _settled(block))


def _settled(block) -> None:
    _unsettled[:] = [p for p in _unsettled if p is not block]


def settle_slugs(**kwargs) -> None:
    """At a request's start: a transaction still unsettled ended without
    committing (a view's `atomic` block object may be used again)."""
    if _unsettled:
        _unsettled.clear()
        forget_slugs()


def _fresh_slugs() -> None:
    if _unsettled:
        live = transaction.get_connection().atomic_blocks
        ended = [p for p in _unsettled if not any(b is p for b in live)]
        if ended:
            _unsettled[:] = [p for p in _unsettled if p not in ended]
            forget_slugs()
    # A unit's change in another process names UNITS (unit_change_scopes).
    current = (caching.version(), *caching.scope_versions([UNITS]))
    if time.monotonic() - _slugs_since[0] > SLUGS_SECONDS or _slugs_since[1] != current:
        forget_slugs()
        _slugs_since[1] = current


def unit_scopes(unit_ids, *, fresh: bool = False) -> list[str]:
    """The scopes of these units' pages: "unit:<slug>", and "town:<slug>"
    of a village's town. `fresh`: read from the database, not this process's
    copy, which may miss a move another process made within the second (a
    change of an existing row, whose counts are kept for a day under these
    names; a new 回音壁 case, the busiest write, reads the copy)."""
    ids = set(unit_ids) - {None}
    _fresh_slugs()
    if fresh:
        for pk in ids:
            _slugs.pop(pk, None)
    if missing := ids - _slugs.keys():
        for pk, slug, town in Unit.objects.filter(pk__in=missing).values_list(
            "pk", "slug", "parent__slug"
        ):
            _slugs[pk] = (slug, town)
    scopes = []
    for pk in sorted(ids & _slugs.keys()):
        slug, town = _slugs[pk]
        scopes.append(f"unit:{slug}")
        if town:
            scopes.append(f"town:{town}")
    return scopes


def known_slug(slug: str) -> bool:
    """Whether a unit has this slug: a page's scope is named after a unit
    only if one exists, so that a made-up name in a URL keeps no version in
    the shared cache (one key per request, for ever). Unknown: the page
    names "any" (it is a 400 or 404, not kept anyway)."""
    if not SLUG.fullmatch(slug):
        return False
    _fresh_slugs()
    if not _slugs_known:
        _slugs_known.update(Unit.objects.values_list("slug", flat=True))
    return slug in _slugs_known


PERIODS = "periods"
# Every row that is or was published, whole (its status, its time): named by
# such a row's change, not by a 回音壁 case or a part of a row. What reads
# published rows of the whole county and nothing else (the span of
# publications, compliance.publication_span) is kept until it moves, not
# until anything changes ("any").
PUBLISHED = "published"
# What the span of publications tells (compliance.publication_span): the
# years with data and whether the portal is an archive. Named when a change
# may move them: a row leaving the span or moving in it at once; a row
# coming into it once committed, unless the span kept then already tells
# what it would with the row (`_recheck_span`): a publication inside the
# span's years of a live portal, the day's usual one, after which every
# compliance, statistics and home page would otherwise read the span and
# the next publication county-wide again. What the clock changes in it (a
# scheduled row outside those years) is its "span:" fact's (`next_change`).
SPAN = "publication-span"
# Every unit (the choice lists, the wall's groups): named by a unit's change.
UNITS = "units"
# Scopes of rows no schedule changes (the catalog, units, tags): a page or
# figure naming them lives as long as its other scopes allow (next_change).
SAVED_ONLY = {CATALOG, DEPARTMENTS, UNITS, "tags"}
# What a value kept under a catalog scope is made of, kept under narrower
# ones (`read_through`): the engine's rows (FILED), its counts (COUNTED),
# the counts by kind and category (GROUPED). A change naming a narrower one
# names CATALOG too (catalog.page_scopes.catalog_scopes), so depending on
# them makes no value again more often.
_CATALOG_PARTS = {CATALOG: (COUNTED, GROUPED, FILED), COUNTED: (FILED,)}


def town_slugs(town: Unit) -> list[str]:
    """The slugs of the town and its villages, kept until a unit changes."""
    return caching.cached(
        f"town-slugs:{town.pk}",
        lambda: list(Unit.objects.of_town(town).values_list("slug", flat=True)),
        scopes=[UNITS],
    )


def read_through(where: Unit, scopes: list[str]) -> list[str]:
    """`scopes` of a value kept for `where`, with the scopes of the kept
    values it is made of: a town's villages' "unit:" and "cases-unit:" (of
    the kinds in `scopes`) and the catalog's narrower parts.

    Before a process's copies of versions were of one moment
    (core.caching.scope_versions, its epoch), a value made again because the
    town's scope moved, with a village's copy a moment old, added up that
    village's counts from before the change and kept them under the town's
    new version for a day; with the village's scope in its own, such a value
    is one nobody asks for (kept beside the epoch: the slugs are a copy of
    rows, not versions). A village's change names
    its town's scope too, so the town's value is made no more often. Also
    what a case of a village names when this process has not yet seen
    another's move of it: the village's "cases-unit:", not its new town's.
    With the value cache off nothing is kept: `scopes` as they are."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return list(scopes)
    extra = [part for scope in scopes for part in _CATALOG_PARTS.get(scope, ())]
    kinds = {scope.partition(":")[0] for scope in scopes} & {"unit", "cases-unit"}
    if kinds and where.kind == Unit.Kind.TOWN:
        slugs = town_slugs(where)
        extra += [f"{kind}:{slug}" for kind in sorted(kinds) for slug in slugs]
    return list(dict.fromkeys([*scopes, *extra]))


# A unit's slug as the URLs' <slug:>, checked before the known slugs are
# looked at (`known_slug`: a made-up name keeps no version).
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,80}")
# (scopes_of, shown): scopes_of(disclosure pks) -> the scopes of the pages
# that show those disclosures from elsewhere (feedback: the cases answered by
# or about them); shown(scope) -> a Q of the disclosures such a page shows
# (for their scheduled publications), None if the scope is not that app's.
_links: list[tuple[Callable, Callable | None]] = []


def request_scopes(scopes) -> list[str]:
    """ "requests-unit:<slug>" of each "unit:<slug>" of `scopes`: what a
    change of one of the unit's 点题 requests, or of a disclosure answering
    one, names besides (feedback.page_scopes), and the engine's copy of the
    unit's requests is kept under (`compliance.load_inputs`), apart from its
    disclosures, which a publication there changes."""
    return [f"requests-{scope}" for scope in scopes if scope.startswith("unit:")]


def register_links(scopes_of: Callable, shown: Callable | None = None) -> None:
    _links.append((scopes_of, shown))


def _row_scopes(rows, *, whole: bool = True) -> list[str]:
    """rows: (pk, unit ids it is or was in, status now and as loaded, years,
    period now and as loaded, its part in the span of publications:
    `_span_part`). `whole`: the row itself changed (not a part: an
    attachment, a trail event), so its period and links may have."""
    scopes, units, pks, periods, span_parts = [], [], [], set(), {}
    for pk, unit_ids, statuses, years, row_periods, span_part in rows:
        if not PUBLIC_STATUSES & set(statuses):
            continue  # never on a public page, before nor after
        span_parts[pk] = span_part
        scopes.append(f"disclosure:{pk}")
        scopes += [f"year:{y}" for y in years if y]
        units += unit_ids
        pks.append(pk)
        periods.update(p for p in row_periods if p)
    if whole and pks:
        scopes.append(PUBLISHED)
        if LEAVES in span_parts.values():
            scopes.append(SPAN)
        elif joining := [pk for pk, part in span_parts.items() if part == JOINS]:
            transaction.on_commit(lambda: _recheck_span(joining))
        if _period_may_change(pks, periods):
            scopes.append(PERIODS)
        elif periods:
            # The other rows holding these periods may be leaving at the same
            # time in another transaction, whose check saw these rows still
            # there: looked at again once committed (the last one sees both).
            transaction.on_commit(lambda: _recheck_periods(pks, periods))
        for scopes_of, _shown in _links:
            scopes += scopes_of(pks)
    # Read fresh, not from this process's copy: within a second of another
    # process's new slug or move the copy names where the unit was, and the
    # counts kept per unit under where it is (disclosure.figures.
    # counted_by_unit, compliance.load_inputs) would stay (one query; a
    # 回音壁 POST, the busiest write, reads the copy).
    return scopes + unit_scopes(units, fresh=True) if units else scopes


def _recheck_periods(pks, periods) -> None:
    if _period_may_change(pks, periods):
        caching.bump_scopes([PERIODS])


def _period_may_change(pks, periods) -> bool:
    """Whether the set of periods on offer may change: a period of these rows
    that no other row visible to visitors holds."""
    others = Disclosure.objects.visible_to(None).exclude(pk__in=pks)
    return any(not others.filter(period=p).exists() for p in sorted(periods))


# A row's part in the span of publications: it neither was nor is counted
# in it, or is counted at the same time as before (UNMOVED); it comes into
# it (JOINS); it leaves it, its time moves, or what it was is unknown (LEAVES).
UNMOVED, JOINS, LEAVES = "unmoved", "joins", "leaves"


def _span_part(row: Disclosure, loaded_status) -> str:
    now = row.published_at if row.status == Disclosure.Status.PUBLISHED else None
    was = None
    if loaded_status == Disclosure.Status.PUBLISHED:
        was = getattr(row, "_loaded_published_at", None)
    if was == now:
        return UNMOVED
    return JOINS if was is None else LEAVES


def _recheck_span(pks) -> None:
    """Once these rows that came into the span are committed: SPAN named
    unless the span kept now (under the version every process reads now,
    not this one's copy of it) tells what it would with them, whichever
    rows it was read from (`_span_may_move`)."""
    if _span_may_move(pks):
        caching.bump_scopes([SPAN])


def _span_may_move(pks) -> bool:
    """Whether the span kept now may tell less than the rows with these:
    none is kept, it is an archive's (its default day is its last
    publication's), or one of them is published (as the database holds it,
    whatever the instance saved held) outside its years. Adding rows inside
    the years to a live portal's rows changes none of what the span tells:
    a span read before these rows came in (another process's, after a
    withdrawal beside this publication) is as right as one read after.
    Only its last moment is a little early: it is kept no longer than that
    says the portal is live (compliance.publication_span). The rows' times
    are read whatever their scope, as the span counts every published row's
    year; nothing read here is shown, it only drops a kept copy."""
    from . import compliance

    kept = compliance.kept_span()
    if kept is None or not compliance.is_live(kept):
        return True
    first, last = (timezone.localtime(moment).year for moment in kept)
    published = Disclosure.objects.filter(
        pk__in=pks, status=Disclosure.Status.PUBLISHED
    ).values_list("published_at", flat=True)
    return any(not first <= timezone.localtime(at).year <= last for at in published)


# The events announced by id alone (after a `QuerySet.update`, a service's)
# and what they tell of the rows' part in the span: a correction and an
# item made 党内 move no row's status nor time (a correction follows the
# save of the row, which told); any other, "published" too (an update may
# have moved rows published already), unknown.
_SPAN_PART_OF_EVENT = {
    "corrected": UNMOVED,
    "made_inner_party": UNMOVED,
}


def _from_instance(row: Disclosure, *, span_known: bool = True):
    loaded_unit = getattr(row, "_loaded_unit_id", None)
    loaded_status = getattr(row, "_loaded_status", None)
    periods = [row.period, getattr(row, "_loaded_period", None)]
    years = [row.period_start and row.period_start.year]
    years.append(row.published_at and row.published_at.year)
    # The year of the period it leaves (a list's count by period names it).
    years += [int(p[:4]) for p in periods[1:] if p and p[:4].isdigit()]
    statuses = [row.status, loaded_status]
    span = _span_part(row, loaded_status) if span_known else LEAVES
    return (row.pk, [row.unit_id, loaded_unit], statuses, years, periods, span)


def _from_ids(ids, event_name: str = ""):
    span_part = _SPAN_PART_OF_EVENT.get(event_name, LEAVES)
    return [
        (
            pk,
            [unit_id],
            [status],
            [start and start.year, at and at.year],
            [period],
            span_part,
        )
        for pk, unit_id, status, start, at, period in Disclosure.objects.filter(
            pk__in=ids
        ).values_list(
            "pk", "unit_id", "status", "period_start", "published_at", "period"
        )
    ]


def disclosure_scopes(event) -> list[str]:
    if event.instance is not None and isinstance(event.instance, Disclosure):
        # Deleted, or loaded as it is (a fixture, a restore: not read before):
        # it may leave the span, or move in it. A service's event with the
        # row as it saved it (services._move): as loaded, since that save.
        known = event.name != "deleted" and not event.raw
        scopes = _row_scopes([_from_instance(event.instance, span_known=known)])
        # A deletion: the cases it answered no longer point at it (below).
        return scopes + getattr(event.instance, "_linked_before_delete", [])
    return _row_scopes(_from_ids(event.ids, event.name))


def remember_links(sender, instance, **kwargs) -> None:
    """pre_delete of a disclosure: the scopes of the pages that show it from
    elsewhere, read before Django sets their links to none with an UPDATE
    (a case's `fulfilled_by`, an event's `disclosure`), which announces
    nothing: the units of the events it met too (their rows the compliance
    engine keeps, `compliance.load_inputs`)."""
    if isinstance(instance, Disclosure) and instance.pk is not None:
        events_met = ObligationEvent.objects.filter(disclosure=instance.pk)
        instance._linked_before_delete = [
            *(
                scope
                for scopes_of, _shown in _links
                for scope in scopes_of([instance.pk])
            ),
            *unit_scopes(events_met.values_list("unit_id", flat=True)),
        ]


def unit_change_scopes(event) -> list[str] | None:
    """A unit's change (its name, slug, place in the tree, kind, board
    facts): every page shows units' names (`shown_everywhere`: NAMES), but
    the kept figures that read it are its own ("unit:<slug>"), its town's
    ("town:<slug>", where it is and was) and those listing every unit
    (UNITS: the choice lists, the units the wall adds up). A town's own
    change names "town:<slug>" too (its villages' counts kept with it).
    None (every page and value): a change with no row to tell where.

    The 回音壁's counts (feedback.summary, "cases-…") read no unit's field
    but which units a town holds and the slug a unit's own counts are kept
    by: a town's ("cases-town:") named only when the first may have changed
    (a slug, a town or a kind changed, or a new or deleted unit), a unit's
    own ("cases-unit:") when the second did (or new, or deleted); neither
    when a unit is given another name."""
    row = event.instance
    if not isinstance(row, Unit):
        return None
    loaded = [getattr(row, f"_loaded_{name}", None) for name in Unit.kept_as_loaded]
    slug, parent, kind = loaded
    if not event.created and slug is None:
        # Saved over (or deleted as) a row it was not loaded from (built by
        # hand, a restore): where it was is unknown.
        return None
    scopes = {UNITS, f"unit:{row.slug}", *_names_shown_with(row)}
    if slug:
        scopes.add(f"unit:{slug}")
    if Unit.Kind.TOWN in (row.kind, kind):
        scopes.update(f"town:{s}" for s in (row.slug, slug) if s)
    parents = {row.parent_id, parent} - {None}
    if parents:
        scopes.update(
            f"town:{s}"
            for s in Unit.objects.filter(pk__in=parents).values_list("slug", flat=True)
        )
    now = [getattr(row, name) for name in Unit.kept_as_loaded]
    if (
        event.name == "saved"
        and not event.created
        and (parent, kind)
        != (
            row.parent_id,
            row.kind,
        )
    ):
        # Moved (or made a town): the units whose disclosures answer its
        # 点题 requests count those answers as used up only with it in their
        # town (compliance.counts_by_unit): their counts change (one query).
        from . import compliance

        answering = compliance.answering_units([row.pk])
        scopes.update(unit_scopes(answering, fresh=True) if answering else [])
    if event.name != "saved" or event.created or slug is None or loaded != now:
        # Which units a town holds may have changed: its counts of cases.
        scopes.update([f"cases-{s}" for s in scopes if s.startswith("town:")])
    if event.name != "saved" or event.created or slug != row.slug:
        # A unit's own counts are kept by its slug: new, gone or renamed
        # (not moved: its cases are the same).
        scopes.update(f"cases-unit:{s}" for s in {row.slug, slug} if s)
    return sorted(scopes)


def _names_shown_with(unit: Unit) -> list[str]:
    """The name scopes (`content.name_scope`) of the rows shown with this
    unit's name: its own, its villages' (a 回音壁 card shows a village's
    town too: a 包村干部's answer is the town's) and its bodies' (a body's
    full name starts with its unit's)."""
    scopes = [content.name_scope("unit", unit.pk)]
    if unit.pk is None:
        return scopes
    scopes += [
        content.name_scope("unit", pk)
        for pk in Unit.objects.filter(parent_id=unit.pk).values_list("pk", flat=True)
    ]
    scopes += [
        content.name_scope("body", pk)
        for pk in unit.organisations.values_list("pk", flat=True)
    ]
    return scopes


def unit_row_scopes(event) -> list[str] | None:
    """A row kept for a unit that pages count beside its disclosures (an
    obligation event, an inspection, a rectification): the pages and
    figures that count it are its unit's and town's (the compliance pages,
    the statistics), where it is and was (`_loaded_unit_id`,
    `models.units.KeptForUnit`); no page names it. None: no row to tell."""
    row = event.instance
    if row is None or getattr(row, "unit_id", None) is None:
        return None
    units = [row.unit_id, getattr(row, "_loaded_unit_id", None)]
    if isinstance(row, Inspection) and row.pk is not None:
        # Its notices are counted by the check's year, on their units' pages.
        units += Rectification.objects.filter(inspection=row).values_list(
            "unit_id", flat=True
        )
    return unit_scopes(units, fresh=True)  # as `_row_scopes`


def shown_only(event) -> list[str]:
    """A row that pages show (a notice board) but no kept figure counts:
    every page follows (NAMES, with `shown_everywhere`), no kept value."""
    return []


def body_scopes(event) -> list[str] | None:
    """A body (its name, its unit, its members): every page follows
    (NAMES, with `shown_everywhere`), no kept value; the 回音壁's cards that
    name it as the answerer follow its own name scope. None: no row to
    tell."""
    if not event.ids:
        return None
    return [content.name_scope("body", pk) for pk in event.ids]


def part_scopes(event) -> list[str] | None:
    """An attachment, a table or a trail event: its disclosure's scopes,
    the one it is part of and the one it was (`models.units.KeptForDisclosure`)."""
    row = event.instance
    if row is None or getattr(row, "disclosure_id", None) is None:
        return None
    ids = {row.disclosure_id, getattr(row, "_loaded_disclosure_id", None)} - {None}
    return _row_scopes(_from_ids(sorted(ids)), whole=False)


def unit_scope(request, kwargs) -> list[str]:
    slug = kwargs["slug"]
    return [f"unit:{slug}"] if known_slug(slug) else [ANY]


def board_audience(request, kwargs, audience: str) -> str:
    """A branch member's copy of another unit's board is the copy of a
    member of no branch (`Reader.on_board_of`, as the board view renders
    it); `audience` is `models.page_audience`'s, "member:party:<branch>@<the
    branch's unit slug>" for a branch member."""
    return _on_unit(audience, kwargs.get("slug"))


def party_audience(request, kwargs, audience: str) -> str:
    """A page the same for every party member whatever their branch (the
    compliance matrix counts filings of every scope and shows no title):
    one copy for all of them."""
    name, _, _ = audience.partition("@")
    return "member:party:" if name.startswith("member:party:") else audience


def list_audience(request, kwargs, audience: str) -> str:
    """The list filtered to one unit, as that unit's board (`board_audience`,
    `Reader.on_list_of`, as the list view renders it); any other list is the
    member's own branch's copy (their 党组织内部 rows of every period)."""
    slug = listed_unit(request)
    return _on_unit(audience, slug) if slug else audience


def listed_unit(request) -> str:
    """The slug of the one unit the list is filtered to, or "" for none: the
    form's 全部单位 sends an empty `unit`; two of them (a hand-made URL) are
    read as the unfiltered list is, the branch's own copy."""
    units = request.GET.getlist("unit")
    return units[0] if len(units) == 1 else ""


def _on_unit(audience: str, slug: str | None) -> str:
    """A branch member's audience on the pages of the unit `slug`: the copy
    of a member of no branch, but on their branch's own unit's."""
    name, at, unit_slug = audience.partition("@")
    if at and name.startswith("member:party:") and unit_slug != slug:
        return "member:party:"
    return audience


def detail_audience(request, kwargs, audience: str) -> str:
    """A branch member's copy of a disclosure's page is the copy of a member
    of no branch (`Reader.on_page_of`) unless it is a 党组织内部 one: then only
    its branch reads it (another branch gets a 404, which is not kept). The
    row's scope kept under its own scope, as the page is."""
    name, at, _ = audience.partition("@")
    if not (at and name.startswith("member:party:")):
        return audience
    pk = kwargs["pk"]
    # Not through the visibility rule on purpose: a fact that picks which
    # copy to look up, never shown; the page itself reads the row through
    # `visible_to` (a 404 for whoever may not see it).
    branch_row = caching.cached(
        f"branch-row:{pk}",
        lambda: Disclosure.objects.filter(pk=pk, scope=Scope.BRANCH).exists(),
        scopes=[f"disclosure:{pk}"],
    )
    return audience if branch_row else "member:party:"


def list_scope(request, kwargs) -> list[str]:
    """The list filtered to one unit (its other filters only narrow it): that
    unit's rows and the periods its filter offers; else anything."""
    slug = listed_unit(request)
    if slug and known_slug(slug):
        return [f"unit:{slug}", PERIODS]
    return [ANY]


def detail_scope(request, kwargs) -> list[str]:
    return [f"disclosure:{kwargs['pk']}"]


def next_change(scopes: list[str], after):
    """The next scheduled publication or public date (先党内后党外) in these
    scopes: when a page showing them changes with no save.

    Each scope narrows the rows looked at: a unit's, a town's units', a
    disclosure; the periods on offer (a row bringing a period nobody sees
    yet); the publication span (a row outside its years); the disclosures
    another app's pages show (`register_links`: the cases' answers). Any
    other (a year, "any"): the whole county."""
    rows, times, county = Q(pk__in=[]), [], False
    for scope in scopes:
        kind, _, key = scope.partition(":")
        if kind == "unit":
            rows |= Q(unit__slug=key)
        elif kind == "town":
            rows |= Q(unit__parent__slug=key)
        elif kind == "disclosure" and key.isdigit():
            rows |= Q(pk=int(key))
        elif scope == PERIODS:
            times.append(_next_new_period(after))
        elif kind == "span":
            first, _, last = key.partition("-")
            if int(first) < 1:  # "span:0-0": no publication yet, any brings one
                rows |= Q(pk__isnull=False)
            else:
                rows |= Q(published_at__year__lt=int(first))
                rows |= Q(published_at__year__gt=int(last))
        elif kind == "asof":
            times.append(_asof_change(key, after))
        elif scope == SPAN:
            continue  # what the clock changes in it: its "span:" fact's
        elif scope in SAVED_ONLY:
            continue  # changed by saves alone: nothing scheduled in them
        elif (shown := _shown_by_links(scope)) is not None:
            rows |= shown
        else:
            # The whole county; the other scopes still read for what the
            # clock changes apart from rows (a page naming "any" and the
            # default day: the statistics turning an archive's).
            county = True
    if county:
        rows = Q()
    times.append(Disclosure.objects.filter(rows).next_scheduled(after))
    return min((t for t in times if t is not None), default=None)


def _shown_by_links(scope: str):
    for _scopes_of, shown in _links:
        if shown is not None and (found := shown(scope)) is not None:
            return found
    return None


def _next_new_period(after):
    """The first scheduled row after `after` (a publication, a public date)
    whose period no row visible to visitors at `after` held: the periods on
    offer change then. Kept until any change (`caching.kept_next`), found
    again once it came due. Held as at `after`, not now: a figure read just
    before a row came out is bounded by it (`caching.Due.kept_seconds`)."""

    def find(after):
        # The scheduled rows' periods first, each with its first time (few,
        # by index; the rows themselves are thousands at county scale), then
        # which of those periods are held: an anti-join over every row took
        # seconds.
        found = Disclosure.objects.filter(status=Disclosure.Status.PUBLISHED)
        due = [
            (period, at)
            for field in ("published_at", "public_from")
            for period, at in found.filter(**{f"{field}__gt": after})
            .order_by()
            .values_list("period")
            .annotate(at=Min(field))
        ]
        held = _held_periods({period for period, _ in due}, after)
        return min((at for period, at in due if period not in held), default=None)

    return caching.kept_next("next-due:periods", find, after)


def _held_periods(periods: set[str], at) -> set[str]:
    """Which of these periods a row visible to visitors at `at` holds: an
    EXISTS a period, each ending at its first row (disclosure_period_idx),
    a hundred periods a statement. A DISTINCT over their rows read every
    row of the scheduled periods (thousands at county scale: 11 ms)."""
    visible = Disclosure.objects.visible_to(None, at=at).order_by()
    ordered, held = sorted(periods), set()
    for start in range(0, len(ordered), 100):
        chunk = ordered[start : start + 100]
        checks = {
            f"p{n}": Exists(visible.filter(period=period))
            for n, period in enumerate(chunk)
        }
        # Uncorrelated: each EXISTS is run once, over any one row (a period
        # is only scheduled in a unit, so a unit is there).
        row = next(
            iter(Unit.objects.order_by().annotate(**checks).values_list(*checks)[:1]),
            (),
        )
        # No unit (row empty): no row holds any.
        held.update(p for p, found in zip(chunk, row, strict=False) if found)
    return held


def _asof_change(key: str, after):
    """The compliance pages' default day (compliance.reference_date): today
    for a live portal until a year after its last publication; an archive's
    last publication day, moved by any publication."""
    from . import compliance

    span = compliance.publication_span()
    if span is None or key != timezone.localdate().isoformat():
        return Disclosure.objects.next_scheduled(after)
    return span[1] + compliance.ARCHIVE_AFTER


def everything_as_of(request, kwargs) -> list[str]:
    """A page that may show anything and reads the county's years and
    default day (the statistics, the county's overview: "截至…"): "any",
    and the facts (`compliance_facts`), so that it also ends when the
    portal turns into an archive (`_asof_change`), not at midnight."""
    return [*compliance_facts(), ANY]


def compliance_facts() -> list[str]:
    """What every compliance page reads from the whole county: the years
    with data (the choice of years, the default one) and the default day
    (compliance.reference_date), as scope names: a page is kept apart for
    each, and lives until a scheduled change could move them."""
    from . import compliance

    return [*span_facts(), f"asof:{compliance.reference_date().isoformat()}"]


def span_facts() -> list[str]:
    """The county's years with data as scope names: SPAN, which a change
    that may move them names, and the years ("span:2016-2026"). A page
    reading them (a choice of years, the latest year's figures) names both,
    so it is kept apart for each span, made again when a change may have
    moved it, and lives until a scheduled publication outside it
    (`next_change`)."""
    from . import compliance

    return [SPAN, years_fact(compliance.years_with_data())]


def years_fact(years: list[int]) -> str:
    return f"span:{years[-1]}-{years[0]}" if years else "span:0-0"


def compliance_scope(request, kwargs) -> list[str]:
    """A unit's compliance page: the unit; the matrix: the town chosen
    (`?town=`, else the first), its own rows and its units'."""
    if "slug" in kwargs:
        if not known_slug(kwargs["slug"]):
            return [ANY]
        return [f"unit:{kwargs['slug']}", *compliance_facts()]
    town = request.GET.get("town") or _default_town()
    if town is None or not known_slug(town):
        return [ANY]
    return [f"town:{town}", f"unit:{town}", *compliance_facts()]


def _default_town() -> str | None:
    """The first town (ComplianceQuery's default): kept until a unit changes."""
    seconds = settings.PAGE_CACHE_MAX_SECONDS
    return caching.cached(
        "compliance:default-town",
        lambda: Unit.objects.ordered_towns().values_list("slug", flat=True).first(),
        scopes=[UNITS],
        seconds=seconds,
    )
