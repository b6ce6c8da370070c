"""Disclosure periods (2011年9月, 2011年第三季度 …) as plain values.

A period is stored on a disclosure as a short key ("2011", "2011-H2",
"2011-Q3", "2011-09"); this module parses, validates and labels keys. It has
no ORM or request code so the compliance schedule can build on it.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from django.utils.translation import get_language
from django.utils.translation import gettext as _

KEY_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<half>H[12])|(?P<quarter>Q[1-4])|(?P<month>\d{2})))?$"
)

YEAR = "year"
HALF = "half"
QUARTER = "quarter"
MONTH = "month"

QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}


class InvalidPeriod(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Period:
    year: int
    kind: str
    number: int = 1

    @classmethod
    def parse(cls, key: str) -> Period:
        match = KEY_RE.match((key or "").strip())
        if not match:
            raise InvalidPeriod(key)
        year = int(match["year"])
        if not 1949 <= year <= 2200:
            raise InvalidPeriod(key)
        if match["half"]:
            return cls(year, HALF, int(match["half"][1]))
        if match["quarter"]:
            return cls(year, QUARTER, int(match["quarter"][1]))
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise InvalidPeriod(key)
            return cls(year, MONTH, month)
        return cls(year, YEAR, 1)

    @classmethod
    def containing(cls, day: date, kind: str) -> Period:
        if kind == MONTH:
            return cls(day.year, MONTH, day.month)
        if kind == QUARTER:
            return cls(day.year, QUARTER, (day.month - 1) // 3 + 1)
        if kind == HALF:
            return cls(day.year, HALF, 1 if day.month <= 6 else 2)
        return cls(day.year, YEAR, 1)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        count = {YEAR: 1, HALF: 2, QUARTER: 4, MONTH: 12}[self.kind]
        if self.number > 1:
            return Period(self.year, self.kind, self.number - 1)
        return Period(self.year - 1, self.kind, count)

    @property
    def part(self) -> str:
        """The key without its year: "" (the year), "H2", "Q3", "09"."""
        return self.key[5:]

    @property
    def key(self) -> str:
        if self.kind == HALF:
            return f"{self.year}-H{self.number}"
        if self.kind == QUARTER:
            return f"{self.year}-Q{self.number}"
        if self.kind == MONTH:
            return f"{self.year}-{self.number:02d}"
        return str(self.year)

    @property
    def months(self) -> tuple[int, int]:
        """First and last month (1-12) the period covers."""
        span = {YEAR: 12, HALF: 6, QUARTER: 3, MONTH: 1}[self.kind]
        first = (self.number - 1) * span + 1
        return first, first + span - 1

    @property
    def start(self) -> date:
        return date(self.year, self.months[0], 1)

    @property
    def end(self) -> date:
        last_month = self.months[1]
        return date(
            self.year, last_month, calendar.monthrange(self.year, last_month)[1]
        )

    @property
    def label(self) -> str:
        if self.kind == HALF:
            half = _("上半年") if self.number == 1 else _("下半年")
            return _("%(year)s年%(half)s") % {"year": self.year, "half": half}
        if self.kind == QUARTER:
            return _("%(year)s年第%(n)s季度") % {
                "year": self.year,
                "n": QUARTER_NAMES[self.number],
            }
        if self.kind == MONTH:
            return _("%(year)s年%(month)s月") % {
                "year": self.year,
                "month": self.number,
            }
        return _("%(year)s年度") % {"year": self.year}

    def __str__(self) -> str:
        return self.label


# The parts of a year a period may be, by kind, for a two-step choice (the
# year, then the part): "" is the whole year.
PARTS = {
    YEAR: [""],
    HALF: ["H1", "H2"],
    QUARTER: ["Q1", "Q2", "Q3", "Q4"],
    MONTH: [f"{m:02d}" for m in range(1, 13)],
}


def part_label(part: str) -> str:
    """全年, 上半年, 第三季度, 9月: the part of a key after its year."""
    if not part:
        return _("全年")
    label = Period.parse(f"2000-{part}").label
    return label.removeprefix(_("%(year)s年") % {"year": 2000})


def kind_of_part(part: str) -> str:
    if not part:
        return YEAR
    return Period.parse(f"2000-{part}").kind


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day if it has none."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class Labelled(NamedTuple):
    key: str
    label: str


def labelled(keys) -> list[Labelled]:
    """Stored keys, without repeats, with their labels (a board's archive)."""
    language = get_language()  # once: the list's filter labels some 200
    return [Labelled(key, _label_for(key, language)) for key in dict.fromkeys(keys)]


def label_for(key: str) -> str:
    """The label of a stored key, or the key itself if it is not valid."""
    return _label_for(key, get_language())


@functools.lru_cache(maxsize=4096)
def _label_for(key: str, language: str) -> str:
    # Boards and lists label hundreds of periods a page; a label depends only
    # on the key and the language.
    try:
        return Period.parse(key).label
    except InvalidPeriod:
        return key
