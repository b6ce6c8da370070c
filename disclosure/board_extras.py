"""Columns another app adds to a unit's board page, after the unified ones.

The real boards added a 回音壁 column beside their catalog columns; the 回音壁
lives in feedback, which disclosure may not import, so feedback registers a
provider in its AppConfig.ready(). A provider is `provider(unit) -> dict`:
"template" (rendered with the dict as `column`) and what it needs. It must
show only public rows of public models (the board is a cached anonymous page)
and cost a fixed number of queries.
"""

from collections.abc import Callable

from .models import Unit

BoardColumn = Callable[[Unit], dict | None]
providers: list[BoardColumn] = []


def register(provider: BoardColumn) -> None:
    if provider not in providers:
        providers.append(provider)


def columns(unit: Unit) -> list[dict]:
    return [c for c in (provider(unit) for provider in providers) if c]
