"""A unit's answers in the wall's order (unit, then newest_answered_first:
answered_at DESC NULLS LAST, received_at and id), so a board's 回音壁 column
(feedback.sheet.latest_answered) and the wall of one unit read that unit's
rows in order: with the county's order index (0002) PostgreSQL read past
every other unit's answers, all 197,000 of them at county scale for a unit
with none (100 ms).

PostgreSQL only, as 0002: SQLite cannot index NULLS LAST (at town scale it
sorts the unit's few rows). Built CONCURRENTLY, outside a transaction: the
table takes the 回音壁's submissions while it is built (a second or two at
county scale).
"""

from django.db import migrations

NAME = "feedback_unit_wall_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON feedback_submission "
            "(unit_id, answered_at DESC NULLS LAST, received_at DESC, id DESC)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("feedback", "0010_assignment_escalation")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
