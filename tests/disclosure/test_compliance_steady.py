"""`compliance.steady_through`: the figures of a day hold, the data unchanged,
through the day it names. Checked against the engine itself, day by day, on
random data with every timing (no database)."""

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from catalog.periods import Period
from disclosure import compliance
from disclosure.compliance import (
    EventSpec,
    Filing,
    ItemSpec,
    RequestSpec,
    Rule,
    UnitSpec,
    evaluate,
    steady_through,
)

YEAR = 2011
UNITS = [UnitSpec(1, "town"), UnitSpec(2, "village")]
# (id, frequency, timing, nil allowed, notice days)
ITEMS = [
    (10, "monthly", "", False, None),
    (11, "quarterly", "", True, None),
    (12, "half_yearly", "", True, None),
    (13, "yearly", "year_start", True, None),
    (14, "yearly", "standing", True, None),
    (15, "monthly", "year_start", True, None),
    (16, "immediately", "", True, None),
    (17, "immediately", "before", True, None),
    (18, "immediately", "phase", True, None),
    (19, "immediately", "", True, 5),
]


def specs() -> list[ItemSpec]:
    return [
        ItemSpec(pk, f"X{pk}", frequency, "party", 1, True, True, timing, nil, days)
        for pk, frequency, timing, nil, days in ITEMS
    ]


def day_between(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def random_data(seed: int) -> dict:
    """Filings on time, late and never; 本期无; 长期 items on and off the
    board; events registered or not; 点题 requests met, refused or open;
    公示 with and without their outcome; a catalog adopted mid-year."""
    rng = random.Random(seed)
    items = specs()
    filings, events, requests = [], [], []
    ids = iter(range(1000, 100000))
    year_start, year_end = date(YEAR, 1, 1), date(YEAR, 12, 31)
    for unit in UNITS:
        for item in items:
            if item.period_kind is not None:
                for period in compliance.periods_of(YEAR, item.period_kind):
                    if rng.random() < 0.3:
                        continue  # never filed
                    published = day_between(
                        rng, period.start, period.end + timedelta(days=60)
                    )
                    filings.append(
                        Filing(
                            next(ids),
                            unit.id,
                            item.id,
                            period.key,
                            published,
                            nil=rng.random() < 0.15,
                            display_until=(
                                day_between(rng, published, max(published, year_end))
                                if rng.random() < 0.5
                                else None
                            ),
                        )
                    )
                if item.timing == "standing" and rng.random() < 0.5:
                    # An earlier year's, still on the board for a while.
                    filings.append(
                        Filing(
                            next(ids),
                            unit.id,
                            item.id,
                            str(YEAR - 1),
                            date(YEAR - 1, 6, 1),
                            display_until=day_between(rng, year_start, year_end),
                        )
                    )
                continue
            for _ in range(rng.randint(0, 4)):
                happened = day_between(rng, year_start, year_end)
                filing = None
                if rng.random() < 0.7:
                    published = happened + timedelta(days=rng.randint(-3, 20))
                    filing = Filing(
                        next(ids),
                        unit.id,
                        item.id,
                        "",
                        published,
                        event_date=happened,
                        posted_on=published + timedelta(days=rng.randint(0, 2)),
                        outcome=rng.random() < 0.5,
                    )
                    filings.append(filing)
                if rng.random() < 0.5:
                    events.append(
                        EventSpec(
                            next(ids),
                            unit.id,
                            item.id,
                            happened,
                            filing.id if filing and rng.random() < 0.5 else None,
                        )
                    )
        for _ in range(rng.randint(0, 3)):
            accepted = day_between(rng, year_start, year_end)
            due = accepted + timedelta(days=15)
            answered = accepted + timedelta(days=rng.randint(1, 30))
            outcome = rng.random()
            requests.append(
                RequestSpec(
                    next(ids),
                    unit.id,
                    16,
                    accepted,
                    due,
                    disclosure_id=next(ids) if outcome < 0.4 else None,
                    disclosed_on=answered if outcome < 0.4 else None,
                    refused_on=answered if 0.4 <= outcome < 0.6 else None,
                )
            )
    adopted = day_between(rng, year_start, date(YEAR, 6, 30))
    return {
        "items": items,
        "filings": filings,
        "events": events,
        "requests": requests,
        "rules": {"party": Rule(adopted_on=adopted if seed % 2 else None)},
        "year": YEAR,
    }


def signature(obligations) -> list:
    """Everything of an obligation but the 长期 check's own day."""
    return sorted(
        (
            o.unit_id,
            o.item_id,
            o.period.key if o.period else "",
            o.kind,
            o.event_date,
            o.due,
            o.state,
            o.filing.id if o.filing else 0,
            o.days_late,
            o.window_ends,
            o.awaiting_outcome,
            o.refused,
            o.request.id if o.request else 0,
        )
        for o in obligations
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("within", [None, "2011-Q3"])
def test_the_figures_of_a_day_hold_through_the_day_it_names(seed, within):
    data = random_data(seed)
    data["within"] = Period.parse(within) if within else None
    first, last = date(YEAR - 1, 12, 1), date(YEAR + 1, 2, 28)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    evaluated = {day: evaluate(units=UNITS, as_of=day, **data) for day in days}
    signatures = {day: signature(o) for day, o in evaluated.items()}
    runs = []
    for day in days:
        through = steady_through(evaluated[day], as_of=day, **data)
        assert through >= day
        later = day + timedelta(days=1)
        while later <= min(through, last):
            assert signatures[later] == signatures[day], (day, later, through)
            later += timedelta(days=1)
        runs.append((min(through, last) - day).days)
    # Not vacuous: most days' figures outlive their midnight.
    assert sum(1 for n in runs if n > 0) > len(runs) / 2


def test_a_state_that_turns_ends_the_run():
    item = ItemSpec(10, "X10", "monthly", "party", 1, True, True)
    data = {
        "items": [item],
        "filings": [],
        "rules": {"party": Rule()},
        "year": YEAR,
    }
    as_of = date(YEAR, 3, 20)
    obligations = evaluate(units=UNITS[:1], as_of=as_of, **data)
    # March is owed by 5 April (未到期 until then); April begins on the 1st.
    assert steady_through(obligations, as_of=as_of, **data) == date(YEAR, 3, 31)
    as_of = date(YEAR, 4, 2)
    obligations = evaluate(units=UNITS[:1], as_of=as_of, **data)
    assert steady_through(obligations, as_of=as_of, **data) == date(YEAR, 4, 5)


def test_nothing_ahead_holds_for_good():
    data = {"items": [], "filings": [], "rules": {}, "year": YEAR}
    as_of = date(YEAR + 1, 3, 1)
    assert steady_through([], as_of=as_of, **data) == date.max


def test_dates_at_the_end_of_the_calendar_end_no_run():
    """A display end, a due date or a window on the last day a date may hold
    turns nothing after it (no OverflowError, nothing but what came before)."""
    item = ItemSpec(10, "X10", "monthly", "party", 1, True, True)
    last = date.max
    data = {
        "items": [item],
        "filings": [
            Filing(1, 1, 10, f"{YEAR}-03", date(YEAR, 3, 2), display_until=last)
        ],
        "rules": {"party": Rule()},
        "year": YEAR,
        "requests": [RequestSpec(7, 1, 10, accepted_on=date(YEAR, 3, 1), due=last)],
    }
    as_of = date(YEAR, 3, 20)
    obligations = evaluate(units=UNITS[:1], as_of=as_of, **data)
    ends = [replace(o, due=last, window_ends=last) for o in obligations]
    assert steady_through(ends, as_of=as_of, **data) == date(YEAR, 3, 31)
    as_of = date(YEAR + 1, 1, 1)
    assert steady_through(ends, as_of=as_of, **{**data, "items": []}) == date.max


@pytest.mark.parametrize("seed", range(3))
def test_rolled_up_tallies_equal_the_obligations_tallied_again(seed):
    data = random_data(seed)
    obligations = evaluate(units=UNITS, as_of=date(YEAR, 9, 30), **data)
    category_of = {item.id: item.id % 3 for item in data["items"]}  # three columns
    cells = compliance.tally(obligations, lambda o: (o.unit_id, category_of[o.item_id]))

    def same(rolled, tallied):
        assert rolled.keys() == tallied.keys()
        for key, tally in tallied.items():
            assert rolled[key].counts == tally.counts
            assert rolled[key].items == tally.items
            # Summed cell by cell, not pair by pair: the same but for the
            # rounding of the sums, far below the 0.5 % a page rounds to.
            assert rolled[key].rate == pytest.approx(tally.rate, rel=1e-12)
            assert rolled[key].shares == pytest.approx(tally.shares, rel=1e-12)

    same(
        compliance.roll_up(cells, lambda cell: cell[0]),
        compliance.tally(obligations, lambda o: o.unit_id),
    )
    same(
        compliance.roll_up(cells, lambda cell: cell[1]),
        compliance.tally(obligations, lambda o: category_of[o.item_id]),
    )


def test_a_tallys_rate_and_counts_as_the_matrix_writes_them():
    from disclosure.templatetags.compliance_tags import tally_counts, tally_rate

    tally = compliance.Tally()
    for state in ["on_time", "on_time", "late", "missing", "not_due"]:
        tally.add(compliance.Obligation(1, 10, None, date(YEAR, 1, 5), state))
    assert tally_counts(tally) == "按时公开2 逾期公开1 逾期未公开1 未到期1"
    assert tally_rate(tally) == (
        '<strong>50%</strong> <span class="counts">（1 个事项到期 4 期次；'
        "按期次 50%）</span>"
    )
    assert tally_rate(compliance.Tally()) == '<span class="counts">未到期</span>'
