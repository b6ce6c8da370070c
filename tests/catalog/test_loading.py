import pytest
from django.core.exceptions import ValidationError

from catalog.loading import load_catalog, read
from catalog.models import Catalog, Category, Item

pytestmark = pytest.mark.django_db


def small_catalog(**item_changes) -> dict:
    item = {
        "code": "A01",
        "name": "上级党委重要决策部署及贯彻落实情况",
        "department": "党政办",
        "frequency": "immediately",
        "scope": "public",
        "forms": ["党务公开栏"],
        "levels": ["town", "village"],
    }
    category = {"code": "A", "name": "民主决策", "items": [item | item_changes]}
    return {"categories": [category]}


def test_a_catalog_loads_and_a_second_load_changes_nothing():
    for _ in range(2):
        load_catalog(small_catalog(), kind=Catalog.Kind.PARTY, name="党务公开目录")
    assert Item.objects.get().name == "上级党委重要决策部署及贯彻落实情况"


@pytest.mark.parametrize("field", ["name", "department"])
def test_a_control_character_in_the_file_loads_nothing_and_says_where(field):
    data = small_catalog(**{field: "贯彻\x1b[31m落实"})
    with pytest.raises(ValidationError, match="控制字符"):
        load_catalog(data, kind=Catalog.Kind.PARTY, name="党务公开目录")
    assert not Catalog.objects.exists()
    assert not Category.objects.exists()


def test_the_shipped_catalogs_pass_the_checks():
    for order, (name, kind) in enumerate(
        [
            ("party_catalog.json", Catalog.Kind.PARTY),
            ("government_catalog.json", Catalog.Kind.GOVERNMENT),
            ("village_catalog.json", Catalog.Kind.VILLAGE),
        ]
    ):
        data = read(name)
        load_catalog(data, kind=kind, name=data.get("name", name), order=order)
    assert Item.objects.count() > 50


def test_the_shipped_party_catalog_refuses_nil_for_what_always_has_content():
    load_catalog(read("party_catalog.json"), kind=Catalog.Kind.PARTY, name="党务")
    never = set(Item.objects.filter(nil_allowed=False).values_list("code", flat=True))
    # Monthly branch decisions, 三会一课, 党费, the year's plans, standing items
    # and the yearly exercises the rules require.
    assert {"A06", "B04", "C07", "A02", "C01", "C09", "D05", "D06", "G03"} <= never
    assert "A01" not in never and "C08" not in never
