"""Placeholders in a cached page's shared copy, filled in for each request
(core/caching.py): the user's name, CSRF tokens, the text size step.

Each is marked with a value derived from SECRET_KEY and never sent, so text
that a resident submitted or staff published can never be one: a literal
"@@fm-user-name@@" in a 回音壁 message is shown as written, not replaced."""

import functools
import hashlib

from django.conf import settings


def slot(name: str) -> str:
    return f"@@fm-{name}-{_mark(settings.SECRET_KEY)}@@"


@functools.cache
def _mark(secret: str) -> str:
    """Worked out once a key (forms fill a slot a field on every request)."""
    return hashlib.sha256(f"fengming:page-slot:{secret}".encode()).hexdigest()[:24]
