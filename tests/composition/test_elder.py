"""长辈模式: the switch view, the cookie and the page's class (core/elder.py)."""

import pytest
from django.test import RequestFactory

from core.elder import is_elder, text_size

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
    ("value", "size", "elder"),
    [
        ("1", 1, True),
        ("2", 2, True),
        ("0", 0, False),
        ("", 0, False),
        ("3", 0, False),
        ("-1", 0, False),
        ("1 ", 0, False),
        ("２", 0, False),
        ("<script>", 0, False),
    ],
)
def test_the_step_reads_only_the_cookie_and_ignores_any_other_value(value, size, elder):
    request = RequestFactory().get("/")
    request.COOKIES["elder"] = value
    assert text_size(request) == size
    assert is_elder(request) is elder


@pytest.mark.parametrize(("size", "cookie"), [("1", "1"), ("2", "2")])
def test_the_size_form_sets_a_step_and_goes_back(client, size, cookie):
    response = client.get("/elder/", {"size": size, "next": "/catalog/?x=1"})
    assert response.status_code == 302
    assert response["Location"] == "/catalog/?x=1"
    assert response.cookies["elder"].value == cookie
    assert response.cookies["elder"]["httponly"]


@pytest.mark.parametrize("size", ["0", "9", "x", ""])
def test_the_standard_step_or_a_bad_one_deletes_the_cookie(client, size):
    client.cookies["elder"] = "2"
    response = client.get("/elder/", {"size": size, "next": "/catalog/"})
    assert response["Location"] == "/catalog/"
    assert response.cookies["elder"]["max-age"] == 0


def test_the_switch_is_a_get_only_and_sets_nothing_on_a_post(client):
    # A GET on purpose (the header sits on cached pages, which hold no CSRF
    # token); a POST from another site is refused by the CSRF check.
    client = type(client)(enforce_csrf_checks=True)
    response = client.post("/elder/", {"size": "2", "next": "/"})
    assert response.status_code == 403
    assert "elder" not in response.cookies


def test_pages_carry_the_class_and_a_size_form_back_to_themselves(client):
    page = client.get("/catalog/?q=1").content.decode()
    assert '<html lang="zh-Hans">' in page
    assert 'action="/elder/"' in page and 'method="get"' in page
    assert 'name="next" value="/catalog/?q=1"' in page
    assert 'value="0" class="text-size-step" aria-pressed="true"' in page
    assert "csrfmiddlewaretoken" not in page
    client.cookies["elder"] = "1"
    page = client.get("/catalog/").content.decode()
    assert '<html lang="zh-Hans" class="elder">' in page
    assert 'value="1" class="text-size-step" aria-pressed="true"' in page
    client.cookies["elder"] = "2"
    page = client.get("/catalog/").content.decode()
    assert '<html lang="zh-Hans" class="elder elder-xl">' in page
    assert 'value="2" class="text-size-step" aria-pressed="true"' in page
