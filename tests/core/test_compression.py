"""HTML compressed as deployed (core/compression.py, issue 19): production's
settings gzip pages, with Django's BREACH padding, and leave compressed types
alone; the page cache keeps pages uncompressed for every browser."""

import gzip

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from core.compression import TextGZipMiddleware
from tests.deployed import apply_deployed_settings
from tests.factories import TownFactory, UnitFactory

pytestmark = pytest.mark.django_db

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


@pytest.fixture
def deployed(settings):
    headers = apply_deployed_settings(settings)
    assert "core.compression.TextGZipMiddleware" in settings.MIDDLEWARE
    UnitFactory(name="文理村", parent=TownFactory(name="凤鸣镇"))
    return headers


@pytest.mark.parametrize("path", ["/", "/boards/wenli/", "/boards/wenli/print/"])
def test_production_sends_pages_gzipped(client, deployed, path):
    response = client.get(path, **deployed, **GZIP)
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    html = gzip.decompress(response.content).decode()
    assert html.startswith("<!doctype html>")
    assert len(response.content) < len(html.encode()) / 2


def test_a_browser_without_gzip_gets_the_cached_page_plain(client, deployed):
    first = client.get("/", **deployed, **GZIP)
    plain = client.get("/", **deployed)
    assert first["Content-Encoding"] == "gzip"
    assert not plain.has_header("Content-Encoding")
    assert plain.content.decode().startswith("<!doctype html>")
    assert gzip.decompress(first.content) == plain.content


def test_each_response_is_padded_at_random_against_breach(client, deployed):
    sizes = {
        len(client.get("/boards/wenli/", **deployed, **GZIP).content) for _ in range(6)
    }
    assert len(sizes) > 1


@pytest.mark.parametrize(
    ("content_type", "compressed"),
    [
        ("text/html; charset=utf-8", True),
        ("text/csv", True),
        ("application/atom+xml; charset=utf-8", True),
        ("application/pdf", False),
        ("image/jpeg", False),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
    ],
)
def test_only_text_is_compressed(content_type, compressed):
    request = RequestFactory().get("/", **GZIP)
    response = TextGZipMiddleware(
        lambda r: HttpResponse(b"a" * 1000, content_type=content_type)
    )(request)
    assert response.has_header("Content-Encoding") is compressed
