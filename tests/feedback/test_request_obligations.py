"""An accepted 点题公开 request is a compliance obligation of its unit, due on
the answer deadline the 回音壁 shows, over real URLs (/compliance/<unit>/,
/compliance/ and the Excel export)."""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from catalog.models import Item, Timing
from disclosure.compliance import State
from feedback import services
from feedback.models import Kind
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CST = ZoneInfo("Asia/Shanghai")
# Received Monday 16 May 2011, accepted the next day: the 回音壁's answer
# deadline is 10 working days after receipt, 30 May.
RECEIVED = datetime(2011, 5, 16, 10, tzinfo=CST)
ACCEPTED = datetime(2011, 5, 17, 10, tzinfo=CST)
TITLE = "请公开去年村道维护资金使用情况"


@pytest.fixture
def setup():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    answers = ItemFactory(
        code="F02",
        name="党员群众“点题公开”事项答复",
        frequency=Item.Frequency.IMMEDIATELY,
        timing=Timing.EVENT,
    )
    staff = UserFactory(username="office", is_staff=True)
    department = DepartmentFactory()
    case = SubmissionFactory(
        unit=wenli,
        kind=Kind.REQUEST,
        title=TITLE,
        text="希望公开村道维护资金的来源和开支明细。",
        name="张秘密",
        phone="13912345678",
        received_at=RECEIVED,
    )
    with time_machine.travel(ACCEPTED, tick=False):
        services.accept(case, by=staff, department=department)
    return {
        "town": town,
        "wenli": wenli,
        "answers": answers,
        "case": case,
        "staff": staff,
        "department": department,
    }


def unit_page(client, setup, as_of: str):
    return client.get(f"/compliance/{setup['wenli'].slug}/?year=2011&as_of={as_of}")


def request_rows(response):
    return [r for r in response.context["rows"] if r["obligation"].kind == "request"]


def test_the_obligation_is_due_on_the_walls_deadline(client, setup):
    case = setup["case"]
    assert case.due_date == date(2011, 5, 30)
    response = unit_page(client, setup, "2011-05-20")
    (row,) = request_rows(response)
    o = row["obligation"]
    assert (o.due, o.state, row["item"].code) == (case.due_date, State.NOT_DUE, "F02")
    text = response.text
    assert f"点题公开（5月17日 受理）：{TITLE}" in text
    assert "2011年5月30日" in text and "未到期" in text
    assert f"/feedback/{case.pk}/" in text  # the case on the 回音壁
    # The submitter stays private, as on the wall.
    assert "张秘密" not in text and "13912345678" not in text
    # Overdue the day after the deadline, on the page and in its figures.
    late = unit_page(client, setup, "2011-05-31")
    (row,) = request_rows(late)
    assert row["obligation"].state == State.MISSING
    assert "逾期未公开" in late.text
    assert late.context["total"]["missing"] == 1


def test_answered_by_a_disclosure_published_in_time_is_met(client, setup):
    answer = DisclosureFactory(
        unit=setup["wenli"],
        item=setup["answers"],
        period="2011-05",
        event_date=date(2011, 5, 16),
        title="文理村关于村道维护资金使用情况的点题公开答复",
        published_at=datetime(2011, 5, 27, 9, tzinfo=CST),
    )
    with time_machine.travel(datetime(2011, 5, 27, 10, tzinfo=CST), tick=False):
        services.answer(
            setup["case"],
            by=setup["staff"],
            department=setup["department"],
            text="已在公开栏公开。",
            fulfilled_by=answer,
        )
    response = unit_page(client, setup, "2011-06-30")
    f02 = [r for r in response.context["rows"] if r["item"].code == "F02"]
    # One obligation: the answer is not judged again by the 随时 rule (its
    # event date + 5 working days = 23 May would make it late).
    assert [(r["obligation"].kind, r["obligation"].state) for r in f02] == [
        ("request", State.ON_TIME)
    ]
    assert answer.title in response.text and "按时公开" in response.text


def test_an_answer_without_the_disclosure_meets_nothing(client, setup):
    with time_machine.travel(datetime(2011, 5, 20, 10, tzinfo=CST), tick=False):
        services.answer(
            setup["case"],
            by=setup["staff"],
            department=setup["department"],
            text="资金使用正常。",
        )
    (row,) = request_rows(unit_page(client, setup, "2011-06-30"))
    assert row["obligation"].state == State.MISSING


def test_a_refusal_in_writing_in_time_meets_it(client, setup):
    with time_machine.travel(datetime(2011, 5, 20, 10, tzinfo=CST), tick=False):
        services.refuse_request(setup["case"], by=setup["staff"], reason="涉及个人隐私")
    response = unit_page(client, setup, "2011-06-30")
    (row,) = request_rows(response)
    assert row["obligation"].state == State.ON_TIME
    assert "不予公开，已书面说明理由" in response.text


@pytest.mark.parametrize("how", ["hidden", "no consent", "held back"])
def test_a_case_not_public_shows_without_its_title(client, setup, how):
    case = setup["case"]
    if how == "hidden":
        services.hide(case, by=setup["staff"], reason="含他人隐私")
    elif how == "no consent":
        case.consent_to_publish = False
        case.save()
    else:
        case.concerns_inner_party = True
        case.save()
    response = unit_page(client, setup, "2011-05-31")
    (row,) = request_rows(response)
    assert row["obligation"].state == State.MISSING  # still owed
    text = response.text
    assert "点题公开（5月17日 受理）：点题公开申请" in text
    assert TITLE not in text and "张秘密" not in text
    assert f"/feedback/{case.pk}/" not in text
    # The Excel export says no more than the page.
    export = client.get(
        f"/compliance/{setup['wenli'].slug}/export.xlsx?year=2011&as_of=2011-05-31"
    )
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row]
    assert "点题公开：点题公开申请" in cells and not any(TITLE in c for c in cells)


def test_requests_not_accepted_or_of_other_kinds_owe_nothing(client, setup):
    wenli = setup["wenli"]
    SubmissionFactory(unit=wenli, kind=Kind.REQUEST, received_at=RECEIVED)
    question = SubmissionFactory(unit=wenli, received_at=RECEIVED)
    with time_machine.travel(ACCEPTED, tick=False):
        services.accept(question, by=setup["staff"], department=setup["department"])
    assert len(request_rows(unit_page(client, setup, "2011-05-31"))) == 1


def test_the_matrix_counts_it_in_the_units_figures(client, setup):
    response = client.get(
        f"/compliance/?year=2011&as_of=2011-05-31&town={setup['town'].slug}"
    )
    (row,) = [r for r in response.context["rows"] if r["unit"] == setup["wenli"]]
    assert row["total"]["missing"] == 1 and row["total"].rate == 0


@pytest.mark.parametrize(
    "name", ["feedback:detail", "admin:feedback_submission_change"]
)
def test_a_requests_links_are_reversed_once_and_the_same(name):
    from django.urls import reverse

    from feedback.obligations import url_of

    link = url_of(name)
    for pk in (1, 9, 42, 10**9):
        assert link(pk) == reverse(name, args=[pk])


def test_years_no_case_is_received_in_find_no_request(setup):
    """Years outside 1949–2100 (core.dates) hold no request; their bounds in
    local time would overflow a date-time near year 1 or 9999."""
    from feedback.obligations import accepted_requests

    units = [setup["wenli"].pk, setup["town"].pk]
    assert [r.id for r in accepted_requests(units, 2011)] == [setup["case"].pk]
    for year in (1, 2, 1948, 2101, 9998, 9999):
        assert accepted_requests(units, year) == []
