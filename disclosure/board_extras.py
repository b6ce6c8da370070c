"""Columns another app adds to a unit's board page, after the unified ones.

The real boards added a 回音壁 column beside their catalog columns; the 回音壁
lives in feedback, which disclosure may not import, so feedback registers a
provider in its AppConfig.ready(). A provider is `provider(unit) -> HTML`
(safe), or None for no column. It must show only public rows of public
models (the board is a cached anonymous page: the same column for every
audience) and cost a fixed number of queries. The board's body is made again
after every publication in the unit: a column that does not change with
them is kept by its provider (core/fragments.py) under its own scopes.
"""

from collections.abc import Callable

from django.utils.safestring import SafeString

from .models import Unit

BoardColumn = Callable[[Unit], SafeString | None]
providers: list[BoardColumn] = []


def register(provider: BoardColumn) -> None:
    if provider not in providers:
        providers.append(provider)


def columns(unit: Unit) -> list[SafeString]:
    return [c for c in (provider(unit) for provider in providers) if c]
