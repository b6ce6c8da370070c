from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.security import refuse_control_characters, refuse_markup
from disclosure.models import Disclosure
from disclosure.roles import is_town_admin, units_for

from . import services
from .models import (
    OPEN_STATUSES,
    RESIDENT_FIELDS,
    AnswerTemplate,
    Channel,
    Kind,
    Status,
    Submission,
    SubmissionEvent,
    Tag,
)

# The workflow buttons of the change form (feedback/templates/admin/…), by the
# name of the submit button pressed.
ACCEPT, ANSWER, CLOSE, HIDE, REFUSE, EXTEND, CLEAR = (
    "_accept",
    "_answer",
    "_close",
    "_hide",
    "_refuse",
    "_extend",
    "_clear",
)
WORKFLOW_BUTTONS = [ACCEPT, ANSWER, CLOSE, HIDE, REFUSE, EXTEND, CLEAR]
# Fixed once a case is answered, refused or hidden: what the public answer says
# and what it answered. A 不满意 rating reopens the case, and them.
DECIDED_FIELDS = ["kind", "unit", "answer_text", "answered_by", "fulfilled_by"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "order"]
    list_editable = ["order"]
    search_fields = ["name"]


@admin.register(AnswerTemplate)
class AnswerTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "order"]
    list_filter = ["kind"]
    search_fields = ["title", "text"]


class TemplateSelect(forms.Select):
    """Each option carries its text, so a small script can insert it."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-text"] = instance.text
        return option


class SubmissionAdminForm(forms.ModelForm):
    answer_template = forms.ModelChoiceField(
        label=_("插入常用答复"),
        queryset=AnswerTemplate.objects.all(),
        required=False,
        widget=TemplateSelect,
        help_text=_(
            "选择后填入答复内容，可再修改；未启用脚本时，答复内容为空则保存时填入。"
        ),
    )
    reason = forms.CharField(
        label=_("理由"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[refuse_control_characters],
        help_text=_(
            "点题公开延期、不予公开（书面理由，向提交人公开）和设为不在回音壁公开"
            "（内部原因）时必填。"
        ),
    )
    # Which workflow button was pressed; set by SubmissionAdmin.get_form.
    action = ""

    class Meta:
        model = Submission
        fields = [
            "kind",
            "channel",
            "unit",
            "item",
            "disclosure",
            "tag",
            "title",
            "text",
            "received_at",
            "name",
            "phone",
            "is_party_member",
            "consent_to_publish",
            "department",
            "answer_text",
            "answered_by",
            "fulfilled_by",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Staff enter what came by another channel; the website is residents'.
        if "channel" in self.fields:
            self.fields["channel"].choices = [
                choice
                for choice in self.fields["channel"].choices
                if choice[0] != Channel.WEBSITE
            ]
        if self.instance.pk and "consent_to_publish" in self.fields:
            self.fields["consent_to_publish"].help_text = _(
                "只能应提交人要求撤回同意（记入办理记录）；工作人员不能代提交人同意。"
            )

    def clean_consent_to_publish(self):
        consent = self.cleaned_data["consent_to_publish"]
        if consent and self.instance.pk and not self.instance.consent_to_publish:
            raise ValidationError(
                _("提交人未同意公开（或已撤回同意），工作人员不能代提交人同意。")
            )
        return consent

    def clean_answer_text(self):
        return refuse_markup(self.cleaned_data["answer_text"])

    def clean(self):
        cleaned = super().clean()
        template = cleaned.get("answer_template")
        answer_open = "answer_text" in self.fields  # read-only once answered
        if answer_open and template and not cleaned.get("answer_text", "").strip():
            cleaned["answer_text"] = template.text
            self.instance.answer_text = template.text
        original = self.instance if self.instance.pk else None
        if not self.action or original is None:
            return cleaned
        status = original.status  # read-only in the form: the stored state
        reason = cleaned.get("reason", "").strip()
        if self.action in (HIDE, REFUSE, EXTEND) and not reason:
            self.add_error("reason", _("请填写理由。"))
        if self.action == ACCEPT:
            if status != Status.RECEIVED:
                raise ValidationError(_("只有“已收到”的事项可以受理。"))
            if not cleaned.get("department"):
                self.add_error("department", _("受理时必须指定承办部门。"))
        if self.action in (ANSWER, REFUSE) and status not in OPEN_STATUSES:
            raise ValidationError(_("该事项已答复或不予公开。"))
        if self.action == ANSWER:
            if not cleaned.get("answer_text", "").strip():
                self.add_error("answer_text", _("请填写答复内容。"))
            if not (cleaned.get("answered_by") or cleaned.get("department")):
                self.add_error("answered_by", _("请选择答复部门。"))
            if cleaned.get("fulfilled_by") and cleaned.get("kind") != Kind.REQUEST:
                self.add_error(
                    "fulfilled_by", _("只有点题公开申请可以关联答复它的公开内容。")
                )
        if self.action in (REFUSE, EXTEND) and cleaned.get("kind") != Kind.REQUEST:
            raise ValidationError(_("只有点题公开申请可以延期决定或不予公开。"))
        if self.action == CLOSE and status != Status.ANSWERED:
            raise ValidationError(_("只有已答复的事项可以办结。"))
        if self.action == CLEAR and not original.is_held_back:
            raise ValidationError(_("该事项不涉及党内事项，或已确认可以公开。"))
        return cleaned

    class Media:
        js = ["feedback/answer_template.js"]


class SubmissionEventInline(admin.TabularInline):
    model = SubmissionEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "user", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class OverdueFilter(admin.SimpleListFilter):
    title = _("是否超期")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("已超期")), ("no", _("未超期"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_flag=1)
        if self.value() == "no":
            return queryset.filter(overdue_flag=0)
        return queryset


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    form = SubmissionAdminForm
    list_display = [
        "tracking_code",
        "title",
        "kind",
        "channel",
        "unit",
        "tag",
        "status",
        "received_at",
        "due_date",
        "overdue_display",
    ]
    list_display_links = ["tracking_code", "title"]
    list_filter = ["status", "kind", "channel", "unit", "tag", OverdueFilter]
    search_fields = ["tracking_code", "title", "text", "name", "phone"]
    list_select_related = ["unit", "tag"]
    date_hierarchy = "received_at"
    actions = ["close_selected"]
    inlines = [SubmissionEventInline]
    readonly_fields = [
        "tracking_code",
        "status",
        "concerns_inner_party",
        "inner_party_cleared_at",
        "due_date",
        "decision_due",
        "accepted_at",
        "answered_at",
        "closed_at",
        "extension_reason",
        "refusal_reason",
        "hidden_reason",
        "rating",
        "rating_comment",
        "rated_at",
        "created_by",
    ]
    fieldsets = [
        (
            _("来信"),
            {
                "fields": [
                    "kind",
                    "channel",
                    "unit",
                    "item",
                    "disclosure",
                    "tag",
                    "title",
                    "text",
                    "received_at",
                ]
            },
        ),
        (
            _("提交人（不公开）"),
            {
                "fields": [
                    "name",
                    "phone",
                    "is_party_member",
                    "consent_to_publish",
                    "concerns_inner_party",
                    "inner_party_cleared_at",
                ]
            },
        ),
        (
            _("办理"),
            {
                "fields": [
                    "tracking_code",
                    "status",
                    "due_date",
                    "decision_due",
                    "department",
                    "accepted_at",
                    "answer_template",
                    "answer_text",
                    "answered_by",
                    "answered_at",
                    "fulfilled_by",
                    "closed_at",
                    "reason",
                    "extension_reason",
                    "refusal_reason",
                    "hidden_reason",
                    "created_by",
                ]
            },
        ),
        (_("评价"), {"fields": ["rating", "rating_comment", "rated_at"]}),
    ]

    @admin.display(description=_("超期"), boolean=True, ordering="overdue_flag")
    def overdue_display(self, obj):
        return bool(obj.overdue_flag)

    def get_queryset(self, request):
        # Not super(): it orders before the annotation the ordering needs exists.
        qs = Submission.objects.with_overdue_flag().order_by(
            *self.get_ordering(request)
        )
        if is_town_admin(request.user):
            return qs
        return qs.filter(unit__in=units_for(request.user))

    def get_ordering(self, request):
        # Overdue first, then the nearest deadline.
        return ["-overdue_flag", "due_date", "-received_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = units_for(request.user)
        if db_field.name in ("disclosure", "fulfilled_by"):
            kwargs["queryset"] = (
                Disclosure.objects.published()
                .filter(unit__in=units_for(request.user))
                .select_related("unit")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # hide with a reason instead; records are archived

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            # The deadlines and the on-time figures count from it.
            fields.append("received_at")
            if obj.channel == Channel.WEBSITE:
                fields.extend(RESIDENT_FIELDS)
            if obj.status not in OPEN_STATUSES:
                # Given by the answer (services.answer / refuse_request).
                fields.extend(DECIDED_FIELDS)
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        pressed = next((b for b in WORKFLOW_BUTTONS if b in request.POST), "")
        return type(form.__name__, (form,), {"action": pressed})

    def save_model(self, request, obj, form, change):
        if not change:
            services.record_offline(obj, by=request.user)
            return
        # An edit can make a case concern 党内 matters (its disclosure or item
        # changed); never the other way: clearing is a decision of its own.
        if not obj.concerns_inner_party and services.concerns_inner_party(obj):
            obj.concerns_inner_party = True
        if "kind" in form.changed_data:  # a 点题公开 request has a decision due
            services.set_deadlines(obj)
        if "consent_to_publish" in form.changed_data:  # only ever withdrawn
            services.withdraw_consent(obj, by=request.user)
        else:
            obj.save()
        if form.action:
            self._run_workflow(request, obj, form)

    def _run_workflow(self, request, obj, form):
        data = form.cleaned_data
        reason = data.get("reason", "")
        by = request.user
        try:
            if form.action == ACCEPT:
                services.accept(obj, by=by, department=data["department"])
            elif form.action == ANSWER:
                services.answer(
                    obj,
                    by=by,
                    department=data.get("answered_by") or data["department"],
                    text=obj.answer_text,
                    fulfilled_by=data.get("fulfilled_by"),
                )
            elif form.action == CLOSE:
                services.close(obj, by=by)
            elif form.action == HIDE:
                services.hide(obj, by=by, reason=reason)
            elif form.action == REFUSE:
                services.refuse_request(
                    obj, by=by, reason=reason, department=data.get("department")
                )
            elif form.action == EXTEND:
                services.extend_decision(obj, by=by, reason=reason)
            elif form.action == CLEAR:
                services.clear_for_wall(obj, by=by)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), messages.ERROR)

    @admin.action(description=_("办结所选的已答复事项"), permissions=["change"])
    def close_selected(self, request, queryset):
        done = 0
        for submission in queryset.filter(status=Status.ANSWERED):
            services.close(submission, by=request.user)
            done += 1
        self.message_user(request, _("已办结 %(n)d 条。") % {"n": done})
