"""Who may do what in the back office: the roles, as Django groups.

镇管理员 (town administrator) sees and manages everything; 审核人 (town
reviewer) sees every unit's records in the back office; 村务管理员 (unit
editor) works on the units they are bound to (Unit.editors); 村务监督委员 and
村级审批人 see their own village's records; 党员 (party member) reads 党内 items
on the public site; 督查员 (the county's inspector) reads every unit's
records and keeps the 督查 records (Inspection, Rectification, their photos),
editing no content and taking no workflow step; of a 整改通知, the town
administrator and the unit's editors record the completion only
(disclosure/inspection_rules.py). Which record a person may review
(审核) or approve (审批) is decided by the bodies they act for
(Organisation.members, disclosure/procedure.py), not by the group.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from .models import (
    Disclosure,
    DisclosureQuerySet,
    Unit,
    UnitQuerySet,
    can_see_inner_party,
)

TOWN_ADMIN = "镇管理员"
REVIEWER = "审核人"
UNIT_EDITOR = "村务管理员"
PARTY_MEMBER = "党员"
SUPERVISOR = "村务监督委员"  # a member of a village's 村务监督委员会
VILLAGE_APPROVER = "村级审批人"  # acts for a village's 两委 or party branch
INSPECTOR = "督查员"  # the county's 督查 (read-only on content)


def in_group(user: AbstractBaseUser | AnonymousUser, name: str) -> bool:
    if not user.is_authenticated:
        return False
    # One query per request at most: the group names are cached on the user.
    if not hasattr(user, "_group_names"):
        user._group_names = set(user.groups.values_list("name", flat=True))
    return name in user._group_names


def is_town_admin(user) -> bool:
    return user.is_authenticated and (user.is_superuser or in_group(user, TOWN_ADMIN))


def is_reviewer(user) -> bool:
    return is_town_admin(user) or in_group(user, REVIEWER)


def is_inspector(user) -> bool:
    return in_group(user, INSPECTOR)


def units_inspected(user) -> UnitQuerySet:
    """The units whose 督查 records (inspections, 整改通知, photos) this staff
    member reads in the admin: the inspector's all; the town's administrators
    and reviewers all (one town per site today: its units); a unit's editors
    their units' (they record a 整改's completion). Who may change which:
    disclosure/inspection_rules.py."""
    if is_reviewer(user) or is_inspector(user):
        return Unit.objects.all()
    return units_for(user)


def inspections_seen(user):
    """The checks (and so their photos) this staff member may read: with the
    permission to view checks, those of units_inspected."""
    from .models import Inspection

    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Inspection.objects.none()
    if not (
        user.has_perm("disclosure.view_inspection")
        or user.has_perm("disclosure.change_inspection")
    ):
        return Inspection.objects.none()
    return Inspection.objects.filter(unit__in=units_inspected(user))


def units_for(user) -> UnitQuerySet:
    """The units whose records this staff member may work on."""
    if is_town_admin(user):
        return Unit.objects.all()
    if not user.is_authenticated:
        return Unit.objects.none()
    return Unit.objects.filter(editors=user)


def units_overseen(user) -> UnitQuerySet:
    """The units whose records this staff member may read in the back office:
    those they edit, and those with a body they act for (a village's
    村务监督委员会 reviews its records without editing them)."""
    if is_reviewer(user) or is_inspector(user):
        return Unit.objects.all()
    if not user.is_authenticated:
        return Unit.objects.none()
    acted_for = Unit.objects.filter(organisations__members=user).values("pk")
    return Unit.objects.filter(
        models.Q(pk__in=units_for(user).values("pk")) | models.Q(pk__in=acted_for)
    )


def staff_disclosures(user, records: DisclosureQuerySet | None = None):
    """The records a staff member sees in the back office: a reviewer those
    within their scope (DisclosureQuerySet.within_scope); an editor or a
    village body their units' (units_overseen), 党组织内部 ones included (they
    draft them), 党内 ones only with the 党内 permission."""
    if records is None:
        records = Disclosure.objects.all()
    if is_reviewer(user):
        return records.within_scope(user)
    records = records.filter(unit__in=units_overseen(user))
    if can_see_inner_party(user):
        return records
    return records.within_scope(user)


ROLE_NAMES = (
    TOWN_ADMIN,
    REVIEWER,
    UNIT_EDITOR,
    SUPERVISOR,
    VILLAGE_APPROVER,
    PARTY_MEMBER,
    INSPECTOR,
)


def grant_permissions() -> None:
    """What each role needs in the admin of the catalog and the disclosures
    (feedback grants its own, in its AppConfig). Workflow steps are checked by
    role in disclosure/services.py, not by these."""
    from core.roles import grant

    grant(
        TOWN_ADMIN,
        "catalog.*",
        "disclosure.*",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    )
    grant(
        REVIEWER,
        "disclosure.view_disclosure",
        "disclosure.view_pendingdisclosure",
        "disclosure.view_attachment",
        "disclosure.view_disclosuretable",
        "disclosure.view_inner_party",
        "disclosure.view_unit",
        "disclosure.view_inspection",
        "disclosure.view_rectification",
        "disclosure.view_inspectionphoto",
        "catalog.view_item",
    )
    grant(
        UNIT_EDITOR,
        "disclosure.view_disclosure",
        "disclosure.add_disclosure",
        "disclosure.change_disclosure",
        "disclosure.view_attachment",
        "disclosure.add_attachment",
        "disclosure.change_attachment",
        "disclosure.view_disclosuretable",
        "disclosure.add_disclosuretable",
        "disclosure.change_disclosuretable",
        "disclosure.view_obligationevent",
        "disclosure.add_obligationevent",
        "disclosure.change_obligationevent",
        "disclosure.view_inner_party",
        "disclosure.view_unit",
        # Their units' 督查 records; of a 整改 they record the completion only
        # (inspection_rules.rectification_fields).
        "disclosure.view_inspection",
        "disclosure.view_inspectionphoto",
        "disclosure.view_rectification",
        "disclosure.change_rectification",
        "catalog.view_item",
    )
    # Village bodies review or approve in the admin; they never edit content.
    village_review = (
        "disclosure.view_disclosure",
        "disclosure.view_pendingdisclosure",
        "disclosure.view_attachment",
        "disclosure.view_disclosuretable",
        "disclosure.view_unit",
        "catalog.view_item",
    )
    grant(SUPERVISOR, *village_review)
    grant(VILLAGE_APPROVER, *village_review, "disclosure.view_inner_party")
    grant(PARTY_MEMBER, "disclosure.view_inner_party")
    # Reads every record (党内 ones too: the 督查 checks them), edits only
    # its own 督查 records; services.CHECKS refuse it every workflow step.
    grant(
        INSPECTOR,
        "disclosure.view_disclosure",
        "disclosure.view_attachment",
        "disclosure.view_disclosuretable",
        "disclosure.view_inner_party",
        "disclosure.view_unit",
        "disclosure.view_noticeboard",
        "disclosure.view_inspection",
        "disclosure.add_inspection",
        "disclosure.change_inspection",
        "disclosure.view_rectification",
        "disclosure.add_rectification",
        "disclosure.change_rectification",
        # The photos of its own checks (inspection_rules.may_change_photos).
        "disclosure.view_inspectionphoto",
        "disclosure.add_inspectionphoto",
        "disclosure.change_inspectionphoto",
        "disclosure.delete_inspectionphoto",
        "catalog.view_item",
    )
