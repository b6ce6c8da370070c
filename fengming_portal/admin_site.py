"""The admin site: Django's, with its autocomplete refusing what it cannot serve.

Installed as the default site through `PortalAdminConfig` (INSTALLED_APPS), the
way Django documents for overriding the default admin site.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.db.models import ForeignObjectRel


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
    def autocomplete_view(self, request):
        return AutocompleteView.as_view(admin_site=self)(request)


class PortalAdminConfig(AdminConfig):
    default_site = "fengming_portal.admin_site.PortalAdminSite"
