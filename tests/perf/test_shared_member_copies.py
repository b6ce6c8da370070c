"""Another unit's board, and a disclosure's page, are one copy for every
branch's members.

A branch's 党组织内部 notices are its own unit's (Disclosure.clean), so the
board of any other unit reads the same for a member of any branch: the
page cache keeps one copy of it for all of them (page_scopes.board_audience)
and the board is rendered as that narrowed reader (Reader.on_board_of), not
as the user. Walked here: the shared copy is taken by the branches it
belongs to and never by the unit's own branch, whose copy shows its notices;
a title of one branch never reaches another; a hit of the shared copy runs
no SQL; a renamed unit keeps its branch's own copy. A disclosure's page is
the same for every party member but for a 党组织内部 one, its branch's alone
(page_scopes.detail_audience, Reader.on_page_of).
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from disclosure.models import Disclosure, Reader
from tests.factories import (
    PartyMemberFactory,
    UserFactory,
)
from tests.perf.branches import (
    INNER,
    MAOSHAN_BRANCH,
    WENLI_BRANCH,
    make_county,
    member,
)

pytestmark = [
    pytest.mark.django_db,
    # (Run at midnight, a hit read in the day's last second was a miss.)
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]


@pytest.fixture
def county(db):
    return make_county()


def board(client: Client, unit):
    response = client.get(f"/boards/{unit.slug}/")
    assert response.status_code == 200
    return response


def test_other_branches_share_a_boards_copy_and_its_own_branch_does_not(county):
    wenli, maoshan, dongfeng = county
    from_maoshan = member("maoshan_a", maoshan)
    from_dongfeng = member("dongfeng_a", dongfeng)
    of_no_branch = member("member_nb")
    from_wenli = member("wenli_a", wenli)

    first = board(from_maoshan, wenli)
    assert first.headers["X-Page-Cache"] == "miss"
    assert INNER in first.text and WENLI_BRANCH not in first.text
    # Made by a member of 茅山村's branch, taken by the others.
    for client in (from_dongfeng, of_no_branch):
        shared = board(client, wenli)
        assert shared.headers["X-Page-Cache"] == "hit"
        assert INNER in shared.text and WENLI_BRANCH not in shared.text
    # 文理村's own branch reads its own notice: never the shared copy.
    own = board(from_wenli, wenli)
    assert own.headers["X-Page-Cache"] == "miss"
    assert WENLI_BRANCH in own.text and INNER in own.text
    assert board(from_wenli, wenli).headers["X-Page-Cache"] == "hit"
    # ... and its copy reaches no other branch.
    for client in (from_maoshan, from_dongfeng, of_no_branch):
        assert WENLI_BRANCH not in board(client, wenli).text


def test_the_own_branchs_copy_first_leaks_to_no_other(county):
    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in board(from_wenli, wenli).text
    assert WENLI_BRANCH in board(from_wenli, wenli).text  # a hit
    others = {
        "other branch": member("maoshan_a", maoshan),
        "no branch": member("member_nb"),
        "resident": Client(),
        "visitor": Client(),
    }
    others["resident"].force_login(UserFactory(username="resident"))
    for who, client in others.items():
        for _ in range(2):
            text = board(client, wenli).text
            assert WENLI_BRANCH not in text, who
            assert MAOSHAN_BRANCH not in text, who
    # Each branch still reads its own notice on its own board.
    assert MAOSHAN_BRANCH in board(others["other branch"], maoshan).text
    assert MAOSHAN_BRANCH not in board(from_wenli, maoshan).text


def test_a_row_breaking_the_rule_stays_with_its_branch(county):
    """A 党组织内部 row of 茅山村's branch filed on 文理村's board (the admin
    refuses it; written here past the form) is read by nobody there: the
    board is rendered as the narrowed reader, so the shared copy cannot
    carry it to 东风村's branch."""
    wenli, maoshan, dongfeng = county
    stray = Disclosure.objects.get(title=MAOSHAN_BRANCH)
    Disclosure.objects.filter(pk=stray.pk).update(unit=wenli)
    from_maoshan = member("maoshan_a", maoshan)
    from_dongfeng = member("dongfeng_a", dongfeng)
    assert MAOSHAN_BRANCH not in board(from_maoshan, wenli).text
    assert MAOSHAN_BRANCH not in board(from_dongfeng, wenli).text


def test_a_hit_of_the_shared_copy_runs_no_sql(county):
    wenli, maoshan, dongfeng = county
    board(member("maoshan_a", maoshan), wenli)
    from_dongfeng = member("dongfeng_a", dongfeng)
    board(from_dongfeng, dongfeng)  # the session's audience is kept
    with CaptureQueriesContext(connection) as queries:
        response = board(from_dongfeng, wenli)
    assert response.headers["X-Page-Cache"] == "hit"
    assert "dongfeng_a" in response.text
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_a_renamed_unit_keeps_its_branchs_own_board(county):
    wenli, _, _ = county
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in board(from_wenli, wenli).text
    wenli.slug = "wenli-renamed"
    wenli.save()
    assert WENLI_BRANCH in board(from_wenli, wenli).text


def test_the_reader_on_a_board(county):
    wenli, maoshan, _ = county
    user = PartyMemberFactory(username="wenli_a", branch_of=wenli)
    reader = Reader.of(user)
    assert reader.branch_unit_id == wenli.pk
    assert reader.branch_unit_slug == wenli.slug
    assert reader.on_board_of(wenli) is reader
    assert reader.on_board_of(maoshan) == Reader(party_member=True)
    assert Reader().on_board_of(maoshan) == Reader()


def test_a_membership_moved_without_a_signal_leaks_nothing(county):
    """A queryset `update()` sends no signal: the session's audience and the
    kept Reader are the old branch's until they are checked again
    (PAGE_AUDIENCE_CHECK_SECONDS, VALUE_CACHE_SECONDS); meanwhile the member
    reads as the old branch, and nothing reaches another branch."""
    from disclosure.models import PartyMembership

    wenli, maoshan, dongfeng = county
    moved = PartyMemberFactory(username="moved", branch_of=maoshan)
    client = Client()
    client.force_login(moved)
    board(client, dongfeng)  # the session keeps 茅山村's branch
    PartyMembership.objects.filter(user=moved).update(
        branch=wenli.organisations.branches().get()
    )
    board(client, wenli)
    for other in (member("dongfeng_a", dongfeng), member("member_nb")):
        assert WENLI_BRANCH not in board(other, wenli).text


def moved_unannounced(county, capture) -> Client:
    """A member of 茅山村's branch, logged in (the session keeps that
    branch), then moved to 文理村's by a queryset `update()` (no signal);
    the kept Reader gone (a global bump), so the rows are read again."""
    from core import caching
    from disclosure.models import PartyMembership

    wenli, maoshan, dongfeng = county
    moved = PartyMemberFactory(username="moved", branch_of=maoshan)
    client = Client()
    client.force_login(moved)
    board(client, dongfeng)
    PartyMembership.objects.filter(user=moved).update(
        branch=wenli.organisations.branches().get()
    )
    with capture(execute=True):
        caching.bump_version()
    return client


def test_a_miss_read_as_another_audience_than_the_sessions_keeps_nothing(
    county, django_capture_on_commit_callbacks
):
    """The session still says 茅山村's branch, the rows (read again once
    the kept Reader is gone) say 文理村's: 文理村's board is the shared
    copy's key for the session, the page is read as 文理村's own branch:
    shown, never kept (audiences.confirmed)."""
    wenli, _, dongfeng = county
    client = moved_unannounced(county, django_capture_on_commit_callbacks)
    response = board(client, wenli)
    assert WENLI_BRANCH in response.text
    assert response.headers.get("X-Page-Cache") != "miss"
    for other in (member("dongfeng_a", dongfeng), member("member_nb")):
        assert WENLI_BRANCH not in board(other, wenli).text


def test_after_a_refused_miss_the_session_holds_the_audience_of_now(
    county, django_capture_on_commit_callbacks
):
    wenli, _, dongfeng = county
    client = moved_unannounced(county, django_capture_on_commit_callbacks)
    assert board(client, wenli).headers.get("X-Page-Cache") != "miss"
    # Worked out again: 文理村's own board is kept now, as its branch's.
    again = board(client, wenli)
    assert again.headers["X-Page-Cache"] == "miss"
    assert WENLI_BRANCH in again.text
    assert WENLI_BRANCH in board(member("wenli_a", wenli), wenli).text
    assert WENLI_BRANCH not in board(member("dongfeng_a", dongfeng), wenli).text


# The 回音壁 -------------------------------------------------------------------


def answered_case(unit, answer):
    from django.utils import timezone

    from tests.factories import SubmissionFactory

    return SubmissionFactory(
        unit=unit,
        kind="request",
        status="answered",
        accepted_at=timezone.now(),
        answered_at=timezone.now(),
        answer_text="已公开。",
        fulfilled_by=answer,
    )


def test_every_branch_shares_the_wall_and_a_case(county):
    wenli, maoshan, dongfeng = county
    case = answered_case(wenli, Disclosure.objects.get(title=INNER))
    for url in ("/feedback/", case.get_absolute_url()):
        first = member("maoshan_a", maoshan).get(url)
        assert first.headers["X-Page-Cache"] == "miss", url
        for client in (member("dongfeng_a", dongfeng), member("wenli_a", wenli)):
            shared = client.get(url)
            assert shared.headers["X-Page-Cache"] == "hit", url
            assert Disclosure.objects.get(title=INNER).get_absolute_url() in shared.text


def test_a_branch_notice_linked_from_the_wall_is_its_branchs_alone(
    county, django_capture_on_commit_callbacks
):
    wenli, maoshan, dongfeng = county
    notice = Disclosure.objects.get(title=WENLI_BRANCH)
    link = notice.get_absolute_url()
    # The wall is shared first, before the branch's notice is linked.
    member("maoshan_a", maoshan).get("/feedback/")
    with django_capture_on_commit_callbacks(execute=True):
        case = answered_case(wenli, notice)
    from_wenli = member("wenli_a", wenli)
    for url in ("/feedback/", case.get_absolute_url()):
        assert link in from_wenli.get(url).text, url
        own = from_wenli.get(url)
        assert own.headers["X-Page-Cache"] == "hit" and link in own.text, url
        for client in (
            member("maoshan_a", maoshan),
            member("dongfeng_a", dongfeng),
            member("member_nb"),
            Client(),
        ):
            for _ in range(2):
                assert link not in client.get(url).text, url


def test_a_branch_link_rendered_under_the_shared_key_is_not_kept(county, monkeypatch):
    from core import content

    wenli, maoshan, _ = county
    notice = Disclosure.objects.get(title=WENLI_BRANCH)
    case = answered_case(wenli, notice)
    for name in ("feedback:wall", "feedback:detail"):
        monkeypatch.setitem(
            content.view_audiences,
            name,
            lambda request, kwargs, audience: "member:party:",
        )
    for url in ("/feedback/", case.get_absolute_url()):
        shown = member("wenli_a", wenli).get(url)
        assert notice.get_absolute_url() in shown.text, url
        assert shown.headers.get("X-Page-Cache") != "miss", url
        other = member("maoshan_a", maoshan).get(url)
        assert notice.get_absolute_url() not in other.text, url
