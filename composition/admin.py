"""The yearly report's free text in the admin: the town administrator writes
it; its figures are computed on the report page and cannot be typed in."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.security import refuse_markup

from .models import AnnualReport


@admin.register(AnnualReport)
class AnnualReportAdmin(admin.ModelAdmin):
    list_display = ("town", "year", "updated_at", "page")
    list_filter = ("year",)
    fields = ("town", "year", "overview", "problems", "plans")
    search_fields = ("town__name",)

    def get_readonly_fields(self, request, obj=None):
        # The town and year of a written report stay; only its words change.
        return ("town", "year") if obj else ()

    @admin.display(description=_("报告页面"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("查看"))

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        for name in ("overview", "problems", "plans"):
            if name in form.base_fields:
                field = form.base_fields[name]
                if refuse_markup not in field.validators:
                    field.validators.append(refuse_markup)
        return form
