"""The test suite: development settings with a fast password hash (the
suite creates hundreds of users; hashing strength is not what it tests), and
production's session engine (one process: the local-memory cache is shared)."""

from .development import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_ENGINE = "core.sessions"
