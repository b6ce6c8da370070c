"""Rows built once for a whole test module instead of once per test.

`rows_for_the_module` runs `build()` inside a transaction opened for the
module; each test of the module runs in a savepoint within it (pytest-django's
`db`), so what a test writes is rolled back after the test, and the module's
rows after the module. `copied_rows_for_the_module` builds once a session
(a worker's) and copies the rows in for each later module that asks: on
SQLite's in-memory test database with sqlite3's backup API (the database as it
was is copied back after the module); on PostgreSQL with COPY, inside the
module's transaction (its rollback brings the database as it was back).

A test of such a module that uses the database without asking for the fixture
would still see the rows: tests/conftest.py fails it. Not for modules using
`transactional_db` (its flush would remove the rows).

    @pytest.fixture(scope="module")
    def _world(request, django_db_setup, django_db_blocker):
        yield from rows_for_the_module(request, django_db_blocker, build_world)
"""

import dataclasses
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction

from tests.clock import on_the_test_clock

T = TypeVar("T")
# Set on a test module while one of its fixtures holds rows for it.
HOLDER = "_rows_for_the_module"


@contextmanager
def _held_for(request) -> Iterator[None]:
    setattr(request.module, HOLDER, request.fixturename)
    try:
        yield
    finally:
        delattr(request.module, HOLDER)


def rows_for_the_module(
    request, django_db_blocker, build: Callable[[], T]
) -> Iterator[T]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        # The test harness's own, as a TestCase's are: what a test reads in
        # it may be kept (core.caching.may_keep).
        atomic._from_testcase = True
        atomic.__enter__()
        try:
            with on_the_test_clock():
                value = build()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    try:
        with _held_for(request):
            yield value
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def fresh(value: T) -> T:
    """The same rows as new instances (for a dataclass of rows, or a dict of
    them): nothing a test set on an instance, or cached on it (a user's
    permissions), reaches the next test."""
    if isinstance(value, models.Model):
        return type(value)._base_manager.get(pk=value.pk)
    if isinstance(value, dict):
        return {key: fresh(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(
            value,
            **{
                f.name: fresh(getattr(value, f.name)) for f in dataclasses.fields(value)
            },
        )
    return value


def can_copy() -> bool:
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def _copy_of(source: sqlite3.Connection) -> sqlite3.Connection:
    copy = sqlite3.connect(":memory:", check_same_thread=False)
    source.backup(copy)
    return copy


def _restore(copy: sqlite3.Connection) -> None:
    copy.backup(connection.connection)
    # Cached rows that the copy may hold under other ids.
    ContentType.objects.clear_cache()


def copied_rows_for_the_module(
    request, django_db_blocker, build: Callable[[], T], copies: dict
) -> Iterator[T]:
    """`copies` lives for the session: it keeps the built database."""
    if connection.vendor == "postgresql":
        yield from _copied_rows_on_postgresql(request, django_db_blocker, build, copies)
        return
    key = request.fixturename
    with django_db_blocker.unblock():
        connection.ensure_connection()
        before = _copy_of(connection.connection)
        try:
            if key in copies:
                value, built = copies[key]
                _restore(built)
            else:
                with on_the_test_clock():
                    value = build()
                copies[key] = value, _copy_of(connection.connection)
        except BaseException:
            _restore(before)
            before.close()
            raise
    try:
        with _held_for(request):
            yield value
    finally:
        with django_db_blocker.unblock():
            _restore(before)
            before.close()


class TableCopy(dict):
    """Every table's rows as COPY wrote them (PostgreSQL), by table name."""

    def close(self) -> None:
        self.clear()


def _copied_rows_on_postgresql(
    request, django_db_blocker, build: Callable[[], T], copies: dict
) -> Iterator[T]:
    # The demo town's seed takes about 8 s on PostgreSQL and was run again for
    # each of the 18 modules using it; copying its rows in takes a fraction.
    key = request.fixturename

    def build_or_copy() -> T:
        if key in copies:
            value, tables = copies[key]
            _copy_in(tables)
            return value
        value = build()
        copies[key] = value, _copy_out()
        return value

    try:
        yield from rows_for_the_module(request, django_db_blocker, build_or_copy)
    finally:
        # The rollback brought back rows (content types after a flush) under
        # other ids than the copy's.
        ContentType.objects.clear_cache()


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor))


def _copy_out() -> TableCopy:
    tables = TableCopy()
    with connection.cursor() as cursor:
        for table in _tables():
            name = connection.ops.quote_name(table)
            with cursor.cursor.copy(f"COPY {name} TO STDOUT (FORMAT binary)") as copy:
                tables[table] = b"".join(bytes(block) for block in copy)
    return tables


def _copy_in(tables: TableCopy) -> None:
    """The copied rows in place of the database's, in the module's transaction
    (TRUNCATE is transactional on PostgreSQL; the foreign keys Django makes
    are checked at commit, so the order of the tables does not matter)."""
    names = [connection.ops.quote_name(table) for table in _tables()]
    with connection.cursor() as cursor:
        # TRUNCATE refuses tables with foreign-key checks pending: run them.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(f"TRUNCATE {', '.join(names)}")
        for table, rows in tables.items():
            name = connection.ops.quote_name(table)
            with cursor.cursor.copy(f"COPY {name} FROM STDIN (FORMAT binary)") as copy:
                copy.write(rows)
        # Sequences are not rolled back: raised to the copied rows' ids, never
        # lowered (the rows the rollback brings back may hold higher ones).
        for table in tables:
            cursor.execute(
                "SELECT a.attname, pg_get_serial_sequence(%s, a.attname)"
                " FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = %s::regclass AND i.indisprimary",
                [connection.ops.quote_name(table)] * 2,
            )
            for column, sequence in cursor.fetchall():
                if sequence is None:
                    continue
                cursor.execute(
                    f"SELECT setval(%s, m) FROM (SELECT max("
                    f"{connection.ops.quote_name(column)}) AS m FROM "
                    f"{connection.ops.quote_name(table)}) AS t, {sequence} AS s"
                    " WHERE m > s.last_value OR (m = s.last_value AND NOT s.is_called)",
                    [sequence],
                )
    ContentType.objects.clear_cache()
