"""The dates and years the portal accepts, from a filter, a form or the admin.

Nothing the portal holds is dated before 1949 (the first year a period key
may have, catalog/periods.py) or after this century; a value outside
FIRST_YEAR..LAST_YEAR is refused with a Chinese message (a 400 that shows the
page on a public list, a form error elsewhere).
Without the bound, year 1 overflowed when turned into UTC (a 500 on SQLite)
and year 9999 when a day, a month or a deadline was added to it.

Every date and year input goes through `validate_date` / `validate_year`:
model date fields get it from `security.guard_model_fields`, filters use
`DateFromToRangeFilter`, plain forms pass it as a validator, and the admin's
year lookups of every list (the date hierarchy's and any other) by
`DateLookupsInRange`, which the admin site mixes into every ModelAdmin.
"""

from datetime import date, datetime

import django_filters
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters.fields import DateRangeField as BaseDateRangeField

FIRST_YEAR = 1949
LAST_YEAR = 2100
RANGE = {"first": FIRST_YEAR, "last": LAST_YEAR}


def validate_date(value: date | datetime) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        shown = value.date() if isinstance(value, datetime) else value
        raise ValidationError(
            _(
                "日期超出范围：请填写 %(first)s 年至 %(last)s 年之间的日期"
                "（填写的是 %(value)s）。"
            ),
            code="date_out_of_range",
            params={**RANGE, "value": shown.isoformat()},
        )


def validate_year(value: int) -> None:
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise ValidationError(
            _("年份超出范围：请填写 %(first)s 至 %(last)s 之间的年份。"),
            code="year_out_of_range",
            params=RANGE,
        )


def year_in_range(text: str) -> bool:
    try:
        validate_year(int(text))
    except (ValueError, ValidationError):
        return False
    return True


class DateRangeField(BaseDateRangeField):
    """django-filter's from–to date pair, each date within the range."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields:
            field.validators.append(validate_date)


class DateFromToRangeFilter(django_filters.DateFromToRangeFilter):
    field_class = DateRangeField


# Lookups whose value is a year, turned into the year's first and last
# moments when the query is compiled (after the admin's own checks).
YEAR_LOOKUPS = {"year", "iso_year"}


class DateLookupsInRange:
    """For every ModelAdmin (mixed in by the admin site's `register`): a year
    out of range in a list's lookups, the date hierarchy's drill-down
    (`?published_at__year=9999`) or any other date field's
    (`?date_joined__year__gte=0`, which the admin accepts for any field of the
    model), is a bad lookup, answered like any other (the list again, with a
    note), instead of the 500 Django's changelist gives when the year's end or
    its UTC start overflows."""

    def get_changelist_instance(self, request):
        for key, values in request.GET.lists():
            if YEAR_LOOKUPS & set(key.split("__")[1:]) and not all(
                year_in_range(value) for value in values
            ):
                raise IncorrectLookupParameters(_("年份超出范围。"))
        return super().get_changelist_instance(request)
