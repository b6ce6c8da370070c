"""Attacks on the midnight commits (c827f34, 7eb9fe1, 56bdbd4, cb2081e): the
回音壁's counts and cards across midnight and changes of a case, the kept
next scheduled change, and manage.py warm_pages' host. Five found a real
problem, each fixed: warm_pages kept pages under a Host no browser sends (an
upper-case address or allowed host, a default port, an IPv6 address) and
stopped at the first page that raised."""

import zoneinfo
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from core import caching
from feedback.models import CONFIDENTIAL_KINDS, Submission
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.test_warm_pages import HOST, served_as_deployed
from tests.perf.test_warm_pages import visitor as a_visitor

pytestmark = [pytest.mark.django_db]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
EVENING = datetime(2026, 12, 10, 23, 0, tzinfo=SHANGHAI)
MORNING = EVENING + timedelta(hours=1, minutes=30)
NEXT_EVENING = EVENING + timedelta(days=1)


def on_record():
    return Submission.objects.on_record().exclude(kind__in=CONFIDENTIAL_KINDS)


@pytest.fixture
def wall_cases(db):
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    other_town = TownFactory(name="白沙镇", slug="baisha")
    lone = UnitFactory(name="县水务局", slug="shuiwu", parent=None)
    made = {}
    with time_machine.travel(EVENING - timedelta(days=30), tick=False):
        made["waiting_today"] = SubmissionFactory(unit=wenli, due_date=EVENING.date())
        made["waiting_tomorrow"] = SubmissionFactory(
            unit=maoshan, kind="suggestion", due_date=EVENING.date() + timedelta(1)
        )
        made["accepted_today"] = SubmissionFactory(
            unit=wenli, accepted=True, due_date=EVENING.date()
        )
        made["request"] = SubmissionFactory(
            unit=other_town,
            kind="request",
            due_date=EVENING.date() + timedelta(9),
            decision_due=EVENING.date(),
        )
        made["lone"] = SubmissionFactory(unit=lone, due_date=EVENING.date())
        made["answered"] = SubmissionFactory(
            unit=maoshan,
            accepted=True,
            status="answered",
            answered_at=EVENING - timedelta(days=29),
            answer_text="已办理。",
        )
    return made


FILTERS = [
    "",
    "?unit=wenli",
    "?unit=fengming",
    "?unit=shuiwu",
    "?kind=suggestion",
    "?kind=request",
    "?status=accepted",
    "?status=answered",
    "?escalated=1",
    "?received_after=2026-11-01&received_before=2026-12-31",
]


def recount(query: str) -> dict:
    from django.http import QueryDict

    from feedback.filters import SubmissionFilter

    f = SubmissionFilter(QueryDict(query.lstrip("?")), queryset=on_record())
    assert f.is_valid()
    return f.qs.summary()


def _saved(row, capture, **changes):
    row = Submission.objects.get(pk=row.pk)
    with capture(execute=True):
        for name, value in changes.items():
            setattr(row, name, value)
        row.save()
    return row


@pytest.mark.usefixtures("values_only")
def test_wall_figures_across_midnight_and_case_changes_match_a_recount(
    wall_cases, django_capture_on_commit_callbacks
):
    visitor = Client()
    capture = django_capture_on_commit_callbacks

    def check(label):
        for query in FILTERS:
            shown = visitor.get(f"/feedback/{query}").context["summary"]
            assert shown == recount(query), (label, query)

    with time_machine.travel(EVENING, tick=False):
        check("evening")
    with time_machine.travel(MORNING, tick=False):
        check("morning")
        # Accepted after midnight: no longer waiting.
        _saved(
            wall_cases["waiting_today"],
            capture,
            status="accepted",
            accepted_at=timezone.now(),
        )
        check("accepted")
        # Answered and reopened.
        row = _saved(
            wall_cases["accepted_today"],
            capture,
            status="answered",
            answered_at=timezone.now(),
            answer_text="好",
        )
        check("answered")
        _saved(row, capture, status="accepted", answered_at=None, round=2)
        check("reopened")
        # A new case, overdue the next day.
        with capture(execute=True):
            SubmissionFactory(
                unit=wall_cases["waiting_tomorrow"].unit, due_date=MORNING.date()
            )
        check("new case")
    with time_machine.travel(NEXT_EVENING + timedelta(hours=2), tick=False):
        check("the next morning")


@pytest.mark.usefixtures("values_only")
def test_a_party_members_wall_figures_are_the_visitors(wall_cases, django_user_model):
    from tests.perf.branches import member

    with time_machine.travel(EVENING, tick=False):
        Client().get("/feedback/")
    with time_machine.travel(MORNING, tick=False):
        seen = member("dangyuan", wall_cases["waiting_today"].unit).get("/feedback/")
        assert seen.context["summary"] == recount("")
        assert seen.context["summary"]["waiting_overdue"] >= 2


@pytest.mark.usefixtures("values_only")
def test_a_wall_cards_overdue_badge_follows_the_day_and_status(
    db, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    village = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    with time_machine.travel(EVENING - timedelta(days=30), tick=False):
        case = SubmissionFactory(
            unit=village,
            accepted=True,
            status="answered",
            answered_at=EVENING - timedelta(days=29),
            answer_text="已办理。",
            due_date=EVENING.date(),
        )
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        assert "已超期" not in visitor.get("/feedback/").text
        # Reopened the same evening (not overdue yet): the card has the day.
        case = _saved(case, capture, status="accepted", answered_at=None, round=2)
        assert "已超期" not in visitor.get("/feedback/").text
    with time_machine.travel(MORNING, tick=False):
        assert "已超期" in visitor.get("/feedback/").text
        _saved(case, capture, status="answered", answered_at=timezone.now())
        assert "已超期" not in visitor.get("/feedback/").text


# next_due ------------------------------------------------------------------


@pytest.fixture
def town_units(db):
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    for unit in (wenli, maoshan):
        DisclosureFactory(unit=unit, item=ItemFactory())
    return town, wenli, maoshan


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize(
    "scopes",
    [
        ["town:fengming"],
        ["unit:fengming", "town:fengming"],
        None,
        ["unit:wenli", "periods"],
    ],
)
def test_next_due_follows_a_row_scheduled_in_a_village_of_the_town(
    town_units, scopes, django_capture_on_commit_callbacks
):
    town, wenli, maoshan = town_units
    at = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(at, tick=False):
        first = caching.next_due(scopes, at - timedelta(seconds=60))
        assert first is None
        due = at + timedelta(minutes=30)
        with django_capture_on_commit_callbacks(execute=True):
            DisclosureFactory(
                unit=wenli, item=ItemFactory(), published_at=due, period="2019-Q4"
            )
        assert caching.next_due(scopes, at) == due
        assert caching.next_due(scopes, at - timedelta(seconds=60)) == due


@pytest.mark.usefixtures("page_cache")
def test_next_due_with_no_kept_values(town_units, settings):
    settings.VALUE_CACHE_SECONDS = 0
    town, wenli, _ = town_units
    at = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    due = at + timedelta(minutes=30)
    DisclosureFactory(unit=wenli, item=ItemFactory(), published_at=due)
    with time_machine.travel(at, tick=False):
        assert caching.next_due(["unit:wenli"], at) == due
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert caching.next_due(["unit:wenli"], due) is None


@pytest.mark.usefixtures("page_cache")
def test_a_board_page_made_just_before_a_publication_is_not_kept_past_it(
    town_units,
):
    town, wenli, _ = town_units
    at = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    due = at + timedelta(seconds=20)
    DisclosureFactory(
        unit=wenli, item=ItemFactory(), title="十点二十秒发布", published_at=due
    )
    visitor = Client()
    with time_machine.travel(at - timedelta(seconds=30), tick=False):
        assert "十点二十秒发布" not in visitor.get("/boards/wenli/").text
    with time_machine.travel(at, tick=False):
        assert "十点二十秒发布" not in visitor.get("/boards/wenli/").text
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert "十点二十秒发布" in visitor.get("/boards/wenli/").text


# warm_pages ----------------------------------------------------------------

MIDNIGHT = datetime(2026, 12, 11, 0, 1, 0, tzinfo=SHANGHAI)


@pytest.fixture
def site(settings, db):
    village = served_as_deployed(settings)
    with time_machine.travel(MIDNIGHT - timedelta(hours=1), tick=False):
        DisclosureFactory(unit=village, title="文理村十一月财务公开")
        # A 党内 item's disclosure and a draft: never for a visitor.
        DisclosureFactory(
            unit=village, title="党内公开的事项", item=ItemFactory(scope="inner")
        )
        DisclosureFactory(unit=village, title="尚未发布的草稿", status="draft")
        SubmissionFactory(unit=village, accepted=True)
    return village


def _hit(path: str, host=HOST) -> bool:
    caching.reset_local()
    return a_visitor(host).get(path).get("X-Page-Cache") == "hit"


@pytest.mark.usefixtures("page_cache")
def test_warming_stores_nothing_a_visitor_must_not_see(site):
    with time_machine.travel(MIDNIGHT, tick=False):
        call_command("warm_pages", stdout=StringIO())
        for path in (
            "/",
            "/boards/wenli/",
            "/disclosures/",
            "/disclosures/?unit=wenli",
            "/feedback/",
            "/stats/",
            "/county/",
        ):
            response = a_visitor().get(path)
            assert response.get("X-Page-Cache") == "hit", path
            assert "党内公开的事项" not in response.text, path
            assert "尚未发布的草稿" not in response.text, path
            assert not response.cookies, path


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize(
    "allowed, base",
    [
        ([HOST], f"https://{HOST}:8443"),
        (["[::1]", HOST], "https://[::1]:8000"),
        ([HOST], ""),
    ],
)
def test_warming_does_not_crash_on_odd_hosts(site, settings, allowed, base):
    settings.ALLOWED_HOSTS = allowed
    settings.PORTAL_BASE_URL = base
    with time_machine.travel(MIDNIGHT, tick=False):
        call_command("warm_pages", stdout=StringIO())


@pytest.mark.usefixtures("page_cache")
def test_an_uppercase_base_url_warms_the_pages_visitors_ask_for(site, settings):
    settings.PORTAL_BASE_URL = "https://GongKai.Fengming.example"
    with time_machine.travel(MIDNIGHT, tick=False):
        call_command("warm_pages", stdout=StringIO())
        assert _hit("/boards/wenli/")


@pytest.mark.usefixtures("page_cache")
def test_an_uppercase_allowed_host_warms_the_pages_visitors_ask_for(site, settings):
    settings.ALLOWED_HOSTS = [HOST.upper()]
    with time_machine.travel(MIDNIGHT, tick=False):
        call_command("warm_pages", stdout=StringIO())
        assert _hit("/boards/wenli/")


@pytest.mark.usefixtures("page_cache")
def test_a_default_port_in_the_base_url_warms_the_pages_visitors_ask_for(
    site, settings
):
    settings.PORTAL_BASE_URL = f"https://{HOST}:443"
    with time_machine.travel(MIDNIGHT, tick=False):
        call_command("warm_pages", stdout=StringIO())
        assert _hit("/boards/wenli/")


@pytest.mark.usefixtures("page_cache")
def test_an_ipv6_base_url_warms_the_pages_visitors_ask_for(site, settings):
    settings.ALLOWED_HOSTS = ["localhost", "[::1]"]
    settings.PORTAL_BASE_URL = "https://[::1]:8000"
    with time_machine.travel(MIDNIGHT, tick=False):
        call_command("warm_pages", stdout=StringIO())
        assert _hit("/boards/wenli/", host="[::1]:8000")


@pytest.mark.usefixtures("page_cache")
def test_a_page_that_raises_does_not_stop_the_warming(site, monkeypatch):
    from django.core.management import CommandError

    from composition import views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in one page")

    monkeypatch.setattr(views, "home_latest_context", broken)
    with time_machine.travel(MIDNIGHT, tick=False):
        with pytest.raises(CommandError, match="not 200: / "):
            call_command("warm_pages", stdout=StringIO())
        assert _hit("/boards/wenli/")


@pytest.mark.usefixtures("values_only")
def test_wall_figures_after_a_village_moves_to_another_town_overnight(
    wall_cases, django_capture_on_commit_callbacks
):
    from disclosure.models import Unit

    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        for query in ("", "?unit=baisha", "?unit=wenli"):
            visitor.get(f"/feedback/{query}")
    with time_machine.travel(MORNING, tick=False):
        wenli = Unit.objects.get(slug="wenli")
        with django_capture_on_commit_callbacks(execute=True):
            wenli.parent = Unit.objects.get(slug="baisha")
            wenli.save()
        for query in ("", "?unit=baisha", "?unit=wenli", "?unit=fengming"):
            shown = visitor.get(f"/feedback/{query}").context["summary"]
            assert shown == recount(query), query


@pytest.mark.usefixtures("page_cache")
def test_the_kept_wall_page_follows_midnight_and_an_acceptance(
    wall_cases, django_capture_on_commit_callbacks
):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        assert visitor.get("/feedback/").context["summary"] == recount("")
    with time_machine.travel(MORNING, tick=False):
        page = visitor.get("/feedback/")
        assert page.get("X-Page-Cache") == "miss"
        assert page.context["summary"] == recount("")
        _saved(
            wall_cases["waiting_today"],
            django_capture_on_commit_callbacks,
            status="accepted",
            accepted_at=timezone.now(),
        )
        page = visitor.get("/feedback/")
        assert page.context["summary"] == recount("")
        assert page.context["summary"]["waiting_overdue"] == 2
