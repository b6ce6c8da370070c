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
    for label in ["按时", "逾期", "未公开", "未到期"]:
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
