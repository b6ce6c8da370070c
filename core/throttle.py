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
