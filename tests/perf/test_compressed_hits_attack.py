"""Attacks on cache hits gzipped from the copy (core.compression.Pieces).

The invariant under attack: a hit delivers exactly the bytes (and the same
headers, semantically) that the old path delivered, where the copy's slots
were filled with bytes.replace and TextGZipMiddleware deflated the whole
page: `gzip.decompress(hit)` is the plain hit is the miss, for every cached
page type, visitor and member, every text size step, every Accept-Encoding;
no member's name or token reaches another, no slot marker anyone. Two
faults it found are fixed (the tests say which).
"""

import gzip
import re
import shutil
import subprocess
import zlib

import pytest
from django.conf import settings as django_settings
from django.middleware.gzip import re_accepts_gzip
from django.test import Client
from django.utils.html import escape

from core import caching, compression, elder
from core.compression import Pieces
from core.slots import slot
from tests.deployed import HOST, apply_deployed_settings
from tests.factories import (
    DisclosureFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [
    pytest.mark.django_db,
    # Every page read twice, the second a hit: not across midnight (a page is
    # kept no longer than midnight; one made in a day's last second is not).
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
# A real slot's mark (derived from SECRET_KEY): what must never be served.
# Text a visitor typed may well hold "@@fm-" (the search page shows it).
MARKER = slot("any").split("-")[-1].removesuffix("@@").encode()


@pytest.fixture
def deployed(settings):
    headers = apply_deployed_settings(settings)
    assert "core.compression.TextGZipMiddleware" in settings.MIDDLEWARE
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", parent=town)
    disclosure = DisclosureFactory(unit=wenli, title="抗旱救灾物资发放" * 20)
    case = SubmissionFactory(unit=wenli, accepted=True)
    disclosure.case = case  # for `paths`
    return headers, wenli, disclosure


def visitor(deployed) -> Client:
    return Client(**deployed[0])


def member(deployed, username="wenli_a", unit=None) -> Client:
    headers, wenli, _ = deployed
    client = Client(enforce_csrf_checks=True, **headers)
    client.force_login(PartyMemberFactory(username=username, branch_of=unit or wenli))
    return client


def sized(client: Client, step) -> Client:
    if step is None:
        client.cookies.pop(elder.COOKIE_NAME, None)
    else:
        client.cookies[elder.COOKIE_NAME] = str(step)
    return client


def strictly_gunzipped(data: bytes) -> bytes:
    """The text of one gzip member, as three strict decoders read it."""
    text = gzip.decompress(data)
    decoder = zlib.decompressobj(wbits=31)
    assert decoder.decompress(data) + decoder.flush() == text
    assert decoder.eof and not decoder.unused_data
    if shutil.which("gunzip"):
        checked = subprocess.run(
            ["gunzip", "-t"], input=data, capture_output=True, check=False
        )
        assert checked.returncode == 0, checked.stderr
    return text


def body_of(response) -> bytes:
    if response.get("Content-Encoding") == "gzip":
        return strictly_gunzipped(response.content)
    return response.content


def without_tokens(html: bytes) -> bytes:
    return TOKEN.sub(b"", html)


def paths(deployed) -> list[str]:
    _, _, disclosure = deployed
    return [
        "/",
        "/boards/",
        "/boards/wenli/",
        "/disclosures/",
        "/disclosures/?unit=wenli&year=2011",
        f"/disclosures/{disclosure.pk}/",
        f"/catalog/{disclosure.item.code}/",
        f"/feedback/{disclosure.case.pk}/",
        "/search/?q=%3Chtml%20%40%40fm-size-class%40%40%3E%20%3E",
        "/disclosures/?q=" + "长" * 300,
        "/feedback/",
        "/search/?q=抗旱",
        "/compliance/",
        "/compliance/wenli/",
        "/stats/",
        "/county/",
        "/catalog/",
        "/feeds/latest/",
        "/feeds/boards/wenli/",
        "/feeds/feedback/",
        "/sitemap.xml",
        "/reports/",
        "/guide/",
        "/guide/affairs/",
    ]


STEPS = [None, "1", "2", "0", "3", "x", ""]


# Visitors -----------------------------------------------------------------


@pytest.mark.parametrize("step", STEPS)
def test_every_cached_page_a_visitors_hit_is_the_miss(deployed, step):
    client = sized(visitor(deployed), step)
    seen_hits = 0
    for path in paths(deployed):
        miss = client.get(path, **GZIP)
        if miss.status_code != 200 or miss.get("X-Page-Cache") != "miss":
            continue
        plain = client.get(path)
        zipped = client.get(path, **GZIP)
        assert plain["X-Page-Cache"] == zipped["X-Page-Cache"] == "hit", path
        assert not plain.has_header("Content-Encoding")
        page = body_of(miss)
        assert plain.content == page, path
        assert body_of(zipped) == page, path
        assert MARKER not in page, path
        # The same headers as the miss, but for the cache's own.
        assert zipped.get("Content-Encoding") == miss.get("Content-Encoding"), path
        assert zipped["Content-Type"] == miss["Content-Type"], path
        assert _vary(zipped) == _vary(miss), path
        assert zipped.get("ETag") == miss.get("ETag"), path
        assert zipped.get("Cache-Control") == miss.get("Cache-Control"), path
        if zipped.has_header("Content-Encoding"):
            assert zipped["Content-Length"] == str(len(zipped.content))
        seen_hits += 1
    assert seen_hits >= 12


def _vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v}


@pytest.mark.parametrize(
    "accept",
    [
        "gzip",
        "GZIP",
        "x-gzip",
        "gzip;q=0",
        "identity",
        "*",
        "br",
        "",
        "deflate, gzip;q=1.0, *;q=0.5",
        "gzip" + ", identity" * 2000,
        "\x01gzip\r\n",
        "\tgzip\x7f",
        "nogzip",
        "gzipx",
    ],
)
def test_accept_encoding_variants_as_the_middleware_reads_them(deployed, accept):
    client = visitor(deployed)
    client.get("/boards/wenli/")
    plain = client.get("/boards/wenli/")
    hit = client.get("/boards/wenli/", HTTP_ACCEPT_ENCODING=accept)
    assert hit["X-Page-Cache"] == "hit"
    middleware_would = bool(re_accepts_gzip.search(accept))
    assert hit.has_header("Content-Encoding") is middleware_would
    assert body_of(hit) == plain.content
    assert "accept-encoding" in _vary(hit)


def test_no_accept_encoding_header_at_all(deployed):
    client = visitor(deployed)
    client.get("/boards/wenli/")
    hit = client.get("/boards/wenli/")
    assert hit["X-Page-Cache"] == "hit"
    assert not hit.has_header("Content-Encoding")
    assert "accept-encoding" in _vary(hit)


def test_head_is_never_a_hit_and_holds_no_marker(deployed):
    client = visitor(deployed)
    client.get("/boards/wenli/", **GZIP)
    head = client.head("/boards/wenli/", **GZIP)
    assert head.status_code == 200
    assert head.get("X-Page-Cache") is None
    assert MARKER not in head.content


@pytest.mark.parametrize(
    "form",
    [
        "{etag}",
        "{strong}",
        "W/{strong}",
        '"nope", {etag}',
        '"nope",{strong}',
        "*",
    ],
)
@pytest.mark.parametrize("accept", [GZIP, {}])
def test_if_none_match_forms_answer_304(deployed, form, accept):
    client = visitor(deployed)
    client.get("/boards/wenli/", **GZIP)
    zipped = client.get("/boards/wenli/", **GZIP)
    etag = zipped["ETag"]
    assert etag.startswith('W/"')
    value = form.format(etag=etag, strong=etag[2:])
    again = client.get("/boards/wenli/", HTTP_IF_NONE_MATCH=value, **accept)
    assert again.status_code == 304
    assert not again.content
    assert not again.has_header("Content-Encoding")


def test_if_none_match_of_another_step_and_if_modified_since(deployed):
    client = visitor(deployed)
    client.get("/boards/wenli/", **GZIP)
    etag = client.get("/boards/wenli/", **GZIP)["ETag"]
    sized(client, 1)
    other = client.get("/boards/wenli/", HTTP_IF_NONE_MATCH=etag, **GZIP)
    assert other.status_code == 200 and other["Content-Encoding"] == "gzip"
    since = client.get(
        "/boards/wenli/",
        HTTP_IF_MODIFIED_SINCE="Fri, 01 Jan 2100 00:00:00 GMT",
        **GZIP,
    )
    assert since.status_code == 200
    assert strictly_gunzipped(since.content) == client.get("/boards/wenli/").content


def test_a_hit_reread_after_reset_local_is_the_same_page(deployed):
    client = visitor(deployed)
    for path in ["/", "/boards/wenli/", "/feeds/latest/", "/sitemap.xml"]:
        client.get(path, **GZIP)
        first = body_of(client.get(path, **GZIP))
        caching.reset_local()
        again = client.get(path, **GZIP)
        assert again["X-Page-Cache"] == "hit"
        assert body_of(again) == first == client.get(path).content


def test_dev_settings_never_gzip_a_hit(deployed, settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "core.compression.TextGZipMiddleware"
    ]
    client = visitor(deployed)
    for path in paths(deployed):
        client.get(path, **GZIP)
        hit = client.get(path, **GZIP)
        assert not hit.has_header("Content-Encoding"), path
        assert not hit.content.startswith(b"\x1f\x8b"), path
    # And back in production, the same process compresses again.
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "core.compression.TextGZipMiddleware"]
    assert compression._compressing()


# Members ------------------------------------------------------------------


@pytest.mark.parametrize("step", [None, "1", "2", "9"])
def test_every_cached_page_a_members_hit_is_their_miss(deployed, step):
    first = sized(member(deployed, "wenli_first"), step)
    second = sized(member(deployed, "wenli_second"), step)
    seen = 0
    for path in paths(deployed):
        miss = first.get(path, **GZIP)
        if miss.status_code != 200 or miss.get("X-Page-Cache") != "miss":
            continue
        own_miss = body_of(miss)
        zipped = second.get(path, **GZIP)
        plain = second.get(path)
        assert zipped["X-Page-Cache"] == plain["X-Page-Cache"] == "hit", path
        html = body_of(zipped)
        assert MARKER not in html and MARKER not in plain.content, path
        assert b"wenli_first" not in html, path
        expected = own_miss.replace(b"wenli_first", b"wenli_second")
        assert without_tokens(html) == without_tokens(expected), path
        assert without_tokens(plain.content) == without_tokens(expected), path
        assert "private" in zipped["Cache-Control"], path
        again = first.get(path, **GZIP)
        assert again["X-Page-Cache"] == "hit", path
        for name in ("Content-Encoding", "Content-Type", "ETag", "Cache-Control"):
            assert again.get(name) == miss.get(name), (path, name)
        assert _vary(again) == _vary(miss), path
        assert again["Content-Length"] == str(len(again.content)), path
        assert plain["Content-Length"] == str(len(plain.content)), path
        tokens = set(TOKEN.findall(html))
        assert len(tokens) <= 1, path  # one token for every form of a page
        seen += 1
    assert seen >= 5


def test_two_members_of_different_branches_never_share_a_copy(deployed):
    headers, wenli, _ = deployed
    other = UnitFactory(name="东村", parent=wenli.parent)
    a = member(deployed, "wenli_member")
    b = member(deployed, "dongcun_member", unit=other)
    for client in (a, b, a, b):
        for path in ["/", "/boards/wenli/", "/feedback/"]:
            html = body_of(client.get(path, **GZIP))
            mine, theirs = (
                (b"wenli_member", b"dongcun_member")
                if client is a
                else (b"dongcun_member", b"wenli_member")
            )
            assert mine in html and theirs not in html, path
            assert MARKER not in html


def shown_name(username: str) -> bytes:
    """A name as the header writes it: escaped, "@" as a character reference
    (no name can hold a slot's text)."""
    return escape(username).replace("@", "&#64;").encode()


@pytest.mark.parametrize(
    "username",
    [
        "<script>alert(1)</script>",
        "\u202eevil\u202c\u2066x\u2069",
        "名" * 150,
        "@@fm-user-name@@",
        "@@fm-csrf-token-0123456789abcdef01234567@@",
        "a&b\"c'd>e",
        "x" * 150,  # the longest a username may be
    ],
)
def test_hostile_usernames_fill_as_escaped_text(deployed, username):
    first = member(deployed, "plain_first")
    hostile = member(deployed, username)
    first.get("/boards/wenli/", **GZIP)
    zipped = hostile.get("/boards/wenli/", **GZIP)
    plain = hostile.get("/boards/wenli/")
    assert zipped["X-Page-Cache"] == "hit"
    html = body_of(zipped)
    assert shown_name(username) in html
    assert without_tokens(html) == without_tokens(plain.content)
    assert b"plain_first" not in html
    # The next member gets their own name, not the hostile one.
    after = body_of(first.get("/boards/wenli/", **GZIP))
    assert shown_name(username) not in after


def test_a_members_hit_after_logout_and_login_as_another(deployed):
    headers, wenli, _ = deployed
    client = member(deployed, "before_logout")
    url = "/boards/wenli/"
    client.get(url, **GZIP)
    html = body_of(client.get(url, **GZIP))
    token = TOKEN.search(html)[1].decode()
    client.post(
        "/accounts/logout/",
        {"csrfmiddlewaretoken": token},
        HTTP_REFERER=f"https://{HOST}{url}",
    )
    anonymous = body_of(client.get(url, **GZIP))
    assert b"before_logout" not in anonymous and MARKER not in anonymous
    client.force_login(PartyMemberFactory(username="after_login", branch_of=wenli))
    again = client.get(url, **GZIP)
    assert again["X-Page-Cache"] == "hit"
    html = body_of(again)
    assert b"after_login" in html and b"before_logout" not in html
    # The token filled in is this session's: the log-out form takes it.
    token = TOKEN.search(html)[1].decode()
    out = client.post(
        "/accounts/logout/",
        {"csrfmiddlewaretoken": token},
        HTTP_REFERER=f"https://{HOST}{url}",
    )
    assert out.status_code in (200, 302)


def test_a_members_token_is_a_stored_block_never_deflated(deployed):
    member(deployed, "first").get("/feedback/", **GZIP)
    client = member(deployed, "second")
    zipped = client.get("/feedback/", **GZIP)
    html = body_of(zipped)
    for token in TOKEN.findall(html):
        assert token in zipped.content
    assert b"second" in html


# The secret-derived slots themselves ---------------------------------------


# Found by this attack (2026-12-03): the name was inserted after the slots
# were found, so a slot's text in it was sent as it is; a name's "@" is now
# a character reference on the miss and the hit alike.
def test_a_name_holding_a_real_slot_is_served_as_the_miss_serves_it(deployed):
    name = "n" + slot("csrf-token") + elder.PRESSED_SLOTS[elder.LARGE]
    first = member(deployed, "slot_first")
    sneaky = member(deployed, name)
    miss = body_of(sneaky.get("/boards/wenli/", **GZIP))
    first.get("/boards/wenli/", **GZIP)
    hit = body_of(sneaky.get("/boards/wenli/", **GZIP))
    for body in (miss, hit):
        # Shown as written (the "@" a character reference), never a slot:
        # neither filled in nor sent as one.
        assert shown_name(name) in body
        assert slot("csrf-token").encode() not in body
        assert elder.PRESSED_SLOTS[elder.LARGE].encode() not in body
    assert without_tokens(hit) == without_tokens(miss)


# Pieces on its own: edges -------------------------------------------------


def _pieces_of(body: bytes, names: dict[bytes, str]) -> Pieces:
    pattern = re.compile(b"|".join(map(re.escape, names)))
    marks = [(m.start(), m.end(), names[m[0]]) for m in pattern.finditer(body)]
    return Pieces(body, marks)


def _old_gzip(text: bytes) -> bytes | None:
    """What TextGZipMiddleware made of the filled page (None: left plain)."""
    from django.utils.text import compress_string

    if len(text) < 200:
        return None
    zipped = compress_string(text, max_random_bytes=100)
    return zipped if len(zipped) < len(text) else None


@pytest.mark.parametrize("fill", [0, 1, 5, 30, 200])
def test_pieces_around_the_200_byte_threshold(fill):
    body = b"<p>" + b"ab" * 90 + b"@S@" + b"</p>"
    pieces = _pieces_of(body, {b"@S@": "s"})
    value = b"v" * fill
    text = body.replace(b"@S@", value)
    zipped = pieces.gzipped({"s": value})
    if len(text) < 200:
        assert zipped is None
    elif zipped is not None:
        assert strictly_gunzipped(zipped) == text
        assert len(zipped) < len(text)
    assert pieces.filled({"s": value}) == text


@pytest.mark.parametrize(
    "body",
    [
        b"@S@" + b"x" * 500,
        b"x" * 500 + b"@S@",
        b"@S@@S@@S@" + b"y" * 400,
        b"z" * 300,
        bytes(range(256)) * 3 + b"@S@" + b"a" * 1000,
        "凤鸣".encode() * 200 + b"@S@",
    ],
)
@pytest.mark.parametrize("value", [b"", b"<&>", b"\x00\xff" * 40000])
def test_pieces_decode_strictly(body, value):
    pieces = _pieces_of(body, {b"@S@": "s"}) if b"@S@" in body else Pieces(body, [])
    text = body.replace(b"@S@", value)
    zipped = pieces.gzipped({"s": value})
    if zipped is None:
        assert len(text) < 200 or len(text) <= len(_old_gzip(text) or text)
        return
    assert strictly_gunzipped(zipped) == text


def test_pieces_stored_values_beyond_64k_are_valid_for_gunzip():
    body = b"<html>" + b"row " * 2000 + b"@S@" + b" tail" * 500
    pieces = _pieces_of(body, {b"@S@": "s"})
    value = b"q" * (0xFFFF * 2 + 1)
    zipped = pieces.gzipped({"s": value})
    assert strictly_gunzipped(zipped) == body.replace(b"@S@", value)


# The local copies' memory bound ----------------------------------------------


def _retained(local) -> int:
    """The bytes the process's copies really hold: a page's body once, even
    if its Pieces hold it too, plus the deflated runs."""
    bodies, total = set(), 0
    for _expires, value, _size in local.entries.values():
        if isinstance(value, Pieces):
            runs = value._runs or []
            total += sum(len(r) for r in runs)
            body = value.body
        elif isinstance(value, tuple) and len(value) == 5:
            body = value[2]
        else:
            continue
        if id(body) not in bodies:
            bodies.add(id(body))
            total += len(body)
    return total


# Found by this attack (2026-12-03): a page too large for this process's
# copies had its Pieces kept (body and runs) all the same.
def test_the_pieces_keep_within_the_local_memory_bound(deployed, settings):
    client = visitor(deployed)
    client.get("/boards/wenli/", **GZIP)
    size = len(client.get("/boards/wenli/").content)
    assert size > 4096
    limit = size * 2  # a page is over limit/4, its pieces' count is not
    settings.PAGE_CACHE_LOCAL_BYTES = limit
    caching.reset_local()
    for n in range(12):
        path = f"/boards/wenli/?n={n}"
        client.get(path, **GZIP)
        hit = client.get(path, **GZIP)
        assert hit["X-Page-Cache"] == "hit"
        assert strictly_gunzipped(hit.content) == client.get(path).content
    assert caching._local.size <= limit
    assert _retained(caching._local) <= limit


def test_a_small_local_bound_still_serves_the_right_page(deployed, settings):
    settings.PAGE_CACHE_LOCAL_BYTES = 1
    client = sized(visitor(deployed), 2)
    client.get("/boards/wenli/", **GZIP)
    for _ in range(3):
        hit = client.get("/boards/wenli/", **GZIP)
        assert hit["X-Page-Cache"] == "hit"
        html = strictly_gunzipped(hit.content)
        assert elder.html_class(2).encode() in html.split(b">", 2)[1]
        assert MARKER not in html


def test_secret_key_is_the_tests(deployed):
    # The slots a test builds are the server's (SECRET_KEY is kept).
    assert django_settings.SECRET_KEY
    assert caching.CSRF_SLOT == slot("csrf-token").encode()


# The old path and the new, side by side on made-up copies ------------------


def _old_hit(request, stored):
    """The hit as it was before Pieces: filled with bytes.replace."""
    from django.http import HttpResponse
    from django.utils.cache import get_conditional_response

    _made, status, body, headers, _expires = stored
    response = HttpResponse(caching._with_size(request, body), status=status)
    for name, value in headers:
        response[name] = value
    if response.has_header("ETag"):
        response["ETag"] = caching._etag_for(request, response["ETag"])
    response["X-Page-Cache"] = "hit"
    return get_conditional_response(
        request, etag=response.get("ETag"), last_modified=None, response=response
    )


def _copy(body: bytes, content_type: str) -> tuple:
    import time

    headers = [("Content-Type", content_type), ("ETag", '"abc"')]
    return (time.time(), 200, body, headers, time.time() + 60)


_HTML = b"<!doctype html>\n<html lang=zh" + caching._CLASS_SLOT + b">"
_BUTTONS = b"".join(
    b'<button aria-pressed="' + s + b'">' for s in caching._PRESSED_SLOTS.values()
)


@pytest.mark.parametrize(
    "body",
    [
        _HTML + b"<p>x</p>",  # tiny: under 200 bytes filled
        _HTML + _BUTTONS,  # about 200 bytes, over or under with the class
        _HTML + b"a" * (200 - len(_HTML) - 10) + _BUTTONS,
        _HTML + _BUTTONS + bytes(range(256)) * 8,  # hardly compressible
        _HTML + _BUTTONS + b"<p>row</p>" * 400,
        b"<rss>" + caching._CLASS_SLOT + b"</rss>" * 100,  # no <html: left
        _HTML + caching._CLASS_SLOT + b"<html " + caching._CLASS_SLOT + b">" * 50,
    ],
)
@pytest.mark.parametrize(
    "content_type", ["text/html; charset=utf-8", "application/xml", "image/png"]
)
@pytest.mark.parametrize("step", [None, "1", "2", "bad"])
@pytest.mark.parametrize("accept", ["gzip", "identity", ""])
def test_the_new_hit_is_the_old_through_the_middleware(
    deployed, rf, body, content_type, step, accept
):
    stored = _copy(body, content_type)
    if step is not None:
        rf.cookies[elder.COOKIE_NAME] = step
    middleware = compression.TextGZipMiddleware

    def request():
        return rf.get("/boards/wenli/", HTTP_ACCEPT_ENCODING=accept)

    for _ in range(5):  # the padding is random: several times
        caching.reset_local()
        new = middleware(lambda r: caching._response(r, "k", stored))(request())
        old = middleware(lambda r: _old_hit(r, stored))(request())
        assert body_of(new) == body_of(old)
        for name in ("Content-Type", "X-Page-Cache"):
            assert new.get(name) == old.get(name)
        assert _vary(new) == _vary(old)
        assert new.get("ETag") == old.get("ETag") or (
            # whether a borderline page gains from gzip is chance (padding)
            new.get("Content-Encoding") != old.get("Content-Encoding")
        )
        if len(body_of(old)) < 200 or not content_type.startswith(("text/", "app")):
            assert new.get("Content-Encoding") == old.get("Content-Encoding")
        if new.has_header("Content-Encoding"):
            assert new["Content-Length"] == str(len(new.content))
