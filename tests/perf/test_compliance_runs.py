"""The compliance matrix's figures outlive midnight while no state turns
(`compliance.steady_through`, `caching.cached_through`): a day's figures are
reused for the following days of their run, equal to what the engine finds
for each of those days, and computed again on the day a period begins or
something falls due."""

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from catalog.models import Catalog
from core import caching
from disclosure import compliance, compliance_views
from disclosure.compliance_views import home_units
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
URL = "/compliance/?town=fengming"


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 30, tzinfo=SHANGHAI)


@pytest.fixture
def town():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    category = CategoryFactory(catalog__kind=Catalog.Kind.PARTY)
    monthly = ItemFactory(category=category, for_town=False)
    with time_machine.travel(evening(date(2026, 10, 3)), tick=False):
        # September's, on time (due 5 October); October's never filed.
        DisclosureFactory(unit=wenli, item=monthly, period="2026-09")
    return town


def overall(response) -> dict:
    return dict(response.context["overall"].counts)


def recount(town, day: date) -> dict:
    obligations, _ = compliance.load(
        units=home_units(town), year=day.year, as_of=day, kind=Catalog.Kind.PARTY
    )
    return dict(compliance.tally(obligations, lambda o: "all")["all"].counts)


def test_the_matrix_is_kept_past_midnight_until_a_state_turns(town, monkeypatch):
    computed = counted(monkeypatch, compliance_views, "matrix_figures")
    visitor = Client()

    def visit(at: datetime) -> dict:
        with time_machine.travel(at, tick=False):
            page = visitor.get(URL)
            day = at.astimezone(SHANGHAI).date()
            assert page.context["q"]["as_of"] == day  # the page's own day
            assert overall(page) == recount(town, day)
            return overall(page)

    # October's fell due on 5 November, November began on the 1st: from the
    # 5th to the end of November nothing turns.
    nov_20 = visit(evening(date(2026, 11, 20)))
    visit(evening(date(2026, 11, 20)) + timedelta(hours=1))  # 21 November
    visit(evening(date(2026, 11, 20)) + timedelta(hours=20))
    assert len(computed) == 1  # the 20th's figures, reused past midnight
    # Kept a day at most (PAGE_CACHE_MAX_SECONDS): then counted for the day.
    visit(evening(date(2026, 11, 30)))
    assert len(computed) == 2
    # 1 December: December is owed; counted afresh at midnight.
    december = visit(evening(date(2026, 11, 30)) + timedelta(hours=1))
    assert len(computed) == 3
    assert december != nov_20


def test_the_tables_links_carry_the_visitors_day(town):
    visitor = Client()
    with time_machine.travel(evening(date(2026, 11, 20)), tick=False):
        visitor.get(URL)
    with time_machine.travel(evening(date(2026, 11, 21)), tick=False):
        table = visitor.get(URL).context["matrix_table"]
    assert "as_of=2026-11-21" in table and "as_of=2026-11-20" not in table


def test_an_earlier_day_asked_for_does_not_end_todays_run(town, monkeypatch):
    computed = counted(monkeypatch, compliance_views, "matrix_figures")
    visitor = Client()
    with time_machine.travel(evening(date(2026, 11, 20)), tick=False):
        visitor.get(URL)
        earlier = visitor.get(URL + "&as_of=2026-10-02")
        assert overall(earlier) == recount(town, date(2026, 10, 2))
    assert len(computed) == 2
    with time_machine.travel(evening(date(2026, 11, 20)) + timedelta(hours=1)):
        visitor.get(URL)  # 21 November: the 20th's run, still noted
    assert len(computed) == 2


def test_a_later_day_asked_for_does_not_end_todays_run_either(town, monkeypatch):
    computed = counted(monkeypatch, compliance_views, "matrix_figures")
    visitor = Client()
    with time_machine.travel(evening(date(2026, 11, 20)), tick=False):
        visitor.get(URL)
        later = visitor.get(URL + "&year=2026&as_of=2026-12-30")
        assert overall(later) == recount(town, date(2026, 12, 30))
    assert len(computed) == 2
    with time_machine.travel(evening(date(2026, 11, 20)) + timedelta(hours=1)):
        visitor.get(URL)  # 21 November: the 20th's run, still noted
    assert len(computed) == 2


def test_a_publication_ends_the_run(
    town, monkeypatch, django_capture_on_commit_callbacks
):
    computed = counted(monkeypatch, compliance_views, "matrix_figures")
    visitor = Client()
    wenli = town.children.get()
    with time_machine.travel(evening(date(2026, 11, 20)), tick=False):
        visitor.get(URL)
        with django_capture_on_commit_callbacks(execute=True):
            DisclosureFactory(
                unit=wenli,
                item=compliance.Item.objects.get(),
                period="2026-10",
            )
    with time_machine.travel(evening(date(2026, 11, 21)), tick=False):
        page = visitor.get(URL)
        assert overall(page) == recount(town, date(2026, 11, 21))
    assert len(computed) == 2


@pytest.mark.parametrize("many", [False, True])
def test_a_spread_lifetime_never_outlives_the_change_it_names(many, monkeypatch):
    computed = []

    def keep_one(n):
        def compute(names=None):
            computed.append(n)
            return dict.fromkeys(names, n) if many else n

        if many:
            return caching.cached_many(
                {f"v{n}": [f"unit:u{n}"]}, compute, seconds=lambda: 30, spread=0.5
            )
        return caching.cached(
            f"v{n}", compute, scopes=[f"unit:u{n}"], seconds=lambda: 30, spread=0.5
        )

    for n in range(20):
        keep_one(n)
    now = caching.time.time()
    monkeypatch.setattr(caching.time, "time", lambda: now + 31)
    caching.reset_local()  # the shared cache's own expiry too
    for n in range(20):
        keep_one(n)
    assert len(computed) == 40  # each due after 30 s, none kept past it


def test_the_statistics_recount_only_the_on_time_shares_at_midnight(town, monkeypatch):
    from core import figures as registry

    collected = counted(monkeypatch, registry, "collect_parts")
    engine = counted(monkeypatch, compliance, "counts_by_unit")
    visitor = Client()
    with time_machine.travel(evening(date(2026, 11, 20)), tick=False):
        evening_page = visitor.get("/stats/?town=fengming")
    with time_machine.travel(evening(date(2026, 11, 20)) + timedelta(hours=1)):
        morning_page = visitor.get("/stats/?town=fengming")

    def on_time(page):
        return next(c for c in page.context["charts"] if c.key == "compliance-unit")

    assert "截至2026年11月20日" in on_time(evening_page).description
    assert "截至2026年11月21日" in on_time(morning_page).description
    assert on_time(morning_page).series == on_time(evening_page).series
    by_day = [kwargs.get("by_day") for _, kwargs in collected]
    # The counts once (the disclosures', the cases'), the shares each day.
    assert by_day == [False, False, True, True]
    assert len(engine) == 1  # the shares' tallies: the 20th's, still true
    assert morning_page.context["disclosure_total"] == 1


def test_hostile_names_come_out_inert_in_the_kept_table(town):
    """The table is marked safe after the day is put into its links: every
    name in it was escaped when it was rendered."""
    wenli = town.children.get()
    wenli.name = '<script>alert("x")</script>&村'
    wenli.save()
    category = compliance.Item.objects.get().category
    category.name = "<img src=x onerror=alert(1)>"
    category.save()
    with time_machine.travel(evening(date(2026, 11, 20)), tick=False):
        page = Client().get(URL)
    table = page.context["matrix_table"]
    assert "<script>" not in table and "<img" not in table
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;村" in table
    assert "&lt;img src=x onerror=alert(1)&gt;" in table
    assert "as_of=2026-11-20" in table
