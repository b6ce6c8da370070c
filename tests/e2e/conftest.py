"""Browser tests: Playwright for Python driving Debian's chromium.

Playwright's own browser download is never used: the tests launch
CHROMIUM (/usr/bin/chromium, installed by `.ci/run` with apt-get) and are
skipped when it is missing, so `make test` works on a machine without one.
The portal is served by pytest-django's `live_server`, in this process.
"""

import os
import sqlite3
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.core.management import call_command
from django.core.servers.basehttp import WSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread

from .support import IN_CI, save_screenshot, serve_axe

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the networking flags chromium calls Google's hosts at start-up.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


class SerialWSGIServer(WSGIServer):
    """Handles requests in the live-server thread itself, which already holds
    the test database connection (the threaded server passes it per thread)."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


def pytest_configure(config):
    # One request at a time: the in-memory SQLite test database is a single
    # connection shared by the live server's threads, and two overlapping
    # requests (the double-click journey) then break each other's savepoints.
    # Django's non-threaded server also sends "Connection: close", so the
    # browser's parallel connections simply queue.
    LiveServerThread.server_class = SerialWSGIServer
    config.addinivalue_line("markers", "e2e: real-browser test (needs chromium)")


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists() or IN_CI:
        return
    skip = pytest.mark.skip(reason=f"no browser at {CHROMIUM}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_setup(item):
    # In CI each browser test fails (a missing browser must not pass as
    # skipped), before its fixtures. Not a UsageError at collection: under
    # xdist (`make test` runs these on both cores) a worker's UsageError
    # reaches the terminal as an INTERNALERROR naming a test, not the reason.
    if IN_CI and "e2e" in item.keywords and not Path(CHROMIUM).exists():
        pytest.fail(f"CI=true but there is no browser at {CHROMIUM}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses
    # ORM calls next to one unless told that it is safe (it is: one thread).
    # Module scope: the variable must not outlive the browser tests (check
    # --deploy, run by later tests in a subprocess, refuses it).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE")
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _fresh_caches():
    # The rate limit and any cached pages live in the process's cache, and
    # live_server tests flush the database between tests.
    for cache in caches.all():
        cache.clear()


@pytest.fixture(scope="session")
def _demo_snapshot():
    snapshot = {}
    yield snapshot
    if "db" in snapshot:
        snapshot["db"].close()


@pytest.fixture
def demo(transactional_db, _demo_snapshot):
    """The demo town of `seed_demo`: 文理村, its notices, the 回音壁 answers.

    live_server tests flush the database after each test. Seeding takes about
    5 s, so on SQLite's in-memory test database the first seeded database is
    kept as a copy (sqlite3's backup API) and copied back for later tests.
    """
    connection.ensure_connection()
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        call_command("seed_demo", verbosity=0)
        return
    if "db" in _demo_snapshot:
        _demo_snapshot["db"].backup(connection.connection)
        # The flush re-created content types under new ids; forget the old ones.
        ContentType.objects.clear_cache()
        return
    call_command("seed_demo", verbosity=0)
    copy = sqlite3.connect(":memory:", check_same_thread=False)
    connection.connection.backup(copy)
    _demo_snapshot["db"] = copy


@pytest.fixture
def new_page(request, browser, live_server):
    """Open a page in a fresh browser context (a separate person's browser)."""
    opened = []

    def open_page(viewport=PHONE, **options):
        context = browser.new_context(
            viewport=viewport, locale="zh-CN", base_url=live_server.url, **options
        )
        context.set_default_timeout(10_000)
        serve_axe(context)
        opened.append(context.new_page())
        return opened[-1]

    yield open_page
    failed = getattr(request.node, "e2e_failed", False)
    for number, page in enumerate(opened, start=1):
        if failed:
            save_screenshot(page, f"{request.node.name}-failed-{number}")
        page.context.close()


@pytest.fixture
def page(new_page):
    """A phone: 360×740, as residents use the portal."""
    return new_page(PHONE)


@pytest.fixture
def desktop_page(new_page):
    """An office desktop, as staff use the back office."""
    return new_page(DESKTOP)
