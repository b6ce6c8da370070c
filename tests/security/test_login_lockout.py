"""Log-in brute force: django-axes locks a username+address pair, for a while."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone

from tests.factories import SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"  # tests.factories.UserFactory
LOGINS = ["/accounts/login/", "/admin/login/"]


def attempt(client, url, username, password="wrong-password", ip="127.0.0.9"):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail(client, url, username, ip="127.0.0.9"):
    """Five wrong passwords: the fifth already answers with the lock-out."""
    for _ in range(4):
        assert attempt(client, url, username, ip=ip).status_code == 200
    assert attempt(client, url, username, ip=ip).status_code == 429


@pytest.fixture
def users():
    SuperuserFactory(username="staff_a")
    UserFactory(username="staff_b", is_staff=True, is_superuser=True)


@pytest.mark.parametrize("url", LOGINS)
def test_fifth_failure_locks_that_user_from_that_address(client, users, url):
    fail(client, url, "staff_a")
    response = attempt(client, url, "staff_a", PASSWORD)
    assert response.status_code == 429
    assert "登录已暂时锁定" in response.text
    assert "30 分钟后再试" in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", LOGINS)
def test_other_user_from_the_same_address_is_not_locked(client, users, url):
    fail(client, url, "staff_a")
    assert attempt(client, url, "staff_b", PASSWORD).status_code == 302


def test_same_user_from_another_address_is_not_locked(client, users):
    fail(client, "/accounts/login/", "staff_a", ip="127.0.0.9")
    response = attempt(client, "/accounts/login/", "staff_a", PASSWORD, ip="127.0.0.8")
    assert response.status_code == 302


def test_proxy_header_is_the_address_when_configured(client, users, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    for _ in range(5):
        client.post(
            "/accounts/login/",
            {"username": "staff_a", "password": "x"},
            HTTP_X_REAL_IP="127.0.0.7",
        )
    assert AccessAttempt.objects.get().ip_address == "127.0.0.7"


def test_lockout_ends_after_the_cool_off(client, users):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, "/accounts/login/", "staff_a")
        assert (
            attempt(client, "/accounts/login/", "staff_a", PASSWORD).status_code == 429
        )
        clock.shift(timedelta(minutes=31))
        assert (
            attempt(client, "/accounts/login/", "staff_a", PASSWORD).status_code == 302
        )


def test_lock_applies_on_both_login_pages(client, users):
    fail(client, "/accounts/login/", "staff_a")
    assert attempt(client, "/admin/login/", "staff_a", PASSWORD).status_code == 429


def test_administrator_unlocks_with_axes_reset(client, users):
    fail(client, "/accounts/login/", "staff_a")
    call_command("axes_reset_username", "staff_a")
    assert attempt(client, "/accounts/login/", "staff_a", PASSWORD).status_code == 302


def test_failures_and_lockout_are_in_the_security_log(client, users, caplog):
    fail(client, "/accounts/login/", "staff_a")
    events = [getattr(r, "security", {}).get("event") for r in caplog.records]
    assert events.count("login_failed") == 5
    assert "lockout" in events
    record = next(r for r in caplog.records if r.name == "fengming.security")
    assert record.security["ip"] == "127.0.0.9"
    assert "wrong-password" not in caplog.text
