"""The copies of scope versions a process holds are of one moment
(core.caching.scope_versions): a bump elsewhere drops them all at the next
read, a process's own bump keeps them, and a request that read copies of
two moments keeps nothing it made (`may_keep`).

The attack that needed it: a process whose copy of "cases-unit:<slug>" was
a moment older than its copy of "cases" (each refreshed on its own second)
made the 回音壁's figures again after a new case, from the unit's counts kept
under the old version, and kept them under the new "cases" for a day
(`test_a_process_whose_unit_case_version_is_a_moment_old_counts_the_wall`).
"""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from core import caching
from feedback.models import Kind
from tests.factories import SubmissionFactory, TownFactory, UnitFactory
from tests.perf.kept import nothing_kept
from tests.perf.two_towns import as_a_process_that_read_before, read_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


def elsewhere(scopes: list[str] | None) -> None:
    """Another process bumps these scopes (None: the global version): this
    one's copies are left as they were."""
    local = caching._local
    copies, epoch, pinned = dict(local.scopes), local.epoch, local.request_epoch
    version = (local.version, local.version_read_at)
    if scopes is None:
        caching._bump()
    else:
        caching._bump_scopes(scopes)
    local.scopes.clear()
    local.scopes.update(copies)
    local.epoch, local.request_epoch = epoch, pinned
    local.version, local.version_read_at = version


def behind(scope: str, value: int) -> None:
    """The shared version set behind this process's back: a copy still
    used reads the old one."""
    cache.set(caching.SCOPE_KEY + scope, value, timeout=None)


def test_a_bump_elsewhere_drops_every_copy_at_the_next_read():
    a, _c = caching.scope_versions(["unit:a", "unit:c"])
    elsewhere(["unit:a", "unit:b"])
    assert caching.scope_versions(["unit:a"]) == [a]  # within its second
    caching.scope_versions(["unit:b"])  # read now: the epoch has moved
    assert caching.scope_versions(["unit:a"]) == [a + 1]


def test_a_bump_of_this_process_keeps_its_copies():
    _a, c = caching.scope_versions(["unit:a", "unit:c"])
    caching._bump_scopes(["unit:a"])
    behind("unit:c", 12345)
    caching.scope_versions(["unit:new"])  # a read: the epoch is its own
    assert caching.scope_versions(["unit:c"]) == [c]


def test_a_bump_elsewhere_before_this_process_bumps_drops_the_copies():
    caching.scope_versions(["unit:a", "unit:c"])
    elsewhere(["unit:b"])
    caching._bump_scopes(["unit:a"])
    behind("unit:c", 12345)
    assert caching.scope_versions(["unit:c"]) == [12345]


def test_a_request_that_read_two_moments_keeps_nothing():
    caching.request_began()
    try:
        caching.scope_versions(["unit:a"])
        assert caching.may_keep()
        elsewhere(["unit:a", "unit:b"])
        caching.scope_versions(["unit:a"])  # the old copy, within its second
        assert caching.may_keep()
        caching.scope_versions(["unit:b"])  # the new epoch
        assert not caching.may_keep()
    finally:
        caching.request_ended()
    assert caching.may_keep()


def test_a_request_that_bumped_alone_keeps_what_it_makes():
    caching.request_began()
    try:
        caching.scope_versions(["unit:a"])
        caching._bump_scopes(["unit:a"])
        caching.scope_versions(["unit:b"])
        assert caching.may_keep()
    finally:
        caching.request_ended()


def test_a_global_bump_elsewhere_drops_the_copies_at_the_next_read():
    """The global version's copy is of the same moment as the scopes'."""
    caching.scope_versions(["unit:a"])
    before = caching.version()
    elsewhere(None)
    behind("unit:a", 12345)
    caching._local.version_read_at = 0.0  # its second is over
    assert caching.version() == before + 1
    assert caching.scope_versions(["unit:a"]) == [12345]


def test_a_scope_read_of_a_new_moment_reads_the_global_version_again():
    before = caching.version()
    caching.scope_versions(["unit:a"])
    elsewhere(None)
    caching.scope_versions(["unit:b"])  # the epoch has moved
    assert caching.version() == before + 1


def test_a_request_that_read_the_global_version_of_another_moment_keeps_nothing():
    caching.request_began()
    try:
        caching.scope_versions(["unit:a"])
        caching.version()
        elsewhere(None)
        caching._local.version_read_at = 0.0
        caching.version()
        assert not caching.may_keep()
    finally:
        caching.request_ended()


def test_a_global_bump_of_this_process_keeps_its_copies():
    (c,) = caching.scope_versions(["unit:c"])
    caching._bump()
    behind("unit:c", 12345)
    caching.scope_versions(["unit:new"])
    assert caching.scope_versions(["unit:c"]) == [c]


def test_outside_a_request_nothing_is_pinned():
    """A command (a warm-up) runs for minutes across many bumps."""
    caching.scope_versions(["unit:a"])
    elsewhere(["unit:a", "unit:b"])
    caching.scope_versions(["unit:b"])
    assert caching.may_keep()


def test_a_flush_starts_a_new_epoch_and_drops_the_copies():
    caching.scope_versions(["unit:a"])
    before = caching._local.epoch
    cache.clear()
    caching._local.scopes["unit:b"] = (1, 0.0)  # due
    caching.scope_versions(["unit:b"])
    assert caching._local.epoch not in (None, before)
    assert set(caching._local.scopes) == {"unit:b"}


def wall(client) -> str:
    response = client.get("/feedback/")
    assert response.status_code == 200
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "TOKEN", response.text)


def test_a_process_whose_unit_case_version_is_a_moment_old_counts_the_wall(
    settings, changed
):
    """The wall's figures (feedback.summary.wall_summary) are added up from
    each town's counts kept under its units' "cases-unit:", and kept under
    "cases": made again after a new case by a process whose copy of
    "cases-unit:maoshan" was a moment old, they counted the case's unit as
    it was, under the new "cases", until the next case anywhere."""
    town = TownFactory(name="凤鸣镇", slug="fengming")
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    SubmissionFactory(unit=maoshan, kind=Kind.REPORT, title="第一条")
    visitor = Client()
    wall(visitor)
    old = read_now(["cases-unit:maoshan"])
    with changed():
        SubmissionFactory(unit=maoshan, kind=Kind.REPORT, title="第二条")
    as_a_process_that_read_before(old)
    wall(visitor)
    caching.reset_local()  # a second later, or yet another process
    kept = wall(visitor)
    assert kept == nothing_kept(settings, lambda: wall(visitor))
