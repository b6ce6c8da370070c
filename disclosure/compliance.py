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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import chain
from typing import NamedTuple

from django.db.models import Max, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog import periods
from catalog.models import Category, Item, ScheduleRule, Timing
from catalog.page_scopes import CATALOG, COUNTED, FILED
from catalog.periods import Period
from catalog.workdays import add_workdays, notice_ends
from core import caching, compiled, content

from . import counts_memo
from .models import Disclosure, ObligationEvent, Unit
from .page_scopes import PUBLISHED, SPAN, UNITS, request_scopes, years_fact

# How far ahead "due soon" looks, for reminders and the editors' start page.
DUE_SOON_DAYS = 7


class State(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    NOT_DUE = "not_due"
    NIL = "nil"
    # A 长期 item with nothing of it on the board on the check date.
    OFF_BOARD = "off_board"
    # A 公示 whose window ended without its outcome recorded in time.
    OUTCOME_OVERDUE = "outcome_overdue"


# As inspectors say it (按时公开, 逾期公开, 逾期未公开).
LABELS = {
    State.ON_TIME: _("按时公开"),
    State.LATE: _("逾期公开"),
    State.MISSING: _("逾期未公开"),
    State.NOT_DUE: _("未到期"),
    State.NIL: _("本期无"),
    State.OFF_BOARD: _("长期事项未在栏"),
    State.OUTCOME_OVERDUE: _("公示结果逾期未公布"),
}
# What staff are told of a 公示 awaiting its outcome (start page, reminders).
OUTCOME_PROMPT = _("公示期已满，请公布结果")
# A cell that holds several obligations shows the most urgent state.
PRECEDENCE = [
    State.MISSING,
    State.OFF_BOARD,
    State.OUTCOME_OVERDUE,
    State.LATE,
    State.ON_TIME,
    State.NIL,
    State.NOT_DUE,
]
# Failures still open: what reminders and the editors' start page chase.
OVERDUE = (State.MISSING, State.OFF_BOARD, State.OUTCOME_OVERDUE)

# Item timings (catalog.models.Timing), as plain strings: the engine takes
# plain values.
PERIOD_END = "period_end"
YEAR_START = "year_start"
STANDING = "standing"
EVENT = "event"
BEFORE = "before"
PHASE = "phase"


@dataclass(frozen=True)
class Rule:
    monthly_due_day: int = 5
    quarterly_due_day: int = 10
    half_yearly_due_day: int = 15
    yearly_due_day: int = 31
    immediate_workdays: int = 5
    plan_due_month: int = 3  # 年初 items: by the end of this month
    outcome_workdays: int = 5  # a 公示's outcome: after its window ends
    adopted_on: date | None = None  # the catalog's: nothing is owed before


@dataclass(frozen=True)
class ItemSpec:
    id: int
    code: str
    frequency: str
    catalog_kind: str
    category_id: int
    for_town: bool
    for_village: bool
    timing: str = ""  # "": 随时 items by event, the others after the period
    nil_allowed: bool = True
    notice_days: int | None = None  # a 公示's window, in working days

    @property
    def period_kind(self) -> str | None:
        return Item.PERIOD_KIND[self.frequency]

    @property
    def rule(self) -> str:
        if self.timing:
            return self.timing
        return EVENT if self.period_kind is None else PERIOD_END


@dataclass(frozen=True)
class UnitSpec:
    id: int
    level: str  # "town" or "village"


class Filing(NamedTuple):
    """A published disclosure as the engine counts it. A tuple, not a
    dataclass: a town's thousand rows are made, kept (pickled) and digested
    (counts_memo: its repr, the same text) on every cold count, three times
    faster so; immutable all the same. Compared by its fields only."""

    id: int
    unit_id: int
    item_id: int
    period: str
    published_on: date
    event_date: date | None = None
    nil: bool = False
    display_until: date | None = None  # None: on the board until withdrawn
    posted_on: date | None = None  # a 公示's posting day (else published_on)
    outcome: bool = False  # a 公示's outcome recorded

    def on_display(self, day: date) -> bool:
        return self.published_on <= day and (
            self.display_until is None or self.display_until >= day
        )


@dataclass(frozen=True)
class EventSpec:
    """An event registered by staff (disclosure.ObligationEvent)."""

    id: int
    unit_id: int
    item_id: int
    event_date: date
    disclosure_id: int | None = None
    description: str = ""


@dataclass(frozen=True)
class RequestSpec:
    """A 点题公开 request accepted (受理): the unit owes the disclosure asked
    for by the case's answer deadline, the one the 回音壁 shows. Given by the
    feedback app, a layer above (register_requests). Never the submitter's
    name or phone: `title` is the case's public title, "" when its text is
    not public (no consent, held back, hidden)."""

    id: int
    unit_id: int
    item_id: int | None  # the catalog's item for 点题 answers (F02), else the case's
    accepted_on: date
    due: date
    disclosure_id: int | None = None  # the disclosure that answers it
    disclosed_on: date | None = None  # its publication day, once published
    refused_on: date | None = None  # refused, with a written reason, that day
    # Its disclosure's publication, set for later: the request is met then
    # with no save, so figures counted from it are kept no longer.
    answer_due: datetime | None = None
    title: str = ""
    url: str = ""  # the case on the 回音壁, when public
    admin_url: str = ""  # the case in the back office


# (unit ids, year) -> the requests accepted that year by these units: one
# query each. Filled by the feedback app (FeedbackConfig.ready()), as
# inspections.register_feedback_rate is: disclosure never imports feedback.
RequestSource = Callable[[list[int], int], list[RequestSpec]]
request_sources: list[RequestSource] = []


# (unit ids) -> the units whose disclosures answer these units' requests
# (any year): their counts use the answers up when both are of one town
# (`evaluate`), so a unit moved to another town changes theirs.
AnsweringSource = Callable[[list[int]], Iterable[int]]
answering_sources: list[AnsweringSource] = []


def register_requests(
    source: RequestSource, *, answering: AnsweringSource | None = None
) -> None:
    if source not in request_sources:
        request_sources.append(source)
    if answering is not None and answering not in answering_sources:
        answering_sources.append(answering)


def answering_units(unit_ids: list[int]) -> set[int]:
    """The units whose disclosures answer 点题 requests of these units."""
    return {pk for source in answering_sources for pk in source(list(unit_ids))}


@dataclass(slots=True)  # thousands a town: made faster, and fewer objects
class Obligation:
    unit_id: int
    item_id: int
    period: Period | None  # None: owed because of an event, a check or a 公示
    due: date
    state: State
    filing: Filing | None = None
    days_late: int = 0
    # What the obligation comes from: "period", "event" (随时/事前/逐段),
    # "request" (a 点题公开 request accepted on `event_date`), "standing" (on
    # the board on `checked_on`) or "outcome" (a 公示's result).
    kind: str = "period"
    event_date: date | None = None
    event: EventSpec | None = None
    checked_on: date | None = None
    rule: str = PERIOD_END
    request: RequestSpec | None = None
    # A 公示 whose window has ended, its outcome not yet recorded nor overdue:
    # staff are prompted to record it (公示期已满，请公布结果).
    window_ends: date | None = None
    awaiting_outcome: bool = False
    # A request refused in writing, no disclosure made: judged by that day.
    refused: bool = False

    @property
    def label(self):
        return LABELS[self.state]

    @property
    def met(self) -> bool:
        return self.state in (State.ON_TIME, State.NIL)

    @property
    def overdue(self) -> bool:
        return self.state in OVERDUE


def month_after(year: int, month: int, day: int) -> date:
    """`day` of the month after (year, month), clamped to that month's length."""
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def kind_due_day(kind: str, rule: Rule) -> int:
    return {
        periods.MONTH: rule.monthly_due_day,
        periods.QUARTER: rule.quarterly_due_day,
        periods.HALF: rule.half_yearly_due_day,
        periods.YEAR: rule.yearly_due_day,
    }[kind]


def due_date(period: Period, rule: Rule, timing: str = PERIOD_END) -> date:
    """期末: the kind's due day of the month after the period. 年初 (plans): a
    yearly plan by the end of `plan_due_month`; a shorter period's plan by
    the kind's due day of its own first month."""
    if timing == YEAR_START:
        if period.kind == periods.YEAR:
            month = rule.plan_due_month
            return date(period.year, month, calendar.monthrange(period.year, month)[1])
        first = period.months[0]
        last_day = calendar.monthrange(period.year, first)[1]
        return date(period.year, first, min(kind_due_day(period.kind, rule), last_day))
    return month_after(period.year, period.months[1], kind_due_day(period.kind, rule))


def event_due(event_date: date, timing: str, rule: Rule) -> date:
    """事前: published before the decision (the day before at the latest);
    随时 and 逐段: within N working days of the event or phase."""
    if timing == BEFORE:
        return event_date - timedelta(days=1)
    return add_workdays(event_date, rule.immediate_workdays)


def window_ends(filing: Filing, notice_days: int) -> date:
    """A 公示's last day, as its page shows it (Disclosure.notice_ends_on)."""
    return notice_ends(filing.posted_on or filing.published_on, notice_days)


def outcome_due(filing: Filing, notice_days: int, rule: Rule) -> date:
    """A 公示 runs `notice_days` working days from its posting (the posting
    day counts if it is one); its outcome is due `outcome_workdays` later."""
    return add_workdays(window_ends(filing, notice_days), rule.outcome_workdays)


def periods_of(year: int, kind: str) -> list[Period]:
    count = {periods.MONTH: 12, periods.QUARTER: 4, periods.HALF: 2, periods.YEAR: 1}
    return [Period(year, kind, n) for n in range(1, count[kind] + 1)]


def applies(item: ItemSpec, unit: UnitSpec) -> bool:
    return item.for_town if unit.level == "town" else item.for_village


def judge(filing: Filing | None, due: date, as_of: date) -> tuple[State, int]:
    """A filing, 本期无 included, is on time by its due date or late; a 本期无
    filed late is 逾期公开 like any late disclosure."""
    if filing is None:
        return (State.MISSING if as_of > due else State.NOT_DUE), 0
    late = (filing.published_on - due).days
    if late > 0:
        return State.LATE, late
    return (State.NIL if filing.nil else State.ON_TIME), 0


def evaluate(
    *,
    units: Iterable[UnitSpec],
    items: Iterable[ItemSpec],
    filings: Iterable[Filing],
    rules: dict[str, Rule],
    year: int,
    as_of: date,
    within: Period | None = None,
    events: Iterable[EventSpec] = (),
    requests: Iterable[RequestSpec] = (),
) -> list[Obligation]:
    """Every obligation of `year` as it stood at the end of `as_of`.

    By the item's timing: 期末 and 年初 items owe one disclosure per period
    that has begun by `as_of`; 长期 items must have one on display on the
    check day (`as_of`, or the year's end) besides their periodic
    re-confirmation; 随时, 事前 and 逐段 items owe one per event, registered
    (`events`) or given by a disclosure's event date; a 点题公开 request
    accepted (`requests`) owes the disclosure asked for by its 回音壁 deadline;
    a 公示 owes its outcome when its window ends. Only filings published by
    `as_of` count, and a 本期无 of an item that may not be nil counts for
    nothing. Nothing is owed for periods or events before the catalog's
    adoption. `within` narrows to periods inside one period (a quarter).
    """
    units, items = list(units), list(items)
    item_by_id = {item.id: item for item in items}
    unit_ids = {unit.id for unit in units}
    published = sorted(
        (f for f in filings if f.published_on <= as_of), key=lambda f: f.published_on
    )
    first: dict[tuple[int, int, str], Filing] = {}
    by_unit_item: dict[tuple[int, int], list[Filing]] = defaultdict(list)
    for filing in published:
        item = item_by_id.get(filing.item_id)
        if filing.nil and item is not None and not item.nil_allowed:
            continue  # refused by nature (Disclosure.clean): not counted as met
        first.setdefault((filing.unit_id, filing.item_id, filing.period), filing)
        by_unit_item[filing.unit_id, filing.item_id].append(filing)

    # Looked up once an item: asked for each unit and period of it.
    default_rule = Rule()
    rule_by_item = {
        item.id: rules.get(item.catalog_kind, default_rule) for item in items
    }

    def rule_of(item: ItemSpec) -> Rule:
        return rule_by_item[item.id]

    def before_adoption(item: ItemSpec, day: date) -> bool:
        adopted = rule_of(item).adopted_on
        return adopted is not None and day < adopted

    def in_window(day: date) -> bool:
        return within is None or within.start <= day <= within.end

    # The periods an item owes and their due dates are the same for every
    # unit: worked out once per item (the county page has hundreds of units).
    schedule: dict[int, list[tuple[Period, str, date]]] = {}
    for item in items:
        timing, kind = item.rule, item.period_kind
        if kind is None or timing not in (PERIOD_END, YEAR_START, STANDING):
            continue
        schedule[item.id] = [
            (period, period.key, due_date(period, rule_of(item), timing))
            for period in periods_of(year, kind)
            if period.start <= as_of
            and not (within and not inside(period, within))
            and not before_adoption(item, period.end)
        ]

    result = []
    for unit in units:
        for item in items:
            if not applies(item, unit):
                continue
            rule, timing = rule_of(item), item.rule
            if item.id in schedule:
                for period, key, due in schedule[item.id]:
                    filing = first.get((unit.id, item.id, key))
                    state, late = judge(filing, due, as_of)
                    result.append(
                        Obligation(
                            unit.id,
                            item.id,
                            period,
                            due,
                            state,
                            filing,
                            late,
                            rule=timing,
                        )
                    )
            if timing == STANDING:
                standing = standing_check(
                    unit, item, by_unit_item, rule, year, as_of, within
                )
                if standing is not None:
                    result.append(standing)

    used: set[int] = set()
    by_id = {f.id: f for f in published}
    # 点题公开 requests accepted: the disclosure answering one is judged by the
    # request's deadline, not again by its own event date.
    for request in sorted(requests, key=lambda r: (r.accepted_on, r.id)):
        item = item_by_id.get(request.item_id)
        if item is None:
            continue
        accepted = request.accepted_on
        if accepted.year != year or not in_window(accepted) or accepted > as_of:
            continue
        if before_adoption(item, accepted):
            continue
        if request.unit_id not in unit_ids:
            # Another unit's request answered by a disclosure of these (the
            # town's answer to a village's): owed by that unit, not these,
            # and the answer is used up all the same, whichever units are
            # counted together (`counts_by_unit` counts a unit alone).
            if request.disclosure_id in by_id and answered_by(request, as_of):
                used.add(request.disclosure_id)
            continue
        obligation = request_obligation(request, item, by_id, as_of)
        if obligation.filing is not None:
            used.add(obligation.filing.id)
        result.append(obligation)

    # Events: registered ones first, each met by its linked disclosure or by
    # one of the same unit and item with the same event date; then the
    # disclosures' own event dates (an event nobody registered).
    for event in sorted(events, key=lambda e: (e.event_date, e.id)):
        item = item_by_id.get(event.item_id)
        if item is None or item.period_kind is not None:
            continue
        if event.unit_id not in unit_ids or event.event_date.year != year:
            continue
        if not in_window(event.event_date) or event.event_date > as_of:
            continue
        if before_adoption(item, event.event_date):
            continue
        filing = by_id.get(event.disclosure_id) if event.disclosure_id else None
        if filing is None:
            filing = next(
                (
                    f
                    for f in by_unit_item[event.unit_id, event.item_id]
                    if f.event_date == event.event_date and f.id not in used
                ),
                None,
            )
        if filing is not None:
            used.add(filing.id)
        result.append(
            event_obligation(
                item,
                event.unit_id,
                event.event_date,
                filing,
                rule_of(item),
                as_of,
                event,
            )
        )
    for filing in published:
        item = item_by_id.get(filing.item_id)
        if item is None or item.period_kind is not None or filing.id in used:
            continue
        if filing.unit_id not in unit_ids or not filing.event_date:
            continue
        if filing.event_date.year != year or not in_window(filing.event_date):
            continue
        if before_adoption(item, filing.event_date):
            continue
        if filing.nil and not item.nil_allowed:
            continue
        result.append(
            event_obligation(
                item, filing.unit_id, filing.event_date, filing, rule_of(item), as_of
            )
        )

    # 公示: the outcome of each notice of the year, once its window ends.
    for filing in published:
        item = item_by_id.get(filing.item_id)
        if item is None or not item.notice_days or filing.nil:
            continue
        if filing.unit_id not in unit_ids or filing.published_on.year != year:
            continue
        if not in_window(filing.published_on):
            continue
        ends = window_ends(filing, item.notice_days)
        due = outcome_due(filing, item.notice_days, rule_of(item))
        if filing.outcome:
            state = State.ON_TIME
        else:
            state = State.OUTCOME_OVERDUE if as_of > due else State.NOT_DUE
        result.append(
            Obligation(
                filing.unit_id,
                item.id,
                None,
                due,
                state,
                filing,
                kind="outcome",
                rule=item.rule,
                window_ends=ends,
                # From the day after its last day (when its page stops
                # counting the days left) until the outcome is overdue.
                awaiting_outcome=state == State.NOT_DUE and as_of > ends,
            )
        )
    return result


def steady_through(
    obligations: Iterable[Obligation],
    *,
    items: Iterable[ItemSpec],
    filings: Iterable[Filing],
    rules: dict[str, Rule],
    year: int,
    as_of: date,
    within: Period | None = None,
    events: Iterable[EventSpec] = (),
    requests: Iterable[RequestSpec] = (),
) -> date:
    """The last day from `as_of` on for which `evaluate`, given the same
    data, finds the same obligations in the same states (all a tally counts;
    only a 长期 check's `checked_on` is the day itself): the day before the
    first date on which one of its comparisons with the day can turn.

    Conservative by construction: every date that `evaluate` compares the
    day with is a candidate, whether or not crossing it changes a state.
    Kept figures live until then (`caching.cached_through`), not until
    midnight. `date.max`: nothing ahead changes them."""
    one = timedelta(days=1)
    turns: set[date] = set()

    def turn(day: date | None) -> None:
        if day is not None and day > as_of:
            turns.add(day)

    def after(day: date | None) -> None:
        # The day after the last a date may hold is no turn (no OverflowError).
        if day is not None and day < date.max:
            turn(day + one)

    for filing in filings:  # counted from its publication; on the board until its end
        turn(filing.published_on)
        after(filing.display_until)
    for kind in {item.period_kind for item in items} - {None}:
        for period in periods_of(year, kind):  # owed once it begins
            turn(period.start)
    for obligation in obligations:  # 未到期 → overdue; a 公示's window ends
        after(obligation.due)
        after(obligation.window_ends)
    # A 长期 item is checked on the day until the year (or `within`) ends;
    # owed from its start, or a week of working days after adoption.
    start = date(year, 1, 1) if within is None else within.start
    end = date(year, 12, 31) if within is None else within.end
    turn(start)
    after(end)
    for rule in rules.values():
        if rule.adopted_on is not None:
            turn(rule.adopted_on)
            after(add_workdays(rule.adopted_on, rule.immediate_workdays))
    for event in events:  # owed from its date
        turn(event.event_date)
    for request in requests:  # owed from acceptance; met or refused that day
        turn(request.accepted_on)
        turn(request.disclosed_on)
        turn(request.refused_on)
        after(request.due)
    return min(turns) - one if turns else date.max


def answered_by(request: RequestSpec, as_of: date) -> bool:
    """Whether the disclosure answering the request was out by `as_of`."""
    disclosed = request.disclosed_on
    return bool(request.disclosure_id and disclosed and disclosed <= as_of)


def request_obligation(
    request: RequestSpec, item: ItemSpec, by_id: dict[int, Filing], as_of: date
) -> Obligation:
    """Met by the disclosure answering the request, published by its due
    date, or by a refusal explained in writing by then (domain.md: a refusal
    is explained in writing); an answer without the disclosure meets nothing."""
    filing = None
    if answered_by(request, as_of):
        # Its disclosure may be of another year, or not loaded: the request
        # says when it was published.
        filing = by_id.get(request.disclosure_id) or Filing(
            request.disclosure_id, request.unit_id, item.id, "", request.disclosed_on
        )
    refused = filing is None and bool(
        request.refused_on and request.refused_on <= as_of
    )
    if filing is not None:
        state, late = judge(filing, request.due, as_of)
    elif refused:
        late = max((request.refused_on - request.due).days, 0)
        state = State.LATE if late else State.ON_TIME
    else:
        state, late = judge(None, request.due, as_of)
    return Obligation(
        request.unit_id,
        item.id,
        None,
        request.due,
        state,
        filing,
        late,
        kind="request",
        event_date=request.accepted_on,
        rule=EVENT,
        request=request,
        refused=refused,
    )


def event_obligation(
    item: ItemSpec,
    unit_id: int,
    event_date: date,
    filing: Filing | None,
    rule: Rule,
    as_of: date,
    event: EventSpec | None = None,
) -> Obligation:
    due = event_due(event_date, item.rule, rule)
    state, late = judge(filing, due, as_of)
    return Obligation(
        unit_id,
        item.id,
        None,
        due,
        state,
        filing,
        late,
        kind="event",
        event_date=event_date,
        event=event,
        rule=item.rule,
    )


def standing_check(
    unit: UnitSpec,
    item: ItemSpec,
    by_unit_item: dict,
    rule: Rule,
    year: int,
    as_of: date,
    within: Period | None,
) -> Obligation | None:
    """A 长期 item must be on the board (published, not withdrawn, on display)
    on the check day: `as_of`, or the end of the year (or of `within`) if
    earlier. Owed from the year's start, or a week of working days after the
    catalog's adoption that year."""
    first_day = date(year, 1, 1) if within is None else within.start
    check = min(as_of, date(year, 12, 31) if within is None else within.end)
    adopted = rule.adopted_on
    if check < first_day or (adopted and check < adopted):
        return None
    due = first_day
    if adopted and adopted > first_day:
        due = add_workdays(adopted, rule.immediate_workdays)
    shown = [
        f
        for f in by_unit_item.get((unit.id, item.id), [])
        if not f.nil and f.on_display(check)
    ]
    if shown:
        state, filing = State.ON_TIME, shown[-1]
    else:
        state, filing = (State.OFF_BOARD if check > due else State.NOT_DUE), None
    return Obligation(
        unit.id,
        item.id,
        None,
        due,
        state,
        filing,
        kind="standing",
        checked_on=check,
        rule=STANDING,
    )


def inside(period: Period, outer: Period) -> bool:
    return outer.start <= period.start and period.end <= outer.end


class Shown:
    """What a page shows of a tally: its states, counted (`counts`), and
    the rates worked out from them (`rate` and its base, `items`, are
    the subclass's)."""

    counts: Counter

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
    def met(self) -> int:
        """Met on time (a timely 本期无 counts as met)."""
        return self.counts[State.ON_TIME] + self.counts[State.NIL]

    @property
    def count_rate(self) -> float | None:
        """按时公开率 (按期次): the plain share of obligations met on time."""
        return self.met / self.due if self.due else None

    @property
    def overdue(self) -> int:
        return sum(self.counts[s] for s in OVERDUE)

    def __getitem__(self, state: str) -> int:
        return self.counts[State(state)]


@dataclass
class Tally(Shown):
    """Counts of states, and the 按时公开率 weighted by catalog item.

    The headline rate gives every (unit, item) pair the same weight, whatever
    its frequency: a unit's twelve monthly finance statements weigh as much as
    its one yearly report, not twelve times as much. The plain share of
    obligations (`count_rate`, 按期次) is shown beside it."""

    counts: Counter = field(default_factory=Counter)
    # (unit_id, item_id) -> [met, due] of the obligations whose time has come
    per_item: dict = field(default_factory=dict)

    def add(self, obligation: Obligation) -> None:
        self.counts[obligation.state] += 1
        if obligation.state != State.NOT_DUE:
            pair = self.per_item.setdefault(
                (obligation.unit_id, obligation.item_id), [0, 0]
            )
            pair[0] += obligation.met
            pair[1] += 1

    @property
    def rate(self) -> float | None:
        """按时公开率 (按事项): the mean over the unit's items of each item's
        share met on time."""
        return self.shares / self.items if self.per_item else None

    @property
    def shares(self) -> float:
        """The sum over the (unit, item) pairs of each one's share met on
        time: the weighted rate's numerator."""
        return sum(met / due for met, due in self.per_item.values())

    @property
    def items(self) -> int:
        """(unit, item) pairs with something due: the weighted rate's base."""
        return len(self.per_item)

    def settled(self) -> Settled:
        shares, items = self.shares, self.items
        return Settled(self.counts, shares / items if items else None, items, shares)


@dataclass
class Settled(Shown):
    """A tally as a page shows it: its counts, its rate and the rate's base
    and numerator worked out, without the (unit, item) pairs they come from
    (kept smaller, their rates read once; summed by `roll_up`)."""

    counts: Counter
    rate: float | None
    items: int
    shares: float  # the rate's numerator: what `roll_up` adds up


def settle(tallies: dict) -> dict:
    """`Tally.settled` of each."""
    return {key: t.settled() for key, t in tallies.items()}


def tally(obligations: Iterable[Obligation], key) -> dict:
    tallies: dict = defaultdict(Tally)
    for obligation in obligations:
        tallies[key(obligation)].add(obligation)
    return tallies


def roll_up(tallies: dict, key) -> dict[object, Settled]:
    """Tallies summed: `key(k)` the new key of the tally (or settled tally)
    under `k`, e.g. a matrix's (unit, category) cells summed per unit. The
    same as tallying the obligations again (up to the rounding of the
    rates' sums), at the cost of the cells, not of their (unit, item)
    pairs, which the cells must not share: a unit's tallies by category
    (each item in one) and those of other units."""
    sums: dict = {}
    for k, part in tallies.items():
        whole = sums.get(into := key(k))
        if whole is None:
            whole = sums[into] = [Counter(), 0.0, 0]
        counts = whole[0]
        # Not Counter.update: its check that the argument is a Mapping (an
        # ABC) cost more than the sums on the county's matrix.
        for state, n in part.counts.items():
            counts[state] += n
        whole[1] += part.shares
        whole[2] += part.items
    return {
        k: Settled(counts, shares / items if items else None, items, shares)
        for k, (counts, shares, items) in sums.items()
    }


# Loading from the database: a fixed number of queries whatever the data size.


def load_rules() -> dict[str, Rule]:
    return {
        rule.catalog.kind: Rule(
            rule.monthly_due_day,
            rule.quarterly_due_day,
            rule.half_yearly_due_day,
            rule.yearly_due_day,
            rule.immediate_workdays,
            rule.plan_due_month,
            rule.outcome_workdays,
            rule.catalog.adopted_on,
        )
        for rule in ScheduleRule.objects.select_related("catalog")
    }


def load_items(kind: str | None = None) -> list[Item]:
    qs = Item.objects.select_related("category__catalog")
    if kind:
        qs = qs.filter(category__catalog__kind=kind)
    return list(qs)


# ItemSpec's fields as Item's (one query, no model built: the engine's
# runs after a catalog change load them afresh).
_SPEC_FIELDS = (
    "pk",
    "code",
    "frequency",
    "category__catalog__kind",
    "category_id",
    "for_town",
    "for_village",
    "timing",
    "nil_allowed",
    "notice_days",
)


def load_item_specs(kind: str | None = None) -> list[ItemSpec]:
    """`item_spec` of each of `load_items(kind)`, in the same order."""
    qs = Item.objects.all()
    if kind:
        qs = qs.filter(category__catalog__kind=kind)
    return [ItemSpec(*row) for row in qs.values_list(*_SPEC_FIELDS)]


def counted_item_specs(kind: str | None = None) -> tuple[ItemSpec, ...]:
    """`load_item_specs(kind)`, kept until what the engine counts of the
    catalog changes (COUNTED: every field of ItemSpec is a counted one):
    a publication counts its unit again without reading the catalog. One
    tuple of frozen rows shared by the process's callers."""
    return caching.cached(
        f"compliance:item-specs:{kind or ''}",
        lambda: tuple(load_item_specs(kind)),
        scopes=[COUNTED],
        shared=True,
    )


def counted_rules() -> dict[str, Rule]:
    """`load_rules()`, kept as `counted_item_specs` (a rule, a catalog's
    kind or adoption day is counted: COUNTED)."""
    return caching.cached("compliance:rules", load_rules, scopes=[COUNTED])


def item_spec(item: Item) -> ItemSpec:
    return ItemSpec(
        item.pk,
        item.code,
        item.frequency,
        item.category.catalog.kind,
        item.category_id,
        item.for_town,
        item.for_village,
        item.timing,
        item.nil_allowed,
        item.notice_days,
    )


def standing_items() -> tuple[int, ...]:
    """The ids of the 长期 items (`load_filings`), kept until which rows
    count as filed may change (FILED: an item's timing). Read afresh inside
    a transaction of ours: FILED moves at its commit, and the joined query
    this replaced read the transaction's own timings (a demo town seeded in
    one transaction counts the items it has just made 长期)."""

    def read() -> tuple[int, ...]:
        return tuple(
            Item.objects.filter(timing=Timing.STANDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    if not caching.may_keep():
        return read()
    return caching.cached(
        "compliance:standing-items", read, scopes=[FILED], shared=True
    )


def load_filings(year: int, unit_ids: Iterable[int]) -> list[Filing]:
    """Published disclosures of that year, all scopes (党内 ones count too),
    and the 长期 items' earlier ones still on the board (withdrawn ones are
    not published). Its SQL kept per year, 长期 items and number of units
    (core.compiled): after a publication the matrix reads its unit's rows
    again, and building the query cost more than running it.

    The 长期 items are named by id, not joined by their timing: the year's
    rows are then read through disclosure_unit_period_idx and the earlier
    ones through the item's index, not every row the units ever filed
    (4.3 → 1.7 ms of server time for a town at county scale,
    docs/PERFORMANCE.md)."""
    standing = standing_items()

    def build(at, *keys):
        standing_before = Q(item_id__in=standing, period_start__year__lt=year) & (
            Q(display_until__isnull=True) | Q(display_until__year__gte=year)
        )
        return (
            Disclosure.objects.published(at)
            .order_by()  # the engine sorts what it needs
            .filter(Q(period_start__year=year) | standing_before)
            .filter(unit_id__in=keys)
            # The day of publication in the site's time zone, worked out by
            # the database: converting a thousand timestamps in Python cost
            # a third of the load at county scale.
            .annotate(published_on=TruncDate("published_at"))
            .values_list(
                "pk",
                "unit_id",
                "item_id",
                "period",
                "published_on",
                "event_date",
                "is_nil_return",
                "display_until",
                "posted_on",
                "notice_outcome",
            )
        )

    keys = sorted(set(unit_ids))
    # Planned with its values on each run: PostgreSQL's plan for any value,
    # used from the sixth run of a prepared statement, also read every row
    # published before now through disclosure_recent_idx (26 ms where the
    # plan for the values takes 5, rows in order of publication).
    rows = compiled.rows(
        Disclosure,
        ("compliance-filings", year, standing),
        build,
        keys=keys,
        planned_each_run=True,
    )
    return [
        Filing(*row[:-1], bool(row[-1]))  # notice_outcome: text → recorded or not
        for row in rows
    ]


def load_events(year: int, unit_ids: Iterable[int]) -> list[EventSpec]:
    """The events registered for these units in that year (事项登记): SQL
    kept as `load_filings`'."""
    rows = compiled.rows(
        ObligationEvent,
        ("compliance-events", year),
        lambda at, *keys: ObligationEvent.objects.filter(
            unit_id__in=keys, event_date__year=year
        ).values_list(
            "pk", "unit_id", "item_id", "event_date", "disclosure_id", "description"
        ),
        keys=sorted(set(unit_ids)),
    )
    return [EventSpec(*row) for row in rows]


def load_requests(year: int, unit_ids: Iterable[int]) -> list[RequestSpec]:
    """The 点题公开 requests these units accepted in that year, from the
    sources registered (the feedback app's: one query)."""
    ids = list(unit_ids)
    return [request for source in request_sources for request in source(ids, year)]


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
    """Every obligation of these units (`evaluate`) and the items, as models:
    the pages that list obligations (a unit's, the reminders, the county's).

    Units of one town are counted with the 点题 requests of every unit of
    it (their rows kept unit by unit): a request of another unit answered
    by a disclosure of these uses it up, as in the town's matrix."""
    items = load_items(kind)
    everyone = town_units(units)
    inputs = load_inputs(year, everyone or units)
    ids = {u.pk for u in units}
    obligations = evaluate(
        units=[unit_spec(u) for u in units],
        items=[item_spec(i) for i in items],
        filings=[f for f in inputs.filings if f.unit_id in ids],
        events=[e for e in inputs.events if e.unit_id in ids],
        requests=inputs.requests,
        rules=load_rules(),
        year=year,
        as_of=as_of,
        within=within,
    )
    return obligations, items


def town_units(units: list[Unit]) -> list[Unit] | None:
    """Every unit of the one town these units are in, kept until a unit
    changes ("units"); None: of several towns (the county's pages count
    each town's units together already)."""
    towns = {u.pk if u.kind == Unit.Kind.TOWN else u.parent_id for u in units}
    if len(towns) != 1 or None in towns:
        return None
    (town,) = towns
    return caching.cached(
        f"compliance:town-units:{town}",
        lambda: list(Unit.objects.of_town(town)),
        scopes=[UNITS],
    )


def towns() -> list[Unit]:
    """The towns in the order of the town choices (the first is the
    default), kept until a unit changes: every compliance page's form
    offers them."""
    return caching.cached(
        "compliance:towns", lambda: list(Unit.objects.ordered_towns()), scopes=[UNITS]
    )


def categories() -> list[Category]:
    """Every category of the catalogs, with its catalog, kept until the
    catalog changes: the matrix's columns and the statistics' names of
    their counts by category, put on counts made again after a publication
    without reading the catalog. In no order: each page sorts its own."""
    return caching.cached(
        "compliance:categories",
        lambda: list(Category.objects.select_related("catalog").order_by()),
        scopes=[CATALOG],
    )


def units_of_town(town: Unit) -> list[Unit]:
    """The town, then its villages and communities in their order: the
    matrix's rows (from `town_units`, kept)."""
    others = [u for u in town_units([town]) or [] if u.pk != town.pk]
    return [town, *sorted(others, key=lambda u: (u.order, u.pk))]


@dataclass(frozen=True)
class Inputs:
    """The rows of some units the engine counts in a year: what
    `load_inputs` keeps (tuples of frozen rows: shared, never changed)."""

    filings: tuple[Filing, ...]
    events: tuple[EventSpec, ...]
    requests: tuple[RequestSpec, ...]


def read_inputs(year: int, unit_ids: list[int]) -> Inputs:
    """Every row of these units the engine counts in `year`, read now."""
    rows = read_rows(year, unit_ids)
    return Inputs(rows.filings, rows.events, tuple(load_requests(year, unit_ids)))


def read_rows(year: int, unit_ids: list[int]) -> Inputs:
    """The disclosures and events of these units the engine counts in
    `year`, not their 点题 requests: kept apart (`load_inputs`), as a
    publication changes these, not those."""
    return Inputs(
        tuple(load_filings(year, unit_ids)), tuple(load_events(year, unit_ids)), ()
    )


def load_inputs(year: int, units: list[Unit]) -> Inputs:
    """The rows the engine counts for these units in `year` (`read_inputs`):
    their disclosures and events (`read_rows`) and their 点题 requests
    (`load_requests`).

    Those of a town's units are kept unit by unit, in which rows count as
    filed (FILED: an item's timing or code), and: the disclosures and
    events until a change in the unit ("unit:<slug>", read here through
    its counted twin, `content.counted`: an item made 党内 changes who may
    read rows, not these) or the next publication scheduled in it; the
    requests until a change of one of them or of a disclosure answering
    one (`page_scopes.request_scopes`: "requests-unit:<slug>", which those
    name with "unit:<slug>") or the answer to one coming out. So a rule, a
    frequency or a catalog adopted counts them again without reading them
    (the matrix and the statistics after a catalog change), and a
    publication reads its unit's disclosures and events again, not its
    requests nor its town's rows. A county's units are read each time: its
    page and the reminders count them once, kept by their pages."""
    towns = {u.pk if u.kind == Unit.Kind.TOWN else u.parent_id for u in units}
    if len(towns) > 1:
        return read_inputs(year, sorted(u.pk for u in units))
    started = timezone.now()
    read: list[Unit] = []
    answers: list[datetime | None] = []

    def by_unit(names: dict[str, Unit], rows) -> dict[str, tuple]:
        found: dict[int, list] = defaultdict(list)
        for row in rows:
            found[row.unit_id].append(row)
        return {name: tuple(found[unit.pk]) for name, unit in names.items()}

    rows_of = {f"compliance:rows:{year}:{u.pk}": u for u in units}

    def read_units(names: list[str]) -> dict[str, Inputs]:
        some = {name: rows_of[name] for name in names}
        read.extend(some.values())
        rows = read_rows(year, [u.pk for u in some.values()])
        filings = by_unit(some, rows.filings)
        events = by_unit(some, rows.events)
        return {name: Inputs(filings[name], events[name], ()) for name in names}

    requests_of = {f"compliance:requests:{year}:{u.pk}": u for u in units}

    def read_unit_requests(names: list[str]) -> dict[str, tuple[RequestSpec, ...]]:
        some = {name: requests_of[name] for name in names}
        rows = load_requests(year, [u.pk for u in some.values()])
        answers.extend(r.answer_due for r in rows)
        return by_unit(some, rows)

    parts = caching.cached_many(
        {
            name: [content.counted(f"unit:{unit.slug}"), FILED]
            for name, unit in rows_of.items()
        },
        read_units,
        seconds=lambda: caching.until(next_scheduled(read, started), midnight=False),
        shared=True,
    ).values()
    requests = caching.cached_many(
        {
            name: [*request_scopes([f"unit:{unit.slug}"]), FILED]
            for name, unit in requests_of.items()
        },
        read_unit_requests,
        seconds=lambda: caching.until(changes_at(*answers), midnight=False),
        shared=True,
    ).values()
    return Inputs(
        tuple(chain.from_iterable(part.filings for part in parts)),
        tuple(chain.from_iterable(part.events for part in parts)),
        tuple(chain.from_iterable(requests)),
    )


@dataclass(frozen=True)
class UnitCounts:
    """A unit's tallies by catalog category (`counts_by_unit`), the last day
    they hold through and the first answer to one of its 点题 requests
    scheduled (another unit's disclosure: its own are `next_scheduled`)."""

    by_category: dict[int, Settled]
    through: date
    answer_due: datetime | None


def counts_by_unit(
    units: list[Unit],
    *,
    year: int,
    as_of: date,
    kind: str | None = None,
    within: Period | None = None,
) -> dict[int, UnitCounts]:
    """Each unit's tallies of the year as of the day (the matrix's rows, the
    statistics' on-time shares), evaluated and kept unit by unit: a change
    in one village (its scope's counted twin, "counted-unit:<slug>": not
    an item made 党内), or a publication scheduled
    in it coming out, counts that village again and not its town; a change
    in what the engine reads of the catalog (COUNTED) counts them all. Each
    kept for the run of days it holds through (`steady_through`). A unit
    counted alone counts as it does with its town: another unit's 点题
    request its disclosure answers uses that disclosure up (`evaluate`),
    and a change of the request names the answering unit too. Many units
    counted at once (after a flush, at midnight) are first looked up by
    what they are counted from (disclosure.counts_memo): those whose rows
    did not change are not evaluated again."""
    started = timezone.now()
    key = within.key if within else ""
    named = {
        f"compliance:unit-counts:{year}:{kind or ''}:{key}:{u.pk}": u for u in units
    }
    read: list[Unit] = []
    answers: list[datetime | None] = []

    def count(names: list[str], day: date) -> dict[str, tuple[UnitCounts, date]]:
        some = [named[name] for name in names]
        read.extend(some)
        ids = {u.pk for u in some}
        # Every unit's rows (kept unit by unit, `load_inputs`): another
        # unit's request may be answered by a disclosure of these, which it
        # uses up (`evaluate`), and which it names (feedback.page_scopes).
        inputs = load_inputs(year, units)
        filings = [f for f in inputs.filings if f.unit_id in ids]
        events = [e for e in inputs.events if e.unit_id in ids]
        rows: dict[int, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
        for n, part in enumerate((filings, events)):
            for row in part:
                rows[row.unit_id][n].append(row)
        # An event linked to another unit's disclosure (the form refuses it):
        # that disclosure given too, which meets it (`evaluate` counts only
        # these units' obligations of the rows it is given).
        linked = {e.disclosure_id for e in events} - {None, *(f.id for f in filings)}
        if linked:
            filings += [
                f for f in inputs.filings if f.id in linked and f.unit_id not in ids
            ]
        answered_in = {f.id: f.unit_id for f in filings}
        for request in inputs.requests:
            if request.unit_id in ids:
                rows[request.unit_id][2].append(request)
            # And to the unit whose disclosure answers it, counted with it
            # or not: the request uses that disclosure up from the day it is
            # accepted, a day that unit's counts turn on too.
            answering = answered_in.get(request.disclosure_id)
            if answering is not None and answering != request.unit_id:
                rows[answering][2].append(request)
        common = {
            "items": counted_item_specs(kind),
            "rules": counted_rules(),
            "year": year,
            "as_of": day,
            "within": within,
        }
        category_of = {item.id: item.category_id for item in common["items"]}
        specs = [unit_spec(u) for u in some]
        # Counts kept by what they are counted from (disclosure.counts_memo):
        # a flush leaves them, and only the units whose rows changed since
        # are evaluated. Not with an event linked to another unit's row:
        # counted apart, that unit would not use it up.
        memo_names = {}
        if counts_memo.wanted(len(some)) and not counts_memo.linked_across(
            events, filings
        ):
            memo_names = counts_memo.keys(
                counts_memo.common_digest(
                    items=common["items"],
                    rules=common["rules"],
                    year=year,
                    within=within,
                    kind=kind,
                ),
                specs,
                rows,
                filings,
                inputs.requests,
            )
        kept = counts_memo.read(memo_names, day)
        # Evaluated together (each item's schedule worked out once), split
        # after: a unit's obligations are of its own rows. Every counted
        # unit's rows given, those kept not evaluated: their requests and
        # rows use up the others' as when all are.
        obligations: dict[int, list[Obligation]] = defaultdict(list)
        fresh = [spec for spec in specs if spec.id not in kept]
        if fresh:
            for obligation in evaluate(
                units=fresh,
                filings=filings,
                events=events,
                requests=inputs.requests,
                **common,
            ):
                obligations[obligation.unit_id].append(obligation)
        made = {}
        counted: dict[int, UnitCounts] = {}
        for name, unit in zip(names, some, strict=True):
            counts = kept.get(unit.pk)
            if counts is None:
                its_filings, its_events, requests = rows[unit.pk]
                own = obligations[unit.pk]
                through = steady_through(
                    own,
                    filings=its_filings,
                    events=its_events,
                    requests=requests,
                    **common,
                )
                due = changes_at(
                    *(r.answer_due for r in requests if r.unit_id == unit.pk)
                )
                by_category = settle(tally(own, lambda o: category_of[o.item_id]))
                counts = counted[unit.pk] = UnitCounts(by_category, through, due)
            answers.append(counts.answer_due)
            made[name] = counts, counts.through
        counts_memo.write(memo_names, counted, day)
        return made

    counted = caching.cached_through_many(
        {
            name: [content.counted(f"unit:{u.slug}"), COUNTED, FILED]
            for name, u in named.items()
        },
        as_of,
        count,
        seconds=lambda: caching.until(
            changes_at(next_scheduled(read, started), *answers), midnight=False
        ),
        spread=0.5,
    )
    return {named[name].pk: counts for name, counts in counted.items()}


def counted_through(counts: Iterable[UnitCounts]) -> tuple[date, datetime | None]:
    """The last day all these counts hold through, and the first answer due
    among them: how long figures summed from them are kept."""
    counts = list(counts)
    return (
        min((c.through for c in counts), default=date.max),
        changes_at(*(c.answer_due for c in counts)),
    )


def tallies_by_unit(units: list[Unit], year: int, as_of: date) -> dict[int, Settled]:
    """Each unit's tally of the year, every catalog, as of the day (the
    statistics' on-time shares): summed from `counts_by_unit`, and kept as
    the matrix's counts are, until a change in these units or in what the
    engine reads of the catalog (COUNTED: not a name) or a publication
    scheduled in them, for the run of days it holds through."""
    started = timezone.now()
    answers: list[datetime | None] = []

    def of_day(day: date) -> tuple[dict, date]:
        counts = counts_by_unit(units, year=year, as_of=day)
        through, answer_due = counted_through(counts.values())
        answers.append(answer_due)
        return {
            pk: roll_up(c.by_category, lambda _: "all")["all"]
            for pk, c in counts.items()
            if c.by_category
        }, through

    return caching.cached_through(
        f"compliance:by-unit:{year}:{','.join(str(u.pk) for u in units)}",
        as_of,
        of_day,
        scopes=[*(content.counted(f"unit:{u.slug}") for u in units), COUNTED],
        seconds=lambda: caching.until(
            changes_at(next_scheduled(units, started), *answers), midnight=False
        ),
        spread=0.5,
    )


def changes_at(*moments: datetime | None) -> datetime | None:
    """The first of these scheduled changes (None: none)."""
    return min((m for m in moments if m is not None), default=None)


def attention(units: list[Unit], as_of: date) -> list[Obligation]:
    """Overdue and soon-due obligations of these units, most urgent first."""
    obligations, _ = load(units=units, year=as_of.year, as_of=as_of)
    if as_of.month == 1:  # last year's December and Q4 items fall due in January
        previous, _ = load(units=units, year=as_of.year - 1, as_of=as_of)
        obligations += previous
    soon = [
        o
        for o in obligations
        if o.overdue
        or o.awaiting_outcome
        or (o.state == State.NOT_DUE and (o.due - as_of).days <= DUE_SOON_DAYS)
    ]
    return sorted(soon, key=lambda o: (not o.overdue, o.due))


# What a unit's page lists with ?show= and the start page counts (worklist.py).
SHOW_CHOICES = [("overdue", _("逾期未办")), ("due", _("本月到期"))]


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def waiting(obligations: Iterable[Obligation], show: str, as_of: date) -> list:
    """ "overdue": failures still open (OVERDUE); "due": not yet due, falling
    due by the end of as_of's month."""
    if show == "overdue":
        return [o for o in obligations if o.overdue]
    if show == "due":
        return [
            o
            for o in obligations
            if o.state == State.NOT_DUE and o.due <= month_end(as_of)
        ]
    raise ValueError(show)


# Which year and day the pages open on ----------------------------------------

# A portal whose last publication is older than this is an archive (or the
# 2011 demo): its pages open on the day its data ends.
ARCHIVE_AFTER = timedelta(days=365)


def _publication_span() -> tuple[datetime, datetime] | None:
    """The first and the last publication: one query, which PostgreSQL answers
    with two reads of the recent-disclosures index (status, published_at),
    whatever the number of rows (its MIN/MAX plan)."""
    span = Disclosure.objects.published().aggregate(
        first=Min("published_at"), last=Max("published_at")
    )
    if span["last"] is None:
        return None
    return span["first"], span["last"]


def next_scheduled(units, after: datetime, *, public_from: bool = False):
    """The first publication in these units scheduled after `after` (an index
    read a unit: disclosure_unit_idx) and, with `public_from`, the first
    先党内后党外 row coming out to the public: when figures counted from
    their rows change with no save. None: nothing scheduled.

    Kept unit by unit under its scope (`caching.kept_next_many`): a row
    scheduled, moved, put off or withdrawn in one is a save there, which
    finds that unit's again, not its town's; and it is worked out again once
    it comes due. A page's kept parts ask it each (the statistics, six
    times) when a change in the town made them again."""
    named = {f"compliance:next-scheduled:{int(public_from)}:{u.pk}": u for u in units}

    def find(names: list[str], since: datetime) -> dict[str, datetime | None]:
        ids = {named[name].pk: name for name in names}
        # After a publication, its unit alone: the SQL kept per set of units.
        some = tuple(sorted(ids))
        due = Disclosure.objects.filter(unit__in=some).next_scheduled_by_unit(
            since, public_from=public_from, shape=("units", some)
        )
        return {name: due.get(pk) for pk, name in ids.items()}

    found = caching.kept_next_many(
        {name: [f"unit:{u.slug}"] for name, u in named.items()}, find, after
    )
    return changes_at(*found.values())


_SPAN_KEPT_AS = "disclosure:publication-span"


def publication_span() -> tuple[datetime, datetime] | None:
    """The first and the last publication, as far as their years and whether
    the portal is an archive go (what the pages read of it): kept until a
    change may move those (SPAN: a withdrawal, a time moved, a publication
    outside its years or in an archive; not a publication inside its years,
    after which the last moment kept is a little early, page_scopes.
    _span_may_move). A live portal's is kept no longer than a scheduled row
    outside its years coming due, nor than the last publication kept says
    the portal is live (made again then, it says it is live still if a
    later one came since); an archive's (or none), than any scheduled
    publication coming due."""
    made = []

    def read():
        made.append(_publication_span())
        return made[0]

    def seconds() -> float:
        span = made[0]
        if span is None or not is_live(span):
            # Any publication coming out moves an archive's last one (and
            # its default day), or brings the first.
            return caching.until_due([PUBLISHED])()
        # Every change that may move a live portal's span names SPAN (a
        # publication inside its years is weighed once committed,
        # page_scopes._span_may_move, against the span kept then): kept
        # until a scheduled row outside its years comes due, as long as the
        # pages naming it at most, not VALUE_CACHE_SECONDS. Kept a minute,
        # it was gone at most publications, which then named SPAN for want
        # of a span to weigh them against, and every home, compliance and
        # statistics page was made again.
        due = caching.until_scheduled([SPAN, years_fact(_years(span))])()
        live = span[1] + ARCHIVE_AFTER - timezone.now()
        return min(due, live.total_seconds())

    return caching.cached(_SPAN_KEPT_AS, read, scopes=[SPAN], seconds=seconds)


def kept_span() -> tuple[datetime, datetime] | None:
    """The span kept now (None: none is kept), never read from the rows: what
    a change is weighed against (page_scopes._span_may_move)."""
    return caching.peek(_SPAN_KEPT_AS, [SPAN])


def is_live(span: tuple[datetime, datetime]) -> bool:
    """Whether the portal is live (its pages open on today), not an archive."""
    return timezone.now() - span[1] < ARCHIVE_AFTER


def _years(span: tuple[datetime, datetime]) -> list[int]:
    first, last = (timezone.localtime(moment).year for moment in span)
    return list(range(last, first - 1, -1))


def years_with_data() -> list[int]:
    """The years from the first publication to the last, newest first: the
    choice of years the compliance and statistics pages offer."""
    span = publication_span()
    return [] if span is None else _years(span)


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
    if span is None or is_live(span):
        return today
    return timezone.localdate(span[1])
