import gc

import pytest
import time_machine

from tests.clock import (
    on_the_test_clock,
    run_on_after_collection,
    travel_for_the_session,
)


def pytest_configure(config):
    # The suite makes millions of short-lived objects (requests, querysets,
    # template contexts): with Python's default thresholds the cyclic garbage
    # collector ran thousands of times and took about a tenth of the run.
    # Collecting less often frees the same garbage a little later (~15 MB).
    gc.set_threshold(10_000, 50, 50)
    travel_for_the_session()


def pytest_collection_finish(session):
    run_on_after_collection()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a transactional test's flush, the role groups made again (as the
    test database starts: `django_db_setup` below). Which tests follow one on
    a worker depends on how xdist shares the files out, so a test that read a
    group the flush took failed on one CI run and passed on the next.

    Not after a worker's last test (no `nextitem`): its teardown has also
    destroyed the test database and named the real one again, which CI does
    not have (and a developer's must not get the groups)."""
    # Only after a test whose fixtures were set up (read before they are torn
    # down; pytest-django's database fixtures are reached dynamically, so not
    # named here): a browser test skipped for want of a browser never set the
    # test database up.
    ran = bool(getattr(item, "funcargs", None))
    yield
    if nextitem is not None and _flushes(item) and ran:
        from pytest_django.plugin import blocking_manager_key

        from core.roles import sync_role_groups

        with item.config.stash[blocking_manager_key].unblock():
            sync_role_groups()


def _flushes(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(
        {"transactional_db", "live_server", "django_db_reset_sequences"}
        & set(getattr(item, "fixturenames", ()))
        or (
            marker
            and (
                marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
            )
        )
    )


@pytest.fixture(autouse=True)
def _test_clock():
    """First of the autouse fixtures, so the others and the test's own
    fixtures run on the chosen clock too. A test's own time_machine.travel
    nests inside it (and comes back to it). FENGMING_TEST_CLOCK: tests/clock.py."""
    with on_the_test_clock():
        yield


@pytest.fixture
def no_compiled_plans():
    """No SQL kept by core.compiled before or after the test: a test that
    counts compilations, or changes what a shape compiles to, starts clean."""
    from core import compiled

    compiled.forget()
    yield
    compiled.forget()


@pytest.fixture
def away_from_midnight():
    """The clock at noon today (local), for tests that read a page twice and
    expect the second read a hit, or that compute "today" more than once (a
    page is kept no longer than midnight: one made in the last second of a
    day is not kept)."""
    from django.utils import timezone

    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    with time_machine.travel(noon, tick=True):
        yield


@pytest.fixture
def past_mid_march(away_from_midnight):
    """At noon; before 15 March, on 15 March: for a test that counts a
    filing of February, or one published on 2 February, as due and out
    (in January it is neither)."""
    from django.utils import timezone

    now = timezone.localtime()
    with time_machine.travel(max(now, now.replace(month=3, day=15)), tick=True):
        yield


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    from django.core.cache import cache

    from core import caching

    # The page cache's per-process copies outlive a test's cache.clear().
    caching.reset_local()
    # Every test starts with clean counts (rate limits, throttles, pages).
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    # Whitenoise otherwise lists and stats every static file each time a test
    # client builds its middleware (most tests): look a file up when asked.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _module_rows_asked_for(request):
    from tests.module_db import HOLDER

    holder = getattr(request.module, HOLDER, None)
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if holder and uses_db and holder not in request.fixturenames:
        pytest.fail(
            f"{holder} holds rows for this module and this test would see them:"
            " ask for it, or move the test to another module (tests/module_db.py)"
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as a deployment has it after `manage.py setup_roles`:
    the role groups with exactly their permissions (staff_user needs them)."""
    from core.roles import sync_role_groups

    with django_db_blocker.unblock():
        sync_role_groups()


@pytest.fixture
def party_member(db):
    from tests.factories import PartyMemberFactory

    return PartyMemberFactory()


@pytest.fixture
def party_client(client, party_member):
    client.force_login(party_member)
    return client


@pytest.fixture(scope="session")
def _copies():
    """Databases built once and copied in where asked (tests/module_db.py)."""
    copies = {}
    yield copies
    for _value, copy in copies.values():
        copy.close()


@pytest.fixture(scope="module")
def _demo_town(request, django_db_setup, django_db_blocker, tmp_path_factory, _copies):
    """`manage.py seed_demo` (it takes seconds) once per session on SQLite,
    else once per module: its files go to a directory of their own."""
    import io

    from django.core.management import call_command
    from django.test import override_settings

    from tests import module_db

    def seed():
        media = tmp_path_factory.mktemp("demo-media")
        with override_settings(MEDIA_ROOT=media):
            call_command("seed_demo", stdout=io.StringIO())
        return media

    if module_db.can_copy():
        yield from module_db.copied_rows_for_the_module(
            request, django_db_blocker, seed, _copies
        )
    else:
        yield from module_db.rows_for_the_module(request, django_db_blocker, seed)


@pytest.fixture
def demo(_demo_town, db, settings, tmp_path):
    """The demo town; what a test writes is rolled back after it, and its
    files are a copy of their own."""
    import shutil

    settings.MEDIA_ROOT = shutil.copytree(_demo_town, tmp_path / "demo-media")


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """A STATIC_ROOT after `collectstatic`, as a deployed server has it: the
    hashed names and their manifest (Django's manifest storage, which
    whitenoise's compressed one extends, without its 20 s of compression)."""
    from django.core.management import call_command
    from django.test import override_settings

    root = tmp_path_factory.mktemp("static")
    manifest = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    with override_settings(
        STATIC_ROOT=root, STORAGES={"staticfiles": {"BACKEND": manifest}}
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root
