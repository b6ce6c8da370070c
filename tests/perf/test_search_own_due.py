"""A search page lives until an entry holding its words comes due, not until
the county's next scheduled publication (composition/search.py `own_due`).

Its words' bucket is a county-wide scope, so by its scopes alone a search
page and its kept matches ended at every scheduled publication anywhere
(some 25 a day at county scale). Each test keeps a page, lets the clock
pass scheduled changes, and checks that the page is kept through those
that hold none of its words and shows, for every reader, each one that
does: published at its time, rescheduled, given the words later, public
after its party-first days.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Item
from composition import search
from core import caching
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

WORDS = "/search/?q=抗旱物资"
FOUND = "发放名单"


@pytest.fixture
def county(db):
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", parent=town)
    far = UnitFactory(name="远山村", parent=TownFactory(name="青山镇"))
    ItemFactory()
    DisclosureFactory(unit=wenli, item=Item.objects.get(), title="文理村抗旱物资清单")
    return SimpleNamespace(wenli=wenli, far=far)


@pytest.fixture
def readers(county):
    member = Client()
    member.force_login(PartyMemberFactory(username="wenli_a", branch_of=county.wenli))
    return {"visitor": Client(), "member": member}


@pytest.fixture
def ten():
    """10:00 local today: hours of the day ahead, none across midnight."""
    return timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)


def publish(changed, unit, title, **fields):
    with changed():
        return DisclosureFactory(
            unit=unit, item=Item.objects.get(), title=title, **fields
        )


def other_words_at_half_past(changed, county, ten):
    """A publication elsewhere, of other words, set for 10:30."""
    return publish(
        changed,
        county.far,
        "远山村森林防火检查",
        published_at=ten + timedelta(minutes=30),
    )


def state(response) -> str:
    return response.headers.get("X-Page-Cache", "")


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_search_page_outlives_scheduled_publications_of_other_words(
    county, readers, who, changed, ten
):
    client = readers[who]
    with at(ten):
        other_words_at_half_past(changed, county, ten)
        publish(
            changed,
            county.wenli,
            "文理村村道维护",
            published_at=ten + timedelta(hours=2),
        )
        publish(
            changed,
            county.far,
            f"远山村抗旱物资{FOUND}",
            published_at=ten + timedelta(hours=3),
        )
        assert FOUND not in client.get(WORDS).text
        assert state(client.get(WORDS)) == "hit"
    # Past the two publications of other words: the same copy.
    with at(ten + timedelta(hours=2, minutes=1)):
        caching.reset_local()  # another worker: the shared cache only
        response = client.get(WORDS)
        assert state(response) == "hit"
        assert FOUND not in response.text
    # A second past the one holding the words: made again, with it.
    with at(ten + timedelta(hours=3, seconds=1)):
        response = client.get(WORDS)
        assert state(response) == "miss"
        assert FOUND in response.text


@pytest.mark.usefixtures("page_cache")
def test_before_the_change_a_scheduled_publication_elsewhere_ended_it(
    county, changed, ten
):
    """What the change is for: a short word (its scope "any") still ends
    at the county's next scheduled publication, whatever its words."""
    client = Client()
    with at(ten):
        other_words_at_half_past(changed, county, ten)
        client.get("/search/?q=抗旱")
        assert state(client.get("/search/?q=抗旱")) == "hit"
    with at(ten + timedelta(minutes=31)):
        assert state(client.get("/search/?q=抗旱")) == "miss"


def given_the_words(row, ten):
    row.title = f"远山村抗旱物资{FOUND}"


def rescheduled_earlier(row, ten):
    row.published_at = ten + timedelta(hours=1)


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("who", ["visitor", "member"])
@pytest.mark.parametrize(
    "title, change",
    [
        ("远山村森林防火检查", given_the_words),  # due at 11:00 all along
        (f"远山村抗旱物资{FOUND}", rescheduled_earlier),  # from 15:00
    ],
)
def test_a_scheduled_row_changed_after_the_page_was_kept_shows_at_its_time(
    county, readers, who, changed, ten, title, change
):
    """Saved after the page and its next change were kept: the save bumps
    the words' bucket, so the new time is looked for again."""
    client = readers[who]
    published_at = ten + timedelta(hours=1 if change is given_the_words else 5)
    with at(ten):
        row = publish(changed, county.far, title, published_at=published_at)
        client.get(WORDS)
        assert state(client.get(WORDS)) == "hit"
    with at(ten + timedelta(minutes=5)):
        with changed():
            change(row, ten)
            row.save()
        assert FOUND not in client.get(WORDS).text  # not due yet
    with at(ten + timedelta(hours=1, seconds=1)):
        caching.reset_local()  # another worker: the shared cache only
        assert FOUND in client.get(WORDS).text


@pytest.mark.usefixtures("page_cache")
def test_a_party_first_row_reaches_visitors_at_its_public_date(
    county, readers, changed, ten
):
    """先党内后党外: published now, public two hours later. Members find it
    at once; the visitors' copy, kept meanwhile, is made again at its public
    date."""
    with at(ten):
        publish(
            changed,
            county.far,
            f"远山村抗旱物资{FOUND}",
            published_at=ten - timedelta(hours=1),
            public_from=ten + timedelta(hours=2),
        )
        assert FOUND in readers["member"].get(WORDS).text
        assert FOUND not in readers["visitor"].get(WORDS).text
        assert state(readers["visitor"].get(WORDS)) == "hit"
    with at(ten + timedelta(hours=1)):
        assert state(readers["visitor"].get(WORDS)) == "hit"
    with at(ten + timedelta(hours=2, seconds=1)):
        caching.reset_local()
        assert FOUND in readers["visitor"].get(WORDS).text


@pytest.mark.usefixtures("values_only")
@pytest.mark.parametrize("who", ["visitor", "member"])
def test_kept_matches_outlive_a_scheduled_publication_of_other_words(
    county, readers, who, changed, ten
):
    """Without the page cache (a member's page not kept, a filter): the
    matches are kept past a scheduled publication of other words, and read
    again when one holding the words comes due."""
    user = AnonymousUser() if who == "visitor" else User.objects.get(username="wenli_a")
    with at(ten):
        other_words_at_half_past(changed, county, ten)
        publish(
            changed,
            county.far,
            f"远山村抗旱物资{FOUND}",
            published_at=ten + timedelta(hours=2),
        )
        first = search.search("抗旱物资", user=user).ids
    with at(ten + timedelta(minutes=31)):
        caching.reset_local()
        with CaptureQueriesContext(connection) as queries:
            assert search.search("抗旱物资", user=user).ids == first
        assert not [q for q in queries if "CASE WHEN" in q["sql"]]
    with at(ten + timedelta(hours=2, seconds=1)):
        assert FOUND in readers[who].get(WORDS).text


def test_the_next_entry_due_is_looked_for_within_a_page_lifetime(
    county, changed, ten, settings
):
    """`next_visible`: the first matching entry to come due, any reader's,
    within PAGE_CACHE_MAX_SECONDS (the span's end if none): a withdrawn
    one, one without every word and one already visible count for nothing."""
    settings.PAGE_CACHE_MAX_SECONDS = 86400
    terms = search.parse_terms("抗旱物资 名单")
    with at(ten):
        publish(
            changed, county.far, "抗旱物资名单", published_at=ten + timedelta(hours=4)
        )
        publish(
            changed, county.far, "抗旱物资清单", published_at=ten + timedelta(hours=1)
        )
        publish(
            changed, county.far, "抗旱物资名单", published_at=ten - timedelta(hours=1)
        )
        publish(
            changed,
            county.far,
            "抗旱物资名单（撤回）",
            published_at=ten + timedelta(hours=2),
            status="withdrawn",
            withdrawal_reason="有误",
        )
        publish(
            changed,
            county.far,
            "抗旱物资名单（先党内）",
            published_at=ten - timedelta(hours=1),
            public_from=ten + timedelta(hours=3),
        )
        assert search.next_visible(terms, ten) == ten + timedelta(hours=3)
        assert search.next_visible(terms, ten + timedelta(hours=3)) == ten + timedelta(
            hours=4
        )
        later = ten + timedelta(hours=4)
        assert search.next_visible(terms, later) == later + timedelta(days=1)
