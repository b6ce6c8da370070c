"""Plans of what a request chose kept apart (core.compiled.CHOSEN): a
crawler making up filter selections and past periods churns only those
plans, never the pages' own (a board, the home page, a disclosure, the
unfiltered 回音壁 and list), and every page is still Django's own."""

from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core import compiled
from tests.factories import (
    DisclosureFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.test_fragments import counting, logged_in, page
from tests.perf.test_rows_by_key_compiled import djangos_own

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("values_only", "no_compiled_plans"),
]

AT = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)


@pytest.fixture
def town(settings):
    settings.VALUE_CACHE_SECONDS = 0  # every request runs its queries
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    shown = DisclosureFactory(unit=wenli, title="村务公开财务收支", period="2026-11")
    DisclosureFactory(unit=wenli, title="上年度工作计划", period="2025")
    SubmissionFactory(unit=wenli, accepted=True, title="路灯坏了")
    return {"town": town, "wenli": wenli, "shown": shown}


def own_urls(town) -> list[str]:
    return [
        "/",
        "/boards/wenli/",
        town["shown"].get_absolute_url(),
        "/feedback/",
        "/disclosures/",
        # Linked from the board and the wall: pages of their own, not chosen.
        "/disclosures/?unit=wenli",
        "/feedback/?unit=wenli",
        "/feedback/?unit=wenli&escalated=1",
    ]


def made_up(n: int) -> list[str]:
    """A crawler's n-th round: a date range, a past period, a selection."""
    day = (date(2015, 1, 1) + timedelta(days=n)).isoformat()
    return [
        f"/disclosures/?published_after={day}",
        f"/feedback/?received_after={day}",
        f"/boards/wenli/?period={2010 + n % 16}",
        f"/disclosures/?unit=wenli&published_before={day}",
    ]


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_made_up_selections_leave_the_pages_own_plans(town, who, monkeypatch):
    # Room for the pages' own plans, not for the crawler's besides.
    monkeypatch.setattr(compiled, "LIMIT", 64)
    monkeypatch.setattr(compiled, "CHOSEN_LIMIT", 8)
    client = (
        logged_in(PartyMemberFactory(username="m", branch_of=town["wenli"]))
        if who == "member"
        else Client()
    )
    with time_machine.travel(AT, tick=False):
        first = {url: page(client, url) for url in own_urls(town)}
        own = set(compiled._plans)
        assert (
            0 < len(own) < 24 and not compiled._chosen
        )  # the unfiltered pages choose nothing
        for n in range(40):
            for url in made_up(n):
                assert client.get(url).status_code == 200, url
        assert own <= set(compiled._plans)  # none of the pages' own dropped
        assert 0 < len(compiled._chosen) <= 8
        compiles = counting(monkeypatch, compiled, "_compile")
        again = {url: page(client, url) for url in own_urls(town)}
        assert compiles == []  # their misses compile nothing
        djangos_own(monkeypatch)
        theirs = {url: page(client, url) for url in own_urls(town)}
    assert first == again == theirs


def test_a_selection_dropped_is_made_again_and_gives_djangos_rows(town, monkeypatch):
    monkeypatch.setattr(compiled, "CHOSEN_LIMIT", 4)
    visitor = Client()
    urls = [url for n in range(6) for url in made_up(n)]
    with time_machine.travel(AT, tick=False):
        kept = {url: page(visitor, url) for url in urls + urls}
        assert len(compiled._chosen) <= 4
        djangos_own(monkeypatch)
        own = {url: page(visitor, url) for url in urls}
    assert kept == own


def test_the_own_pool_still_drops_its_older_half_past_its_limit(monkeypatch):
    """Shapes nothing chose (a board's, a row's) keep their own limit, and a
    chosen one counts against its pool alone."""
    from disclosure.models import Disclosure

    monkeypatch.setattr(compiled, "LIMIT", 4)
    monkeypatch.setattr(compiled, "CHOSEN_LIMIT", 2)

    def none(at, *keys):
        return Disclosure.objects.none()

    for n in range(3):
        compiled.rows(Disclosure, ("chosen", compiled.CHOSEN, n), none)
    for n in range(5):
        compiled.rows(Disclosure, ("own", n), none)
    shapes = [key[3] for key in compiled._plans]
    assert [s for s in shapes if s[0] == "own"] == [("own", n) for n in (2, 3, 4)]
    assert [s for s in shapes if s[0] == "chosen"] == [
        ("chosen", compiled.CHOSEN, n) for n in (1, 2)
    ]
    assert list(compiled._chosen) == [
        key for key in compiled._plans if key[3][0] == "chosen"
    ]


@pytest.mark.parametrize(
    ("cleaned", "chosen"),
    [
        (
            {"unit": None, "kind": "", "nil": False, "published": slice(None, None)},
            False,
        ),
        ({"unit": None, "kind": "", "published": slice(date(2020, 1, 1), None)}, True),
        ({"kind": "party", "nil": False}, True),
        ({"nil": True}, True),
        ({"period": "2026-11"}, True),
        ({"page_size": 0}, True),  # a number given, however small (0 == False)
        ({}, False),
    ],
)
def test_a_selection_is_chosen_when_any_value_is_given(cleaned, chosen):
    assert (compiled.CHOSEN in compiled.form_shape("list", cleaned)) is chosen


@pytest.mark.parametrize(
    ("cleaned", "chosen"),
    [
        ({"unit": ("disclosure.Unit", 3), "kind": ""}, False),
        ({"unit": ("disclosure.Unit", 3), "escalated": "1"}, False),
        ({"unit": ("disclosure.Unit", 3), "kind": "party"}, True),
        ({"unit": None, "received": (None, "2026-01-01")}, True),
    ],
)
def test_what_the_sites_links_choose_is_not_chosen(cleaned, chosen):
    shape = compiled.form_shape("wall", cleaned, linked=("unit", "escalated"))
    assert (compiled.CHOSEN in shape) is chosen
