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

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db import models, transaction

from catalog.models import BodyKind

from .models import (
    Disclosure,
    DisclosureQuerySet,
    Organisation,
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


# Who acts for which bodies (Organisation.members), by role: the unit kinds
# and body kinds a member of the role may act for (None: any kind). A unit
# editor drafts for its units (Unit.editors) and acts for no body; a party
# member is no staff. Read by the staff form, the member pickers and checks.
TOWN_LEVEL = (Unit.Kind.TOWN, Unit.Kind.COUNTY)
VILLAGE_LEVEL = (Unit.Kind.VILLAGE, Unit.Kind.COMMUNITY)
ROLE_BODIES = {
    TOWN_ADMIN: (TOWN_LEVEL, None),
    REVIEWER: ((Unit.Kind.TOWN,), None),
    INSPECTOR: ((Unit.Kind.COUNTY,), None),
    SUPERVISOR: (VILLAGE_LEVEL, (BodyKind.SUPERVISION,)),
    VILLAGE_APPROVER: (
        VILLAGE_LEVEL,
        (BodyKind.PARTY_BRANCH, BodyKind.VILLAGE_COMMITTEE, BodyKind.JOINT_MEETING),
    ),
}
# The roles that need a body to act for, or units to edit, to do anything.
NEEDS_BODIES = (REVIEWER, SUPERVISOR, VILLAGE_APPROVER)
NEEDS_UNITS = (UNIT_EDITOR,)
# The roles the staff form gives; 镇管理员 only a superuser.
STAFF_ROLES = (REVIEWER, UNIT_EDITOR, SUPERVISOR, VILLAGE_APPROVER, INSPECTOR)


def bodies_for_role(role: str):
    """The bodies a member of this role may act for."""
    if role not in ROLE_BODIES:
        return Organisation.objects.none()
    unit_kinds, body_kinds = ROLE_BODIES[role]
    bodies = Organisation.objects.filter(unit__kind__in=unit_kinds)
    if body_kinds is not None:
        bodies = bodies.filter(kind__in=body_kinds)
    return bodies


def roles_for_body(body: Organisation) -> list[str]:
    """The roles whose members may act for this body."""
    return [
        role
        for role, (unit_kinds, body_kinds) in ROLE_BODIES.items()
        if body.unit.kind in unit_kinds
        and (body_kinds is None or body.kind in body_kinds)
    ]


def roles_for_unit_bodies(unit: Unit) -> list[str]:
    """The roles whose members may act for some body of a unit of this kind."""
    return [
        role
        for role, (unit_kinds, _kinds) in ROLE_BODIES.items()
        if unit.kind in unit_kinds
    ]


def staff_in(*role_names: str):
    """Active staff accounts holding one of these roles."""
    return (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True, groups__name__in=role_names)
        .distinct()
        .order_by("username")
    )


def town_staff():
    """Who may be a village's 联系领导 or 包村干部: the town's staff."""
    return staff_in(TOWN_ADMIN, REVIEWER)


@transaction.atomic
def appoint(user, *, role: str, units=(), bodies=()) -> None:
    """Give a new staff member a role, the units they edit and the bodies
    they act for (the staff form's one step)."""
    user.groups.set([Group.objects.get(name=role)])
    for unit in units:
        unit.editors.add(user)
    for body in bodies:
        body.members.add(user)
