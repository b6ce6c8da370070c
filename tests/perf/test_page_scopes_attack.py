"""Attacks on the page scopes (tests/perf/test_page_scopes.py): a change that
does not show on a page kept under a precise scope, and keys a visitor can
make up.

Each test reads a page as a visitor or a party member of a branch, makes a
change the page shows, and reads it again through the cache.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from catalog.models import Item
from core import caching
from disclosure import page_scopes
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 60
    settings.VALUE_CACHE_SECONDS = 60
    cache.clear()
    caching.reset_local()
    page_scopes.forget_slugs()
    yield
    cache.clear()
    caching.reset_local()
    page_scopes.forget_slugs()


@pytest.fixture
def units(db):
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    maoshan = UnitFactory(name="茅山村", parent=wenli.parent)
    item = ItemFactory()
    DisclosureFactory(unit=wenli, item=item, title="文理村财务收支")
    DisclosureFactory(unit=maoshan, item=item, title="茅山村财务收支")
    return wenli, maoshan


@pytest.fixture
def readers(units):
    wenli, _ = units
    member = Client()
    member.force_login(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    return {"visitor": Client(), "member": member}


def item():
    return Item.objects.get()


def cache_state(response) -> str:
    return response.headers.get("X-Page-Cache", "")


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_scheduled_new_period_shows_though_its_choices_were_kept_just_before(
    units, readers, who
):
    """The period choices are a kept value (VALUE_CACHE_SECONDS): read a few
    seconds before a row brings a new period, they must not be stored again
    in a page that outlives the row's publication."""
    wenli, maoshan = units
    client = readers[who]
    url = f"/disclosures/?unit={wenli.slug}"
    due = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    DisclosureFactory(unit=maoshan, item=item(), period="2019-Q4", published_at=due)
    with time_machine.travel(due - timedelta(seconds=10), tick=False):
        assert 'value="2019-Q4"' not in client.get(url).text
    with time_machine.travel(due + timedelta(seconds=5), tick=False):
        client.get(url)
    with time_machine.travel(due + timedelta(minutes=5), tick=False):
        assert 'value="2019-Q4"' in client.get(url).text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_scheduled_publication_in_a_new_year_shows_on_compliance(units, readers, who):
    """The compliance pages' years come from a kept value too."""
    wenli, maoshan = units
    client = readers[who]
    url = f"/compliance/{maoshan.slug}/"
    now = timezone.now()
    due = now.replace(
        year=now.year + 1, month=1, day=1, hour=10, minute=0, second=0, microsecond=0
    )
    DisclosureFactory(unit=wenli, item=item(), published_at=due)
    with time_machine.travel(due - timedelta(seconds=10), tick=False):
        assert f">{due.year}</a>" not in client.get(url).text
    with time_machine.travel(due + timedelta(seconds=5), tick=False):
        client.get(url)
    with time_machine.travel(due + timedelta(minutes=5), tick=False):
        assert f">{due.year}</a>" in client.get(url).text
