from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog.models import Item
from core.dates import validate_date
from core.security import refuse_control_characters, refuse_markup
from disclosure.roles import is_reviewer, is_town_admin, units_for

from . import letters, services
from .models import (
    GROUNDS,
    Channel,
    Ground,
    InfoRequest,
    InfoRequestEvent,
    Remedy,
    Result,
)

Kind = InfoRequestEvent.Kind
Status = InfoRequest.Status

# The steps offered on an application's page: (name, label, who, statuses).
STEPS = {
    "correction": (_("告知补正"), "handle", (Status.RECEIVED,)),
    "corrected": (_("收到补正"), "handle", (Status.CORRECTION,)),
    "abandon": (_("逾期未补正，视为放弃"), "handle", (Status.CORRECTION,)),
    "consult": (_("征求第三方意见"), "handle", (Status.RECEIVED,)),
    "consulted": (_("第三方意见返回"), "handle", (Status.CONSULTING,)),
    # Art. 33: granted by the reviewer (负责人), also while the answer is with
    # them; services.record_step refuses it once the term has run out.
    "extend": (_("延长答复期限"), "extend", (Status.RECEIVED, Status.SUBMITTED)),
    "draft": (_("拟定答复"), "handle", (Status.RECEIVED,)),
    "approve": (_("审核通过并答复"), "approve", (Status.SUBMITTED,)),
    "return": (_("退回修改"), "approve", (Status.SUBMITTED,)),
    "release": (_("转为主动公开"), "handle", (Status.ANSWERED,)),
}


def allowed_steps(obj: InfoRequest, user) -> list[str]:
    may = {
        "handle": services.can_handle(obj, user),
        "approve": services.can_approve(obj, user),
        "extend": services.can_extend(obj, user),
    }
    steps = [n for n, (_l, who, st) in STEPS.items() if may[who] and obj.status in st]
    if "extend" in steps and (obj.extended_days or obj.is_overdue()):
        steps.remove("extend")
    if "correction" in steps and obj.events.filter(kind=Kind.CORRECTION).exists():
        # Art. 30: 补正 is asked once (services.record_step says why not).
        steps.remove("correction")
    if "release" in steps and (
        obj.released_as_id or obj.result not in (Result.DISCLOSED, Result.PARTLY)
    ):
        steps.remove("release")
    return steps


class StepForm(forms.Form):
    on = forms.DateField(
        label=_("日期"), initial=timezone.localdate, validators=[validate_date]
    )
    days = forms.IntegerField(label=_("延长工作日数"), min_value=1, max_value=20)
    note = forms.CharField(
        label=_("说明"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        validators=[refuse_control_characters, refuse_markup],
    )
    result = forms.ChoiceField(label=_("答复类型"), choices=Result.choices)
    ground = forms.ChoiceField(
        label=_("理由（国家统计表分类）"),
        choices=[("", "—"), *Ground.choices],
        required=False,
    )
    responsible_body = forms.CharField(
        label=_("负责公开该信息的行政机关（选填）"),
        max_length=100,
        required=False,
        help_text=_("仅用于“不属于本机关负责公开”：能够确定的，填写该机关名称。"),
        validators=[refuse_control_characters, refuse_markup],
    )
    responsible_contact = forms.CharField(
        label=_("该机关的联系方式（选填）"),
        max_length=200,
        required=False,
        validators=[refuse_control_characters, refuse_markup],
    )
    answer_text = forms.CharField(
        label=_("答复内容"),
        widget=forms.Textarea(attrs={"rows": 8}),
        validators=[refuse_control_characters, refuse_markup],
    )
    item = forms.ModelChoiceField(label=_("公开事项（政务）"), queryset=Item.objects)
    title = forms.CharField(
        label=_("标题（选填）"),
        max_length=200,
        required=False,
        help_text=_("留空则用公开事项名称和年份。不得写入申请人的姓名等个人信息。"),
        validators=[refuse_control_characters, refuse_markup],
    )
    body = forms.CharField(
        label=_("正文"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "面向公众写明公开的信息内容；不要照抄申请或答复书，"
            "不得包含申请人的姓名、联系方式等个人信息。"
        ),
        validators=[refuse_control_characters, refuse_markup],
    )

    FIELDS = {
        "correction": ["on", "note"],
        "corrected": ["on", "note"],
        "abandon": ["on"],
        "consult": ["on", "note"],
        "consulted": ["on", "note"],
        "extend": ["days", "note"],
        "draft": [
            "result",
            "ground",
            "responsible_body",
            "responsible_contact",
            "answer_text",
        ],
        "approve": [],
        "return": ["note"],
        "release": ["item", "title", "body"],
    }

    def __init__(self, *args, step: str, **kwargs):
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in self.FIELDS[step]:
                del self.fields[name]
        if "item" in self.fields:
            self.fields["item"].queryset = services.release_items()
        if step == "extend":
            self.fields["note"].label = _("延期理由（将告知申请人）")
            self.fields["note"].help_text = _(
                "由政府信息公开工作机构负责人同意并记录（条例第三十三条）。"
            )
        if step == "correction":
            self.fields["note"].label = _("需补正的事项和合理的补正期限")


class EventInline(admin.TabularInline):
    model = InfoRequestEvent
    extra = 0
    fields = ["on", "kind", "days", "note", "user", "at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


APPLICANT_FIELDS = [
    "applicant_kind",
    "name",
    "id_number",
    "credit_code",
    "contact_person",
    "phone",
    "address",
    "email",
]
REQUEST_FIELDS = ["description", "document_number", "purpose", "delivery"]


@admin.register(InfoRequest)
class InfoRequestAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "applicant_kind",
        "channel",
        "received_on",
        "deadline",
        "status",
        "result",
    ]
    list_filter = ["status", "channel", "applicant_kind", "result"]
    search_fields = ["code", "name", "description"]
    inlines = [EventInline]
    readonly_fields = [
        "code",
        "status",
        "due_on",
        "extended_days",
        "extension_reason",
        "result",
        "ground",
        "responsible_body",
        "responsible_contact",
        "answer_text",
        "answered_on",
        "drafted_by",
        "approved_by",
        "released_as",
    ]
    change_form_template = "admin/govinfo/inforequest/change_form.html"

    def get_fieldsets(self, request, obj=None):
        receipt = ["unit", "channel", "received_on"]
        return [
            (_("收到"), {"fields": receipt if obj is None else ["code", *receipt]}),
            (_("申请人（仅承办人员可见）"), {"fields": APPLICANT_FIELDS}),
            (_("申请内容"), {"fields": REQUEST_FIELDS}),
            *(
                []
                if obj is None
                else [
                    (
                        _("办理"),
                        {
                            "fields": [
                                "status",
                                "due_on",
                                "extended_days",
                                "extension_reason",
                                "result",
                                "ground",
                                "responsible_body",
                                "responsible_contact",
                                "answer_text",
                                "drafted_by",
                                "approved_by",
                                "answered_on",
                                "released_as",
                            ]
                        },
                    )
                ]
            ),
        ]

    def get_readonly_fields(self, request, obj=None):
        # Answered, or its answer with the reviewer: the application the
        # letter answers stays as it was (the reviewer returns it to change).
        if obj is not None and obj.status in (Status.SUBMITTED, Status.ANSWERED):
            return [
                *self.readonly_fields,
                "unit",
                "channel",
                "received_on",
                *APPLICANT_FIELDS,
                *REQUEST_FIELDS,
            ]
        if obj is not None and obj.channel == Channel.ONLINE:
            # Sent through the portal: its channel is a fact, not an entry.
            return [*self.readonly_fields, "unit", "received_on", "channel"]
        if obj is not None:
            return [*self.readonly_fields, "unit", "received_on"]
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = units_for(request.user).towns()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return services.requests_for(request.user).select_related("unit").queue_order()

    def get_ordering(self, request):
        # Open first, the earliest deadline on top (overdue ones first).
        return [
            F("answered_on").desc(nulls_first=True),
            F("due_on").asc(nulls_last=True),
            "received_on",
        ]

    def has_module_permission(self, request):
        return services.handles_applications(request.user)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and (
            services.handles_applications(request.user)
        )

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        if not (allowed and services.handles_applications(request.user)):
            return False
        if obj is None:
            return True
        return services.requests_for(request.user).filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if not (allowed and services.handles_applications(request.user)):
            return False
        if obj is None:
            return True
        return services.can_handle(obj, request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("答复期限"), ordering="due_on")
    def deadline(self, obj):
        if not obj.is_open:
            return "—"
        if obj.due_on is None:
            return _("中止")
        if obj.is_overdue():
            return format_html(
                '<strong class="overdue">{}（{}）</strong>', obj.due_on, _("已超期")
            )
        return obj.due_on

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            services.register(obj, by=request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("没有找到该申请，或不属于您负责的单位。"))
        extra_context = {
            **(extra_context or {}),
            "steps": [(n, STEPS[n][0]) for n in allowed_steps(obj, request.user)],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/step/<str:name>/",
                self.admin_site.admin_view(self.step_view),
                name="{}_{}_step".format(*info),
            ),
            path(
                "<path:object_id>/letter/",
                self.admin_site.admin_view(self.letter_view),
                name="{}_{}_letter".format(*info),
            ),
            path(
                "<path:object_id>/letter.pdf",
                self.admin_site.admin_view(self.letter_pdf_view),
                name="{}_{}_letter_pdf".format(*info),
            ),
            *super().get_urls(),
        ]

    def _viewable(self, request, object_id) -> InfoRequest:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404(_("没有找到该申请，或不属于您负责的单位。"))
        return obj

    def letter_view(self, request, object_id):
        obj = self._viewable(request, object_id)
        if not obj.result:
            raise Http404(_("该申请尚未拟定答复。"))
        return letters.page(request, obj, full_name=True)

    def letter_pdf_view(self, request, object_id):
        obj = self._viewable(request, object_id)
        if not obj.result:
            raise Http404(_("该申请尚未拟定答复。"))
        return letters.pdf(request, obj, full_name=True)

    def step_view(self, request, object_id, name):
        obj = self._viewable(request, object_id)
        if name not in allowed_steps(obj, request.user):
            raise PermissionDenied
        initial = {}
        # 转为主动公开 pre-fills nothing: the application and the letter may
        # carry personal details (services.release_title when left empty).
        if name == "draft":
            initial = {
                "result": obj.result,
                "ground": obj.ground,
                "responsible_body": obj.responsible_body,
                "responsible_contact": obj.responsible_contact,
                "answer_text": obj.answer_text,
            }
        data = request.POST if request.method == "POST" else None
        form = StepForm(data, step=name, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                self._take_step(obj, name, form.cleaned_data, request.user)
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, _("已完成：%s") % STEPS[name][0])
                return HttpResponseRedirect(
                    reverse("admin:govinfo_inforequest_change", args=[obj.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "step": STEPS[name][0],
            "form": form,
            "grounds": {r.label: [g.label for g in gs] for r, gs in GROUNDS.items()},
            "title": STEPS[name][0],
        }
        return TemplateResponse(request, "admin/govinfo/inforequest/step.html", context)

    @staticmethod
    def _take_step(obj, name, data, user):
        if name in ("correction", "corrected", "consult", "consulted"):
            services.record_step(obj, name, by=user, on=data["on"], note=data["note"])
        elif name == "extend":
            services.record_step(
                obj, Kind.EXTEND, by=user, days=data["days"], note=data["note"]
            )
        elif name == "abandon":
            services.abandon(obj, by=user, on=data["on"])
        elif name == "draft":
            services.draft_answer(
                obj,
                by=user,
                result=data["result"],
                ground=data["ground"],
                text=data["answer_text"],
                responsible_body=data["responsible_body"],
                responsible_contact=data["responsible_contact"],
            )
        elif name == "approve":
            services.approve(obj, by=user)
        elif name == "return":
            services.return_answer(obj, by=user, note=data["note"])
        elif name == "release":
            services.release(
                obj, by=user, item=data["item"], title=data["title"], body=data["body"]
            )


@admin.register(Remedy)
class RemedyAdmin(admin.ModelAdmin):
    list_display = ["kind", "filed_on", "outcome", "decided_on", "request"]
    list_filter = ["kind", "outcome"]
    raw_id_fields = ["request"]

    def has_module_permission(self, request):
        return services.handles_applications(request.user)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            services.handles_applications(request.user)
        )

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("request")
        if is_town_admin(request.user) or is_reviewer(request.user):
            return queryset
        return queryset.filter(unit__in=units_for(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = units_for(request.user).towns()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False
