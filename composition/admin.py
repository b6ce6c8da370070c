"""The yearly report's free text in the admin: the town administrator writes
it; its figures are computed on the report page and cannot be typed in."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.security import refuse_markup

from .models import AnnualReport, DisclosureGuide, GovernmentReport


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


@admin.register(GovernmentReport)
class GovernmentReportAdmin(admin.ModelAdmin):
    """The 政府信息公开 report's words, the figures the portal has no record
    of, and its publication; the counted figures are on the page only."""

    list_display = ("town", "year", "published_at", "on_time_display", "page")
    list_filter = ("year",)
    search_fields = ("town__name",)
    fieldsets = (
        (None, {"fields": ("town", "year")}),
        (_("文字部分"), {"fields": ("overview", "problems", "other_matters")}),
        (
            _("填报数字（本门户无相应记录的）"),
            {
                "fields": (
                    "rules_issued",
                    "rules_repealed",
                    "rules_in_force",
                    "normative_repealed",
                    "normative_in_force",
                    "coercion_decisions",
                    "fees_amount",
                ),
                "description": _(
                    "行政规范性文件制发件数、行政许可和行政处罚决定数由本门户的政务公开"
                    "记录统计，不在此填写。未填的数字在报告中显示为“未填报”。"
                ),
            },
        ),
        (_("发布"), {"fields": ("published_at",)}),
    )

    def get_readonly_fields(self, request, obj=None):
        return ("town", "year") if obj else ()

    @admin.display(description=_("按时发布"), boolean=True)
    def on_time_display(self, obj):
        return obj.on_time

    @admin.display(description=_("报告页面"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("查看"))

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        for name in ("overview", "problems", "other_matters"):
            if name in form.base_fields:
                field = form.base_fields[name]
                if refuse_markup not in field.validators:
                    field.validators.append(refuse_markup)
        return form


@admin.register(DisclosureGuide)
class DisclosureGuideAdmin(admin.ModelAdmin):
    list_display = ("town", "office", "phone", "supervision_phone", "updated_at")
    fields = (
        "town",
        "leading_group",
        "office",
        "address",
        "office_hours",
        "phone",
        "supervision_phone",
        "postcode",
    )

    def get_readonly_fields(self, request, obj=None):
        return ("town",) if obj else ()
