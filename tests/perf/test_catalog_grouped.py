"""What counts of disclosures read of the catalog is named apart (GROUPED,
catalog.page_scopes): which category an item is in, which catalog a
category is in, a catalog's kind. A change of one of them counts the
statistics' charts of disclosures and the home page's figures again; a
name, an order, a rule, a time limit or a new item keeps their counts and
shows the new names. Either way the pages equal those made with nothing
kept."""

import pytest
from django.test import Client

from catalog.models import Catalog, Category, Item, ScheduleRule
from catalog.page_scopes import (
    CATALOG,
    CATEGORIES,
    COUNTED,
    FILED,
    GROUPED,
    catalog_scopes,
    note_counted_change,
)
from core import events
from disclosure import figures
from tests.factories import CatalogFactory, CategoryFactory, ItemFactory
from tests.perf.kept import nothing_kept
from tests.perf.test_catalog_counted import _save, loaded
from tests.perf.test_unit_and_catalog_scopes import counted, county  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

STATS = "/stats/?town=fengming"
VILLAGE_STATS = "/stats/?unit=wenli"


def shown(client) -> dict:
    """What a visitor reads of the counts of disclosures and the names on them."""
    town, village, home = (client.get(p) for p in (STATS, VILLAGE_STATS, "/"))
    assert town.status_code == village.status_code == home.status_code == 200
    return {
        "stats": town.context["charts"],
        "village": village.context["charts"],
        "home": home.content.decode(),
    }


def shown_afresh(settings) -> dict:
    return nothing_kept(settings, lambda: shown(Client()))


def labels(result, key) -> list[str]:
    return next(c for c in result["stats"] if c.key == key).labels


# What moves disclosures to another category or kind: counted again.
def _item_to_another_category(world):
    other = CategoryFactory(catalog=world["item"].category.catalog, name="另一栏目")
    _save(loaded(Item, world["item"].pk), category_id=other.pk)


def _item_to_another_catalog(world):
    other = CategoryFactory(
        catalog=CatalogFactory(kind=Catalog.Kind.VILLAGE), name="村务栏目"
    )
    _save(loaded(Item, world["item"].pk), category_id=other.pk)


def _category_to_another_catalog(world):
    other = CatalogFactory(kind=Catalog.Kind.GOVERNMENT)
    _save(loaded(Category, world["item"].category_id), catalog=other)


def _catalog_of_another_kind(world):
    catalog = loaded(Catalog, world["item"].category.catalog_id)
    Catalog.objects.filter(kind=Catalog.Kind.VILLAGE).exclude(pk=catalog.pk).delete()
    _save(catalog, kind=Catalog.Kind.VILLAGE)


def _item_moved_in_bulk(world):
    other = CategoryFactory(catalog=world["item"].category.catalog, name="批量栏目")
    Item.objects.filter(pk=world["item"].pk).update(category=other)


def _moved_through_an_older_instance(world):
    # Loaded before a move back: what it remembers is not what the row holds.
    old = loaded(Item, world["item"].pk)
    other = CategoryFactory(catalog=world["item"].category.catalog, name="先移走")
    _save(loaded(Item, world["item"].pk), category_id=other.pk)
    old.name = "旧实例保存"
    old.save()  # writes the first category back


def _saved_over_by_hand(world):
    item = loaded(Item, world["item"].pk)
    other = CategoryFactory(catalog=item.category.catalog, name="手建栏目")
    by_hand = Item(
        **{f.attname: getattr(item, f.attname) for f in Item._meta.concrete_fields}
    )
    by_hand.category_id = other.pk
    by_hand.save()


# What moves no disclosure: the counts stay kept.
def _item_renamed(world):
    _save(loaded(Item, world["item"].pk), name="改了名的事项", order=99)


def _category_renamed(world):
    _save(loaded(Category, world["item"].category_id), name="改了名的栏目", order=9)


def _catalog_renamed(world):
    _save(loaded(Catalog, world["item"].category.catalog_id), name="改了名的目录")


def _frequency(world):
    _save(loaded(Item, world["item"].pk), frequency=Item.Frequency.QUARTERLY)


def _notice_days(world):
    _save(loaded(Item, world["item"].pk), notice_days=7)


def _rule(world):
    rule, _ = ScheduleRule.objects.get_or_create(
        catalog_id=world["item"].category.catalog_id
    )
    _save(rule, monthly_due_day=28)


def _new_item(world):
    ItemFactory(category=world["item"].category, frequency=Item.Frequency.YEARLY)


def _new_category(world):
    CategoryFactory(catalog=world["item"].category.catalog, name="新栏目")


@pytest.mark.parametrize(
    "change",
    [
        _item_to_another_category,
        _item_to_another_catalog,
        _category_to_another_catalog,
        _catalog_of_another_kind,
        _item_moved_in_bulk,
        _moved_through_an_older_instance,
        _saved_over_by_hand,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_move_counts_the_disclosures_again(
    county,  # noqa: F811
    change,
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
):
    visitor = Client()
    shown(visitor)
    # A village's counts (`count`), a town's added up from its units'
    # (`count_by_unit`).
    counts = counted(monkeypatch, figures, "count")
    by_unit = counted(monkeypatch, figures, "count_by_unit")
    shown(visitor)
    assert counts == by_unit == []  # all kept
    with django_capture_on_commit_callbacks(execute=True):
        change(county)
    after = shown(visitor)
    assert counts and by_unit  # the village's and the town's
    assert after == shown_afresh(settings)


@pytest.mark.parametrize(
    "change",
    [
        _item_renamed,
        _category_renamed,
        _catalog_renamed,
        _frequency,
        _notice_days,
        _rule,
        _new_item,
        _new_category,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_change_that_moves_no_disclosure_keeps_the_counts(
    county,  # noqa: F811
    change,
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
):
    visitor = Client()
    before = shown(visitor)
    counts = counted(monkeypatch, figures, "count")
    with django_capture_on_commit_callbacks(execute=True):
        change(county)
    after = shown(visitor)
    assert counts == []  # nothing counted again
    assert after == shown_afresh(settings)
    if change is _category_renamed:
        assert any(
            "改了名的栏目" in label for label in labels(after, "disclosures-category")
        )
        assert before != after


def test_a_move_shows_under_the_new_category_and_kind(
    county,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    visitor = Client()
    before = shown(visitor)
    assert not any(
        "村务栏目" in label for label in labels(before, "disclosures-category")
    )
    with django_capture_on_commit_callbacks(execute=True):
        _item_to_another_catalog(county)
    after = shown(visitor)
    assert any("村务栏目" in label for label in labels(after, "disclosures-category"))
    month = next(c for c in after["stats"] if c.key == "disclosures-month")
    village = dict(month.series)[Catalog.Kind.VILLAGE.label]
    assert sum(village) == 2  # the town's two villages' rows


def test_the_scopes_a_catalog_save_names():
    def named(row, name="saved", **details):
        note_counted_change(type(row), row)  # what a save asks first
        event = events.Event(name, row._meta.label, (row.pk,), instance=row, **details)
        return catalog_scopes(event)

    item = ItemFactory()
    row = Item.objects.get(pk=item.pk)
    row.name = "新名称"
    assert named(row) == [CATALOG]
    row.frequency = Item.Frequency.YEARLY
    assert named(row) == [CATALOG, COUNTED]
    row.category = CategoryFactory(catalog=item.category.catalog)
    assert named(row) == [CATALOG, COUNTED, GROUPED]
    # A deletion or a row loaded as it is: which rows count as filed too.
    assert named(row, "deleted") == [CATALOG, COUNTED, GROUPED, FILED]
    loaded_as_it_is = named(Item.objects.get(pk=item.pk), raw=True)
    assert loaded_as_it_is == [CATALOG, COUNTED, GROUPED, FILED]
    # New: nothing is filed under it yet (but it may be the 点题 item).
    new = Item(category=item.category, code="Z9", name="新事项")
    assert named(new) == [CATALOG, COUNTED, FILED]
    rule = ScheduleRule(catalog=item.category.catalog)
    assert catalog_scopes(
        events.Event("saved", "catalog.ScheduleRule", instance=rule)
    ) == [
        CATALOG,
        COUNTED,
    ]
    # A catalog's or a category's change: a board's columns too (CATEGORIES).
    category = Category.objects.get(pk=item.category_id)
    category.name = "改名"
    assert named(category) == [CATALOG, CATEGORIES]
    category.catalog = CatalogFactory(kind=Catalog.Kind.GOVERNMENT)
    assert named(category) == [CATALOG, COUNTED, GROUPED, CATEGORIES]
    catalog = Catalog.objects.get(pk=item.category.catalog_id)
    catalog.name = "改名的目录"
    assert named(catalog) == [CATALOG, CATEGORIES]
