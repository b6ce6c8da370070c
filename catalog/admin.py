from django.contrib import admin

from .models import (
    Catalog,
    Category,
    Department,
    DisclosureForm,
    Item,
    ProcedureRule,
    ScheduleRule,
)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "order"]
    list_editable = ["order"]
    search_fields = ["name"]


@admin.register(DisclosureForm)
class DisclosureFormAdmin(admin.ModelAdmin):
    list_display = ["name", "order"]
    list_editable = ["order"]
    search_fields = ["name"]


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 0


class ScheduleRuleInline(admin.StackedInline):
    model = ScheduleRule
    can_delete = False


class ProcedureRuleInline(admin.TabularInline):
    """Which body drafts, reviews, approves and publishes, at each level."""

    model = ProcedureRule
    extra = 0
    max_num = len(ProcedureRule.Level)


@admin.register(Catalog)
class CatalogAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "document", "adopted_on"]
    inlines = [ScheduleRuleInline, ProcedureRuleInline, CategoryInline]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "catalog", "order"]
    list_filter = ["catalog"]
    list_select_related = ["catalog"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "category",
        "frequency",
        "timing",
        "nil_allowed",
        "scope",
        "department",
    ]
    list_filter = [
        "category__catalog",
        "category",
        "frequency",
        "timing",
        "nil_allowed",
        "scope",
        "department",
    ]
    list_select_related = ["category__catalog", "department"]
    search_fields = ["code", "name"]
    filter_horizontal = ["forms"]
