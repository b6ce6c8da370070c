"""What is read while a transaction is open is not kept (caching.may_keep),
and a row's read before its save locks it (core.loaded.row_before): a
rolled-back change or a save beside another leaves no page stale."""

import threading

import pytest
from django.db import connection, transaction

from catalog.models import Item
from catalog.page_scopes import GROUPED, catalog_scopes
from core import caching, events
from tests.factories import CategoryFactory, ItemFactory

pytestmark = pytest.mark.usefixtures("values_only")


@pytest.mark.django_db
def test_a_value_read_inside_a_transaction_is_not_kept():
    computed = []

    def compute():
        computed.append(1)
        return len(computed)

    with transaction.atomic():
        assert not caching.may_keep()
        assert caching.cached("in-transaction", compute) == 1
        assert caching.cached("in-transaction", compute) == 2  # not kept
    assert caching.may_keep()
    assert caching.cached("in-transaction", compute) == 3
    assert caching.cached("in-transaction", compute) == 3  # kept now
    with transaction.atomic():
        assert caching.cached("in-transaction", compute) == 3  # still readable


@pytest.mark.django_db
def test_many_values_read_inside_a_transaction_are_not_kept():
    computed = []

    def compute(names):
        computed.extend(names)
        return {name: name.upper() for name in names}

    wanted = {"a": ["unit:a"], "b": ["unit:b"]}
    with transaction.atomic():
        assert caching.cached_many(wanted, compute) == {"a": "A", "b": "B"}
        caching.cached_many({"a": ["unit:a"]}, compute)
    assert computed == ["a", "b", "a"]
    caching.cached_many(wanted, compute)
    caching.cached_many(wanted, compute)
    assert computed == ["a", "b", "a", "a", "b"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_save_beside_a_move_waits_and_sees_it():
    """T1 moves an item to another category and holds its transaction open;
    T2, an older instance, renames the item meanwhile. T2's read before its
    save waits for T1's lock, then sees the move it is about to undo: its
    change names GROUPED (before, it read the row unlocked, found no move,
    and named the catalog only)."""
    item = ItemFactory()
    other = CategoryFactory(catalog=item.category.catalog)
    older = Item.objects.get(pk=item.pk)
    moved, proceed = threading.Event(), threading.Event()
    named: list[list[str]] = []
    errors: list[BaseException] = []
    events.listen(
        lambda e: named.append(catalog_scopes(e)) if e.name == "saved" else None,
        model="catalog.Item",
        uid="kept-in-transactions",
    )

    def t1():
        try:
            with transaction.atomic():
                row = Item.objects.get(pk=item.pk)
                row.category = other
                row.save()
                moved.set()
                proceed.wait(10)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=t1)
    first.start()
    try:
        assert moved.wait(10)
        named.clear()

        def t2():
            try:
                older.name = "旧实例改名"
                older.save()  # blocks on T1's lock, then writes the old category
            except BaseException as error:
                errors.append(error)
            finally:
                connection.close()

        second = threading.Thread(target=t2)
        second.start()
        second.join(0.5)
        assert second.is_alive()  # waiting for T1's row lock
        proceed.set()
        first.join(10)
        second.join(10)
        assert not second.is_alive() and not errors
    finally:
        proceed.set()
        events.changed.disconnect(dispatch_uid="kept-in-transactions")
    # T1's save, then T2's: T2 moved the item back, and says so.
    assert GROUPED in named[-1]
    assert Item.objects.get(pk=item.pk).category_id == item.category_id
