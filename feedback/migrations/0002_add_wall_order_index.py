"""The wall's order (newest_answered_first: answered_at DESC NULLS LAST, then
received_at and id) as an index, so the first page is read in index order.

PostgreSQL only: SQLite cannot index NULLS LAST (it sorts the rows instead;
fast enough at town scale). Hence RunPython here rather than Meta.indexes.
"""

from django.db import migrations

NAME = "feedback_wall_order_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON feedback_submission "
            "(answered_at DESC NULLS LAST, received_at DESC, id DESC)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
