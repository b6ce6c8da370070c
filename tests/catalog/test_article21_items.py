"""The town-level items of the 政府信息公开条例 arts. 20–21 in the 政务
catalog: shipped in its data file, and added to a catalog loaded before by
migration catalog/0011 (reversible, keeping an item something refers to)."""

import importlib

import pytest
from django.apps import apps

from catalog.loading import load_catalog, read
from catalog.models import Catalog, Category, Item
from tests.factories import DisclosureFactory, UnitFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "catalog.migrations.0011_government_article21_items"
)
NEW = [row[2] for row in migration.ITEMS]


def old_government_catalog() -> dict:
    data = read("government_catalog.json")
    data["categories"] = [
        {**c, "items": [i for i in c["items"] if i["code"] not in NEW]}
        for c in data["categories"]
        if c["code"] not in migration.CATEGORIES
    ]
    return data


def test_the_data_file_has_the_article_21_items():
    data = read("government_catalog.json")
    load_catalog(data, kind=Catalog.Kind.GOVERNMENT, name=data["name"])
    names = set(Item.objects.values_list("name", flat=True))
    for words in ("宅基地", "土地承包经营权流转", "农田水利", "筹资筹劳", "房屋征收"):
        assert any(words in name for name in names), words
    assert Item.objects.count() == 27
    assert set(Item.objects.filter(code__in=NEW).values_list("code", flat=True)) == set(
        NEW
    )
    for item in Item.objects.filter(code__in=NEW):
        item.full_clean()
        assert item.for_town and not item.for_village and item.is_public


def test_the_party_catalog_keeps_its_64_items():
    load_catalog(read("party_catalog.json"), kind=Catalog.Kind.PARTY, name="党务")
    assert Item.objects.count() == 64


def test_the_migration_adds_the_items_to_an_older_catalog_and_goes_back():
    load_catalog(old_government_catalog(), kind=Catalog.Kind.GOVERNMENT, name="政务")
    assert Item.objects.count() == 14
    migration.add_items(apps, None)
    migration.add_items(apps, None)  # twice: nothing more
    assert Item.objects.count() == 27
    homestead = Item.objects.get(code="ZW23")
    assert homestead.category.code == "ZD"
    assert homestead.forms.count() == 2 and homestead.department.name == "国土所"
    assert Category.objects.filter(code__in=["ZD", "ZE"]).count() == 2
    # Shipped as the data file ships them.
    shipped = {
        i["code"]: i
        for c in read("government_catalog.json")["categories"]
        for i in c["items"]
    }
    for item in Item.objects.filter(code__in=NEW):
        assert item.name == shipped[item.code]["name"]
        assert item.timing == shipped[item.code]["timing"]
    # Back: an item something was disclosed under stays.
    DisclosureFactory(item=homestead, unit=UnitFactory(kind="town"), period="2011-06")
    migration.remove_items(apps, None)
    assert list(Item.objects.filter(code__in=NEW).values_list("code", flat=True)) == [
        "ZW23"
    ]
    assert Item.objects.count() == 15
    assert Category.objects.filter(code="ZE").count() == 0


def test_the_migration_does_nothing_without_a_government_catalog():
    migration.add_items(apps, None)
    assert not Item.objects.exists()
