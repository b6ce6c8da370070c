"""The statistics page's figures, as each app registers them in `ready()`.

A provider is `figures(user, *, year, unit) -> Figures`: its charts (in the
order shown), the named values the page's summary boxes read, and the totals
the CSV lists. The page (composition/stats.py) shows every provider's in
registration order, which is the apps' order in INSTALLED_APPS.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from .charts import Chart


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
