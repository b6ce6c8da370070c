"""The wall's order index on SQLite (see 0003), for migrations that rebuild the
submission table and so drop it."""

NAME = "feedback_wall_order_idx"


def create_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON feedback_submission "
            "(answered_at DESC, received_at DESC, id DESC)"
        )
