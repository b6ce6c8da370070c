"""Staff accounts in the admin: roles are given, nothing beyond them.

The town administrator adds users, binds them to a role group and resets a
village editor's password. Superuser status and single permissions would
reach past every role (and past the town administrator's own), and a
superuser's password is the key to everything: those stay with superusers,
as do accounts that hold more than a role.

An account that has done anything on record (a workflow step, a version of a
disclosure, an upload…) cannot be deleted, by anyone: the records keep who did
what. It is deactivated instead (有效 unticked). The records' foreign keys are
PROTECT; the version history's user (django-simple-history's, SET_NULL) is
checked here.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

from . import roles
from .models import Disclosure, Organisation, PartyMembership

# Fields of Django's UserAdmin only a superuser may set.
SUPERUSER_ONLY_FIELDS = {"is_superuser", "user_permissions"}

User = get_user_model()


@admin.register(PartyMembership)
class PartyMembershipAdmin(admin.ModelAdmin):
    """A party member's branch (党员组织关系): set, or moved to another branch,
    by the town administrator (disclosure.*, the only role given these
    permissions); it decides which 党组织内部 items the member reads."""

    list_display = ["user", "branch"]
    list_select_related = ["user", "branch__unit"]
    search_fields = ["user__username"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "branch":
            kwargs["queryset"] = Organisation.objects.branches().select_related("unit")
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(
                groups__name=roles.PARTY_MEMBER
            ).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RoleUserAdmin(UserAdmin):
    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (
                name,
                {
                    **options,
                    "fields": [
                        f for f in options["fields"] if f not in SUPERUSER_ONLY_FIELDS
                    ],
                },
            )
            for name, options in fieldsets
        ]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=roles.ROLE_NAMES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _beyond_reach(self, request, obj) -> bool:
        """An account holding more than a role: only a superuser may change it
        (a save by anyone else would also drop what the form does not show)."""
        if obj is None or request.user.is_superuser:
            return False
        return (
            obj.is_superuser
            or obj.user_permissions.exists()
            or obj.groups.exclude(name__in=roles.ROLE_NAMES).exists()
        )

    def has_change_permission(self, request, obj=None):
        if self._beyond_reach(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if self._beyond_reach(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        versions = Disclosure.history.filter(history_user__in=objs)
        protected = [*protected, *(str(v) for v in versions[:100])]
        return deleted, counts, perms_needed, protected


admin.site.unregister(User)
admin.site.register(User, RoleUserAdmin)
