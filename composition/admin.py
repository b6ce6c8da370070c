"""The yearly report's free text in the admin: the town administrator writes
it; its figures are computed on the report page and cannot be typed in."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.security import refuse_control_characters, refuse_markup
from disclosure import roles

from . import gov_report
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


class GovernmentReportForm(forms.ModelForm):
    correction = forms.CharField(
        label=_("更正说明"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[refuse_markup, refuse_control_characters],
        help_text=_(
            "报告已发布：任何修改都作为更正保存，更正日期和说明在报告页面上公布，"
            "统计数字按当前记录重新统计。不修改则留空。"
        ),
    )

    class Meta:
        model = GovernmentReport
        fields = [
            "town",
            "year",
            "overview",
            "problems",
            "other_matters",
            *gov_report.ENTERED,
            "published_at",
        ]

    def clean(self):
        data = super().clean()
        # self.instance is still the stored report here (it takes the form's
        # values after clean).
        if (
            gov_report.correction_needed(self.instance)
            and self.has_changed()
            and not (data.get("correction") or "").strip()
        ):
            self.add_error(
                "correction", _("报告已发布，修改须作为更正，请填写更正说明。")
            )
        return data


class TownScoped:
    """A town's report and guide are for the staff who work on that town
    (roles.units_for): the list, the town choices and the object pages."""

    town_field = "town"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(town__in=roles.units_for(request.user).towns())
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "town":
            kwargs["queryset"] = roles.units_for(request.user).towns()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(_("没有找到该记录，或不属于您负责的镇。"))
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(_("没有找到该记录，或不属于您负责的镇。"))
        return super().history_view(request, object_id, extra_context)


@admin.register(GovernmentReport)
class GovernmentReportAdmin(TownScoped, admin.ModelAdmin):
    """The 政府信息公开 report's words, the figures the portal has no record
    of, and its publication; the counted figures are on the page only, frozen
    when it is published. After publication a change is a 更正
    (gov_report.save)."""

    form = GovernmentReportForm
    list_display = ("town", "year", "published_at", "on_time_display", "page")
    list_filter = ("year",)
    search_fields = ("town__name",)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
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
                        "记录统计，不在此填写，发布时固定。未填的数字在报告中显示为“未填报”。"
                    ),
                },
            ),
        ]
        if gov_report.correction_needed(obj):
            fieldsets.append(
                (
                    _("发布与更正"),
                    {"fields": ("published_at", "correction_list", "correction")},
                )
            )
        else:
            fieldsets.append((_("发布"), {"fields": ("published_at",)}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if gov_report.correction_needed(obj):
            # Published: the date stays; a change is a 更正 (its note below).
            return ("town", "year", "published_at", "correction_list")
        return ("town", "year") if obj else ()

    @admin.display(description=_("已有更正"))
    def correction_list(self, obj):
        rows = gov_report.corrections(obj)
        if not rows:
            return _("无")
        return format_html_join(
            "", "<p>{}：{}</p>", ((on.isoformat(), note) for on, note in rows)
        )

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

    def has_delete_permission(self, request, obj=None):
        # A report once published (or scheduled) is archived with its year,
        # even for a superuser; the bulk action asks this per report too.
        if obj is not None and obj.published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The publication rule (freeze, 更正) is gov_report.save's; the form
        # has checked the note already. A published report saved unchanged
        # stays as it is.
        if change and not form.has_changed():
            return
        gov_report.save(obj, correction=form.cleaned_data.get("correction", ""))


@admin.register(DisclosureGuide)
class DisclosureGuideAdmin(TownScoped, admin.ModelAdmin):
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
