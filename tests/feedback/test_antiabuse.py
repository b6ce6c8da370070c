"""The 回音壁's defences, as residents and bots meet them: a rejected form can
always be corrected and sent, the limits count each client (behind nginx as
deployed) and hold under concurrency, codes cannot be guessed quietly."""

import base64
import json
import logging
import re
import secrets
import threading

import pytest
from axes.models import AccessAttempt
from django.core import signing
from django.core.cache import cache

from core.throttle import Throttle
from feedback import antiabuse, services, views
from feedback.models import Submission
from tests.deployed import apply_deployed_settings, behind_nginx
from tests.factories import SubmissionFactory, TownFactory, UnitFactory
from tests.feedback.test_views import form_data, token, wrong_answer_for

pytestmark = pytest.mark.django_db

NUMBERS = {n: i for i, n in enumerate(antiabuse.NUMERALS)}


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory())


def shown_question(response) -> tuple[str, int]:
    """The token in the page and the answer to the question the page shows,
    computed from the label as a resident would."""
    page = response.text
    token_value = re.search(r'name="token" value="([^"]+)"', page).group(1)
    a, b = re.search(r"验证：(.)加(.)等于几？", page).groups()
    return token_value, NUMBERS[a] + NUMBERS[b]


def fields_shown(response) -> dict:
    form = response.context["form"]
    return {name: form[name].value() for name in ("title", "text", "phone")}


# A rejected form can be corrected and sent -----------------------------------


MISTAKES = [
    pytest.param({"title": ""}, {"title": "送水车什么时候来"}, id="missing-title"),
    pytest.param({"phone": "12345"}, {"phone": "13912345678"}, id="bad-phone"),
    pytest.param({"kind": ""}, {"kind": "question"}, id="missing-kind"),
    pytest.param({"text": "  "}, {"text": "三组的送水车每天几点到？"}, id="blank-text"),
]


@pytest.mark.parametrize(("mistake", "correction"), MISTAKES)
def test_a_resident_corrects_a_mistake_and_the_form_is_accepted(
    client, wenli, mistake, correction
):
    first = client.post("/feedback/new/", form_data(wenli, **mistake))
    assert first.status_code == 200 and not Submission.objects.exists()
    # What the resident typed is still there, the mistake included.
    sent = form_data(wenli, **mistake)
    for name, value in fields_shown(first).items():
        assert value == sent[name]
    # The resident fixes the field and answers the question shown on the page.
    token_value, answer = shown_question(first)
    data = form_data(wenli, **correction, token=token_value, challenge=str(answer))
    second = client.post("/feedback/new/", data)
    assert second.status_code == 302, second.context["form"].errors
    assert Submission.objects.count() == 1


def test_a_wrong_answer_gets_a_new_question_that_matches_the_token(client, wenli):
    data = form_data(wenli)
    data["challenge"] = wrong_answer_for(data["token"])
    first = client.post("/feedback/new/", data)
    assert "计算结果不对" in first.text
    token_value, answer = shown_question(first)
    assert token_value != data["token"]
    assert first.context["form"]["challenge"].value() in ("", None)
    second = client.post(
        "/feedback/new/", form_data(wenli, token=token_value, challenge=str(answer))
    )
    assert second.status_code == 302


def test_a_right_answer_is_kept_when_another_field_was_wrong(client, wenli):
    data = form_data(wenli, title="")
    first = client.post("/feedback/new/", data)
    token_value, answer = shown_question(first)
    assert token_value == data["token"]
    assert first.context["form"]["challenge"].value() == str(answer)


def test_too_fast_then_a_moment_later_is_accepted(client, wenli, settings):
    data = form_data(wenli, token=token(age=0.5))
    first = client.post("/feedback/new/", data)
    assert "提交太快了" in first.text
    token_value, answer = shown_question(first)
    settings.FEEDBACK_MIN_FORM_SECONDS = 0  # the resident waited a moment
    second = client.post(
        "/feedback/new/", form_data(wenli, token=token_value, challenge=str(answer))
    )
    assert second.status_code == 302


def test_an_expired_form_shows_a_fresh_question_that_works(client, wenli, settings):
    first = client.post("/feedback/new/", form_data(wenli, token=token(age=3 * 3600)))
    assert "页面已过期" in first.text
    token_value, answer = shown_question(first)
    settings.FEEDBACK_MIN_FORM_SECONDS = 0  # the resident reads the new question
    second = client.post(
        "/feedback/new/", form_data(wenli, token=token_value, challenge=str(answer))
    )
    assert second.status_code == 302


def test_after_the_rate_limit_the_question_shown_still_matches(client, wenli, settings):
    settings.FEEDBACK_RATE_LIMIT = 1
    client.post("/feedback/new/", form_data(wenli, token=token(nonce="1" * 32)))
    data = form_data(wenli, token=token(nonce="2" * 32), text="第二条")
    limited = client.post("/feedback/new/", data)
    assert limited.status_code == 429
    assert fields_shown(limited)["text"] == "第二条"
    token_value, answer = shown_question(limited)
    cache.clear()  # an hour later
    again = client.post(
        "/feedback/new/",
        form_data(wenli, token=token_value, challenge=str(answer), text="第二条"),
    )
    assert again.status_code == 302


# The challenge is not in the page's token ----------------------------------------


def test_the_token_in_the_page_does_not_carry_the_answer(client, wenli):
    page = client.get("/feedback/new/").text
    token_value = re.search(r'name="token" value="([^"]+)"', page).group(1)
    payload = token_value.split(":")[0]
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(decoded) == {"t", "n"}
    # The numbers come from the one-time id and the secret key.
    value = signing.loads(token_value, salt=antiabuse.TOKEN_SALT)
    a, b = antiabuse.challenge_numbers(value["n"])
    assert f"验证：{antiabuse.NUMERALS[a]}加{antiabuse.NUMERALS[b]}等于几？" in page


def test_a_forged_old_style_token_with_its_own_numbers_is_refused(client, wenli):
    forged = signing.dumps(
        {"t": 0, "n": "a" * 32, "a": 1, "b": 1}, salt=antiabuse.TOKEN_SALT
    )
    response = client.post("/feedback/new/", form_data(wenli, token=forged))
    assert response.status_code == 200 and not Submission.objects.exists()


# The rate limit counts before accepting, atomically --------------------------------


def test_concurrent_posts_cannot_pass_the_limit_together(
    client, wenli, settings, monkeypatch
):
    """Twelve posts whose limit checks all run before any of them is saved (as
    when they arrive together on several workers): only the limit gets in."""
    settings.FEEDBACK_RATE_LIMIT = 5
    real_submit = services.submit
    waiting = [
        form_data(wenli, token=token(nonce=f"{n:032d}"), text=f"同时提交的第{n}条")
        for n in range(1, 12)
    ]
    statuses = []

    def submit_while_others_arrive(**kwargs):
        while waiting:  # the others arrive while this one is being saved
            statuses.append(client.post("/feedback/new/", waiting.pop()).status_code)
        return real_submit(**kwargs)

    monkeypatch.setattr(services, "submit", submit_while_others_arrive)
    first = form_data(wenli, token=token(nonce="f" * 32), text="第一条")
    statuses.append(client.post("/feedback/new/", first).status_code)
    assert Submission.objects.count() == 5
    assert sorted(statuses) == [302] * 5 + [429] * 7


def test_a_double_post_does_not_use_up_the_limit(client, wenli, settings):
    settings.FEEDBACK_RATE_LIMIT = 2
    data = form_data(wenli, token=token(nonce="1" * 32))
    for _ in range(3):
        client.post("/feedback/new/", data)
    other = form_data(wenli, token=token(nonce="2" * 32), text="另一件事")
    assert client.post("/feedback/new/", other).status_code == 302


class WorkerKilled(BaseException):
    """A SIGKILLed worker: nothing after this point runs, no give_back."""


def test_a_post_lost_with_its_worker_does_not_cost_the_resend_its_place(
    client, wenli, settings, monkeypatch
):
    settings.FEEDBACK_RATE_LIMIT = 1
    data = form_data(wenli, token=token(nonce="3" * 32), text="工人进程被杀")
    real_submit = services.submit

    def killed(**kwargs):
        raise WorkerKilled

    monkeypatch.setattr(services, "submit", killed)
    with pytest.raises(WorkerKilled):
        client.post("/feedback/new/", data)
    monkeypatch.setattr(services, "submit", real_submit)
    resent = client.post("/feedback/new/", data)
    assert resent.status_code == 302
    assert Submission.objects.filter(text="工人进程被杀").count() == 1
    # The lost post and its resend were one form, counted once: a new form
    # from the same client is over the limit of one.
    other = form_data(wenli, token=token(nonce="4" * 32), text="另一件事")
    assert client.post("/feedback/new/", other).status_code == 429


def test_throttle_holds_across_threads():
    limit = Throttle("test-threads", limit=5, period=60)
    results = []
    barrier = threading.Barrier(12)

    def hit():
        barrier.wait()
        results.append(limit.take("same-client"))

    threads = [threading.Thread(target=hit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5


def test_throttle_holds_across_processes_in_redis(settings):
    """With Redis, as production runs it (several workers share one count)."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-throttle-{secrets.token_hex(4)}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            # Its own prefix, not a flush: another test run (or worker) may
            # share the database.
            "KEY_PREFIX": prefix,
        }
    }
    limit = Throttle("test-redis", limit=5, period=60)
    results = []
    barrier = threading.Barrier(12)

    def hit():
        barrier.wait()
        results.append(limit.take("same-client"))

    threads = [threading.Thread(target=hit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    assert results.count(True) == 5


# One client address, as deployed behind nginx ------------------------------------


def test_behind_nginx_as_deployed_each_resident_has_their_own_limit(
    client, wenli, settings
):
    headers = apply_deployed_settings(settings)
    settings.FEEDBACK_RATE_LIMIT = 5
    for n in range(8):  # eight residents, one post each, all through nginx
        data = form_data(wenli, token=token(nonce=f"{n:032d}"), text=f"第{n}位村民")
        response = client.post(
            "/feedback/new/", data, **headers, **behind_nginx(f"10.0.0.{n + 1}")
        )
        assert response.status_code == 302, n
    assert Submission.objects.count() == 8
    # And one resident still has their limit.
    for n in range(8, 14):
        data = form_data(wenli, token=token(nonce=f"{n:032d}"), text=f"又一条{n}")
        response = client.post(
            "/feedback/new/", data, **headers, **behind_nginx("10.0.0.1")
        )
    assert response.status_code == 429


def test_behind_nginx_the_lockout_and_the_security_log_see_the_resident(
    client, settings, caplog
):
    headers = apply_deployed_settings(settings)
    for _ in range(2):
        client.post(
            "/accounts/login/",
            {"username": "nobody", "password": "x"},
            **headers,
            **behind_nginx("10.9.8.7"),
        )
    assert AccessAttempt.objects.get().ip_address == "10.9.8.7"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fengming.security"):
        client.get("/feedback/track/ABCDEFGH/", **headers, **behind_nginx("10.9.8.6"))
    (record,) = [r for r in caplog.records if r.name == "fengming.security"]
    assert record.security["event"] == "tracking_code_miss"
    assert record.security["ip"] == "10.9.8.6"


@pytest.mark.parametrize("header", ["not-an-ip", "999.999.999.999", "1.2.3.4x"])
def test_a_client_address_header_that_is_no_address_is_not_trusted(
    client, settings, header
):
    """nginx always sends an address; anything else did not come through it
    (or a proxy is misconfigured): the connection's own address counts, and a
    failed log-in is answered, not a 500 from the database's address column."""
    headers = apply_deployed_settings(settings)
    response = client.post(
        "/accounts/login/",
        {"username": "nobody", "password": "x"},
        **headers,
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_REAL_IP=header,
    )
    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


# Guessing tracking codes ----------------------------------------------------------


def test_wrong_codes_are_logged_and_then_throttled_per_client(
    client, wenli, settings, caplog
):
    settings.FEEDBACK_TRACK_MISS_LIMIT = 3
    real = SubmissionFactory(unit=wenli)
    with caplog.at_level(logging.WARNING, logger="fengming.security"):
        for n in range(3):
            response = client.get(f"/feedback/track/ZZZZZZZ{n + 2}/")
            assert response.status_code == 404
        blocked = client.get(real.get_tracking_url())
    assert blocked.status_code == 429
    assert "查询码输错的次数太多" in blocked.text
    events = [r.security["event"] for r in caplog.records if hasattr(r, "security")]
    assert events.count("tracking_code_miss") == 3
    assert "tracking_throttled" in events
    # Another resident is not affected.
    other = client.get(real.get_tracking_url(), REMOTE_ADDR="10.2.3.4")
    assert other.status_code == 200


def test_a_resident_who_mistypes_once_still_finds_their_case(client, wenli):
    real = SubmissionFactory(unit=wenli)
    assert client.get("/feedback/track/ZZZZZZZZ/").status_code == 404
    assert client.get(real.get_tracking_url()).status_code == 200


def test_concurrent_wrong_codes_cannot_pass_the_guessing_limit_together(
    client, wenli, settings, monkeypatch
):
    """Guesses that all arrive before any of them is counted (several workers):
    no more than the limit get an answer, the others wait."""
    settings.FEEDBACK_TRACK_MISS_LIMIT = 3
    waiting = [f"/feedback/track/ZZZZZZ{n}{n}/" for n in range(2, 10)]
    statuses = []
    real_lookup = views.normalize_tracking_code

    def lookup_while_others_arrive(code):
        while waiting:  # the others arrive while this one is being looked up
            statuses.append(client.get(waiting.pop()).status_code)
        return real_lookup(code)

    monkeypatch.setattr(views, "normalize_tracking_code", lookup_while_others_arrive)
    statuses.append(client.get("/feedback/track/ZZZZZZZZ/").status_code)
    assert statuses.count(404) == 3
    assert statuses.count(429) == 6


def test_going_back_and_sending_something_else_on_the_same_form_loses_nothing(
    client, wenli
):
    """The back button shows the sent form again, with its token: a second,
    different matter sent on it is neither dropped nor taken for the first."""
    data = form_data(wenli, title="路灯坏了", text="村口路灯坏了三天。")
    assert client.post("/feedback/new/", data).status_code == 302
    first = Submission.objects.get()
    again = form_data(
        wenli,
        token=data["token"],
        challenge=data["challenge"],
        title="水渠堵了",
        text="二组的水渠堵了。",
    )
    response = client.post("/feedback/new/", again)
    assert response.status_code == 200
    assert "这张表已经提交过" in response.text and first.tracking_code in response.text
    assert fields_shown(response)["text"] == "二组的水渠堵了。"
    token_value, answer = shown_question(response)
    assert token_value != data["token"]
    second = client.post(
        "/feedback/new/",
        form_data(
            wenli,
            token=token_value,
            challenge=str(answer),
            title="水渠堵了",
            text="二组的水渠堵了。",
        ),
    )
    assert second.status_code == 302
    assert set(Submission.objects.values_list("title", flat=True)) == {
        "路灯坏了",
        "水渠堵了",
    }
