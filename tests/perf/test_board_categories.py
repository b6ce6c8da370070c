"""A board's unified columns (统一栏目: the categories with an item for its
level) kept until the catalog changes (disclosure.views.board_categories): a
board made again after a publication does not read the catalog, and every
change of the catalog that changes the columns shows on the next page, for
villages and towns, a visitor and a party member."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Category, Item
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def world():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    finance = CategoryFactory(name="财务公开")
    affairs = CategoryFactory(name="村务公开")
    ItemFactory(category=finance, name="财务收支", for_village=True, for_town=True)
    ItemFactory(category=affairs, name="低保评定", for_village=True, for_town=False)
    return {"town": town, "wenli": wenli, "finance": finance, "affairs": affairs}


def columns(client, unit) -> list[str]:
    text = client.get(f"/boards/{unit.slug}/").text
    return [
        name
        for name in Category.objects.values_list("name", flat=True)
        if f'class="board-column-title">{name}<' in text
    ]


def readers(unit) -> dict[str, Client]:
    member = Client()
    member.force_login(PartyMemberFactory(username="wenli_member", branch_of=unit))
    return {"visitor": Client(), "member": member}


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_the_columns_follow_every_catalog_change(world, who, changed):
    wenli, town = world["wenli"], world["town"]
    client = readers(wenli)[who]
    assert columns(client, wenli) == ["财务公开", "村务公开"]
    assert columns(client, town) == ["财务公开"]

    with changed():  # a new category with a village item: a new column
        ItemFactory(category=CategoryFactory(name="党务公开"), for_village=True)
    assert "党务公开" in columns(client, wenli)
    assert "党务公开" in columns(client, town)  # the factory's item: both

    with changed():  # its only item no longer for towns
        item = Item.objects.get(category__name="党务公开")
        item.for_town = False
        item.save()
    assert "党务公开" not in columns(client, town)
    assert "党务公开" in columns(client, wenli)

    with changed():  # renamed
        world["affairs"].name = "村务事项公开"
        world["affairs"].save()
    assert "村务事项公开" in columns(client, wenli)
    assert "村务公开" not in columns(client, wenli)

    with changed():  # its item deleted, then the category
        Item.objects.filter(category__name="党务公开").delete()
    assert "党务公开" not in columns(client, wenli)
    with changed():
        Category.objects.get(name="党务公开").delete()
    assert "党务公开" not in columns(client, wenli)


def test_a_board_made_again_after_a_publication_reads_no_catalog(world, changed):
    wenli = world["wenli"]
    item = Item.objects.get(name="财务收支")
    client = Client()
    client.get(f"/boards/{wenli.slug}/")
    with changed():
        DisclosureFactory(unit=wenli, item=item, title="六月财务收支公开")
    with CaptureQueriesContext(connection) as queries:
        text = client.get(f"/boards/{wenli.slug}/").text
    assert "六月财务收支公开" in text
    assert not [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT DISTINCT "catalog_category"')
    ]
