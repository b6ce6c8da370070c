import pytest

from catalog.models import Item, Scope
from tests.factories import DisclosureFactory, ItemFactory, TownFactory, UnitFactory

pytestmark = pytest.mark.django_db


def test_catalog_page_lists_items_with_frequency_scope_forms_and_department(client):
    ItemFactory(code="A09", name="为民办实事项目", frequency=Item.Frequency.QUARTERLY)
    response = client.get("/catalog/")
    assert response.status_code == 200
    for text in ["A09", "为民办实事项目", "每季度", "社会公开", "党务公开栏", "党政办"]:
        assert text in response.text


def test_catalog_item_page_shows_what_each_unit_published(client):
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    UnitFactory(name="茅山村", parent=town)
    item = ItemFactory(code="A09", for_town=False)
    DisclosureFactory(unit=wenli, item=item, title="文理村实事进展")
    response = client.get("/catalog/A09/")
    assert response.status_code == 200
    rows = {row["unit"].name: row["disclosures"] for row in response.context["rows"]}
    assert set(rows) == {"文理村", "茅山村"}
    assert [d.title for d in rows["文理村"]] == ["文理村实事进展"]
    assert "尚无公开内容" in response.text


def test_inner_party_item_page_hides_its_disclosures_from_anonymous(client):
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    item = ItemFactory(code="C05", scope=Scope.INNER_PARTY)
    DisclosureFactory(unit=wenli, item=item, title="党员发展对象名单")
    response = client.get("/catalog/C05/")
    assert response.status_code == 200
    assert "党员发展对象名单" not in response.text
    assert "仅向党员公开" in response.text


def test_inner_party_item_page_shows_disclosures_to_party_member(party_client):
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    item = ItemFactory(code="C05", scope=Scope.INNER_PARTY)
    DisclosureFactory(unit=wenli, item=item, title="党员发展对象名单")
    assert "党员发展对象名单" in party_client.get("/catalog/C05/").text


def test_unknown_catalog_item_is_404(client):
    assert client.get("/catalog/ZZ99/").status_code == 404
