"""点题公开 requests accepted, and 公示 awaiting their outcome, in the pure
compliance engine (plain data: no database)."""

from datetime import date

from catalog.models import Item
from catalog.periods import Period
from disclosure.compliance import (
    Filing,
    ItemSpec,
    RequestSpec,
    Rule,
    State,
    UnitSpec,
    evaluate,
)

VILLAGE = UnitSpec(1, "village")
ANSWERS = ItemSpec(20, "F02", Item.Frequency.IMMEDIATELY, "party", 6, True, True)
# Accepted Tuesday 17 May 2011; the 回音壁's answer deadline: 30 May.
ACCEPTED, DUE = date(2011, 5, 17), date(2011, 5, 30)


def request(**kwargs) -> RequestSpec:
    fields = {
        "id": 7,
        "unit_id": 1,
        "item_id": 20,
        "accepted_on": ACCEPTED,
        "due": DUE,
        "title": "请公开村道维护资金",
    }
    return RequestSpec(**{**fields, **kwargs})


def answer(published: date, **kwargs) -> Filing:
    return Filing(
        id=99, unit_id=1, item_id=20, period="2011-05", published_on=published,
        **kwargs,
    )  # fmt: skip


def run(requests, as_of, filings=(), items=(ANSWERS,), **kwargs):
    return evaluate(
        units=[VILLAGE],
        items=list(items),
        filings=list(filings),
        rules={"party": Rule()},
        year=2011,
        as_of=as_of,
        requests=requests,
        **kwargs,
    )


def test_an_accepted_request_is_owed_by_the_walls_deadline():
    (before,) = run([request()], DUE)
    assert (before.kind, before.due, before.state) == ("request", DUE, State.NOT_DUE)
    assert before.event_date == ACCEPTED and before.request.title
    (after,) = run([request()], date(2011, 5, 31))
    assert after.state == State.MISSING and after.overdue


def test_met_by_its_disclosure_published_by_the_deadline():
    on_due = request(disclosure_id=99, disclosed_on=DUE)
    (o,) = run([on_due], date(2011, 6, 30), [answer(DUE)])
    assert (o.state, o.filing.id) == (State.ON_TIME, 99)
    late = request(disclosure_id=99, disclosed_on=date(2011, 6, 1))
    (o,) = run([late], date(2011, 6, 30), [answer(date(2011, 6, 1))])
    assert (o.state, o.days_late) == (State.LATE, 2)


def test_a_disclosure_published_after_the_day_asked_does_not_count_yet():
    later = request(disclosure_id=99, disclosed_on=date(2011, 6, 1))
    (o,) = run([later], date(2011, 5, 31), [answer(date(2011, 6, 1))])
    assert (o.state, o.filing) == (State.MISSING, None)


def test_an_older_disclosure_answering_it_counts_by_its_publication():
    # Published in 2010, so not among the year's filings: the request says when.
    old = request(disclosure_id=55, disclosed_on=date(2010, 12, 1))
    (o,) = run([old], date(2011, 6, 30))
    assert (o.state, o.filing.id, o.filing.published_on) == (
        State.ON_TIME,
        55,
        date(2010, 12, 1),
    )


def test_the_answer_is_not_judged_again_by_its_own_event_date():
    # The F02 answer carries the day asked (随时: 5 working days, 23 May);
    # published 27 May it is on time by the request's deadline, once.
    filing = answer(date(2011, 5, 27), event_date=date(2011, 5, 16))
    linked = request(disclosure_id=99, disclosed_on=date(2011, 5, 27))
    result = run([linked], date(2011, 6, 30), [filing])
    assert [(o.kind, o.state) for o in result] == [("request", State.ON_TIME)]
    # Not linked to a request, the same answer is judged by the 随时 rule.
    (alone,) = run([], date(2011, 6, 30), [filing])
    assert (alone.kind, alone.state) == ("event", State.LATE)


def test_a_refusal_in_writing_by_the_deadline_meets_it():
    (o,) = run([request(refused_on=date(2011, 5, 20))], date(2011, 6, 30))
    assert (o.state, o.refused, o.filing) == (State.ON_TIME, True, None)
    (o,) = run([request(refused_on=date(2011, 6, 2))], date(2011, 6, 30))
    assert (o.state, o.days_late, o.refused) == (State.LATE, 3, True)
    # Not refused yet on the day asked.
    (o,) = run([request(refused_on=date(2011, 6, 2))], date(2011, 5, 31))
    assert (o.state, o.refused) == (State.MISSING, False)


def test_only_requests_of_the_year_the_units_items_and_window_count():
    assert run([request(accepted_on=date(2010, 12, 30))], date(2011, 6, 30)) == []
    assert run([request(unit_id=2)], date(2011, 6, 30)) == []
    assert run([request(item_id=None)], date(2011, 6, 30)) == []
    assert run([request()], date(2011, 6, 30), items=[]) == []  # another kind
    assert run([request()], date(2011, 5, 16)) == []  # not accepted yet
    q3 = Period.parse("2011-Q3")
    assert run([request()], date(2011, 12, 31), within=q3) == []
    q2 = Period.parse("2011-Q2")
    assert len(run([request()], date(2011, 12, 31), within=q2)) == 1


# 公示 awaiting their outcome ---------------------------------------------------

NOTICE = ItemSpec(
    30, "C04", Item.Frequency.IMMEDIATELY, "party", 3, True, True, "event",
    notice_days=5,
)  # fmt: skip


def outcome(as_of: date, **kwargs):
    # Posted Monday 19 September 2011: five working days to Friday the 23rd;
    # the outcome due five working days later, Friday the 30th.
    posted = Filing(
        id=5, unit_id=1, item_id=30, period="2011-09",
        published_on=date(2011, 9, 19), **kwargs,
    )  # fmt: skip
    result = run([], as_of, [posted], items=[NOTICE])
    (o,) = [o for o in result if o.kind == "outcome"]
    return o


def test_a_notice_awaits_its_outcome_from_the_day_after_its_window():
    last_day = outcome(date(2011, 9, 23))
    assert last_day.window_ends == date(2011, 9, 23)
    assert (last_day.state, last_day.awaiting_outcome) == (State.NOT_DUE, False)
    for day in (date(2011, 9, 24), date(2011, 9, 30)):
        o = outcome(day)
        assert (o.state, o.awaiting_outcome, o.due) == (
            State.NOT_DUE,
            True,
            date(2011, 9, 30),
        )
    overdue = outcome(date(2011, 10, 1))
    assert (overdue.state, overdue.awaiting_outcome) == (State.OUTCOME_OVERDUE, False)


def test_a_recorded_outcome_prompts_nothing():
    o = outcome(date(2011, 9, 26), outcome=True)
    assert (o.state, o.awaiting_outcome) == (State.ON_TIME, False)


def test_the_window_counts_from_the_posting_day():
    # Posted on the board on Thursday the 22nd: Thu, Fri, Mon, Tue, Wed.
    o = outcome(date(2011, 9, 29), posted_on=date(2011, 9, 22))
    assert o.window_ends == date(2011, 9, 28) and o.awaiting_outcome
