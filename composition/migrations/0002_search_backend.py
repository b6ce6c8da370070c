"""The trigram index of the search backend, for the database in use.

SQLite 3.34+: an FTS5 table with the trigram tokenizer (a copy of each
SearchEntry's title and body under the same rowid, written by composition/search.py).
PostgreSQL: the pg_trgm extension and GIN indexes on UPPER(title) and
UPPER(body), the expressions Django's icontains compares. Other databases:
nothing (search scans).
"""

import sqlite3

from django.db import migrations

FTS_TABLE = "portal_search_fts"

PG_INDEXES = {
    "portal_search_title_trgm": "title",
    "portal_search_body_trgm": "body",
}


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 34, 0):
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} "
            "USING fts5(title, body, tokenize='trigram')"
        )
    elif vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in PG_INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON portal_searchentry "
                f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
            )


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif vendor == "postgresql":
        for name in PG_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        # The extension stays: other objects may use it.


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_search_and_following")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
