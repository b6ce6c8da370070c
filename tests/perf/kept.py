"""What a page or figure is with nothing kept: the comparison every test of
kept values ends with (kept == read afresh)."""

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def nothing_kept(settings, read: Callable[[], T]) -> T:
    """`read()` with the value cache off (every figure counted afresh), the
    setting put back after."""
    kept = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        return read()
    finally:
        settings.VALUE_CACHE_SECONDS = kept
