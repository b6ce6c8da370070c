"""A branch with no 党组织内部 row of its own reads as a member of no branch.

Most branches file no 党组织内部 notice: their members read what a member of no
branch reads on every page, so they are that reader (`Reader._look_up`) and
get that audience's copies (`member:party:`): the unfiltered list, search,
the home page. Walked here: those copies shared; a branch with rows keeps
its own; the branch's first row, saved or made so with its item, shows to
its members at once (the save moves the memberships version:
`services.follow_branch_rows`, `follow_item_scope`) and to no one else; a
row made 党组织内部 by SQL, which no signal announces, reaches no other
audience's copy.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Scope
from core import caching
from disclosure.models import Disclosure, Reader, page_audience
from tests.factories import DisclosureFactory, ItemFactory, PartyMemberFactory
from tests.perf.branches import (
    INNER,
    MAOSHAN_BRANCH,
    WENLI_BRANCH,
    get,
    make_county,
    member,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

DONGFENG_FIRST = "东风村党支部首份内部通报丁"
LIST = "/disclosures/"
SEARCH = "/search/?q=" + "内部通报"


@pytest.fixture
def county(db):
    return make_county()


def test_a_branch_without_rows_is_a_member_of_no_branch(county):
    wenli, _, dongfeng = county
    without = PartyMemberFactory(username="dongfeng_a", branch_of=dongfeng)
    assert Reader.of(without) == Reader(party_member=True)
    assert page_audience(without) == "member:party:"
    with_rows = PartyMemberFactory(username="wenli_a", branch_of=wenli)
    assert Reader.of(with_rows).branch_unit_slug == wenli.slug
    assert page_audience(with_rows).startswith("member:party:")
    assert page_audience(with_rows) != "member:party:"


@pytest.mark.parametrize("path", [LIST, SEARCH, "/"])
def test_its_members_share_the_copies_of_a_member_of_no_branch(county, path):
    wenli, maoshan, dongfeng = county
    first = get(member("member_nb"), path)
    assert first.headers["X-Page-Cache"] == "miss"
    from_dongfeng = member("dongfeng_a", dongfeng)
    shared = get(from_dongfeng, path)
    assert shared.headers["X-Page-Cache"] == "hit"
    assert "dongfeng_a" in shared.found
    for title in (WENLI_BRANCH, MAOSHAN_BRANCH):
        assert title not in shared.found
    # A branch with rows of its own keeps its own copy.
    own = get(member("wenli_a", wenli), path)
    assert own.headers["X-Page-Cache"] == "miss"
    if path != "/":  # the home page lists the town's newest few
        assert WENLI_BRANCH in own.found
    assert WENLI_BRANCH not in get(from_dongfeng, path).found


def test_a_shared_hit_runs_no_sql(county):
    _, _, dongfeng = county
    get(member("member_nb"), LIST)
    from_dongfeng = member("dongfeng_a", dongfeng)
    get(from_dongfeng, "/boards/")  # the session's audience is kept
    with CaptureQueriesContext(connection) as queries:
        response = get(from_dongfeng, LIST)
    assert response.headers["X-Page-Cache"] == "hit"
    assert len(queries) == 0, [q["sql"] for q in queries]


def first_row_of(dongfeng, scope=Scope.BRANCH) -> Disclosure:
    """东风村's notice under an item of that scope (党组织内部: its branch's)."""
    return DisclosureFactory(
        unit=dongfeng, item=ItemFactory(scope=scope), title=DONGFENG_FIRST
    )


@pytest.mark.parametrize("path", [LIST, SEARCH])
def test_the_branchs_first_row_shows_to_its_members_at_once(
    county, path, django_capture_on_commit_callbacks
):
    wenli, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    of_no_branch = member("member_nb")
    get(from_dongfeng, path)
    assert get(of_no_branch, path).headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        first_row_of(dongfeng)
    assert DONGFENG_FIRST in get(from_dongfeng, path).found
    assert DONGFENG_FIRST in get(from_dongfeng, path).found  # its own copy
    others = {
        "no branch": of_no_branch,
        "other branch": member("maoshan_a", maoshan),
        "visitor": Client(),
    }
    for who, client in others.items():
        for _ in range(2):
            assert DONGFENG_FIRST not in get(client, path).found, who
    assert Reader.of(
        PartyMemberFactory(username="dongfeng_b", branch_of=dongfeng)
    ).branch_id


def test_an_item_made_branch_only_shows_its_rows_to_the_branch(
    county, django_capture_on_commit_callbacks
):
    """The item's disclosures are narrowed in bulk (`follow_item_scope`, an
    UPDATE without post_save): the memberships version moves all the same."""
    wenli, maoshan, dongfeng = county
    row = first_row_of(dongfeng, Scope.PUBLIC)
    from_dongfeng = member("dongfeng_a", dongfeng)
    of_no_branch = member("member_nb")
    assert DONGFENG_FIRST in get(from_dongfeng, LIST).found
    assert get(of_no_branch, LIST).headers["X-Page-Cache"] == "hit"
    item = row.item
    item.scope = Scope.BRANCH
    with django_capture_on_commit_callbacks(execute=True):
        item.save()
    row.refresh_from_db()
    assert row.scope == Scope.BRANCH
    assert DONGFENG_FIRST in get(from_dongfeng, LIST).found
    for client in (of_no_branch, member("maoshan_a", maoshan), Client()):
        assert DONGFENG_FIRST not in get(client, LIST).found


def test_a_row_saved_through_the_review_queue_moves_the_version(county):
    from core import audiences
    from disclosure.models import PendingDisclosure

    _, _, dongfeng = county
    row = first_row_of(dongfeng, Scope.PUBLIC)
    before = audiences.memberships_version(fresh=True)
    pending = PendingDisclosure.objects.get(pk=row.pk)
    pending.scope = Scope.BRANCH
    pending.branch = dongfeng.organisations.branches().get()
    pending.save()
    assert audiences.memberships_version(fresh=True) != before


def test_a_row_made_branch_by_sql_reaches_no_other_audience(
    county, django_capture_on_commit_callbacks
):
    """No signal: the session still says `member:party:`, the Reader read
    again (the global version moved) says the branch; the page shown to the
    branch's member is not kept in the shared copy."""
    _, maoshan, dongfeng = county
    row = first_row_of(dongfeng, Scope.PUBLIC)
    from_dongfeng = member("dongfeng_a", dongfeng)
    get(from_dongfeng, LIST)
    Disclosure.objects.filter(pk=row.pk).update(
        scope=Scope.BRANCH, branch=dongfeng.organisations.branches().get()
    )
    with django_capture_on_commit_callbacks(execute=True):
        caching.bump_version()
    shown = get(from_dongfeng, LIST)
    assert shown.headers.get("X-Page-Cache") != "miss"  # shown, not kept
    for client in (member("member_nb"), member("maoshan_a", maoshan)):
        for _ in range(2):
            text = get(client, LIST).found
            assert DONGFENG_FIRST not in text and INNER in text
