"""The admin of the 督查 records: the inspector (督查员) writes them; the
town's administrators and reviewers read them, and the town records a
整改's completion (roles.units_inspected decides whose rows one sees)."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from . import inspections, roles
from .models import Inspection, Rectification


class InspectedUnits:
    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(unit__in=roles.units_inspected(request.user))
            .select_related("unit")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = (
                roles.units_inspected(request.user)
                .with_boards()
                .order_by("order", "id")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Inspection)
class InspectionAdmin(InspectedUnits, admin.ModelAdmin):
    list_display = ["unit", "inspected_on", "total_display", "open_count"]
    list_filter = ["inspected_on"]
    search_fields = ["unit__name", "findings"]
    date_hierarchy = "inspected_on"
    readonly_fields = ["inspector", "total_display"]
    fields = [
        "unit",
        "inspected_on",
        "inspector",
        "findings",
        "score_complete",
        "score_form",
        "score_procedure",
        "score_timeliness",
        "score_feedback",
        "total_display",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("inspector")
            # Ordered explicitly: with the count's GROUP BY, Meta.ordering is
            # not applied, and the autocomplete paginates.
            .order_by("-inspected_on", "-id")
            .annotate(
                n_open=Count(
                    "rectifications",
                    filter=Q(rectifications__completed_on__isnull=True),
                )
            )
        )

    @admin.display(description=_("加权得分"))
    def total_display(self, obj):
        total = obj.total if obj and obj.pk else None
        return "—" if total is None else total

    @admin.display(description=_("未完成整改"), ordering="n_open")
    def open_count(self, obj):
        return obj.n_open

    def save_model(self, request, obj, form, change):
        if not change:
            obj.inspector = request.user
            # Timeliness and feedback left blank: computed from the data.
            inspections.prefill(obj)
        super().save_model(request, obj, form, change)


@admin.register(Rectification)
class RectificationAdmin(InspectedUnits, admin.ModelAdmin):
    list_display = ["unit", "deadline", "completed_on", "overdue"]
    list_filter = ["completed_on", "deadline"]
    search_fields = ["unit__name", "issue"]
    fields = [
        "inspection",
        "unit",
        "issue",
        "deadline",
        "completed_on",
        "completion_note",
    ]

    @admin.display(description=_("逾期未整改"), boolean=True)
    def overdue(self, obj):
        return obj.is_overdue()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "inspection":
            kwargs["queryset"] = Inspection.objects.filter(
                unit__in=roles.units_inspected(request.user)
            ).select_related("unit")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
