"""FENGMING_TEST_CLOCK="2026-12-31 23:59:58": every test starts at that local
time (settings.TIME_ZONE), the clock running on from it, to find the tests
that fail at midnight or at the end of a month, a quarter or a year, or on
a later day than today (a date a fixture names may be past by then)."""

import contextlib
import os
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

TEST_CLOCK = os.environ.get("FENGMING_TEST_CLOCK", "").strip()


def _start() -> datetime:
    from django.conf import settings

    start = datetime.fromisoformat(TEST_CLOCK)
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return start


@contextlib.contextmanager
def on_the_test_clock() -> Iterator[None]:
    """At the chosen clock (nothing without one). Rows built once for a
    module are built on it too, as a test's own would be."""
    if not TEST_CLOCK:
        yield
        return
    with time_machine.travel(_start(), tick=True):
        yield


_session: list = []


def travel_for_the_session() -> None:
    """The whole run on the chosen clock: what a test module takes at
    import (this year) is of the chosen day, as it is of the day a real
    run starts on. Stopped while the tests are collected (imported), so
    that a collection of a few seconds from 23:59:58 does not import them
    in the next year: `run_on_after_collection`."""
    if TEST_CLOCK:
        _session.append(time_machine.travel(_start(), tick=False))
        _session[-1].start()


def run_on_after_collection() -> None:
    """From the chosen clock again, running (the session's fixtures wait
    on the clock: a live server's start)."""
    if _session:
        _session.pop().stop()
        _session.append(time_machine.travel(_start(), tick=True))
        _session[-1].start()
