from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Disclosure, NoticeBoard, Unit


class NoticeBoardInline(admin.TabularInline):
    model = NoticeBoard
    extra = 0


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "parent", "is_liaison_point", "order"]
    list_filter = ["kind", "is_liaison_point"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    inlines = [NoticeBoardInline]


@admin.register(Disclosure)
class DisclosureAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "unit",
        "item",
        "period",
        "scope",
        "status",
        "published_at",
    ]
    list_filter = ["status", "scope", "item__category__catalog", "unit"]
    list_select_related = ["unit", "item"]
    search_fields = ["title", "body"]
    autocomplete_fields = ["unit"]
    raw_id_fields = ["item"]
    filter_horizontal = ["forms"]
    date_hierarchy = "published_at"
    readonly_fields = ["created_by", "created_at", "updated_at", "withdrawn_at"]
    fieldsets = [
        (None, {"fields": ["unit", "item", "title", "body", "period", "event_date"]}),
        (_("公开方式"), {"fields": ["scope", "forms"]}),
        (_("发布"), {"fields": ["status", "published_at", "display_until"]}),
        (_("撤回"), {"fields": ["withdrawal_reason", "withdrawn_at"]}),
        (_("记录"), {"fields": ["created_by", "created_at", "updated_at"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        # Published records are withdrawn, never deleted (统一公开资料档案).
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
