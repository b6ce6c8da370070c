"""The page cache's scopes of disclosures and units (core.content, core.caching).

A change names the scopes whose pages it changes: "unit:<slug>" (the unit's
board, its feed, the list filtered to it), "town:<slug>", "disclosure:<pk>"
(its own page) and "year:<year>"; a page names those it shows. A row that no
public page shows (a draft, a notice under review, never published) changes
none. What a page shows of other things (the unit's name, the catalog) is
announced without a scope and makes every page stale.
"""

import time

from django.db.models import Min

from .models import Disclosure, Unit

PUBLIC_STATUSES = {Disclosure.Status.PUBLISHED, Disclosure.Status.WITHDRAWN}

# Unit id -> (slug, its town's slug), read on every change (a 回音壁 POST
# included) and changed almost never: kept per process, forgotten on any
# unit's row event (`forget_slugs`) and at most SLUGS_SECONDS old, so that a
# slug changed by another process is not followed for long (a unit's save
# makes every page stale meanwhile).
SLUGS_SECONDS = 60
_slugs: dict[int, tuple[str, str | None]] = {}
_slugs_since = [0.0]


def forget_slugs(event=None) -> None:
    _slugs.clear()
    _slugs_since[0] = time.monotonic()


def unit_scopes(unit_ids) -> list[str]:
    ids = set(unit_ids) - {None}
    if time.monotonic() - _slugs_since[0] > SLUGS_SECONDS:
        forget_slugs()
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


def _row_scopes(rows) -> list[str]:
    """rows: (pk, unit ids it is or was in, status now and as loaded, years)."""
    scopes, units = [], []
    for pk, unit_ids, statuses, years in rows:
        if not PUBLIC_STATUSES & set(statuses):
            continue  # never on a public page, before nor after
        scopes.append(f"disclosure:{pk}")
        scopes += [f"year:{y}" for y in years if y]
        units += unit_ids
    return scopes + unit_scopes(units) if units else scopes


def _from_instance(row: Disclosure):
    loaded_unit, loaded_status = getattr(row, "_loaded_scope", (None, None))
    years = [row.period_start and row.period_start.year]
    years.append(row.published_at and row.published_at.year)
    return (row.pk, [row.unit_id, loaded_unit], [row.status, loaded_status], years)


def _from_ids(ids):
    return [
        (pk, [unit_id], [status], [start and start.year, at and at.year])
        for pk, unit_id, status, start, at in Disclosure.objects.filter(
            pk__in=ids
        ).values_list("pk", "unit_id", "status", "period_start", "published_at")
    ]


def disclosure_scopes(event) -> list[str]:
    if event.instance is not None and isinstance(event.instance, Disclosure):
        return _row_scopes([_from_instance(event.instance)])
    return _row_scopes(_from_ids(event.ids))


def part_scopes(event) -> list[str] | None:
    """An attachment or a trail event: its disclosure's scopes."""
    row = event.instance
    if row is None or getattr(row, "disclosure_id", None) is None:
        return None
    return _row_scopes(_from_ids([row.disclosure_id]))


def unit_scope(request, kwargs) -> list[str]:
    return [f"unit:{kwargs['slug']}"]


def detail_scope(request, kwargs) -> list[str]:
    return [f"disclosure:{kwargs['pk']}"]


def next_change(scopes: list[str], after):
    """The next scheduled publication or public date (先党内后党外) in these
    scopes: when a page showing them changes with no save."""
    units = [s.split(":", 1)[1] for s in scopes if s.startswith("unit:")]
    pks = [s.split(":", 1)[1] for s in scopes if s.startswith("disclosure:")]
    if len(units) + len(pks) != len(scopes):
        rows = Disclosure.objects.all()  # a town or a year: the whole county
    else:
        rows = Disclosure.objects.none()
        if units:
            rows = rows | Disclosure.objects.filter(unit__slug__in=units)
        if pks:
            pks = [int(p) for p in pks if p.isdigit()]
            rows = rows | Disclosure.objects.filter(pk__in=pks)
    found = rows.filter(status=Disclosure.Status.PUBLISHED)
    times = [
        found.filter(published_at__gt=after).aggregate(t=Min("published_at"))["t"],
        found.filter(public_from__gt=after).aggregate(t=Min("public_from"))["t"],
    ]
    return min((t for t in times if t is not None), default=None)
