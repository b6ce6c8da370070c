"""When the periods a list offers change with no save: the first scheduled
row (a publication, a public date) in a period no visible row holds yet
(disclosure.page_scopes, PERIODS), asked of the database a hundred periods
a statement."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from disclosure import page_scopes
from tests.factories import DisclosureFactory, ItemFactory, UnitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    with time_machine.travel(timezone.now(), tick=False):
        yield timezone.now()


def next_new_period(now):
    return page_scopes.next_change([page_scopes.PERIODS], now)


def test_the_first_row_of_a_period_nobody_sees_yet(now):
    unit, item = UnitFactory(), ItemFactory()

    def row(period, **when):
        when.setdefault("published_at", now - timedelta(days=1))
        return DisclosureFactory(unit=unit, item=item, period=period, **when)

    # 120 periods held: two statements' worth of them.
    held = [
        f"{year}-{month:02d}" for year in range(2001, 2011) for month in range(1, 13)
    ]
    for period in held:
        row(period)
    assert next_new_period(now) is None
    # Rows due in held periods bring no new period.
    row("2005-06", published_at=now + timedelta(minutes=10))
    row("2010-12", published_at=now + timedelta(minutes=20))
    assert next_new_period(now) is None
    # A period nobody holds: its first row.
    row("2011-09", published_at=now + timedelta(hours=5))
    row("2011-09", published_at=now + timedelta(hours=2))
    assert next_new_period(now) == now + timedelta(hours=2)
    # 先党内后党外: out to members, public in an hour; visitors do not
    # hold its period until then.
    row("2011-Q3", public_from=now + timedelta(hours=1))
    assert next_new_period(now) == now + timedelta(hours=1)
    # Once a visible row holds it, that period's later rows change nothing.
    row("2011-09")
    row("2011-Q3")
    assert next_new_period(now) is None


def test_a_period_past_the_hundredth_is_asked_too(now):
    unit, item = UnitFactory(), ItemFactory()
    due = now + timedelta(hours=3)
    scheduled = [
        f"{year}-{month:02d}" for year in range(2001, 2012) for month in range(1, 13)
    ]
    assert len(scheduled) > 100
    for period in scheduled:
        DisclosureFactory(unit=unit, item=item, period=period, published_at=due)
    # Each held but the last, which sorts after the first hundred.
    for period in scheduled[:-1]:
        DisclosureFactory(
            unit=unit, item=item, period=period, published_at=now - timedelta(days=1)
        )
    assert next_new_period(now) == due
    DisclosureFactory(
        unit=unit,
        item=item,
        period=scheduled[-1],
        published_at=now - timedelta(days=1),
    )
    assert next_new_period(now) is None
