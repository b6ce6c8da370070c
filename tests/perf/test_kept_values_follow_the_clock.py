"""Kept values inside kept pages: a value that a page reads (the list's count,
its period choices) must not outlive what it counts. A page kept until a
scheduled publication comes due is made again then; if it read a value kept
from before, the stale figure would be kept with it until the next change
(hours). And a row moved to another period changes the count of the period
it left."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from disclosure.models import Disclosure
from tests.factories import DisclosureFactory, ItemFactory, TownFactory, UnitFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache")]


@pytest.fixture
def wenli(db):
    wenli = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    item = ItemFactory()
    for n in range(2):
        DisclosureFactory(unit=wenli, item=item, title=f"文理村公开{n}")
    return wenli


def count_shown(text: str) -> str:
    start = text.index("共 ")
    return text[start : text.index("条", start) + 1]


@pytest.mark.parametrize("url", ["/disclosures/?unit=wenli", "/disclosures/"])
def test_the_lists_count_follows_a_publication_coming_due(wenli, url):
    at = timezone.now().replace(hour=10, minute=0, second=0)  # far from midnight
    due = at + timedelta(hours=2)
    DisclosureFactory(
        unit=wenli, item=ItemFactory(), title="十二点发布的公开", published_at=due
    )
    visitor = Client()
    with time_machine.travel(due - timedelta(seconds=30), tick=False):
        assert count_shown(visitor.get(url).text) == "共 2 条"
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        text = visitor.get(url).text
        assert "十二点发布的公开" in text
        assert count_shown(text) == "共 3 条"
    with time_machine.travel(due + timedelta(minutes=10), tick=False):
        assert count_shown(visitor.get(url).text) == "共 3 条"


def test_the_period_choices_follow_a_new_period_coming_due(wenli):
    at = timezone.now().replace(hour=10, minute=0, second=0)
    due = at + timedelta(hours=2)
    DisclosureFactory(
        unit=wenli, item=ItemFactory(), period="2019-Q4", published_at=due
    )
    url = f"/disclosures/?unit={wenli.slug}"
    visitor = Client()
    with time_machine.travel(due - timedelta(seconds=30), tick=False):
        assert 'value="2019-Q4"' not in visitor.get(url).text
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert 'value="2019-Q4"' in visitor.get(url).text
    with time_machine.travel(due + timedelta(minutes=10), tick=False):
        assert 'value="2019-Q4"' in visitor.get(url).text


def test_a_periods_count_follows_a_row_moved_to_another_year(
    wenli, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 0  # the value alone
    url = "/disclosures/?period=2011-09"
    visitor = Client()
    assert count_shown(visitor.get(url).text) == "共 2 条"
    row = Disclosure.objects.get(title="文理村公开0")
    with django_capture_on_commit_callbacks(execute=True):
        row.period = "2012-01"
        row.save()
    text = visitor.get(url).text
    assert "文理村公开0" not in text
    assert count_shown(text) == "共 1 条"


def test_the_years_with_data_follow_a_publication_coming_due(wenli):
    """The compliance and statistics pages' years (and their page keys, from
    disclosure.page_scopes.compliance_facts) read the publication span: a
    first publication of a new year coming due moves it."""
    from datetime import datetime

    from disclosure import compliance

    zone = timezone.get_current_timezone()
    new_year = datetime(2031, 1, 1, 0, 0, 30, tzinfo=zone)
    Disclosure.objects.update(published_at=new_year - timedelta(days=3))
    DisclosureFactory(unit=wenli, item=ItemFactory(), published_at=new_year)
    with time_machine.travel(new_year - timedelta(seconds=20), tick=False):
        assert compliance.years_with_data()[0] == 2030
    with time_machine.travel(new_year + timedelta(seconds=1), tick=False):
        assert compliance.years_with_data()[0] == 2031


def test_the_countys_statistics_follow_a_publication_coming_due(wenli, settings):
    from django.contrib.auth.models import AnonymousUser

    from composition import stats

    at = timezone.now().replace(hour=10, minute=0, second=0)
    due = at + timedelta(hours=2)
    DisclosureFactory(unit=wenli, item=ItemFactory(), published_at=due)
    year = due.year
    with time_machine.travel(due - timedelta(seconds=20), tick=False):
        stats.figures(AnonymousUser(), year=year)
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        kept = stats.figures(AnonymousUser(), year=year)
        settings.VALUE_CACHE_SECONDS = 0
        assert kept == stats.figures(AnonymousUser(), year=year)


def test_the_next_scheduled_change_is_worked_out_once_and_kept_until_due(
    wenli, monkeypatch, django_capture_on_commit_callbacks
):
    """caching.next_due: one request asks for it for each value it keeps
    and its page's lifetime asks from VALUE_CACHE_SECONDS before; the first
    answer serves the rest until it comes due or a save names the scopes,
    and a question from earlier still is answered from the data."""
    from core import caching, content

    calls = []
    original = content.next_change

    def counting(scopes, after):
        calls.append(after)
        return original(scopes, after)

    monkeypatch.setattr(content, "next_change", counting)
    at = timezone.now().replace(hour=10, minute=0, second=0)
    due = at + timedelta(hours=2)
    scopes = ["unit:wenli"]
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=wenli, item=ItemFactory(), published_at=due)
    with time_machine.travel(at, tick=False):
        assert caching.next_due(scopes, at) == due
        assert caching.next_due(scopes, at + timedelta(minutes=1)) == due
        assert caching.next_due(scopes, at - timedelta(seconds=60)) == due
        assert len(calls) == 1
        # From before it was worked out: a change due in between would be
        # missed by the kept answer, so the data is asked.
        assert caching.next_due(scopes, at - timedelta(seconds=61)) == due
        assert len(calls) == 2
        # A row scheduled sooner, saved: its unit's version moved.
        sooner = at + timedelta(hours=1)
        with django_capture_on_commit_callbacks(execute=True):
            DisclosureFactory(unit=wenli, item=ItemFactory(), published_at=sooner)
        assert caching.next_due(scopes, at) == sooner
    # Once due, the one after it.
    with time_machine.travel(sooner + timedelta(seconds=1), tick=False):
        assert caching.next_due(scopes, sooner + timedelta(seconds=1)) == due
