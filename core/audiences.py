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
session with the user's name (`of_request`), so that a cache hit needs no
SQL at all: with the cached_db session engine (settings) the session comes
from the cache, and the user is not loaded. Django's own checks of a log-in
(the session's password hash, `is_active`, the backend) run whenever the
kept entry is not taken as it is:

- the memberships version moved: any save or delete of a `depends_on` model
  (User among them: a password change, deactivation, staff flags, a new
  name), any change to its many-to-many tables; read from the shared cache
  on every member's request, so another server's change counts at once
  (with the session, in one round trip: core/sessions.py);
- the entry was made under another log-in (its seal: the user, the
  session's password hash and the secret key, as Django's check keys them);
- it is older than PAGE_AUDIENCE_CHECK_SECONDS: a change that sends no
  signal (a queryset `update()`, SQL by hand) ends a log-in's cached pages
  within that time, where Django's check would have at once.

Log-out and session expiry need nothing here: the session is gone.
"""

import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import NamedTuple

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.crypto import constant_time_compare, salted_hmac

from . import sessions

# In the session: [user pk, audience, name, memberships version, seal, when].
SESSION_KEY = "_page_audience"
VERSION_KEY = "pagecache:memberships"
SEAL_SALT = "core.audiences.seal"


class Member(NamedTuple):
    """What the page cache needs of a logged-in user, from the session."""

    pk: str  # as the session holds it (auth.SESSION_KEY)
    audience: str | None  # None: never from the cache (staff, more rights)
    name: str  # the header's, `get_username()`


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
    sessions.read_along(VERSION_KEY)


def registered() -> bool:
    return _of is not None


def memberships_version(*, fresh: bool = False) -> int:
    """The version; `fresh`: from the shared cache, not this process's copy
    of the last second (a check of a log-in, not of content)."""
    now = time.monotonic()
    if (
        not fresh
        and _local["version"] is not None
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
    moved()


def moved() -> None:
    """Every session works its audience out again: for a change the app knows
    may move users and no `depends_on` model's signal tells (a row the
    audience rule reads)."""
    # Now and after the commit: a session that works its audience out again
    # between the two may still read the old rows, and is sent back once more.
    _bump()
    transaction.on_commit(_bump)


def _work_out(user) -> str | None:
    if _of is None or not (user and user.is_authenticated):
        return None
    if user.is_staff or user.is_superuser:
        return None  # staff pages are never cached, whatever `of` says
    return _of(user)


def _seal(session) -> str:
    """Ties a kept entry to one log-in: the user, the password hash digest
    the session was logged in with (Django's session-auth hash) and the
    secret key (a new key fails Django's check of every log-in too)."""
    login = f"{session.get(auth.SESSION_KEY)}|{session.get(auth.HASH_SESSION_KEY)}"
    return salted_hmac(SEAL_SALT, login).hexdigest()


def working_out() -> bool:
    """Whether a session's audience is being worked out (a log-in, the check
    every PAGE_AUDIENCE_CHECK_SECONDS): the audience function reads the rows
    it depends on afresh, not a copy kept for other requests, so that what
    no signal announces moves a session within PAGE_AUDIENCE_CHECK_SECONDS,
    not that plus the copy's lifetime."""
    return _working_out.get()


_working_out: ContextVar[bool] = ContextVar("audiences_working_out", default=False)


def _keep(session, user, version: int) -> Member:
    token = _working_out.set(True)
    try:
        audience = _work_out(user)
    finally:
        _working_out.reset(token)
    member = Member(session.get(auth.SESSION_KEY), audience, user.get_username())
    session[SESSION_KEY] = [*member, version, _seal(session), time.time()]
    return member


def _kept(session, version: int) -> Member | None:
    """The session's entry if it still holds (module docstring), else None."""
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, list) or len(kept) != 6:
        return None
    pk, audience, name, kept_version, seal, made = kept
    if (
        kept_version != version
        or not 0 <= time.time() - made < settings.PAGE_AUDIENCE_CHECK_SECONDS
        or pk is None
        or pk != session.get(auth.SESSION_KEY)
        or session.get(auth.BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS
        or not constant_time_compare(seal, _seal(session))
    ):
        return None
    return Member(pk, audience, name)


def confirmed(request, member: Member) -> bool:
    """On a miss, before a page is kept under the session's audience: the
    user loaded now (Django's checks of the log-in ran) is the session's,
    with the same audience. A change that sent no signal (a queryset
    `update()` of a membership) would otherwise render one branch's rows
    into another audience's copy until the entry is checked again."""
    user = request.user
    if str(user.pk) == member.pk and _work_out(user) == member.audience:
        return True
    if user.is_authenticated:  # the next request reads the audience of now
        _keep(request.session, user, memberships_version())
    return False


def _logged_in(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    _keep(request.session, user, memberships_version(fresh=True))


def of_request(request) -> Member | None:
    """The logged-in user of this request as the page cache needs them, or
    None for a visitor. From the session while its entry holds (no SQL);
    else from `request.user`, which runs Django's checks of the log-in, and
    the audience function (permission queries); the entry is kept again."""
    if _of is None:
        return None
    session = request.session
    session.get(SESSION_KEY)  # loads it: core.sessions reads the version with it
    current = getattr(session, "along", {}).get(VERSION_KEY)
    if current is None:  # not read along (another engine, or not there)
        current = memberships_version(fresh=True)
    else:
        _local.update(version=current, read_at=time.monotonic())
    member = _kept(session, current)
    if member is not None:
        return member
    user = request.user
    if not user.is_authenticated:
        return None
    return _keep(request.session, user, current)
