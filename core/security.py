"""Security helpers: the client address, the security log, error pages, sanitising.

Settings that use these are in the "Security" block at the end of settings.py;
README "Security" says what each protects.
"""

import html
import ipaddress
import logging
import re
from dataclasses import asdict

import nh3
from axes.backends import AxesStandaloneBackend
from csp import constants as csp_constants
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy as csp_build_policy
from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.shortcuts import render
from django.utils.translation import gettext as _

logger = logging.getLogger("fengming.security")


def client_ip(request) -> str:
    """The client's address: the proxy's header when configured, else REMOTE_ADDR.

    A header value that is not an address did not come from the proxy (nginx
    always sends one): the connection's address counts instead, and nothing
    but an address reaches the lock-out's table or the log."""
    header = settings.CLIENT_IP_HEADER
    candidates = [request.META.get(header, "") if header else ""]
    candidates.append(request.META.get("REMOTE_ADDR", ""))
    for candidate in candidates:
        address = candidate.split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            continue
    return ""


class AxesBackend(AxesStandaloneBackend):
    """django-axes' check, for log-ins that come with a request.

    Every log-in form passes its request. A call without one (the test
    client's login(), a shell) comes from inside the server: nothing to count.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(
            request, username=username, password=password, **kwargs
        )


def axes_username(request, credentials=None) -> str:
    """The username django-axes records, cut to what its column holds.

    Django's log-in form does not enforce the username's length before
    authenticating, and PostgreSQL refuses a longer value (a 500, found by
    tests/security/test_hostile_input.py)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    source = credentials if credentials else request.POST
    return str(source.get(field) or "")[:150]


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' lock-out: a Chinese page saying how long to wait (429)."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "axes/lockout.html", context, status=429)


def security_event(event: str, request=None, **fields) -> None:
    """One line in the security log: what happened, from where, to what."""
    if request is not None:
        user = getattr(request, "user", None)
        fields.setdefault("ip", client_ip(request))
        fields.setdefault("path", request.path[:200])
        fields.setdefault("method", request.method)
        if user is not None and user.is_authenticated:
            fields.setdefault("user_id", user.pk)
    logger.warning(event, extra={"security": {"event": event, **fields}})


def log_login_failed(sender, credentials, request=None, **kwargs):
    # The password is never logged; the username is, to spot a targeted account.
    username = str(credentials.get("username", ""))[:150]
    security_event("login_failed", request, username=username)


def log_lockout(sender, request=None, username=None, **kwargs):
    security_event("lockout", request, username=str(username or "")[:150])


# Requests -----------------------------------------------------------------------


class PolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, its headers worked out once: here every
    response has the settings' policy (no nonce, no per-view decorator), and
    building it twice a response was a fifth of a cached page's time. A
    response or request that asks for its own (a csp decorator's attributes,
    a nonce used) gets django-csp's own; the settings changing (a test's
    override) forgets the kept headers."""

    _OWN = (
        "_csp_config",
        "_csp_update",
        "_csp_replace",
        "_csp_config_ro",
        "_csp_update_ro",
        "_csp_replace_ro",
    )
    _kept: dict[str, tuple[str, tuple[str, ...]]] = {}

    @classmethod
    def forget(cls, *, setting, **kwargs) -> None:
        if setting.startswith("CONTENT_SECURITY_POLICY"):
            cls._kept.clear()

    def _headers(self, request, response) -> dict[str, tuple[str, tuple[str, ...]]]:
        if not self._kept:
            for header, setting, report_only in (
                (csp_constants.HEADER, "CONTENT_SECURITY_POLICY", False),
                (
                    csp_constants.HEADER_REPORT_ONLY,
                    "CONTENT_SECURITY_POLICY_REPORT_ONLY",
                    True,
                ),
            ):
                parts = self.get_policy_parts(
                    request, response, report_only=report_only
                )
                policy = csp_build_policy(**asdict(parts), report_only=report_only)
                config = getattr(settings, setting, None) or {}
                excluded = tuple(config.get("EXCLUDE_URL_PREFIXES", None) or ())
                self._kept[header] = (policy, excluded)
        return self._kept

    def process_response(self, request, response):
        own = getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in self._OWN
        )
        if own or (settings.DEBUG and response.status_code in (404, 500)):
            return super().process_response(request, response)
        for header, (policy, excluded) in self._headers(request, response).items():
            exempt = getattr(
                response,
                "_csp_exempt_ro"
                if header == csp_constants.HEADER_REPORT_ONLY
                else "_csp_exempt",
                False,
            )
            if (
                policy
                and header not in response
                and exempt is False
                and not request.path_info.startswith(excluded)
            ):
                response[header] = policy
        # As django-csp: a nonce asked for after the header is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


class RefuseNullBytesMiddleware:
    """A NUL byte is never legitimate in a request, and PostgreSQL refuses it
    in a query parameter (a 500 wherever a view or the session looks it up).

    In the path, the query or a header (the client-address header, the
    user agent django-axes stores…): answer 400. In a cookie: drop that
    cookie and tell the browser to forget it, so that a damaged cookie never
    locks a resident out of the site (a 400 on every page until they found
    how to clear it); the other cookies, the session among them, still count.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        values = [request.path, *request.GET.keys()]
        values += [v for _key, vs in request.GET.lists() for v in vs]
        values += [
            value
            for key, value in request.META.items()
            if (key.startswith("HTTP_") or key.startswith("CONTENT_"))
            and key != "HTTP_COOKIE"
            and isinstance(value, str)
        ]
        if any("\x00" in value for value in values):
            security_event("null_byte", request)
            return bad_request(request)
        broken = [
            name
            for name, value in request.COOKIES.items()
            if "\x00" in name or "\x00" in value
        ]
        if not broken:
            return self.get_response(request)
        security_event("null_byte", request, cookies=[n[:40] for n in broken])
        request.COOKIES = {
            name: value for name, value in request.COOKIES.items() if name not in broken
        }
        response = self.get_response(request)
        for name in broken:
            if "\x00" not in name and name not in response.cookies:
                path, domain = _cookie_scope(name)
                response.delete_cookie(name, path=path, domain=domain)
        return response


def _cookie_scope(name: str) -> tuple[str, str | None]:
    """Where Django sets its own cookies, so that deleting one reaches it."""
    for kind in ("SESSION", "CSRF", "LANGUAGE"):
        if name == getattr(settings, f"{kind}_COOKIE_NAME"):
            return (
                getattr(settings, f"{kind}_COOKIE_PATH"),
                getattr(settings, f"{kind}_COOKIE_DOMAIN"),
            )
    return "/", None


# Error views ----------------------------------------------------------------

TOO_BIG = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def bad_request(request, exception=None):
    """400, or 413 with its own page when the request is larger than allowed."""
    if isinstance(exception, TOO_BIG):
        security_event("request_too_big", request)
        context = {"limit_mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)}
        return render(request, "request_too_big.html", context, status=413)
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    security_event("permission_denied", request)
    return render(request, "403.html", status=403)


def csrf_failure(request, reason=""):
    security_event("csrf_failure", request, reason=reason[:100])
    return render(request, "403.html", status=403)


# Sanitising -------------------------------------------------------------------


def spreadsheet_safe(value) -> str:
    """A CSV cell as text that a spreadsheet shows as typed: a leading = + - @
    would start a formula (CSV injection), so such a cell gets a quote mark."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def refuse_markup(text: str) -> str:
    """Form validation for plain-text fields: refuse HTML markup with a clear
    message instead of removing it, so nothing a person typed is silently
    changed. Text is always escaped when shown; this is defence in depth."""
    if sanitise(text) != text:
        raise ValidationError(
            _("内容中含有网页标记（如 <script>、<a>），请删除后再提交。"),
            code="markup",
        )
    return text


def sanitise(text: str) -> str:
    """Plain text with any HTML markup removed (tags, comments, scripts).

    Disclosure bodies and answers are plain text and always escaped when shown;
    this strips markup on save too, so a feed reader or an e-mail client that
    treats the text as HTML never meets a tag (defence in depth).
    """
    # Repeat until stable: unescaping "<<b>script>" would otherwise rebuild a tag.
    # Each round removes something, so this ends.
    while "<" in text:
        cleaned = html.unescape(nh3.clean(text, tags=set(), strip_comments=True))
        if cleaned == text:
            break
        text = cleaned
    return text


# Plain text -------------------------------------------------------------------

# Characters no one types on purpose and that break what shows the text: the
# C0 and C1 control characters but tab, line feed and carriage return (a
# textarea sends CR LF), DEL, the bidirectional overrides, embeddings and
# isolates (they make a title read differently from what is stored), and the
# two non-characters XML cannot hold. The feeds' XML writer refuses them.
CONTROL_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]"
)


def refuse_control_characters(text: str) -> None:
    """Validator for every text a person enters (model fields, plain forms):
    refused with the position, never removed, so nothing typed is silently
    changed."""
    found = CONTROL_CHARACTERS.search(str(text))
    if found:
        raise ValidationError(
            _(
                "内容中含有不可见的控制字符（第 %(position)d 个字符，%(code)s），"
                "可能是从其他软件复制时带入的，请删除后再提交。"
            ),
            code="control_characters",
            params={
                "position": found.start() + 1,
                "code": f"U+{ord(found.group()):04X}",
            },
        )


def without_control_characters(text: str) -> str:
    """Text for a format that cannot hold them (the feeds' XML), for rows
    stored before the fields refused them. Output only: what is stored stays
    as it is."""
    return CONTROL_CHARACTERS.sub("", text)


def guard_model_fields(app_config) -> None:
    """Every text field of the app's models refuses control characters, and
    every date field a date out of range, wherever a model is validated: a
    ModelForm (so every admin form and inline), or `full_clean()` /
    `clean_fields()` in a loader. Added at start-up, the way Django adds a
    CharField's MaxLengthValidator, so no migration repeats them and a field
    added later is covered without anyone remembering it."""
    from django.db import models

    from .dates import validate_date

    for model in app_config.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.DateField):
                _add_validator(field, validate_date)
            elif isinstance(field, (models.CharField, models.TextField)):
                _add_validator(field, refuse_control_characters)


def _add_validator(field, validator) -> None:
    # A historical (simple_history) copy of a field shares its validator list.
    if validator not in field.validators:
        field.validators.append(validator)
