"""The statistics page's figures, as each app registers them in `ready()`.

A provider is `figures(user, *, year, unit) -> Figures`: its charts (in the
order shown), the named values the page's summary boxes read, and the totals
the CSV lists. The page (composition/stats.py) shows every provider's in
registration order, which is the apps' order in INSTALLED_APPS.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from django.db.models import Count, F
from django.db.models.functions import ExtractMonth
from django.utils.functional import Promise

from .charts import MONTHS, Chart


@dataclass
class Figures:
    charts: list[Chart] = field(default_factory=list)
    values: dict = field(default_factory=dict)
    totals: list[tuple[str, object]] = field(default_factory=list)


providers: list[Callable[..., Figures]] = []
# Providers whose figures the date changes (what is due as of today): kept
# for the day, apart from the rest, which midnight does not change.
daily: list[Callable[..., Figures]] = []
# What a provider's figures do not read, as the scopes (or kinds of scope)
# the page keeps its figures under name it (the 回音壁's: no catalog row; the
# disclosures': no count of cases): kept apart from the others, so that a
# change there leaves them kept.
unread: dict[Callable[..., Figures], frozenset[str]] = {}


def register(
    provider: Callable[..., Figures],
    *,
    by_day: bool = False,
    independent_of: tuple[str, ...] = (),
) -> None:
    if provider not in providers:
        providers.append(provider)
    if by_day and provider not in daily:
        daily.append(provider)
    unread[provider] = frozenset(independent_of)


def groups(*, by_day: bool) -> list[frozenset[str]]:
    """The providers' distinct `independent_of` (those the date changes, or
    the others), in registration order: one kept part each."""
    found = [unread.get(p, frozenset()) for p in providers if (p in daily) == by_day]
    return list(dict.fromkeys(found))


def collect_parts(
    user,
    *,
    by_day: bool | None = None,
    independent_of: frozenset[str] | None = None,
    **selection,
) -> list[tuple[int, Figures]]:
    """Each provider's figures with its place in the page's order; `by_day`:
    only the providers the date changes (True), or only the others (False);
    `independent_of`: only those registered with exactly these."""
    return [
        (place, plain(provider(user, **selection)))
        for place, provider in enumerate(providers)
        if (by_day is None or (provider in daily) == by_day)
        and (
            independent_of is None
            or unread.get(provider, frozenset()) == independent_of
        )
    ]


def plain(found: Figures) -> Figures:
    """The figures with their texts translated now (the active language's:
    kept values are keyed by language). A lazy text (a chart's title, a
    choice's label) pickles as a call that builds a new class when the kept
    figures are read, about 0.1 ms each, fifteen on every statistics page."""
    return Figures(
        charts=[
            replace(
                chart,
                title=_text(chart.title),
                description=_text(chart.description),
                labels=[_text(label) for label in chart.labels],
                series=[(_text(name), values) for name, values in chart.series],
                unit=_text(chart.unit),
                notes=[_text(note) for note in chart.notes],
            )
            for chart in found.charts
        ],
        values={key: _text(value) for key, value in found.values.items()},
        totals=[(_text(label), _text(value)) for label, value in found.totals],
    )


def _text(value):
    """`value` with every lazy text in it (in dicts, lists, tuples) a str."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return {key: _text(item) for key, item in value.items()}
    if type(value) in (list, tuple):  # not a named tuple's own class
        return type(value)(_text(item) for item in value)
    return value


def combine(parts: list[tuple[int, Figures]]) -> Figures:
    """Providers' figures in the page's order, whichever way they were kept."""
    collected = Figures()
    for _, found in sorted(parts, key=lambda part: part[0]):
        collected.charts += found.charts
        collected.values.update(found.values)
        collected.totals += found.totals
    return collected


def collect(user, **selection) -> Figures:
    return combine(collect_parts(user, **selection))


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
