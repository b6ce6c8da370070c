"""Settings for the Fengming disclosure portal.

One module, driven by environment variables, so that the same code runs on a
laptop (SQLite, DEBUG), in CI (SQLite and PostgreSQL) and in production.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment.")
    # Development and test only; production sets SECRET_KEY (see README).
    SECRET_KEY = "insecure-dev-key-fengming-portal-change-me"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "simple_history",
    "crispy_forms",
    "crispy_bootstrap5",
    "catalog",
    "disclosure",
    "feedback",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fengming_portal.urls"

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
                "portal.context_processors.portal",
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
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names in production; plain files while developing so
        # that no collectstatic run is needed.
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# The unit whose page is the site's home page; by default the first town.
PORTAL_HOME_UNIT_SLUG = os.environ.get("PORTAL_HOME_UNIT_SLUG", "")
PORTAL_SITE_NAME = os.environ.get("PORTAL_SITE_NAME", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Attachments (issue 3). Files are served through a view that checks the
# visibility rule; in production nginx can send them with X-Accel-Redirect.
ATTACHMENT_MAX_MB = int(os.environ.get("ATTACHMENT_MAX_MB", "10"))
ATTACHMENT_MAX_PIXELS = 40_000_000
# e.g. "/protected-media/" with an nginx `internal` location aliasing MEDIA_ROOT.
ATTACHMENT_X_ACCEL_PREFIX = os.environ.get("ATTACHMENT_X_ACCEL_PREFIX", "")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# The bodies named on the public review trail (审核 and 审批), recorded with
# each step so that a later change of names does not rewrite history.
DISCLOSURE_REVIEW_BODY = os.environ.get("DISCLOSURE_REVIEW_BODY", "镇纪委")
DISCLOSURE_APPROVAL_BODY = os.environ.get("DISCLOSURE_APPROVAL_BODY", "镇党委")
SIMPLE_HISTORY_REVERT_DISABLED = True

# 回音壁 (feedback) -----------------------------------------------------------
# The anonymous form's rate limit is counted in the cache, so production must use
# a cache shared by all worker processes: set REDIS_URL (or configure a database
# cache). The default LocMemCache is per process: fine for development and tests.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Deadlines, in Chinese working days (holidays and 调休 make-up days counted).
FEEDBACK_ANSWER_WORKDAYS = int(os.environ.get("FEEDBACK_ANSWER_WORKDAYS", "10"))
FEEDBACK_REQUEST_DECISION_WORKDAYS = 3  # 点题公开: accept or refuse within …
FEEDBACK_REQUEST_EXTENDED_WORKDAYS = 10  # … or this many, once extended
# Anti-abuse on the public form.
FEEDBACK_RATE_LIMIT = int(os.environ.get("FEEDBACK_RATE_LIMIT", "5"))  # per client
FEEDBACK_RATE_PERIOD = 3600  # seconds
FEEDBACK_MIN_FORM_SECONDS = 3  # faster than this is a bot
FEEDBACK_FORM_MAX_AGE = 2 * 3600  # a form older than this must be reloaded
FEEDBACK_DUPLICATE_WINDOW = 30 * 60  # same text, unit and client: the same submission
FEEDBACK_TEXT_MAX_LENGTH = 2000
# The request header with the client address when behind a reverse proxy,
# e.g. "HTTP_X_REAL_IP" set by nginx; empty: REMOTE_ADDR.
FEEDBACK_CLIENT_IP_HEADER = os.environ.get("FEEDBACK_CLIENT_IP_HEADER", "")
