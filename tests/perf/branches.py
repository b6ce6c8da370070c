"""A town of three villages whose branches file 党组织内部 notices: the data
of the tests of the copies every branch's members share
(test_shared_member_copies*.py)."""

from django.test import Client

from catalog.models import Scope
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)

WENLI_BRANCH = "文理村党支部内部通报甲"
MAOSHAN_BRANCH = "茅山村党支部内部通报乙"
INNER = "党内通报会议纪要丙"


def make_county():
    """文理村, 茅山村 and 东风村: a 党组织内部 notice of each of the first two
    branches, a 党内 notice and a public one on 文理村's board."""
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    dongfeng = UnitFactory(name="东风村", parent=town)
    branch_item = ItemFactory(scope=Scope.BRANCH)
    DisclosureFactory(unit=wenli, title="村务公开财务收支")
    DisclosureFactory(unit=wenli, item=branch_item, title=WENLI_BRANCH)
    DisclosureFactory(unit=maoshan, item=branch_item, title=MAOSHAN_BRANCH)
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title=INNER
    )
    return wenli, maoshan, dongfeng


def member(username: str, unit=None) -> Client:
    """A logged-in party member of `unit`'s branch (None: of no branch)."""
    client = Client()
    client.force_login(PartyMemberFactory(username=username, branch_of=unit))
    return client


def get(client: Client, path: str, status: int = 200):
    """The page, its text as `found`: without search's <mark> around the
    words it found."""
    response = client.get(path)
    assert response.status_code == status, path
    response.found = response.text.replace("<mark>", "").replace("</mark>", "")
    return response
