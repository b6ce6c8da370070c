"""The demo town copied into a module's transaction on PostgreSQL
(tests/module_db.py): the copy's rows replace the database's, and the rows
made afterwards never take an id a row of the copy, or a row the module's
rollback brings back, holds."""

import pytest
from django.db import connection

from catalog.models import Catalog, Item
from disclosure.models import Unit
from feedback.models import Tag
from tests import module_db
from tests.factories import UnitFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite copies whole databases"
)


def _sequence() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Tag._meta.db_table])
        return cursor.fetchone()[0]


def test_the_copy_replaces_the_rows_and_keeps_the_ids_ahead(db):
    kept = Tag.objects.create(name="复制前").pk
    copy = module_db._copy_out()
    Tag.objects.filter(pk=kept).delete()
    later = Tag.objects.create(name="复制后")

    module_db._copy_in(copy)

    assert Tag.objects.filter(pk=kept, name="复制前").exists()
    assert not Tag.objects.filter(pk=later.pk).exists()
    # The sequence stays past `later`: its row comes back with the rollback.
    assert Tag.objects.create(name="新").pk > later.pk


def test_a_sequence_behind_the_copy_is_raised_to_its_rows(db):
    rows = [Tag.objects.create(name=f"话题{n}") for n in range(3)]
    copy = module_db._copy_out()
    with connection.cursor() as cursor:
        # As after a flush that restarted it (sequences are not rolled back).
        cursor.execute("SELECT setval(%s, 1, false)", [_sequence()])

    module_db._copy_in(copy)

    assert Tag.objects.create(name="新").pk > max(row.pk for row in rows)


def test_the_demo_town_copied_in_is_the_demo_town_seeded(demo):
    """This module's demo town is a copy when an earlier module on the same
    worker seeded it, else the seed itself: either way the seed's rows, and
    new rows take new ids."""
    party = Catalog.objects.get(kind=Catalog.Kind.PARTY)
    assert Item.objects.filter(category__catalog=party).count() == 64
    assert Unit.objects.filter(slug="wenli").exists()
    highest = Unit.objects.order_by("-pk").values_list("pk", flat=True)[0]
    assert UnitFactory(name="新村").pk > highest
