"""The list filtered to another unit, another unit's compliance page and
the compliance matrix are one copy for every branch's members.

As on a board (test_shared_member_copies.py): a branch's 党组织内部 notices are
its own unit's (Disclosure.clean), so the list of any other unit reads the
same for a member of any branch. The page cache keeps one copy of it for
all of them (page_scopes.list_audience) and the list is read as that
narrowed reader (Reader.on_list_of): its rows, count and period choices.
The unfiltered list, and the list of the branch's own unit, stay the
branch's own copy. A unit's compliance page names its filings as its board
does (page_scopes.board_audience, read as `Reader.on_board_of`); the matrix
shows no title, the same for every party member (page_scopes.party_audience).
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from disclosure.models import Disclosure, Reader
from tests.factories import PartyMemberFactory
from tests.perf.branches import (
    INNER,
    MAOSHAN_BRANCH,
    WENLI_BRANCH,
    make_county,
    member,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]


@pytest.fixture
def county(db):
    return make_county()


def listed(client: Client, unit=None, query: str = ""):
    path = "/disclosures/" + (f"?unit={unit.slug}" if unit else "") + query
    response = client.get(path)
    assert response.status_code == 200, path
    return response


def test_other_branches_share_a_units_list_and_its_own_branch_does_not(county):
    wenli, maoshan, dongfeng = county
    from_maoshan = member("maoshan_a", maoshan)
    from_dongfeng = member("dongfeng_a", dongfeng)
    of_no_branch = member("member_nb")
    from_wenli = member("wenli_a", wenli)

    first = listed(from_maoshan, wenli)
    assert first.headers["X-Page-Cache"] == "miss"
    assert INNER in first.text and WENLI_BRANCH not in first.text
    assert "共 2 条" in first.text  # the public and the 党内 notice
    for client in (from_dongfeng, of_no_branch):
        shared = listed(client, wenli)
        assert shared.headers["X-Page-Cache"] == "hit"
        assert INNER in shared.text and WENLI_BRANCH not in shared.text
    own = listed(from_wenli, wenli)
    assert own.headers["X-Page-Cache"] == "miss"
    assert WENLI_BRANCH in own.text and "共 3 条" in own.text
    assert listed(from_wenli, wenli).headers["X-Page-Cache"] == "hit"
    for client in (from_maoshan, from_dongfeng, of_no_branch):
        text = listed(client, wenli).text
        assert WENLI_BRANCH not in text and "共 2 条" in text


def test_the_own_branchs_list_first_leaks_to_no_other(county):
    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in listed(from_wenli, wenli).text
    assert listed(from_wenli, wenli).headers["X-Page-Cache"] == "hit"
    others = {
        "other branch": member("maoshan_a", maoshan),
        "no branch": member("member_nb"),
        "visitor": Client(),
    }
    for who, client in others.items():
        for _ in range(2):
            text = listed(client, wenli).text
            assert WENLI_BRANCH not in text, who
            assert MAOSHAN_BRANCH not in text, who
    assert INNER not in listed(others["visitor"], wenli).text


def test_the_unfiltered_list_stays_each_branchs_own(county):
    wenli, maoshan, dongfeng = county
    from_maoshan = member("maoshan_a", maoshan)
    from_wenli = member("wenli_a", wenli)
    text = listed(from_maoshan).text
    assert MAOSHAN_BRANCH in text and WENLI_BRANCH not in text
    text = listed(from_wenli).text
    assert WENLI_BRANCH in text and MAOSHAN_BRANCH not in text
    for client in (member("dongfeng_a", dongfeng), member("member_nb")):
        text = listed(client).text
        assert WENLI_BRANCH not in text and MAOSHAN_BRANCH not in text
        assert INNER in text


def test_a_list_of_two_units_is_the_branchs_own(county):
    """Two units asked for (the form sends one; a URL may carry both): the
    branch's own copy, as the unfiltered list."""
    wenli, maoshan, dongfeng = county
    query = f"?unit={wenli.slug}&unit={maoshan.slug}"
    from_maoshan = member("maoshan_a", maoshan)
    from_dongfeng = member("dongfeng_a", dongfeng)
    for client in (from_maoshan, from_dongfeng, from_maoshan, from_dongfeng):
        response = client.get("/disclosures/" + query)
        assert response.status_code in (200, 400)
        if client is from_dongfeng:
            assert MAOSHAN_BRANCH not in response.text


def test_a_row_breaking_the_rule_is_listed_to_nobody_there(county):
    """A 党组织内部 row of 茅山村's branch filed under 文理村 (the admin refuses
    it; written past the form): 文理村's list is read as the narrowed reader,
    so its shared copy cannot carry the row to 东风村's branch."""
    wenli, maoshan, dongfeng = county
    stray = Disclosure.objects.get(title=MAOSHAN_BRANCH)
    Disclosure.objects.filter(pk=stray.pk).update(unit=wenli)
    assert MAOSHAN_BRANCH not in listed(member("maoshan_a", maoshan), wenli).text
    assert MAOSHAN_BRANCH not in listed(member("dongfeng_a", dongfeng), wenli).text


def test_the_shared_lists_periods_are_not_the_branchs(county):
    """A period only the branch's 党组织内部 row has is offered on the branch's
    own lists, not on the copy every branch shares."""
    wenli, maoshan, dongfeng = county
    Disclosure.objects.filter(title=WENLI_BRANCH).update(
        period="2019-07", period_start="2019-07-01"
    )
    from_wenli = member("wenli_a", wenli)
    assert 'value="2019-07"' in listed(from_wenli).text
    assert 'value="2019-07"' in listed(from_wenli, wenli).text
    made_by_wenli = listed(from_wenli, maoshan)
    assert 'value="2019-07"' not in made_by_wenli.text
    shared = listed(member("dongfeng_a", dongfeng), maoshan)
    assert shared.headers["X-Page-Cache"] == "hit"
    assert 'value="2019-07"' not in shared.text


def test_a_hit_of_the_shared_list_runs_no_sql(county):
    wenli, maoshan, dongfeng = county
    listed(member("maoshan_a", maoshan), wenli)
    from_dongfeng = member("dongfeng_a", dongfeng)
    listed(from_dongfeng, dongfeng)  # the session's audience is kept
    with CaptureQueriesContext(connection) as queries:
        response = listed(from_dongfeng, wenli)
    assert response.headers["X-Page-Cache"] == "hit"
    assert "dongfeng_a" in response.text
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_a_renamed_unit_keeps_its_branchs_own_list(county):
    wenli, _, _ = county
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in listed(from_wenli, wenli).text
    wenli.slug = "wenli-renamed"
    wenli.save()
    assert WENLI_BRANCH in listed(from_wenli, wenli).text


def test_the_reader_on_a_units_list(county):
    wenli, maoshan, _ = county
    reader = Reader.of(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    assert reader.on_list_of(wenli.slug) is reader
    assert reader.on_list_of(maoshan.slug) == Reader(party_member=True)
    assert reader.on_list_of("no-such-unit") == Reader(party_member=True)
    assert reader.on_list_of("") is reader  # the form's 全部单位
    assert Reader().on_list_of(maoshan.slug) == Reader()
    every = Reader(party_member=True, every_branch=True)
    assert every.on_list_of(maoshan.slug) is every


# The compliance pages ---------------------------------------------------------

OF_2011 = "?year=2011"


def obligations(client: Client, unit):
    response = client.get(f"/compliance/{unit.slug}/{OF_2011}")
    assert response.status_code == 200
    return response


def test_other_branches_share_a_units_obligations_and_its_own_does_not(county):
    """A unit's compliance page names its filings, 党组织内部 ones to their
    branch alone: as its board, one copy for every other branch."""
    wenli, maoshan, dongfeng = county
    from_maoshan = member("maoshan_a", maoshan)
    first = obligations(from_maoshan, wenli)
    assert first.headers["X-Page-Cache"] == "miss"
    assert INNER in first.text and WENLI_BRANCH not in first.text
    for client in (member("dongfeng_a", dongfeng), member("member_nb")):
        shared = obligations(client, wenli)
        assert shared.headers["X-Page-Cache"] == "hit"
        assert INNER in shared.text and WENLI_BRANCH not in shared.text
    from_wenli = member("wenli_a", wenli)
    own = obligations(from_wenli, wenli)
    assert own.headers["X-Page-Cache"] == "miss"
    assert WENLI_BRANCH in own.text
    assert WENLI_BRANCH not in obligations(from_maoshan, wenli).text
    visitor = obligations(Client(), wenli).text
    assert INNER not in visitor and WENLI_BRANCH not in visitor


def test_the_own_branchs_obligations_first_leak_to_no_other(county):
    wenli, maoshan, dongfeng = county
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in obligations(from_wenli, wenli).text
    assert obligations(from_wenli, wenli).headers["X-Page-Cache"] == "hit"
    for client in (member("maoshan_a", maoshan), member("member_nb"), Client()):
        assert WENLI_BRANCH not in obligations(client, wenli).text


def test_every_party_member_shares_the_matrix(county):
    """The matrix counts filings of every scope and shows no title: one copy
    for every party member, whatever their branch."""
    wenli, maoshan, dongfeng = county
    town = wenli.parent
    path = f"/compliance/{OF_2011}&town={town.slug}"
    first = member("wenli_a", wenli).get(path)
    assert first.status_code == 200 and first.headers["X-Page-Cache"] == "miss"
    for who in (("maoshan_a", maoshan), ("dongfeng_a", dongfeng), ("nb", None)):
        response = member(*who).get(path)
        assert response.headers["X-Page-Cache"] == "hit", who
        assert who[0] in response.text  # the member's own name in the header
        assert WENLI_BRANCH not in response.text
    assert first.text.count("<tr") == response.text.count("<tr")
