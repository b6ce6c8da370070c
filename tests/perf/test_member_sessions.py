"""A party member's cached page needs no SQL, and Django's guarantees of a
log-in still hold (core/audiences.py).

The session comes from the cache (core/sessions.py, cached_db) and the
audience and name from the session, without loading the user; each change
that ends a log-in or changes what it may read ends the old session's
cached pages at once: a
password change, deactivation, staff flags, permissions, groups, a deleted
user, a log-out, an expired session, a session whose password hash or
secret key no longer matches. Each test logs in, fetches a cached page (a
hit), changes the user and fetches again.
"""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core import audiences, caching
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [
    pytest.mark.django_db,
    # Pages read twice, the second a hit: not across midnight (a page is kept
    # no longer than midnight; one made in a day's last second is not). The
    # tests that set the clock themselves travel from there.
    pytest.mark.usefixtures("away_from_midnight"),
]

INNER_TITLE = "党内通报会议纪要丙"
PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 60
    settings.VALUE_CACHE_SECONDS = 60
    settings.SESSION_ENGINE = "core.sessions"
    cache.clear()
    caching.reset_local()
    yield
    cache.clear()
    caching.reset_local()


@pytest.fixture
def board():
    from catalog.models import Scope

    wenli = UnitFactory(name="文理村", parent=TownFactory())
    DisclosureFactory(unit=wenli, title="村务公开财务收支")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title=INNER_TITLE
    )
    return wenli, f"/boards/{wenli.slug}/"


@pytest.fixture
def member(board):
    return PartyMemberFactory(username="wenli_a", branch_of=board[0])


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def cached_hit(client, url) -> None:
    """The member's page, served from the audience's copy."""
    client.get(url)
    response = client.get(url)
    assert response.headers["X-Page-Cache"] == "hit"
    assert INNER_TITLE in response.text


def assert_logged_out(client, url) -> None:
    response = client.get(url)
    assert INNER_TITLE not in response.text
    assert "wenli_a" not in response.text
    assert "党员登录" in response.text
    # Django ended the session (its check of the log-in flushed it).
    assert client.get(url).wsgi_request.user.is_anonymous


def test_a_members_hit_runs_no_sql(board, member, django_assert_num_queries):
    _, url = board
    client = logged_in(member)
    client.get(url)
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.headers["X-Page-Cache"] == "hit"
    assert "wenli_a" in response.text and INNER_TITLE in response.text
    assert "private" in response.headers["Cache-Control"]
    assert "sessionid" not in response.cookies  # the session was not written


def test_a_password_change_ends_the_other_sessions_at_once(board, member):
    _, url = board
    other = logged_in(member)
    cached_hit(other, url)
    member.set_password("a-new-password-42")
    member.save()
    assert_logged_out(other, url)


def test_a_password_change_through_the_form_keeps_only_that_session(board, member):
    _, url = board
    mine, other = logged_in(member), logged_in(member)
    cached_hit(mine, url)
    cached_hit(other, url)
    changed = mine.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-password-42",
            "new_password2": "a-new-password-42",
        },
    )
    assert changed.status_code == 302
    response = mine.get(url)  # update_session_auth_hash: still logged in
    assert INNER_TITLE in response.text and "wenli_a" in response.text
    assert mine.get(url).headers["X-Page-Cache"] == "hit"
    assert_logged_out(other, url)


def test_deactivation_ends_the_session_at_once(board, member):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    member.is_active = False
    member.save()
    assert_logged_out(client, url)


def test_a_deleted_user_is_logged_out_at_once(board, member):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    member.delete()
    assert_logged_out(client, url)


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_a_member_made_staff_is_no_longer_served_from_the_cache(board, member, flag):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    setattr(member, flag, True)
    member.save()
    for _ in range(2):
        response = client.get(url)
        assert "X-Page-Cache" not in response.headers
        assert "wenli_a" in response.text


def test_a_new_permission_ends_the_audience_at_once(board, member):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    member.user_permissions.add(Permission.objects.get(codename="view_submission"))
    for _ in range(2):
        assert "X-Page-Cache" not in client.get(url).headers


def test_leaving_the_party_group_ends_the_audience_at_once(board, member):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    member.groups.clear()
    for _ in range(2):
        response = client.get(url)
        assert INNER_TITLE not in response.text
        assert "wenli_a" in response.text  # still logged in, a resident now


def test_a_new_name_shows_at_once(board, member):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    member.username = "wenli_renamed"
    member.save()
    response = client.get(url)
    assert "wenli_renamed" in response.text and INNER_TITLE in response.text


def test_a_log_out_ends_the_session_everywhere_it_is_used(board, member):
    """The same session cookie on another client (another browser tab, or a
    request another worker serves): the log-out deletes the cached session."""
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    copy = Client()
    copy.cookies["sessionid"] = client.cookies["sessionid"].value
    cached_hit(copy, url)
    client.logout()
    assert_logged_out(copy, url)


def test_an_expired_session_is_a_visitor(board, member):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert_logged_out(client, url)


def test_a_session_whose_password_hash_does_not_match_is_ended(board, member):
    """Django's check of the session-auth hash: the kept entry's seal ties it
    to the hash the session was logged in with."""
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    session = client.session
    session[HASH_SESSION_KEY] = "0" * 64
    session.save()
    assert_logged_out(client, url)


def test_a_new_secret_key_ends_every_log_in(board, member, settings):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert_logged_out(client, url)


def test_a_change_no_signal_announces_ends_the_session_within_the_check_time(
    board, member, settings
):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    type(member).objects.filter(pk=member.pk).update(is_active=False)
    # A queryset update() sends no signal: the kept entry holds until it is
    # checked again, PAGE_AUDIENCE_CHECK_SECONDS after it was made.
    assert client.get(url).headers["X-Page-Cache"] == "hit"
    later = timezone.now() + timedelta(seconds=settings.PAGE_AUDIENCE_CHECK_SECONDS)
    with time_machine.travel(later + timedelta(seconds=1)):
        assert_logged_out(client, url)


def test_another_servers_change_counts_at_once(board, member):
    """The version is read from the shared cache on each member's request,
    not from this process's copy of the last second."""
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    type(member).objects.filter(pk=member.pk).update(is_active=False)
    cache.incr(audiences.VERSION_KEY)  # another process's save of the user
    assert_logged_out(client, url)


def test_a_cache_flush_logs_no_one_out(board, member):
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    cache.clear()
    caching.reset_local()
    response = client.get(url)
    assert INNER_TITLE in response.text and "wenli_a" in response.text
    cached_hit(client, url)


def test_a_session_of_another_user_never_takes_the_entry(board, member):
    """A session logged in anew as someone else (the same browser) does not
    keep the first user's audience or name."""
    wenli, url = board
    resident = PartyMemberFactory(username="resident_b")
    resident.groups.clear()
    client = logged_in(member)
    cached_hit(client, url)
    assert client.login(username="resident_b", password=PASSWORD)
    response = client.get(url)
    assert INNER_TITLE not in response.text
    assert "resident_b" in response.text and "wenli_a" not in response.text


def test_a_members_miss_loads_the_user_not_their_permissions(
    board, member, django_assert_max_num_queries
):
    """A page not kept yet is confirmed for the session's audience (the user
    loaded: Django's checks of the log-in); the audience itself is kept with
    the Reader under the memberships version, so the permission queries run
    at log-in, not on every miss."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, url = board
    client = logged_in(member)
    client.get("/")  # another page: the member's values are kept
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.headers["X-Page-Cache"] == "miss"
    assert INNER_TITLE in response.text and "wenli_a" in response.text
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "auth_permission" not in read
    assert "auth_user_groups" not in read


def test_a_permission_given_ends_the_members_kept_audience(board, member):
    """The kept audience follows the memberships version: a permission
    beyond reading 党内 items (the pages may show more) ends the shared
    copies for this user at once, on a miss as on a hit."""
    _, url = board
    client = logged_in(member)
    cached_hit(client, url)
    member.user_permissions.add(Permission.objects.get(codename="view_submission"))
    response = client.get("/disclosures/")
    assert "X-Page-Cache" not in response.headers
    response = client.get(url)
    assert "X-Page-Cache" not in response.headers
    assert INNER_TITLE in response.text
