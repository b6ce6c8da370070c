"""Rows built once for a whole test module instead of once per test.

`build()` runs inside a transaction opened for the module; each test of the
module runs in a savepoint within it (pytest-django's `db`), so what a test
writes is rolled back after the test, and the module's rows after the module.
A test of that module that does not ask for the fixture would still see the
rows: tests/conftest.py fails it. Not for modules using `transactional_db`
(its flush would remove the rows).

    @pytest.fixture(scope="module")
    def _world(request, django_db_setup, django_db_blocker):
        yield from rows_for_the_module(request, django_db_blocker, build_world)
"""

from collections.abc import Callable, Iterator
from typing import TypeVar

from django.db import transaction

T = TypeVar("T")
# Set on a test module while one of its fixtures holds rows for it.
HOLDER = "_rows_for_the_module"


def rows_for_the_module(
    request, django_db_blocker, build: Callable[[], T]
) -> Iterator[T]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            value = build()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    setattr(request.module, HOLDER, request.fixturename)
    try:
        yield value
    finally:
        delattr(request.module, HOLDER)
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
