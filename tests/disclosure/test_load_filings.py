"""The rows the compliance engine reads of some units in a year
(`compliance.load_filings`): the year's published rows, and the 长期 items'
earlier rows still on display. The 长期 items are named by id in the query
(`standing_items`, kept under FILED), not joined by their timing: the rows
must be those the join by timing gives, and follow an item made 长期 or no
longer 长期."""

from datetime import date, timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from catalog.models import Item, Timing
from disclosure import compliance
from disclosure.models import Disclosure
from tests.factories import DisclosureFactory, ItemFactory, UnitFactory

pytestmark = pytest.mark.django_db

YEAR = 2011


def by_the_join(year: int, ids) -> list[int]:
    """The rows as the query named them before: the item's timing joined
    (sorted, duplicates kept)."""
    standing_before = Q(item__timing=Timing.STANDING, period_start__year__lt=year) & (
        Q(display_until__isnull=True) | Q(display_until__year__gte=year)
    )
    return sorted(
        Disclosure.objects.published()
        .filter(Q(period_start__year=year) | standing_before)
        .filter(unit_id__in=list(ids))
        .values_list("pk", flat=True)
    )


def ids_of(filings) -> list[int]:
    return sorted(f.id for f in filings)


def read(year: int, unit_ids) -> list[int]:
    return ids_of(compliance.load_filings(year, unit_ids))


@pytest.fixture
def county(django_capture_on_commit_callbacks):
    wenli, maoshan = UnitFactory(name="文里村"), UnitFactory(name="茅山村")
    monthly = ItemFactory(frequency=Item.Frequency.MONTHLY)
    standing = ItemFactory(frequency=Item.Frequency.YEARLY, timing=Timing.STANDING)
    other_standing = ItemFactory(
        frequency=Item.Frequency.YEARLY, timing=Timing.STANDING
    )
    yearly = ItemFactory(frequency=Item.Frequency.YEARLY)
    rows = {
        "this_month": DisclosureFactory(unit=wenli, item=monthly, period="2011-03"),
        "last_month_of_before": DisclosureFactory(
            unit=wenli, item=monthly, period="2010-12"
        ),
        "next_year": DisclosureFactory(unit=wenli, item=monthly, period="2012-01"),
        "standing_on_display": DisclosureFactory(
            unit=wenli, item=standing, period="2009"
        ),
        "standing_until_this_year": DisclosureFactory(
            unit=wenli,
            item=other_standing,
            period="2010",
            display_until=date(2011, 2, 1),
        ),
        "standing_taken_down": DisclosureFactory(
            unit=wenli, item=standing, period="2008", display_until=date(2010, 12, 31)
        ),
        "yearly_before": DisclosureFactory(unit=wenli, item=yearly, period="2010"),
        "other_units": DisclosureFactory(unit=maoshan, item=standing, period="2010"),
        "draft": DisclosureFactory(
            unit=wenli,
            item=standing,
            period="2010",
            status=Disclosure.Status.DRAFT,
            published_at=None,
        ),
        "scheduled": DisclosureFactory(
            unit=wenli,
            item=monthly,
            period="2011-04",
            published_at=timezone.now() + timedelta(days=1),
        ),
    }
    return {
        "wenli": wenli,
        "maoshan": maoshan,
        "standing": standing,
        "yearly": yearly,
        **rows,
    }


def test_the_years_rows_and_the_standing_items_still_on_display(county):
    found = read(YEAR, [county["wenli"].pk])
    named = {
        name
        for name, row in county.items()
        if isinstance(row, Disclosure) and row.pk in found
    }
    assert named == {
        "this_month",
        "standing_on_display",
        "standing_until_this_year",
    }
    assert found == by_the_join(YEAR, [county["wenli"].pk])


@pytest.mark.parametrize("year", [2008, 2009, 2010, 2011, 2012, 2013])
def test_every_year_and_unit_set_reads_what_the_join_reads(county, year):
    for units in (
        [county["wenli"]],
        [county["maoshan"]],
        [county["wenli"], county["maoshan"]],
    ):
        ids = [u.pk for u in units]
        assert read(year, ids) == by_the_join(year, ids), (year, ids)


def test_an_item_made_standing_or_no_longer_standing_is_read_again(
    county, django_capture_on_commit_callbacks
):
    wenli = [county["wenli"].pk]
    assert county["yearly_before"].pk not in read(YEAR, wenli)
    with django_capture_on_commit_callbacks(execute=True):
        item = Item.objects.get(pk=county["yearly"].pk)
        item.timing = Timing.STANDING
        item.save()
    assert county["yearly_before"].pk in read(YEAR, wenli)
    with django_capture_on_commit_callbacks(execute=True):
        item = Item.objects.get(pk=county["standing"].pk)
        item.timing = Timing.PERIOD_END
        item.save()
    found = read(YEAR, wenli)
    assert county["standing_on_display"].pk not in found
    assert found == by_the_join(YEAR, wenli)


def test_no_standing_item_at_all(county, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for item in Item.objects.filter(timing=Timing.STANDING):
            item.timing = Timing.PERIOD_END
            item.save()
    assert compliance.standing_items() == ()
    wenli = [county["wenli"].pk]
    assert read(YEAR, wenli) == [county["this_month"].pk] == by_the_join(YEAR, wenli)
