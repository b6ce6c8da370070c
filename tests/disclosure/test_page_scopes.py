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


class Failed(Exception):
    pass


def renamed_then_rolled_back(block, village) -> None:
    """The village renamed and its scopes read (as a case saved in the same
    transaction reads them) in `block`, which then fails."""
    with pytest.raises(Failed):
        with block:
            village.slug = "renamed"
            village.save()
            assert page_scopes.unit_scopes([village.pk])[0] == "unit:renamed"
            raise Failed


def test_slugs_read_in_a_transaction_rolled_back_are_forgotten():
    from django.db import transaction

    village = UnitFactory(slug="wenli", parent=TownFactory(slug="fengming"))
    renamed_then_rolled_back(transaction.atomic(), village)
    assert page_scopes.unit_scopes([village.pk]) == ["unit:wenli", "town:fengming"]


def test_slugs_read_in_a_rolled_back_request_are_forgotten_by_the_next():
    """A view's `atomic` decorator enters the same block object on every
    request: the next request's start forgets what the failed one read."""
    from django.core.signals import request_started
    from django.db import close_old_connections, transaction

    village = UnitFactory(slug="wenli", parent=TownFactory(slug="fengming"))
    view_block = transaction.atomic()
    renamed_then_rolled_back(view_block, village)
    # Not Django's own receiver: it would close the test's connection.
    request_started.disconnect(close_old_connections)
    try:
        with view_block:  # the next request through the same view
            request_started.send(sender=None)
            assert page_scopes.unit_scopes([village.pk]) == [
                "unit:wenli",
                "town:fengming",
            ]
    finally:
        request_started.connect(close_old_connections)
