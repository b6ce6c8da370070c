"""What the compliance engine reads of the catalog is named apart (COUNTED,
catalog.page_scopes): a change of it counts the matrix and the statistics'
on-time shares again; a name, an order, a department or a form changed
keeps the engine's counts and shows the new name. Either way the pages
equal those made with nothing kept."""

from datetime import date

import pytest
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import (
    Catalog,
    Category,
    Department,
    DisclosureForm,
    Item,
    ScheduleRule,
)
from catalog.page_scopes import (
    CATALOG,
    COUNTED,
    FILED,
    catalog_scopes,
    note_counted_change,
)
from core import events
from disclosure import compliance
from disclosure.filters import board_unit_options
from disclosure.models import Unit
from tests.factories import CatalogFactory, CategoryFactory, ItemFactory
from tests.perf.kept import nothing_kept
from tests.perf.test_unit_and_catalog_scopes import counted, county  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

MATRIX = "/compliance/?kind=party&town=fengming"
UNIT_PAGE = "/compliance/wenli/?kind=party"
STATS = "/stats/?town=fengming"


def pages(client) -> dict:
    """What a visitor reads of the engine's counts and the catalog's names."""
    matrix = client.get(MATRIX)
    stats = client.get(STATS)
    assert matrix.status_code == stats.status_code == 200
    return {
        "matrix": matrix.context["matrix_table"],
        "columns": [c.name for c in matrix.context["categories"]],
        "stats": stats.context["charts"],
        "unit": client.get(UNIT_PAGE).content.decode(),
    }


def plain(settings) -> dict:
    """The same pages with nothing kept."""
    return nothing_kept(settings, lambda: pages(Client()))


def loaded(model, pk):
    return model.objects.get(pk=pk)


def _save(row, **fields):
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()


# Changes that may change what is owed: the engine counts again.
def _frequency(world):
    _save(loaded(Item, world["item"].pk), frequency=Item.Frequency.QUARTERLY)


def _not_for_villages(world):
    _save(loaded(Item, world["item"].pk), for_village=False)


def _notice_days(world):
    _save(loaded(Item, world["item"].pk), notice_days=7)


def _nil_allowed(world):
    item = loaded(Item, world["item"].pk)
    _save(item, nil_allowed=not item.nil_allowed)


def _code(world):
    _save(loaded(Item, world["item"].pk), code="F02")


def _moved_to_another_catalog(world):
    other = CategoryFactory(catalog=CatalogFactory(kind=Catalog.Kind.VILLAGE))
    _save(loaded(Item, world["item"].pk), category_id=other.pk)


def _category_moved(world):
    other = CatalogFactory(kind=Catalog.Kind.GOVERNMENT)
    _save(loaded(Category, world["item"].category_id), catalog=other)


def _adopted_later(world):
    catalog = loaded(Catalog, world["item"].category.catalog_id)
    _save(catalog, adopted_on=date(timezone.localdate().year, 12, 31))


def _rule(world):
    rule, _ = ScheduleRule.objects.get_or_create(
        catalog_id=world["item"].category.catalog_id
    )
    _save(rule, monthly_due_day=28)


def _new_item(world):
    ItemFactory(category=world["item"].category, frequency=Item.Frequency.YEARLY)


def _item_deleted(world):
    loaded(Item, world["spare"].pk).delete()


def _saved_over_by_hand(world):
    # Built, not loaded (a restore, django-simple-history's revert): what the
    # row was is unknown.
    item = loaded(Item, world["item"].pk)
    by_hand = Item(
        **{f.attname: getattr(item, f.attname) for f in Item._meta.concrete_fields}
    )
    by_hand.frequency = Item.Frequency.YEARLY
    by_hand.save()


# Changes that only what pages show: the counts stay kept.
def _item_renamed(world):
    _save(loaded(Item, world["item"].pk), name="改了名的事项", order=99)


def _category_renamed(world):
    _save(loaded(Category, world["item"].category_id), name="改了名的栏目", order=9)


def _catalog_renamed(world):
    catalog = loaded(Catalog, world["item"].category.catalog_id)
    _save(catalog, name="改了名的目录", note="说明", document="凤委发[2026]1号")


def _department(world):
    _save(loaded(Department, world["item"].department_id), name="党建办")


def _form(world):
    DisclosureForm.objects.create(name="微信群")
    loaded(Item, world["item"].pk).forms.add(DisclosureForm.objects.get(name="微信群"))


@pytest.fixture
def catalog_county(county):  # noqa: F811
    county["spare"] = ItemFactory(category=county["item"].category)
    return county


def watch(monkeypatch):
    # The kept ones (the unit page counts its unit on each miss: `load`).
    return counted(monkeypatch, compliance, "counts_by_unit")


@pytest.mark.parametrize(
    "change",
    [
        _frequency,
        _not_for_villages,
        _notice_days,
        _nil_allowed,
        _code,
        _moved_to_another_catalog,
        _category_moved,
        _adopted_later,
        _rule,
        _new_item,
        _item_deleted,
        _saved_over_by_hand,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_change_the_engine_reads_counts_again(
    catalog_county, change, monkeypatch, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    pages(visitor)
    loads = watch(monkeypatch)
    pages(visitor)
    assert loads == []  # all kept
    with django_capture_on_commit_callbacks(execute=True):
        change(catalog_county)
    after = pages(visitor)
    assert len(loads) >= 2  # the matrix's and the statistics'
    assert after == plain(settings)


@pytest.mark.parametrize(
    "change",
    [_item_renamed, _category_renamed, _catalog_renamed, _department, _form],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_name_changed_keeps_the_counts_and_shows_the_name(
    catalog_county, change, monkeypatch, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    before = pages(visitor)
    loads = watch(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        change(catalog_county)
    after = pages(visitor)
    assert loads == []  # nothing counted again
    assert after == plain(settings)
    if change is _category_renamed:
        assert "改了名的栏目" in after["columns"]
        assert "改了名的栏目" in after["matrix"] and before != after


def test_the_rename_names_the_catalog_not_the_counts():
    item = ItemFactory()
    row = Item.objects.get(pk=item.pk)
    row.name = "新名称"
    event = events.Event("saved", "catalog.Item", (row.pk,), instance=row)
    note_counted_change(Item, row)  # as a save does first (pre_save)
    assert catalog_scopes(event) == [CATALOG]
    row.timing = "standing"
    note_counted_change(Item, row)
    assert catalog_scopes(event) == [CATALOG, COUNTED, FILED]


def test_a_row_loaded_without_the_fields_and_saved_is_not_a_change(
    django_capture_on_commit_callbacks,
):
    # Deferred fields are neither loaded nor saved (Django saves what it
    # loaded): the engine's fields are unchanged.
    item = ItemFactory()
    row = Item.objects.only("name").get(pk=item.pk)
    row.name = "只改名称"
    event = events.Event("saved", "catalog.Item", (row.pk,), instance=row)
    note_counted_change(Item, row)
    assert catalog_scopes(event) == [CATALOG]
    row.frequency = Item.Frequency.YEARLY  # set without being loaded: a change
    note_counted_change(Item, row)
    assert catalog_scopes(event) == [CATALOG, COUNTED]
    row.frequency = item.frequency  # set back to what the row holds: none
    note_counted_change(Item, row)
    assert catalog_scopes(event) == [CATALOG]


class Reads:
    """A row that records the attributes read of it (and of rows reached
    through it)."""

    def __init__(self, row, seen: dict):
        object.__setattr__(self, "_row", row)
        object.__setattr__(self, "_seen", seen)

    def __getattr__(self, name):
        seen = object.__getattribute__(self, "_seen")
        row = object.__getattribute__(self, "_row")
        seen.setdefault(type(row), set()).add(name)
        value = getattr(row, name)
        return Reads(value, seen) if isinstance(value, models.Model) else value


def test_the_engine_reads_of_an_item_only_its_counted_fields():
    # A field the engine starts reading must be counted, or a change of it
    # would leave the counts kept (catalog.page_scopes.may_change_counts).
    item = Item.objects.select_related("category__catalog").get(pk=ItemFactory().pk)
    seen: dict = {}
    compliance.item_spec(Reads(item, seen))
    links = {"pk", "id", "category", "catalog"}
    for model in (Item, Category, Catalog):
        read = seen.get(model, set()) - links
        kept = {name.removesuffix("_id") for name in model.counted_fields}
        assert {name.removesuffix("_id") for name in read} <= kept, model
    assert seen[Item] and seen[Catalog] == {"kind"}


def test_the_catalogs_only_link_is_an_items_forms():
    # may_change_counts takes a "linked" event for Item.forms, which the
    # engine does not read.
    links = [
        (model.__name__, m2m.name)
        for model in (Catalog, Category, Item, ScheduleRule, Department, DisclosureForm)
        for m2m in model._meta.local_many_to_many
    ]
    assert links == [("Item", "forms")]


def test_the_unit_select_follows_the_units_not_the_catalog(
    catalog_county, django_capture_on_commit_callbacks
):
    # The 回音壁 form's and the statistics' select: units with a board (by
    # their kind), their names.
    board_unit_options()
    with django_capture_on_commit_callbacks(execute=True):
        _save(loaded(Item, catalog_county["item"].pk), name="改了名的事项")
        _save(loaded(Department, catalog_county["item"].department_id), name="党建办")
    with CaptureQueriesContext(connection) as read:
        board_unit_options()
    assert len(read) == 0  # kept
    with django_capture_on_commit_callbacks(execute=True):
        _save(loaded(Unit, catalog_county["wenli"].pk), name="文理社区")
    assert ("wenli", "文理社区") in board_unit_options()
