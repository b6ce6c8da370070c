"""Chinese working days, with public holidays and make-up workdays (调休).

Pure date arithmetic on top of the `chinese-calendar` package (import name
`chinese_calendar`), which knows each year's State Council holiday notice. For
years it does not cover, fall back to Monday–Friday and log a warning once per
year, so that a deadline is still computed rather than the page failing.
"""

import logging
from datetime import date, timedelta
from functools import cache

import chinese_calendar

logger = logging.getLogger(__name__)


@cache
def _warn_uncovered(year: int) -> None:
    logger.warning(
        "chinese-calendar has no holiday data for %s: counting Monday to Friday "
        "as working days. Upgrade the package once the year's notice is out.",
        year,
    )


# Pure functions of dates, called for every obligation of every unit (the
# county page evaluates hundreds of units): memoised per process.
@cache
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        _warn_uncovered(day.year)
        return day.weekday() < 5


@cache
def add_workdays(start: date, days: int) -> date:
    """The `days`-th working day after `start` (the start day itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if is_workday(day):
            days -= 1
    return day


def notice_ends(posted: date, notice_days: int) -> date:
    """The last day of a 公示 (objections taken up to it): `notice_days`
    working days from the posting, the posting day counted if it is one."""
    return add_workdays(posted - timedelta(days=1), notice_days)


def workdays_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 if end <= start)."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        count += is_workday(day)
    return count
