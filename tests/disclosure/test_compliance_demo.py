"""The compliance pages on the demo town, as an inspector reads them (issue 16's
done-when lines): /compliance/wenli/?year=2011."""

from datetime import date

from disclosure.compliance import State

URL = "/compliance/wenli/?year=2011&as_of=2011-10-01"


def obligations(response, code, kind=None):
    return [
        r["obligation"]
        for r in response.context["rows"]
        if r["item"].code == code and kind in (None, r["obligation"].kind)
    ]


def test_wenli_shows_each_timing_rule_as_inspectors_say_it(demo, client):
    response = client.get(URL)
    assert response.status_code == 200
    # A 本期无 filed months late is 逾期公开, not on time.
    (late_nil,) = [
        o for o in obligations(response, "CW02") if o.period.key == "2011-Q1"
    ]
    assert late_nil.state == State.LATE and late_nil.filing.nil
    assert late_nil.days_late > 100
    # An event registered (事项登记) with nothing published: 逾期未公开.
    (event,) = obligations(response, "CW05", "event")
    assert event.state == State.MISSING and event.event is not None
    # A standing item not on the board (信访举报途径): a failure; the 村规民约
    # posted in January is still on the board: met.
    (standing,) = obligations(response, "G06", "standing")
    assert standing.state == State.OFF_BOARD
    (rules,) = obligations(response, "CW07", "standing")
    assert rules.state == State.ON_TIME and rules.checked_on == date(2011, 10, 1)
    # The annual plan (年度目标责任) is due in Q1, not on 31 January next year.
    (plan,) = obligations(response, "D03")
    assert plan.due == date(2011, 3, 31) and plan.state == State.ON_TIME
    # Items that are never nil (monthly finances) have no 本期无 to hide
    # behind: the liaison point publishes the statement every month, on time
    # but for June's (published 10 July).
    finances = obligations(response, "CW01")
    assert not any(o.filing and o.filing.nil for o in finances)
    assert [o.period.key for o in finances if o.state == State.LATE] == ["2011-06"]
    assert sum(o.state == State.ON_TIME for o in finances) == 7
    # A monthly item never nil, with nothing published: 逾期未公开 each month.
    decisions = obligations(response, "A06")
    assert {o.state for o in decisions if o.due < date(2011, 10, 1)} == {State.MISSING}
    text = response.text
    for words in [
        "按时公开率",
        "逾期公开",
        "逾期未公开",
        "长期事项未在栏",
        "事项日",
        "3月31日",
    ]:
        assert words in text
    assert "按时率" not in text


def test_wenli_score_is_no_longer_near_perfect(demo, client):
    response = client.get("/compliance/?year=2011&as_of=2011-10-01")
    rates = {row["unit"].slug: row["total"].rate for row in response.context["rows"]}
    assert rates["wenli"] < 0.9


def test_an_inspector_lists_the_units_nil_filings(demo, client):
    response = client.get(URL + "&nil=1")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert rows and all(r["obligation"].filing.nil for r in rows)
    assert len(rows) == response.context["nil_count"]
    assert "显示全部事项" in response.text
    # The figures above the list stay the unit's whole picture.
    everything = client.get(URL)
    assert response.context["total"].counts == everything.context["total"].counts


def test_the_demo_request_is_judged_by_the_walls_deadline(demo, client):
    """文理村's 点题公开 request (accepted 17 May 2011) is one obligation, due
    on the answer deadline the 回音壁 shows, met by its F02 answer; that
    answer is not judged again by the 随时 rule (5 working days)."""
    from feedback.models import Submission

    request = Submission.objects.get(kind="request", unit__slug="wenli")
    response = client.get(URL)
    (answer,) = obligations(response, "F02")
    assert answer.kind == "request" and answer.request.id == request.pk
    assert answer.due == request.due_date == date(2011, 5, 30)
    assert answer.state == State.ON_TIME
    assert answer.filing.id == request.fulfilled_by_id
    assert "点题公开（5月17日 受理）：请公开去年村道维护资金使用情况" in response.text
    assert request.name not in response.text


def test_the_engines_item_specs_are_those_of_the_items(demo):
    """`load_item_specs` (one query, the engine's runs) reads each item as
    `item_spec` does of the loaded models, in the same order."""
    from disclosure import compliance

    for kind in (None, "party", "government", "village"):
        specs = compliance.load_item_specs(kind)
        assert specs == [compliance.item_spec(i) for i in compliance.load_items(kind)]
        assert specs
