"""What the public pages are made of, as each app declares it in `ready()`.

- `public(Model, ...)`: rows that an anonymous page can show (or that decide
  what it shows). Every change to them becomes a row event (core.events), so
  the page cache and the search index follow whichever path changed them.
  `new_rows_wait=True`: a new row may show up to PAGE_CACHE_SECONDS late (a
  new 回音壁 case: not public until accepted), so creating one does not make
  every cached page stale; changing one does. A function of the new row
  instead: whether this one may wait (a case entered already answered, by
  a loader or the shell, is shown at once: it does not). `new_row_scopes`:
  the scopes whose pages count new rows at once all the same (the 回音壁
  wall's figures count cases received): creating one bumps them and "any".
- `private(Model, ...)`: rows no anonymous page shows (staff notes, logs,
  subscriptions). Declared so that a test can tell a forgotten model from a
  private one: every model of ours is one or the other.
- `cached_views("namespace", "name", ..., scope=fn)`: URL names whose pages
  the page cache may keep (core/caching.py says which responses it keeps).
  `scope(request, kwargs)` names the scopes a page shows ("unit:wenli",
  "disclosure:17"), from the URL (a query only where it narrows the page
  to a known part, the list's `?unit=`): the page lives until one
  of them changes or something scheduled in them comes due. None, or no
  `scope`: the page shows anything, and is stale after any change (and
  lives PAGE_CACHE_SECONDS).
  `audience(request, kwargs, audience)`: the audience whose copy a logged-in
  member's page is (core/audiences.py), narrowed where several audiences
  see the same page (another unit's board: every branch's members); the
  view must then render as that narrowed audience, not as the user.
  `due(request, kwargs)`: the page's own next scheduled change, where it
  knows better than its scopes' (`OwnDue`: a search page lists only the
  entries holding its words, not every row its county-wide scope names);
  None: its scopes'.
- `public(Model, ..., scopes=fn)`: `scopes(event)` names the scopes a row
  event or verb of the model changes; None: unknown (every page is stale);
  []: no public page shows it (a draft).
- `public(Model, ..., scopes=fn, shown_everywhere=True)`: what pages show of
  the row reaches beyond its scopes (a unit's or a catalog item's name on
  every disclosure of it, the units in every filter): a change makes every
  page and fragment stale (they all read NAMES), but a kept value (a count,
  a summary, the compliance engine's figures) only if it reads one of the
  scopes the change names ("unit:<slug>", "town:<slug>", "units",
  "catalog"): figures elsewhere in the county stay kept.
- `public(Model, ..., unshown_links=("editors",))`: many-to-many fields
  that no public page shows (who may edit a unit, a body's members: the
  back office's, and the audiences' own signal, core.audiences): changing
  them announces no row event, so no page goes stale.
- `scheduled(fn)`: `fn(scopes, after)` gives the first time after `after`
  that something in those scopes changes with no save (a scheduled
  publication), or None.
- `counted_twins("unit")` and `uncounted("made_inner_party")`: every bump
  of a scope of that kind ("unit:wenli") bumps its counted twin too
  ("counted-unit:wenli", `counted`), but for the changes of those events,
  which change who may read rows, not what is counted of them (an item
  made 党内). A kept value that reads only what an engine counts (the
  compliance engine's rows and tallies: every scope counts) names the
  twin, and such a change leaves it kept.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models.signals import m2m_changed, post_delete, post_save

from . import events


@dataclass(frozen=True)
class Declared:
    label: str
    new_rows_wait: bool | Callable = False
    scopes: Callable | None = None
    new_row_scopes: tuple[str, ...] = ()
    shown_everywhere: bool = False


public_models: dict[str, Declared] = {}
private_models: set[str] = set()
cached_view_names: set[str] = set()
view_scopes: dict[str, Callable] = {}
view_audiences: dict[str, Callable] = {}
view_dues: dict[str, Callable] = {}
schedules: list[Callable] = []


@dataclass(frozen=True)
class OwnDue:
    """A page's own next scheduled change (`cached_views`' `due`): `find(after)`
    as `next_change(scopes, after)` would answer for what the page shows,
    kept under `name` (core.caching.kept_next) with the page's scopes: a
    save that may move it (a new scheduled row the page would show) bumps
    one of them."""

    name: str
    find: Callable


def public(
    *models,
    new_rows_wait: bool | Callable = False,
    scopes: Callable | None = None,
    new_row_scopes: tuple[str, ...] = (),
    shown_everywhere: bool = False,
    unshown_links: tuple[str, ...] = (),
):
    from django.apps import apps

    for model in models:
        label = model._meta.label
        public_models[label] = Declared(
            label,
            new_rows_wait=new_rows_wait,
            scopes=scopes,
            new_row_scopes=tuple(new_row_scopes),
            shown_everywhere=shown_everywhere,
        )
        # A row saved through a proxy (a review queue) is sent as the proxy.
        for sender in apps.get_models():
            if sender._meta.concrete_model is not model:
                continue
            uid = sender._meta.label
            post_save.connect(_saved, sender=sender, dispatch_uid=f"content:save:{uid}")
            post_delete.connect(
                _deleted, sender=sender, dispatch_uid=f"content:delete:{uid}"
            )
        for m2m in model._meta.local_many_to_many:
            if m2m.name in unshown_links:
                continue
            through = m2m.remote_field.through
            m2m_changed.connect(
                _linked,
                sender=through,
                dispatch_uid=f"content:m2m:{through._meta.label}",
            )


def private(*models) -> None:
    private_models.update(model._meta.label for model in models)


def cached_views(
    namespace: str,
    *names: str,
    scope: Callable | None = None,
    audience: Callable | None = None,
    due: Callable | None = None,
) -> None:
    for name in names:
        cached_view_names.add(f"{namespace}:{name}")
        if scope is not None:
            view_scopes[f"{namespace}:{name}"] = scope
        if audience is not None:
            view_audiences[f"{namespace}:{name}"] = audience
        if due is not None:
            view_dues[f"{namespace}:{name}"] = due


def page_audience(view_name: str, request, kwargs, audience: str) -> str:
    """The audience whose copy of this page a member gets (module docstring)."""
    narrow = view_audiences.get(view_name)
    return audience if narrow is None else narrow(request, kwargs, audience)


def page_due(view_name: str, request, kwargs) -> OwnDue | None:
    """The page's own next scheduled change (module docstring), or None."""
    due = view_dues.get(view_name)
    return None if due is None else due(request, kwargs)


def page_scopes(view_name: str, request, kwargs) -> list[str] | None:
    """The scopes a cached page shows; None: any."""
    scope = view_scopes.get(view_name)
    if scope is None:
        return None
    found = scope(request, kwargs)
    return None if found is None else sorted(set(found))


def event_scopes(event) -> list[str] | None:
    """The scopes an event changes; None: unknown, so every page."""
    declared = public_models.get(event.model)
    if declared is None or declared.scopes is None:
        return None
    found = declared.scopes(event)
    return None if found is None else sorted(set(found))


ANY = "any"
# Read by every page and fragment (core.caching, core.fragments), bumped by a
# change `shown_everywhere` (a unit's, the catalog's): their names and order
# are on pages of every scope; kept values name what they read instead.
NAMES = "names"


def name_scope(kind: str, pk) -> str:
    """The scope of one row's name ("names:unit:7"), named by its change
    alongside NAMES: a fragment that lists the names it shows
    (`fragments.kept_many(names_listed=True)`) stays kept when another
    row's name changes."""
    return f"{NAMES}:{kind}:{pk}"


def everything(request, kwargs) -> list[str]:
    """The scope of a page that may show anything (the home page, the wall):
    stale after any change, living until then or the next scheduled change
    anywhere (a page registered without `scope` lives PAGE_CACHE_SECONDS)."""
    return [ANY]


def on_any_page(event) -> list[str]:
    """The scopes of a row that only pages naming no scope show (a yearly
    report, a guide: their own pages, which may show anything) and no kept
    value reads: "any", so that the other pages stay kept."""
    return [ANY]


def scheduled(fn: Callable) -> None:
    schedules.append(fn)


COUNTED_TWIN = "counted-"
twinned_kinds: set[str] = set()
uncounted_events: set[str] = set()


def counted_twins(kind: str) -> None:
    twinned_kinds.add(kind)


def uncounted(*event_names: str) -> None:
    uncounted_events.update(event_names)


def counted(scope: str) -> str:
    """The twin of a scope ("unit:wenli") that the changes of what is counted
    in it bump, not those of who may read it (module docstring)."""
    return COUNTED_TWIN + scope


def with_counted(scopes: list[str]) -> list[str]:
    """These scopes and the counted twins of those that have one."""
    twins = [counted(s) for s in scopes if s.partition(":")[0] in twinned_kinds]
    return [*scopes, *twins] if twins else scopes


def counts_change(event) -> bool:
    return event.name not in uncounted_events


# Scope kinds ("search" for "search:…") whose pages may show any row of the
# county: their scheduled changes are the county's (core.caching.next_due
# reads the one kept for "any" rather than asking every app again).
county_wide_kinds: set[str] = set()


def county_wide(kind: str) -> None:
    county_wide_kinds.add(kind)


def is_county_wide(scopes: list[str]) -> bool:
    """Whether pages of these scopes may show any row: "any", or only kinds
    declared `county_wide`."""
    return all(s == ANY or s.partition(":")[0] in county_wide_kinds for s in scopes)


def next_change(scopes: list[str], after):
    """The earliest scheduled change in these scopes after `after` (a
    datetime) or None."""
    times = [t for t in (fn(scopes, after) for fn in schedules) if t is not None]
    return min(times, default=None)


def shown_everywhere(label: str) -> bool:
    declared = public_models.get(label)
    return bool(declared and declared.shown_everywhere)


def waits_for_new_rows(label: str, row=None) -> bool:
    """Whether this new row (None: not told) may show late."""
    declared = public_models.get(label)
    if declared is None or not declared.new_rows_wait:
        return False
    if callable(declared.new_rows_wait):
        return row is not None and bool(declared.new_rows_wait(row))
    return True


def new_row_scopes(label: str) -> list[str]:
    """The scopes a new row that waits bumps besides "any" (`public`)."""
    declared = public_models.get(label)
    return list(declared.new_row_scopes) if declared else []


def _concrete(model):
    return model._meta.concrete_model


def _saved(sender, instance, created=False, raw=False, **kwargs) -> None:
    events.announce(
        "saved",
        _concrete(sender),
        [instance.pk],
        created=created,
        raw=raw,
        instance=instance,
    )


def _deleted(sender, instance, **kwargs) -> None:
    events.announce("deleted", _concrete(sender), [instance.pk], instance=instance)


def _linked(sender, instance, action, **kwargs) -> None:
    if action.startswith("post_"):
        model = _concrete(type(instance))
        events.announce("linked", model, [instance.pk], instance=instance)
