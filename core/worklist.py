"""The back office's start page: what waits for a staff member, as each app
registers it in `ready()`.

A provider is `provider(user) -> Section | None` (None: nothing of its
kind for this user). Each line is a count and the URL of the list that shows
exactly those rows (the list's filter and the count come from one function of
the app, as of the day that list uses). Providers cost a fixed number of
queries, whatever the data; the page shows them in registration order (the
apps' order in INSTALLED_APPS).
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    text: str  # "待我审核 3 条": the count in the words, as read aloud
    count: int
    url: str
    urgent: bool = False  # overdue: shown as a warning when not zero


@dataclass
class Section:
    title: str
    lines: list[Line] = field(default_factory=list)
    # Rows of a small table (a town administrator's units): (heading, lines).
    rows: list[tuple[str, list[Line]]] = field(default_factory=list)
    note: str = ""


Provider = Callable[..., Section | None]
providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in providers:
        providers.append(provider)


def sections(user) -> list[Section]:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return []
    found = (provider(user) for provider in providers)
    return [section for section in found if section is not None]
