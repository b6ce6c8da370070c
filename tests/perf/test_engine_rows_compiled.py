"""The compliance engine's rows of some units read from kept SQL
(`compliance.load_filings`, `load_events`: per year and number of units,
the units and the moment its parameters): the rows Django's own queries
give, for one unit and a town's, before and after a scheduled publication
comes due, and the matrix the same page."""

from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core import compiled
from disclosure import compliance
from disclosure.models import ObligationEvent
from tests.factories import DisclosureFactory, ItemFactory
from tests.perf.test_rows_by_key_compiled import djangos_own
from tests.perf.test_scoped_values import two_towns

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("values_only", "no_compiled_plans"),
]

AT = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
YEAR = 2011


@pytest.fixture
def county():
    county = two_towns()
    wenli, maoshan = county["wenli"], county["maoshan"]
    DisclosureFactory(
        unit=wenli,
        item=county["item"],
        period="2011-10",
        title="本期无",
        is_nil_return=True,
    )
    # Comes out an hour after AT: counted from then on, from the same plan.
    DisclosureFactory(
        unit=maoshan,
        item=county["item"],
        period="2011-11",
        published_at=AT + timedelta(hours=1),
    )
    for unit, day in ((wenli, date(YEAR, 3, 1)), (maoshan, date(YEAR, 5, 2))):
        ObligationEvent.objects.create(
            unit=unit, item=ItemFactory(), event_date=day, description="事项登记"
        )
    return county


def read(county, names) -> tuple:
    ids = [county[name].pk for name in names]
    return (
        sorted(compliance.load_filings(YEAR, ids), key=lambda f: f.id),
        sorted(compliance.load_events(YEAR, ids), key=lambda e: e.id),
    )


def test_the_engines_rows_from_kept_sql_are_djangos_own(county, monkeypatch):
    selections = (["wenli"], ["maoshan"], ["fengming", "wenli", "maoshan"])
    kept = {}
    for moment in (AT, AT + timedelta(hours=2)):
        with time_machine.travel(moment, tick=False):
            for names in selections:
                kept[(moment, *names)] = read(county, names)
    plans = {key[3][:2]: plan for key, plan in compiled._plans.items()}
    assert plans[("compliance-filings", YEAR)] is not None
    assert plans[("compliance-events", YEAR)] is not None
    # The 长期 items are in the filings' shape (none in this county).
    shapes = [key[3] for key in compiled._plans if key[3][0] == "compliance-filings"]
    assert {shape[2:] for shape in shapes} == {((),)}
    # One plan a number of units (one, three), for each query.
    assert len([k for k in compiled._plans if k[3][0].startswith("compliance-")]) == 4
    djangos_own(monkeypatch)
    for moment in (AT, AT + timedelta(hours=2)):
        with time_machine.travel(moment, tick=False):
            for names in selections:
                assert kept[(moment, *names)] == read(county, names), (moment, names)
    before = kept[(AT, "maoshan")][0]
    after = kept[(AT + timedelta(hours=2), "maoshan")][0]
    assert len(after) == len(before) + 1  # the scheduled one, at its time
    assert any(f.nil for f in kept[(AT, "wenli")][0])
    assert [e.description for e in kept[(AT, "wenli")][1]] == ["事项登记"]


def test_the_matrix_from_kept_sql_is_djangos_own(county, monkeypatch, settings):
    settings.VALUE_CACHE_SECONDS = 0  # every request counts again
    url = f"/compliance/?town={county['fengming'].slug}&year={YEAR}"
    with time_machine.travel(AT, tick=False):
        pages = [Client().get(url) for _ in range(2)]
        assert pages[0].status_code == 200
        djangos_own(monkeypatch)
        own = Client().get(url)
    assert pages[0].content == pages[1].content == own.content
