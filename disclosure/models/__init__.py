from .archives import ArchiveExport, ClosedYear
from .attachments import Attachment
from .disclosures import (
    EVERY_BRANCH_PERMISSION,
    INNER_PARTY_PERMISSION,
    PUBLIC_READER,
    Disclosure,
    DisclosureEvent,
    DisclosureQuerySet,
    NoticeOutcome,
    PendingDisclosure,
    Reader,
    can_see_inner_party,
    page_audience,
    published_q,
)
from .inspections import CRITERIA, Inspection, InspectionPhoto, Rectification
from .obligations import ObligationEvent
from .organisations import Organisation, PartyMembership, add_standard_bodies
from .reminders import ReminderLog
from .tables import DisclosureTable
from .units import NoticeBoard, Unit, UnitQuerySet

__all__ = [
    "EVERY_BRANCH_PERMISSION",
    "INNER_PARTY_PERMISSION",
    "PUBLIC_READER",
    "CRITERIA",
    "ArchiveExport",
    "Attachment",
    "ClosedYear",
    "Disclosure",
    "DisclosureEvent",
    "DisclosureQuerySet",
    "DisclosureTable",
    "Inspection",
    "InspectionPhoto",
    "NoticeBoard",
    "NoticeOutcome",
    "ObligationEvent",
    "Organisation",
    "PartyMembership",
    "PendingDisclosure",
    "Reader",
    "Rectification",
    "ReminderLog",
    "Unit",
    "UnitQuerySet",
    "add_standard_bodies",
    "can_see_inner_party",
    "page_audience",
    "published_q",
]
