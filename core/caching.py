"""The page caches (anonymous visitors, audiences of logged-in members) and
the cheap keys of conditional GET.

`AnonymousPageCacheMiddleware` keeps whole public pages in Django's cache
(Redis in production) for visitors who are not logged in. What keeps a 党内
title or a staff page out of it, and why (docs/ARCHITECTURE.md, "Caching"):

- a request that carries a session cookie is neither served from the cache
  nor stored into it: every logged-in user has one, so a party member's or
  staff member's page never enters the cache, whatever the view renders;
  nor one with a pending message (the messages cookie);
- only GET, only the URL names the apps declared (`content.cached_views`;
  forms, tracking pages, following, log-in and the admin are not there),
  only a 200 that sets no cookie and holds no CSRF token (so the 回音壁 form,
  whose token is per render, is never kept even if it were listed);
- keyed by host, path and query and versions (not by the text size step,
  长辈模式: one copy serves every step, see below):
  the global one (a change whose scopes cannot be told, a bulk load),
  "names" (what every page shows of units and the catalog: a change
  `content.public(..., shown_everywhere=True)` bumps it) and, for a
  page that names its scopes (`content.cached_views(..., scope=)`), one per
  scope ("unit:wenli", "disclosure:17"); a page naming none depends on
  "any", bumped by every scoped change. `on_event` bumps them from
  core.events. A page without scopes lives `PAGE_CACHE_SECONDS` (60 in
  production); a scoped one until its scopes change, the next scheduled
  change in them (`content.next_change`: a publication or public date coming
  due), the next midnight (what is on display is a matter of dates) or
  `PAGE_CACHE_MAX_SECONDS`, whichever comes first.

`AudiencePageCacheMiddleware` does the same for logged-in users who are not
staff, keyed by their audience (core/audiences.py) instead of their account:
the name in the header and the CSRF tokens are left out of the stored copy
(placeholders) and filled in for each request.

Both keep one copy of a page for the three text size steps (core/elder.py):
a page differs between them only in the class on <html> and the size
buttons' aria-pressed, which the copy holds as slots (the request that makes
it is rendered with `page_text_size_slots`), filled in for each request
(`_with_size`), on a miss too. The ETag served is the stored one's with the
step (`_etag_for`): a client switching size never gets a 304 for the other
step's page.

A hit for a browser that accepts gzip, where the portal compresses
(production's TextGZipMiddleware), is gzipped from the copy's runs between
slots, deflated once a process and kept beside it (`compression.Pieces`,
`_pieces`), not deflated whole again on every request.

Each worker process keeps a copy of what it last read from the shared cache
(`_Local`), so that a hit costs no round trip to Redis: the version is read
again at most every `PAGE_CACHE_VERSION_SECONDS` (1 s), and a copied page
expires when its shared entry does (it carries the time it was made). A
publication through another server therefore shows here within that second;
through this process, at once. The copies of the versions are of one
moment (`scope_versions`: an epoch every bump moves), and a request that
has read copies of two keeps nothing it made. The version starts from the clock when the
shared cache has none (a flush, an eviction, a new Redis), so a number is
never reused while copies made under it may still be around.
"""

import functools
import hashlib
import math
import pickle
import random
import re
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.html import escape
from django.utils.http import urlencode

from . import audiences, compression, content, elder, events
from .elder import text_size
from .release import content_settings, release
from .slots import slot

T = TypeVar("T")
VERSION_KEY = "pagecache:version"
SCOPE_KEY = "pagecache:scope:"
# Moved by every bump of scopes, in the same round trip (`scope_versions`).
EPOCH_KEY = "pagecache:epoch"
ANY = content.ANY  # every page naming no scope: bumped by every scoped change
NAMES = content.NAMES  # every page and fragment: a unit's or the catalog's change
LOCAL_SCOPES = 20_000  # scope versions a process keeps (about 3 MB)
# Cookies that make a request personal: a session (anyone logged in) or a
# message waiting to be shown.
PERSONAL_COOKIES = (settings.SESSION_COOKIE_NAME, "messages")
STORED_HEADERS_SKIP = {"set-cookie", "content-length", "x-page-cache"}


class _Local:
    """This process's copies: the version and recent entries, bounded in bytes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.version: int | None = None
        self.version_read_at = 0.0
        # Every copy of a scope's version here was read at this epoch
        # (`scope_versions`); the epoch the request being served began
        # with (None: no request, or none read yet), and whether it has
        # seen the epoch move since (`may_keep`).
        self.epoch: int | None = None
        self.request_epoch: int | None = None
        self.in_request = False
        self.moved_in_request = False
        self.scopes: dict[str, tuple[int, float]] = {}
        self.entries: OrderedDict[str, tuple[float, object, int]] = OrderedDict()
        self.size = 0

    def get(self, key: str):
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            if found[0] <= time.time():
                self._drop(key)
                return None
            self.entries.move_to_end(key)
            return found[1]

    def put(self, key: str, value, *, expires: float, size: int) -> None:
        limit = settings.PAGE_CACHE_LOCAL_BYTES
        if size > limit // 4:
            return
        with self.lock:
            if key in self.entries:
                self._drop(key)
            self.entries[key] = (expires, value, size)
            self.size += size
            while self.size > limit:
                self._drop(next(iter(self.entries)))

    def _drop(self, key: str) -> None:
        self.size -= self.entries.pop(key)[2]


_local = _Local()


def reset_local() -> None:
    """Forget this process's copies (tests, after clearing the shared cache)."""
    _local.reset()


def _new_version() -> int:
    # Never a number used before this flush: copies in other processes may
    # still be keyed by an old one.
    return time.time_ns() // 1000


def version() -> int:
    """The global version, read again at most every
    PAGE_CACHE_VERSION_SECONDS, with the epoch (`scope_versions`): a global
    bump moves it too, so the copies of scope versions and this one are of
    one moment."""
    now = time.monotonic()
    if (
        _local.version is not None
        and now - _local.version_read_at < settings.PAGE_CACHE_VERSION_SECONDS
    ):
        return _local.version
    found = cache.get_many([VERSION_KEY, EPOCH_KEY])
    current = found.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, _new_version(), timeout=None)
        current = cache.get(VERSION_KEY) or _new_version()
    epoch = found.get(EPOCH_KEY)
    if epoch is not None and epoch != _local.epoch:
        _local.scopes.clear()
        _local.epoch = epoch
    _local.version, _local.version_read_at = current, now
    _pin()
    return current


def _bump() -> None:
    if hasattr(cache, "bump_many"):  # Redis: one atomic round trip
        current, epoch = cache.bump_many([VERSION_KEY, EPOCH_KEY], _new_version())
    else:
        current, epoch = _incr_each([VERSION_KEY, EPOCH_KEY])
    _moved_by_this_process(epoch)
    _local.version, _local.version_read_at = current, time.monotonic()


def _incr_each(keys: list[str]) -> list[int]:
    """`bump_many` key by key (a backend without it: LocMem, one process)."""
    found = []
    for key in keys:
        try:
            found.append(cache.incr(key))
        except ValueError:  # not there (a flush or an eviction)
            found.append(_new_version())
            cache.set(key, found[-1], timeout=None)
    return found


def _moved_by_this_process(epoch: int) -> None:
    """This process moved the epoch to `epoch`: if by one, its bump alone
    came since its copies were read, and with what it moved they are of the
    new moment (the request's too); else they are of an older one."""
    if _local.epoch is not None and epoch == _local.epoch + 1:
        if _local.request_epoch == _local.epoch:
            _local.request_epoch = epoch
    else:
        _local.scopes.clear()
        _local.version_read_at = 0.0
    _local.epoch = epoch


def _pin() -> None:
    """In a request: its first read of versions pins the epoch; a later one
    of another epoch means it has read copies of two moments (`may_keep`)."""
    if _local.in_request:
        if _local.request_epoch is None:
            _local.request_epoch = _local.epoch
        elif _local.request_epoch != _local.epoch:
            _local.moved_in_request = True


def generation() -> str:
    """The global version under this process's release (`core.release`) and
    the settings that change what pages show: what every key of a page,
    fragment, kept value and ETag starts from."""
    return f"{version()}-{release()}-{content_settings()}"


def kept_version(scopes: list[str]) -> str:
    """A name for the versions a value `cached` under these scopes is kept
    under: it changes whenever that value may (a kept form's key names the
    option lists it shows this way, without reading them)."""
    depends = sorted(set(scopes))
    versions = ".".join(map(str, scope_versions(depends)))
    return f"{generation()}.{','.join(depends)}.{versions}"


def bump_version() -> None:
    """Every cached page and ETag becomes stale (after the transaction commits).

    A publication announces several events, hence several increments: cheap,
    and a once-per-transaction guard would lose one whose savepoint rolled
    back."""
    transaction.on_commit(_bump)


def scope_versions(scopes: list[str]) -> list[int]:
    """The versions of these scopes, read again at most every
    PAGE_CACHE_VERSION_SECONDS (one round trip for all of them when one is
    due).

    Of one moment: each copy read was read with the epoch, which every bump
    moves in the same round trip, and an epoch moved drops every copy read
    before it. Otherwise a copy read a moment before another process's
    change would serve beside one read after it, and a value made again for
    the new version of one scope would read a value kept under another's old
    version, from before the change, and keep it under the new one for as
    long as nothing moves that again. A request that sees the epoch move
    while it is served has read copies of two moments: it keeps nothing
    (`may_keep`)."""
    now = time.monotonic()
    fresh = settings.PAGE_CACHE_VERSION_SECONDS
    local = _local.scopes
    if len(local) > LOCAL_SCOPES:  # bounded: read again when needed
        local.clear()
    found = []
    for scope in scopes:
        entry = local.get(scope)
        if entry is None or now - entry[1] >= fresh:
            found = _read_due(scopes, now)
            break
        found.append(entry[0])
    _pin()
    return found


def _read_due(scopes: list[str], now: float) -> list[int]:
    """The due copies read again; if the epoch has moved, all of them, in
    one more round trip (the others were of the moment before)."""
    fresh = settings.PAGE_CACHE_VERSION_SECONDS
    wanted = list(dict.fromkeys(scopes))
    held = {}
    for scope in wanted:
        entry = _local.scopes.get(scope)
        if entry is not None and now - entry[1] < fresh:
            held[scope] = entry[0]
    read, moved = _read_scopes([s for s in wanted if s not in held], now)
    if moved and held:
        read, _ = _read_scopes(wanted, now)
    else:
        read.update(held)
    return [read[s] for s in scopes]


def _read_scopes(scopes: list[str], now: float) -> tuple[dict[str, int], bool]:
    """These scopes' versions and the epoch, read in one round trip, as of
    one moment: a version read for the first time is made, then the epoch
    read again, until no bump came between (three tries at most). And
    whether the epoch had moved: the other copies were dropped."""
    for _ in range(3):
        found = cache.get_many([EPOCH_KEY, *(SCOPE_KEY + s for s in scopes)])
        epoch = found.get(EPOCH_KEY)
        missing = [s for s in scopes if SCOPE_KEY + s not in found]
        for scope in missing:
            # A version first read (maybe of a made-up case number in a URL)
            # is not kept for ever: when it goes, the next one starts from the
            # clock, so its pages only miss once.
            cache.add(
                SCOPE_KEY + scope,
                _new_version(),
                timeout=2 * settings.PAGE_CACHE_MAX_SECONDS,
            )
            found[SCOPE_KEY + scope] = cache.get(SCOPE_KEY + scope) or _new_version()
        if epoch is None:  # never bumped, or a flush: one starts
            cache.add(EPOCH_KEY, _new_version(), timeout=None)
        if epoch is None or missing:
            again = cache.get(EPOCH_KEY)
            if again != epoch:
                epoch = again
                continue
        break
    moved = epoch is None or epoch != _local.epoch
    if moved:
        _local.scopes.clear()
        _local.version_read_at = 0.0  # the global version's copy: read again
        _local.epoch = epoch
    read = {scope: found[SCOPE_KEY + scope] for scope in scopes}
    for scope, current in read.items():
        _local.scopes[scope] = (current, now)
    return read, moved


def _bump_scopes(scopes: list[str], *, counted: bool = True) -> None:
    """Move these scopes' versions now. `counted`: their counted twins too
    (`content.with_counted`): every change but one that changes only who may
    read rows."""
    if counted:
        scopes = content.with_counted(scopes)
    now = time.monotonic()
    keys = [SCOPE_KEY + s for s in scopes]
    if hasattr(cache, "bump_many"):  # Redis: one atomic round trip
        *found, epoch = cache.bump_many([*keys, EPOCH_KEY], _new_version())
    else:
        *found, epoch = _incr_each([*keys, EPOCH_KEY])
    _moved_by_this_process(epoch)
    for scope, current in zip(scopes, found, strict=True):
        _local.scopes[scope] = (current, now)


def request_began(**kwargs) -> None:
    """request_started: the copies this request reads pin its epoch."""
    _local.in_request = True
    _local.request_epoch = None
    _local.moved_in_request = False


def request_ended(**kwargs) -> None:
    _local.in_request = False
    _local.request_epoch = None
    _local.moved_in_request = False


def bump_scopes(scopes: list[str], *, counted: bool = True) -> None:
    """Pages showing these scopes become stale (after the transaction commits);
    `counted`: as `_bump_scopes`."""
    scopes = list(scopes)
    transaction.on_commit(lambda: _bump_scopes(scopes, counted=counted))


def content_version() -> str:
    """What changes with any public change: the global and the "any" version
    (values and ETags that may read anything)."""
    return f"{generation()}.{scope_versions([ANY])[0]}"


def on_event(event: events.Event) -> None:
    """A change makes the pages showing it stale at once: those of its scopes
    and every page that names none; an event with no known scope, every page.
    A new row an app lets wait (a new 回音壁 case, not public until accepted:
    only counted) stales the pages that may show anything (ANY) and those
    that count it (`new_row_scopes`: the wall's figures), not those of its
    scopes (a board lists answered cases) nor the rest; one that no page
    shows by itself (a search entry: its document's event does), none."""
    scopes = content.event_scopes(event)
    if event.created and content.waits_for_new_rows(event.model, event.instance):
        if scopes is None or scopes:
            bump_scopes([ANY, *content.new_row_scopes(event.model)])
        return
    counted = content.counts_change(event)
    if scopes is None:
        bump_version()
    elif content.shown_everywhere(event.model):
        # Every page shows it (a unit's name, the catalog's items); kept
        # values only where they read its scopes.
        bump_scopes([*scopes, NAMES, ANY], counted=counted)
    elif scopes:
        bump_scopes([*scopes, ANY], counted=counted)


def cached(
    name: str,
    compute: Callable[[], T],
    *,
    scopes: list[str] | None = None,
    seconds: int | Callable[[], float] | None = None,
    spread: float = 0.0,
    shared: bool = False,
    fresh: bool = False,
) -> T:
    """A costly figure derived from the data (a DISTINCT or a summary over every
    row), kept VALUE_CACHE_SECONDS, also when pages are not cached (logged-in
    visitors, PAGE_CACHE_SECONDS=0).

    `scopes`: the page-cache scopes the figure reads ("unit:wenli",
    "town:fengming", "wall"); it is kept until one of them (or the global
    version: a change no scope names) moves, so a change elsewhere in the
    county does not drop it. None: it may read anything, and follows every
    change (the "any" version), like a page naming no scope. BY_CONTENT:
    it reads nothing, its name holds what it is made from (a chart drawn
    from its numbers), and only another release drops it. `seconds`: how
    long at most (default VALUE_CACHE_SECONDS), or a function giving it
    once the value is computed (until the next scheduled change it reads);
    a figure that the clock changes (what is due today) puts the day in its
    name. `spread`: as `cached_many`'s. `shared`: the value is never
    changed (tuples of frozen rows): every caller in this process gets the
    one object, unpickled once a copy (the engine's rows: unpickling them
    costs a tenth of reading them). `fresh`: computed and kept whatever is
    kept (a value found out of date by its reader, `kept_next`)."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return compute()
    keep = seconds if isinstance(seconds, int) else settings.VALUE_CACHE_SECONDS
    key = _kept_key(name, scopes)
    # Kept pickled here too: each caller gets its own copy to change.
    stored = None if fresh else _local.get(key)
    value = _NOTHING
    if stored is None:
        stored = None if fresh else cache.get(key)
        if stored is None:
            made = time.time()
            value = compute()
            if not may_keep():
                return value
            if callable(seconds):
                # Never past the change it names; only the cap is spread.
                cap = _spread(settings.PAGE_CACHE_MAX_SECONDS, spread)
                keep = min(seconds(), cap)
                if keep < 1:  # due within the second: not kept
                    return value
            else:
                keep = _spread(keep, spread)
            data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
            stored = (made, data, made + keep)
            cache.set(key, stored, timeout=max(int(keep), 1))
        _local.put(key, stored, expires=_expires(stored, keep), size=len(stored[1]))
    if shared:
        return _shared(key, stored, _expires(stored, keep), value)
    if value is not _NOTHING:
        return value  # computed here: this caller's own, pickled already
    return pickle.loads(stored[1])


_NOTHING = object()


def _shared(key: str, stored: tuple, expires: float, value=_NOTHING):
    """The one object of a copy `stored` under `key` in this process (`value`:
    just computed), kept beside the copy as long as it is."""
    name = f"{key}|object"
    found = _local.get(name)
    if found is not None and found[0] is stored:
        return found[1]
    if value is _NOTHING:
        value = pickle.loads(stored[1])
    # Beside the copy only, and counted at five times its pickle (rows of
    # dates and numbers, measured). A value too large to be copied here is
    # unpickled each time.
    if _local.get(key) is stored:
        size = 5 * len(stored[1])
        _local.put(name, (stored, value), expires=expires, size=size)
    return value


def may_keep() -> bool:
    """Whether what was just read may be kept for other requests: not while
    a transaction is open (one of ours, not a test case's own). Its writes
    may still be rolled back, and the versions they bump move only at the
    commit: what it read, kept under the versions of now, would show a
    change that never happened. Nor by a request that has read versions of
    two moments (`scope_versions`)."""
    if _local.moved_in_request:
        return False
    for connection in connections.all(initialized_only=True):
        if any(not block._from_testcase for block in connection.atomic_blocks):
            return False
    return True


def digest(value) -> str:
    """A name for a value by its text: repr, not pickle (equal values give
    equal text whatever objects hold them; pickle writes a value met twice
    as a reference to the first). For values kept by what they are made
    from (disclosure.counts_memo, feedback.kept_counts.by_cases)."""
    text = repr(value).encode("utf-8", "backslashreplace")
    return hashlib.blake2b(text, digest_size=20).hexdigest()


# `cached(scopes=BY_CONTENT)`: a value that is a function of its name alone
# (its content in the name) and of the release.
BY_CONTENT = ("by-content",)


def _kept_key(name: str, scopes: list[str] | tuple | None) -> str:
    """The key of the value `name` kept under `scopes`' current versions."""
    if scopes is BY_CONTENT:
        # Under no version, not even the global one: a flush leaves it.
        kept = f"{release()}-{content_settings()}|{name}"
        return f"pagecache:content:{hashlib.sha256(kept.encode()).hexdigest()[:40]}"
    if scopes is None:
        kept_under = content_version()
    else:
        depends = sorted(set(scopes))
        versions = ".".join(map(str, scope_versions(depends)))
        kept_under = f"{generation()}.{','.join(depends)}.{versions}"
    digest = hashlib.sha256(f"{kept_under}|{name}".encode()).hexdigest()[:40]
    return f"pagecache:{generation()}:value:{digest}"


def cached_through(
    name: str,
    day: date,
    compute: Callable[[date], tuple[T, date]],
    *,
    scopes: list[str] | None = None,
    seconds: Callable[[], float] | None = None,
    spread: float = 0.0,
) -> T:
    """A value of a day that holds for a run of days, kept for the run.

    `compute(day)` gives the value and the last day it holds through, the
    data unchanged (the compliance engine's `steady_through`: the next day a
    period begins or something falls due). A later day of the run reuses
    the value kept under the run's first day instead of computing it again,
    so most midnights change nothing. Kept as `cached` keeps (`scopes`,
    `seconds`: the next scheduled change; `spread`: as `cached_many`'s)."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return compute(day)[0]
    note = _kept_key(f"{name}:run", scopes)
    run = _peek(note)  # (first, last): the latest run computed
    first = run[0] if run and run[0] <= day <= run[1] else day
    last: list[date] = []

    def compute_first():
        value, through = compute(first)
        last.append(through)
        return value

    kept: list[float] = []

    def lifetime() -> float:
        # No bound from the run's last day: a day's value, and the run it
        # holds for, are facts of the data, not of the clock; a later day
        # outside the run is computed afresh. Asked once (it may query).
        if not kept:
            kept.append(seconds() if seconds else settings.VALUE_CACHE_SECONDS)
        return kept[0]

    value = cached(
        f"{name}:{first.isoformat()}",
        compute_first,
        scopes=scopes,
        seconds=lifetime,
        spread=spread,
    )
    if last and (run is None or run[0] <= first) and first <= timezone.localdate():
        # Only a later run replaces the note, and none begun after today: a
        # visitor asking about another day does not push today's run out.
        _put(
            note,
            (first, last[0]),
            # Never longer than the value: a note outliving a scheduled
            # change would send today to a day computed before it.
            keep=min(lifetime(), settings.PAGE_CACHE_MAX_SECONDS),
        )
    return value


def cached_through_many(
    wanted: dict[str, list[str]],
    day: date,
    compute: Callable[[list[str], date], dict[str, tuple[T, date]]],
    *,
    seconds: Callable[[], float] | None = None,
    spread: float = 0.0,
) -> dict[str, T]:
    """Many values of a day, each holding for its own run of days: what
    `cached_through` is to `cached`, `cached_many`'s parts (the matrix's
    counts unit by unit: a change in one village counts that village again,
    and a later day of each part's run reuses it). `compute(names, day)`
    gives each missing name its value and the last day it holds through;
    called once for each first day of the runs the names are in (one, but
    after a part was made again on a later day)."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return {n: v for n, (v, _) in compute(list(wanted), day).items()}
    every = sorted({s for scopes in wanted.values() for s in scopes})
    versions = dict(zip(every, scope_versions(every), strict=True))
    versions[""] = generation()
    notes = {n: _value_key(f"{n}:run", s, versions) for n, s in wanted.items()}
    runs = _peek_many(list(notes.values()))
    first_of: dict[date, list[str]] = defaultdict(list)
    for name, note in notes.items():
        run = runs.get(note)  # (first, last): the latest run of this part
        first_of[run[0] if run and run[0] <= day <= run[1] else day].append(name)
    lives: list[float] = []

    def lifetime() -> float:
        # Asked once a group, after its compute: `seconds` may read what the
        # parts computed so far read (the units whose publications end them).
        lives.append(seconds() if seconds else settings.VALUE_CACHE_SECONDS)
        return lives[-1]

    found: dict[str, T] = {}
    last: dict[str, tuple[date, date]] = {}
    for first, names in first_of.items():
        named = {f"{n}:{first.isoformat()}": n for n in names}

        def compute_first(missing: list[str], first=first, named=named):
            made = compute([named[m] for m in missing], first)
            for part, (_, through) in made.items():
                last[part] = (first, through)
            return {m: made[named[m]][0] for m in missing}

        got = cached_many(
            {value: wanted[n] for value, n in named.items()},
            compute_first,
            seconds=lifetime,
            spread=spread,
        )
        found.update({named[value]: v for value, v in got.items()})
    fresh = {
        notes[name]: run
        for name, run in last.items()
        # As cached_through's note: only a later run replaces it, and none
        # begun after today.
        if (runs.get(notes[name]) is None or runs[notes[name]][0] <= run[0])
        and run[0] <= timezone.localdate()
    }
    if fresh and lives:  # never longer than the values (`cached_through`'s)
        _put_many(fresh, keep=min(*lives, settings.PAGE_CACHE_MAX_SECONDS))
    return {name: found[name] for name in wanted}


def peek(name: str, scopes: list[str]):
    """The value `cached(name, …, scopes=scopes)` keeps now, or None; never
    computed. Under the scopes' versions as every process reads them now,
    not this process's copies of them (up to PAGE_CACHE_VERSION_SECONDS
    old): what a change is weighed against must not be one another process
    has just replaced."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return None
    for scope in scopes:
        _local.scopes.pop(scope, None)
    return _peek(_kept_key(name, scopes))


def _peek_many(keys: list[str]) -> dict:
    """`_peek` of many keys: one read of the shared cache for those this
    process does not hold."""
    stored = {k: s for k in keys if (s := _local.get(k)) is not None}
    if elsewhere := [k for k in keys if k not in stored]:
        stored.update(cache.get_many(elsewhere))
    now = time.time()
    return {k: pickle.loads(s[1]) for k, s in stored.items() if s[2] > now}


def _put_many(values: dict, *, keep: float) -> None:
    """`_put` of many: one write to the shared cache."""
    if keep < 1 or not may_keep():
        return
    made = time.time()
    fresh = {}
    for key, value in values.items():
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        fresh[key] = stored = (made, data, made + keep)
        _local.put(key, stored, expires=made + keep, size=len(data))
    cache.set_many(fresh, timeout=max(int(keep), 1))


def _peek(key: str):
    """A kept value by its key, or None; never computed."""
    stored = _local.get(key) or cache.get(key)
    if stored is None or stored[2] <= time.time():
        return None
    return pickle.loads(stored[1])


def _put(key: str, value, *, keep: float) -> None:
    if keep < 1 or not may_keep():
        return
    made = time.time()
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    stored = (made, data, made + keep)
    cache.set(key, stored, timeout=max(int(keep), 1))
    _local.put(key, stored, expires=made + keep, size=len(data))


def _spread(keep: float, spread: float) -> float:
    """A lifetime between `keep` and `keep × (1 + spread)`, drawn at random."""
    return keep * (1 + spread * random.random())


def _expires(stored: tuple, keep: float) -> float:
    # (made, data, expires); (made, data) as kept before lifetimes were own.
    return stored[2] if len(stored) > 2 else stored[0] + keep


def until(moment: datetime | None, *, midnight: bool = True) -> float:
    """Seconds from now to `moment` (a scheduled change; None: none) or, if
    sooner, the next midnight: the lifetime of a value that the clock changes
    (`cached(..., seconds=lambda: until(...))`)."""
    ends = [t for t in (moment, _next_midnight() if midnight else None) if t]
    if not ends:
        return float(settings.PAGE_CACHE_MAX_SECONDS)
    return max((min(ends) - timezone.now()).total_seconds(), 0.0)


def _value_key(name: str, scopes: list[str] | None, versions: dict) -> str:
    if scopes is None:
        kept_under = versions[None]
    else:
        depends = sorted(set(scopes))
        current = ".".join(str(versions[s]) for s in depends)
        kept_under = f"{versions['']}.{','.join(depends)}.{current}"
    digest = hashlib.sha256(f"{kept_under}|{name}".encode()).hexdigest()[:40]
    return f"pagecache:{versions['']}:value:{digest}"


def cached_many(
    wanted: dict[str, list[str]],
    compute: Callable[[list[str]], dict[str, T]],
    *,
    seconds: int | Callable[[], float] | None = None,
    spread: float = 0.0,
    shared: bool = False,
    fresh: bool = False,
) -> dict[str, T]:
    """Many kept values at once, each under its own scopes (`cached`): one
    read of the shared cache for those this process does not hold, and one
    `compute(missing names)` (which gives a value for each) for the rest.
    `shared`, `fresh`: as `cached`'s.

    For a figure summed from parts (the 回音壁's counts per unit): a change
    in one part's scopes recomputes that part alone. `spread`: each value
    computed lives between `seconds` and `seconds × (1 + spread)`, drawn
    at random, so that parts computed together (after a deployment) are not
    all recomputed on one request when they expire."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return compute(list(wanted))
    keep = seconds if isinstance(seconds, int) else settings.VALUE_CACHE_SECONDS
    every = sorted({s for scopes in wanted.values() for s in scopes})
    versions = dict(zip(every, scope_versions(every), strict=True))
    versions[""] = generation()
    keys = {name: _value_key(name, scopes, versions) for name, scopes in wanted.items()}
    found, elsewhere = {}, []
    for name, key in keys.items():
        if fresh:
            break
        stored = _local.get(key)
        if stored is None:
            elsewhere.append(name)
        else:
            found[name] = stored
    if elsewhere:
        got = cache.get_many([keys[n] for n in elsewhere])
        for name in elsewhere:
            stored = got.get(keys[name])
            # A spread lifetime is shorter than the shared cache's timeout.
            if stored is not None and _expires(stored, keep) > time.time():
                found[name] = stored
                _local.put(
                    keys[name],
                    stored,
                    expires=_expires(stored, keep),
                    size=len(stored[1]),
                )
    if missing := [n for n in wanted if n not in found]:
        made = time.time()
        fresh = {}
        values = compute(missing)
        if not may_keep():
            return {
                name: values[name] if name in values else pickle.loads(found[name][1])
                for name in wanted
            }
        due = None
        if callable(seconds):  # as in `cached`
            due = seconds()
            keep = min(due, settings.PAGE_CACHE_MAX_SECONDS)
            if keep < 1:
                return {
                    name: values[name]
                    if name in values
                    else pickle.loads(found[name][1])
                    for name in wanted
                }
        for name, value in values.items():
            data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
            lives = _spread(keep, spread)
            if due is not None:  # never past the change it names
                lives = min(due, _spread(settings.PAGE_CACHE_MAX_SECONDS, spread))
            stored = (made, data, made + lives)
            fresh[keys[name]] = found[name] = stored
            _local.put(keys[name], stored, expires=made + lives, size=len(stored[1]))
        cache.set_many(fresh, timeout=max(math.ceil(keep * (1 + spread)), 1))
    else:
        values = {}
    if shared:
        return {
            name: _shared(
                keys[name],
                found[name],
                _expires(found[name], keep),
                values.get(name, _NOTHING),
            )
            for name in wanted
        }
    return {
        name: values[name] if name in values else pickle.loads(found[name][1])
        for name in wanted
    }


def selection(request) -> str:
    """A list's filters from the query string, in a stable order, without the
    page: the key of a count or summary kept with `cached`."""
    return urlencode(sorted((k, v) for k, v in request.GET.items() if k != "page"))


def etag(request, *parts) -> str:
    """An ETag from cheap values, the cache version, the page and text size."""
    raw = "|".join(
        str(p)
        for p in (
            content_version(),
            text_size(request),
            request.get_full_path(),
            *parts,
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _cached_view(request):
    """The URL match of a GET of a registered page, or None."""
    if request.method != "GET" or settings.PAGE_CACHE_SECONDS <= 0:
        return None
    if "HTTP_AUTHORIZATION" in request.META:
        return None
    return _resolved(request.path_info)


# Paths this long are not kept (a made-up one may be as long as the server
# allows); the common ones are far shorter.
RESOLVED_PATH_LIMIT = 200


@functools.lru_cache(maxsize=4096)
def _resolved_path(path: str):
    try:
        return resolve(path)
    except Resolver404:
        return None


def _resolved(path: str):
    """`_cached_view`'s match: URL resolution walks every pattern, a tenth of
    a cached page's time, so a process keeps what its recent paths resolved
    to (the URLconf is fixed while it runs; `forget_resolved` when a test
    changes it). Read only: the views get Django's own match."""
    if len(path) > RESOLVED_PATH_LIMIT:
        match = _resolved_path.__wrapped__(path)
    else:
        match = _resolved_path(path)
    if match is None or match.view_name not in content.cached_view_names:
        return None
    return match


def forget_resolved(*, setting=None, **kwargs) -> None:
    if setting in (None, "ROOT_URLCONF"):
        _resolved_path.cache_clear()


def _cacheable_request(request):
    if any(name in request.COOKIES for name in PERSONAL_COOKIES):
        return None
    return _cached_view(request)


def _storable(response) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
        and b"csrfmiddlewaretoken" not in response.content
    )


def _next_midnight() -> datetime:
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    return datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)


class Page:
    """Where a page is kept and until when (see the module docstring)."""

    def __init__(self, request, match, audience: str = ""):
        # What the page shows was read after this: a change due later is
        # not in it (lifetime).
        self.started = timezone.now()
        scopes = content.page_scopes(match.view_name, request, match.kwargs)
        self.scopes = scopes
        # Its own next change, asked on a miss only (`lifetime`): a hit needs none.
        self._due_of = (match.view_name, request, match.kwargs)
        # Every page shows names of units and the catalog (NAMES).
        depends = sorted({NAMES, *([ANY] if scopes is None else scopes)})
        versions = ".".join(map(str, scope_versions(depends)))
        target = "|".join(
            (request.get_host(), request.get_full_path(), ",".join(depends), versions)
        )
        digest = hashlib.sha256(target.encode()).hexdigest()[:40]
        # Narrowed where several audiences see the same page (content.cached_views).
        self.audience = audience and content.page_audience(
            match.view_name, request, match.kwargs, audience
        )
        self.shared = self.audience != audience
        who = f"aud:{self.audience}" if audience else "anon"
        # No text size step: the copy holds slots for it (`_with_size`).
        self.key = f"pagecache:{generation()}:{who}:{digest}"

    def lifetime(self) -> float:
        """Seconds from now (on a miss: runs the scheduled-change queries).

        The figures a page is made of may have been kept (`cached`) up to
        VALUE_CACHE_SECONDS before it: a page made within that time after a
        scheduled change (or midnight) may show things as they were before
        it, so it is kept only until those figures are gone."""
        if self.scopes is None:
            return settings.PAGE_CACHE_SECONDS
        kept = timedelta(seconds=max(settings.VALUE_CACHE_SECONDS, 0))
        recent = self.started - kept
        own = content.page_due(*self._due_of)
        due = next_due(self.scopes, recent, own=own)
        until = [
            _next_midnight(),
            timezone.now() + timedelta(seconds=settings.PAGE_CACHE_MAX_SECONDS),
        ]
        if due is not None and due <= self.started:
            until.append(due + kept)
            due = next_due(self.scopes, self.started, own=own)
        midnight = _next_midnight() - timedelta(days=1)
        if recent < midnight <= self.started:
            until.append(midnight + kept)
        end = min(t for t in (due, *until) if t is not None)
        return max((end - timezone.now()).total_seconds(), 0.0)


def next_due(
    scopes: list[str] | None,
    after: datetime,
    *,
    find: Callable[[datetime], datetime | None] | None = None,
    own: "content.OwnDue | None" = None,
) -> datetime | None:
    """The next scheduled change in these scopes after `after` (None: any).

    A request asks for it for each value it keeps (three queries each time):
    kept under the same scopes (county-wide: "any"), as `kept_next` keeps
    it, until a save in those scopes (a new scheduled row) moves their
    version or it comes due. `find(after)`, if given, answers as
    `content.next_change` would from rows the request has just read (the
    one row of a disclosure's scope): worked out without a query. `own`:
    the page's own (content.OwnDue: what it shows of a county-wide scope),
    kept under its name and these scopes, not the county's."""
    if own is not None and scopes:
        return kept_next(own.name, own.find, after, scopes=sorted(set(scopes)))
    wide = scopes is None or bool(scopes and content.is_county_wide(scopes))
    named = [ANY] if wide else sorted(set(scopes))
    # Not "next-change:…": values kept under that name were a time alone.
    return kept_next(
        f"next-due:{','.join(named)}",
        find or (lambda t: content.next_change(named, t)),
        after,
        scopes=None if wide else named,
    )


def kept_next(
    name: str,
    find: Callable[[datetime], datetime | None],
    after: datetime,
    *,
    scopes: list[str] | None = None,
) -> datetime | None:
    """`find(after)`: the first scheduled time after `after`, kept (`cached`,
    under `scopes`) with the time it was worked out from, and used for any
    later `after` while it lies ahead (nothing can come before it that
    `find` did not see). Worked out from VALUE_CACHE_SECONDS before `after`,
    as a page's lifetime looks back that far (`Page.lifetime`); asked from
    earlier still, or once it came due (a change in the last minute), it is
    found again from the data, and kept beside the first (`_spans`)."""

    def work_out() -> tuple[tuple[datetime, datetime | None], ...]:
        since = after - timedelta(seconds=max(settings.VALUE_CACHE_SECONDS, 0))
        return ((since, find(since)),)

    spans = cached(f"{name}:spans", work_out, scopes=scopes)
    found = _within(spans, after)
    if found is not _NOTHING:
        return found
    due = find(after)
    cached(
        f"{name}:spans",
        lambda: _spans(spans, after, due),
        scopes=scopes,
        fresh=True,
    )
    return due


# A kept next time is a few spans (since, due), newest last: for an `after`
# in [since, due) nothing is scheduled before `due` (None: nothing). A row
# published a moment ago lies in the look back of the first span: found
# again from `after` and kept as a second, not by every caller of the
# next minute (five a miss of the matrix after a publication).
_SPANS = 3


def _within(spans, after: datetime):
    for since, due in reversed(spans):
        if since <= after and (due is None or due > after):
            return due
    return _NOTHING


def _spans(spans, after: datetime, due: datetime | None) -> tuple:
    return (*spans[-(_SPANS - 1) :], (after, due))


def kept_next_many(
    wanted: dict[str, list[str]],
    find: Callable[[list[str], datetime], dict[str, datetime | None]],
    after: datetime,
) -> dict[str, datetime | None]:
    """`kept_next` of many parts (a town's units), each kept under its own
    scopes (`cached_many`): a change in one finds that one again. `find(names,
    after)` gives each name its first scheduled time after `after` (None:
    none), in one query for all."""
    named = {f"{name}:spans": name for name in wanted}
    kept_as = {f"{name}:spans": scopes for name, scopes in wanted.items()}

    def work_out(keys: list[str]) -> dict[str, tuple]:
        since = after - timedelta(seconds=max(settings.VALUE_CACHE_SECONDS, 0))
        due = find([named[k] for k in keys], since)
        return {k: ((since, due[named[k]]),) for k in keys}

    kept = cached_many(kept_as, work_out)
    found = {}
    for key, spans in kept.items():
        due = _within(spans, after)
        if due is not _NOTHING:
            found[named[key]] = due
    if again := [key for key in kept if named[key] not in found]:
        due = find([named[k] for k in again], after)
        found.update(due)
        cached_many(
            {key: kept_as[key] for key in again},
            lambda keys: {k: _spans(kept[k], after, due[named[k]]) for k in keys},
            fresh=True,
        )
    return found


def until_due(scopes: list[str] | None) -> Callable[[], float]:
    """`cached(..., seconds=until_due(scopes))`: a value that the clock changes
    (what a scheduled publication adds), kept at most VALUE_CACHE_SECONDS and
    never past the next scheduled change in its scopes. A page kept until
    then is made again then: it must not read a value from before."""
    return Due(scopes).value_seconds


def until_scheduled(
    scopes: list[str] | None, own: "content.OwnDue | None" = None
) -> Callable[[], float]:
    """`cached(..., seconds=until_scheduled(scopes))`: a value that every
    change names one of `scopes` for (a save, an announced bulk update) and
    that the clock changes only at the scheduled changes in them (a
    publication, a public date; not midnight): kept until the next of those,
    PAGE_CACHE_MAX_SECONDS at most (what no event announces: SQL by hand),
    as the pages naming the same scopes are; not VALUE_CACHE_SECONDS.
    `own`: the page's own next change (`next_due`), as its page lives."""
    return Due(scopes, own=own).kept_seconds


class Due:
    """The next scheduled change in these scopes after now, worked out once
    (three queries) for the values and fragments one request keeps under the
    same scopes: `value_seconds` is `until_due(scopes)`'s lifetime,
    `fragment_seconds` a fragment's (`fragments.kept_many`'s `lifetime`:
    the next midnight too)."""

    def __init__(self, scopes: list[str] | None, own: "content.OwnDue | None" = None):
        self.scopes = scopes
        self.own = own
        self.started = timezone.now()
        self._at: list[datetime | None] = []
        self._find: Callable[[datetime], datetime | None] | None = None

    def read_from(self, find: Callable[[datetime], datetime | None]) -> None:
        """The rows in these scopes were just read, and `find(after)` tells
        from them what `content.next_change(scopes, after)` would find (a
        disclosure's page has its one row): a time not kept is worked out
        from them, not read again (`next_due`'s `find`)."""
        self._find = find

    def at(self) -> datetime | None:
        if not self._at:
            self._at.append(
                next_due(self.scopes, self.started, find=self._find, own=self.own)
            )
        return self._at[0]

    def value_seconds(self) -> float:
        due = until(self.at(), midnight=False)
        return min(float(settings.VALUE_CACHE_SECONDS), due)

    def kept_seconds(self) -> float:
        # The value may have been read from rows a little before `started`
        # (a view reads "now" when it starts): a change that came due in
        # between is not in it. Looked at from VALUE_CACHE_SECONDS back, as
        # `Page.lifetime` does; such a value is kept no longer than before.
        back = timedelta(seconds=max(settings.VALUE_CACHE_SECONDS, 0))
        due = next_due(self.scopes, self.started - back, find=self._find, own=self.own)
        if due is not None and due <= self.started:
            # And never past the next one (one due within the minute), as
            # `Page.lifetime` bounds a page.
            return min(
                float(settings.VALUE_CACHE_SECONDS),
                until(due + back, midnight=False),
                until(self.at(), midnight=False),
            )
        return until(due, midnight=False)

    def fragment_seconds(self) -> float:
        return until(self.at())


def page_key(request) -> str:
    match = _cached_view(request)
    if match is None:
        raise ValueError("not a cached page")
    return Page(request, match).key


def _look_up(key: str):
    stored = _local.get(key)
    if stored is None:
        stored = cache.get(key)
        # Its own expiry too, not only the shared cache's timeout: a scheduled
        # change is due at that time by this server's clock.
        if stored is None or len(stored) != 5 or stored[4] <= time.time():
            return None
        _local.put(key, stored, expires=stored[4], size=len(stored[2]))
    return stored


_CLASS_SLOT = elder.CLASS_SLOT.encode()
_PRESSED_SLOTS = {step: s.encode() for step, s in elder.PRESSED_SLOTS.items()}


def _with_size(request, body: bytes) -> bytes:
    """A copy's text size slots filled in for this request's step (core/elder.py).

    The class goes in the <html> tag only (what comes before it is the
    doctype, no content can put a slot there); aria-pressed takes "true" or
    "false", harmless wherever a slot-like text might stand."""
    size = text_size(request)
    start = body.find(b"<html")
    end = body.find(b">", start) if start >= 0 else -1
    if end >= 0 and _CLASS_SLOT in body[start:end]:
        tag = body[start:end].replace(_CLASS_SLOT, elder.html_class(size).encode(), 1)
        body = body[:start] + tag + body[end:]
    for step, marker in _PRESSED_SLOTS.items():
        if marker in body:
            body = body.replace(marker, elder.pressed(step, size).encode())
    return body


def _etag_for(request, stored: str | None) -> str | None:
    """The ETag served at this request's step for a copy stored with `stored`."""
    if not stored:
        return stored
    weak = "W/" if stored.startswith("W/") else ""
    raw = f"{stored}|{text_size(request)}"
    return f'{weak}"{hashlib.sha256(raw.encode()).hexdigest()[:32]}"'


def _sized(request, response):
    """A fresh response (a miss, or one not kept) to a request rendered with
    slots: filled in, with its step's ETag."""
    if response.streaming:
        response.streaming_content = (
            _with_size(request, chunk) for chunk in response.streaming_content
        )
    else:
        response.content = _with_size(request, response.content)
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
    if response.has_header("ETag"):
        response["ETag"] = _etag_for(request, response["ETag"])
    return response


def _marks(body: bytes, *, for_user: bool) -> list[tuple[int, int, str]]:
    """Where a copy's slots are, as `_with_size` and `_for_user` fill them:
    the size class in the <html> tag only, every size button, and for a
    member's copy every name and CSRF token."""
    marks = []
    start = body.find(b"<html")
    end = body.find(b">", start) if start >= 0 else -1
    if end >= 0:
        at = body.find(_CLASS_SLOT, start, end)
        if at >= 0:
            marks.append((at, at + len(_CLASS_SLOT), "class"))
    pattern = _USER_SLOTS if for_user else _SIZE_SLOTS
    marks += [(m.start(), m.end(), _SLOT_NAMES[m[0]]) for m in pattern.finditer(body)]
    return sorted(marks)


def _pieces(key: str, stored, *, for_user: bool) -> compression.Pieces:
    """The copy split at its slots, kept beside it in this process's copies
    (its runs deflated on the first compressed hit)."""
    name = f"{key}|pieces"
    found = _local.get(name)
    if found is not None and found.body is stored[2]:
        return found
    body = stored[2]
    pieces = compression.Pieces(body, _marks(body, for_user=for_user))
    # Beside the copy only: its body is the copy's, counted already; the
    # deflated runs are about a fifth of it. A page too large to be copied
    # here (`_Local.put`) is deflated again on each hit, as before.
    if _local.get(key) is stored:
        _local.put(name, pieces, expires=stored[4], size=len(body) // 4 + 512)
    return pieces


def _values(request, pieces: compression.Pieces) -> dict[str, bytes]:
    """This request's values of the slots `pieces` holds."""
    size = text_size(request)
    values = {"class": elder.html_class(size).encode()}
    for step in _PRESSED_SLOTS:
        values[f"pressed-{step}"] = elder.pressed(step, size).encode()
    names = {mark[2] for mark in pieces.marks}
    if "name" in names:
        values["name"] = _name(request)
    if "csrf" in names:
        values["csrf"] = get_token(request).encode()
    return values


def _response(request, key: str, stored, *, for_user: bool = False):
    """A hit: the copy with this request's slots filled in, or a 304; gzipped
    from the copy's deflated runs when the portal compresses (production)
    and the client accepts it, as TextGZipMiddleware would have."""
    _made, status, body, headers, _expires = stored
    response = HttpResponse(status=status)
    for name, value in headers:
        response[name] = value
    if response.has_header("ETag"):
        response["ETag"] = _etag_for(request, response["ETag"])
    response["X-Page-Cache"] = "hit"
    answer = get_conditional_response(
        request, etag=response.get("ETag"), last_modified=None, response=response
    )
    if answer is not response:
        return answer  # 304: no slot filled, no token made
    pieces = _pieces(key, stored, for_user=for_user)
    values = _values(request, pieces)
    gzipped = (
        pieces.gzipped(values)
        if compression.accepts_gzip(request) and compression.compressible(response)
        else None
    )
    if gzipped is None:
        response.content = pieces.filled(values)
        return response
    response.content = gzipped
    patch_vary_headers(response, ("Accept-Encoding",))
    etag = response.get("ETag")
    if etag and etag.startswith('"'):
        response["ETag"] = "W/" + etag
    response["Content-Encoding"] = "gzip"
    response["Content-Length"] = str(len(gzipped))
    return response


def _store(key: str, page: Page, response, content: bytes) -> None:
    if not may_keep():
        return
    lifetime = page.lifetime()
    if lifetime < 1:
        return
    headers = [
        (name, value)
        for name, value in response.items()
        if name.lower() not in STORED_HEADERS_SKIP
    ]
    made = time.time()
    stored = (made, response.status_code, content, headers, made + lifetime)
    cache.set(key, stored, timeout=max(int(lifetime), 1))
    _local.put(key, stored, expires=made + lifetime, size=len(content))


class AnonymousPageCacheMiddleware:
    """Serve and store anonymous visitors' public pages (see the module docstring).

    Sits after WhiteNoise and before SessionMiddleware, so that it sees the
    final response of every inner middleware (a cookie set by the CSRF,
    session or messages middleware keeps the page out of the cache).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = _cacheable_request(request)
        if match is None:
            return self.get_response(request)
        page = Page(request, match)
        stored = _look_up(page.key)
        if stored is not None:
            return _response(request, page.key, stored)
        request.page_text_size_slots = True  # one copy for every step
        response = self.get_response(request)
        if _storable(response):
            _store(page.key, page, response, response.content)
            response["X-Page-Cache"] = "miss"
        return _sized(request, response)


# Filled in for each request from an audience's copy: the user's name, and
# every CSRF token (Django renders a new mask of the secret each time).
NAME_SLOT = slot("user-name").encode()
CSRF_SLOT = slot("csrf-token").encode()
_CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
_CSRF_STORED = b'name="csrfmiddlewaretoken" value="' + CSRF_SLOT + b'"'
# A hit's slots but the size class (`_marks`), by name.
_SLOT_NAMES = {
    **{mark: f"pressed-{step}" for step, mark in _PRESSED_SLOTS.items()},
    NAME_SLOT: "name",
    CSRF_SLOT: "csrf",
}
_SIZE_SLOTS = re.compile(b"|".join(map(re.escape, _PRESSED_SLOTS.values())))
_USER_SLOTS = re.compile(b"|".join(map(re.escape, _SLOT_NAMES)))


def _without_user(body: bytes) -> bytes | None:
    """The page with its CSRF tokens replaced by the slot; None if a token
    is left in a form the pattern does not know (then it is not kept)."""
    body = _CSRF_INPUT.sub(_CSRF_STORED, body)
    if body.count(b"csrfmiddlewaretoken") != body.count(_CSRF_STORED):
        return None
    return body


def _name(request) -> bytes:
    """The header's name, from the session (audiences.Member: a hit loads no
    user), escaped; its "@" as a character reference, so that no name can
    hold a slot's text (shown the same, never filled in)."""
    return escape(request.page_member.name).replace("@", "&#64;").encode()


def _for_user(request, body: bytes) -> bytes:
    if NAME_SLOT in body:
        body = body.replace(NAME_SLOT, _name(request))
    if CSRF_SLOT in body:
        body = body.replace(CSRF_SLOT, get_token(request).encode())
    return body


def _pending_messages(request) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and len(storage) > 0


class AudiencePageCacheMiddleware:
    """Logged-in users who are not staff get the cached page of their audience
    (core/audiences.py), with their own name and CSRF token filled in.

    After AuthenticationMiddleware and MessageMiddleware (it reads the session,
    the user and the pending messages), inside CsrfViewMiddleware (which sets
    the CSRF cookie a filled-in token needs). Not cached: staff, a user the
    audience function turns down (None), a pending message, a response that
    sets a cookie or says private/no-store (a view's own choice, e.g. a
    print with 党内 items), and a CSRF token in a form not recognised.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def _audience(self, request) -> str | None:
        """The request's audience from its session (no SQL while the
        session's entry holds: core/audiences.py); None for a visitor, staff,
        a user with more rights than an audience, or a pending message."""
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None  # an anonymous visitor: the anonymous cache's
        if not audiences.registered() or _pending_messages(request):
            return None
        member = audiences.of_request(request)
        if member is None or member.audience is None:
            return None
        request.page_member = member
        return member.audience

    def __call__(self, request):
        match = _cached_view(request)
        audience = self._audience(request) if match is not None else None
        if audience is None:
            return self.get_response(request)
        page = Page(request, match, audience=audience)
        stored = _look_up(page.key)
        if stored is not None:
            return _response(request, page.key, stored, for_user=True)
        if not audiences.confirmed(request, request.page_member):
            # Django's check of the log-in (run by loading the user), or the
            # audience worked out from the rows now, says otherwise than the
            # session's entry: render, keep nothing.
            return self.get_response(request)
        request.page_audience = audience  # the header writes NAME_SLOT:
        request.page_name_slot = NAME_SLOT.decode()
        request.page_text_size_slots = True  # one copy for every step
        response = self.get_response(request)
        if response.streaming:
            return _sized(request, response)
        body = response.content
        # A view that showed what only the user's own audience reads (a
        # 党组织内部 notice) says so: never kept in a copy shared with others.
        own_only = page.shared and getattr(request, "page_own_audience_only", False)
        if not own_only and _storable_for_audience(request, response):
            stored = _without_user(body)
            if stored is not None:
                _store(page.key, page, response, stored)
                body = stored
                response["X-Page-Cache"] = "miss"
        # Kept or not, this user's page gets this user's name and step.
        response.content = _for_user(request, body)
        return _sized(request, response)


def _storable_for_audience(request, response) -> bool:
    # A CSRF token is expected here (the log-out form): _without_user takes it.
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
        and not _pending_messages(request)
    )


class PrivateForUsersMiddleware:
    """Every response rendered for a logged-in user is `Cache-Control: private`.

    A party member's page may hold 党内 items, a staff member's their drafts;
    `Vary: Cookie` alone does not stop a shared proxy that ignores it (or keys
    on a cookie a page does not vary on) from keeping such a page. `private`
    forbids every shared cache; other directives (no-store…) are kept.

    Near the top of MIDDLEWARE, so that it also covers what a middleware
    answers itself (a refused NUL byte, the slash redirect CommonMiddleware
    makes of a 404). The user is the one AuthenticationMiddleware gave the
    request; a request answered before it counts as a user's if it carries a
    session cookie.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if getattr(request, "page_member", None) is not None:
            for_a_user = True  # a member's cached page: the user is not loaded
        elif user is not None:
            for_a_user = user.is_authenticated
        else:
            for_a_user = settings.SESSION_COOKIE_NAME in request.COOKIES
        if for_a_user:
            patch_cache_control(response, private=True)
        return response
