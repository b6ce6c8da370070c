"""Domain events: what changed, announced once, for whoever keeps a copy of
it (the page cache, the search index, the 回音壁's holding back of cases).

Two kinds, one signal (`changed`, sent with an `Event`):

- row events (`saved`, `deleted`, `linked`): a row of a model that an app
  declared public (`core.content.public`) was saved or deleted, or its
  many-to-many links changed. Core sends them from Django's model signals, so
  no path (a service, the admin, a loader, the shell) can miss them;
- named events from the services (`published`, `withdrawn`, `corrected`,
  `made_inner_party`, `accepted`, `answered`, ...), carrying the ids: the
  vocabulary of the workflows, and the only news of a change made to many rows
  at once with `QuerySet.update()`, which sends no model signal.

A listener subscribes with `listen(receiver, model=..., names=...)`; core never
names the apps that announce or listen.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.dispatch import Signal

ROW_EVENTS = ("saved", "deleted", "linked")

changed = Signal()  # sent with event=Event


@dataclass(frozen=True)
class Event:
    name: str  # a row event (ROW_EVENTS) or a service's verb
    model: str  # the model's label, e.g. "disclosure.Disclosure"
    ids: tuple = ()
    created: bool = False  # `saved`: the row is new
    raw: bool = False  # `saved`: loaded as it is (loaddata, a restore)
    instance: object = field(default=None, compare=False, repr=False)

    @property
    def is_row_event(self) -> bool:
        return self.name in ROW_EVENTS


def announce(name: str, model, ids: Iterable = (), **details) -> Event:
    """Tell every listener; `model` is a model class or its label."""
    label = model if isinstance(model, str) else model._meta.label
    event = Event(name=str(name), model=label, ids=tuple(ids), **details)
    changed.send(sender=Event, event=event)
    return event


def listen(
    receiver: Callable[[Event], None],
    *,
    model: str | None = None,
    names: Iterable[str] | None = None,
    uid: str,
) -> None:
    """Call `receiver(event)` for the events of `model` (a label) and with one
    of `names`; None means any."""
    wanted = set(names) if names is not None else None

    def relay(sender, event: Event, **kwargs) -> None:
        if model is not None and event.model != model:
            return
        if wanted is not None and event.name not in wanted:
            return
        receiver(event)

    changed.connect(relay, dispatch_uid=uid, weak=False)
