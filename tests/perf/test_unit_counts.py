"""The matrix's and the statistics' counts are evaluated and kept unit by
unit (`compliance.counts_by_unit`, `caching.cached_through_many`): a
publication in one village counts that village again, not its whole town;
each unit's counts hold for their own run of days; the figures are those
counted with nothing kept; and a unit's figures are the same counted alone
(its own page) or with its town (the matrix), also when the town's
disclosure answers a village's 点题 request."""

from datetime import date

import pytest
import time_machine
from django.test import Client

from catalog.models import Catalog, Item
from disclosure import compliance
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    NoticeBoardFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_compliance_runs_attack import at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

PAGES = (
    "/compliance/?kind=party&town=fengming&year=2026",
    "/compliance/?kind=party&town=fengming&year=2026&period=2026-Q4",
    "/stats/?town=fengming&year=2026",
)


@pytest.fixture
def town():
    """凤鸣镇 and two villages, each with a monthly party item filed for
    October and a yearly one not yet due, on 17 November 2026."""
    with time_machine.travel(at(date(2026, 11, 17), 9), tick=False):
        town = TownFactory(name="凤鸣镇", slug="fengming")
        units = [
            town,
            UnitFactory(name="文理村", slug="wenli", parent=town),
            UnitFactory(name="茅山村", slug="maoshan", parent=town),
        ]
        category = CategoryFactory(catalog__kind=Catalog.Kind.PARTY)
        monthly = ItemFactory(code="A01", category=category)
        ItemFactory(code="A02", category=category, frequency=Item.Frequency.YEARLY)
        for unit in units:
            NoticeBoardFactory(unit=unit)
            DisclosureFactory(unit=unit, item=monthly, period="2026-10")
    return {u.slug: u for u in units}


def figures(client) -> list:
    """What a visitor reads of the counts: the matrix's table (the year's,
    and a quarter's) and the statistics' charts."""
    found = []
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        context = response.context
        found.append(context["charts"] if "charts" in context else context["rows"])
    return found


def evaluated(monkeypatch) -> list[set[int]]:
    """The units of each evaluation by the engine."""
    calls = []
    real = compliance.evaluate

    def counting(*, units, **kwargs):
        units = list(units)
        calls.append({u.id for u in units})
        return real(units=units, **kwargs)

    monkeypatch.setattr(compliance, "evaluate", counting)
    return calls


def publish_yearly(unit, changed) -> None:
    with changed():
        DisclosureFactory(
            unit=unit,
            item=Item.objects.get(code="A02"),
            period="2026",
            published_at=compliance.timezone.now(),
        )


def test_a_publication_in_one_village_counts_that_village_alone(
    town, monkeypatch, settings, changed
):
    visitor = Client()
    with time_machine.travel(at(date(2026, 11, 17), 22), tick=False):
        calls = evaluated(monkeypatch)
        before = figures(visitor)
        # Each page's counts: every unit, once.
        assert calls == [{u.pk for u in town.values()}] * len(PAGES)
        calls.clear()
        publish_yearly(town["maoshan"], changed)
        after = figures(visitor)
        assert calls == [{town["maoshan"].pk}] * len(PAGES)
        assert after == nothing_kept(settings, lambda: figures(Client()))
        assert after != before  # the yearly report counted as met early


def test_each_units_counts_keep_their_own_run_of_days(
    town, monkeypatch, settings, changed
):
    """Counted on the evening of the 17th; a village publishes after
    midnight (its counts begin a run on the 18th, the others' run from the
    17th still holds); another village publishes later that night: the
    matrix is counted again from parts of two first days, and only the
    village that changed is evaluated."""
    visitor = Client()
    with time_machine.travel(at(date(2026, 11, 17), 23), tick=False):
        figures(visitor)
    calls = evaluated(monkeypatch)
    with time_machine.travel(at(date(2026, 11, 18), 0, 30), tick=False):
        publish_yearly(town["maoshan"], changed)
        figures(visitor)
    assert calls == [{town["maoshan"].pk}] * len(PAGES)
    calls.clear()
    with time_machine.travel(at(date(2026, 11, 18), 1), tick=False):
        publish_yearly(town["wenli"], changed)
        after = figures(visitor)
        assert calls == [{town["wenli"].pk}] * len(PAGES)
        assert after == nothing_kept(settings, lambda: figures(Client()))
    calls.clear()
    with time_machine.travel(at(date(2026, 11, 18), 9), tick=False):
        assert figures(visitor) == after
    assert calls == []  # nothing changed since: every count kept


def test_the_towns_answer_to_a_villages_request_counts_for_the_town_either_way(
    town, settings
):
    """The town's 点题 answer meets 文理村's request; it is also the town's
    own disclosure of an event, counted for the town whether the town is
    counted alone (its compliance page) or with its villages (the matrix):
    before, the matrix used it up for the village's request and counted one
    obligation fewer for the town than the town's own page."""
    fengming, wenli = town["fengming"], town["wenli"]
    answers = ItemFactory(
        code="F02",
        category=Item.objects.get(code="A01").category,
        frequency=Item.Frequency.IMMEDIATELY,
    )
    with time_machine.travel(at(date(2026, 11, 17), 9), tick=False):
        answer = DisclosureFactory(
            unit=fengming,
            item=answers,
            period="2026-11",
            event_date=date(2026, 11, 16),
        )
        SubmissionFactory(
            kind="request",
            unit=wenli,
            accepted=True,
            due_date=date(2026, 11, 30),
            fulfilled_by=answer,
        )
    as_of = date(2026, 11, 18)
    with time_machine.travel(at(as_of, 10), tick=False):

        def of_town(units):
            obligations, _ = compliance.load(units=units, year=2026, as_of=as_of)
            return sorted(
                (o.item_id, str(o.period), o.kind, o.state)
                for o in obligations
                if o.unit_id == fengming.pk
            )

        alone = of_town([fengming])
        assert (answers.pk, "None", "event", compliance.State.ON_TIME) in alone
        assert of_town(list(town.values())) == alone
        counts = compliance.counts_by_unit(list(town.values()), year=2026, as_of=as_of)
        plain, _ = compliance.load(units=list(town.values()), year=2026, as_of=as_of)
        assert {
            pk: compliance.roll_up(c.by_category, lambda _: "all")["all"]
            for pk, c in counts.items()
        } == dict(compliance.tally(plain, lambda o: o.unit_id))
        # The village's request, met by the town's answer, on time.
        request = [o for o in plain if o.unit_id == wenli.pk and o.kind == "request"]
        assert [o.state for o in request] == [compliance.State.ON_TIME]
        page = Client().get("/compliance/?kind=party&town=fengming&year=2026")
        row = next(r for r in page.context["rows"] if r["unit"] == fengming)
        own, _ = compliance.load(units=[fengming], year=2026, as_of=as_of)
        assert row["total"] == compliance.tally(own, lambda o: "all")["all"]


def test_the_next_scheduled_publication_is_found_again_for_the_village_alone(
    town, monkeypatch, changed
):
    """What ends the kept counts (`compliance.next_scheduled`) is kept unit by
    unit: a publication scheduled in one village finds that village's again,
    and the town's figures are kept no longer than it."""
    from disclosure.models import DisclosureQuerySet

    visitor = Client()
    with time_machine.travel(at(date(2026, 11, 17), 22), tick=False):
        figures(visitor)
        asked = []
        real = DisclosureQuerySet.next_scheduled_by_unit

        def spied(rows, after, **kwargs):
            asked.append(set(rows.values_list("unit", flat=True).distinct()))
            return real(rows, after, **kwargs)

        monkeypatch.setattr(DisclosureQuerySet, "next_scheduled_by_unit", spied)
        with changed():
            DisclosureFactory(
                unit=town["maoshan"],
                item=Item.objects.get(code="A02"),
                period="2026",
                published_at=at(date(2026, 11, 19), 8),  # set for later
            )
        kept = figures(visitor)
        assert asked and all(units <= {town["maoshan"].pk} for units in asked)
    with time_machine.travel(at(date(2026, 11, 19), 9), tick=False):
        after = figures(visitor)
    assert after != kept  # out at 8:00: counted, not the counts kept before
