import pytest

from disclosure import page_scopes
from tests.factories import TownFactory, UnitFactory

pytestmark = pytest.mark.django_db


def test_a_units_scopes_follow_its_slug_after_a_save(django_assert_num_queries):
    village = UnitFactory(name="文理村", parent=TownFactory(name="凤鸣镇"))
    town_slug = village.parent.slug
    assert page_scopes.unit_scopes([village.pk]) == [
        f"unit:{village.slug}",
        f"town:{town_slug}",
    ]
    # Kept: a 回音壁 POST's scopes cost no query.
    with django_assert_num_queries(0):
        page_scopes.unit_scopes([village.pk, None])
    village.slug = "wenli-cun"
    village.save()
    assert page_scopes.unit_scopes([village.pk]) == [
        "unit:wenli-cun",
        f"town:{town_slug}",
    ]


def test_kept_slugs_are_read_again_after_their_time(monkeypatch):
    village = UnitFactory(name="茅山村", parent=TownFactory(name="凤鸣镇"))
    page_scopes.unit_scopes([village.pk])
    # Changed by another process: no event here.
    type(village).objects.filter(pk=village.pk).update(slug="maoshan-2")
    assert f"unit:{village.slug}" in page_scopes.unit_scopes([village.pk])
    monkeypatch.setattr(page_scopes, "SLUGS_SECONDS", -1)
    assert "unit:maoshan-2" in page_scopes.unit_scopes([village.pk])
