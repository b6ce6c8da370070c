"""长辈模式: the switch view, the cookie and the page's class (core/elder.py)."""

import pytest
from django.test import RequestFactory
from django.utils.encoding import iri_to_uri

from core.elder import is_elder, text_size
from tests.deployed import apply_deployed_settings

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


# As deployed (deploy/env.example's settings, nginx's headers): the step is
# honoured by the page cache and by conditional GET; hostile values of the
# cookie and of `next` are answered, and never lead off the site.
HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    " //evil.example",
    "/\t/evil.example",
    "\x01//evil.example",
    "https:evil.example",
    "http://gongkai.fengming.example/",  # the site, but not over HTTPS
    "javascript:alert(1)",
    "/\r\nSet-Cookie: x=1",
    "/" + "a" * 20_000,
    "/" + "中" * 5_000,
    "/" + "中" * 2_000,  # Django lets it by (2,001 characters); 18 kB encoded
    "/search/?q=" + "中" * 600,  # 5.4 kB: over nginx's 4 kB header buffer
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_hostile_next_stays_on_the_site_as_deployed(client, settings, target):
    headers = apply_deployed_settings(settings)
    response = client.get("/elder/", {"size": "2", "next": target}, **headers)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "\r" not in location and "\n" not in location
    assert len(location) <= 2_000  # under nginx's default 4 kB header buffer
    assert response.cookies["elder"].value == "2"


def test_a_nul_byte_in_next_or_size_is_a_400_as_deployed(client, settings):
    headers = apply_deployed_settings(settings)
    for query in ({"size": "1", "next": "/a\x00b"}, {"size": "\x00", "next": "/"}):
        response = client.get("/elder/", query, **headers)
        assert response.status_code == 400
        assert "elder" not in response.cookies


@pytest.mark.parametrize(
    "cookie", ['elder="1\\000"', "elder=" + "9" * 4000, 'elder="<x>"', "elder=\x7f"]
)
def test_a_hostile_cookie_is_the_standard_page_as_deployed(
    demo, client, settings, cookie
):
    headers = apply_deployed_settings(settings)
    for path in ("/", "/boards/wenli/", "/catalog/"):
        response = client.get(path, HTTP_COOKIE=cookie, **headers)
        assert response.status_code == 200, path
        assert 'class="elder' not in response.text.split("<body", 1)[0]


def test_each_step_has_its_own_cached_page_and_etag_as_deployed(
    # Read twice, a hit: not in a day's last second (kept no longer than midnight).
    away_from_midnight,
    demo,
    client,
    settings,
):
    headers = apply_deployed_settings(settings)
    board = "/boards/wenli/"
    tags = {}
    for step in ("0", "1", "2"):
        client.cookies["elder"] = step
        first = client.get(board, **headers)
        again = client.get(board, **headers)
        assert again["X-Page-Cache"] == "hit"
        assert ('class="elder' in again.text.split("<body", 1)[0]) is (step != "0")
        tags[step] = first["ETag"]
        # The browser's copy of another step is no match: a whole page.
        for other, tag in tags.items():
            answer = client.get(board, HTTP_IF_NONE_MATCH=tag, **headers)
            assert answer.status_code == (304 if other == step else 200)
    assert len(set(tags.values())) == 3
    assert "Cookie" in again["Vary"]


def test_print_pages_on_screen_take_the_step_but_paper_does_not(
    demo, client, monkeypatch
):
    import disclosure.views_print
    import feedback.sheet_views
    import govinfo.letters
    from govinfo.models import InfoRequest

    sent_to_paper = []

    def fake_pdf(html, *, base_url):
        sent_to_paper.append(html)
        return b"%PDF-1.7"

    monkeypatch.setattr(disclosure.views_print, "render_pdf", fake_pdf)
    monkeypatch.setattr(feedback.sheet_views, "render_pdf", fake_pdf)
    monkeypatch.setattr(govinfo.letters, "render_pdf", fake_pdf)
    answered = InfoRequest.objects.filter(status=InfoRequest.Status.ANSWERED)
    letter = f"/yishenqing/track/{answered.first().code}/letter"
    client.cookies["elder"] = "2"
    for screen, paper in [
        ("/boards/wenli/print/", "/boards/wenli/print.pdf"),
        ("/feedback/print/wenli/2011-08/", "/feedback/print/wenli/2011-08.pdf"),
        (f"{letter}/", f"{letter}.pdf"),
    ]:
        page = client.get(screen)
        assert '<html lang="zh-Hans" class="elder elder-xl">' in page.text
        assert client.get(paper).status_code == 200
        assert '<html lang="zh-Hans">' in sent_to_paper[-1]


def test_a_long_but_real_next_is_kept(demo, client):
    target = "/search/?q=" + "防火" * 50
    response = client.get("/elder/", {"size": "1", "next": target})
    assert response["Location"] == iri_to_uri(target)
