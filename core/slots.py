"""Placeholders in a cached page's shared copy, filled in for each request
(core/caching.py): the user's name, CSRF tokens, the text size step.

Each is marked with a value derived from SECRET_KEY and never sent, so text
that a resident submitted or staff published can never be one: a literal
"@@fm-user-name@@" in a 回音壁 message is shown as written, not replaced."""

import hashlib

from django.conf import settings


def slot(name: str) -> str:
    mark = hashlib.sha256(f"fengming:page-slot:{settings.SECRET_KEY}".encode())
    return f"@@fm-{name}-{mark.hexdigest()[:24]}@@"
