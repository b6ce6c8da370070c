"""Rows built once for a whole test module instead of once per test.

`rows_for_the_module` runs `build()` inside a transaction opened for the
module; each test of the module runs in a savepoint within it (pytest-django's
`db`), so what a test writes is rolled back after the test, and the module's
rows after the module. `copied_rows_for_the_module` does the same on SQLite's
in-memory test database by copying (sqlite3's backup API): the rows built the
first time are copied in for each module that asks, and the database as it was
is copied back after the module, so an expensive build runs once a session.

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
