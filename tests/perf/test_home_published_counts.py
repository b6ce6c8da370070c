"""The home page's "published this year" figures (composition.views.
published_figures) kept unit by unit: a publication in a village counts
that village again, not the town; the figures stay what the records say
after a scheduled publication comes due, an item made 党内, a disclosure
moved between villages or withdrawn, and a village moved to another town."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from catalog.models import Catalog, Item, Scope
from composition import views as composition_views
from disclosure.models import Disclosure
from tests.factories import CatalogFactory, CategoryFactory, DisclosureFactory
from tests.perf.kept import nothing_kept
from tests.perf.test_scoped_values import counted, two_towns

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

HOME = "/?town=fengming"
TOWN = ("fengming", "wenli", "maoshan")


@pytest.fixture
def county():
    """Two towns (test_scoped_values), their rows published at today's first
    moment: the figures are of the latest year with data, and the factory's
    rows of yesterday are of last year on 1 January (FENGMING_TEST_CLOCK)."""
    towns = two_towns()
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    Disclosure.objects.update(published_at=today)
    return towns


def just_out():
    return timezone.now() - timedelta(seconds=1)


def published(client) -> int:
    """The three figures as the page shows them (kept fragments included)."""
    page = client.get(HOME).text
    return sum(
        int(re.search(rf'id="figure-{kind}"><dt>.*?</dt><dd>(\d+)</dd>', page)[1])
        for kind in ("party", "government", "village")
    )


def same_as_fresh(settings, client) -> int:
    shown = published(client)
    assert shown == nothing_kept(settings, lambda: published(client))
    return shown


def read_units(calls) -> list[set[int]]:
    return [set(args[0]) for args, _ in calls]


def test_a_publication_in_a_village_counts_that_village_again(
    county, changed, monkeypatch, settings
):
    reads = counted(monkeypatch, composition_views, "_published_by_unit")
    visitor = Client()
    before = published(visitor)
    with changed():
        DisclosureFactory(
            unit=county["wenli"], item=county["item"], published_at=just_out()
        )
    assert published(visitor) == before + 1
    assert read_units(reads) == [{county[s].pk for s in TOWN}, {county["wenli"].pk}]
    assert same_as_fresh(settings, visitor) == before + 1
    calls = len(reads)
    with changed():  # another town's: the home page kept, nothing read again
        DisclosureFactory(
            unit=county["xiacun"], item=county["item"], published_at=just_out()
        )
    assert "figures" not in visitor.get(HOME).context
    assert len(reads) == calls


def test_a_scheduled_publication_is_counted_when_it_comes_due(
    county, changed, settings
):
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    visitor = Client()
    with time_machine.travel(noon, tick=False):
        with changed():
            DisclosureFactory(
                unit=county["maoshan"],
                item=county["item"],
                published_at=noon + timedelta(minutes=30),
            )
        before = published(visitor)
    with time_machine.travel(noon + timedelta(minutes=30, seconds=1), tick=False):
        assert same_as_fresh(settings, visitor) == before + 1


def test_an_item_made_inner_party_counts_the_same_and_reads_nothing_again(
    county, changed, monkeypatch, settings
):
    reads = counted(monkeypatch, composition_views, "_published_by_unit")
    visitor = Client()
    before = published(visitor)
    with changed():
        county["item"].scope = Scope.INNER_PARTY
        county["item"].save()  # its disclosures follow: who reads them, not how many
    assert Disclosure.objects.filter(scope=Scope.INNER_PARTY).exists()
    assert published(visitor) == before
    assert len(reads) == 1  # the page made again, the counts kept
    assert same_as_fresh(settings, visitor) == before


def test_a_disclosure_moved_or_withdrawn_and_a_village_moved_away(
    county, changed, settings
):
    visitor = Client()
    before = published(visitor)
    row = Disclosure.objects.get(unit=county["wenli"])
    with changed():
        row.unit = county["maoshan"]
        row.save()
    assert same_as_fresh(settings, visitor) == before
    with changed():
        row.unit = county["shangcun"]  # to another town
        row.save()
    assert same_as_fresh(settings, visitor) == before - 1
    with changed():
        row = Disclosure.objects.get(unit=county["maoshan"])
        row.status = Disclosure.Status.WITHDRAWN
        row.withdrawn_at = timezone.now()
        row.withdrawal_reason = "内容有误。"
        row.save()
    assert same_as_fresh(settings, visitor) == before - 2
    with changed():
        county["shangcun"].parent = county["fengming"]
        county["shangcun"].save()
    assert same_as_fresh(settings, visitor) == before - 2 + 2


def figures(client) -> dict[str, int]:
    page = client.get(HOME).text
    return {
        kind: int(re.search(rf'id="figure-{kind}"><dt>.*?</dt><dd>(\d+)</dd>', page)[1])
        for kind in ("party", "government", "village")
    }


def test_an_item_another_process_made_is_counted_under_its_kind(
    county, changed, settings
):
    """The rows are counted by item, each item's kind read from a kept map
    (composition.views._item_kinds, under the catalog's scope): an item made
    in another process, whose catalog change this process has not read yet
    (made here by bulk_create: no signal, no bump), is read afresh, not a
    500 nor a row left uncounted."""
    government = CategoryFactory(
        catalog=CatalogFactory(kind=Catalog.Kind.GOVERNMENT, name="政务公开目录")
    )
    visitor = Client()
    before = figures(visitor)
    (new_item,) = Item.objects.bulk_create(
        [
            Item(
                category=government,
                code="ZW99",
                name="新事项",
                frequency=Item.Frequency.MONTHLY,
                department=county["item"].department,
            )
        ]
    )
    with changed():
        DisclosureFactory(unit=county["wenli"], item=new_item, published_at=just_out())
    after = figures(visitor)
    assert after == {**before, "government": before["government"] + 1}
    assert after == nothing_kept(settings, lambda: figures(visitor))
