"""The 回音壁's defences against bots and guessing, in one place.

- A field people never see: a bot fills it in.
- The form token: signed, it says when the form was shown and carries a
  one-time id (a second post of the same form is the same submission). The
  challenge's numbers are derived from that id with the secret key, so the
  page's hidden field does not give the answer away. A form sent back
  faster than a person fills it in, or older than FEEDBACK_FORM_MAX_AGE, is
  refused; a rejected form gets a new question where a bot could otherwise
  try every answer on one.
- Per-client limits, counted before anything is accepted (core/throttle.py):
  submissions per hour, and wrong tracking codes (guessing).
"""

import secrets
import time

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from core.throttle import Throttle
from core.throttle import client_key as _client_key

TOKEN_SALT = "feedback.submission-form"
CHALLENGE_SALT = "feedback.challenge"
NUMERALS = "零一二三四五六七八九"


# The form token and its challenge ----------------------------------------------


def new_form_token(shown_at: float | None = None) -> str:
    """Signed: when the form was first shown and a one-time id; nothing else."""
    return signing.dumps(
        {"t": shown_at or time.time(), "n": secrets.token_hex(16)}, salt=TOKEN_SALT
    )


def read_form_token(token: str) -> dict | None:
    """The token's values if it is ours and not older than the form may be."""
    try:
        value = signing.loads(
            token, salt=TOKEN_SALT, max_age=settings.FEEDBACK_FORM_MAX_AGE
        )
    except signing.BadSignature:
        return None
    if not (isinstance(value, dict) and {"t", "n"} <= set(value)):
        return None
    if not isinstance(value["n"], str) or not isinstance(value["t"], int | float):
        return None
    return value


def challenge_numbers(nonce: str) -> tuple[int, int]:
    """Two numbers from 1 to 9, fixed for a token, unknown without the key."""
    digest = salted_hmac(CHALLENGE_SALT, nonce).digest()
    return digest[0] % 9 + 1, digest[1] % 9 + 1


def challenge_answer(nonce: str) -> int:
    return sum(challenge_numbers(nonce))


def challenge_question(nonce: str) -> dict:
    a, b = challenge_numbers(nonce)
    return {"a": NUMERALS[a], "b": NUMERALS[b]}


def form_age(token: dict) -> float:
    return time.time() - token["t"]


def is_expired(token: dict) -> bool:
    return form_age(token) > settings.FEEDBACK_FORM_MAX_AGE


# A posted form ---------------------------------------------------------------------


def form_refusal(token: dict | None, *, trap: str) -> str | None:
    """Why a posted form is refused as a whole, or None: the field people
    never see was filled in, the token is not ours or has expired, or the form
    came back faster than a person fills it in."""
    if trap:
        return _("提交未成功，请稍后再试。")
    if token is None or is_expired(token):
        return _("页面已过期，请重新填写验证后提交。")
    if form_age(token) < settings.FEEDBACK_MIN_FORM_SECONDS:
        return _("提交太快了，请稍候几秒再提交。")
    return None


def answer_refusal(token: dict, answer: int | None) -> str | None:
    """Why the challenge's answer is refused, or None (None if not given)."""
    if answer is not None and answer != challenge_answer(token["n"]):
        return _("计算结果不对，请重新计算。")
    return None


def retry_token(
    token: dict | None, *, spent: bool = False, answer_refused: bool = False
) -> str | None:
    """The token a rejected form is shown again with: None to keep its own
    (and its question and answer) while it can still be used; else a new one,
    with a new question, after a refused answer (a bot may not try every
    answer on one question), an expired or forged token, or one already used
    for a submission. A form still in use keeps the time it was first shown:
    the resident has not just opened it."""
    usable = token is not None and not is_expired(token)
    if usable and not spent and not answer_refused:
        return None
    return new_form_token(token["t"] if usable else None)


# Per-client limits ---------------------------------------------------------------


def client_key(request) -> str:
    """The hash stored with a submission and counted by the limits below."""
    return _client_key(request, "feedback.client")


def submissions() -> Throttle:
    return Throttle(
        "feedback-submit", settings.FEEDBACK_RATE_LIMIT, settings.FEEDBACK_RATE_PERIOD
    )


def tracking_misses() -> Throttle:
    return Throttle(
        "feedback-track-miss",
        settings.FEEDBACK_TRACK_MISS_LIMIT,
        settings.FEEDBACK_TRACK_MISS_PERIOD,
    )
