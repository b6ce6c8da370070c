"""Who may do what in the back office: the roles, as Django groups.

镇管理员 (town administrator) sees and manages everything; 审核人 (reviewer)
reviews and approves; 村务管理员 (unit editor) works on the units they are bound
to (Unit.editors); 党员 (party member) reads 党内 items on the public site.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .models import Unit, UnitQuerySet

TOWN_ADMIN = "镇管理员"
REVIEWER = "审核人"
UNIT_EDITOR = "村务管理员"
PARTY_MEMBER = "党员"


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


def units_for(user) -> UnitQuerySet:
    """The units whose records this staff member may work on."""
    if is_town_admin(user):
        return Unit.objects.all()
    if not user.is_authenticated:
        return Unit.objects.none()
    return Unit.objects.filter(editors=user)


# Model permissions each role needs in the admin. Workflow steps are checked by
# role in disclosure/services.py, not by these.
ROLE_PERMISSIONS = {
    TOWN_ADMIN: [
        "catalog.*",
        "disclosure.*",
        "feedback.*",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ],
    REVIEWER: [
        "disclosure.view_disclosure",
        "disclosure.view_pendingdisclosure",
        "disclosure.view_attachment",
        "disclosure.view_inner_party",
        "disclosure.view_unit",
        "catalog.view_item",
    ],
    UNIT_EDITOR: [
        "disclosure.view_disclosure",
        "disclosure.add_disclosure",
        "disclosure.change_disclosure",
        "disclosure.view_attachment",
        "disclosure.add_attachment",
        "disclosure.change_attachment",
        "disclosure.view_inner_party",
        "disclosure.view_unit",
        "catalog.view_item",
        # The 回音壁 of their units (scoped in feedback/admin.py).
        "feedback.view_submission",
        "feedback.add_submission",
        "feedback.change_submission",
        "feedback.view_submissionevent",
        "feedback.view_tag",
        "feedback.view_answertemplate",
    ],
    PARTY_MEMBER: ["disclosure.view_inner_party"],
}


def sync_role_groups() -> dict[str, int]:
    """Create the role groups and give them exactly their permissions."""
    from django.contrib.auth.models import Group, Permission

    counts = {}
    for name, patterns in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.none()
        for pattern in patterns:
            app_label, codename = pattern.split(".")
            matching = Permission.objects.filter(content_type__app_label=app_label)
            if codename != "*":
                matching = matching.filter(codename=codename)
            permissions = permissions | matching
        group.permissions.set(permissions.distinct())
        counts[name] = group.permissions.count()
    return counts
