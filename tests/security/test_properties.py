"""Property-based tests (hypothesis) for the 回音壁's validators and tracking codes."""

import re

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.security import sanitise
from feedback.forms import TrackForm, is_valid_phone, normalize_phone
from feedback.models import (
    TRACKING_ALPHABET,
    TRACKING_LENGTH,
    new_tracking_code,
    normalize_tracking_code,
)
from tests.factories import SubmissionFactory

DB = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
landlines = st.from_regex(r"(0[0-9]{2,3})?[0-9]{7,8}", fullmatch=True)
separators = st.sampled_from(["", " ", "-", "（", "）", "(", ")"])


@given(mobiles, st.lists(separators, min_size=11, max_size=11), st.booleans())
def test_a_mobile_number_is_valid_however_it_is_written(number, seps, plus86):
    written = "".join(d + s for d, s in zip(number, seps, strict=True))
    written = ("+86 " if plus86 else "") + written
    assert normalize_phone(written) == number
    assert is_valid_phone(normalize_phone(written))


@given(landlines)
def test_landlines_are_valid(number):
    assert is_valid_phone(number)


@given(st.text(max_size=40))
def test_phone_validation_never_crashes_and_accepts_only_digits(raw):
    phone = normalize_phone(raw)
    if is_valid_phone(phone):
        assert re.fullmatch(r"[0-9]{7,12}", phone)


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_digit_strings_are_valid_only_in_the_known_shapes(digits):
    expected = bool(
        re.fullmatch(r"1[3-9]\d{9}", digits)
        or re.fullmatch(r"(0\d{2,3})?\d{7,8}", digits)
    )
    assert is_valid_phone(digits) == expected


def test_generated_codes_use_the_unambiguous_alphabet():
    codes = {new_tracking_code() for _ in range(2000)}
    assert len(codes) == 2000  # 31^8 possibilities: a clash here is a bug
    for code in codes:
        assert len(code) == TRACKING_LENGTH
        assert set(code) <= set(TRACKING_ALPHABET)
        assert not set(code) & set("01OILo")


codes = st.text(alphabet=TRACKING_ALPHABET, min_size=8, max_size=8)


@given(codes, st.lists(st.sampled_from([" ", "-", "\t"]), max_size=4), st.booleans())
def test_a_code_is_found_however_it_is_typed(code, noise, lower):
    typed = (code.lower() if lower else code) + "".join(noise)
    typed = typed[:4] + "".join(noise) + typed[4:]
    assert normalize_tracking_code(typed) == code
    assert normalize_tracking_code(normalize_tracking_code(typed)) == code


@given(st.text(max_size=60))
def test_the_track_form_never_crashes_and_yields_only_url_safe_codes(raw):
    form = TrackForm({"code": raw})
    if form.is_valid():
        code = form.cleaned_data["code"]
        assert code.isascii() and code.isalnum()
        reverse("feedback:track_code", args=[code])  # never NoReverseMatch


@pytest.mark.django_db
@DB
@given(
    code_noise=st.lists(st.sampled_from([" ", "-"]), max_size=3), lower=st.booleans()
)
def test_the_tracking_page_finds_a_real_submission(client, code_noise, lower):
    submission = SubmissionFactory()
    code = submission.tracking_code
    typed = "".join(code_noise) + (code.lower() if lower else code)
    response = client.get("/feedback/track/", {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == submission.get_tracking_url()
    assert client.get(response["Location"]).status_code == 200


@given(st.text(max_size=200))
def test_sanitise_leaves_nothing_that_opens_a_tag(text):
    cleaned = sanitise(text)
    if "<" not in text:
        assert cleaned == text
    assert not re.search(r"<[a-zA-Z!/?]", cleaned)


@given(st.text(alphabet=st.characters(blacklist_characters="<"), max_size=200))
def test_sanitise_keeps_text_without_markup_unchanged(text):
    assert sanitise(text) == text
