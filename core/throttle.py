"""Per-client counters in the shared cache: how many times a client did
something in a period, checked and counted in one atomic step.

A check followed later by a separate count lets concurrent requests all pass
the check before any of them is counted; `Throttle.take` increments first and
compares the new count, so at most `limit` requests ever get through, across
worker processes (Redis INCR, or the lock of the local-memory cache).
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.crypto import salted_hmac

from .security import client_ip


def client_key(request, purpose: str) -> str:
    """A keyed hash of the client address: enough to count, useless to read."""
    return salted_hmac(purpose, client_ip(request)).hexdigest()


# Throttle.take_once on Redis, atomically: the occasion's mark (KEYS[1]) and
# the count (KEYS[2]) as the cache-API steps below leave them, for a period
# (ARGV[1]) and a limit (ARGV[2]). -1: a repeat of a counted occasion.
TAKE_ONCE = """
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then
    return -1
end
redis.call('SET', KEYS[2], 0, 'NX', 'EX', ARGV[1])
local count = redis.call('INCR', KEYS[2])
if count > tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[1])
end
return count
"""


@dataclass(frozen=True)
class Throttle:
    name: str
    limit: int
    period: int  # seconds

    def _key(self, key: str) -> str:
        return f"throttle:{self.name}:{key}"

    def take(self, key: str) -> bool:
        """Count one more for `key`; False if that goes over the limit."""
        cache_key = self._key(key)
        for _attempt in range(3):
            if cache.add(cache_key, 1, timeout=self.period):
                return 1 <= self.limit
            try:
                return cache.incr(cache_key) <= self.limit
            except ValueError:  # expired between add() and incr(): start again
                continue
        return False

    def take_once(self, key: str, occasion: str) -> "Slot | None":
        """Like take(), but counted once per occasion (a form's one-time
        token): a resent form whose first post died with its worker, before
        anything could be given back, must not cost the resident a second
        slot. None if a new occasion goes over the limit."""
        digest = hashlib.sha256(occasion.encode()).hexdigest()
        mark = self._key(f"{key}:once:{digest}")
        if hasattr(cache, "run_script"):  # Redis: in one round trip
            count = cache.run_script(
                TAKE_ONCE, [mark, self._key(key)], [self.period, self.limit]
            )
            if count < 0:
                return Slot(self, key, mark, counted=False)
            return Slot(self, key, mark, counted=True) if count <= self.limit else None
        if not cache.add(mark, 1, timeout=self.period):
            return Slot(self, key, mark, counted=False)
        if self.take(key):
            return Slot(self, key, mark, counted=True)
        cache.delete(mark)
        return None

    def give_back(self, key: str) -> None:
        """Undo one take() that turned out not to count (a double post)."""
        try:
            cache.decr(self._key(key))
        except ValueError:
            pass

    def is_over(self, key: str) -> bool:
        """Whether the limit is used up, without counting."""
        return cache.get(self._key(key), 0) >= self.limit


@dataclass(frozen=True)
class Slot:
    """One occasion's place in a Throttle's count."""

    throttle: Throttle
    key: str
    mark: str
    counted: bool  # False: a repeat of an occasion counted before

    def give_back(self) -> None:
        """The occasion did not count after all (nothing new was saved).

        A repeat gives nothing back: its first post still holds the count,
        and only one of them can have saved anything."""
        if self.counted:
            self.throttle.give_back(self.key)
            cache.delete(self.mark)
