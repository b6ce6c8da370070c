"""The caches as production has them, emptied before and after each test.

`page_cache`: pages and kept values (a page read twice is a hit);
`values_only`: every page renders, only kept values and fragments live.
A test module takes one with `pytest.mark.usefixtures`.
`changed`: `with changed(): …` runs the block's commit callbacks (the
versions bumped), as a committed change would; `named`: `with named() as
scopes: …` also gives the scopes they bumped.
`away_from_midnight` (tests/conftest.py, for every test directory): the
clock at noon today (local), for tests that read a page twice and expect the
second read a hit (a page is kept no longer than midnight: one made in the
last second of a day is not kept)."""

from contextlib import contextmanager

import pytest

from core import caching
from tests.conftest import away_from_midnight  # noqa: F401 (its old place)
from tests.perf.kept import flushed


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 60
    settings.VALUE_CACHE_SECONDS = 60
    flushed()
    yield
    flushed()


@pytest.fixture
def values_only(settings):
    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 60
    flushed()
    yield
    flushed()


@pytest.fixture
def changed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def named(monkeypatch, changed):
    """`with named() as scopes:` the scopes the block's changes bumped."""
    bumped = []
    real = caching._bump_scopes

    def spy(scopes, **kwargs):
        bumped.extend(scopes)
        return real(scopes, **kwargs)

    monkeypatch.setattr(caching, "_bump_scopes", spy)

    @contextmanager
    def block():
        bumped.clear()
        with changed():
            yield bumped

    return block
