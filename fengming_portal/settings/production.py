"""A server (DJANGO_ENV=production): secrets from the environment, HTTPS,
hashed static files, JSON logs, the page cache on. deploy/env.example is the
file an operator fills in."""

import os

from django.core.exceptions import ImproperlyConfigured

from .common import *  # noqa: F403
from .common import (
    DATABASES,
    MIDDLEWARE,
    SILENCED_SYSTEM_CHECKS,
    env_bool,
    logging_config,
    with_compression,
)

_missing = [n for n in ("SECRET_KEY", "ALLOWED_HOSTS") if not os.environ.get(n)]
if _missing:
    raise ImproperlyConfigured(
        f"DJANGO_ENV=production needs {' and '.join(_missing)} in the "
        "environment (see README, Deployment)."
    )
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False

# Hashed, compressed names written by `collectstatic`; the deploy check
# (core/checks.py) fails when it has not run, or not since a file changed.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = False
# HTML, feeds and CSV gzipped by the portal, with Django's BREACH padding
# (core/compression.py says why); static files are compressed by collectstatic.
MIDDLEWARE = with_compression(MIDDLEWARE)

HTTPS = env_bool("DJANGO_HTTPS", True)
SECURE_SSL_REDIRECT = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000")) * HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
if not HTTPS:
    # Without TLS there is no redirect, no HSTS and no Secure cookie (they
    # would not be sent): check --deploy says nothing of those four.
    SILENCED_SYSTEM_CHECKS = [
        *SILENCED_SYSTEM_CHECKS,
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    ]

# Links in mails and the host `warm_pages` makes pages under: the site's
# address, by default the first host ALLOWED_HOSTS names, not the development
# server's 127.0.0.1:8000 (a digest's links would lead residents nowhere).
if not os.environ.get("PORTAL_BASE_URL"):
    _site = next(
        (h for h in ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")),  # noqa: F405
        None,
    )
    if _site:
        PORTAL_BASE_URL = f"{'https' if HTTPS else 'http'}://{_site}"

LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING = logging_config(LOG_FORMAT)

# Anonymous pages and costly figures are kept a minute (core/caching.py).
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "60"))
VALUE_CACHE_SECONDS = int(os.environ.get("VALUE_CACHE_SECONDS", "60"))
# Persistent database connections (health-checked before reuse), kept ten
# minutes: a connection keeps the pages' prepared statements
# (core/compiled.py), which the server plans anew for their first five runs
# on a connection. A worker is replaced after GUNICORN_MAX_REQUESTS anyway.
if "CONN_MAX_AGE" not in os.environ:
    DATABASES["default"]["CONN_MAX_AGE"] = 600
