"""Audiences: what a logged-in visitor may see, as one name, for the page cache.

Two party members of the same branch see the same pages but for their names
and CSRF tokens, so the page cache keeps one copy per audience, not per
user (core/caching.py `AudiencePageCacheMiddleware`). Core knows no app: the
app that owns the scope rule registers, in its `ready()`,

    audiences.register(of, depends_on=[Model, M2M.through, ...])

- `of(user) -> str | None`: the audience's name (readers with the same name
  see the same rows on every cached page) or None for a user whose pages must
  not be cached (staff, anyone with more than the audience's permissions);
- `depends_on`: the models whose changes may move a user to another audience
  (memberships, groups, permissions). Any change to them bumps one
  "memberships" version; a session holds its audience with the version it
  was worked out under, and works it out again when the version moved.

The audience is worked out at log-in (`user_logged_in`) and kept in the
session, so that a cache hit needs no permission query.
"""

import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

SESSION_KEY = "_page_audience"
VERSION_KEY = "pagecache:memberships"

_of: Callable | None = None
_local = {"version": None, "read_at": 0.0}


def register(of: Callable, *, depends_on: Iterable = ()) -> None:
    """`of(user)` names the user's audience; changes to `depends_on` models
    (or many-to-many through tables) make every session work it out again."""
    global _of
    _of = of
    for model in depends_on:
        uid = f"audiences:{model._meta.label}"
        if model._meta.auto_created:  # a many-to-many through table
            m2m_changed.connect(_changed, sender=model, dispatch_uid=uid)
        else:
            post_save.connect(_changed, sender=model, dispatch_uid=uid + ":save")
            post_delete.connect(_changed, sender=model, dispatch_uid=uid + ":del")
    user_logged_in.connect(_logged_in, dispatch_uid="audiences:login")


def registered() -> bool:
    return _of is not None


def memberships_version() -> int:
    now = time.monotonic()
    if (
        _local["version"] is not None
        and now - _local["read_at"] < settings.PAGE_CACHE_VERSION_SECONDS
    ):
        return _local["version"]
    current = cache.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, time.time_ns() // 1000, timeout=None)
        current = cache.get(VERSION_KEY) or time.time_ns() // 1000
    _local.update(version=current, read_at=now)
    return current


def _bump() -> None:
    try:
        current = cache.incr(VERSION_KEY)
    except ValueError:  # not there (a flush or an eviction)
        current = time.time_ns() // 1000
        cache.set(VERSION_KEY, current, timeout=None)
    _local.update(version=current, read_at=time.monotonic())


def _changed(sender, **kwargs) -> None:
    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):
        return
    if kwargs.get("update_fields") == frozenset({"last_login"}):
        return  # every log-in saves it: no one's audience changes
    # Now and after the commit: a session that works its audience out again
    # between the two may still read the old rows, and is sent back once more.
    _bump()
    transaction.on_commit(_bump)


def _work_out(user) -> str | None:
    if _of is None or not (user and user.is_authenticated):
        return None
    return _of(user)


def _logged_in(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    request.session[SESSION_KEY] = [user.pk, _work_out(user), memberships_version()]


def of_request(request) -> str | None:
    """The audience of this request's user, from the session; worked out again
    (permission queries) only when the memberships changed since."""
    user = request.user
    if not user.is_authenticated or _of is None:
        return None
    current = memberships_version()
    kept = request.session.get(SESSION_KEY)
    if kept and kept[0] == user.pk and kept[2] == current:
        return kept[1]
    audience = _work_out(user)
    request.session[SESSION_KEY] = [user.pk, audience, current]
    return audience
