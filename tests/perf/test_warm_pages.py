"""manage.py warm_pages: after midnight or a deployment, the pages visitors
read first are made by the command, so a visitor's first request is a hit
(in another worker too: from the shared cache), under the host visitors use."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client

from core import caching
from operations.management.commands import warm_pages
from tests.factories import (
    DisclosureFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache")]

HOST = "gongkai.fengming.example"
MIDNIGHT = datetime(2026, 12, 11, 0, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def served_as_deployed(settings):
    """Served as deploy/ ships it (one host, https behind nginx), a town and
    its village 文理村 (returned)."""
    settings.ALLOWED_HOSTS = [HOST]
    settings.PORTAL_BASE_URL = f"https://{HOST}"
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    town = TownFactory(name="凤鸣镇", slug="fengming")
    return UnitFactory(name="文理村", slug="wenli", parent=town)


@pytest.fixture
def site(settings):
    village = served_as_deployed(settings)
    with time_machine.travel(MIDNIGHT - timedelta(hours=1), tick=False):
        DisclosureFactory(unit=village, title="文理村十一月财务公开")
        SubmissionFactory(unit=village, accepted=True)
    # The units' scope version the rows' saving set "on 10 December"
    # expires from the shared cache two days later (2 ×
    # PAGE_CACHE_MAX_SECONDS, by the clock, which travels) but not from this
    # process's copies (by the monotonic clock, which does not): from the
    # 13th (on any later clock, the real one too) the warm-up and a worker
    # without the copies read the scope's version apart, and the first
    # request missed. Nothing of the rows' saving is kept past the fixture.
    cache.clear()
    caching.reset_local()
    return village


def visitor(host: str = HOST) -> Client:
    """A browser at the site, through nginx (https)."""
    return Client(HTTP_HOST=host, headers={"X-Forwarded-Proto": "https"})


def test_after_warming_a_visitors_first_request_of_the_day_is_a_hit(
    site, django_assert_num_queries
):
    with time_machine.travel(MIDNIGHT, tick=False):
        out = StringIO()
        call_command("warm_pages", stdout=out)
        assert f"pages for {HOST}" in out.getvalue()
        paths = warm_pages.warm_paths()
        assert "/boards/wenli/" in paths and "/compliance/?town=fengming" in paths
        assert "/disclosures/?unit=wenli" in paths
        for path in ("/", "/boards/wenli/", "/compliance/?town=fengming", "/stats/"):
            caching.reset_local()  # another worker: from the shared cache
            with django_assert_num_queries(0):
                response = visitor().get(path)
            assert response.status_code == 200, path
        assert "文理村十一月财务公开" in visitor().get("/boards/wenli/").text


def test_pages_are_warmed_under_the_first_single_host_without_a_base_url(
    site, settings, django_assert_num_queries
):
    settings.ALLOWED_HOSTS = [".example.org", "*.example.net", HOST, "other.example"]
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    assert warm_pages.host_and_scheme() == (HOST, True)
    call_command("warm_pages", stdout=StringIO())
    caching.reset_local()
    with django_assert_num_queries(0):
        assert visitor().get("/").status_code == 200


def test_no_single_host_to_warm_under_is_said(site, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    with pytest.raises(CommandError, match="PORTAL_BASE_URL"):
        call_command("warm_pages", stdout=StringIO())


def test_a_page_that_fails_is_reported(site, monkeypatch):
    monkeypatch.setattr(
        warm_pages, "warm_paths", lambda: ["/", "/boards/no-such-unit/"]
    )
    with pytest.raises(CommandError, match="no-such-unit.*404"):
        call_command("warm_pages", stdout=StringIO())


def test_the_cron_warms_the_pages_after_midnight():
    from pathlib import Path

    cron = (
        Path(__file__).resolve().parents[2] / "deploy" / "fengming.cron"
    ).read_text()
    lines = [line.split() for line in cron.splitlines() if "warm_pages" in line]
    assert lines and lines[0][:2] == ["1", "0"]  # 00:01 every day
