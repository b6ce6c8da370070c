"""Pieces of a page kept as HTML between requests (a board's columns, a
回音壁 card), so that a page miss renders only what changed.

A fragment is kept under its name, which holds everything its HTML depends
on besides the scopes (the audience if it shows anything audience-specific,
the language, the day if it shows what is on display or overdue), and the
versions of the scopes it reads (`caching.scope_versions`, "unit:wenli",
"submission:17"), of NAMES (a unit's or the catalog's change) and the
global one: a change announced in them makes it
stale at once, like a page naming those scopes (core/caching.py). What
changes with no save (a scheduled publication coming due) is the caller's
`lifetime`. Kept in the shared cache and in this process's copies
(`caching._local`), only while the value cache is on (VALUE_CACHE_SECONDS);
many fragments are fetched in one round trip (`kept_many`).
"""

import hashlib
import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

from . import caching, content


def _key(name: str, depends: Sequence[str], versions: dict[str, int]) -> str:
    target = "|".join((name, ",".join(depends), *(str(versions[s]) for s in depends)))
    digest = hashlib.sha256(target.encode()).hexdigest()[:40]
    return f"pagecache:{caching.generation()}:fragment:{digest}"


def enabled() -> bool:
    return settings.VALUE_CACHE_SECONDS > 0


def kept_many(
    wanted: dict[str, Sequence[str]],
    render: Callable[[list[str]], dict[str, str]],
    *,
    lifetime: Callable[[list[str]], float] | None = None,
    names_listed: bool = False,
) -> dict[str, SafeString]:
    """The HTML of each fragment named in `wanted` (name -> the scopes it
    reads). `render(names)` makes those not kept (name -> HTML, safe);
    `lifetime(names)` says how many seconds they stay right at most (default
    PAGE_CACHE_MAX_SECONDS). One round trip for the versions, one for the
    fragments and one to keep the new ones.

    A fragment reads NAMES (any unit's or the catalog's change) unless
    `names_listed`: then its scopes name each row whose name it shows
    (`content.name_scope`, CATALOG, TAGS) and a change elsewhere keeps it."""
    if not enabled() or not wanted:
        return {n: mark_safe(h) for n, h in render(list(wanted)).items()}
    # NAMES: a fragment shows units' and the catalog's names (core.content).
    extra = () if names_listed else (content.NAMES,)
    depends = {name: sorted({*scopes, *extra}) for name, scopes in wanted.items()}
    every_scope = sorted({s for v in depends.values() for s in v})
    versions = dict(zip(every_scope, caching.scope_versions(every_scope), strict=True))
    keys = {name: _key(name, depends[name], versions) for name in wanted}
    now = time.time()
    found: dict[str, str] = {}
    shared = []
    for name, key in keys.items():
        stored = caching._local.get(key)
        if stored is None:
            shared.append(key)
        else:
            found[name] = stored[1]
    if shared:
        from_shared = cache.get_many(shared)
        for name, key in keys.items():
            stored = from_shared.get(key)
            if stored is not None and stored[0] > now:
                caching._local.put(key, stored, expires=stored[0], size=len(stored[1]))
                found[name] = stored[1]
    missing = [name for name in wanted if name not in found]
    if missing:
        made = render(missing)
        seconds = settings.PAGE_CACHE_MAX_SECONDS
        if lifetime is not None:
            seconds = min(seconds, lifetime(missing))
        if seconds >= 1 and caching.may_keep():
            expires = now + seconds
            new = {keys[name]: (expires, str(made[name])) for name in missing}
            cache.set_many(new, timeout=int(seconds))
            for key, stored in new.items():
                caching._local.put(key, stored, expires=expires, size=len(stored[1]))
        found.update(made)
    return {name: mark_safe(found[name]) for name in wanted}


def kept(
    name: str,
    scopes: Sequence[str],
    render: Callable[[], str],
    *,
    lifetime: Callable[[], float] | None = None,
) -> SafeString:
    """One fragment (see `kept_many`)."""
    return kept_many(
        {name: scopes},
        lambda names: {name: render()},
        lifetime=None if lifetime is None else (lambda names: lifetime()),
    )[name]
