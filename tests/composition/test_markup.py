"""What a browser, a feed reader or the Nu HTML Checker reads in the markup:
machine-readable times, Atom entries, the site's name, the icon, the links a
resident needs on a board."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import Status
from tests.factories import (
    DisclosureFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
# HTML's valid date string or global date and time string: seconds may have
# at most three decimals (no microseconds), the zone is Z or ±hh:mm.
VALID_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?"
)


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory())


@pytest.fixture
def with_microseconds(wenli):
    # What every publication through the workflow stores: now(), to the microsecond.
    moment = timezone.now().replace(microsecond=123456) - timedelta(hours=1)
    disclosure = DisclosureFactory(
        unit=wenli, title="防火检查通知", published_at=moment, index_number="W-1"
    )
    disclosure.events.create(
        action="published", from_status="approved", to_status="published", at=moment
    )
    SubmissionFactory(
        unit=wenli,
        title="防火检查何时进行",
        received_at=moment,
        status=Status.ANSWERED,
        answered_at=moment,
        answer_text="下周进行。",
    )
    return disclosure


def test_every_time_element_has_a_valid_datetime(client, with_microseconds, wenli):
    pages = [
        with_microseconds.get_absolute_url(),
        wenli.get_absolute_url(),
        "/disclosures/",
        "/",
        "/feedback/",
        "/search/?q=防火检查",
    ]
    for url in pages:
        text = client.get(url).text
        values = re.findall(r'<time datetime="([^"]*)"', text)
        assert values, url
        for value in values:
            assert VALID_DATETIME.fullmatch(value), (url, value)


@pytest.mark.parametrize(
    "url", ["/feeds/latest/", "/feeds/boards/wenli/", "/feeds/feedback/"]
)
def test_every_atom_entry_has_the_required_elements(client, with_microseconds, url):
    root = ET.fromstring(client.get(url).content)
    entries = root.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{required}") is not None, required


def test_login_page_carries_the_sites_name_not_the_host(client, settings):
    text = client.get("/accounts/login/").text
    assert "testserver" not in text
    assert "<title>登录 · 凤鸣镇公开网</title>" in text
    assert 'class="navbar-brand" href="/">凤鸣镇公开网</a>' in text
    settings.PORTAL_SITE_NAME = "合江县凤鸣镇公开网"
    again = client.get("/accounts/login/").text
    assert 'class="navbar-brand" href="/">合江县凤鸣镇公开网</a>' in again


def test_favicon_is_served(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain  # to the static file, cached as static files are
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = client.get("/").text
    assert re.search(r'<link rel="icon" href="/static/[^"]*favicon\.svg"', page)


def test_board_links_to_the_feedback_form_and_following(client, wenli):
    text = client.get(wenli.get_absolute_url()).text
    # The same form as the printed board's QR code.
    assert '<a href="/feedback/new/?unit=wenli">提意见</a>' in text
    assert 'href="/follow/?unit=wenli"' in text
    assert 'href="/feeds/boards/wenli/"' in text
    printed = client.get(f"{wenli.get_absolute_url()}print/").text
    assert 'data-url="http://testserver/feedback/new/?unit=wenli"' in printed
