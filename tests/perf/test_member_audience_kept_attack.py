"""Attacks on "a member's page audience kept with the Reader" (af7f089).

`disclosure.models.kept_for_user` kept the Reader (what rows a user reads)
and the page audience (which shared copy their pages go to) in the value
cache, each under its own key, both under the memberships version; a miss was
confirmed (`audiences.confirmed`) against the kept audience, then rendered
with the kept Reader. The two could disagree (another worker's older copy of
the Reader, a Reader kept shorter than the session's check), and a page of
one branch's rows was kept in another's copy: the four tests of (A) failed
on af7f089. Mended: only the permissions fact is kept beside the Reader, and
the audience is made from the Reader the page is rendered with. The list's
filter and a catalog item's page ask the Reader, not the permissions,
whether 党内 items are the reader's.

Walked here: (A) a page rendered for one audience never stored under
another, whatever the two kept values hold (another worker's older copy of
the Reader, a Reader kept shorter than the session's check); (B) rights
taken away (the admin, a group, SQL by hand, deactivation, staff flags) end
the 党内 items and other branches' rows, at once or within
PAGE_AUDIENCE_CHECK_SECONDS; rights given never reach others' copies; (C) a
town party committee's member (every branch, no 党内 permission), a
superuser and a forged session cookie; (D) the value cache off.
"""

import contextlib
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.models import BodyKind
from core import caching
from disclosure import roles
from disclosure.models import Disclosure, Organisation, PartyMembership
from tests.factories import PartyMemberFactory, UserFactory, role_group
from tests.perf.branches import INNER, MAOSHAN_BRANCH, WENLI_BRANCH, get, make_county
from tests.perf.test_kept_newest_attack import admin_form, superuser

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

User = get_user_model()
LIST = "/disclosures/"
HIDDEN = "本事项为党内公开事项"  # the catalog item page's notice for non-members
PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def cached_sessions(settings):
    settings.SESSION_ENGINE = "core.sessions"  # as production (cached_db)
    settings.PAGE_AUDIENCE_CHECK_SECONDS = 60


@pytest.fixture
def county(db):
    return make_county()


@pytest.fixture
def inner_item(county):
    return Disclosure.objects.get(title=INNER).item


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def branch_of(unit) -> Organisation:
    return unit.organisations.branches().get()


def offers(response, item) -> bool:
    """Whether the list's filter offers `item` (its <select name="item">)."""
    text = response.text
    start = text.index('name="item"')
    select = text[start : text.index("</select>", start)]
    return item.name in select


def cache_header(response) -> str | None:
    return response.headers.get("X-Page-Cache")


class Clock:
    """Seconds from a fixed start, frozen at each step."""

    def __init__(self):
        self.start = timezone.now()

    @contextlib.contextmanager
    def at(self, seconds: float):
        with time_machine.travel(self.start + timedelta(seconds=seconds), tick=False):
            yield


class Workers:
    """Worker processes: each keeps its own copies (`caching._local`); the
    shared cache (and the database) in common. "w1" is this process's."""

    def __init__(self):
        self.copies = {"w1": caching._local}

    @contextlib.contextmanager
    def on(self, name: str):
        mine = caching._local
        caching._local = self.copies.setdefault(name, caching._Local())
        try:
            yield
        finally:
            caching._local = mine


def post_admin_without(url: str, field: str) -> None:
    """A superuser's save of the admin change form at `url` with every choice
    of the multiple select `field` unticked."""
    admin = superuser()
    data = admin_form(admin, url)
    data.pop(field, None)
    response = admin.post(url, data)
    assert response.status_code == 302, response.status_code


def drop_sql(table: str, user) -> None:
    """A row of a many-to-many table removed by hand: no signal."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", [user.pk])


# (A) A page rendered as one audience, kept under another -------------------------


def test_another_workers_older_reader_never_fills_the_new_branchs_copy(county):
    """A member moved from 文理村's branch to 茅山村's by a queryset
    `update()`: the session's check (worker 1) works out the new audience and
    keeps it in the shared cache; worker 2 still holds its own copy of the
    member's Reader, made before the move (a page not cached, its print).
    Worker 2's miss must not render 文理村's branch rows into the copy of
    茅山村's branch, which its other members then read."""
    wenli, maoshan, _ = county
    mover = PartyMemberFactory(username="mover_a", branch_of=wenli)
    other = PartyMemberFactory(username="maoshan_b", branch_of=maoshan)
    clock, workers = Clock(), Workers()
    with clock.at(0):
        mine, theirs = logged_in(mover), logged_in(other)
    with clock.at(61), workers.on("w2"):  # the login's kept values are gone
        get(mine, f"/boards/{wenli.slug}/print/")  # not a cached page
    with clock.at(62):
        PartyMembership.objects.filter(user=mover).update(branch=branch_of(maoshan))
    with clock.at(63), workers.on("w1"):
        get(mine, "/")  # the session's check: the new branch's audience
    with clock.at(64), workers.on("w2"):
        get(mine, LIST)
    with clock.at(65), workers.on("w1"):
        response = get(theirs, LIST)
    assert WENLI_BRANCH not in response.found, cache_header(response)
    assert MAOSHAN_BRANCH in response.found


def test_another_workers_older_reader_never_fills_the_shared_board_copy(county):
    """As above, the member moved to 东风村's branch (no 党组织内部 row: the
    audience every member of no branch shares, `member:party:`). Worker 2's
    miss of 文理村's board, rendered with its older Reader (文理村's branch),
    must not put 文理村's branch notice into the board's copy that every other
    branch's members read."""
    wenli, maoshan, dongfeng = county
    mover = PartyMemberFactory(username="mover_c", branch_of=wenli)
    other = PartyMemberFactory(username="maoshan_d", branch_of=maoshan)
    board = f"/boards/{wenli.slug}/"
    clock, workers = Clock(), Workers()
    with clock.at(0):
        mine, theirs = logged_in(mover), logged_in(other)
    with clock.at(61), workers.on("w2"):
        get(mine, f"/boards/{wenli.slug}/print/")
    with clock.at(62):
        PartyMembership.objects.filter(user=mover).update(branch=branch_of(dongfeng))
    with clock.at(63), workers.on("w1"):
        get(mine, "/")
    with clock.at(64), workers.on("w2"):
        get(mine, board)
    with clock.at(65), workers.on("w1"):
        response = get(theirs, board)
    assert INNER in response.found
    assert WENLI_BRANCH not in response.found, cache_header(response)


def test_a_party_right_taken_by_sql_never_fills_the_residents_copy(county, inner_item):
    """A party member's 党员 role taken away by hand (SQL: no signal). The
    session's check (worker 1) makes them `member:public`, the audience of
    every logged-in resident; worker 2's older copy of their Reader (a party
    member's) must not render the 党内 item's rows, or the 党内 title on the
    list, into the residents' copies."""
    former = PartyMemberFactory(username="former_e")
    resident = UserFactory(username="resident_f")
    catalog = f"/catalog/{inner_item.code}/"
    clock, workers = Clock(), Workers()
    with clock.at(0):
        mine, theirs = logged_in(former), logged_in(resident)
    with clock.at(61), workers.on("w2"):
        get(mine, f"/boards/{county[0].slug}/print/")
    with clock.at(62):
        drop_sql(User.groups.through._meta.db_table, former)
    with clock.at(63), workers.on("w1"):
        get(mine, "/")
    with clock.at(64), workers.on("w2"):
        get(mine, catalog)
        get(mine, LIST)
    with clock.at(65), workers.on("w1"):
        page, listed = get(theirs, catalog), get(theirs, LIST)
    assert HIDDEN in page.found and INNER not in page.found, cache_header(page)
    assert INNER not in listed.found, cache_header(listed)
    assert not offers(listed, inner_item)


def test_a_reader_kept_shorter_than_the_check_never_fills_the_old_branchs_copy(
    county, settings
):
    """One process, VALUE_CACHE_SECONDS (20) shorter than half the session's
    check (60): the kept audience, made on a miss after the kept Reader, can
    outlive it. A member moved to 茅山村's branch by a queryset `update()`
    whose Reader is worked out anew (expired) while the kept audience still
    says 文理村's branch must not have 茅山村's branch rows stored in the copy
    of 文理村's branch, which its other members read."""
    settings.VALUE_CACHE_SECONDS = 20
    wenli, maoshan, _ = county
    mover = PartyMemberFactory(username="mover_g", branch_of=wenli)
    other = PartyMemberFactory(username="wenli_h", branch_of=wenli)
    clock = Clock()
    with clock.at(0):
        mine, theirs = logged_in(mover), logged_in(other)
    with clock.at(21):
        get(mine, f"/boards/{wenli.slug}/print/")  # the Reader kept anew
    with clock.at(25):
        assert cache_header(get(mine, "/boards/")) == "miss"  # the audience kept
    with clock.at(30):
        PartyMembership.objects.filter(user=mover).update(branch=branch_of(maoshan))
    with clock.at(42):  # the Reader gone, the audience kept, no check due
        get(mine, LIST)
    with clock.at(43):
        response = get(theirs, LIST)
    assert MAOSHAN_BRANCH not in response.found, cache_header(response)
    assert WENLI_BRANCH in response.found


# (B) Rights taken away or given ------------------------------------------------


def test_a_party_member_keeps_the_inner_items_on_miss_and_hit(county, inner_item):
    """The Reader's answer gives a member the 党内 item's rows on its page and
    the item among the list's choices, from the copy too."""
    wenli, *_ = county
    client = logged_in(PartyMemberFactory(username="keeps_i", branch_of=wenli))
    catalog = f"/catalog/{inner_item.code}/"
    for expected in ("miss", "hit"):
        page, listed = get(client, catalog), get(client, LIST)
        assert cache_header(page) == expected and cache_header(listed) == expected
        assert INNER in page.found and HIDDEN not in page.found
        assert offers(listed, inner_item) and INNER in listed.found
    chosen = get(client, f"{LIST}?item={inner_item.code}")
    assert INNER in chosen.found


def test_a_permission_taken_in_the_admin_ends_the_inner_items_at_once(
    county, inner_item
):
    """The town's administrator takes the 党员 role away in the user change
    form: the member's next pages (kept Reader, kept audience) show neither
    the 党内 item's rows nor the item among the list's choices."""
    member = PartyMemberFactory(username="admin_taken_j")
    client = logged_in(member)
    catalog = f"/catalog/{inner_item.code}/"
    get(client, catalog), get(client, LIST)
    assert cache_header(get(client, catalog)) == "hit"
    post_admin_without(f"/admin/auth/user/{member.pk}/change/", "groups")
    assert not member.groups.exists()
    page, listed = get(client, catalog), get(client, LIST)
    assert HIDDEN in page.found and INNER not in page.found
    assert INNER not in listed.found and not offers(listed, inner_item)


def test_the_roles_permission_taken_from_the_group_ends_it_at_once(county, inner_item):
    """The 党员 group loses the 党内 permission (the group admin): every member
    of it loses the 党内 items on their next page, copies included."""
    client = logged_in(PartyMemberFactory(username="group_k"))
    catalog = f"/catalog/{inner_item.code}/"
    get(client, catalog)
    assert INNER in get(client, catalog).found
    group = role_group(roles.PARTY_MEMBER)
    post_admin_without(f"/admin/auth/group/{group.pk}/change/", "permissions")
    assert not group.permissions.filter(codename="view_inner_party").exists()
    page, listed = get(client, catalog), get(client, LIST)
    assert HIDDEN in page.found and INNER not in page.found
    assert not offers(listed, inner_item)


def test_a_permission_taken_by_sql_ends_within_the_check(county, inner_item):
    """The role taken away by hand (no signal): within
    PAGE_AUDIENCE_CHECK_SECONDS the catalog item page and the list's filter
    no longer give the 党内 item, in one process as the kept values have them."""
    member = PartyMemberFactory(username="sql_taken_l")
    catalog = f"/catalog/{inner_item.code}/"
    clock = Clock()
    with clock.at(0):
        client = logged_in(member)
        get(client, catalog), get(client, LIST)
        drop_sql(User.groups.through._meta.db_table, member)
    with clock.at(61):
        page, listed = get(client, catalog), get(client, LIST)
    assert HIDDEN in page.found and INNER not in page.found
    assert INNER not in listed.found and not offers(listed, inner_item)


@pytest.mark.parametrize("change", ["inactive", "staff", "password"])
def test_a_log_in_ended_or_made_staff_by_update_within_the_check(
    county, inner_item, change
):
    """Deactivated, made staff, or a new password, all by a queryset
    `update()` (no signal): within PAGE_AUDIENCE_CHECK_SECONDS the session is
    no member's any more (logged out, or never cached), and the members' copy
    it had read stays a plain member's."""
    wenli, *_ = county
    member = PartyMemberFactory(username="updated_m", branch_of=wenli)
    catalog = f"/catalog/{inner_item.code}/"
    clock = Clock()
    with clock.at(0):
        client = logged_in(member)
        get(client, catalog)
        fields = {
            "inactive": {"is_active": False},
            "staff": {"is_staff": True},
            "password": {"password": "!unusable"},
        }[change]
        User.objects.filter(pk=member.pk).update(**fields)
    with clock.at(61):
        page = get(client, catalog)
    assert cache_header(page) is None
    if change == "staff":
        assert "updated_m" in page.found  # still logged in, pages not cached
    else:
        assert HIDDEN in page.found and "updated_m" not in page.found


def test_rights_given_by_sql_never_reach_the_residents_copy(county, inner_item):
    """A resident given the 党员 role by hand (no signal) reads the 党内 items
    once their session is checked; another resident's pages, and the list's
    choices, stay without them throughout."""
    promoted = UserFactory(username="promoted_n")
    resident = UserFactory(username="resident_o")
    catalog = f"/catalog/{inner_item.code}/"
    group = role_group(roles.PARTY_MEMBER)
    clock = Clock()
    with clock.at(0):
        mine, theirs = logged_in(promoted), logged_in(resident)
        assert HIDDEN in get(mine, catalog).found
        with connection.cursor() as cursor:
            table = User.groups.through._meta.db_table
            cursor.execute(
                f"INSERT INTO {table} (user_id, group_id) VALUES (%s, %s)",
                [promoted.pk, group.pk],
            )
        get(mine, catalog), get(mine, LIST)  # before the check: as before
    with clock.at(61):
        page, listed = get(mine, catalog), get(mine, LIST)
        assert INNER in page.found and offers(listed, inner_item)
        page, listed = get(theirs, catalog), get(theirs, LIST)
    assert HIDDEN in page.found and INNER not in page.found
    assert INNER not in listed.found and not offers(listed, inner_item)


def test_another_worker_sees_a_signalled_change_at_once(county, inner_item):
    """Worker 2 holds its own copies of the member's kept values; the role
    taken away through the ORM (a signal) in worker 1 moves the memberships
    version: worker 2's next page is without the 党内 items."""
    member = PartyMemberFactory(username="worker_p")
    catalog = f"/catalog/{inner_item.code}/"
    client, workers = logged_in(member), Workers()
    with workers.on("w2"):
        get(client, f"/boards/{county[0].slug}/print/")
        assert INNER in get(client, catalog).found
    member.groups.clear()
    with workers.on("w2"):
        page, listed = get(client, catalog), get(client, LIST)
    assert HIDDEN in page.found and not offers(listed, inner_item)
    caching.reset_local()  # a new worker
    assert HIDDEN in get(client, catalog).found


# (C) Every branch, superusers, forged cookies --------------------------------


def test_a_town_committee_member_reads_the_inner_items_never_from_a_copy(
    county, inner_item
):
    """Acting for the town's 党委 without the 党内 permission: they read every
    row (Reader.every_branch), and now the catalog item page and the list's
    filter agree; none of their pages is kept, and a plain party member and a
    resident read their own copies after them."""
    wenli, *_ = county
    acting = UserFactory(username="committee_q")
    Organisation.objects.get(
        unit=wenli.parent, kind=BodyKind.PARTY_COMMITTEE
    ).members.add(acting)
    assert not acting.has_perm("disclosure.view_inner_party")
    client = logged_in(acting)
    catalog = f"/catalog/{inner_item.code}/"
    for _ in range(2):
        page, listed = get(client, catalog), get(client, LIST)
        assert cache_header(page) is None and cache_header(listed) is None
        assert INNER in page.found and HIDDEN not in page.found
        assert offers(listed, inner_item)
        assert WENLI_BRANCH in listed.found and MAOSHAN_BRANCH in listed.found
    party = logged_in(PartyMemberFactory(username="plain_r"))
    page, listed = get(party, catalog), get(party, LIST)
    assert INNER in page.found and offers(listed, inner_item)
    assert WENLI_BRANCH not in listed.found and MAOSHAN_BRANCH not in listed.found
    resident = logged_in(UserFactory(username="resident_s"))
    page, listed = get(resident, catalog), get(resident, LIST)
    assert HIDDEN in page.found and INNER not in page.found
    assert not offers(listed, inner_item) and INNER not in listed.found


def test_a_superuser_reads_everything_never_from_a_copy(county, inner_item):
    """A superuser (every permission) reads the 党内 items; nothing of theirs is
    kept, and a visitor after them gets the public page."""
    client = superuser()
    catalog = f"/catalog/{inner_item.code}/"
    page, listed = get(client, catalog), get(client, LIST)
    assert cache_header(page) is None and INNER in page.found
    assert offers(listed, inner_item)
    visitor = Client()
    page, listed = get(visitor, catalog), get(visitor, LIST)
    assert HIDDEN in page.found and INNER not in page.found
    assert not offers(listed, inner_item)


def test_a_forged_or_stale_session_cookie_reads_as_a_visitor(county, inner_item):
    """A made-up session key, and a member's key after log-out: the visitor's
    pages, never a member's copy."""
    client = logged_in(PartyMemberFactory(username="stale_t"))
    catalog = f"/catalog/{inner_item.code}/"
    get(client, catalog), get(client, LIST)  # the members' copies made
    stale = client.cookies["sessionid"].value
    client.logout()
    for key in (stale, "x" * 32, "nonsense"):
        forged = Client()
        forged.cookies["sessionid"] = key
        page, listed = get(forged, catalog), get(forged, LIST)
        assert cache_header(page) != "hit" and cache_header(listed) != "hit"
        assert HIDDEN in page.found and INNER not in page.found
        assert not offers(listed, inner_item) and INNER not in listed.found


# (D) The value cache off -----------------------------------------------------


@pytest.mark.parametrize("pages", [60, 0])
def test_without_kept_values_a_taken_right_ends_at_once(
    county, inner_item, settings, pages
):
    """VALUE_CACHE_SECONDS=0 (the values worked out on each request), with and
    without the page cache: the role taken through the ORM ends the 党内 items
    on the next page; a member's copy is never a resident's."""
    settings.VALUE_CACHE_SECONDS = 0
    settings.PAGE_CACHE_SECONDS = pages
    member = PartyMemberFactory(username="novalues_u")
    catalog = f"/catalog/{inner_item.code}/"
    client = logged_in(member)
    get(client, catalog)
    assert INNER in get(client, catalog).found and offers(get(client, LIST), inner_item)
    member.groups.clear()
    page, listed = get(client, catalog), get(client, LIST)
    assert HIDDEN in page.found and INNER not in page.found
    assert not offers(listed, inner_item)
    resident = logged_in(UserFactory(username="resident_v"))
    assert HIDDEN in get(resident, catalog).found
