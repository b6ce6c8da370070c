"""The anonymous page cache and the cheap keys of conditional GET (issue 7).

`AnonymousPageCacheMiddleware` keeps whole public pages in Django's cache
(Redis in production) for visitors who are not logged in. What keeps a 党内
title or a staff page out of it, and why (docs/ARCHITECTURE.md, "Caching"):

- a request that carries a session cookie is neither served from the cache
  nor stored into it: every logged-in user has one, so a party member's or
  staff member's page never enters the cache, whatever the view renders;
  nor one with a pending message (the messages cookie);
- only GET, only the URL names in `CACHED_VIEWS` (forms, tracking pages,
  following, log-in and the admin are not there), only a 200 that sets no
  cookie and holds no CSRF token (so the 回音壁 form, whose token is per
  render, is never kept even if it were listed);
- keyed by host, path and query, the elder-mode flag and a version number
  that every publication, withdrawal, answer or edit bumps (`bump_version`,
  connected to post_save in `portal/apps.py`); entries live
  `PAGE_CACHE_SECONDS` (60 in production), which bounds how late a scheduled
  publication, a new 回音壁 submission or a board's date change shows.
"""

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response

T = TypeVar("T")
VERSION_KEY = "pagecache:version"
CACHED_VIEWS = {
    "portal:home",
    "portal:search",
    "portal:stats",
    "portal:feed_latest",
    "portal:feed_board",
    "portal:feed_feedback",
    "portal:sitemap",
    "catalog:index",
    "catalog:item",
    "disclosure:boards",
    "disclosure:board",
    "disclosure:list",
    "disclosure:detail",
    "disclosure:compliance",
    "disclosure:compliance_unit",
    "feedback:wall",
    "feedback:detail",
}
# Cookies that make a request personal: a session (anyone logged in) or a
# message waiting to be shown.
PERSONAL_COOKIES = (settings.SESSION_COOKIE_NAME, "messages")
STORED_HEADERS_SKIP = {"set-cookie"}


def is_elder(request) -> bool:
    """长辈模式 (issue 9) changes the page's <html> class: part of the key."""
    try:
        from portal.elder import is_elder as portal_is_elder
    except ImportError:
        return request.COOKIES.get("elder") == "1"
    return portal_is_elder(request)


def version() -> int:
    current = cache.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        current = cache.get(VERSION_KEY, 1)
    return current


def bump_version() -> None:
    """Every cached page and ETag becomes stale (after the transaction commits)."""

    def bump():
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # not there yet (or evicted)
            cache.set(VERSION_KEY, 2, timeout=None)

    transaction.on_commit(bump)


def on_content_saved(sender, instance=None, created=False, **kwargs) -> None:
    # A new 回音壁 submission shows on the wall within PAGE_CACHE_SECONDS; every
    # other change (publish, withdraw, answer, edit) shows at once.
    if created and sender._meta.label == "feedback.Submission":
        return
    bump_version()


def on_content_changed(sender, **kwargs) -> None:
    bump_version()


def cached(name: str, compute: Callable[[], T]) -> T:
    """A costly figure derived from the data (a DISTINCT or a summary over every
    row), kept VALUE_CACHE_SECONDS under the same version as the pages, also
    when pages are not cached (logged-in visitors, PAGE_CACHE_SECONDS=0)."""
    if settings.VALUE_CACHE_SECONDS <= 0:
        return compute()
    digest = hashlib.sha256(name.encode()).hexdigest()[:40]
    key = f"pagecache:{version()}:value:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=settings.VALUE_CACHE_SECONDS)
    return value


def etag(request, *parts) -> str:
    """An ETag from cheap values, the cache version, the page and elder mode."""
    raw = "|".join(
        str(p) for p in (version(), is_elder(request), request.get_full_path(), *parts)
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
    return match.view_name in CACHED_VIEWS


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
    return f"pagecache:{version()}:{int(is_elder(request))}:{digest}"


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
        stored = cache.get(key)
        if stored is not None:
            status, content, headers = stored
            response = HttpResponse(content, status=status)
            for name, value in headers:
                response[name] = value
            response["X-Page-Cache"] = "hit"
            conditional = get_conditional_response(
                request,
                etag=response.get("ETag"),
                last_modified=None,
                response=response,
            )
            return conditional
        response = self.get_response(request)
        if _storable(response):
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in STORED_HEADERS_SKIP
            ]
            cache.set(
                key,
                (response.status_code, response.content, headers),
                timeout=settings.PAGE_CACHE_SECONDS,
            )
            response["X-Page-Cache"] = "miss"
        return response
