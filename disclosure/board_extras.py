"""Columns another app adds to a unit's board page, after the unified ones.

The real boards added a 回音壁 column beside their catalog columns; the 回音壁
lives in feedback, which disclosure may not import, so feedback registers a
provider in its AppConfig.ready(). A provider is `provider(unit) -> HTML`
(safe), or None for no column. It must show only public rows of public
models (the board is a cached anonymous page: the same column for every
audience) and cost a fixed number of queries. The board's body is made again
after every publication in the unit: a column that does not change with
them is kept by its provider (core/fragments.py) under its own scopes.

`names(unit)`, given with the provider: the scopes of the names its column
shows (`content.name_scope`, catalog.page_scopes.DEPARTMENTS): the body
that holds the column then follows those, not every name of the county
(NAMES), and a unit renamed elsewhere leaves it kept. A provider that does
not say makes the body follow NAMES.
"""

from collections.abc import Callable

from django.utils.safestring import SafeString

from .models import Unit

BoardColumn = Callable[[Unit], SafeString | None]
NamesShown = Callable[[Unit], list[str]]
providers: dict[BoardColumn, NamesShown | None] = {}


def register(provider: BoardColumn, *, names: NamesShown | None = None) -> None:
    providers[provider] = names


def columns(unit: Unit) -> list[SafeString]:
    return [c for c in (provider(unit) for provider in providers) if c]


def names_shown(unit: Unit) -> list[str] | None:
    """The name scopes of what the columns show; None if a provider does
    not say (its column may show any name)."""
    found: list[str] = []
    for names in providers.values():
        if names is None:
            return None
        found += names(unit)
    return found
