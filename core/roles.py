"""Role groups and their model permissions, as each app grants them.

The roles themselves (who is a town administrator, a reviewer...) are defined
by the app that gives them meaning; each app grants, in its own `ready()`, the
permissions on its own models that a role needs in the admin. Workflow steps
are checked by the services, not by these.
"""

role_permissions: dict[str, list[str]] = {}


def grant(role: str, *patterns: str) -> None:
    """Give `role` (a group name) permissions: "app_label.codename", or
    "app_label.*" for all of an app's."""
    granted = role_permissions.setdefault(role, [])
    granted.extend(p for p in patterns if p not in granted)


def sync_role_groups() -> dict[str, int]:
    """Create the role groups and give them exactly their permissions."""
    from django.contrib.auth.models import Group, Permission

    counts = {}
    for name, patterns in role_permissions.items():
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
