"""The 回音壁's defences against bots and guessing, in one place.

- The form token: signed, it says when the form was shown and carries a
  one-time id (a second post of the same form is the same submission). The
  challenge's numbers are derived from that id with the secret key, so the
  page's hidden field does not give the answer away.
- Per-client limits, counted before anything is accepted (fengming_portal
  .throttle): submissions per hour, and wrong tracking codes (guessing).
"""

import secrets
import time

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

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
