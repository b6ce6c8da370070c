from .attachments import Attachment
from .disclosures import (
    INNER_PARTY_PERMISSION,
    Disclosure,
    DisclosureEvent,
    DisclosureQuerySet,
    PendingDisclosure,
    can_see_inner_party,
)
from .units import NoticeBoard, Unit, UnitQuerySet

__all__ = [
    "INNER_PARTY_PERMISSION",
    "Attachment",
    "Disclosure",
    "DisclosureEvent",
    "DisclosureQuerySet",
    "NoticeBoard",
    "PendingDisclosure",
    "Unit",
    "UnitQuerySet",
    "can_see_inner_party",
]
