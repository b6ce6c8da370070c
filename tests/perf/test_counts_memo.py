"""The engine's counts kept by what they are counted from
(disclosure.counts_memo): after a change that names no scope (every version
moved: a bulk load, an event with no row) the units whose rows did not
change are not evaluated again, and the matrix and the statistics are those
of a page counted afresh, whatever changed, on every day their counts turn.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from catalog.models import Item, ScheduleRule, Timing
from core import caching
from disclosure import compliance, counts_memo
from disclosure.models import Disclosure, ObligationEvent
from feedback import services as feedback_services
from feedback.models import Kind, Submission
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

CST = ZoneInfo("Asia/Shanghai")
YEAR = 2011
# Noon on a day of that year: the pages count as of then.
NOON = datetime(YEAR, 6, 20, 12, tzinfo=CST)
MATRIX = f"/compliance/?kind=party&town=fengming&year={YEAR}"
STATS = f"/stats/?town=fengming&year={YEAR}"
VILLAGES = ("wenli", "maoshan", "xinhe", "qinglong", "baiyun")


@pytest.fixture
def town():
    """凤鸣镇 with five villages (counted at once, the kept counts are
    used), another town; a monthly, a yearly and a 长期 item, an event item;
    rows filed on time, late, missing; a village's 点题 request answered by
    the town's disclosure; an event registered with its disclosure."""
    with time_machine.travel(NOON, tick=False):
        fengming = TownFactory(name="凤鸣镇", slug="fengming")
        units = {"town": fengming}
        for slug in VILLAGES:
            units[slug] = UnitFactory(name=f"{slug}村", slug=slug, parent=fengming)
        units["other"] = TownFactory(name="青山镇", slug="qingshan")
        monthly = ItemFactory(code="A01")
        yearly = ItemFactory(code="A02", frequency=Item.Frequency.YEARLY)
        standing = ItemFactory(code="A03", timing=Timing.STANDING)
        event_item = ItemFactory(
            code="A04", frequency=Item.Frequency.IMMEDIATELY, timing=Timing.EVENT
        )
        answers = ItemFactory(
            code="F02",
            frequency=Item.Frequency.IMMEDIATELY,
            timing=Timing.EVENT,
        )
        for n, slug in enumerate(VILLAGES):
            for month in range(1, 6 - n):
                published = datetime(YEAR, month + (n % 2), 3 + n, 9, tzinfo=CST)
                DisclosureFactory(
                    unit=units[slug],
                    item=monthly,
                    period=f"{YEAR}-{month:02d}",
                    published_at=published,
                )
        DisclosureFactory(
            unit=units["wenli"],
            item=standing,
            period=str(YEAR - 1),
            published_at=datetime(YEAR - 1, 12, 1, tzinfo=CST),
        )
        DisclosureFactory(
            unit=units["town"],
            item=yearly,
            period=str(YEAR - 1),
            published_at=datetime(YEAR - 1, 12, 1, tzinfo=CST),
        )
        registered = DisclosureFactory(
            unit=units["maoshan"],
            item=event_item,
            event_date=date(YEAR, 5, 10),
            published_at=datetime(YEAR, 5, 12, 9, tzinfo=CST),
        )
        ObligationEvent.objects.create(
            unit=units["maoshan"],
            item=event_item,
            event_date=date(YEAR, 5, 10),
            disclosure=registered,
            description="村道维修",
        )
        case = SubmissionFactory(
            unit=units["xinhe"], kind=Kind.REQUEST, title="请公开修路账目"
        )
        feedback_services.accept(
            case, by=UserFactory(is_staff=True), department=DepartmentFactory()
        )
        answer = DisclosureFactory(
            unit=units["town"],
            item=answers,
            event_date=date(YEAR, 6, 18),
            published_at=datetime(YEAR, 6, 19, 9, tzinfo=CST),
        )
        Submission.objects.filter(pk=case.pk).update(fulfilled_by=answer)
    return {
        **units,
        "monthly": monthly,
        "event_item": event_item,
        "answer": answer,
    }


def pages(client) -> dict:
    matrix = client.get(MATRIX)
    stats = client.get(STATS)
    assert matrix.status_code == stats.status_code == 200
    return {"matrix": matrix.context["matrix_table"], "stats": stats.context["charts"]}


def plain(settings) -> dict:
    return nothing_kept(settings, lambda: pages(Client()))


def flush(changed) -> None:
    """A change that names no scope: every version moved."""
    with changed():
        caching.bump_version()


def evaluated(calls) -> list[set[int]]:
    return [{spec.id for spec in kwargs["units"]} for _args, kwargs in calls]


@pytest.fixture
def noon():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.mark.usefixtures("noon")
def test_a_flush_evaluates_no_unit_whose_rows_did_not_change(
    town, settings, changed, monkeypatch
):
    visitor = Client()
    first = pages(visitor)
    assert first == plain(settings)
    calls = counted(monkeypatch, compliance, "evaluate")
    flush(changed)
    assert pages(visitor) == first
    # The matrix (the party catalog) and the statistics (every catalog):
    # their six units' counts from the entries, none evaluated.
    assert evaluated(calls) == []


@pytest.mark.usefixtures("noon")
def test_after_a_publication_and_a_flush_that_village_alone_is_evaluated(
    town, settings, changed, monkeypatch
):
    visitor = Client()
    pages(visitor)
    with changed():
        DisclosureFactory(
            unit=town["qinglong"],
            item=town["monthly"],
            period=f"{YEAR}-05",
            published_at=NOON - timedelta(hours=1),
        )
    pages(visitor)  # 青龙村 counted again alone: no entry written
    calls = counted(monkeypatch, compliance, "evaluate")
    flush(changed)
    after = pages(visitor)
    assert evaluated(calls) == [{town["qinglong"].pk}] * 2
    assert after == plain(settings)
    calls.clear()
    flush(changed)
    pages(visitor)
    assert evaluated(calls) == []  # its entry written by the flush's count


@pytest.mark.usefixtures("noon")
def test_a_catalog_rule_changed_evaluates_every_unit(
    town, settings, changed, monkeypatch
):
    visitor = Client()
    pages(visitor)
    calls = counted(monkeypatch, compliance, "evaluate")
    with changed():
        rule, _ = ScheduleRule.objects.get_or_create(
            catalog_id=town["monthly"].category.catalog_id
        )
        rule.monthly_due_day = 2
        rule.save()
    flush(changed)
    after = pages(visitor)
    assert after == plain(settings)
    everyone = {town[name].pk for name in ("town", *VILLAGES)}
    assert everyone in evaluated(calls)


@pytest.mark.usefixtures("noon")
def test_the_answer_withdrawn_counts_the_request_again(
    town, settings, changed, monkeypatch
):
    visitor = Client()
    pages(visitor)
    with changed():
        Disclosure.objects.filter(pk=town["answer"].pk).update(
            status="withdrawn", withdrawal_reason="发布有误"
        )
    flush(changed)  # an update sends no event
    assert pages(visitor) == plain(settings)
    with changed():
        Disclosure.objects.filter(pk=town["answer"].pk).update(
            status="published", withdrawal_reason=""
        )
    flush(changed)
    assert pages(visitor) == plain(settings)


@pytest.mark.usefixtures("noon")
def test_an_event_linked_to_another_units_row_uses_no_entry(
    town, settings, changed, monkeypatch
):
    visitor = Client()
    pages(visitor)
    # The form refuses it (ObligationEvent.clean); a row written so all the
    # same: its village and the row's are counted together.
    with changed():
        ObligationEvent.objects.create(
            unit=town["baiyun"],
            item=town["event_item"],
            event_date=date(YEAR, 5, 10),
            disclosure=Disclosure.objects.get(
                unit=town["maoshan"], item=town["event_item"]
            ),
            description="登记在另一村",
        )
    calls = counted(monkeypatch, compliance, "evaluate")
    flush(changed)
    after = pages(visitor)
    everyone = {town[name].pk for name in ("town", *VILLAGES)}
    assert evaluated(calls) == [everyone, everyone]
    assert after == plain(settings)


def test_every_day_the_counts_turn_on(town, settings, changed, monkeypatch):
    """From the end of May to the middle of July, each day after a flush:
    the counts kept (counted on an earlier day) are used only while they
    hold (`steady_through`), the pages those counted afresh."""
    visitor = Client()
    calls = counted(monkeypatch, compliance, "evaluate")
    day = datetime(YEAR, 5, 28, 12, tzinfo=CST)
    days = evaluating = 0
    while day < datetime(YEAR, 7, 15, tzinfo=CST):
        with time_machine.travel(day, tick=False):
            flush(changed)
            before = len(calls)
            made = pages(visitor)
            evaluating += len(calls) > before
            assert made == plain(settings), day.date()
        day += timedelta(days=1)
        days += 1
    # On a third of the days at least nothing was evaluated after the flush:
    # every unit's counts of the day before held (six units, rows published
    # on many days, a due day each month).
    assert evaluating <= 2 * days // 3


@pytest.mark.usefixtures("noon")
def test_the_entries_are_the_releases(town, changed, monkeypatch):
    """Another release (the engine's code may count otherwise) reads none."""
    visitor = Client()
    pages(visitor)
    monkeypatch.setattr(counts_memo, "release", lambda: "another")
    calls = counted(monkeypatch, compliance, "evaluate")
    flush(changed)
    pages(visitor)
    assert len(evaluated(calls)) == 2


def test_few_units_or_no_value_cache_use_no_entry(settings):
    assert counts_memo.wanted(counts_memo.MANY)
    assert not counts_memo.wanted(counts_memo.MANY - 1)
    settings.VALUE_CACHE_SECONDS = 0
    assert not counts_memo.wanted(100)


def test_an_entry_holds_from_its_day_through_its_counts_last_day():
    names = {1: "compliance:counts-memo:test-1"}
    counts = compliance.UnitCounts({}, date(YEAR, 6, 30), None)
    counts_memo.write(names, {1: counts}, date(YEAR, 6, 20))
    assert counts_memo.read(names, date(YEAR, 6, 20)) == {1: counts}
    assert counts_memo.read(names, date(YEAR, 6, 30)) == {1: counts}
    assert counts_memo.read(names, date(YEAR, 6, 19)) == {}
    assert counts_memo.read(names, date(YEAR, 7, 1)) == {}
    assert counts_memo.read({}, date(YEAR, 6, 20)) == {}


def test_equal_rows_read_twice_give_one_name():
    """The name is of the values, not of the objects holding them (rows read
    from the database or from the cache)."""
    filing = compliance.Filing(1, 2, 3, "2011-01", date(YEAR, 1, 5))
    copy = compliance.Filing(1, 2, 3, "2011-01", date(YEAR, 1, 5))
    unit = compliance.UnitSpec(2, "village")

    def name(filings):
        rows = {2: (filings, [], [])}
        return counts_memo.keys("c", [unit], rows, filings, [])[2]

    assert name([filing, filing]) == name([filing, copy])
    later = compliance.Filing(1, 2, 3, "2011-01", date(YEAR, 1, 6))
    assert name([filing]) != name([later])


def test_a_request_accepted_later_turns_the_answering_units_counts(town, settings):
    """With no flush: the town's counts, kept for the days they hold, turn on
    the day 新河村's request is accepted (it uses the town's answer up from
    then), though both are counted together (the request was routed to
    its own unit alone, and the town's counts kept past that day)."""
    visitor = Client()
    day = datetime(YEAR, 6, 16, 12, tzinfo=CST)
    while day < datetime(YEAR, 6, 24, tzinfo=CST):
        with time_machine.travel(day, tick=False):
            assert pages(visitor) == plain(settings), day.date()
        day += timedelta(days=1)


def test_an_entry_not_as_written_is_counted_again():
    names = {1: "compliance:counts-memo:test-2", 2: "compliance:counts-memo:test-3"}
    cache.set(names[1], "garbage")
    cache.set(names[2], (date(YEAR, 6, 1), "not counts"))
    assert counts_memo.read(names, date(YEAR, 6, 20)) == {}
