"""The compliance schedule: what each unit owed under the catalog, and whether
it was disclosed on time, late, or not at all (公开不全面、不到位、不及时).

`evaluate()` is a pure function of plain values (units, items, filings, the
schedule rules, a year and a date) with no ORM, request or template code, so
it is tested on hand-made data. `load()` fetches those values for a whole town
in a fixed number of queries and calls it.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog import periods
from catalog.models import Item, ScheduleRule
from catalog.periods import Period
from catalog.workdays import add_workdays
from core import caching

from .models import Disclosure, Unit

# How far ahead "due soon" looks, for reminders and the editors' start page.
DUE_SOON_DAYS = 7


class State(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    NOT_DUE = "not_due"
    NIL = "nil"


LABELS = {
    State.ON_TIME: _("按时"),
    State.LATE: _("逾期"),
    State.MISSING: _("未公开"),
    State.NOT_DUE: _("未到期"),
    State.NIL: _("本期无"),
}
# A cell that holds several obligations shows the most urgent state.
PRECEDENCE = [State.MISSING, State.LATE, State.ON_TIME, State.NIL, State.NOT_DUE]


@dataclass(frozen=True)
class Rule:
    monthly_due_day: int = 5
    quarterly_due_day: int = 10
    half_yearly_due_day: int = 15
    yearly_due_day: int = 31
    immediate_workdays: int = 5


@dataclass(frozen=True)
class ItemSpec:
    id: int
    code: str
    frequency: str
    catalog_kind: str
    category_id: int
    for_town: bool
    for_village: bool


@dataclass(frozen=True)
class UnitSpec:
    id: int
    level: str  # "town" or "village"


@dataclass(frozen=True)
class Filing:
    id: int
    unit_id: int
    item_id: int
    period: str
    published_on: date
    event_date: date | None = None
    nil: bool = False


@dataclass
class Obligation:
    unit_id: int
    item_id: int
    period: Period | None  # None: a 随时 item, owed because of an event
    due: date
    state: State
    filing: Filing | None = None
    days_late: int = 0

    @property
    def label(self):
        return LABELS[self.state]

    @property
    def met(self) -> bool:
        return self.state in (State.ON_TIME, State.NIL)


def month_after(year: int, month: int, day: int) -> date:
    """`day` of the month after (year, month), clamped to that month's length."""
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def due_date(period: Period, rule: Rule) -> date:
    last_month = period.months[1]
    day = {
        periods.MONTH: rule.monthly_due_day,
        periods.QUARTER: rule.quarterly_due_day,
        periods.HALF: rule.half_yearly_due_day,
        periods.YEAR: rule.yearly_due_day,
    }[period.kind]
    return month_after(period.year, last_month, day)


def periods_of(year: int, kind: str) -> list[Period]:
    count = {periods.MONTH: 12, periods.QUARTER: 4, periods.HALF: 2, periods.YEAR: 1}
    return [Period(year, kind, n) for n in range(1, count[kind] + 1)]


def applies(item: ItemSpec, unit: UnitSpec) -> bool:
    return item.for_town if unit.level == "town" else item.for_village


def judge(filing: Filing | None, due: date, as_of: date) -> tuple[State, int]:
    if filing is None:
        return (State.MISSING if as_of > due else State.NOT_DUE), 0
    if filing.nil:
        return State.NIL, 0
    late = (filing.published_on - due).days
    return (State.LATE, late) if late > 0 else (State.ON_TIME, 0)


def evaluate(
    *,
    units: Iterable[UnitSpec],
    items: Iterable[ItemSpec],
    filings: Iterable[Filing],
    rules: dict[str, Rule],
    year: int,
    as_of: date,
    within: Period | None = None,
) -> list[Obligation]:
    """Every obligation of `year` as it stood at the end of `as_of`.

    Periodic items owe one disclosure per period that has begun by `as_of`;
    随时 items owe one per event, within N working days. Only filings published
    by `as_of` count. `within` narrows to periods inside one period (a quarter).
    """
    units, items = list(units), list(items)
    first: dict[tuple[int, int, str], Filing] = {}
    events: list[Filing] = []
    for filing in sorted(filings, key=lambda f: f.published_on):
        if filing.published_on > as_of:
            continue
        first.setdefault((filing.unit_id, filing.item_id, filing.period), filing)
        if filing.event_date and filing.event_date.year == year:
            events.append(filing)
    item_by_id = {item.id: item for item in items}
    unit_ids = {unit.id for unit in units}
    result = []
    for unit in units:
        for item in items:
            kind = Item.PERIOD_KIND[item.frequency]
            if kind is None or not applies(item, unit):
                continue
            rule = rules.get(item.catalog_kind, Rule())
            for period in periods_of(year, kind):
                if period.start > as_of or (within and not inside(period, within)):
                    continue
                due = due_date(period, rule)
                filing = first.get((unit.id, item.id, period.key))
                state, late = judge(filing, due, as_of)
                result.append(
                    Obligation(unit.id, item.id, period, due, state, filing, late)
                )
    for filing in events:
        item = item_by_id.get(filing.item_id)
        if item is None or filing.unit_id not in unit_ids:
            continue
        if within and not within.start <= filing.event_date <= within.end:
            continue
        rule = rules.get(item.catalog_kind, Rule())
        due = add_workdays(filing.event_date, rule.immediate_workdays)
        state, late = judge(filing, due, as_of)
        result.append(
            Obligation(filing.unit_id, item.id, None, due, state, filing, late)
        )
    return result


def inside(period: Period, outer: Period) -> bool:
    return outer.start <= period.start and period.end <= outer.end


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)

    def add(self, obligation: Obligation) -> None:
        self.counts[obligation.state] += 1

    @property
    def state(self) -> State | None:
        return next((s for s in PRECEDENCE if self.counts[s]), None)

    @property
    def label(self):
        return LABELS[self.state] if self.state else ""

    @property
    def due(self) -> int:
        """Obligations whose time has come (everything but 未到期)."""
        return sum(n for s, n in self.counts.items() if s != State.NOT_DUE)

    @property
    def rate(self) -> float | None:
        """Share met on time (a timely 本期无 filing counts as met)."""
        met = self.counts[State.ON_TIME] + self.counts[State.NIL]
        return met / self.due if self.due else None

    def __getitem__(self, state: str) -> int:
        return self.counts[State(state)]


def tally(obligations: Iterable[Obligation], key) -> dict:
    tallies: dict = defaultdict(Tally)
    for obligation in obligations:
        tallies[key(obligation)].add(obligation)
    return tallies


# Loading from the database: a fixed number of queries whatever the data size.


def load_rules() -> dict[str, Rule]:
    return {
        rule.catalog.kind: Rule(
            rule.monthly_due_day,
            rule.quarterly_due_day,
            rule.half_yearly_due_day,
            rule.yearly_due_day,
            rule.immediate_workdays,
        )
        for rule in ScheduleRule.objects.select_related("catalog")
    }


def load_items(kind: str | None = None) -> list[Item]:
    qs = Item.objects.select_related("category__catalog")
    if kind:
        qs = qs.filter(category__catalog__kind=kind)
    return list(qs)


def item_spec(item: Item) -> ItemSpec:
    return ItemSpec(
        item.pk,
        item.code,
        item.frequency,
        item.category.catalog.kind,
        item.category_id,
        item.for_town,
        item.for_village,
    )


def load_filings(year: int, unit_ids: Iterable[int]) -> list[Filing]:
    """Published disclosures of that year, all scopes (党内 ones count too)."""
    rows = (
        Disclosure.objects.published()
        .filter(unit_id__in=list(unit_ids), period_start__year=year)
        .values_list(
            "pk",
            "unit_id",
            "item_id",
            "period",
            "published_at",
            "event_date",
            "is_nil_return",
        )
    )
    return [
        Filing(pk, unit, item, period, timezone.localdate(at), event, nil)
        for pk, unit, item, period, at, event, nil in rows
    ]


def unit_spec(unit: Unit) -> UnitSpec:
    return UnitSpec(unit.pk, unit.board_level)


def load(
    *,
    units: list[Unit],
    year: int,
    as_of: date,
    kind: str | None = None,
    within: Period | None = None,
) -> tuple[list[Obligation], list[Item]]:
    items = load_items(kind)
    obligations = evaluate(
        units=[unit_spec(u) for u in units],
        items=[item_spec(i) for i in items],
        filings=load_filings(year, [u.pk for u in units]),
        rules=load_rules(),
        year=year,
        as_of=as_of,
        within=within,
    )
    return obligations, items


def attention(units: list[Unit], as_of: date) -> list[Obligation]:
    """Overdue and soon-due obligations of these units, most urgent first."""
    obligations, _ = load(units=units, year=as_of.year, as_of=as_of)
    if as_of.month == 1:  # last year's December and Q4 items fall due in January
        previous, _ = load(units=units, year=as_of.year - 1, as_of=as_of)
        obligations += previous
    soon = [
        o
        for o in obligations
        if o.state == State.MISSING
        or (o.state == State.NOT_DUE and (o.due - as_of).days <= DUE_SOON_DAYS)
    ]
    return sorted(soon, key=lambda o: (o.state != State.MISSING, o.due))


# Which year and day the pages open on ----------------------------------------

# A portal whose last publication is older than this is an archive (or the
# 2011 demo): its pages open on the day its data ends.
ARCHIVE_AFTER = timedelta(days=365)


def _publication_span() -> tuple[datetime, datetime] | None:
    """The first and the last publication: two reads of the recent-disclosures
    index (status, published_at), whatever the number of rows."""
    published = Disclosure.objects.published().values_list("published_at", flat=True)
    last = published.order_by("-published_at").first()
    if last is None:
        return None
    return published.order_by("published_at").first(), last


def publication_span() -> tuple[datetime, datetime] | None:
    return caching.cached("disclosure:publication-span", _publication_span)


def years_with_data() -> list[int]:
    """The years from the first publication to the last, newest first: the
    choice of years the compliance and statistics pages offer."""
    span = publication_span()
    if span is None:
        return []
    first, last = (timezone.localtime(moment).year for moment in span)
    return list(range(last, first - 1, -1))


def latest_year_with_data() -> int | None:
    years = years_with_data()
    return years[0] if years else None


def year_choice(chosen: int | None = None) -> list[int]:
    """The years to offer, newest first: those with data and the one chosen."""
    years = set(years_with_data())
    if chosen is not None:
        years.add(chosen)
    return sorted(years, reverse=True)


def reference_date() -> date:
    """The day figures are computed for when none is asked: today; for an
    archive (no publication for ARCHIVE_AFTER, such as the 2011 demo) the day
    of its last publication, so that its pages show where things stood then,
    not every obligation since as 未公开. A visitor may still choose any day."""
    today = timezone.localdate()
    span = publication_span()
    if span is None or timezone.now() - span[1] < ARCHIVE_AFTER:
        return today
    return timezone.localdate(span[1])
