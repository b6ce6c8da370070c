"""The admin site: Django's, with its autocomplete refusing what it cannot serve
and every list's year lookups checked (`dates.DateLookupsInRange`, mixed into
each ModelAdmin registered, third parties' included).

Installed as the default site through `PortalAdminConfig` (INSTALLED_APPS), the
way Django documents for overriding the default admin site.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import options, widgets
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import ForeignObjectRel
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import gettext as _

from .dates import DateLookupsInRange


class AutocompleteView(AutocompleteJsonView):
    def process_request(self, request):
        term, model_admin, source_field, to_field_name = super().process_request(
            request
        )
        # A reverse relation named as the source field has no limit_choices_to:
        # Django would fail with a 500 where any other bad field gets a 403.
        if isinstance(source_field, ForeignObjectRel):
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name


class PortalAdminSite(admin.AdminSite):
    # The portal's name, never "Django" (staff read it on every page).
    @property
    def site_header(self):
        site = settings.PORTAL_SITE_NAME or _("凤鸣镇公开网")
        return _("%(site)s后台") % {"site": site}

    site_title = site_header

    @property
    def index_title(self):
        return _("后台首页")

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, DateLookupsInRange):
            admin_class = type(
                admin_class.__name__, (DateLookupsInRange, admin_class), {}
            )
        super().register(model_or_iterable, admin_class, **options)

    def autocomplete_view(self, request):
        return AutocompleteView.as_view(admin_site=self)(request)


class LabelledSplitDateTime(widgets.AdminSplitDateTime):
    """The date and time inputs labelled 日期 and 时间 (Django writes these as
    plain text beside them, so the inputs had no accessible name)."""

    template_name = "core/widgets/labelled_split_datetime.html"


class LabelledTabularInline(admin.TabularInline):
    """Django's tabular inline with each input named after its column: the
    column's header is no <label>, so a screen reader met unnamed inputs."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class LabelledFormSet(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)  # the 删除 box comes from here
                for field in form.fields.values():
                    if field.label and not field.widget.is_hidden:
                        field.widget.attrs.setdefault("aria-label", str(field.label))

        LabelledFormSet.__name__ = formset.__name__
        return LabelledFormSet


def boolean_icon(value):
    """Django's yes/no icon with its text in Chinese: Django gives it the alt
    text "True" or "False", which a screen reader reads out in English."""
    icon = {True: "yes", False: "no", None: "unknown"}[value]
    text = {True: _("是"), False: _("否"), None: _("未知")}[value]
    return format_html(
        '<img src="{}" alt="{}">', static(f"admin/img/icon-{icon}.svg"), text
    )


class PortalAdminConfig(AdminConfig):
    default_site = "core.admin_site.PortalAdminSite"

    def ready(self):
        # Before the admin modules load: each ModelAdmin copies the defaults.
        options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.DateTimeField] = {
            **options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.DateTimeField],
            "widget": LabelledSplitDateTime,
        }
        super().ready()
        # The list, the read-only fields and display_for_field import it from
        # admin_list each time they draw an icon.
        admin_list._boolean_icon = boolean_icon
