"""The anonymous page cache never leaks, and follows publication within its bound."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from catalog.models import Scope
from core import caching
from disclosure import services
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
    acting_for,
    staff_user,
)

pytestmark = [
    pytest.mark.django_db,
    # Pages read twice, the second a hit: not across midnight (a page is kept
    # no longer than midnight; one made in a day's last second is not). The
    # tests that set the clock themselves travel from there.
    pytest.mark.usefixtures("away_from_midnight"),
]

BOUND = 60


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = BOUND
    settings.VALUE_CACHE_SECONDS = BOUND
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def village(db):
    return UnitFactory(name="文理村", parent=TownFactory())


def public_pages(village, inner) -> list[str]:
    return [
        "/",
        "/boards/",
        f"/boards/{village.slug}/",
        "/disclosures/",
        f"/disclosures/?unit={village.slug}",
        f"/disclosures/{inner.pk}/",
        "/search/?q=党内通报会议",
        f"/catalog/{inner.item.code}/",
        "/feeds/latest/",
    ]


def test_inner_party_title_seen_by_a_party_member_never_reaches_a_visitor(
    party_client, village
):
    inner = DisclosureFactory(
        unit=village,
        item=ItemFactory(scope=Scope.INNER_PARTY),
        title="党内通报会议纪要甲",
    )
    DisclosureFactory(unit=village, title="村务公开财务收支")
    pages = public_pages(village, inner)
    for url in pages:
        party_client.get(url)
    assert "党内通报会议纪要甲" in party_client.get(f"/boards/{village.slug}/").text

    visitor = Client()
    for _ in range(2):  # the first fills the cache, the second is served from it
        for url in pages:
            response = visitor.get(url)
            assert "党内通报会议纪要甲" not in response.text, url
    assert visitor.get("/").headers["X-Page-Cache"] == "hit"


def test_logged_in_pages_are_neither_stored_into_nor_served_from_anonymous_copies(
    party_client, village
):
    """A member's pages are their audience's copies (tests/perf/
    test_audience_cache.py), never a visitor's, and never the other way."""
    DisclosureFactory(unit=village, title="村务公开财务收支")
    visitor = Client()
    visitor.get(f"/boards/{village.slug}/")  # stored for visitors
    response = party_client.get(f"/boards/{village.slug}/")
    assert response.headers["X-Page-Cache"] == "miss"  # not the visitor's copy
    assert party_client.get("/").headers["X-Page-Cache"] == "miss"
    assert visitor.get("/").headers["X-Page-Cache"] == "miss"


def test_the_feedback_form_with_its_token_is_never_cached(village):
    visitor = Client()
    first = visitor.get("/feedback/new/")
    second = visitor.get("/feedback/new/")
    assert "X-Page-Cache" not in second.headers
    assert 'name="token"' in first.text
    token = 'name="token" value="'
    assert first.text.split(token)[1][:40] != second.text.split(token)[1][:40]


def test_a_response_that_sets_a_cookie_is_not_stored(rf, village):
    from django.http import HttpResponse

    def view(request):
        response = HttpResponse("x")
        response.set_cookie("c", "1")
        return response

    middleware = caching.AnonymousPageCacheMiddleware(view)
    middleware(rf.get("/"))
    assert middleware(rf.get("/")).get("X-Page-Cache") is None


def test_each_text_size_step_is_served_from_one_copy_with_its_class(village):
    """The copy holds slots for the step (tests/perf/test_text_size_copies.py)."""
    assert Client().get("/").headers["X-Page-Cache"] == "miss"
    for step, html in [("1", 'class="elder"'), ("2", 'class="elder elder-xl"')]:
        elder = Client()
        elder.cookies["elder"] = step
        response = elder.get("/")
        assert response.headers["X-Page-Cache"] == "hit"
        assert html in response.text.split("<head>", 1)[0]
    # A value that is no step is the standard page, from the same entry.
    odd = Client()
    odd.cookies["elder"] = "7"
    response = odd.get("/")
    assert response.headers["X-Page-Cache"] == "hit"
    assert "elder" not in response.text.split("<body", 1)[0]


def test_publishing_shows_at_once_for_visitors(
    village, django_capture_on_commit_callbacks
):
    item = ItemFactory()
    reviewer = staff_user(username="reviewer", group="审核人")
    draft = DisclosureFactory(
        unit=village,
        item=item,
        title="新发布的村务公开",
        status=Disclosure.Status.APPROVED,
        published_at=None,
    )
    acting_for(reviewer, draft, "approve")
    visitor = Client()
    visitor.get(f"/boards/{village.slug}/")
    assert visitor.get(f"/boards/{village.slug}/").headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(draft, by=reviewer)
    response = visitor.get(f"/boards/{village.slug}/")
    assert "新发布的村务公开" in response.text

    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(draft, by=reviewer, reason="有误")
    assert "新发布的村务公开" not in visitor.get(f"/boards/{village.slug}/").text


def test_a_scheduled_publication_shows_within_the_cache_bound(village):
    now = timezone.now()
    DisclosureFactory(
        unit=village,
        title="定时发布的公开内容",
        published_at=now + timedelta(seconds=30),
    )
    visitor = Client()
    with time_machine.travel(now, tick=False):
        assert "定时发布的公开内容" not in visitor.get(f"/boards/{village.slug}/").text
        assert "定时发布的公开内容" not in visitor.get("/").text
    with time_machine.travel(now + timedelta(seconds=BOUND + 31), tick=False):
        assert "定时发布的公开内容" in visitor.get(f"/boards/{village.slug}/").text
        assert "定时发布的公开内容" in visitor.get("/").text


def test_board_answers_304_to_a_matching_etag_and_200_once_it_changes(
    village, django_capture_on_commit_callbacks
):
    DisclosureFactory(unit=village, title="村务公开财务收支")
    visitor = Client()
    first = visitor.get(f"/boards/{village.slug}/")
    etag = first.headers["ETag"]
    again = visitor.get(f"/boards/{village.slug}/", headers={"if-none-match": etag})
    assert again.status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=village, title="又一条公开")
    changed = visitor.get(f"/boards/{village.slug}/", headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert "又一条公开" in changed.text


@pytest.mark.parametrize(
    "url", ["/feeds/latest/", "/feeds/feedback/", "/feeds/boards/{slug}/"]
)
def test_feeds_answer_conditional_gets(village, url):
    DisclosureFactory(unit=village)
    url = url.format(slug=village.slug)
    visitor = Client()
    etag = visitor.get(url).headers["ETag"]
    assert visitor.get(url, headers={"if-none-match": etag}).status_code == 304


def test_board_etag_is_not_given_to_logged_in_visitors(party_client, village):
    assert "ETag" not in party_client.get(f"/boards/{village.slug}/").headers


def _publish_elsewhere(village, title):
    """What another server does: the row changes, the shared version moves on,
    and this process hears of it only by reading the version again."""
    DisclosureFactory(unit=village, title=title)
    cache.incr(caching.VERSION_KEY)


def test_a_publication_through_another_server_shows_within_the_version_recheck(
    settings, village
):
    settings.PAGE_CACHE_VERSION_SECONDS = 0.2
    visitor = Client()
    visitor.get(f"/boards/{village.slug}/")
    assert visitor.get(f"/boards/{village.slug}/").headers["X-Page-Cache"] == "hit"
    _publish_elsewhere(village, "另一台服务器发布的公开")
    time.sleep(0.25)
    response = visitor.get(f"/boards/{village.slug}/")
    assert response.headers["X-Page-Cache"] == "miss"
    assert "另一台服务器发布的公开" in response.text


def test_a_flushed_shared_cache_never_brings_back_an_old_local_copy(settings, village):
    settings.PAGE_CACHE_VERSION_SECONDS = 0.2
    visitor = Client()
    visitor.get(f"/boards/{village.slug}/")
    cache.clear()  # Redis flushed or restarted: the version starts again
    DisclosureFactory(unit=village, title="清空缓存后发布的公开")
    cache.clear()
    time.sleep(0.25)
    assert "清空缓存后发布的公开" in visitor.get(f"/boards/{village.slug}/").text


def test_local_copies_stay_within_their_byte_bound(settings):
    settings.PAGE_CACHE_LOCAL_BYTES = 10_000
    local = caching._Local()
    for n in range(50):
        local.put(f"k{n}", b"x" * 1000, expires=time.time() + 60, size=1000)
    assert local.size <= 10_000
    assert local.get("k49") is not None and local.get("k0") is None
    local.put("big", b"x" * 5000, expires=time.time() + 60, size=5000)
    assert local.get("big") is None  # larger than a quarter: not kept here
    local.put("old", b"x", expires=time.time() - 1, size=1)
    assert local.get("old") is None


def test_values_are_copies_each_caller_may_change():
    first = caching.cached("test-list", lambda: [1, 2])
    first.append(3)
    assert caching.cached("test-list", lambda: [9]) == [1, 2]


def test_a_party_first_notice_reaches_visitors_from_its_public_date(village):
    """先党内后党外: members read it on its publication day; a cached anonymous
    page shows it from its public date, within the cache bound."""
    now = timezone.now()
    DisclosureFactory(
        unit=village,
        item=ItemFactory(party_first_allowed=True),
        title="先党内后党外的工作要点",
        published_at=now - timedelta(hours=1),
        public_from=now + timedelta(days=7),
    )
    visitor = Client()
    member = Client()
    member.force_login(PartyMemberFactory())
    pages = [f"/boards/{village.slug}/", "/", "/disclosures/", "/feeds/latest/"]
    with time_machine.travel(now, tick=False):
        for url in pages:
            assert "先党内后党外的工作要点" not in visitor.get(url).text, url
        for url in pages[:-1]:  # feeds are written for the public
            assert "先党内后党外的工作要点" in member.get(url).text, url
    with time_machine.travel(now + timedelta(days=7, seconds=BOUND + 1), tick=False):
        for url in pages:
            assert "先党内后党外的工作要点" in visitor.get(url).text, url
