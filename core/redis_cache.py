"""Django's Redis cache backend, with one client per connection pool.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` for every
call (about 170 response callbacks registered each time: 0.1–0.5 ms on this
project's machine, more than the round trip itself). A `redis.Redis` is safe
to share between threads (each command takes a connection from the pool)
and after a fork (the pool notices the new process), so one per pool is
kept. Everything else is Django's: keys, serializer, timeouts.

Two additions, for the few places that want several commands in one round
trip (found by `hasattr(cache, ...)`; other backends go key by key):
`bump_many` (core/caching.py: the page-scope versions a change moves) and
`run_script` (core/throttle.py: a rate limit's check and count).
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._scripts = {}

    def _writer(self):
        return self._cache.get_client(write=True)

    def bump_many(self, keys: list[str], start: int) -> list[int]:
        """Add one to each key's integer, one that is not there starting from
        `start` (then one is added), kept without expiry: one round trip,
        atomic (MULTI/EXEC: a reader's MGET sees all of them moved or none)."""
        pipe = self._writer().pipeline(transaction=True)
        for key in keys:
            name = self.make_and_validate_key(key)
            pipe.set(name, start, nx=True)
            pipe.incr(name)
        return [int(n) for n in pipe.execute()[1::2]]

    def run_script(self, source: str, keys: list[str], args: list) -> object:
        """A Lua script run atomically by Redis (EVALSHA, loaded once),
        with Django's names of `keys` as KEYS."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self._writer().register_script(source)
        names = [self.make_and_validate_key(key) for key in keys]
        return script(keys=names, args=args)
