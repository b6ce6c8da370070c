"""The session engine (settings.SESSION_ENGINE in production): Django's
cached_db, which also reads, in the same round trip to the cache, the values
that every logged-in request asks for next.

cached_db keeps a session in the shared cache and writes it through to the
database: a read is one cache round trip and no SQL, and a flush of the cache
logs no one out (the session is read from the database again). A logged-in
member's cached page also checks the memberships version (core/audiences.py)
in the shared cache; read along with the session (one MGET), it costs no
second round trip.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends import cached_db
from django.core.cache import DEFAULT_CACHE_ALIAS

from core import auth

_along: list[str] = []


def read_along(key: str) -> None:
    """Read the cache key `key` with every session (`SessionStore.along`)."""
    if key not in _along:
        _along.append(key)


def read_as_ours(data: dict) -> dict:
    """A session logged in under Django's ModelBackend, read as naming
    core.auth's (the same users; its one query kept) when the settings list
    ours and not Django's: no one is logged out by the change, whichever
    session engine (this one, or `core.db_sessions` without Redis)."""
    backends = settings.AUTHENTICATION_BACKENDS
    if (
        data.get(BACKEND_SESSION_KEY) == auth.LEGACY_PATH
        and auth.LEGACY_PATH not in backends
        and auth.PATH in backends
    ):
        data[BACKEND_SESSION_KEY] = auth.PATH
    return data


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        # What was read with the session: key -> value, or None if not found
        # (or not read: another cache than the default, or no session key).
        self.along: dict[str, object] = {}

    def load(self):
        return read_as_ours(self._load())

    def _load(self):
        if not _along or settings.SESSION_CACHE_ALIAS != DEFAULT_CACHE_ALIAS:
            return super().load()
        keys = [self.cache_key, *_along]
        try:
            found = self._cache.get_many(keys)
        except Exception:
            return super().load()  # as cached_db: an unreadable key
        self.along = {key: found.get(key) for key in _along}
        data = found.get(keys[0])
        if data is not None:
            return data
        # Not in the cache (a flush, an eviction): cached_db's database read.
        session = self._get_session_from_db()
        if not session:
            return {}
        data = self.decode(session.session_data)
        self._cache.set(
            self.cache_key, data, self.get_expiry_age(expiry=session.expire_date)
        )
        return data
