"""The audience page cache (logged-in members) and the scoped page versions.

An audience's copy never reaches another audience or a visitor; the name and
CSRF token in it are the requesting user's; a change stales its scopes' pages
only; a scoped page lives until its next scheduled change.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from catalog.models import Scope
from core import caching
from disclosure import services
from disclosure.models import Disclosure, PartyMembership
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    acting_for,
    staff_user,
)

pytestmark = [
    pytest.mark.django_db,
    # Pages read twice, the second a hit: not across midnight (a page is kept
    # no longer than midnight; one made in a day's last second is not). The
    # tests that set the clock themselves travel from there.
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

BRANCH_TITLE = "文理村党支部内部通报甲"
INNER_TITLE = "党内通报会议纪要乙"


@pytest.fixture
def units(db):
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    maoshan = UnitFactory(name="茅山村", parent=wenli.parent)
    DisclosureFactory(unit=wenli, title="村务公开财务收支")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.BRANCH), title=BRANCH_TITLE
    )
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title=INNER_TITLE
    )
    return wenli, maoshan


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pages(wenli) -> list[str]:
    branch = Disclosure.objects.get(title=BRANCH_TITLE)
    return [
        "/",
        f"/boards/{wenli.slug}/",
        f"/disclosures/{branch.pk}/",
        "/disclosures/",
    ]


def test_a_branch_title_never_reaches_another_audience(units):
    wenli, maoshan = units
    own = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    for url in pages(wenli):
        own.get(url)
    board = own.get(f"/boards/{wenli.slug}/")
    assert board.headers["X-Page-Cache"] == "hit"
    assert BRANCH_TITLE in board.text

    others = {
        "other branch": logged_in(
            PartyMemberFactory(username="maoshan_a", branch_of=maoshan)
        ),
        "no branch": logged_in(PartyMemberFactory(username="member_nb")),
        "resident": logged_in(UserFactory(username="resident")),
        "visitor": Client(),
    }
    for who, client in others.items():
        for _ in range(2):  # a miss that fills, then a hit
            for url in pages(wenli):
                assert BRANCH_TITLE not in client.get(url).text, (who, url)
    # 党内 items: every member, no resident, no visitor.
    for who in ("other branch", "no branch"):
        assert INNER_TITLE in others[who].get(f"/boards/{wenli.slug}/").text, who
    for who in ("resident", "visitor"):
        assert INNER_TITLE not in others[who].get(f"/boards/{wenli.slug}/").text, who


def test_a_members_page_never_reaches_a_visitor(units):
    wenli, _ = units
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    for url in pages(wenli):
        member.get(url)
        member.get(url)
    visitor = Client()
    for url in pages(wenli):
        response = visitor.get(url)
        assert INNER_TITLE not in response.text, url
        assert "wenli_a" not in response.text, url
        assert "csrfmiddlewaretoken" not in response.text, url


def tokens(text: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)


def test_a_members_name_and_token_never_reach_another_member(units):
    wenli, _ = units
    first = logged_in(PartyMemberFactory(username="wenli_first", branch_of=wenli))
    second_user = PartyMemberFactory(username="wenli_second", branch_of=wenli)
    second = Client(enforce_csrf_checks=True)
    second.force_login(second_user)
    url = f"/boards/{wenli.slug}/"
    mine = first.get(url)
    assert mine.headers["X-Page-Cache"] == "miss"
    assert "wenli_first" in mine.text and "@@fm-" not in mine.text
    theirs = second.get(url)
    assert theirs.headers["X-Page-Cache"] == "hit"
    assert "private" in theirs.headers["Cache-Control"]  # for no shared cache
    assert "wenli_second" in theirs.text
    assert "wenli_first" not in theirs.text and "@@fm-" not in theirs.text
    assert BRANCH_TITLE in theirs.text
    assert tokens(theirs.text) and not set(tokens(theirs.text)) & set(tokens(mine.text))
    # The filled-in token is the second member's own: its log-out form works.
    logout = second.post(
        "/accounts/logout/", {"csrfmiddlewaretoken": tokens(theirs.text)[0]}
    )
    assert logout.status_code in (200, 302)
    assert "wenli_second" not in second.get(url).text


def test_a_logged_out_user_gets_the_anonymous_page(units):
    wenli, _ = units
    user = PartyMemberFactory(username="wenli_a", branch_of=wenli)
    client = logged_in(user)
    url = f"/boards/{wenli.slug}/"
    client.get(url)
    assert INNER_TITLE in client.get(url).text
    client.logout()
    response = client.get(url)
    assert INNER_TITLE not in response.text and BRANCH_TITLE not in response.text
    assert "wenli_a" not in response.text
    assert "党员登录" in response.text


def test_each_text_size_step_is_served_from_the_audiences_one_copy(units):
    wenli, _ = units
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    assert member.get("/").headers["X-Page-Cache"] == "miss"
    for step, html in [("1", 'class="elder"'), ("2", 'class="elder elder-xl"')]:
        member.cookies["elder"] = step
        response = member.get("/")
        assert response.headers["X-Page-Cache"] == "hit"
        assert html in response.text.split("<head>", 1)[0]
        assert "@@fm-" not in response.text


def test_moving_a_member_to_another_branch_changes_the_audience(units):
    wenli, maoshan = units
    user = PartyMemberFactory(username="wenli_a", branch_of=wenli)
    client = logged_in(user)
    url = f"/boards/{wenli.slug}/"
    client.get(url)
    assert BRANCH_TITLE in client.get(url).text
    PartyMembership.objects.filter(user=user).update(
        branch=maoshan.organisations.branches().get()
    )
    # update() sends no signal: saving the row (as the admin does) does.
    PartyMembership.objects.get(user=user).save()
    assert BRANCH_TITLE not in client.get(url).text
    user.groups.clear()  # no longer a party member
    assert INNER_TITLE not in client.get(url).text


def test_staff_pages_are_never_cached(units):
    wenli, _ = units
    reviewer = logged_in(staff_user(username="reviewer", group="审核人"))
    for _ in range(2):
        response = reviewer.get(f"/boards/{wenli.slug}/")
        assert "X-Page-Cache" not in response.headers


def test_a_user_with_more_than_an_audiences_permissions_is_never_cached(units):
    from django.contrib.auth.models import Permission

    wenli, _ = units
    user = PartyMemberFactory(username="wenli_a", branch_of=wenli)
    user.user_permissions.add(Permission.objects.get(codename="view_submission"))
    client = logged_in(user)
    for _ in range(2):
        response = client.get(f"/boards/{wenli.slug}/")
        assert "X-Page-Cache" not in response.headers
        assert "wenli_a" in response.text


def test_a_shared_entry_past_its_expiry_is_not_served(units):
    wenli, _ = units
    visitor = Client()
    url = f"/boards/{wenli.slug}/"
    key = caching.page_key(visitor.get(url).wsgi_request)
    made, status, body, headers, _expires = cache.get(key)
    # Still in the shared cache, past its own expiry (a scheduled publication
    # due by this server's clock); another worker, without a local copy.
    cache.set(key, (made, status, body, headers, made - 1))
    caching.reset_local()
    assert visitor.get(url).headers["X-Page-Cache"] == "miss"


def test_a_publication_stales_its_units_pages_only(
    units, django_capture_on_commit_callbacks
):
    wenli, maoshan = units
    DisclosureFactory(unit=maoshan, title="茅山村的公开")
    reviewer = staff_user(username="reviewer", group="审核人")
    draft = DisclosureFactory(
        unit=wenli,
        title="新发布的村务公开",
        status=Disclosure.Status.APPROVED,
        published_at=None,
    )
    acting_for(reviewer, draft, "approve")
    visitor = Client()
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    for client in (visitor, member):
        for url in (f"/boards/{wenli.slug}/", f"/boards/{maoshan.slug}/", "/"):
            client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(draft, by=reviewer)
    for client in (visitor, member):
        response = client.get(f"/boards/{wenli.slug}/")
        assert response.headers["X-Page-Cache"] == "miss"
        assert "新发布的村务公开" in response.text
        assert "新发布的村务公开" in client.get("/").text
        other = client.get(f"/boards/{maoshan.slug}/")
        assert other.headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(draft, by=reviewer, reason="有误")
    for client in (visitor, member):
        assert "新发布的村务公开" not in client.get(f"/boards/{wenli.slug}/").text
        assert "新发布的村务公开" not in client.get("/").text


def test_editing_a_draft_stales_no_page(units, django_capture_on_commit_callbacks):
    wenli, _ = units
    item = ItemFactory()  # the catalog's changes stale every page
    visitor = Client()
    url = f"/boards/{wenli.slug}/"
    visitor.get(url)
    visitor.get("/")
    with django_capture_on_commit_callbacks(execute=True):
        draft = DisclosureFactory(
            unit=wenli, item=item, status=Disclosure.Status.DRAFT, published_at=None
        )
        draft.title = "草稿改了标题"
        draft.save()
    assert visitor.get(url).headers["X-Page-Cache"] == "hit"
    assert visitor.get("/").headers["X-Page-Cache"] == "hit"


def test_a_scoped_page_lives_until_the_next_scheduled_publication(units):
    wenli, _ = units
    now = timezone.now()
    visitor = Client()
    url = f"/boards/{wenli.slug}/"
    at = now.replace(hour=10, minute=0)  # far from midnight
    DisclosureFactory(
        unit=wenli, title="十二点发布的公开", published_at=at + timedelta(hours=2)
    )
    with time_machine.travel(at, tick=False):
        assert "十二点发布的公开" not in visitor.get(url).text
    with time_machine.travel(at + timedelta(minutes=90), tick=False):
        response = visitor.get(url)  # past 60 s, before the publication: kept
        assert response.headers["X-Page-Cache"] == "hit"
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        assert "十二点发布的公开" in visitor.get(url).text


def test_a_page_showing_anything_lives_until_any_change(
    units, django_capture_on_commit_callbacks
):
    from tests.factories import SubmissionFactory

    wenli, _ = units
    visitor = Client()
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    with time_machine.travel(at, tick=False):
        visitor.get("/")
    with time_machine.travel(at + timedelta(minutes=30), tick=False):
        assert visitor.get("/").headers["X-Page-Cache"] == "hit"
        with django_capture_on_commit_callbacks(execute=True):
            SubmissionFactory(unit=wenli)  # a new case: counted on the home page
        assert visitor.get("/").headers["X-Page-Cache"] == "miss"


def test_a_pending_message_bypasses_the_audience_cache(units, rf):
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage

    wenli, _ = units
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    member.get("/")
    member.get("/")
    member.cookies["messages"] = CookieStorage(rf.get("/"))._encode(
        [Message(25, "已保存设置")]
    )
    response = member.get("/")
    assert "X-Page-Cache" not in response.headers
    assert "已保存设置" in response.text
    del member.cookies["messages"]
    response = member.get("/")
    assert response.headers["X-Page-Cache"] == "hit"
    assert "已保存设置" not in response.text


def test_a_kept_next_change_that_came_due_is_worked_out_again(units):
    """The county-wide next scheduled change is kept as a value; once it came
    due, pages are stored again until the one after it, not left uncached."""
    wenli, _ = units
    at = timezone.now().replace(hour=10, minute=0)
    DisclosureFactory(
        unit=wenli, title="定时甲", published_at=at + timedelta(seconds=30)
    )
    DisclosureFactory(unit=wenli, title="定时乙", published_at=at + timedelta(hours=3))
    visitor = Client()
    with time_machine.travel(at, tick=False):
        assert "定时甲" not in visitor.get("/").text
    with time_machine.travel(at + timedelta(seconds=31), tick=False):
        response = visitor.get("/")
        assert response.headers["X-Page-Cache"] == "miss"
        assert "定时甲" in response.text
        assert visitor.get("/").headers["X-Page-Cache"] == "hit"
    with time_machine.travel(at + timedelta(hours=3, seconds=1), tick=False):
        assert "定时乙" in visitor.get("/").text
