"""The session engine without a shared cache (settings.SESSION_ENGINE when
REDIS_URL is not set: one worker, sessions in the database): Django's,
reading a session logged in under Django's ModelBackend as naming
core.auth's (`core.sessions.read_as_ours`)."""

from django.contrib.sessions.backends import db

from core.sessions import read_as_ours


class SessionStore(db.SessionStore):
    def load(self):
        return read_as_ours(super().load())
