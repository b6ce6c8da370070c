"""The Redis cache backend as production runs it (core/redis_cache.py): one
client per process, and the one-round-trip steps of the rate limit and the
page-scope versions, which must count exactly as the cache-API steps do."""

import secrets
import threading

import pytest
from django.core.cache import cache, caches

from core import caching
from core.throttle import Throttle

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_cache(settings):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    # A prefix of its own: other test runs may share the database.
    prefix = f"test-redis-cache-{secrets.token_hex(4)}"
    settings.CACHES = {
        "default": {
            "BACKEND": "core.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    caching.reset_local()
    yield caches["default"]
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    caching.reset_local()


def test_one_client_a_process(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    redis_cache.set("a", 1)
    assert redis_cache.get("a") == 1
    assert redis_cache._cache.get_client() is client


def test_take_once_holds_across_threads(redis_cache):
    limit = Throttle("test-redis-once", limit=5, period=60)
    results = []
    barrier = threading.Barrier(12)

    def hit(n):
        barrier.wait()
        results.append(limit.take_once("same-client", f"form-{n}"))

    threads = [threading.Thread(target=hit, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for slot in results if slot is not None) == 5
    assert redis_cache.get(limit._key("same-client")) == 12  # every try counted


def test_take_once_in_one_trip_counts_as_the_cache_api_does(redis_cache, settings):
    """The same steps on Redis (the script) and on the local-memory cache
    (add, incr): the same slots, counts and marks."""

    def steps():
        limit = Throttle("test-steps", limit=2, period=60)
        seen = []

        def take(name, occasion):
            slot = limit.take_once("c", occasion)
            seen.append((name, None if slot is None else slot.counted))
            seen.append(("count", cache.get(limit._key("c"))))
            return slot

        first = take("first", "form-1")
        take("repeat", "form-1")
        second = take("second", "form-2")
        take("over", "form-3")
        # Refused, its mark is gone: trying the same form again counts again.
        take("over again", "form-3")
        second.give_back()
        seen.append(("given back", cache.get(limit._key("c"))))
        take("a repeat of a given-back form is new", "form-2")
        first.give_back()
        take("after another give-back", "form-4")
        return seen

    on_redis = steps()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    cache.clear()
    assert steps() == on_redis
    assert on_redis[:6] == [
        ("first", True),
        ("count", 1),
        ("repeat", False),
        ("count", 1),
        ("second", True),
        ("count", 2),
    ]
    assert ("over", None) in on_redis


def test_the_script_gives_the_count_and_the_mark_an_expiry(redis_cache):
    import hashlib

    import redis

    limit = Throttle("test-expiry", limit=5, period=60)
    assert limit.take_once("c", "form-1").counted
    digest = hashlib.sha256(b"form-1").hexdigest()
    client = redis.Redis.from_url(REDIS_URL)
    for key in (limit._key("c"), limit._key(f"c:once:{digest}")):
        assert 0 < client.ttl(redis_cache.make_key(key)) <= 60


def test_scope_versions_move_in_one_trip(redis_cache):
    before = caching.scope_versions(["unit:a", "wall"])
    caching._bump_scopes(["unit:a", "unit:new"])
    caching.reset_local()  # as another process reads them
    after = caching.scope_versions(["unit:a", "wall", "unit:new"])
    assert after[0] == before[0] + 1
    assert after[1] == before[1]
    assert after[2] > 0
    caching._bump_scopes(["unit:new"])
    caching.reset_local()
    assert caching.scope_versions(["unit:new"]) == [after[2] + 1]


def test_a_bump_moves_the_epoch_with_its_scopes(redis_cache):
    """In one MULTI/EXEC: a reader's MGET sees the scopes and the epoch
    moved together, or none of them (core.caching.scope_versions)."""
    caching.scope_versions(["unit:a", "unit:b"])
    epoch = caching._local.epoch
    caching._bump_scopes(["unit:a", "unit:b"])
    assert caching._local.epoch == epoch + 1
    assert redis_cache.get(caching.EPOCH_KEY) == epoch + 1
    # Another process's bump: this one's copies are dropped at its next read.
    copies = dict(caching._local.scopes)
    caching._bump_scopes(["unit:a"])
    caching._local.scopes.update(copies)
    caching._local.epoch = epoch + 1
    (a,) = caching.scope_versions(["unit:a"])  # within its second: the old copy
    caching.scope_versions(["unit:new"])
    assert caching.scope_versions(["unit:a"]) == [a + 1]


def test_a_global_bump_moves_the_epoch(redis_cache):
    caching.scope_versions(["unit:a"])
    epoch, version = caching._local.epoch, caching.version()
    caching._bump()
    assert redis_cache.get(caching.EPOCH_KEY) == epoch + 1
    assert redis_cache.get(caching.VERSION_KEY) == version + 1
    assert "unit:a" in caching._local.scopes  # its own bump: the copies hold
