"""A board's rows and archive read with SQL kept per board, audience and day
(core.compiled, disclosure.views.board_body_context): what comes out with no
save comes out on the board at its time, and one audience's SQL never
serves another."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core import compiled
from tests.core.test_compiled import rows_coming_out
from tests.factories import PartyMemberFactory, TownFactory, UnitFactory
from tests.perf.test_fragments import logged_in, page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

AT = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)


@pytest.fixture
def wenli(db):
    wenli = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    rows_coming_out(wenli, AT)
    return wenli


def test_what_comes_out_with_no_save_is_on_the_board_at_its_time(wenli):
    compiled.forget()
    url = f"/boards/{wenli.slug}/"
    # The member reads first: the member's SQL is made first.
    member = logged_in(PartyMemberFactory(username="wenli_member", branch_of=wenli))
    visitor = Client()
    boards = {}
    for hours in (0, 1.5, 3):
        with time_machine.travel(AT + timedelta(hours=hours), tick=False):
            boards[hours] = {
                "member": page(member, url).decode(),
                "visitor": page(visitor, url).decode(),
            }
    assert compiled._plans  # the pages read through kept SQL
    for who in ("member", "visitor"):
        assert "一小时后公开" not in boards[0][who]
        assert "一小时后公开" in boards[1.5][who]
        # Its period is in the archive from then on.
        assert f"?period={AT.year}-{AT.month:02d}" not in boards[0][who]
        assert f"?period={AT.year}-{AT.month:02d}" in boards[1.5][who]
    assert "先党内后党外" in boards[0]["member"]
    assert "先党内后党外" not in boards[1.5]["visitor"]
    assert "先党内后党外" in boards[3]["visitor"]
    for hours in boards:
        assert "党内通报" in boards[hours]["member"]
        assert "?period=2010" in boards[hours]["member"]
        assert "党内通报" not in boards[hours]["visitor"]
        assert "?period=2010" not in boards[hours]["visitor"]
