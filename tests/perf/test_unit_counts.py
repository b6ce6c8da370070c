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
from core import caching
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


def towns_answer(
    town, *, linked: bool = True, by: str = "fengming", due=date(2026, 11, 30)
):
    """The town's 点题 answer (an item answered by event) to 文理村's request,
    published on the 17th for an event of the 16th; the request linked to it
    or not yet. `by`: the unit answering (文理村 itself); `due`: the
    request's deadline."""
    answers = ItemFactory(
        code="F02",
        category=Item.objects.get(code="A01").category,
        frequency=Item.Frequency.IMMEDIATELY,
    )
    with time_machine.travel(at(date(2026, 11, 17), 9), tick=False):
        answer = DisclosureFactory(
            unit=town[by],
            item=answers,
            period="2026-11",
            event_date=date(2026, 11, 16),
        )
        case = SubmissionFactory(
            kind="request",
            unit=town["wenli"],
            accepted=True,
            due_date=due,
            fulfilled_by=answer if linked else None,
        )
    return answer, case


def of_unit(obligations, unit) -> list:
    return sorted(
        (o.item_id, str(o.period), o.kind, o.state)
        for o in obligations
        if o.unit_id == unit.pk
    )


def test_the_towns_answer_to_a_request_is_used_up_when_the_town_is_counted_alone(
    town, monkeypatch
):
    """The town's disclosure answering 文理村's request meets the request and
    is not judged again as the town's own disclosure of an event: counted
    with its villages, or alone after a change in the town (its own counts
    made again, the village's request read from the village's kept rows)."""
    answer, _ = towns_answer(town)
    units = list(town.values())
    as_of = date(2026, 11, 18)
    with time_machine.travel(at(as_of, 10), tick=False):
        together, _ = compliance.load(units=units, year=2026, as_of=as_of)
        # Not the town's own event: the answer is the request's.
        assert [
            o.unit_id for o in together if o.filing and o.filing.id == answer.pk
        ] == [town["wenli"].pk]
        request = [o for o in together if o.kind == "request"]
        assert [(o.unit_id, o.state) for o in request] == [
            (town["wenli"].pk, compliance.State.ON_TIME)
        ]
        expected = compliance.settle(compliance.tally(together, lambda o: o.unit_id))

        def counted():
            counts = compliance.counts_by_unit(units, year=2026, as_of=as_of)
            return {
                pk: compliance.roll_up(c.by_category, lambda _: "all")["all"]
                for pk, c in counts.items()
                if c.by_category
            }

        assert counted() == expected
        # The town's own page (its unit alone, `load`) counts the same.
        alone, _ = compliance.load(units=[town["fengming"]], year=2026, as_of=as_of)
        assert of_unit(alone, town["fengming"]) == of_unit(together, town["fengming"])
        page = Client().get("/compliance/?kind=party&town=fengming&year=2026")
        row = next(r for r in page.context["rows"] if r["unit"] == town["fengming"])
        assert row["total"] == compliance.tally(alone, lambda o: "all")["all"].settled()
        calls = evaluated(monkeypatch)
        caching._bump_scopes(["unit:fengming"])  # a change in the town
        assert counted() == expected
        assert calls == [{town["fengming"].pk}]  # counted alone


def test_a_request_linked_to_the_towns_answer_later_recounts_the_town(
    town, settings, changed
):
    """The town's answer is counted as its own disclosure of an event until
    文理村's request is linked to it; the link (a change of the village's
    case) names the town's scope too, so the town's kept counts follow."""
    _, case = towns_answer(town, linked=False)
    visitor = Client()
    with time_machine.travel(at(date(2026, 11, 18), 10), tick=False):
        before = figures(visitor)
        with changed():
            case.fulfilled_by_id = compliance.Disclosure.objects.get(
                unit=town["fengming"], item__code="F02"
            ).pk
            case.save()
        after = figures(visitor)
        assert after == nothing_kept(settings, lambda: figures(Client()))
        assert after != before


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


def matrix_html(client) -> str:
    response = client.get(PAGES[0])
    assert response.status_code == 200
    return response.content.decode()


def test_the_matrix_writes_again_only_the_row_of_the_unit_that_changed(
    town, monkeypatch, settings, changed
):
    """The table is made again after a publication in 茅山村, but the other
    rows are kept in this process (compliance_tags.matrix_rows): only
    茅山村's is written again, and the page is the one made with nothing
    kept; a unit renamed writes its row again under its new name."""
    from disclosure.templatetags import compliance_tags

    written = []
    real = compliance_tags._row

    def counting(row, *args):
        written.append(row["unit"].slug)
        return real(row, *args)

    monkeypatch.setattr(compliance_tags, "_row", counting)
    visitor = Client()
    with time_machine.travel(at(date(2026, 11, 17), 22), tick=False):
        before = matrix_html(visitor)
        assert sorted(written) == sorted(town)
        written.clear()
        publish_yearly(town["maoshan"], changed)
        after = matrix_html(visitor)
        assert written == ["maoshan"]
        assert after != before
        assert after == nothing_kept(settings, lambda: matrix_html(Client()))
        written.clear()
        with changed():
            town["wenli"].name = "文理新村"
            town["wenli"].save()
        renamed = matrix_html(visitor)
        assert written == ["wenli"]
        assert "文理新村" in renamed
        assert renamed == nothing_kept(settings, lambda: matrix_html(Client()))


def test_an_item_made_inner_party_leaves_the_engines_counts_kept(
    town, monkeypatch, settings, changed
):
    """The engine counts rows of every scope: an item made 党内 changes who
    may read its disclosures (their boards and lists follow), not what is
    counted (`content.uncounted`): no unit is read or evaluated again, and
    the figures are those counted with nothing kept."""
    from catalog.models import Scope

    visitor = Client()
    with time_machine.travel(at(date(2026, 11, 17), 22), tick=False):
        before = figures(visitor)
        board = visitor.get("/boards/wenli/").content.decode()
        title = compliance.Disclosure.objects.get(unit=town["wenli"]).title
        assert title in board
        calls = evaluated(monkeypatch)
        reads = []
        real = compliance.read_rows
        monkeypatch.setattr(
            compliance,
            "read_rows",
            lambda year, ids: reads.append(ids) or real(year, ids),
        )
        with changed():
            monthly = Item.objects.get(code="A01")
            monthly.scope = Scope.INNER_PARTY
            monthly.save()
        after = figures(visitor)
        assert calls == [] and reads == []
        # The matrix counts as before; the statistics' counts of what a
        # visitor may read (not the engine's) follow.
        assert after[:2] == before[:2] and after[2] != before[2]
        assert after == nothing_kept(settings, lambda: figures(Client()))
        assert title not in visitor.get("/boards/wenli/").content.decode()
        # A publication afterwards counts its village again, as ever.
        calls.clear()
        publish_yearly(town["wenli"], changed)
        figures(visitor)
        assert calls == [{town["wenli"].pk}] * len(PAGES)


def test_every_bump_of_a_unit_names_its_counted_twin(values_only):
    """Whatever path bumps "unit:<slug>" (an event, a service's own call)
    bumps what the engine's kept values read, but for a change declared
    uncounted (`caching.bump_scopes(..., counted=False)`)."""
    from core import content

    twin = content.counted("unit:wenli")
    (start,) = caching.scope_versions([twin])
    caching._bump_scopes(["unit:wenli", "town:fengming"])
    (moved,) = caching.scope_versions([twin])
    assert moved != start
    caching._bump_scopes(["unit:wenli"], counted=False)
    assert caching.scope_versions([twin]) == [moved]
    assert content.with_counted(["town:fengming", "any"]) == ["town:fengming", "any"]
