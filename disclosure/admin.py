import json
import tempfile

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog.models import EVENT_TIMINGS, Item
from core.admin_site import LabelledTabularInline
from core.history_admin import ReadOnlyHistoryAdmin
from core.widgets import ListedModelChoiceField, QuickSelect, grouped

from . import (  # noqa: F401 (registers User)
    archives,
    inspection_admin,
    roles,
    services,
    table_admin,
    user_admin,
    worklist,
)
from .forms import (
    AttachmentForm,
    DisclosureAdminForm,
    OutcomeForm,
    RestoredTextForm,
    TransitionForm,
    stored_file_text,
)
from .models import (
    ArchiveExport,
    Attachment,
    ClosedYear,
    Disclosure,
    DisclosureEvent,
    DisclosureTable,
    NoticeBoard,
    ObligationEvent,
    Organisation,
    PendingDisclosure,
    Unit,
)

IN_PROGRESS = [
    Disclosure.Status.DRAFT,
    Disclosure.Status.SUBMITTED,
    Disclosure.Status.REVIEWED,
    Disclosure.Status.APPROVED,
]
TRANSITION_LABELS = {
    "submit": _("提交审核（提出）"),
    "review": _("审核（含保密审查）"),
    "approve": _("审批"),
    "return": _("退回修改"),
    "publish": _("发布"),
    "withdraw": _("撤回"),
}
TRANSITION_CALLS = {
    "submit": lambda d, by, data: services.submit(d, by=by),
    "review": lambda d, by, data: services.review(
        d,
        by=by,
        secrecy_checked=data.get("secrecy_checked", False),
        secrecy_conclusion=data.get("secrecy_conclusion", ""),
        comment=data.get("comment", ""),
    ),
    "approve": lambda d, by, data: services.approve(
        d, by=by, comment=data.get("comment", ""), publish_at=data.get("publish_at")
    ),
    "return": lambda d, by, data: services.return_for_changes(
        d, by=by, comment=data["comment"]
    ),
    "publish": lambda d, by, data: services.publish(d, by=by),
    "withdraw": lambda d, by, data: services.withdraw(d, by=by, reason=data["comment"]),
}


class NoticeBoardInline(LabelledTabularInline):
    model = NoticeBoard
    extra = 0


def _count(status):
    return Count("disclosures", filter=Q(disclosures__status=status))


class OrganisationForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        # Who acts for a body holds a role that fits it (roles.ROLE_BODIES).
        if not (self.instance.unit_id and data.get("kind")):
            return data
        body = Organisation(unit=self.instance.unit, kind=data["kind"])
        fitting = roles.roles_for_body(body)
        misfits = [
            user.get_username()
            for user in data.get("members") or []
            if not any(roles.in_group(user, role) for role in fitting)
        ]
        if misfits:
            self.add_error(
                "members",
                _("%(users)s的角色不能代表该组织（可选角色：%(roles)s）。")
                % {"users": "、".join(misfits), "roles": "、".join(fitting) or "—"},
            )
        return data


class OrganisationInline(LabelledTabularInline):
    """The unit's bodies and who acts for each (审核, 审批 by membership)."""

    model = Organisation
    form = OrganisationForm
    extra = 0
    fields = ["kind", "name", "members", "order"]

    def get_formset(self, request, obj=None, **kwargs):
        self._unit = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Offered: the staff whose role may act for a body of this unit (a
        # village's cadres, the town's reviewers), never a party member.
        if db_field.name == "members":
            unit = getattr(self, "_unit", None)
            fitting = roles.roles_for_unit_bodies(unit) if unit else []
            kwargs["queryset"] = roles.staff_in(*fitting)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    """Also the editors' per-unit overview: what is in each state."""

    list_display = [
        "name",
        "kind",
        "is_liaison_point",
        "drafts",
        "pending",
        "reviewed",
        "approved",
        "published",
        "slug",
    ]
    list_filter = ["kind", "is_liaison_point"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["editors"]
    inlines = [OrganisationInline, NoticeBoardInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # 联系领导 and 包村干部 are the town's staff (镇管理员, 审核人): a
        # select of those, not a pop-up of every account.
        if db_field.name in ("contact_leader", "village_cadre"):
            kwargs["queryset"] = roles.town_staff()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # A unit's 村务管理员 are staff holding that role, not every account
        # (party members, reviewers): give the role first (用户 → 用户组).
        if db_field.name == "editors":
            kwargs["queryset"] = roles.staff_in(roles.UNIT_EDITOR)
            kwargs["help_text"] = _(
                "只列出具有“村务管理员”角色的工作人员；先在“用户”中为其设置该角色。"
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_queryset(self, request):
        Status = Disclosure.Status
        # Ordered explicitly: with the counts' GROUP BY, Meta.ordering is not
        # applied, and a paginated list (the autocomplete) must be ordered.
        return (
            roles.units_for(request.user)
            .select_related("parent")
            .order_by("order", "id")
            .annotate(
                n_drafts=_count(Status.DRAFT),
                n_pending=_count(Status.SUBMITTED),
                n_reviewed=_count(Status.REVIEWED),
                n_approved=_count(Status.APPROVED),
                n_published=_count(Status.PUBLISHED),
            )
        )

    def _link(self, unit, status, n):
        url = reverse("admin:disclosure_disclosure_changelist")
        return format_html(
            '<a href="{}?unit={}&status={}">{}</a>', url, unit.pk, status, n
        )

    @admin.display(description=_("草稿"), ordering="n_drafts")
    def drafts(self, unit):
        return self._link(unit, Disclosure.Status.DRAFT, unit.n_drafts)

    @admin.display(description=_("待审核"), ordering="n_pending")
    def pending(self, unit):
        return self._link(unit, Disclosure.Status.SUBMITTED, unit.n_pending)

    @admin.display(description=_("待审批"), ordering="n_reviewed")
    def reviewed(self, unit):
        return self._link(unit, Disclosure.Status.REVIEWED, unit.n_reviewed)

    @admin.display(description=_("待发布"), ordering="n_approved")
    def approved(self, unit):
        return self._link(unit, Disclosure.Status.APPROVED, unit.n_approved)

    @admin.display(description=_("已发布"), ordering="n_published")
    def published(self, unit):
        return self._link(unit, Disclosure.Status.PUBLISHED, unit.n_published)


class UnitScopedFilter(admin.SimpleListFilter):
    """The unit filter offers only the units the staff member works on."""

    title = _("单位")
    parameter_name = "unit"

    def lookups(self, request, model_admin):
        return [(u.pk, u.name) for u in roles.units_for(request.user)]

    def queryset(self, request, queryset):
        value = str(self.value() or "")
        if not value:
            return queryset
        if not value.isdecimal() or len(value) > 18:
            # Django's changelist runs list filters outside its own check.
            raise IncorrectLookupParameters(_("单位参数不正确。"))
        return queryset.filter(unit_id=value)


class WorkFilter(admin.SimpleListFilter):
    """我的待办: what the start page counts (disclosure/worklist.py)."""

    title = _("我的待办")
    parameter_name = "todo"

    def lookups(self, request, model_admin):
        return worklist.CHOICES

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if self.value() not in dict(worklist.CHOICES):
            raise IncorrectLookupParameters(_("待办参数不正确。"))
        return worklist.filtered(request.user, queryset, self.value())


class AttachmentInline(LabelledTabularInline):
    model = Attachment
    form = AttachmentForm
    extra = 1
    fields = ["kind", "title", "file", "preview"]
    readonly_fields = ["preview", "stored_file"]

    def get_fields(self, request, obj=None):
        if obj is not None and not services.can_edit_content(obj, request.user):
            # Read-only for this person (the record's page is): the file named
            # by its type, not its storage path.
            return ["kind", "title", "stored_file", "preview"]
        return super().get_fields(request, obj)

    @admin.display(description=_("文件"))
    def stored_file(self, attachment):
        if not attachment.file:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            attachment.file.url,
            stored_file_text(attachment.file),
        )

    # What was published stays as it was: once a disclosure is published (or
    # withdrawn) its files are neither changed nor removed; one added then is
    # a public correction (DisclosureAdmin.save_related). A draft's files are
    # for whoever may edit it to replace.
    @staticmethod
    def _published(disclosure) -> bool:
        return disclosure is not None and disclosure.status in (
            Disclosure.Status.PUBLISHED,
            Disclosure.Status.WITHDRAWN,
        )

    def has_change_permission(self, request, obj=None):
        return not self._published(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request, obj)
        return not self._published(obj) and services.can_edit_content(obj, request.user)

    @admin.display(description=_("预览"))
    def preview(self, attachment):
        if attachment.pk and attachment.thumbnail:
            return format_html(
                '<img src="{}" alt="" height="60">', attachment.thumbnail_url
            )
        return "—"


class EventInline(LabelledTabularInline):
    model = DisclosureEvent
    extra = 0
    can_delete = False
    fields = [
        "at",
        "action",
        "from_status",
        "to_status",
        "actor",
        "acting_body",
        "comment",
        "secrecy_reviewed",
        "secrecy_conclusion",
        "migrated",
    ]
    readonly_fields = fields
    verbose_name_plural = _("办理记录（提出、审核、审批、发布）")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def items_for_levels(levels: set[str]):
    """The items that apply to any of these unit levels ("town", "village")."""
    items = Item.objects.all()
    if levels == {"town"}:
        return items.filter(for_town=True)
    if levels == {"village"}:
        return items.filter(for_village=True)
    return items if levels else items.none()


def item_options(items=None) -> list:
    """The catalog's items grouped by catalog and column, for the item select."""
    rows = (
        (Item.objects.all() if items is None else items)
        .select_related("category__catalog")
        .order_by("category__catalog__order", "category__order", "code")
        .values_list(
            "category__catalog__name",
            "category__code",
            "category__name",
            "pk",
            "code",
            "name",
        )
    )
    return grouped(
        (f"{catalog} · {code} {category}", pk, f"{item_code} {name}")
        for catalog, code, category, pk, item_code, name in rows
    )


class ItemSelect(QuickSelect):
    """The item select, carrying for static/js/disclosure_entry.js what each
    item applies to and the period it is most likely entered for, and the
    level of each unit offered: the script narrows the items to the chosen
    unit and the periods to the chosen item. Read when rendered."""

    def __init__(self, *args, facts, **kwargs):
        self.facts = facts
        super().__init__(*args, **kwargs)

    def render(self, name, value, attrs=None, renderer=None):
        units, items = self.facts()
        attrs = {
            **(attrs or {}),
            "data-unit-levels": json.dumps(units),
            "data-items": json.dumps(items),
        }
        return super().render(name, value, attrs, renderer)


def entry_facts(user, items) -> tuple[dict, dict]:
    """({unit pk: level}, {item pk: [levels "t"/"v", current period key]})."""
    today = timezone.localdate()
    units = {
        str(pk): ("town" if kind == Unit.Kind.TOWN else "village")
        for pk, kind in roles.units_for(user).with_boards().values_list("pk", "kind")
    }
    facts = {}
    for item in items.only("pk", "for_town", "for_village", "frequency", "timing"):
        current = item.current_period(today)
        levels = ("t" if item.for_town else "") + ("v" if item.for_village else "")
        facts[str(item.pk)] = [levels, current.key if current else ""]
    return units, facts


@admin.register(Disclosure)
class DisclosureAdmin(ReadOnlyHistoryAdmin):
    form = DisclosureAdminForm
    # Sized for 1366 and 360 px (static/css/admin_lists.css): 公开范围 and
    # 索引号 are a filter and a search, not columns.
    list_display = [
        "title",
        "unit",
        "item_code",
        "period",
        "status_label",
        "published_on",
    ]
    list_filter = [
        UnitScopedFilter,
        WorkFilter,
        "status",
        "scope",
        "item__category__catalog",
        ("item", admin.RelatedOnlyFieldListFilter),
        "period",
    ]
    list_select_related = ["unit", "item"]
    search_fields = ["title", "body", "index_number"]
    filter_horizontal = ["forms"]
    date_hierarchy = "published_at"
    history_list_display = ["history_status"]
    restore_label = _("恢复此版本的标题和正文")
    restore_help = _(
        "只恢复标题和正文；状态、公开范围、事项、单位、索引号和日期不随版本改变。"
        "已发布的内容恢复后记为一次更正，在公开页面上注明。"
    )
    inlines = [AttachmentInline, table_admin.DisclosureTableInline, EventInline]
    actions = ["submit_selected", "approve_selected", "publish_selected"]
    change_form_template = "admin/disclosure/disclosure/change_form.html"
    workflow_fields = [
        "status",
        "published_at",
        "index_number",
        "submitted_by",
        "reviewed_by",
        "withdrawal_reason",
        "withdrawn_at",
        "corrected_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["unit", "item", "title", "body", "period", "event_date"]}),
        (
            _("公开方式"),
            {
                "fields": [
                    "scope",
                    "branch",
                    "public_from",
                    "forms",
                    "display_until",
                    "is_nil_return",
                ]
            },
        ),
        (_("公示结果"), {"fields": ["notice_outcome", "notice_outcome_text"]}),
        (_("实体公开栏张贴"), {"fields": ["posted_on", "taken_down_on"]}),
        (_("流程（由审核、发布、撤回操作改变）"), {"fields": workflow_fields}),
    ]

    class Media:
        # One Media per class: a second definition (a merge) replaced this one.
        css = {"all": ["css/admin_lists.css"]}
        js = ["js/disclosure_entry.js"]

    @admin.display(description=_("事项"), ordering="item__code")
    def item_code(self, disclosure):
        return disclosure.item.code

    @admin.display(description=_("发布日期"), ordering="published_at")
    def published_on(self, disclosure):
        if disclosure.published_at is None:
            return None
        return timezone.localdate(disclosure.published_at)

    def get_list_display(self, request):
        # An editor of one village: every row is of that unit.
        if not roles.is_town_admin(request.user) and (
            Unit.objects.filter(editors=request.user).count() == 1
        ):
            return [f for f in self.list_display if f != "unit"]
        return self.list_display

    def get_ordering(self, request):
        # Work in progress first (草稿 to 待发布), then the newest.
        return [
            Case(
                When(status__in=IN_PROGRESS, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ).asc(),
            F("published_at").desc(nulls_first=True),
            "-id",
        ]

    @admin.display(description=_("状态"), ordering="status")
    def status_label(self, disclosure):
        if disclosure.is_scheduled:
            return _("定时发布：%(at)s") % {
                "at": timezone.localtime(disclosure.published_at).strftime(
                    "%Y-%m-%d %H:%M"
                )
            }
        return disclosure.get_status_display()

    @admin.display(description=_("状态"))
    def history_status(self, version):
        return version.get_status_display()

    # Scope: editors and village bodies see their units' disclosures only;
    # town reviewers those in their scope (roles.staff_disclosures).

    def get_queryset(self, request):
        return roles.staff_disclosures(request.user, super().get_queryset(request))

    def _in_scope(self, request, obj) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._in_scope(
            request, obj
        )

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        return self._in_scope(request, obj) and services.can_edit_content(
            obj, request.user
        )

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return roles.is_town_admin(request.user)
        return services.can_delete(obj, request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            # A county has no board: nothing is disclosed in its name.
            kwargs["queryset"] = roles.units_for(request.user).with_boards()
        if db_field.name == "item":
            # A list by catalog and column, "A09 为民办实事…", not a raw id to
            # type or look up in a pop-up; works without JavaScript too. Only
            # the items of the levels of the units the user writes for (a
            # village editor sees no town-only item); Disclosure.clean()
            # checks the chosen unit's level.
            levels = {
                "town" if kind == Unit.Kind.TOWN else "village"
                for kind in roles.units_for(request.user)
                .with_boards()
                .values_list("kind", flat=True)
                .distinct()
            }
            items = items_for_levels(levels)
            kwargs["queryset"] = items
            kwargs["form_class"] = ListedModelChoiceField
            kwargs["options"] = lambda: item_options(items)
            kwargs["widget"] = ItemSelect(
                facts=lambda: entry_facts(request.user, items)
            )
        if db_field.name == "branch":
            kwargs["queryset"] = (
                Organisation.objects.branches()
                .filter(unit__in=roles.units_for(request.user))
                .select_related("unit")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if "unit" not in initial:
            # An editor of one village writes for it: preselected.
            units = list(roles.units_for(request.user).with_boards()[:2])
            if len(units) == 1:
                initial["unit"] = units[0].pk
        return initial

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status in (
            Disclosure.Status.PUBLISHED,
            Disclosure.Status.WITHDRAWN,
        ):
            return [*Disclosure.PUBLISHED_UNDER, *self.workflow_fields]
        return self.workflow_fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("没有找到该公开内容，或不属于您负责的单位。"))
        extra_context = {
            **(extra_context or {}),
            "transitions": [
                (name, TRANSITION_LABELS[name])
                for name in services.allowed_transitions(obj, request.user)
            ],
            "may_record_outcome": services.can_record_outcome(obj, request.user),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is DisclosureTable:
            for table_form in formset.forms:
                if table_form.has_changed():
                    table_form.instance.uploaded_by = request.user
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            added = any(
                formset.new_objects
                for formset in formsets
                if formset.model is Attachment
            )
            # A table added or replaced (its caption too) after publication.
            tables = any(
                formset.new_objects or formset.changed_objects
                for formset in formsets
                if formset.model is DisclosureTable
            )
            changed = [
                *form.changed_data,
                *(["attachments"] if added else []),
                *(["tables"] if tables else []),
            ]
            services.record_edit(form.instance, by=request.user, changed=changed)

    # A version gives back its text only, as an edit (services.restore_version).

    def can_restore_version(self, request, obj):
        return self.has_change_permission(request, obj)

    def restore_version(self, request, obj, version):
        if not self.has_change_permission(request, obj):
            raise PermissionDenied(services.CANNOT_EDIT_MESSAGE)
        # The same checks of the text as the change form (markup and the like).
        check = RestoredTextForm(
            {name: getattr(version, name) for name in services.RESTORABLE_FIELDS},
            instance=obj,
        )
        if not check.is_valid():
            raise ValidationError(
                [message for errors in check.errors.values() for message in errors]
            )
        changed = services.restore_version(obj, version=version, by=request.user)
        if changed:
            self.message_user(request, _("已恢复该版本的标题和正文。"))
        else:
            self.message_user(request, _("该版本的标题和正文与当前相同，未作改动。"))
        return redirect(reverse("admin:disclosure_disclosure_change", args=[obj.pk]))

    # The workflow: one page per step, which calls disclosure/services.py.

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "table-template/",
                self.admin_site.admin_view(
                    lambda request: table_admin.template_view(self, request)
                ),
                name="{}_{}_table_template".format(*info),
            ),
            path(
                "import/",
                self.admin_site.admin_view(
                    lambda request: table_admin.import_view(self, request)
                ),
                name="{}_{}_import".format(*info),
            ),
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="{}_{}_transition".format(*info),
            ),
            path(
                "<path:object_id>/outcome/",
                self.admin_site.admin_view(self.outcome_view),
                name="{}_{}_outcome".format(*info),
            ),
            *super().get_urls(),
        ]

    def transition_view(self, request, object_id, name):
        if name not in TRANSITION_CALLS:
            raise Http404
        obj = self.get_queryset(request).filter(pk=object_id).first()
        if obj is None:
            raise Http404(_("没有找到该公开内容，或不属于您负责的单位。"))
        if name not in services.allowed_transitions(obj, request.user):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = TransitionForm(data, transition=name)
        if request.method == "POST" and form.is_valid():
            try:
                TRANSITION_CALLS[name](obj, request.user, form.cleaned_data)
            except PermissionDenied:
                raise
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                self.message_user(
                    request, _("已完成：%(step)s") % {"step": TRANSITION_LABELS[name]}
                )
                return redirect(
                    reverse("admin:disclosure_disclosure_change", args=[obj.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "form": form,
            "step": TRANSITION_LABELS[name],
            "title": TRANSITION_LABELS[name],
        }
        return TemplateResponse(request, "admin/disclosure/transition.html", context)

    def outcome_view(self, request, object_id):
        """Record a 公示's outcome (services.record_outcome): the unit's
        editors may, though the published text is not theirs to change."""
        obj = self.get_queryset(request).filter(pk=object_id).first()
        if obj is None:
            raise Http404(_("没有找到该公开内容，或不属于您负责的单位。"))
        if not services.can_record_outcome(obj, request.user):
            raise PermissionDenied(services.CANNOT_RECORD_OUTCOME)
        initial = {"outcome": obj.notice_outcome, "text": obj.notice_outcome_text}
        form = OutcomeForm(
            request.POST if request.method == "POST" else None, initial=initial
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.record_outcome(
                    obj,
                    by=request.user,
                    outcome=form.cleaned_data["outcome"],
                    text=form.cleaned_data["text"],
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                self.message_user(request, _("已登记公示结果。"))
                return redirect(
                    reverse("admin:disclosure_disclosure_change", args=[obj.pk])
                )
        step = _("登记公示结果")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "form": form,
            "step": step,
            "title": step,
            "notice_ends_on": obj.notice_ends_on,
        }
        return TemplateResponse(request, "admin/disclosure/transition.html", context)

    def _bulk(self, request, queryset, name):
        done = 0
        for disclosure in queryset:
            try:
                TRANSITION_CALLS[name](disclosure, request.user, {})
                done += 1
            except (PermissionDenied, ValidationError) as exc:
                message = "; ".join(getattr(exc, "messages", [str(exc)]))
                self.message_user(
                    request, f"{disclosure.title}：{message}", level=messages.WARNING
                )
        if done:
            self.message_user(
                request,
                _("%(step)s：%(n)d 条已完成。")
                % {"step": TRANSITION_LABELS[name], "n": done},
            )

    @admin.action(description=_("提交所选内容审核"))
    def submit_selected(self, request, queryset):
        self._bulk(request, queryset, "submit")

    # No bulk 审核: each record's secrecy review is a judgement of its own.
    @admin.action(description=_("审批所选内容（已审核）"))
    def approve_selected(self, request, queryset):
        self._bulk(request, queryset, "approve")

    @admin.action(description=_("发布所选内容"))
    def publish_selected(self, request, queryset):
        self._bulk(request, queryset, "publish")


@admin.register(PendingDisclosure)
class PendingDisclosureAdmin(DisclosureAdmin):
    """待审核: the reviewers' queue, oldest submission first."""

    inlines = [AttachmentInline, table_admin.DisclosureTableInline, EventInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(
                status__in=[Disclosure.Status.SUBMITTED, Disclosure.Status.REVIEWED]
            )
            .order_by("updated_at")
        )

    def get_ordering(self, request):
        return ["updated_at", "id"]  # the oldest waiting first

    # The queue's object pages are the disclosure's own (which check scope).

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect(reverse("admin:disclosure_disclosure_change", args=[object_id]))

    def history_view(self, request, object_id, extra_context=None):
        return redirect(
            reverse("admin:disclosure_disclosure_history", args=[object_id])
        )

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        return redirect(
            reverse(
                "admin:disclosure_disclosure_simple_history",
                args=[object_id, version_id],
            )
        )

    def has_add_permission(self, request):
        return False


# Yearly archives (统一公开资料档案): closing a year and downloading its archive.
# Both are the town administrator's alone (roles.is_town_admin).


@admin.register(ObligationEvent)
class ObligationEventAdmin(admin.ModelAdmin):
    """事项登记: staff register the events 随时, 事前 and 逐段 items owe a
    disclosure for, each for the units they work on (roles.units_for)."""

    list_display = ["event_date", "unit", "item", "description", "disclosure"]
    list_filter = [UnitScopedFilter, "item__category__catalog"]
    list_select_related = ["unit", "item", "disclosure"]
    search_fields = ["description", "item__code", "item__name"]
    date_hierarchy = "event_date"
    autocomplete_fields = ["disclosure"]
    readonly_fields = ["created_by", "created_at"]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).filter(unit__in=roles.units_for(request.user))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = roles.units_for(request.user)
        if db_field.name == "item":
            kwargs["queryset"] = Item.objects.filter(
                timing__in=EVENT_TIMINGS
            ).select_related("category")
        if db_field.name == "disclosure":
            # Titles offered go through the back office's visibility rule.
            kwargs["queryset"] = roles.staff_disclosures(request.user).filter(
                unit__in=roles.units_for(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class TownAdminOnly:
    def has_module_permission(self, request):
        return roles.is_town_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return roles.is_town_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClosedYear)
class ClosedYearAdmin(TownAdminOnly, admin.ModelAdmin):
    """Adding a year closes it: its disclosures are sealed (archives.is_sealed)."""

    list_display = ["year", "closed_at", "closed_by", "archive_link"]
    fields = ["year"]

    def has_add_permission(self, request):
        return roles.is_town_admin(request.user)

    def save_model(self, request, obj, form, change):
        Status = Disclosure.Status
        obj.closed_by = request.user
        super().save_model(request, obj, form, change)
        pending = (
            Disclosure.objects.filter(period_start__year=obj.year)
            .exclude(status__in=[Status.PUBLISHED, Status.WITHDRAWN])
            .count()
        )
        if pending:
            self.message_user(
                request,
                _("%(year)s年度尚有 %(n)d 条未发布的公开内容，已一并封存。")
                % {"year": obj.year, "n": pending},
                level=messages.WARNING,
            )

    @admin.display(description=_("档案"))
    def archive_link(self, closed):
        url = reverse("admin:disclosure_archiveexport_download")
        return format_html('<a href="{}?year={}">{}</a>', url, closed.year, _("下载"))


class ArchiveDownloadForm(forms.Form):
    year = forms.TypedChoiceField(label=_("年度"), coerce=int)
    unit = forms.ModelChoiceField(
        label=_("单位"),
        queryset=Unit.objects.all(),
        required=False,
        empty_label=_("全镇"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        years = Disclosure.objects.dates("period_start", "year", order="DESC")
        self.fields["year"].choices = [(d.year, d.year) for d in years]


@admin.register(ArchiveExport)
class ArchiveExportAdmin(TownAdminOnly, admin.ModelAdmin):
    """Every archive written, with its manifest's checksum (verify_archive)."""

    list_display = [
        "filename",
        "year",
        "unit",
        "disclosure_count",
        "manifest_sha256",
        "created_at",
        "created_by",
    ]
    list_filter = ["year"]
    list_select_related = ["unit", "created_by"]
    change_list_template = "admin/disclosure/archiveexport/change_list.html"

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [
            path(
                "download/",
                self.admin_site.admin_view(self.download_view),
                name="disclosure_archiveexport_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request):
        if not roles.is_town_admin(request.user):
            raise PermissionDenied
        form = ArchiveDownloadForm(
            request.POST or None, initial={"year": request.GET.get("year")}
        )
        if request.method == "POST" and form.is_valid():
            target = tempfile.TemporaryFile()
            record, _warnings = archives.write_archive(
                target,
                year=form.cleaned_data["year"],
                unit=form.cleaned_data["unit"],
                by=request.user,
            )
            target.seek(0)
            return FileResponse(
                target,
                as_attachment=True,
                filename=record.filename,
                content_type="application/zip",
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": _("下载年度档案"),
        }
        return TemplateResponse(
            request, "admin/disclosure/archive_download.html", context
        )
