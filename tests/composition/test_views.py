import pytest
from django.db import DatabaseError

from catalog.models import Scope
from tests.factories import DisclosureFactory, ItemFactory, TownFactory, UnitFactory

pytestmark = pytest.mark.django_db


def test_home_without_any_town_explains_what_to_do(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "seed_demo" in response.text


def test_home_counts_boards_liaison_points_and_disclosures_of_every_scope(
    client, party_client
):
    """Counts cover every scope (the compliance matrix shows every filing
    too); titles stay per reader."""
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town, is_liaison_point=True)
    UnitFactory(name="牌坊村", parent=town)
    DisclosureFactory(unit=wenli, title="公开的")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title="党内的"
    )

    figures = party_client.get("/").context["figures"]
    assert figures["boards"] == 2
    assert figures["liaison_points"] == 1
    assert figures["party"] == 2
    assert (figures["government"], figures["village"]) == (0, 0)
    party_client.logout()
    anonymous = client.get("/")
    assert anonymous.context["figures"]["party"] == 2
    assert "党内的" not in anonymous.text
    assert "公开的" in anonymous.text


def test_every_page_is_chinese_and_mobile_ready(client):
    TownFactory()
    response = client.get("/")
    assert '<html lang="zh-Hans">' in response.text
    assert 'name="viewport"' in response.text
    assert "bootstrap.min.css" in response.text


def test_healthz_is_200_with_the_database_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200


def test_healthz_is_503_without_the_database(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise DatabaseError("down")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503


def test_login_page_is_the_portals_own(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "党员登录后可查看党内公开内容" in response.text
