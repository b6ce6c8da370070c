"""Who may change which 督查 record, and which of its fields: the one rule
read by the admin (InspectionAdmin, RectificationAdmin, the photo inline:
their permissions and read-only fields) and checked again on every save
(`check_inspection`, `check_rectification`, `check_photos`), so no path
(a change form, a bulk action, a hand-made POST) gets around it.

- A superuser: everything.
- The inspector (督查员) creates checks and 整改通知, and changes only those
  they wrote and the photos of their own checks; a notice is written by its
  check's inspector (one is issued on one's own check only). Another
  inspector's records are read-only.
- The town administrator and the editors of the unit a notice goes to record
  its completion only (完成日期, 整改情况): never a check, its scores, or a
  notice's issue, deadline or unit.
- No one but a superuser deletes a check or a notice: the record of a check
  stays (a wrong one is corrected by its inspector).
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from . import roles
from .models import Inspection, Rectification

INSPECTION_FIELDS = frozenset(
    {
        "unit",
        "inspected_on",
        "findings",
        "score_complete",
        "score_form",
        "score_procedure",
        "score_timeliness",
        "score_feedback",
    }
)
COMPLETION_FIELDS = frozenset({"completed_on", "completion_note"})
RECTIFICATION_FIELDS = (
    frozenset({"inspection", "unit", "issue", "deadline"}) | COMPLETION_FIELDS
)
NOTHING = frozenset()


def _active(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def may_issue(user) -> bool:
    """May create checks and 整改通知."""
    return _active(user) and (
        user.is_superuser
        or (
            roles.is_inspector(user)
            and user.has_perm("disclosure.add_inspection")
            and user.has_perm("disclosure.add_rectification")
        )
    )


def _wrote(user, inspection: Inspection | None) -> bool:
    return inspection is not None and inspection.inspector_id == user.pk


def inspection_fields(user, inspection: Inspection | None = None) -> frozenset:
    """The fields of this check (None: a new one) the user may set."""
    if not _active(user):
        return NOTHING
    if user.is_superuser:
        return INSPECTION_FIELDS
    if inspection is None or inspection.pk is None:
        return INSPECTION_FIELDS if may_issue(user) else NOTHING
    if (
        roles.is_inspector(user)
        and user.has_perm("disclosure.change_inspection")
        and _wrote(user, inspection)
    ):
        return INSPECTION_FIELDS
    return NOTHING


def rectification_fields(user, rectification: Rectification | None = None):
    """The fields of this 整改通知 (None: a new one) the user may set."""
    if not _active(user):
        return NOTHING
    if user.is_superuser:
        return RECTIFICATION_FIELDS
    if rectification is None or rectification.pk is None:
        return RECTIFICATION_FIELDS if may_issue(user) else NOTHING
    if not user.has_perm("disclosure.change_rectification"):
        return NOTHING
    if roles.is_inspector(user) and _wrote(user, rectification.inspection):
        return RECTIFICATION_FIELDS
    if (
        roles.is_town_admin(user)
        or roles.units_for(user).filter(pk=rectification.unit_id).exists()
    ):
        return COMPLETION_FIELDS
    return NOTHING


def may_change_photos(user, inspection: Inspection | None) -> bool:
    """Photos are added, re-captioned and removed by whoever may change the check."""
    return bool(inspection_fields(user, inspection))


def may_delete(user) -> bool:
    """A check or a notice: a superuser only."""
    return _active(user) and user.is_superuser


def may_choose_inspection(user, inspection: Inspection) -> bool:
    """A notice is issued on one's own check (the superuser's: any)."""
    return user.is_superuser or _wrote(user, inspection)


# The checks on saving ------------------------------------------------------------


def refused() -> PermissionDenied:
    return PermissionDenied(_("您无权修改这条督查记录的这些内容。"))


def _changed(obj, names) -> set[str]:
    stored = type(obj)._base_manager.filter(pk=obj.pk).first()
    if stored is None:
        return set(names)
    return {
        name
        for name in names
        if getattr(stored, obj._meta.get_field(name).attname)
        != getattr(obj, obj._meta.get_field(name).attname)
    }


def _stored(obj):
    return type(obj)._base_manager.filter(pk=obj.pk).first() if obj.pk else None


def check_inspection(user, inspection: Inspection) -> None:
    """Raise PermissionDenied unless the user may save this check as it is."""
    stored = _stored(inspection)
    if stored is None:
        if not may_issue(user):
            raise refused()
        return
    changed = _changed(inspection, INSPECTION_FIELDS | {"inspector"})
    if changed - inspection_fields(user, stored):
        raise refused()


def check_rectification(user, rectification: Rectification) -> None:
    """Raise PermissionDenied unless the user may save this notice as it is."""
    stored = _stored(rectification)
    if stored is None:
        changed = set(RECTIFICATION_FIELDS)
        allowed = rectification_fields(user, None)
    else:
        changed = _changed(rectification, RECTIFICATION_FIELDS)
        allowed = rectification_fields(user, stored)
    if changed - allowed:
        raise refused()
    if "inspection" in changed and not may_choose_inspection(
        user, rectification.inspection
    ):
        raise refused()


def check_photos(user, inspection: Inspection) -> None:
    """Raise PermissionDenied unless the user may change this check's photos."""
    if not may_change_photos(user, _stored(inspection)):
        raise refused()
