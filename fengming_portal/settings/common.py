"""Settings shared by every environment, driven by environment variables.

development.py, production.py and test.py start from these; only what differs
between them lives there. README "Configuration" lists the variables.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


# Overridden by development.py and production.py; off unless one says so.
DEBUG = False
# Development and test only; production.py requires SECRET_KEY in the environment.
SECRET_KEY = (
    os.environ.get("SECRET_KEY", "") or "insecure-dev-key-fengming-portal-change-me"
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "core.admin_site.PortalAdminConfig",  # django.contrib.admin
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_filters",
    "simple_history",
    "crispy_forms",
    "crispy_bootstrap5",
    "core",  # shared mechanisms: page cache, security, widgets; knows no app
    "catalog",
    "disclosure",
    "feedback",
    "govinfo",
    "composition",
    "operations",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, its headers worked out once (the policy is constant).
    "core.security.PolicyMiddleware",
    # Logged-in users' responses are never kept by a shared cache: all of them,
    # also those the middleware below answer before a view.
    "core.caching.PrivateForUsersMiddleware",
    "core.security.RefuseNullBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Anonymous public pages from the cache: before the session, CSRF
    # and messages middleware, so that it sees every cookie they set.
    "core.caching.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Logged-in members' pages from their audience's copy (core/audiences.py):
    # after the session, user and messages, inside the CSRF middleware.
    "core.caching.AudiencePageCacheMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After a view whose service acted on a case: its unit's kept counts of
    # cases counted again (feedback.kept_counts; not reached by a hit).
    "feedback.kept_counts.recount_acted_on",
    # Last, as django-axes asks: turns a lock-out into its 429 page.
    "axes.middleware.AxesMiddleware",
]


def with_compression(middleware: list[str]) -> list[str]:
    """MIDDLEWARE with text compressed (core/compression.py, production's):
    above the page cache, which keeps pages as they are, so that one cached
    page serves a browser with gzip and one without."""
    at = middleware.index("django.middleware.security.SecurityMiddleware") + 1
    return [*middleware[:at], "core.compression.TextGZipMiddleware", *middleware[at:]]


ROOT_URLCONF = "fengming_portal.urls"
# A catalog item's page lists what the units published under it, so it is the
# disclosure app's; the catalog does not know it.
ABSOLUTE_URL_OVERRIDES = {
    "catalog.item": lambda item: reverse("disclosure:catalog_item", args=[item.code]),
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.portal",
                "core.elder.context_processor",  # 长辈模式 flag
            ],
        },
    },
]

WSGI_APPLICATION = "fengming_portal.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` writes (production); e.g. /srv/fengming/static.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Served as they lie (WHITENOISE_USE_FINDERS), so `runserver` works
        # with or without DEBUG and without collectstatic; production.py
        # serves the hashed, compressed names `collectstatic` writes.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
WHITENOISE_USE_FINDERS = True

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# The unit whose page is the site's home page; by default the first town.
PORTAL_HOME_UNIT_SLUG = os.environ.get("PORTAL_HOME_UNIT_SLUG", "")
PORTAL_SITE_NAME = os.environ.get("PORTAL_SITE_NAME", "")
# The weights of the five 督查 criteria in an inspection's total score
# (disclosure/models/inspections.py): complete and true, form, procedure,
# timeliness, feedback handled. Relative weights; the total stays 0–100.
COMPLIANCE_CRITERIA_WEIGHTS = {
    "complete": 30,
    "form": 15,
    "procedure": 15,
    "timeliness": 25,
    "feedback": 15,
}

# Attachments. Files are served through a view that checks the
# visibility rule; in production nginx can send them with X-Accel-Redirect.
ATTACHMENT_MAX_MB = int(os.environ.get("ATTACHMENT_MAX_MB", "10"))
ATTACHMENT_MAX_PIXELS = 40_000_000
# e.g. "/protected-media/" with an nginx `internal` location aliasing MEDIA_ROOT.
ATTACHMENT_X_ACCEL_PREFIX = os.environ.get("ATTACHMENT_X_ACCEL_PREFIX", "")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SIMPLE_HISTORY_REVERT_DISABLED = True

# 回音壁 (feedback) -----------------------------------------------------------
# The anonymous form's rate limit is counted in the cache, so production must use
# a cache shared by all worker processes: set REDIS_URL (or configure a database
# cache). The default LocMemCache is per process: fine for development and tests.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {
            # Django's, with one Redis client per process (core/redis_cache.py).
            "BACKEND": "core.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # Kept values are many and small (a unit's rows and counts,
            # each under its own scopes): Django's default of 300 keys
            # would drop pages at random, as Redis does not.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    )
}
# Deadlines, in Chinese working days (holidays and 调休 make-up days counted).
# Working days to answer, per kind of case (feedback.models.Kind); each from
# FEEDBACK_ANSWER_WORKDAYS_<KIND> (e.g. _DENUNCIATION), else FEEDBACK_ANSWER_WORKDAYS.
_ANSWER_WORKDAYS = int(os.environ.get("FEEDBACK_ANSWER_WORKDAYS", "10"))
FEEDBACK_ANSWER_WORKDAYS = {
    kind: int(
        os.environ.get(f"FEEDBACK_ANSWER_WORKDAYS_{kind.upper()}", _ANSWER_WORKDAYS)
    )
    for kind in [
        "opinion",
        "suggestion",
        "report",
        "question",
        "request",
        "denunciation",
    ]
}
FEEDBACK_REQUEST_DECISION_WORKDAYS = 3  # 点题公开: accept or refuse within …
FEEDBACK_REQUEST_EXTENDED_WORKDAYS = 10  # … or this many, once extended
# The catalog item an accepted 点题公开 request is counted under on the
# compliance pages (党员群众“点题公开”事项答复).
FEEDBACK_REQUEST_ITEM_CODE = os.environ.get("FEEDBACK_REQUEST_ITEM_CODE", "F02")
# Anti-abuse on the public form.
FEEDBACK_RATE_LIMIT = int(os.environ.get("FEEDBACK_RATE_LIMIT", "5"))  # per client
FEEDBACK_RATE_PERIOD = 3600  # seconds
FEEDBACK_MIN_FORM_SECONDS = 3  # faster than this is a bot
FEEDBACK_FORM_MAX_AGE = 2 * 3600  # a form older than this must be reloaded
FEEDBACK_DUPLICATE_WINDOW = 30 * 60  # same text, unit and client: the same submission
FEEDBACK_TEXT_MAX_LENGTH = 2000
# Wrong tracking codes per client before it must wait (guessing codes).
FEEDBACK_TRACK_MISS_LIMIT = int(os.environ.get("FEEDBACK_TRACK_MISS_LIMIT", "10"))
FEEDBACK_TRACK_MISS_PERIOD = 15 * 60  # seconds

# 依申请公开 (govinfo): the application form's limits, as the 回音壁's.
GOVINFO_RATE_LIMIT = int(os.environ.get("GOVINFO_RATE_LIMIT", "5"))  # per client
GOVINFO_RATE_PERIOD = 3600  # seconds
GOVINFO_MIN_FORM_SECONDS = 3  # faster than this is a bot
GOVINFO_FORM_MAX_AGE = 6 * 3600  # a long form: more time than the 回音壁's
GOVINFO_TRACK_MISS_LIMIT = int(os.environ.get("GOVINFO_TRACK_MISS_LIMIT", "10"))
GOVINFO_TRACK_MISS_PERIOD = 15 * 60  # seconds

# Security -----------------------------------------------------------------------
# Helpers live in core/security.py; README "Security" says what each
# setting protects.

# Behind nginx: the header with the real client address (nginx sets X-Real-IP),
# read by security.client_ip alone, for the log-in lock-out, the 回音壁 limits
# and the security log. Empty: REMOTE_ADDR (no proxy, or one you do not trust).
CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "")

# HTTPS: production.py turns it on (DJANGO_HTTPS=off for an intranet without
# TLS) with the redirect, HSTS and Secure cookies that go with it.
HTTPS = False
SECURE_SSL_REDIRECT = False
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probed over plain HTTP on loopback
SECURE_PROXY_SSL_HEADER = None
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
# Scripts never read the cookies (CSRF included: forms carry the token), and
# other sites' pages never send them.
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "core.security.csrf_failure"
# Preloading HSTS is the domain owner's decision (a subdomain of the county's
# site): off by default, so its check is silenced.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content Security Policy (django-csp 4): nothing inline, nothing from elsewhere.
# Bootstrap's CSS draws its form icons from data: SVGs, hence img-src data:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Log-in brute force (django-axes): 5 failures for one username from one
# address lock that pair out for AXES_COOLOFF_MINUTES; a success resets the
# count. Unlock early in the admin (访问尝试) or with `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    "core.security.AxesBackend",
    # Django's ModelBackend, its user query kept (core/auth.py).
    "core.auth.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip"
AXES_USERNAME_CALLABLE = "core.security.axes_username"
AXES_VERBOSE = False  # our own JSON security log records failures and lock-outs

# `manage.py backup` writes its archives here (README, "Backups").
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", BASE_DIR / "backups"))


def logging_config(log_format: str) -> dict:
    """Structured logs on stdout: one JSON object a line (LOG_FORMAT=json, the
    default in production), plain text while developing. Security events go
    to "fengming.security"."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "core.logs.JsonFormatter"},
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": log_format,
            },
        },
        "root": {
            "handlers": ["console"],
            "level": os.environ.get("LOG_LEVEL", "INFO"),
        },
        "loggers": {
            "django.security": {"level": "INFO"},
            "fengming.security": {"level": "INFO"},
            "axes": {"level": "WARNING"},  # its per-attempt INFO lines are noise
            "pikepdf": {"level": "WARNING"},  # announces itself at INFO on import
            "weasyprint": {"level": "WARNING"},  # its per-step INFO lines are noise
        },
    }


LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING = logging_config(LOG_FORMAT)

# Printable boards and yearly archives -----------------------------------------
# The printed board's page size, a CSS @page size: "A3 landscape" (the physical
# boards), "A4 portrait", or "420mm 297mm".
BOARD_PRINT_PAGE_SIZE = os.environ.get("BOARD_PRINT_PAGE_SIZE", "A3 landscape")

# Search, feeds, following -----------------------------------------------------
# Links in the confirmation and digest mails (send_digests runs without a
# request, so it needs the site's address), e.g. https://gk.fengming.gov.cn
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000")
# Mail: printed to the console unless configured, e.g. EMAIL_BACKEND=
# django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST/PORT/USER/PASSWORD.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@localhost")
# Following by email: a confirmation link lives this many days (then the row is
# deleted), is not re-sent within this many hours, and one address gets at most
# this many confirmation mails a day.
SUBSCRIPTION_CONFIRM_DAYS = 7
SUBSCRIPTION_RESEND_HOURS = 24
SUBSCRIPTION_DAILY_MAILS = 3

# Performance and scale-out ------------------------------------------------------
# docs/PERFORMANCE.md has the figures, docs/DEPLOYMENT.md the multi-server set-up.
# Anonymous public pages are cached this many seconds (0: off; off by default
# outside production). It bounds how late a scheduled publication shows; edits,
# publications, withdrawals and answers show at once (core/caching.py).
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "0"))
# Costly figures shared by many pages (the list's period choices, the 回音壁's
# summary for a selection) are kept as long, under the same version.
VALUE_CACHE_SECONDS = int(os.environ.get("VALUE_CACHE_SECONDS", "0"))
# The header and footer every page shares are rendered once per process and
# kind of request, the user's name, CSRF token and address filled in each time
# (core/templatetags/chrome.py); False renders them on every page (tests
# compare the two).
PORTAL_CHROME_KEPT = True
# Each worker keeps copies of what it read from the shared cache, up to this
# many bytes, and reads the version again at most this often: a publication
# through another server shows here within that time (core/caching.py).
PAGE_CACHE_LOCAL_BYTES = int(os.environ.get("PAGE_CACHE_LOCAL_BYTES", 32 * 1024 * 1024))
PAGE_CACHE_VERSION_SECONDS = float(os.environ.get("PAGE_CACHE_VERSION_SECONDS", "1"))
# A logged-in member's cached page needs no SQL: the session comes from the
# shared cache (core/sessions.py: Django's cached_db, written through to the
# database, so a Redis flush logs no one out) and the user is not loaded
# (core/audiences.py). Only with a shared cache: with the per-process
# LocMemCache a log-out in one worker would leave another's copy.
SESSION_ENGINE = "core.sessions" if REDIS_URL else "core.db_sessions"
# What no signal announces (a queryset update() of a user, SQL by hand) ends
# a member's cached pages within this many seconds; a save, a password change,
# a new group or permission, a log-out at once (core/audiences.py).
PAGE_AUDIENCE_CHECK_SECONDS = int(os.environ.get("PAGE_AUDIENCE_CHECK_SECONDS", "60"))
# A page that names its scopes lives until they change, something scheduled
# in them comes due or midnight; this bounds what no event announces.
PAGE_CACHE_MAX_SECONDS = int(os.environ.get("PAGE_CACHE_MAX_SECONDS", "86400"))
# PostgreSQL: no JIT compilation. The portal's queries are short; at county
# scale the planner's cost estimates for a search or a count pass JIT's
# threshold and compiling took longer (about 300 ms) than running the query.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # The pages' kept SQL runs as prepared statements (core/compiled.py): the
    # server plans each once a connection. Django leaves psycopg's prepared
    # statements off for poolers in transaction mode (PgBouncer before 1.21),
    # which cannot keep them: behind one, DATABASE_PREPARED_STATEMENTS=off.
    # Only kept SQL is prepared; Django's own queries bind on the client.
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
# SQLite with several workers: a transaction takes the write lock when it starts
# (so two writers queue instead of one failing with "database is locked"), and
# waits up to 20 s for it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
# Uploaded files on shared storage when there is more than one application
# server: e.g. MEDIA_STORAGE_BACKEND=storages.backends.s3.S3Storage and
# MEDIA_STORAGE_OPTIONS='{"bucket_name": "fengming", "endpoint_url": "…"}'
# (pip install django-storages[s3]; see docs/DEPLOYMENT.md).
if os.environ.get("MEDIA_STORAGE_BACKEND"):
    import json

    STORAGES["default"] = {
        "BACKEND": os.environ["MEDIA_STORAGE_BACKEND"],
        "OPTIONS": json.loads(os.environ.get("MEDIA_STORAGE_OPTIONS", "{}")),
    }
