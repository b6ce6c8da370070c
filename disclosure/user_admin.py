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

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.security import refuse_control_characters

from . import roles
from .models import Disclosure, Organisation, PartyMembership, Unit

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


class StaffCreationForm(UserCreationForm):
    """A staff member in one step: account, role, the units they edit and
    the bodies they act for, and a password or an invitation to set one.
    `creator` is the town administrator (or superuser) adding them."""

    creator = None

    first_name = forms.CharField(
        label=_("姓名"),
        max_length=150,
        required=False,
        validators=[refuse_control_characters],
    )
    email = forms.EmailField(
        label=_("电子邮件"),
        required=False,
        help_text=_("发送邀请时必填；督办通知也发到这里。"),
        error_messages={"invalid": _("请填写有效的电子邮件地址。")},
    )
    role = forms.ChoiceField(
        label=_("角色"),
        error_messages={
            "required": _("请选择角色。"),
            "invalid_choice": _("请从列表中选择角色。"),
        },
        help_text=_(
            "村务管理员为所选单位起草、提交公开内容；审核人、村级审批人、"
            "村务监督委员在所选组织中审核、审批。"
        ),
    )
    units = forms.ModelMultipleChoiceField(
        label=_("负责的单位"),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("村务管理员必选：可为这些单位起草、提交公开内容。"),
        error_messages={"invalid_choice": _("所选单位不在您管理的范围内。")},
    )
    bodies = forms.ModelMultipleChoiceField(
        label=_("代表的组织"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "审核人选镇的组织，村级审批人选村党支部、村民委员会或村两委，"
            "村务监督委员选村务监督委员会。"
        ),
        error_messages={"invalid_choice": _("所选组织不存在。")},
    )
    invite = forms.BooleanField(
        label=_("发送邀请，由本人设置密码"),
        required=False,
        help_text=_("勾选则不必填写密码：系统向其电子邮件发送设置密码的链接。"),
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "first_name", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = _("请填写用户名。")
        offered = roles.STAFF_ROLES
        if self.creator is not None and self.creator.is_superuser:
            offered = (roles.TOWN_ADMIN, *offered)
        existing = set(
            Group.objects.filter(name__in=offered).values_list("name", flat=True)
        )
        self.fields["role"].choices = [
            ("", _("选择角色")),
            *((name, name) for name in offered if name in existing),
        ]
        units = roles.units_for(self.creator) if self.creator else Unit.objects.none()
        self.fields["units"].queryset = units.with_boards()
        self.fields["bodies"].queryset = (
            Organisation.objects.filter(unit__in=units)
            .select_related("unit")
            .order_by("unit__order", "unit_id", "order", "id")
        )
        # A password only when no invitation is sent (checked in clean()).
        for name in ("password1", "password2"):
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        role = data.get("role")
        units = data.get("units") or []
        bodies = data.get("bodies") or []
        if role in roles.NEEDS_UNITS and not units:
            self.add_error("units", _("村务管理员须至少选择一个负责的单位。"))
        if role and role not in roles.NEEDS_UNITS and units:
            self.add_error(
                "units", _("只有村务管理员负责单位；其他角色请选择代表的组织。")
            )
        if role in roles.NEEDS_BODIES and not bodies:
            self.add_error(
                "bodies", _("%(role)s须至少选择一个代表的组织。") % {"role": role}
            )
        if role:
            fitting = set(roles.bodies_for_role(role).values_list("pk", flat=True))
            misfits = [body for body in bodies if body.pk not in fitting]
            if misfits:
                self.add_error(
                    "bodies",
                    _("%(role)s不能代表：%(bodies)s。")
                    % {
                        "role": role,
                        "bodies": "、".join(body.full_name for body in misfits),
                    },
                )
        if data.get("invite"):
            if not data.get("email"):
                self.add_error("email", _("发送邀请须填写电子邮件。"))
        elif not data.get("password1") and "password1" not in self.errors:
            self.add_error("password1", _("请设置密码，或勾选“发送邀请”。"))
        elif not data.get("password2") and "password2" not in self.errors:
            self.add_error("password2", _("请再次输入密码。"))
        return data

    def save(self, commit=True):
        user = super().save(commit=False)
        user.is_staff = True
        if self.cleaned_data.get("invite"):
            user.set_unusable_password()
        if commit:
            user.save()
            self.save_m2m()
        return user


def send_invitation(request, user) -> None:
    """The link of Django's password reset confirmation (accounts/reset/…),
    valid as long as PASSWORD_RESET_TIMEOUT and until the password is set."""
    link = request.build_absolute_uri(
        reverse(
            "password_reset_confirm",
            args=[
                urlsafe_base64_encode(force_bytes(user.pk)),
                default_token_generator.make_token(user),
            ],
        )
    )
    send_mail(
        gettext("%(site)s：请设置您的密码") % {"site": admin.site.site_header},
        gettext(
            "您好，镇管理员为您开设了后台账号（用户名：%(username)s）。"
            "请打开以下链接设置密码：\n\n%(link)s\n\n"
            "链接三天内有效，设置后即失效。"
        )
        % {"username": user.get_username(), "link": link},
        None,
        [user.email],
    )


class RoleUserAdmin(UserAdmin):
    # Adding a staff member is one form: account, role, units, bodies.
    add_form = StaffCreationForm
    add_fieldsets = [
        (None, {"fields": ["username", "first_name", "email"]}),
        (_("角色和单位"), {"fields": ["role", "units", "bodies"]}),
        (_("密码"), {"fields": ["invite", "password1", "password2"]}),
    ]

    def has_add_permission(self, request):
        # The town administrator's alone (the role's auth.add_user aside).
        return roles.is_town_admin(request.user) and super().has_add_permission(request)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            form = type(form.__name__, (form,), {"creator": request.user})
        return form

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change or not isinstance(form, StaffCreationForm):
            return
        if not roles.is_town_admin(request.user):
            raise PermissionDenied
        data = form.cleaned_data
        roles.appoint(
            form.instance, role=data["role"], units=data["units"], bodies=data["bodies"]
        )
        if data.get("invite"):
            send_invitation(request, form.instance)
            self.message_user(
                request,
                _("已向 %(email)s 发送设置密码的邀请。")
                % {"email": form.instance.email},
            )

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
