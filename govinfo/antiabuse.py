"""The application form's guards, as the 回音壁's (feedback/antiabuse.py; a
sibling app, so the few lines are repeated rather than imported): a field
people never see, a signed token saying when the form was shown with a
one-time id (a second post of the same form is the same application), and
per-client limits counted in the shared cache (core/throttle.py)."""

import secrets
import time

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from core.throttle import Throttle
from core.throttle import client_key as _client_key

TOKEN_SALT = "govinfo.application-form"


def new_form_token() -> str:
    value = {"t": time.time(), "n": secrets.token_hex(16)}
    return signing.dumps(value, salt=TOKEN_SALT)


def read_form_token(token: str) -> dict | None:
    try:
        value = signing.loads(
            token, salt=TOKEN_SALT, max_age=settings.GOVINFO_FORM_MAX_AGE
        )
    except signing.BadSignature:
        return None
    if not (isinstance(value, dict) and isinstance(value.get("n"), str)):
        return None
    if not isinstance(value.get("t"), int | float):
        return None
    return value


def form_refusal(token: dict | None, *, trap: str) -> str | None:
    if trap:
        return _("提交未成功，请稍后再试。")
    if token is None:
        return _("页面已过期，请刷新页面后重新提交，已填写的内容保留在下面。")
    if time.time() - token["t"] < settings.GOVINFO_MIN_FORM_SECONDS:
        return _("提交太快了，请稍候几秒再提交。")
    return None


def client_key(request) -> str:
    return _client_key(request, "govinfo.client")


def applications() -> Throttle:
    return Throttle(
        "govinfo-apply", settings.GOVINFO_RATE_LIMIT, settings.GOVINFO_RATE_PERIOD
    )


def tracking_misses() -> Throttle:
    return Throttle(
        "govinfo-track-miss",
        settings.GOVINFO_TRACK_MISS_LIMIT,
        settings.GOVINFO_TRACK_MISS_PERIOD,
    )
