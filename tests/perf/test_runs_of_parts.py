"""`caching.cached_through_many`: values of a day kept part by part, each for
its own run of days (the compliance engine's counts unit by unit)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core import caching

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

WANTED = {"a": ["unit:a"], "b": ["unit:b"]}


@pytest.fixture
def computed():
    return []


@pytest.fixture
def many(computed):
    """cached_through_many over WANTED: each part's value is (name, the day
    it was computed for), holding for ten days."""

    def read(day, *, seconds=None, wanted=WANTED):
        def compute(names, first):
            computed.append((sorted(names), first))
            return {n: ((n, first), first + timedelta(days=10)) for n in names}

        return caching.cached_through_many(wanted, day, compute, seconds=seconds)

    return read


def test_a_part_changed_is_computed_again_alone_and_begins_its_own_run(many, computed):
    first = timezone.localdate() - timedelta(days=3)
    assert many(first) == {"a": ("a", first), "b": ("b", first)}
    assert computed == [(["a", "b"], first)]
    # A later day of the run: the values of its first day, nothing computed.
    assert many(first + timedelta(days=1)) == {"a": ("a", first), "b": ("b", first)}
    assert len(computed) == 1
    caching._bump_scopes(["unit:a"])  # as at a commit
    later = first + timedelta(days=2)
    assert many(later) == {"a": ("a", later), "b": ("b", first)}
    assert computed[1:] == [(["a"], later)]
    # Two runs from two first days, both kept.
    assert many(later + timedelta(days=1)) == {"a": ("a", later), "b": ("b", first)}
    assert len(computed) == 2


def test_a_day_outside_the_run_is_computed_afresh_and_does_not_move_todays(
    many, computed
):
    today = timezone.localdate()
    many(today)
    ahead = today + timedelta(days=30)
    assert many(ahead) == {"a": ("a", ahead), "b": ("b", ahead)}
    # A run begun after today leaves today's note: today is still kept.
    assert many(today) == {"a": ("a", today), "b": ("b", today)}
    assert computed == [(["a", "b"], today), (["a", "b"], ahead)]


def test_parts_read_inside_a_transaction_are_given_and_not_kept(many, computed):
    today = timezone.localdate()
    with transaction.atomic():
        assert many(today) == {"a": ("a", today), "b": ("b", today)}
        many(today)
    assert len(computed) == 2  # not kept inside
    many(today)
    many(today)
    assert len(computed) == 3  # kept once outside


def test_a_part_due_to_change_within_the_second_is_not_kept(many, computed):
    today = timezone.localdate()
    for _ in range(2):
        assert many(today, seconds=lambda: 0.5)["a"] == ("a", today)
    assert len(computed) == 2


def dropped(firsts: dict) -> None:
    """The values of these parts' runs dropped from every cache (evicted),
    their runs' notes left."""
    every = sorted({s for scopes in WANTED.values() for s in scopes})
    versions = dict(zip(every, caching.scope_versions(every), strict=True))
    versions[""] = caching.generation()
    for name, first in firsts.items():
        cache.delete(
            caching._value_key(f"{name}:{first.isoformat()}", WANTED[name], versions)
        )
    caching.reset_local()


def test_each_group_of_parts_asks_its_own_lifetime(many, computed):
    """Parts of two runs' first days missing are computed in two calls, each
    on its run's first day, and each group asks how long it may be kept
    after its own compute (it may read what the parts read: the units whose
    scheduled publications end them)."""
    first = timezone.localdate() - timedelta(days=3)
    many(first)
    caching._bump_scopes(["unit:a"])  # as at a commit
    later = first + timedelta(days=1)
    many(later)  # a: a run from `later`; b: still the run from `first`
    dropped({"a": later, "b": first})
    asked = []

    def seconds():
        asked.append(len(computed))
        return 3600.0

    values = many(later + timedelta(days=1), seconds=seconds)
    assert values == {"a": ("a", later), "b": ("b", first)}
    assert sorted(computed[2:]) == [(["a"], later), (["b"], first)]
    assert asked == [3, 4]  # once after each group


def test_with_the_value_cache_off_every_part_is_computed(many, computed, settings):
    settings.VALUE_CACHE_SECONDS = 0
    today = timezone.localdate()
    many(today)
    many(today)
    assert computed == [(["a", "b"], today)] * 2
