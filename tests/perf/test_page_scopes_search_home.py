"""The scopes of the search page (the words it looks for) and of the home page
(its town).

Each page is kept through a change it does not show, wherever in the county,
and shows a change it does show at once, for a visitor and for a party
member; a 党内 row never reaches a visitor.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Item, Scope
from composition import search
from core.content import ANY
from disclosure.models import Disclosure
from feedback import kept_counts
from feedback.models import Submission
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [
    pytest.mark.django_db,
    # Pages read twice, the second a hit: not across midnight (a page is kept
    # no longer than midnight; one made in a day's last second is not). The
    # tests that set the clock themselves travel from there.
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

WORDS = "/search/?q=抗旱物资"


@pytest.fixture
def county(db):
    # The first town is the home page's (composition.views.home_unit).
    home_town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", parent=home_town)
    other_town = TownFactory(name="青山镇")
    far = UnitFactory(name="远山村", parent=other_town)
    # Made once: the catalog's changes stale every page.
    public, inner = ItemFactory(), ItemFactory(scope=Scope.INNER_PARTY)
    DisclosureFactory(unit=wenli, item=public, title="文理村财务收支")
    DisclosureFactory(unit=far, item=public, title="远山村财务收支")
    return SimpleNamespace(
        home_town=home_town,
        wenli=wenli,
        other_town=other_town,
        far=far,
        public=public,
        inner=inner,
    )


@pytest.fixture
def readers(county):
    member = Client()
    member.force_login(PartyMemberFactory(username="wenli_a", branch_of=county.wenli))
    return {"visitor": Client(), "member": member}


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def cache_state(response) -> str:
    return response.headers.get("X-Page-Cache", "")


def publish(capture, unit, title, *, item=None, **fields):
    with capture():
        return DisclosureFactory(
            unit=unit,
            item=item or Item.objects.filter(scope=Scope.PUBLIC).get(),
            title=title,
            **fields,
        )


def kept(client, url) -> str:
    """The page, made and then served from the cache."""
    made = client.get(url)
    assert made.status_code == 200, url
    assert cache_state(client.get(url)) == "hit", url
    return made.text


# Search ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_search_shows_a_matching_publication_in_another_town_at_once(
    county, readers, who, capture
):
    client = readers[who]
    assert "发放名单" not in kept(client, WORDS)
    publish(capture, county.far, "远山村森林防火检查")  # other words: kept
    publish(capture, county.wenli, "文理村村道维护")
    assert cache_state(client.get(WORDS)) == "hit"
    row = publish(capture, county.far, "远山村抗旱物资发放名单")
    response = client.get(WORDS)
    assert cache_state(response) == "miss"
    assert "发放名单" in response.text
    assert cache_state(client.get(WORDS)) == "hit"
    with capture():
        row.status, row.withdrawal_reason = Disclosure.Status.WITHDRAWN, "有误"
        row.save()
    assert "发放名单" not in client.get(WORDS).text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_search_follows_a_row_whose_text_gains_or_loses_its_words(
    county, readers, who, capture
):
    client = readers[who]
    leaving = DisclosureFactory(
        unit=county.far, item=county.public, title="远山村抗旱物资清单"
    )
    coming = DisclosureFactory(unit=county.far, item=county.public, title="远山村通知")
    text = kept(client, WORDS)
    assert "抗旱物资</mark>清单" in text and "远山村通知" not in text
    with capture():
        leaving.title = "远山村救灾清单"
        leaving.save()
    assert "清单" not in client.get(WORDS).text
    with capture():
        coming.body = "本月发放抗旱物资，请各户到村委会领取。"
        coming.save()
    response = client.get(WORDS)
    assert cache_state(response) == "miss"
    assert "远山村通知" in response.text
    with capture():
        coming.delete()
    assert "远山村通知" not in client.get(WORDS).text


def test_a_matching_inner_party_publication_reaches_members_never_visitors(
    county, readers, capture
):
    visitor, member = readers["visitor"], readers["member"]
    for client in (visitor, member):
        kept(client, WORDS)
    publish(capture, county.far, "党内抗旱物资调拨通报", item=county.inner)
    assert "调拨通报" in member.get(WORDS).text
    for _ in range(2):  # made and kept: never the member's copy
        response = visitor.get(WORDS)
        assert response.status_code == 200
        assert "调拨通报" not in response.text


def test_an_item_made_inner_party_leaves_the_visitors_search(county, capture):
    client = Client()
    publish(capture, county.far, "远山村抗旱物资发放")
    assert "抗旱物资</mark>发放" in kept(client, WORDS)
    with capture():
        county.public.scope = Scope.INNER_PARTY
        county.public.save()
    assert "发放" not in client.get(WORDS).text


def counted_cases(client, url: str) -> list[str]:
    """The statements that counted the 回音壁's cases for this page."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries.captured_queries if COUNTING in q["sql"]]


COUNTING = 'COUNT("feedback_submission"."id") FILTER'


def test_an_item_made_inner_party_recounts_no_case_and_stales_the_search(
    county, capture
):
    # The index's change names the search pages (search.INDEX), not the
    # global version: the wall's figures, kept per unit, are not counted
    # again for every town (about half a second at county scale).
    client = Client()
    SubmissionFactory(unit=county.far, accepted=True, title="抗旱物资什么时候发")
    publish(capture, county.far, "远山村抗旱物资发放")
    assert "抗旱物资</mark>发放" in kept(client, WORDS)
    kept(client, "/feedback/")
    with capture():
        county.public.scope = Scope.INNER_PARTY
        county.public.save()
    assert counted_cases(client, "/feedback/") == []
    assert "抗旱物资</mark>发放" not in client.get(WORDS).text


def test_a_rebuilt_index_stales_every_kept_page_and_figure(county, capture):
    # A rebuild follows a bulk load or a restore (README): nothing kept may
    # be of the data there is, the wall's counts included.
    client = Client()
    SubmissionFactory(unit=county.far, accepted=True, title="抗旱物资什么时候发")
    row = publish(capture, county.far, "远山村抗旱物资发放")
    assert "抗旱物资</mark>发放" in kept(client, WORDS)
    kept(client, "/feedback/")
    kept(client, "/search/?q=物资")  # a short word: may show anything
    # A title changed behind the index's back (a bulk fix, a restore): the
    # rebuild is what shows it. A case too: the wall's figures, whose units'
    # counts are kept in the database (feedback.kept_counts), are counted
    # again by the rebuild itself, so the first visitor counts nothing.
    Disclosure.objects.filter(pk=row.pk).update(title="远山村抗旱物资领取")
    before = kept_counts.cases("wall").summary()
    hidden = Submission.objects.filter(unit=county.far)
    assert hidden.update(status="not_published", hidden_reason="重复提交")
    with capture():
        search.rebuild()
    with CaptureQueriesContext(connection) as queries:
        after = client.get("/feedback/").context["summary"]
    assert not [q for q in queries.captured_queries if COUNTING in q["sql"]]
    assert after == kept_counts.cases("wall").summary() != before
    assert "领取" in client.get(WORDS).text
    assert "领取" in client.get("/search/?q=物资").text


def test_an_answer_holding_the_words_shows_on_the_search_page(county, capture):
    client = Client()
    case = SubmissionFactory(
        unit=county.far, accepted=True, title="路灯坏了", text="村口路灯不亮。"
    )
    assert "路灯坏了" not in kept(client, WORDS)
    with capture():
        case.status = "answered"
        case.answer_text = "抗旱物资已发放，路灯下周修好。"
        case.answered_at = timezone.now()
        case.save()
    response = client.get(WORDS)
    assert cache_state(response) == "miss"
    assert "路灯坏了" in response.text


def test_a_latin_word_is_found_whatever_its_case(county, capture):
    client = Client()
    url = "/search/?q=fm-abc"
    assert "通知" not in kept(client, url)
    publish(capture, county.far, "FM-ABC 号通知")
    assert "号通知" in client.get(url).text


def test_a_short_word_follows_every_publication(county, capture):
    # A word of two characters scans the newest items, which any publication
    # shifts.
    client = Client()
    kept(client, "/search/?q=物资")
    publish(capture, county.far, "远山村森林防火检查")
    assert cache_state(client.get("/search/?q=物资")) == "miss"


def test_the_form_alone_follows_no_row(county, capture):
    client = Client()
    for url in ("/search/", "/search/?q=+"):
        kept(client, url)
    publish(capture, county.far, "远山村抗旱物资发放名单")
    for url in ("/search/", "/search/?q=+"):
        assert cache_state(client.get(url)) == "hit", url


def test_a_draft_holding_the_words_stales_no_search_page(county, capture):
    client = Client()
    kept(client, WORDS)
    with capture():
        draft = DisclosureFactory(
            unit=county.far,
            item=county.public,
            title="抗旱物资草稿",
            status=Disclosure.Status.DRAFT,
            published_at=None,
        )
        draft.title = "抗旱物资草稿（改）"
        draft.save()
    assert cache_state(client.get(WORDS)) == "hit"


@pytest.mark.parametrize(
    "query",
    [
        "抗" * 5000,
        "抗旱\x00物资",
        "\u202e抗旱物资",
        "é" * 300,
        "ǅǅǅ",
        "\ufeff\ufeff\ufeff",
    ],
)
def test_hostile_words_give_no_error(county, query):
    response = Client().get("/search/", {"q": query})
    assert response.status_code in (200, 400)


def test_the_scope_of_a_query_is_in_the_scopes_of_every_text_holding_it():
    pairs = [
        ("危房改造", "2024年危房改造补助名单公示"),
        ("日常维护 维护记录", "村道日常维护记录"),
        ("fm-abc", "索引号 FM-ABC-2024"),
        ("SAB", "ſab"),  # PostgreSQL's UPPER folds ſ to S
        ("ΑΒΓ abc", "ABC αβγ"),  # no namable trigram in the first: the second's
    ]
    for query, text in pairs:
        scope, index = search.query_scopes(query)
        assert index == search.INDEX, query
        assert scope != ANY, query
        assert scope in search.text_scopes(text), (query, text)
    assert search.query_scopes("物资") == [ANY]  # short: the newest items
    assert search.query_scopes("ééé") == [ANY]  # folded unlike the databases
    assert search.query_scopes("") == search.query_scopes("  ") == []


# Home -------------------------------------------------------------------------


def figure(text: str, name: str) -> str:
    return re.search(rf'id="figure-{name}"><dt>[^<]*</dt><dd>(\d+)</dd>', text)[1]


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_home_is_kept_through_another_towns_changes_and_shows_its_own(
    county, readers, who, capture
):
    client = readers[who]
    kept(client, "/")
    publish(capture, county.far, "远山村新公开")
    with capture():
        SubmissionFactory(unit=county.far, accepted=True).save()
    assert cache_state(client.get("/")) == "hit"
    publish(capture, county.wenli, "文理村新公开")
    response = client.get("/")
    assert cache_state(response) == "miss"
    assert "文理村新公开" in response.text
    publish(capture, county.home_town, "凤鸣镇新公开")
    assert "凤鸣镇新公开" in client.get("/").text


def test_home_counts_a_new_case_in_its_town_at_once(county, capture):
    client = Client()
    before = int(figure(kept(client, "/"), "feedback"))
    with capture():
        SubmissionFactory(unit=county.far)  # another town's: kept
    assert cache_state(client.get("/")) == "hit"
    with capture():
        SubmissionFactory(unit=county.wenli)  # new, not yet accepted: counted
    response = client.get("/")
    assert cache_state(response) == "miss"
    assert int(figure(response.text, "feedback")) == before + 1


def test_home_shows_an_inner_party_publication_to_members_only(
    county, readers, capture
):
    visitor, member = readers["visitor"], readers["member"]
    for client in (visitor, member):
        kept(client, "/")
    publish(capture, county.wenli, "文理村党内通报", item=county.inner)
    assert "文理村党内通报" in member.get("/").text
    for _ in range(2):
        assert "文理村党内通报" not in visitor.get("/").text


def test_a_publication_elsewhere_in_a_new_year_moves_the_homes_figures(county, capture):
    old = timezone.now().replace(year=2011)
    Disclosure.objects.update(published_at=old)  # no event: before any page
    client = Client()
    assert "2011年政务公开" in kept(client, "/")
    publish(
        capture,
        county.far,
        "远山村本年公开",
        published_at=timezone.now() - timedelta(hours=1),
    )
    response = client.get("/")
    assert cache_state(response) == "miss"
    assert f"{timezone.localdate().year}年政务公开" in response.text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_kept_matches_follow_a_matching_publication_without_the_page_cache(
    county, readers, who, capture, values_only
):
    client = readers[who]
    user = AnonymousUser() if who == "visitor" else User.objects.get(username="wenli_a")
    assert "发放名单" not in client.get(WORDS).text
    publish(capture, county.far, "远山村森林防火检查")
    with CaptureQueriesContext(connection) as queries:
        search.search("抗旱物资", user=user)
    # Kept: no look into the index (a member's branch may be read).
    assert not any("portal_searchentry" in q["sql"] for q in queries.captured_queries)
    publish(capture, county.far, "远山村抗旱物资发放名单")
    assert "发放名单" in client.get(WORDS).text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_kept_matches_outlive_a_quiet_hour_and_midnight(
    county, readers, who, capture, values_only
):
    """Kept until an entry holding the words changes or something scheduled
    comes due (`caching.until_scheduled`), not a minute: what is found does
    not depend on the day. A matching publication set for 09:00 the next
    day shows then."""
    from core import caching

    client = readers[who]
    zone = timezone.get_current_timezone()
    morning = timezone.now().astimezone(zone).replace(hour=10, minute=0, second=0)
    due = morning + timedelta(days=1, hours=-1)
    with time_machine.travel(morning, tick=False):
        publish(capture, county.far, "远山村抗旱物资次日公开", published_at=due)
        assert "次日公开" not in client.get(WORDS).text
    for later in (timedelta(hours=2), timedelta(hours=14, minutes=30)):
        with time_machine.travel(morning + later, tick=False):
            caching.reset_local()  # another worker: the shared cache only
            with CaptureQueriesContext(connection) as queries:
                assert "次日公开" not in client.get(WORDS).text
        ranked = [q for q in queries if "CASE WHEN" in q["sql"]]
        assert not ranked  # the matches kept: no look into the index
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert "次日公开" in client.get(WORDS).text


@pytest.mark.parametrize("cache", ["page_cache", "values_only"])
def test_a_scheduled_matching_publication_shows_when_due(
    county, capture, cache, request
):
    request.getfixturevalue(cache)
    client = Client()
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    with time_machine.travel(at, tick=False):
        publish(
            capture,
            county.far,
            "远山村抗旱物资定时公开",
            published_at=at + timedelta(hours=1),
        )
        assert "定时公开" not in client.get(WORDS).text
        assert "定时公开" not in client.get(WORDS).text
    with time_machine.travel(at + timedelta(hours=1, seconds=1), tick=False):
        assert "定时公开" in client.get(WORDS).text
