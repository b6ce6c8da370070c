from .archives import ArchiveExport, ClosedYear
from .attachments import Attachment
from .disclosures import (
    INNER_PARTY_PERMISSION,
    Disclosure,
    DisclosureEvent,
    DisclosureQuerySet,
    NoticeOutcome,
    PendingDisclosure,
    can_see_inner_party,
)
from .reminders import ReminderLog
from .units import NoticeBoard, Unit, UnitQuerySet

__all__ = [
    "INNER_PARTY_PERMISSION",
    "ArchiveExport",
    "Attachment",
    "ClosedYear",
    "Disclosure",
    "DisclosureEvent",
    "DisclosureQuerySet",
    "NoticeBoard",
    "NoticeOutcome",
    "PendingDisclosure",
    "ReminderLog",
    "Unit",
    "UnitQuerySet",
    "can_see_inner_party",
]
