"""A disclosure's entry on boards, lists and the home page (disclosure_entry)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from catalog.models import Scope
from disclosure.templatetags.disclosure_tags import disclosure_entry
from tests.factories import DisclosureFactory, ItemFactory, TownFactory, UnitFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_an_entry_links_the_title_escaped_with_unit_period_and_local_date():
    unit = UnitFactory(name="文理村", parent=TownFactory())
    disclosure = DisclosureFactory(
        unit=unit,
        title="<b>财务</b>收支",
        period="2011-Q3",
        # 23:30 on 30 September in UTC is 1 October in Sichuan.
        published_at=datetime(2011, 9, 30, 23, 30, tzinfo=ZoneInfo("UTC")),
    )
    html = disclosure_entry(disclosure, show_unit=True)
    assert (
        f'<a href="/disclosures/{disclosure.pk}/">&lt;b&gt;财务&lt;/b&gt;收支</a>'
        in html
    )
    assert "文理村 · 2011年第三季度 · " in html
    assert '<time datetime="2011-10-01T07:30:00+08:00">2011年10月1日</time>' in html
    assert "badge-inner" not in html


def test_an_inner_party_entry_is_badged_and_posting_dates_are_shown():
    disclosure = DisclosureFactory(
        item=ItemFactory(scope=Scope.INNER_PARTY),
        posted_on=date(2011, 9, 5),
        taken_down_on=date(2011, 9, 20),
    )
    html = disclosure_entry(disclosure)
    assert '<span class="badge badge-inner">党内公开</span>' in html
    assert "张贴于 9月5日 – 9月20日" in html
    disclosure.taken_down_on = None
    assert "9月5日 起张贴" in disclosure_entry(disclosure)


def test_the_board_and_the_list_show_the_same_entry(client):
    unit = UnitFactory(name="文理村", parent=TownFactory())
    disclosure = DisclosureFactory(unit=unit, title="村务公开财务收支")
    board = client.get(f"/boards/{unit.slug}/").text
    listing = client.get("/disclosures/").text
    link = f'<a href="/disclosures/{disclosure.pk}/">村务公开财务收支</a>'
    assert link in board and link in listing
    assert "文理村 · " in listing
