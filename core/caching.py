"""The anonymous page cache and the cheap keys of conditional GET.

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
- keyed by host, path and query, the text size step (长辈模式) and a version number
  that every change to a public model or workflow event bumps (`on_event`,
  listening to core.events); entries live
  `PAGE_CACHE_SECONDS` (60 in production), which bounds how late a scheduled
  publication, a new 回音壁 submission or a board's date change shows.

Each worker process keeps a copy of what it last read from the shared cache
(`_Local`), so that a hit costs no round trip to Redis: the version is read
again at most every `PAGE_CACHE_VERSION_SECONDS` (1 s), and a copied page
expires when its shared entry does (it carries the time it was made). A
publication through another server therefore shows here within that second;
through this process, at once. The version starts from the clock when the
shared cache has none (a flush, an eviction, a new Redis), so a number is
never reused while copies made under it may still be around.
"""

import hashlib
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import urlencode

from . import content, events
from .elder import text_size

T = TypeVar("T")
VERSION_KEY = "pagecache:version"
# Cookies that make a request personal: a session (anyone logged in) or a
# message waiting to be shown.
PERSONAL_COOKIES = (settings.SESSION_COOKIE_NAME, "messages")
STORED_HEADERS_SKIP = {"set-cookie"}


class _Local:
    """This process's copies: the version and recent entries, bounded in bytes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.version: int | None = None
        self.version_read_at = 0.0
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
    now = time.monotonic()
    if (
        _local.version is not None
        and now - _local.version_read_at < settings.PAGE_CACHE_VERSION_SECONDS
    ):
        return _local.version
    current = cache.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, _new_version(), timeout=None)
        current = cache.get(VERSION_KEY) or _new_version()
    _local.version, _local.version_read_at = current, now
    return current


def _bump() -> None:
    try:
        current = cache.incr(VERSION_KEY)
    except ValueError:  # not there (a flush or an eviction)
        current = _new_version()
        cache.set(VERSION_KEY, current, timeout=None)
    _local.version, _local.version_read_at = current, time.monotonic()


def bump_version() -> None:
    """Every cached page and ETag becomes stale (after the transaction commits).

    A publication announces several events, hence several increments: cheap,
    and a once-per-transaction guard would lose one whose savepoint rolled
    back."""
    transaction.on_commit(_bump)


def on_event(event: events.Event) -> None:
    """Any change to what public pages show makes them stale at once, but for
    new rows an app lets wait (a new 回音壁 case shows within
    PAGE_CACHE_SECONDS, once accepted)."""
    if event.created and content.waits_for_new_rows(event.model):
        return
    bump_version()


def cached(name: str, compute: Callable[[], T]) -> T:
    """A costly figure derived from the data (a DISTINCT or a summary over every
    row), kept VALUE_CACHE_SECONDS under the same version as the pages, also
    when pages are not cached (logged-in visitors, PAGE_CACHE_SECONDS=0)."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return compute()
    digest = hashlib.sha256(name.encode()).hexdigest()[:40]
    key = f"pagecache:{version()}:value:{digest}"
    # Kept pickled here too: each caller gets its own copy to change.
    stored = _local.get(key)
    if stored is None:
        stored = cache.get(key)
        if stored is None:
            stored = (time.time(), pickle.dumps(compute(), pickle.HIGHEST_PROTOCOL))
            cache.set(key, stored, timeout=settings.VALUE_CACHE_SECONDS)
        made, data = stored
        _local.put(
            key,
            stored,
            expires=made + settings.VALUE_CACHE_SECONDS,
            size=len(data),
        )
    return pickle.loads(stored[1])


def selection(request) -> str:
    """A list's filters from the query string, in a stable order, without the
    page: the key of a count or summary kept with `cached`."""
    return urlencode(sorted((k, v) for k, v in request.GET.items() if k != "page"))


def etag(request, *parts) -> str:
    """An ETag from cheap values, the cache version, the page and text size."""
    raw = "|".join(
        str(p) for p in (version(), text_size(request), request.get_full_path(), *parts)
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _cacheable_request(request) -> bool:
    if request.method != "GET" or settings.PAGE_CACHE_SECONDS <= 0:
        return False
    if any(name in request.COOKIES for name in PERSONAL_COOKIES):
        return False
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in content.cached_view_names


def _storable(response) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
        and b"csrfmiddlewaretoken" not in response.content
    )


def page_key(request) -> str:
    target = f"{request.get_host()}{request.get_full_path()}"
    digest = hashlib.sha256(target.encode()).hexdigest()[:40]
    return f"pagecache:{version()}:{text_size(request)}:{digest}"


class AnonymousPageCacheMiddleware:
    """Serve and store anonymous visitors' public pages (see the module docstring).

    Sits after WhiteNoise and before SessionMiddleware, so that it sees the
    final response of every inner middleware (a cookie set by the CSRF,
    session or messages middleware keeps the page out of the cache).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _cacheable_request(request):
            return self.get_response(request)
        key = page_key(request)
        stored = _local.get(key)
        if stored is None:
            stored = cache.get(key)
            if stored is not None and len(stored) == 4:
                _local.put(
                    key,
                    stored,
                    expires=stored[0] + settings.PAGE_CACHE_SECONDS,
                    size=len(stored[2]),
                )
        if stored is not None and len(stored) == 4:
            _made, status, content, headers = stored
            response = HttpResponse(content, status=status)
            for name, value in headers:
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return get_conditional_response(
                request,
                etag=response.get("ETag"),
                last_modified=None,
                response=response,
            )
        response = self.get_response(request)
        if _storable(response):
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in STORED_HEADERS_SKIP
            ]
            stored = (time.time(), response.status_code, response.content, headers)
            cache.set(key, stored, timeout=settings.PAGE_CACHE_SECONDS)
            _local.put(
                key,
                stored,
                expires=stored[0] + settings.PAGE_CACHE_SECONDS,
                size=len(response.content),
            )
            response["X-Page-Cache"] = "miss"
        return response


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
        if user is not None:
            for_a_user = user.is_authenticated
        else:
            for_a_user = settings.SESSION_COOKIE_NAME in request.COOKIES
        if for_a_user:
            patch_cache_control(response, private=True)
        return response
