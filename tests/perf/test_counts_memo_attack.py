"""Attacks on 006d273: the engine's counts kept by what they are counted
from (disclosure.counts_memo), outside the value cache's versions.

Every page is compared with the one counted afresh (nothing kept,
`plain`) after changes that send no event (QuerySet.update, raw deletes)
followed by a flush (every version moved), on every day of walks across
month, quarter, half-year and year ends, 公示 windows, 长期 rows leaving
the board, a catalog's adoption, answers scheduled and coming out,
requests accepted on a later day; in the quarter view and each catalog's
matrix; with hostile titles in the requests' specs; with the entries
corrupted in the cache; with units moved between towns.
"""

import pickle
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from catalog.models import Catalog, Item, ScheduleRule, Timing
from disclosure import compliance, counts_memo
from disclosure.models import Disclosure, ObligationEvent, Unit
from feedback.models import Kind, Submission
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    UnitFactory,
)
from tests.perf import test_counts_memo as memo_tests
from tests.perf.kept import nothing_kept
from tests.perf.test_counts_memo import CST, NOON, STATS, YEAR, flush
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

# The fixtures of tests/perf/test_counts_memo.py: 凤鸣镇 and five villages
# (`town`), the clock at noon on 20 June (`noon`).
town = memo_tests.town
noon = memo_tests.noon

BASE = f"/compliance/?town=fengming&year={YEAR}"
MATRICES = (
    f"{BASE}&kind=party",
    f"{BASE}&kind=government",
    f"{BASE}&kind=village",
    f"{BASE}&kind=party&period={YEAR}-Q2",
    f"{BASE}&kind=party&period={YEAR}-Q3",
    f"{BASE}&kind=village&period={YEAR}-H2",
)


def at(month, day, hour=12, minute=0, second=0, year=YEAR) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CST)


def pages(client, urls=MATRICES) -> dict:
    found = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        found[url] = response.context["matrix_table"]
    response = client.get(STATS)
    assert response.status_code == 200, (STATS, response.status_code)
    found[STATS] = response.context["charts"]
    return found


def plain(settings, urls=MATRICES) -> dict:
    return nothing_kept(settings, lambda: pages(Client(), urls))


def same(kept: dict, fresh: dict, when) -> None:
    for url in fresh:
        assert kept[url] == fresh[url], (when, url)


def request(unit, *, accepted, title="请公开", answer=None, **fields):
    """A 点题 request of `unit` accepted at `accepted` (its deadlines set as
    the workflow sets them), answered by `answer`."""
    with time_machine.travel(accepted, tick=False):
        case = SubmissionFactory(
            unit=unit,
            kind=Kind.REQUEST,
            title=title,
            status="accepted",
            accepted_at=accepted,
            **fields,
        )
    if answer is not None:
        Submission.objects.filter(pk=case.pk).update(fulfilled_by=answer)
    return case


@pytest.fixture
def rich(town):
    """`town` and: a 公示 (its window ending on the walk), a 长期 row
    leaving the board, a 本期无, a government catalog's quarterly item, a
    village catalog's half-yearly item (one row scheduled) adopted on 24
    June; 文理村's request answered by 茅山村's disclosure scheduled for 22
    June; 青龙村's request refused on 21 June; 白云村's request accepted
    on 23 June (by update) answered by the town's disclosure out already."""
    t = dict(town)
    with time_machine.travel(NOON, tick=False):
        party = town["monthly"].category
        t["f02"] = Item.objects.get(code="F02")
        t["notice"] = ItemFactory(
            code="A05",
            frequency=Item.Frequency.IMMEDIATELY,
            timing=Timing.EVENT,
            notice_days=5,
            category=party,
        )
        t["notice_row"] = DisclosureFactory(
            unit=town["baiyun"],
            item=t["notice"],
            event_date=date(YEAR, 6, 13),
            published_at=at(6, 14, 9),
        )
        t["standing"] = Item.objects.get(code="A03")
        t["leaving"] = DisclosureFactory(
            unit=town["qinglong"],
            item=t["standing"],
            period=str(YEAR - 1),
            published_at=at(12, 2, year=YEAR - 1),
            display_until=date(YEAR, 6, 24),
        )
        t["nil"] = DisclosureFactory(
            unit=town["xinhe"],
            item=town["monthly"],
            period=f"{YEAR}-05",
            is_nil_return=True,
            published_at=at(6, 3, 9),
        )
        government = CatalogFactory(kind=Catalog.Kind.GOVERNMENT)
        t["quarterly"] = ItemFactory(
            code="G01",
            frequency=Item.Frequency.QUARTERLY,
            category=CategoryFactory(catalog=government),
        )
        DisclosureFactory(
            unit=town["town"],
            item=t["quarterly"],
            period=f"{YEAR}-Q1",
            published_at=at(4, 8, 9),
        )
        DisclosureFactory(
            unit=town["wenli"],
            item=t["quarterly"],
            period=f"{YEAR}-Q1",
            published_at=at(4, 20, 9),
        )
        village = CatalogFactory(kind=Catalog.Kind.VILLAGE)
        t["half"] = ItemFactory(
            code="V01",
            frequency=Item.Frequency.HALF_YEARLY,
            for_town=False,
            category=CategoryFactory(catalog=village),
        )
        t["half_row"] = DisclosureFactory(
            unit=town["maoshan"],
            item=t["half"],
            period=f"{YEAR}-H1",
            published_at=at(7, 2, 9),
        )
        Catalog.objects.filter(pk=village.pk).update(adopted_on=date(YEAR, 6, 24))
        t["village_answer"] = DisclosureFactory(
            unit=town["maoshan"],
            item=t["f02"],
            event_date=date(YEAR, 6, 21),
            published_at=at(6, 22, 9),
        )
        t["wenli_case"] = request(
            town["wenli"], accepted=at(6, 10, 10), answer=t["village_answer"]
        )
        t["refused_case"] = request(town["qinglong"], accepted=at(6, 8, 10))
        Submission.objects.filter(pk=t["refused_case"].pk).update(
            refusal_reason="涉及个人隐私", answered_at=at(6, 21, 15)
        )
        t["town_answer"] = DisclosureFactory(
            unit=town["town"],
            item=t["f02"],
            event_date=date(YEAR, 6, 15),
            published_at=at(6, 16, 9),
        )
        t["late_case"] = request(
            town["baiyun"], accepted=at(6, 14, 10), answer=t["town_answer"]
        )
        Submission.objects.filter(pk=t["late_case"].pk).update(
            accepted_at=at(6, 23, 10)
        )
    return t


def walk(settings, changed, first, last, *, flushed=lambda day: True, urls=MATRICES):
    """Each day from `first` to `last` (noon), a flush before the pages on
    the days `flushed` says: the pages those counted afresh."""
    visitor = Client()
    day = first
    while day <= last:
        with time_machine.travel(day, tick=False):
            if flushed(day):
                flush(changed)
            same(pages(visitor, urls), plain(settings, urls), day)
        day += timedelta(days=1)


def test_every_day_from_mid_june_to_july_flushed_or_not(rich, settings, changed):
    """Month, quarter and half-year ends, a 公示's window ending, a 长期 row
    leaving the board, the village catalog adopted, answers coming out, a
    request accepted on a later day: flushed on odd days only."""
    walk(
        settings,
        changed,
        at(6, 17),
        at(7, 4),
        flushed=lambda day: day.day % 2 == 1,
    )


def rows(t, unit, **where):
    return Disclosure.objects.filter(unit=t[unit], **where)


def a_monthly(t, unit, month):
    return rows(t, unit, item=t["monthly"], period=f"{YEAR}-{month:02d}")


def event_of(t):
    return ObligationEvent.objects.filter(unit=t["maoshan"])


def rule_of(item):
    rule, _ = ScheduleRule.objects.get_or_create(catalog_id=item.category.catalog_id)
    return ScheduleRule.objects.filter(pk=rule.pk)


# Changes that send no event (QuerySet.update, a raw delete outside the
# `changed` block): seen only after a flush.
UPDATES = {
    "published later": lambda t: a_monthly(t, "qinglong", 1).update(
        published_at=at(6, 10, 9)
    ),
    "published earlier": lambda t: a_monthly(t, "maoshan", 3).update(
        published_at=at(3, 1, 9)
    ),
    "published on a later day (scheduled)": lambda t: a_monthly(t, "wenli", 2).update(
        published_at=at(6, 28, 9)
    ),
    "period": lambda t: a_monthly(t, "xinhe", 2).update(period=f"{YEAR}-06"),
    "period and its start": lambda t: a_monthly(t, "xinhe", 2).update(
        period=f"{YEAR}-06", period_start=date(YEAR, 6, 1)
    ),
    "item": lambda t: a_monthly(t, "wenli", 1).update(item=t["quarterly"]),
    "unit to another village": lambda t: a_monthly(t, "wenli", 3).update(
        unit=t["baiyun"]
    ),
    "unit to another town": lambda t: a_monthly(t, "wenli", 4).update(unit=t["other"]),
    "nil return": lambda t: a_monthly(t, "qinglong", 1).update(is_nil_return=True),
    "nil return of an item that may not be nil": lambda t: (
        a_monthly(t, "qinglong", 1).update(is_nil_return=True),
        Item.objects.filter(pk=t["monthly"].pk).update(nil_allowed=False),
    ),
    "display_until": lambda t: rows(t, "wenli", item=t["standing"]).update(
        display_until=date(YEAR, 6, 21)
    ),
    "display_until removed": lambda t: Disclosure.objects.filter(
        pk=t["leaving"].pk
    ).update(display_until=None),
    "withdrawn": lambda t: a_monthly(t, "baiyun", 1).update(
        status=Disclosure.Status.WITHDRAWN, withdrawal_reason="有误"
    ),
    "answer withdrawn": lambda t: Disclosure.objects.filter(
        pk=t["town_answer"].pk
    ).update(status=Disclosure.Status.WITHDRAWN, withdrawal_reason="有误"),
    "notice outcome": lambda t: Disclosure.objects.filter(pk=t["notice_row"].pk).update(
        notice_outcome="无异议"
    ),
    "posted_on": lambda t: Disclosure.objects.filter(pk=t["notice_row"].pk).update(
        posted_on=date(YEAR, 6, 9)
    ),
    "event_date": lambda t: Disclosure.objects.filter(pk=t["answer"].pk).update(
        event_date=date(YEAR, 6, 1)
    ),
    "deleted": lambda t: a_monthly(t, "baiyun", 2)._raw_delete("default"),
    "event deleted": lambda t: event_of(t)._raw_delete("default"),
    "event's date": lambda t: event_of(t).update(event_date=date(YEAR, 6, 22)),
    "event's item": lambda t: event_of(t).update(item=t["notice"]),
    "event's disclosure removed": lambda t: event_of(t).update(disclosure=None),
    "event's disclosure another village's": lambda t: event_of(t).update(
        disclosure=t["notice_row"]
    ),
    "event moved to another village": lambda t: event_of(t).update(unit=t["baiyun"]),
    "request accepted earlier": lambda t: Submission.objects.filter(
        pk=t["late_case"].pk
    ).update(accepted_at=at(6, 1, 10)),
    "request accepted later": lambda t: Submission.objects.filter(
        pk=t["wenli_case"].pk
    ).update(accepted_at=at(6, 25, 10)),
    "request's due date": lambda t: Submission.objects.filter(unit=t["xinhe"]).update(
        due_date=date(YEAR, 6, 10)
    ),
    "request answered by another village": lambda t: Submission.objects.filter(
        unit=t["xinhe"]
    ).update(fulfilled_by=t["village_answer"]),
    "request's answer removed": lambda t: Submission.objects.filter(
        unit=t["xinhe"]
    ).update(fulfilled_by=None),
    "request refused": lambda t: Submission.objects.filter(unit=t["xinhe"]).update(
        refusal_reason="不属于公开范围", answered_at=at(6, 19, 15)
    ),
    "request's refusal withdrawn": lambda t: Submission.objects.filter(
        pk=t["refused_case"].pk
    ).update(refusal_reason=""),
    "request made a question": lambda t: Submission.objects.filter(
        unit=t["xinhe"]
    ).update(kind=Kind.QUESTION),
    "request moved to another village": lambda t: Submission.objects.filter(
        unit=t["xinhe"]
    ).update(unit=t["qinglong"]),
    "request moved to another town": lambda t: Submission.objects.filter(
        unit=t["xinhe"]
    ).update(unit=t["other"]),
    "rule's due day": lambda t: rule_of(t["monthly"]).update(monthly_due_day=25),
    "rule's workdays": lambda t: rule_of(t["monthly"]).update(immediate_workdays=2),
    "rule's outcome workdays": lambda t: rule_of(t["notice"]).update(
        outcome_workdays=1
    ),
    "catalog adopted": lambda t: Catalog.objects.filter(
        pk=t["monthly"].category.catalog_id
    ).update(adopted_on=date(YEAR, 6, 22)),
    "catalog adoption moved": lambda t: Catalog.objects.filter(
        kind=Catalog.Kind.VILLAGE
    ).update(adopted_on=date(YEAR, 7, 1)),
    "item's timing": lambda t: Item.objects.filter(pk=t["monthly"].pk).update(
        timing=Timing.STANDING
    ),
    "item's frequency": lambda t: Item.objects.filter(pk=t["monthly"].pk).update(
        frequency=Item.Frequency.QUARTERLY
    ),
    "item's notice days": lambda t: Item.objects.filter(pk=t["f02"].pk).update(
        notice_days=3
    ),
    "item for the town only": lambda t: Item.objects.filter(pk=t["monthly"].pk).update(
        for_village=False
    ),
    "item for villages only": lambda t: Item.objects.filter(pk=t["f02"].pk).update(
        for_town=False
    ),
    "item's category another catalog's": lambda t: Item.objects.filter(
        pk=t["monthly"].pk
    ).update(category=t["quarterly"].category),
    "item's code the 点题 item's no more": lambda t: Item.objects.filter(
        pk=t["f02"].pk
    ).update(code="F99"),
    "unit made a town": lambda t: Unit.objects.filter(pk=t["wenli"].pk).update(
        kind=Unit.Kind.TOWN
    ),
    "unit made a community": lambda t: Unit.objects.filter(pk=t["wenli"].pk).update(
        kind=Unit.Kind.COMMUNITY
    ),
    "unit moved to another town": lambda t: Unit.objects.filter(
        pk=t["xinhe"].pk
    ).update(parent=t["other"]),
    "answering village moved to another town": lambda t: Unit.objects.filter(
        pk=t["maoshan"].pk
    ).update(parent=t["other"]),
}


@pytest.mark.parametrize("change", UPDATES)
def test_a_change_sending_no_event_then_a_flush(
    change, rich, settings, changed, monkeypatch
):
    """Counted on 20 June (the entries written), changed on 23 June with
    no event, flushed: that day's pages and 1 July's (flushed again) are
    those counted afresh; the entries were read."""
    urls = MATRICES[:4]
    visitor = Client()
    with time_machine.travel(NOON, tick=False):
        pages(visitor, urls)
    found = []
    real = counts_memo.read

    def reading(names, day):
        kept = real(names, day)
        found.append(len(kept))
        return kept

    monkeypatch.setattr(counts_memo, "read", reading)
    with time_machine.travel(at(6, 23), tick=False):
        UPDATES[change](rich)
        flush(changed)
        same(pages(visitor, urls), plain(settings, urls), change)
    with time_machine.travel(at(7, 1), tick=False):
        flush(changed)
        same(pages(visitor, urls), plain(settings, urls), change)
    assert found, "the entries were never looked up"


def names_used(monkeypatch) -> list[dict[int, str]]:
    """The entries' names each count looked up (counts_memo.keys)."""
    made = []
    real = counts_memo.keys

    def keys(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(counts_memo, "keys", keys)
    return made


def around_midnight(settings, changed, visitor, day: datetime, urls) -> None:
    """Flushed at 23:59:59 the day before `day`, the pages read at 00:00:01
    (not flushed), then flushed again: each time those counted afresh."""
    before = day - timedelta(days=1)
    with time_machine.travel(before.replace(hour=23, minute=59, second=59), tick=False):
        flush(changed)
        same(pages(visitor, urls), plain(settings, urls), before.date())
    with time_machine.travel(day.replace(hour=0, minute=0, second=1), tick=False):
        same(pages(visitor, urls), plain(settings, urls), day.date())
        flush(changed)
        same(pages(visitor, urls), plain(settings, urls), day.date())


@pytest.mark.parametrize(
    "day",
    [
        at(6, 21),  # the 公示's window ended on the 20th; the refusal
        at(6, 22),  # 茅山村's answer out at 9:00 (not at midnight)
        at(6, 23),  # 白云村's request accepted
        at(6, 24),  # the village catalog adopted
        at(6, 25),  # the 长期 row off the board
        at(7, 1),  # a month, a quarter, a half-year
        at(7, 6),  # June's rows due on the 5th
        at(7, 11),  # the second quarter's rows due on the 10th
        at(7, 16),  # the first half-year's due on the 15th
    ],
    ids=lambda day: day.date().isoformat(),
)
def test_flushed_at_midnight_read_a_second_after(day, rich, settings, changed):
    visitor = Client()
    with time_machine.travel(NOON, tick=False):
        pages(visitor)  # the entries written on an earlier day
    around_midnight(settings, changed, visitor, day, MATRICES)


def test_an_answer_scheduled_comes_out_between_two_reads(rich, settings, changed):
    """茅山村's answer to 文理村's request comes out at 9:00 on 22 June: read
    (flushed) at 8:59:59, again at 9:00:01 with and without a flush."""
    visitor = Client()
    urls = MATRICES[:1]
    with time_machine.travel(at(6, 21), tick=False):
        pages(visitor, urls)
    with time_machine.travel(at(6, 22, 8, 59, 59), tick=False):
        flush(changed)
        same(pages(visitor, urls), plain(settings, urls), "8:59:59")
    with time_machine.travel(at(6, 22, 9, 0, 1), tick=False):
        same(pages(visitor, urls), plain(settings, urls), "9:00:01")
        flush(changed)
        same(pages(visitor, urls), plain(settings, urls), "9:00:01, flushed")


@pytest.mark.parametrize(
    "first,last",
    [
        (at(9, 28), at(10, 3)),  # the third quarter's end
        (at(12, 29), at(1, 3, year=YEAR + 1)),  # the year's end
    ],
    ids=["quarter", "year"],
)
def test_every_day_across_a_later_end(first, last, rich, settings, changed):
    urls = (*MATRICES[:3], f"{BASE}&kind=party&period={YEAR}-Q4")
    visitor = Client()
    with time_machine.travel(first - timedelta(days=3), tick=False):
        pages(visitor, urls)
    walk(
        settings, changed, first, last, flushed=lambda day: day.day % 3 != 0, urls=urls
    )


def shift(t, unit: str, days: int) -> None:
    """Its first row of the year published `days` days earlier, no event."""
    first = (
        rows(t, unit, period_start__year=YEAR, item__in=[t["monthly"], t["quarterly"]])
        .order_by("published_at")
        .first()
    )
    Disclosure.objects.filter(pk=first.pk).update(
        published_at=first.published_at - timedelta(days=days)
    )


def test_a_pair_one_found_one_evaluated(rich, settings, changed, monkeypatch):
    """Each day one unit of the two pairs (文理村 asking, 茅山村 answering;
    新河村 asking, the town answering) changes with no event and a flush:
    it alone is evaluated, the other found, and the pages are those
    counted afresh, on the days the answer comes out and a request is
    accepted too."""
    visitor = Client()
    urls = MATRICES[:4]
    calls = counted(monkeypatch, compliance, "evaluate")
    changes = [
        (at(6, 19), "wenli"),
        (at(6, 20), "maoshan"),
        (at(6, 21), "town"),
        (at(6, 22, 10), "wenli"),
        (at(6, 22, 11), "maoshan"),
        (at(6, 23), "xinhe"),
        (at(6, 23, 13), "town"),
        (at(6, 24), "baiyun"),
        (at(6, 25), "maoshan"),
    ]
    for n, (moment, unit) in enumerate(changes, start=1):
        with time_machine.travel(moment, tick=False):
            flush(changed)
            pages(visitor, urls)  # today's entries written or found
            shift(rich, unit, n)
            flush(changed)
            calls.clear()
            kept = pages(visitor, urls)
            evaluated = [{spec.id for spec in c[1]["units"]} for c in calls]
            assert evaluated and all(units == {rich[unit].pk} for units in evaluated), (
                moment,
                unit,
                evaluated,
            )
            same(kept, plain(settings, urls), (moment, unit))


FOREIGN = {
    "text": lambda day, counts: "garbage",
    "empty tuple": lambda day, counts: (),
    "three parts": lambda day, counts: (day, counts, None),
    "not counts": lambda day, counts: (day, "not counts"),
    "no counts": lambda day, counts: (day, None),
    "a moment, not a day": lambda day, counts: (
        datetime.combine(day, datetime.min.time()),
        counts,
    ),
    "a dict": lambda day, counts: {"day": day, "counts": counts},
    "categories not a dict": lambda day, counts: (
        day,
        compliance.UnitCounts([], date.max, None),
    ),
    "through as text": lambda day, counts: (
        day,
        compliance.UnitCounts({}, "9999-12-31", None),
    ),
}


# Of the shape read() checks (a pair, a day, counts holding a dict and a
# day), its parts not as written: read() takes them.
SHAPED = {
    "tallies as text": lambda day, counts: (
        day,
        compliance.UnitCounts(dict.fromkeys(counts.by_category, "x"), date.max, None),
    ),
    "counts of another shape": lambda day, counts: (
        day,
        SimpleNamespace(by_category=counts.by_category, through=counts.through),
    ),
}
FOREIGN.update(SHAPED)


# FAILED (mended): an entry of the right outer shape whose parts were not as
# written (by_category's values not Settled, counts not UnitCounts: no
# answer_due) was used as it was and the matrix answered 500
# (AttributeError in compliance.roll_up / counts_by_unit's
# `counts.answer_due`): disclosure/counts_memo.py:read checked only
# `counted_on, counts = entry`, the days and the dict. Reproduce:
# cache.set(name, (day, UnitCounts({category: "x"}, date.max, None))),
# flush, GET /compliance/?town=fengming.
@pytest.mark.parametrize("value", list(FOREIGN))
@pytest.mark.usefixtures("noon")
def test_an_entry_not_as_written_is_counted_again(
    value, rich, settings, changed, monkeypatch
):
    visitor = Client()
    urls = MATRICES[:2]
    made = names_used(monkeypatch)
    pages(visitor, urls)
    names = {name for named in made for name in named.values()}
    assert names
    for name in names:
        day, counts = cache.get(name)
        cache.set(name, FOREIGN[value](day, counts), timeout=None)
    flush(changed)
    same(pages(visitor, urls), plain(settings, urls), value)
    # And written again as counted: read on the next flush.
    flush(changed)
    pages(visitor, urls)
    for name in names:
        entry = cache.get(name)
        assert isinstance(entry, tuple) and len(entry) == 2, (value, entry)
        assert isinstance(entry[1], compliance.UnitCounts), value


def evaluated(calls) -> list[set[int]]:
    return [{spec.id for spec in kwargs["units"]} for _args, kwargs in calls]


HOSTILE = (
    "\x01\x07\x08\x1b[31m\x7f\x85\u2028\u2029\u202e\u2066\u200f\u200b\ufeff"
    "e\u0301\U0001f600'\"\\,)]}) 请公开"
)


def hostile(size: int) -> str:
    return (HOSTILE * (size // len(HOSTILE) + 1))[:size]


def names_from(common: str, units: list, inputs) -> dict[int, str]:
    """The entries' names as counts_by_unit makes them from these rows."""
    ids = {u.pk for u in units}
    filings = [f for f in inputs.filings if f.unit_id in ids]
    events = [e for e in inputs.events if e.unit_id in ids]
    rows = {u.pk: ([], [], []) for u in units}
    for n, part in enumerate((filings, events)):
        for row in part:
            rows[row.unit_id][n].append(row)
    answered_in = {f.id: f.unit_id for f in filings}
    for spec in inputs.requests:
        if spec.unit_id in ids:
            rows[spec.unit_id][2].append(spec)
        answering = answered_in.get(spec.disclosure_id)
        if answering is not None and answering != spec.unit_id:
            rows[answering][2].append(spec)
    specs = [compliance.unit_spec(u) for u in units]
    return counts_memo.keys(common, specs, rows, filings, inputs.requests)


def unit_by_unit(inputs, units) -> compliance.Inputs:
    """Rows read in one query, put unit by unit as load_inputs keeps them."""
    return compliance.Inputs(
        *(
            tuple(row for u in units for row in part if row.unit_id == u.pk)
            for part in (inputs.filings, inputs.events, inputs.requests)
        )
    )


@pytest.mark.usefixtures("noon")
def test_hostile_text_names_one_entry_however_the_rows_are_read(
    rich, settings, changed, monkeypatch
):
    """Control characters, bidi marks, quotes and brackets, astral
    characters and (SQLite) a huge title in the requests' titles and an
    event's description: the digest works, and the rows read from the
    database, kept in the cache (another process) or pickled give one
    name; a flush evaluates nothing and the pages are those counted
    afresh."""
    from django.db import connection

    huge = 200_000 if connection.vendor == "sqlite" else 100
    Submission.objects.filter(pk=rich["wenli_case"].pk).update(title=hostile(huge))
    Submission.objects.filter(unit=rich["xinhe"]).update(title=HOSTILE[:100])
    Submission.objects.filter(pk=rich["refused_case"].pk).update(
        title=hostile(100)[::-1]
    )
    event_of(rich).update(description=hostile(200))
    flush(changed)
    made = []
    real = counts_memo.keys

    def keys(*args):
        made.append((args, real(*args)))
        return made[-1][1]

    monkeypatch.setattr(counts_memo, "keys", keys)
    visitor = Client()
    first = pages(visitor, MATRICES[:1])
    (args, names), *_ = made
    titles = [spec.title for spec in args[4]]
    assert any(HOSTILE[:10] in title for title in titles), titles
    assert max(map(len, titles)) == huge
    common, specs, by_unit, filings, requests = args
    copied = pickle.loads(
        pickle.dumps((common, specs, dict(by_unit), filings, requests))
    )
    assert real(*copied) == names
    units = compliance.units_of_town(rich["town"])
    assert len(units) >= counts_memo.MANY
    read = compliance.read_inputs(YEAR, [u.pk for u in units])
    assert names_from(args[0], units, unit_by_unit(read, units)) == names
    from core import caching

    caching.reset_local()  # another process: the rows unpickled from the cache
    kept = compliance.load_inputs(YEAR, units)
    assert names_from(args[0], units, kept) == names
    assert caching.digest(hostile(50) + "\ud800") == caching.digest(
        hostile(50) + "\ud800"
    )
    calls = counted(monkeypatch, compliance, "evaluate")
    flush(changed)
    again = pages(visitor, MATRICES[:1])
    assert evaluated(calls) == []
    assert again == first
    same(pages(visitor), plain(settings), "hostile")


# FAILED (mended): the matrix with no ?kind= (the party catalog by default) and the
# same matrix with ?kind=party count the same rows under two names: after
# a flush, /compliance/?town=fengming evaluates every unit again though
# /compliance/?town=fengming&kind=party wrote their entries a moment
# before. Cause: disclosure/counts_memo.py:common_digest digests
# repr(kind), and compliance_views.ComplianceQuery.clean gives the enum
# member Catalog.Kind.PARTY (repr "Catalog.Kind.PARTY") where the form gives
# the text "party" ("'party'"). Reproduce: GET ...&kind=party, bump_version(),
# GET without kind: compliance.evaluate called with the six units. Fix:
# str(kind) (or kind or "") in common_digest, as the value names do.
@pytest.mark.usefixtures("noon")
def test_the_default_catalog_shares_the_named_catalogs_entries(
    town, changed, monkeypatch
):
    visitor = Client()
    assert visitor.get(f"{BASE}&kind=party").status_code == 200
    calls = counted(monkeypatch, compliance, "evaluate")
    flush(changed)
    assert visitor.get(f"{BASE}&kind=party").status_code == 200
    assert evaluated(calls) == []  # the entries found
    flush(changed)
    assert visitor.get(BASE).status_code == 200
    assert evaluated(calls) == []


# FAILED (mended): villages reordered (Unit.order, no counted row changed) make the
# town's counts evaluated again after a flush. Cause: the requests routed
# to the unit answering them (counts_by_unit's rows[...][2]) are in the
# order of the town's units (load_inputs concatenates them unit by unit)
# and counts_memo.keys digests that list unsorted (only the `answering`
# part is sorted by id). Reproduce: two villages' requests answered by the
# town's disclosures (新河村, 白云村), swap the villages' order, flush:
# compliance.evaluate called with the town. Fix: sort `routed` (and the
# filings and events) by id in counts_memo.keys.
@pytest.mark.usefixtures("noon")
def test_villages_reordered_evaluate_no_unit(rich, settings, changed, monkeypatch):
    visitor = Client()
    urls = MATRICES[:1]
    pages(visitor, urls)
    Unit.objects.filter(parent=rich["town"]).exclude(pk=rich["baiyun"].pk).update(
        order=2
    )
    Unit.objects.filter(pk=rich["baiyun"].pk).update(order=1)
    calls = counted(monkeypatch, compliance, "evaluate")
    flush(changed)
    kept = pages(visitor, urls)
    assert evaluated(calls) == []
    same(kept, plain(settings, urls), "reordered")


OTHER = f"/compliance/?town=qingshan&year={YEAR}&kind=party"
OTHER_STATS = f"/stats/?town=qingshan&year={YEAR}"


def both_towns(client) -> dict:
    found = pages(client, MATRICES[:1])
    for url in (OTHER, OTHER_STATS):
        response = client.get(url)
        assert response.status_code == 200, url
        found[url] = response.context.get("matrix_table") or response.context["charts"]
    return found


def test_villages_moved_between_two_towns(rich, settings, changed, monkeypatch):
    """青山镇 with four villages of its own (nothing shared); 凤鸣镇's
    villages moved there one by one with no event (新河村 first: its request
    answered by 凤鸣镇's disclosure), flushed: both towns' pages those
    counted afresh, 凤鸣镇's too once it counts fewer than MANY units; one
    moved back."""
    with time_machine.travel(NOON, tick=False):
        other = rich["other"]
        for n in range(4):
            village = UnitFactory(name=f"青山{n}村", slug=f"qs{n}", parent=other)
            for month in range(1, 3 + n):
                DisclosureFactory(
                    unit=village,
                    item=rich["monthly"],
                    period=f"{YEAR}-{month:02d}",
                    published_at=at(month + 1, 2 + n, 9),
                )
    visitor = Client()
    calls = counted(monkeypatch, compliance, "evaluate")
    day = NOON
    for slug in ("xinhe", "wenli", "maoshan", "qinglong"):
        day += timedelta(days=1)
        with time_machine.travel(day, tick=False):
            both_towns(visitor)
            Unit.objects.filter(pk=rich[slug].pk).update(parent=other)
            flush(changed)
            kept = both_towns(visitor)
            fresh = nothing_kept(settings, lambda: both_towns(Client()))
            same(kept, fresh, (day, slug))
    assert len(compliance.units_of_town(rich["town"])) < counts_memo.MANY
    assert any(len(units) == 1 for units in evaluated(calls))  # entries found
    with time_machine.travel(day + timedelta(days=1), tick=False):
        Unit.objects.filter(pk=rich["xinhe"].pk).update(parent=rich["town"])
        flush(changed)
        kept = both_towns(visitor)
        same(kept, nothing_kept(settings, lambda: both_towns(Client())), "back")


@pytest.mark.usefixtures("noon")
def test_another_item_counting_the_requests(rich, settings, changed):
    """FEEDBACK_REQUEST_ITEM_CODE another item's (a restart with another
    environment), then none: the requests' specs name another item."""
    visitor = Client()
    pages(visitor)
    for code in ("A04", "NONE", "F02"):
        settings.FEEDBACK_REQUEST_ITEM_CODE = code
        same(pages(visitor), plain(settings), code)
        flush(changed)
        same(pages(visitor), plain(settings), code)


# FAILED (mended) (before this commit too; the entries do not make it worse: a
# flush counts every unit together, and linked_across then reads none): a
# unit counted without the unit whose row its event is linked to counts the
# event as not met, where the town counted afresh counts it met by that
# row. Cause: disclosure/compliance.py:counts_by_unit gives `evaluate` the
# filings of the units counted (`some`) only, so `by_id` lacks the linked
# row, and linked_across (counts_memo) looks among those units only. Data
# the form refuses (ObligationEvent.clean), written by update or a shell.
# Reproduce: ObligationEvent(unit=文理村, disclosure=<茅山村's row>), a
# publication in 文理村 (its scope moved): /compliance/?town=fengming counts
# 文理村 alone, its event 逾期未公开. Fix: give evaluate every unit's
# filings of the town (inputs.filings), or count the linked unit with it.
@pytest.mark.usefixtures("noon")
def test_an_event_linked_to_a_village_not_counted_with_it(rich, settings, changed):
    """文理村's event linked to 茅山村's row (the form refuses it; written
    all the same), then four other units changed (each names its own
    scope): those four counted together, 茅山村 kept."""
    visitor = Client()
    ObligationEvent.objects.create(
        unit=rich["wenli"],
        item=rich["event_item"],
        event_date=date(YEAR, 5, 10),
        disclosure=Disclosure.objects.get(
            unit=rich["maoshan"], item=rich["event_item"]
        ),
        description="登记在另一村",
    )
    flush(changed)
    same(pages(visitor), plain(settings), "linked")
    with changed():
        for slug in ("wenli", "xinhe", "qinglong", "baiyun"):
            DisclosureFactory(
                unit=rich[slug],
                item=rich["monthly"],
                period=f"{YEAR}-06",
                published_at=NOON - timedelta(hours=1),
            )
    same(pages(visitor), plain(settings), "four counted")
    flush(changed)
    same(pages(visitor), plain(settings), "all counted")


def test_days_asked_for_past_and_future(rich, settings, changed):
    """?as_of= days around the month's and the half-year's ends, before
    and after today (what is published now counted as of that day), and
    the year before's matrix: each flushed, then as counted afresh; then
    the same days a week later, when more has come out."""
    last_year = f"/compliance/?town=fengming&year={YEAR - 1}&kind=party"
    days = [
        date(YEAR, 5, 31),
        date(YEAR, 6, 1),
        date(YEAR, 6, 21),
        date(YEAR, 6, 30),
        date(YEAR, 7, 1),
        date(YEAR, 7, 6),
    ]
    visitor = Client()
    for now in (NOON, at(7, 3)):
        with time_machine.travel(now, tick=False):
            for day in days:
                urls = (
                    f"{BASE}&kind=party&as_of={day.isoformat()}",
                    f"{BASE}&kind=village&as_of={day.isoformat()}",
                    last_year,
                )
                pages(visitor, urls)
                flush(changed)
                same(pages(visitor, urls), plain(settings, urls), (now, day))
