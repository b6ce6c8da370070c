"""The compliance schedule on hand-made data, then the pages over real URLs."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Catalog, Item, Scope
from catalog.periods import Period
from disclosure import compliance, roles
from disclosure.compliance import Filing, ItemSpec, Rule, State, UnitSpec, evaluate
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

VILLAGE = UnitSpec(1, "village")
TOWN = UnitSpec(2, "town")
RULES = {"party": Rule()}


def item(frequency, *, id=10, town=True, village=True):
    return ItemSpec(id, f"X{id}", frequency, "party", 1, town, village)


def states(obligations):
    return {(o.period.key if o.period else "event"): o.state for o in obligations}


def run(items, filings, as_of, year=2011, units=(VILLAGE,), **kwargs):
    return evaluate(
        units=units,
        items=items,
        filings=filings,
        rules=RULES,
        year=year,
        as_of=as_of,
        **kwargs,
    )


def filing(period, published, **kwargs):
    return Filing(
        id=99, unit_id=1, item_id=10, period=period, published_on=published, **kwargs
    )


@pytest.mark.parametrize(
    ("key", "due"),
    [
        ("2011-09", date(2011, 10, 5)),
        ("2011-12", date(2012, 1, 5)),
        ("2011-Q3", date(2011, 10, 10)),
        ("2011-Q4", date(2012, 1, 10)),
        ("2011-H1", date(2011, 7, 15)),
        ("2011", date(2012, 1, 31)),
    ],
)
def test_due_dates_per_frequency(key, due):
    assert compliance.due_date(Period.parse(key), Rule()) == due


def test_due_day_is_clamped_to_short_months():
    rule = Rule(monthly_due_day=31)
    assert compliance.due_date(Period.parse("2012-01"), rule) == date(2012, 2, 29)
    assert compliance.due_date(Period.parse("2011-01"), rule) == date(2011, 2, 28)


def test_disclosure_on_the_due_date_is_on_time_a_day_later_is_late():
    monthly = [item(Item.Frequency.MONTHLY)]
    on_due = run(monthly, [filing("2011-08", date(2011, 9, 5))], date(2011, 10, 1))
    assert states(on_due)["2011-08"] == State.ON_TIME
    late = run(monthly, [filing("2011-08", date(2011, 9, 6))], date(2011, 10, 1))
    (august,) = [o for o in late if o.period.key == "2011-08"]
    assert (august.state, august.days_late) == (State.LATE, 1)


def test_missing_after_the_due_date_and_not_due_before_it():
    result = states(run([item(Item.Frequency.MONTHLY)], [], date(2011, 9, 30)))
    assert result["2011-08"] == State.MISSING
    assert result["2011-09"] == State.NOT_DUE  # due 10-05
    assert "2011-10" not in result  # a period that has not begun owes nothing yet
    assert len(result) == 9


def test_as_of_ignores_filings_published_later():
    monthly = [item(Item.Frequency.MONTHLY)]
    filings = [filing("2011-08", date(2011, 9, 20))]
    assert states(run(monthly, filings, date(2011, 9, 10)))["2011-08"] == State.MISSING
    assert states(run(monthly, filings, date(2011, 9, 30)))["2011-08"] == State.LATE


def test_quarterly_item_in_q4_falls_due_in_january():
    quarterly = [item(Item.Frequency.QUARTERLY)]
    result = run(quarterly, [], date(2012, 1, 10))
    q4 = [o for o in result if o.period.key == "2011-Q4"][0]
    assert (q4.due, q4.state) == (date(2012, 1, 10), State.NOT_DUE)
    assert states(run(quarterly, [], date(2012, 1, 11)))["2011-Q4"] == State.MISSING


def test_leap_year_february_is_a_whole_period():
    result = run(
        [item(Item.Frequency.MONTHLY)],
        [filing("2012-02", date(2012, 3, 5))],
        date(2012, 3, 6),
        year=2012,
    )
    (february,) = [o for o in result if o.period.key == "2012-02"]
    assert february.period.end == date(2012, 2, 29)
    assert february.state == State.ON_TIME


def test_nil_return_closes_the_obligation():
    result = run(
        [item(Item.Frequency.QUARTERLY)],
        [filing("2011-Q2", date(2011, 7, 8), nil=True)],
        date(2011, 10, 1),
    )
    assert states(result)["2011-Q2"] == State.NIL


def test_items_apply_only_to_their_level():
    town_only = [item(Item.Frequency.YEARLY, town=True, village=False)]
    result = run(town_only, [], date(2011, 3, 1), units=(VILLAGE, TOWN))
    assert {o.unit_id for o in result} == {TOWN.id}


def test_immediate_items_are_owed_per_event_in_working_days():
    immediate = [item(Item.Frequency.IMMEDIATELY)]
    # 2011-09-30 (Fri) + 5 working days skips the National Day holiday
    # (10-01..10-07) and counts the make-up workdays 10-08 (Sat) and 10-09 (Sun).
    event = filing("2011-09", date(2011, 10, 12), event_date=date(2011, 9, 30))
    (obligation,) = run(immediate, [event], date(2011, 12, 1))
    assert obligation.due == date(2011, 10, 12)
    assert obligation.state == State.ON_TIME
    late = filing("2011-09", date(2011, 10, 13), event_date=date(2011, 9, 30))
    assert run(immediate, [late], date(2011, 12, 1))[0].state == State.LATE


def test_immediate_items_without_events_owe_nothing():
    assert run([item(Item.Frequency.IMMEDIATELY)], [], date(2011, 12, 1)) == []


def test_within_a_quarter_keeps_its_months_and_the_quarter():
    items = [item(Item.Frequency.MONTHLY), item(Item.Frequency.QUARTERLY, id=11)]
    result = run(items, [], date(2011, 12, 31), within=Period.parse("2011-Q3"))
    assert sorted(states(result)) == ["2011-07", "2011-08", "2011-09", "2011-Q3"]


def test_tally_headline_and_rate():
    tally = compliance.Tally()
    for state in [State.ON_TIME, State.NIL, State.LATE, State.MISSING, State.NOT_DUE]:
        tally.add(compliance.Obligation(1, 1, None, date(2011, 1, 1), state))
    assert tally.state == State.MISSING
    assert tally.due == 4
    assert tally.rate == 0.5


def test_the_rate_weighs_every_item_the_same_whatever_its_frequency():
    """Twelve monthly statements on time and one yearly report missed read
    50 % (each item half), not 92 % (12 of 13 periods)."""
    tally = compliance.Tally()
    for _month in range(12):
        tally.add(compliance.Obligation(1, 1, None, date(2011, 1, 1), State.ON_TIME))
    tally.add(compliance.Obligation(1, 2, None, date(2011, 1, 1), State.MISSING))
    tally.add(compliance.Obligation(1, 3, None, date(2011, 1, 1), State.NOT_DUE))
    assert tally.items == 2
    assert tally.rate == 0.5
    assert tally.count_rate == 12 / 13
    assert tally.met == 12
    # The same item in two units is two items of the tally.
    tally.add(compliance.Obligation(2, 2, None, date(2011, 1, 1), State.LATE))
    assert tally.items == 3 and tally.rate == 1 / 3


def test_a_tally_with_nothing_due_has_no_rate():
    tally = compliance.Tally()
    tally.add(compliance.Obligation(1, 1, None, date(2011, 1, 1), State.NOT_DUE))
    assert tally.rate is None and tally.count_rate is None and tally.items == 0


# Pages ---------------------------------------------------------------------


def at(day):
    return datetime(day.year, day.month, day.day, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def town_data(db):
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    category = CategoryFactory(
        catalog=CatalogFactory(kind=Catalog.Kind.PARTY), name="民主决策"
    )
    monthly = ItemFactory(
        category=category, code="A06", frequency=Item.Frequency.MONTHLY, for_town=False
    )
    inner = ItemFactory(
        category=category,
        code="C05",
        frequency=Item.Frequency.QUARTERLY,
        scope=Scope.INNER_PARTY,
        for_town=False,
    )
    DisclosureFactory(
        unit=wenli,
        item=monthly,
        period="2011-08",
        title="八月按时",
        published_at=at(date(2011, 9, 3)),
    )
    DisclosureFactory(
        unit=wenli,
        item=monthly,
        period="2011-07",
        title="七月逾期",
        published_at=at(date(2011, 8, 9)),
    )
    DisclosureFactory(
        unit=wenli,
        item=inner,
        period="2011-Q2",
        title="党内季度通报",
        published_at=at(date(2011, 7, 5)),
    )
    return {"town": town, "wenli": wenli, "maoshan": maoshan}


def test_matrix_page_shows_each_state_with_a_text_label(client, town_data):
    response = client.get("/compliance/?year=2011&as_of=2011-10-01")
    assert response.status_code == 200
    rows = {row["unit"].name: row for row in response.context["rows"]}
    wenli_cell = rows["文理村"]["cells"][0][1]
    assert wenli_cell.counts[State.ON_TIME] == 2  # August, and the 党内 Q2 filing
    assert wenli_cell.counts[State.LATE] == 1
    assert rows["茅山村"]["cells"][0][1].state == State.MISSING
    for label in ["按时公开", "逾期公开", "逾期未公开", "未到期", "按时公开率"]:
        assert label in response.text


def test_inner_party_titles_are_hidden_but_counted(client, party_client, town_data):
    party_client.logout()
    page = client.get("/compliance/wenli/?year=2011&as_of=2011-10-01")
    assert page.status_code == 200
    assert "党内季度通报" not in page.text
    assert "党内公开内容（仅党员可见）" in page.text
    assert "八月按时" in page.text


def test_party_member_sees_inner_party_titles(party_client, town_data):
    page = party_client.get("/compliance/wenli/?year=2011&as_of=2011-10-01")
    assert "党内季度通报" in page.text


@pytest.mark.parametrize(
    "query",
    [
        "year=abc",
        "as_of=2011-13-01",
        "kind=secret",
        "period=2011-Q9",
        "year=2011&period=2012-Q1",
    ],
)
def test_bad_queries_are_a_400_with_a_message(client, town_data, query):
    response = client.get(f"/compliance/?{query}")
    assert response.status_code == 400
    assert "查询条件有误" in response.text


def test_unknown_unit_is_404(client, town_data):
    assert client.get("/compliance/atlantis/").status_code == 404


def test_whole_year_matrix_takes_a_bounded_number_of_queries(
    client, town_data, django_assert_max_num_queries
):
    with django_assert_max_num_queries(15) as small:
        client.get("/compliance/?year=2011&as_of=2011-12-31")
    for _ in range(10):
        unit = UnitFactory(parent=town_data["town"])
        DisclosureFactory(
            unit=unit, item=Item.objects.get(code="A06"), period="2011-08"
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/compliance/?year=2011&as_of=2011-12-31")


# Which year and day the pages open on --------------------------------------


def test_pages_open_on_the_latest_year_as_it_stood_when_the_data_ends(
    client, town_data
):
    # The data ends in September 2011, years before today: the demo's case.
    # Today's date would show every obligation since as 未公开.
    response = client.get("/compliance/")
    assert response.context["q"]["year"] == 2011
    assert response.context["q"]["as_of"] == date(2011, 9, 3)
    assert "2011 年度，截至 2011年9月3日" in response.text
    unit_page = client.get("/compliance/wenli/")
    assert unit_page.context["q"]["as_of"] == date(2011, 9, 3)


def test_a_portal_in_use_is_seen_as_of_today(client, town_data):
    today = timezone.localdate()
    DisclosureFactory(unit=town_data["wenli"], period=f"{today:%Y-%m}")
    response = client.get("/compliance/")
    assert response.context["q"]["year"] == today.year
    assert response.context["q"]["as_of"] == today


def test_the_pages_offer_the_years_that_have_data(client, town_data):
    DisclosureFactory(
        unit=town_data["wenli"], period="2009-05", published_at=at(date(2009, 6, 1))
    )
    for url in ("/compliance/", "/compliance/wenli/"):
        text = client.get(url, {"kind": "party"}).text
        choice = text[text.index('class="year-choice') :]
        choice = choice[: choice.index("</nav>")]
        assert 'href="?kind=party&amp;year=2010"' in choice
        assert 'href="?kind=party&amp;year=2009"' in choice
        assert 'aria-current="page">2011<' in choice
        assert "2008" not in choice and "2012" not in choice


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")
def test_the_years_with_data_are_read_from_indexes(town_data):
    with CaptureQueriesContext(connection) as queries:
        compliance.years_with_data()
        compliance.reference_date()
    assert queries.captured_queries
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
            assert "TEMP B-TREE" not in plan, plan


def test_editor_start_page_opens_when_the_data_ends(client, town_data):
    editor = staff_user(
        username="wenli_editor", group=roles.UNIT_EDITOR, units=[town_data["wenli"]]
    )
    client.force_login(editor)
    text = client.get("/admin/").text
    box = text[text.index('id="attention"') :]
    assert "截至 2011年9月3日" in box
    assert "2011年9月" in box  # September's notice, due 5 October: soon due
    assert str(timezone.localdate().year) not in box


# Timing rules (issue 16) -----------------------------------------------------

EventSpec = compliance.EventSpec


def timed(frequency, timing, *, id=10, nil_allowed=True, notice_days=None):
    return ItemSpec(
        id, f"X{id}", frequency, "party", 1, True, True, timing, nil_allowed,
        notice_days,
    )  # fmt: skip


def test_year_start_plan_is_due_by_the_end_of_march():
    plan = [timed(Item.Frequency.YEARLY, "year_start")]
    (o,) = run(plan, [], date(2011, 3, 31))
    assert (o.due, o.state) == (date(2011, 3, 31), State.NOT_DUE)
    (o,) = run(plan, [filing("2011", date(2011, 12, 30))], date(2012, 1, 5))
    assert (o.state, o.days_late) == (State.LATE, 274)  # a plan in December
    rules = {"party": Rule(plan_due_month=2)}
    (o,) = evaluate(
        units=[VILLAGE], items=plan, filings=[], rules=rules, year=2011,
        as_of=date(2011, 3, 1),
    )  # fmt: skip
    assert (o.due, o.state) == (date(2011, 2, 28), State.MISSING)


def test_year_end_report_keeps_31_january():
    (o,) = run([timed(Item.Frequency.YEARLY, "period_end")], [], date(2011, 12, 31))
    assert o.due == date(2012, 1, 31)


def test_standing_item_must_be_on_the_board_on_the_check_day():
    standing = [timed(Item.Frequency.IMMEDIATELY, "standing")]
    (o,) = run(standing, [], date(2011, 6, 1))
    assert (o.kind, o.state, o.checked_on) == (
        "standing",
        State.OFF_BOARD,
        date(2011, 6, 1),
    )
    # Published in an earlier year and still displayed: on the board.
    old = filing("2009", date(2009, 3, 1))
    (o,) = run(standing, [old], date(2011, 6, 1))
    assert o.state == State.ON_TIME and o.filing == old
    # Taken down (display_until passed): missing from the board again.
    down = filing("2009", date(2009, 3, 1), display_until=date(2011, 5, 31))
    assert run(standing, [down], date(2011, 6, 1))[0].state == State.OFF_BOARD
    # A past year is checked on its last day.
    (o,) = run(standing, [old], date(2012, 6, 1))
    assert o.checked_on == date(2011, 12, 31)


def test_standing_yearly_item_is_also_reconfirmed_each_year():
    standing = [timed(Item.Frequency.YEARLY, "standing")]
    result = run(standing, [filing("2011", date(2011, 2, 1))], date(2012, 2, 1))
    by_kind = {o.kind: o for o in result}
    assert by_kind["period"].due == date(2012, 1, 31)
    assert by_kind["period"].state == State.ON_TIME
    assert by_kind["standing"].state == State.ON_TIME


def test_registered_event_with_nothing_published_is_missing():
    as_needed = [timed(Item.Frequency.IMMEDIATELY, "event")]
    event = EventSpec(1, 1, 10, date(2011, 7, 12), None, "村民代表会议决定")
    (o,) = run(as_needed, [], date(2011, 8, 1), events=[event])
    assert (o.kind, o.state, o.due) == ("event", State.MISSING, date(2011, 7, 19))
    assert o.event == event
    (o,) = run(as_needed, [], date(2011, 7, 15), events=[event])
    assert o.state == State.NOT_DUE


def test_registered_event_is_met_by_its_disclosure_once():
    as_needed = [timed(Item.Frequency.IMMEDIATELY, "event")]
    met = filing("2011-07", date(2011, 7, 14), event_date=date(2011, 7, 12))
    event = EventSpec(1, 1, 10, date(2011, 7, 12))
    (o,) = run(as_needed, [met], date(2011, 8, 1), events=[event])
    assert (o.state, o.filing, o.event) == (State.ON_TIME, met, event)
    # Linked explicitly, even with another event date.
    other = filing("2011-07", date(2011, 7, 25), event_date=date(2011, 7, 20))
    linked = EventSpec(1, 1, 10, date(2011, 7, 12), disclosure_id=99)
    (o,) = run(as_needed, [other], date(2011, 8, 1), events=[linked])
    assert (o.state, o.days_late) == (State.LATE, 6)


def test_unregistered_event_of_a_disclosure_still_counts():
    as_needed = [timed(Item.Frequency.IMMEDIATELY, "event")]
    own = filing("2011-07", date(2011, 7, 14), event_date=date(2011, 7, 12))
    (o,) = run(as_needed, [own], date(2011, 8, 1))
    assert (o.kind, o.state, o.event) == ("event", State.ON_TIME, None)


def test_before_items_must_be_published_before_the_decision():
    before = [timed(Item.Frequency.IMMEDIATELY, "before")]
    decision = date(2011, 7, 12)
    ahead = filing("2011-07", date(2011, 7, 5), event_date=decision)
    (o,) = run(before, [ahead], date(2011, 8, 1))
    assert (o.due, o.state) == (date(2011, 7, 11), State.ON_TIME)
    same_day = filing("2011-07", decision, event_date=decision)
    (o,) = run(before, [same_day], date(2011, 8, 1))
    assert (o.state, o.days_late) == (State.LATE, 1)
    event = EventSpec(1, 1, 10, decision)
    assert run(before, [], date(2011, 7, 12), events=[event])[0].state == State.MISSING


def test_phase_items_owe_one_disclosure_per_phase():
    phases = [timed(Item.Frequency.IMMEDIATELY, "phase")]
    events = [
        EventSpec(1, 1, 10, date(2011, 3, 1), None, "立项"),
        EventSpec(2, 1, 10, date(2011, 5, 3), None, "招投标"),
    ]
    first = filing("2011-03", date(2011, 3, 2), event_date=date(2011, 3, 1))
    result = run(phases, [first], date(2011, 6, 1), events=events)
    assert [(o.event.description, o.state) for o in result] == [
        ("立项", State.ON_TIME),
        ("招投标", State.MISSING),
    ]


def test_event_working_days_skip_holidays():
    as_needed = [timed(Item.Frequency.IMMEDIATELY, "event")]
    # 2011-09-30, before the National Day week: five working days, counting
    # the make-up weekend of 8–9 October, is 12 October.
    event = EventSpec(1, 1, 10, date(2011, 9, 30))
    (o,) = run(as_needed, [], date(2011, 10, 12), events=[event])
    assert (o.due, o.state) == (date(2011, 10, 12), State.NOT_DUE)


def test_late_nil_return_is_late_not_met():
    quarterly = [timed(Item.Frequency.QUARTERLY, "period_end")]
    late_nil = filing("2011-Q1", date(2011, 8, 26), nil=True)
    result = run(quarterly, [late_nil], date(2011, 10, 1))
    (q1,) = [o for o in result if o.period.key == "2011-Q1"]
    assert (q1.state, q1.days_late, q1.met) == (State.LATE, 138, False)


def test_nil_return_of_an_item_never_nil_counts_for_nothing():
    finances = [timed(Item.Frequency.MONTHLY, "period_end", nil_allowed=False)]
    nil = filing("2011-08", date(2011, 9, 1), nil=True)
    result = states(run(finances, [nil], date(2011, 10, 1)))
    assert result["2011-08"] == State.MISSING
    real = filing("2011-08", date(2011, 9, 3))
    assert states(run(finances, [nil, real], date(2011, 10, 1)))["2011-08"] == (
        State.ON_TIME
    )


def test_nothing_is_owed_before_the_catalog_was_adopted():
    monthly = [timed(Item.Frequency.MONTHLY, "period_end")]
    rules = {"party": Rule(adopted_on=date(2011, 7, 15))}
    result = evaluate(
        units=[VILLAGE], items=monthly, filings=[], rules=rules, year=2011,
        as_of=date(2011, 10, 1),
    )  # fmt: skip
    assert [o.period.key for o in result] == [
        "2011-07",
        "2011-08",
        "2011-09",
        "2011-10",
    ]
    standing = [timed(Item.Frequency.IMMEDIATELY, "standing")]
    event = EventSpec(1, 1, 10, date(2011, 7, 1))
    as_needed = [timed(Item.Frequency.IMMEDIATELY, "event", id=11)]
    events = [event, EventSpec(2, 1, 11, date(2011, 7, 1))]
    early = evaluate(
        units=[VILLAGE], items=standing + as_needed, filings=[], rules=rules,
        year=2011, as_of=date(2011, 7, 10), events=events,
    )  # fmt: skip
    assert early == []  # the check day is before the adoption; so is the event
    (o,) = evaluate(
        units=[VILLAGE], items=standing, filings=[], rules=rules, year=2011,
        as_of=date(2011, 7, 18),
    )  # fmt: skip
    assert (o.due, o.state) == (date(2011, 7, 22), State.NOT_DUE)


def test_notice_outcome_is_due_after_the_window_in_working_days():
    notice = [timed(Item.Frequency.IMMEDIATELY, "before", notice_days=5)]
    posted = filing(
        "2011-09", date(2011, 9, 26), event_date=date(2011, 10, 20),
        posted_on=date(2011, 9, 26),
    )  # fmt: skip
    result = run(notice, [posted], date(2011, 10, 20))
    (outcome,) = [o for o in result if o.kind == "outcome"]
    # Five working days from Monday 26 September: 26–30; five more for the
    # outcome after the National Day holiday, with its make-up Saturday and
    # Sunday (8 and 9 October): 12 October.
    assert (outcome.due, outcome.state) == (date(2011, 10, 12), State.OUTCOME_OVERDUE)
    recorded = filing(
        "2011-09", date(2011, 9, 26), event_date=date(2011, 10, 20), outcome=True
    )
    result = run(notice, [recorded], date(2011, 10, 20))
    assert [o.state for o in result if o.kind == "outcome"] == [State.ON_TIME]


def test_new_states_have_labels_and_precedence():
    for state in State:
        assert state in compliance.LABELS and state in compliance.PRECEDENCE
    assert str(compliance.LABELS[State.MISSING]) == "逾期未公开"
    assert str(compliance.LABELS[State.LATE]) == "逾期公开"
    tally = compliance.Tally()
    for state in [State.ON_TIME, State.OFF_BOARD, State.OUTCOME_OVERDUE]:
        tally.add(compliance.Obligation(1, 1, None, date(2011, 1, 1), state))
    assert (tally.overdue, tally.state) == (2, State.OFF_BOARD)
