"""The test suite: development settings with a fast password hash (the
suite creates hundreds of users; hashing strength is not what it tests)."""

from .development import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
