from datetime import date

import pytest

from catalog.periods import InvalidPeriod, Period, label_for


@pytest.mark.parametrize(
    ("key", "label", "start", "end"),
    [
        ("2011", "2011年度", date(2011, 1, 1), date(2011, 12, 31)),
        ("2011-H2", "2011年下半年", date(2011, 7, 1), date(2011, 12, 31)),
        ("2011-Q3", "2011年第三季度", date(2011, 7, 1), date(2011, 9, 30)),
        ("2011-09", "2011年9月", date(2011, 9, 1), date(2011, 9, 30)),
        ("2012-02", "2012年2月", date(2012, 2, 1), date(2012, 2, 29)),
    ],
)
def test_period_keys_parse_to_labels_and_dates(key, label, start, end):
    period = Period.parse(key)
    assert (period.label, period.start, period.end, period.key) == (
        label,
        start,
        end,
        key,
    )


@pytest.mark.parametrize(
    "key", ["", "2011-13", "2011-Q5", "2011-H3", "11-09", "2011-9", "x"]
)
def test_invalid_period_keys_are_refused(key):
    with pytest.raises(InvalidPeriod):
        Period.parse(key)


def test_label_for_an_invalid_key_is_the_key_itself():
    assert label_for("bogus") == "bogus"


def test_period_containing_a_day():
    day = date(2011, 8, 15)
    assert Period.containing(day, "quarter").key == "2011-Q3"
    assert Period.containing(day, "half").key == "2011-H2"
    assert Period.containing(day, "month").key == "2011-08"
    assert Period.containing(day, "year").key == "2011"
