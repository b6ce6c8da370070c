"""长辈模式: the switch view, the cookie and the page's class (core/elder.py)."""

import pytest
from django.test import RequestFactory

from core.elder import is_elder

pytestmark = pytest.mark.django_db


def test_switching_on_sets_a_long_lived_cookie_and_goes_back(client):
    response = client.get("/elder/", {"on": "1", "next": "/boards/?a=1"})
    assert response.status_code == 302
    assert response["Location"] == "/boards/?a=1"
    cookie = response.cookies["elder"]
    assert cookie.value == "1" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 300 * 24 * 3600
    assert "no-cache" in response["Cache-Control"]


def test_switching_off_deletes_the_cookie(client):
    client.cookies["elder"] = "1"
    response = client.get("/elder/", {"on": "0", "next": "/feedback/"})
    assert response["Location"] == "/feedback/"
    assert response.cookies["elder"]["max-age"] == 0


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""]
)
def test_switch_never_redirects_off_the_site(client, target):
    response = client.get("/elder/", {"on": "1", "next": target})
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("0", False), ("", False)]
)
def test_is_elder_reads_only_the_cookie(value, expected):
    request = RequestFactory().get("/")
    request.COOKIES["elder"] = value
    assert is_elder(request) is expected


def test_pages_carry_the_class_and_a_toggle_back_to_themselves(client):
    page = client.get("/catalog/").content.decode()
    assert '<html lang="zh-Hans">' in page
    assert 'href="/elder/?next=/catalog/&amp;on=1"' in page
    client.cookies["elder"] = "1"
    page = client.get("/catalog/").content.decode()
    assert '<html lang="zh-Hans" class="elder">' in page
    assert 'href="/elder/?next=/catalog/&amp;on=0"' in page
    assert "退出长辈模式" in page
