"""The admin of the 督查 records: the inspector (督查员) writes them and the
photos of its checks; the town's administrators and reviewers and the units'
editors read them, and the town records a 整改's completion
(roles.units_inspected decides whose rows one sees; inspection_rules who may
change which field, read here for the permissions and read-only fields and
checked again on every save)."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_site import LabelledTabularInline

from . import inspection_rules as rules
from . import inspections, roles
from .forms import InspectionPhotoForm
from .models import Inspection, InspectionPhoto, Rectification


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


class InspectionPhotoInline(LabelledTabularInline):
    model = InspectionPhoto
    form = InspectionPhotoForm
    fields = ["image", "caption", "preview"]
    readonly_fields = ["preview", "uploaded_at"]

    def _may_change(self, request, obj) -> bool:
        return rules.may_change_photos(request.user, obj)

    def get_fields(self, request, obj=None):
        if self._may_change(request, obj):
            return ["image", "caption", "preview"]
        # Read-only: the preview through the checked view, never the file's path.
        return ["preview", "caption", "uploaded_at"]

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if self._may_change(request, obj) else 0

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._may_change(
            request, obj
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_change(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_change(
            request, obj
        )

    @admin.display(description=_("预览"))
    def preview(self, photo):
        if photo.pk and photo.thumbnail:
            return format_html(
                '<a href="{}"><img src="{}" alt="{}" height="60"></a>',
                photo.get_absolute_url(),
                photo.thumbnail_url,
                photo.caption or _("督查照片"),
            )
        return "—"


class DeletedOnlyByRule:
    """Deleting a check or a notice, one or in bulk: inspection_rules.may_delete."""

    def delete_model(self, request, obj):
        if not rules.may_delete(request.user):
            raise rules.refused()
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        if not rules.may_delete(request.user):
            raise rules.refused()
        super().delete_queryset(request, queryset)


@admin.register(Inspection)
class InspectionAdmin(InspectedUnits, DeletedOnlyByRule, admin.ModelAdmin):
    inlines = [InspectionPhotoInline]
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

    # Who may change what: inspection_rules (a check is its inspector's).
    def has_add_permission(self, request):
        return super().has_add_permission(request) and rules.may_issue(request.user)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return rules.may_issue(request.user)
        return bool(rules.inspection_fields(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and rules.may_delete(
            request.user
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.inspector = request.user
            # Timeliness and feedback left blank: computed from the data.
            inspections.prefill(obj)
        rules.check_inspection(request.user, obj)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is InspectionPhoto and formset.has_changed():
            rules.check_photos(request.user, form.instance)
        super().save_formset(request, form, formset, change)


@admin.register(Rectification)
class RectificationAdmin(InspectedUnits, DeletedOnlyByRule, admin.ModelAdmin):
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
            checks = Inspection.objects.filter(
                unit__in=roles.units_inspected(request.user)
            )
            if not request.user.is_superuser:
                # A notice is issued on one's own check.
                checks = checks.filter(inspector=request.user)
            kwargs["queryset"] = checks.select_related("unit")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Who may change what: inspection_rules (the town and the unit's editors
    # record the completion only).
    def has_add_permission(self, request):
        return super().has_add_permission(request) and rules.may_issue(request.user)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or bool(rules.rectification_fields(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and rules.may_delete(
            request.user
        )

    def get_readonly_fields(self, request, obj=None):
        allowed = rules.rectification_fields(request.user, obj)
        return [f for f in self.fields if f not in allowed]

    def save_model(self, request, obj, form, change):
        rules.check_rectification(request.user, obj)
        super().save_model(request, obj, form, change)
