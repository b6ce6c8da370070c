"""Admin classes of libraries, adjusted where they fail in this project."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from django.utils.translation import gettext_lazy


class AccessAttemptsAdmin(AccessAttemptAdmin):
    ordering = ["-attempt_time"]  # the model has none; a paginated list needs one

    @admin.action(
        description=AccessAttemptAdmin.cleanup_expired_attempts.short_description
    )
    def cleanup_expired_attempts(self, request, queryset):
        # django-axes takes "now" from the log-in attempt it expects the request
        # to be; an admin request is none, and the action failed with a 500.
        request.axes_attempt_time = timezone.now()
        return super().cleanup_expired_attempts(request, queryset)


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptsAdmin)


# Django names its permissions in English ("Can add 用户"), in the database;
# the role editor shows them in Chinese, from the codename and the model.
PERMISSION_ACTIONS = {
    "add": gettext_lazy("可增加"),
    "change": gettext_lazy("可修改"),
    "delete": gettext_lazy("可删除"),
    "view": gettext_lazy("可查看"),
}


def permission_label(permission: Permission) -> str:
    action = permission.codename.partition("_")[0]
    model = permission.content_type.model_class()
    name = permission.name
    if name.startswith("Can ") and action in PERMISSION_ACTIONS and model:
        name = f"{PERMISSION_ACTIONS[action]}{model._meta.verbose_name}"
    return f"{permission.content_type} | {name}"


class RoleGroupAdmin(GroupAdmin):
    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "permissions":
            field.label_from_instance = permission_label
        return field

    def get_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return ["name", "permission_names"]
        return super().get_fields(request, obj)

    @admin.display(description=gettext_lazy("权限"))
    def permission_names(self, group):
        permissions = group.permissions.select_related("content_type")
        return "；".join(permission_label(p) for p in permissions) or "—"


admin.site.unregister(Group)
admin.site.register(Group, RoleGroupAdmin)
