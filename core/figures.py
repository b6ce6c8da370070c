"""The statistics page's figures, as each app registers them in `ready()`.

A provider is `figures(user, *, year, unit) -> Figures`: its charts (in the
order shown), the named values the page's summary boxes read, and the totals
the CSV lists. The page (composition/stats.py) shows every provider's in
registration order, which is the apps' order in INSTALLED_APPS.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Count, F
from django.db.models.functions import ExtractMonth

from .charts import MONTHS, Chart


@dataclass
class Figures:
    charts: list[Chart] = field(default_factory=list)
    values: dict = field(default_factory=dict)
    totals: list[tuple[str, object]] = field(default_factory=list)


providers: list[Callable[..., Figures]] = []


def register(provider: Callable[..., Figures]) -> None:
    if provider not in providers:
        providers.append(provider)


def collect(user, **selection) -> Figures:
    collected = Figures()
    for provider in providers:
        found = provider(user, **selection)
        collected.charts += found.charts
        collected.values.update(found.values)
        collected.totals += found.totals
    return collected


def monthly_series(
    queryset, *, date_field: str, kind_field: str, choices: Iterable
) -> list[tuple[str, list[int]]]:
    """Rows per month of `date_field`, one series per kind (`choices`: the
    kind's value and label), counted in one GROUP BY; months without rows 0."""
    counts = {
        (row["month"], row["of_kind"]): row["n"]
        for row in queryset.annotate(month=ExtractMonth(date_field))
        # An alias no model field has: an annotation may not shadow a field.
        .values("month", of_kind=F(kind_field))
        .annotate(n=Count("id"))
        .order_by()
    }
    return [
        (label, [counts.get((m, kind), 0) for m in MONTHS]) for kind, label in choices
    ]
