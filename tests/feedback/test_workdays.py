import logging
from datetime import date

from catalog import workdays


def test_national_day_2011_is_not_counted():
    # 1–7 October 2011 were holidays.
    assert not workdays.is_workday(date(2011, 10, 3))
    assert not workdays.is_workday(date(2011, 10, 7))


def test_make_up_workday_on_a_saturday_is_counted():
    # Saturday 8 and Sunday 9 October 2011 were make-up workdays (调休).
    assert workdays.is_workday(date(2011, 10, 8))
    assert workdays.is_workday(date(2011, 10, 9))


def test_adding_working_days_skips_the_holiday_and_uses_the_make_up_day():
    assert workdays.add_workdays(date(2011, 9, 30), 1) == date(2011, 10, 8)
    assert workdays.add_workdays(date(2011, 9, 28), 3) == date(2011, 10, 8)
    # 29, 30 Sep, 8, 9, 10, 11, 12, 13, 14, 17 Oct.
    assert workdays.add_workdays(date(2011, 9, 28), 10) == date(2011, 10, 17)


def test_zero_days_is_the_start_day():
    assert workdays.add_workdays(date(2011, 10, 3), 0) == date(2011, 10, 3)


def test_workdays_between_counts_after_start_up_to_end():
    assert workdays.workdays_between(date(2011, 9, 30), date(2011, 10, 8)) == 1
    assert workdays.workdays_between(date(2011, 10, 8), date(2011, 10, 1)) == 0


def test_uncovered_year_falls_back_to_monday_to_friday_with_a_warning(caplog):
    workdays._warn_uncovered.cache_clear()
    with caplog.at_level(logging.WARNING, logger="catalog.workdays"):
        # Friday 4 January 2041 + 1 working day: Monday 7 January.
        assert workdays.add_workdays(date(2041, 1, 4), 1) == date(2041, 1, 7)
    assert "2041" in caplog.text
