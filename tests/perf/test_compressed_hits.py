"""Cache hits gzipped from the copy (core.compression.Pieces), as deployed.

A hit used to be filled in, then deflated whole by TextGZipMiddleware on
every request (half a millisecond for a board). Now the copy's runs between
slots are deflated once: what a browser gets must be the very page it would
have got, for every text size step, visitor and member, with the same
headers (gzip, Vary, weak ETag, length), a 304 when it has it, random
padding, and the CSRF token never compressed beside the page's text.
"""

import gzip
import random
import re
import struct
import zlib

import pytest
from django.test import Client

from core import caching, elder
from core.compression import Pieces
from tests.deployed import HOST, apply_deployed_settings
from tests.factories import PartyMemberFactory, TownFactory, UnitFactory

pytestmark = [
    pytest.mark.django_db,
    # Pages read twice, the second a hit: not across midnight (a page is kept
    # no longer than midnight; one made in a day's last second is not).
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def deployed(settings):
    headers = apply_deployed_settings(settings)
    assert "core.compression.TextGZipMiddleware" in settings.MIDDLEWARE
    wenli = UnitFactory(name="文理村", parent=TownFactory(name="凤鸣镇"))
    return headers, wenli


def member(deployed, username="wenli_a") -> Client:
    headers, wenli = deployed
    client = Client(enforce_csrf_checks=True, **headers)
    client.force_login(PartyMemberFactory(username=username, branch_of=wenli))
    return client


def sized(client: Client, step: int) -> Client:
    if step == elder.STANDARD:
        client.cookies.pop(elder.COOKIE_NAME, None)
    else:
        client.cookies[elder.COOKIE_NAME] = str(step)
    return client


def assert_gzipped_like_the_middleware(response):
    assert response.headers["X-Page-Cache"] == "hit"
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert response["Content-Length"] == str(len(response.content))
    if response.has_header("ETag"):
        assert response["ETag"].startswith('W/"')


@pytest.mark.parametrize("path", ["/", "/boards/wenli/"])
@pytest.mark.parametrize("step", sorted(elder.STEPS))
def test_a_visitors_hit_is_the_page_gzipped_at_each_step(deployed, path, step):
    headers, _ = deployed
    client = sized(Client(**headers), step)
    assert client.get(path, **GZIP).headers["X-Page-Cache"] == "miss"
    plain = client.get(path)
    zipped = client.get(path, **GZIP)
    assert plain.headers["X-Page-Cache"] == "hit"
    assert not plain.has_header("Content-Encoding")
    assert_gzipped_like_the_middleware(zipped)
    html = gzip.decompress(zipped.content)
    assert html == plain.content
    assert b"@@fm-" not in html
    assert elder.html_class(step).encode() in html.split(b">", 2)[1]
    # Smaller than the page: runs deflated, not stored.
    assert len(zipped.content) < len(html) / 2


def test_a_visitors_gzipped_hit_is_padded_at_random(deployed):
    headers, _ = deployed
    client = Client(**headers)
    client.get("/boards/wenli/", **GZIP)
    hits = [client.get("/boards/wenli/", **GZIP) for _ in range(8)]
    assert {r.headers["X-Page-Cache"] for r in hits} == {"hit"}
    assert len({len(r.content) for r in hits}) > 1
    assert len({gzip.decompress(r.content) for r in hits}) == 1


def test_a_gzipped_hit_answers_its_etag_with_304(deployed):
    headers, _ = deployed
    client = Client(**headers)
    client.get("/boards/wenli/", **GZIP)
    zipped = client.get("/boards/wenli/", **GZIP)
    etag = zipped["ETag"]
    again = client.get("/boards/wenli/", HTTP_IF_NONE_MATCH=etag, **GZIP)
    assert again.status_code == 304
    assert not again.content
    # Another step's page is another ETag: no 304 for it.
    sized(client, 2)
    other = client.get("/boards/wenli/", HTTP_IF_NONE_MATCH=etag, **GZIP)
    assert other.status_code == 200
    assert_gzipped_like_the_middleware(other)


@pytest.mark.parametrize("step", sorted(elder.STEPS))
def test_a_members_hit_is_their_page_gzipped(deployed, step):
    first = sized(member(deployed, "wenli_first"), step)
    second = sized(member(deployed, "wenli_second"), step)
    url = "/boards/wenli/"
    assert first.get(url, **GZIP).headers["X-Page-Cache"] == "miss"
    zipped = second.get(url, **GZIP)
    plain = second.get(url)
    assert_gzipped_like_the_middleware(zipped)
    assert "private" in zipped["Cache-Control"]
    html = gzip.decompress(zipped.content)
    assert b"wenli_second" in html and b"wenli_first" not in html
    assert b"@@fm-" not in html
    # The same page as the plain hit but for its fresh CSRF tokens.
    assert TOKEN.sub(b"", html) == TOKEN.sub(b"", plain.content)
    token = TOKEN.search(html)[1]
    assert token != TOKEN.search(plain.content)[1]
    # Sent as it is (a stored block): never compressed beside the page's text.
    assert token in zipped.content
    # And it is this member's: the log-out form works with it.
    logout = second.post(
        "/accounts/logout/",
        {"csrfmiddlewaretoken": token.decode()},
        HTTP_REFERER=f"https://{HOST}{url}",  # over HTTPS, Django checks it
    )
    assert logout.status_code in (200, 302)
    assert b"wenli_second" not in second.get(url, **GZIP).content


def test_a_member_with_a_name_to_escape_gets_it_escaped(deployed):
    client = member(deployed, "wen<li>&")
    url = "/boards/wenli/"
    client.get(url)
    html = gzip.decompress(client.get(url, **GZIP).content)
    assert b"wen&lt;li&gt;&amp;" in html and b"wen<li>" not in html


def test_no_gzip_where_the_portal_does_not_compress(deployed, settings):
    headers, _ = deployed
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "core.compression.TextGZipMiddleware"
    ]
    client = Client(**headers)
    client.get("/boards/wenli/")
    hit = client.get("/boards/wenli/", **GZIP)
    assert hit.headers["X-Page-Cache"] == "hit"
    assert not hit.has_header("Content-Encoding")
    assert hit.content.startswith(b"<!doctype html>")


def test_the_deflated_runs_are_kept_with_the_copy(deployed):
    headers, _ = deployed
    client = Client(**headers)
    client.get("/boards/wenli/")
    client.get("/boards/wenli/", **GZIP)
    kept = [
        value
        for key, (_expires, value, _size) in caching._local.entries.items()
        if key.endswith("|pieces")
    ]
    assert len(kept) == 1 and kept[0]._runs is not None
    # A copy read again from the shared cache (another object) is split afresh.
    caching.reset_local()
    again = client.get("/boards/wenli/", **GZIP)
    assert again.headers["X-Page-Cache"] == "hit"
    assert gzip.decompress(again.content) == client.get("/boards/wenli/").content


# Pieces on its own ---------------------------------------------------------


def pieces_of(body: bytes, names: dict[bytes, str]) -> Pieces:
    if not names:
        return Pieces(body, [])
    pattern = re.compile(b"|".join(map(re.escape, names)))
    marks = [(m.start(), m.end(), names[m[0]]) for m in pattern.finditer(body)]
    return Pieces(body, marks)


def test_pieces_fill_and_gzip_to_the_same_text():
    body = b"<html class=@C@>" + b"<p>row</p>" * 500 + b"@N@ and @N@ " + b"end" * 100
    pieces = pieces_of(body, {b"@C@": "c", b"@N@": "n"})
    values = {"c": b'class="big"', "n": b"\xe6\x96\x87"}
    expected = body.replace(b"@C@", values["c"]).replace(b"@N@", values["n"])
    assert pieces.filled(values) == expected
    zipped = pieces.gzipped(values)
    assert gzip.decompress(zipped) == expected
    header_flags = zipped[3]
    assert header_flags & gzip.FNAME  # Django's random padding goes there
    assert struct.unpack("<LL", zipped[-8:]) == (zlib.crc32(expected), len(expected))


def test_pieces_store_a_value_longer_than_a_stored_block():
    body = b"head " * 100 + b"@V@" + b" tail" * 100
    pieces = pieces_of(body, {b"@V@": "v"})
    value = bytes(range(256)) * 600  # 153,600 bytes: three stored blocks
    zipped = pieces.gzipped({"v": value})
    assert gzip.decompress(zipped) == body.replace(b"@V@", value)


def test_pieces_of_an_empty_value_and_slots_side_by_side():
    body = b"a" * 300 + b"@A@@B@" + b"b" * 300 + b"@A@"
    pieces = pieces_of(body, {b"@A@": "a", b"@B@": "b"})
    values = {"a": b"", "b": b"x"}
    assert gzip.decompress(pieces.gzipped(values)) == b"a" * 300 + b"x" + b"b" * 300


def test_pieces_leave_short_or_incompressible_text_alone():
    assert pieces_of(b"<p>short</p>", {}).gzipped({}) is None
    noise = random.Random(7).randbytes(4000)  # as incompressible as it gets
    assert pieces_of(noise, {}).gzipped({}) is None
