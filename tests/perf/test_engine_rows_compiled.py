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


def test_the_requests_from_kept_sql_are_djangos_own(county, monkeypatch):
    """The 点题 requests accepted (feedback.obligations.accepted_requests):
    the moment a parameter, so that an answer scheduled to come out is
    disclosed from then on, from the same plan; the catalog's item for
    点题 answers and the year in its shape."""
    from feedback.models import Submission
    from tests.factories import SubmissionFactory

    wenli, maoshan = county["wenli"], county["maoshan"]
    answer = DisclosureFactory(
        unit=wenli,
        item=county["item"],
        period="2011-12",
        published_at=AT + timedelta(hours=1),  # scheduled
    )
    accepted = timezone.make_aware(timezone.datetime(YEAR, 6, 1, 9))
    for unit, fulfilled in ((wenli, answer), (maoshan, None)):
        case = SubmissionFactory(unit=unit, kind="request", accepted=True)
        Submission.objects.filter(pk=case.pk).update(
            accepted_at=accepted, fulfilled_by=fulfilled
        )
    # Another year's: not read.
    SubmissionFactory(unit=wenli, kind="request", accepted=True)

    def requests(names) -> list:
        ids = [county[name].pk for name in names]
        return sorted(compliance.load_requests(YEAR, ids), key=lambda r: r.id)

    selections = (["wenli"], ["maoshan"], ["fengming", "wenli", "maoshan"])
    kept = {}
    for moment in (AT, AT + timedelta(hours=2)):
        with time_machine.travel(moment, tick=False):
            for names in selections:
                kept[(moment, *names)] = requests(names)
    shapes = {key[3] for key in compiled._plans if key[3][0] == "compliance-requests"}
    assert shapes == {("compliance-requests", YEAR, "F02")}
    assert None not in compiled._plans.values()
    djangos_own(monkeypatch)
    for moment in (AT, AT + timedelta(hours=2)):
        with time_machine.travel(moment, tick=False):
            for names in selections:
                assert kept[(moment, *names)] == requests(names), (moment, names)
    (before,) = kept[(AT, "wenli")]
    (after,) = kept[(AT + timedelta(hours=2), "wenli")]
    assert before.disclosed_on is None and before.answer_due == answer.published_at
    assert after.disclosed_on == timezone.localdate(answer.published_at)
    assert after.answer_due is None
    assert len(kept[(AT, "fengming", "wenli", "maoshan")]) == 2


def test_the_statistics_counts_from_kept_sql_are_djangos_own(county, monkeypatch):
    """The statistics' counts of disclosures by unit (disclosure.figures.
    count_by_unit): per year and audience, the moment a parameter: a row
    scheduled, or 党内 first and public later, counted from its time, from
    the same plan."""
    from django.contrib.auth.models import AnonymousUser

    from disclosure import figures
    from tests.factories import PartyMemberFactory

    wenli = county["wenli"]
    # Counted by the year of publication: the rows published about AT.
    year = timezone.localtime(AT).year
    before = AT - timedelta(minutes=30)
    DisclosureFactory(
        unit=wenli,
        item=county["item"],
        period="2011-12",
        published_at=before,
        public_from=AT + timedelta(hours=1),  # 先党内后党外
    )
    DisclosureFactory(
        unit=wenli,
        item=county["item"],
        period="2011-08",
        scope="inner",
        published_at=before,
    )
    readers = {"visitor": AnonymousUser(), "member": PartyMemberFactory()}
    names = (["wenli"], ["maoshan"], ["fengming", "wenli", "maoshan"])

    def counts(user, chosen) -> dict:
        return figures.count_by_unit(user, year, [county[n].pk for n in chosen])

    kept = {}
    for moment in (AT, AT + timedelta(hours=2)):
        with time_machine.travel(moment, tick=False):
            for who, user in readers.items():
                for chosen in names:
                    kept[(moment, who, *chosen)] = counts(user, chosen)
    shapes = {key[3] for key in compiled._plans if key[3][0].startswith("stats-unit-")}
    assert shapes == {
        (f"stats-unit-{part}", year, audience)
        for part in ("months", "categories")
        for audience in ("public", "party:")
    }
    djangos_own(monkeypatch)
    for moment in (AT, AT + timedelta(hours=2)):
        with time_machine.travel(moment, tick=False):
            for who, user in readers.items():
                for chosen in names:
                    key = (moment, who, *chosen)
                    assert kept[key] == counts(user, chosen), key

    def total(moment, who, name) -> int:
        return kept[(moment, who, name)].get(county[name].pk, {}).get("total", 0)

    # The 党内 row public an hour after AT: a visitor counts it from then on,
    # a member from the start; the scheduled one in 茅山村, both from then.
    assert total(AT, "member", "wenli") == total(AT, "visitor", "wenli") + 2
    assert (
        total(AT + timedelta(hours=2), "visitor", "wenli")
        == total(AT, "visitor", "wenli") + 1
    )
    assert (
        total(AT + timedelta(hours=2), "member", "maoshan")
        == total(AT, "member", "maoshan") + 1
    )
