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
from .organisations import Organisation, add_standard_bodies
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
    "Organisation",
    "PendingDisclosure",
    "ReminderLog",
    "Unit",
    "UnitQuerySet",
    "add_standard_bodies",
    "can_see_inner_party",
]
