from datetime import date

import pytest

from govinfo import figures
from govinfo.models import ApplicantKind, Ground, InfoRequest, Remedy, Result
from tests.factories import TownFactory

pytestmark = pytest.mark.django_db


def make(town, received, answered=None, result="", ground="", kind="citizen"):
    return InfoRequest.objects.create(
        unit=town,
        name="测试申请人",
        description="某事项",
        phone="13800000000",
        applicant_kind=kind,
        received_on=received,
        answered_on=answered,
        result=result,
        ground=ground,
    )


def assert_adds_up(table):
    rows = dict(table["rows"])
    for label, values in table["rows"]:
        assert values[-1] == sum(values[:-1]), label
    received = [
        a + b for a, b in zip(rows[figures.NEW], rows[figures.CARRIED], strict=True)
    ]
    handled = [
        a + b for a, b in zip(rows[figures.TOTAL], rows[figures.FORWARD], strict=True)
    ]
    assert received == handled
    results = [
        values
        for (label, values), level in zip(table["rows"], table["levels"], strict=True)
        if level == 1 and label != figures.TOTAL
    ]
    assert [sum(col) for col in zip(*results, strict=True)] == rows[figures.TOTAL]


def test_application_table_counts_and_adds_up():
    town = TownFactory()
    make(town, date(2010, 12, 20), date(2011, 1, 10), Result.DISCLOSED)
    make(town, date(2010, 12, 1), date(2010, 12, 20), Result.DISCLOSED)
    make(town, date(2011, 3, 1), date(2011, 3, 20), Result.PARTLY, kind="business")
    make(town, date(2011, 4, 1), date(2011, 4, 20), Result.REFUSED, Ground.SECRET)
    make(town, date(2011, 5, 1), date(2011, 5, 2), Result.OTHER, Ground.NO_CORRECTION)
    make(town, date(2011, 12, 20), kind=ApplicantKind.LEGAL)
    make(town, date(2011, 12, 21), date(2012, 1, 5), Result.DISCLOSED)

    table = figures.application_table(town, 2011)

    assert table["columns"][-1] == "总计"
    rows = dict(table["rows"])
    assert rows[figures.NEW] == [3, 1, 0, 0, 1, 0, 5]
    assert rows[figures.CARRIED] == [1, 0, 0, 0, 0, 0, 1]
    assert rows[figures.TOTAL] == [3, 1, 0, 0, 0, 0, 4]
    assert rows[figures.FORWARD] == [1, 0, 0, 0, 1, 0, 2]
    assert rows["1.属于国家秘密"][-1] == 1
    assert table["headings"] == {2: figures.RESULTS}
    assert_adds_up(table)


def test_review_litigation_table():
    town = TownFactory()
    Remedy.objects.create(
        unit=town,
        kind="review",
        filed_on=date(2011, 2, 1),
        outcome="upheld",
        decided_on=date(2011, 3, 1),
    )
    Remedy.objects.create(
        unit=town,
        kind="review",
        filed_on=date(2011, 11, 1),
        outcome="corrected",
        decided_on=date(2012, 1, 10),
    )
    Remedy.objects.create(unit=town, kind="suit", filed_on=date(2011, 6, 1))
    table = figures.review_litigation_table(town, 2011)
    assert len(table["columns"]) == len(table["values"]) == 15
    assert table["values"][:5] == [1, 0, 0, 1, 2]
    assert table["values"][5:10] == [0, 0, 0, 1, 1]
    assert table["values"][10:] == [0, 0, 0, 0, 0]
