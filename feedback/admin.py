import copy

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin_site import LabelledTabularInline
from core.dates import validate_date
from core.security import refuse_control_characters, refuse_markup
from disclosure.models import Disclosure, Organisation, Unit
from disclosure.roles import is_town_admin, units_for

from . import services
from .confidential import discipline_body, is_discipline_member, staff_submissions
from .models import (
    CONFIDENTIAL_KINDS,
    OPEN_STATUSES,
    RESIDENT_FIELDS,
    AnswerTemplate,
    Channel,
    Outcome,
    Rating,
    Submission,
    SubmissionEvent,
    Tag,
)

# The function that takes each step of services.ACTIONS.
STEP_CALLS = {
    "accept": services.accept,
    "assign": services.assign,
    "extend": services.extend_decision,
    "refuse": services.refuse_request,
    "answer": services.answer,
    "close": services.close,
    "clear": services.clear_for_wall,
    "hide": services.hide,
    "outcome": services.record_outcome,
    "follow_up": services.record_follow_up,
}
# Where the change form takes what each workflow step is given (services.ACTIONS
# says which of these a step needs): the step function's keyword -> the form
# fields, the first one filled wins; an error goes on the first.
STEP_FIELDS = {
    "accept": {"department": ["department"]},
    "assign": {
        "body": ["assign_body"],
        "to_cadre": ["assign_cadre"],
        "workdays": ["assign_workdays"],
    },
    "extend": {"reason": ["reason"]},
    "refuse": {"reason": ["reason"], "department": ["department"]},
    "answer": {
        "department": ["answered_by", "department"],
        "text": ["answer_text"],
        "fulfilled_by": ["fulfilled_by"],
        "body": ["answering_body"],
    },
    "hide": {"reason": ["reason"]},
    "outcome": {"outcome": ["new_outcome"], "reason": ["new_outcome_reason"]},
    "follow_up": {
        "rating": ["follow_up_rating"],
        "channel": ["follow_up_channel"],
        "on": ["follow_up_on"],
        "comment": ["follow_up_comment"],
    },
}
# What the form says beside a field left blank, where it words it otherwise
# than the step function.
BLANK_FIELD_PROMPTS = {
    "reason": _("请填写理由。"),
    "answer_text": _("请填写答复内容。"),
    "answered_by": _("请选择答复部门。"),
    "new_outcome": _("请选择采纳情况。"),
    "follow_up_rating": _("请选择回访评价。"),
    "follow_up_channel": _("请选择回访方式。"),
    "follow_up_on": _("请填写回访日期。"),
}
# What only the town and the unit's editors change (services.keeps_record).
RECORD_FIELDS = [
    "kind",
    "channel",
    "unit",
    "item",
    "disclosure",
    "tag",
    "title",
    "text",
    "name",
    "phone",
    "is_party_member",
    "consent_to_publish",
    "department",
    "concerns_conduct",
    "answering_body",  # the body it was assigned to answers as itself
]
# Fixed once a case is answered, refused or hidden: what the public answer says
# and what it answered. A 不满意 rating reopens the case, and them.
DECIDED_FIELDS = [
    "kind",
    "unit",
    "answer_text",
    "answered_by",
    "answering_body",
    "fulfilled_by",
]


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
    # 采纳情况 (意见、建议), recorded with the answer or by its own step.
    new_outcome = forms.ChoiceField(
        label=_("采纳情况"),
        choices=[("", "---------"), *Outcome.choices],
        required=False,
        help_text=_(
            "意见、建议答复时（或答复后点击“记录采纳情况”）填写，在回音壁公开。"
        ),
    )
    new_outcome_reason = forms.CharField(
        label=_("采纳情况说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[refuse_control_characters],
        help_text=_("部分采纳、暂不采纳时必填，在回音壁公开。"),
    )
    # 回访: the resident's satisfaction, asked by phone or on a visit.
    follow_up_rating = forms.ChoiceField(
        label=_("回访评价"),
        choices=[("", "---------"), *Rating.choices],
        required=False,
    )
    follow_up_channel = forms.ChoiceField(
        label=_("回访方式"),
        choices=[
            ("", "---------"),
            *((c.value, c.label) for c in services.FOLLOW_UP_CHANNELS),
        ],
        required=False,
    )
    follow_up_on = forms.DateField(
        label=_("回访日期"),
        required=False,
        validators=[validate_date],
        help_text=_("格式：2011-08-15。"),
        error_messages={"invalid": _("请按 2011-08-15 的格式填写日期。")},
    )
    follow_up_comment = forms.CharField(
        label=_("回访记录的意见"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[refuse_control_characters],
        help_text=_("选择“不满意”时，该事项重新办理。"),
    )
    # 交办: the inputs of the "assign" step (services.assign).
    assign_body = forms.ModelChoiceField(
        label=_("交办单位"),
        queryset=Organisation.objects.none(),
        required=False,
        help_text=_("本村（社区）或本镇的组织，如 村民委员会、党政办、镇纪委。"),
    )
    assign_cadre = forms.BooleanField(
        label=_("交办给本村包村干部"),
        required=False,
        help_text=_("与交办单位二选一；回音壁上只显示“包村干部”，不显示姓名。"),
    )
    assign_workdays = forms.IntegerField(
        label=_("办理期限（工作日）"),
        required=False,
        min_value=1,
        max_value=services.MAX_ASSIGN_WORKDAYS,
        help_text=_("从交办之日起计算；留空则沿用原答复期限。"),
        error_messages={
            "invalid": _("办理期限须为整数个工作日。"),
            "min_value": _("办理期限至少 1 个工作日。"),
            "max_value": _("办理期限最多 %(limit_value)s 个工作日。"),
        },
    )
    # The workflow step whose button was pressed ("" for a plain save) and who
    # pressed it; set by SubmissionAdmin.get_form.
    action = ""
    user = None

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
            "answering_body",
            "fulfilled_by",
            "concerns_conduct",
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
        # The bodies of the case's unit and town: the only ones that may be
        # given it or answer it (services.check_assignment).
        bodies = (
            services.assignable_bodies(self.instance)
            if self.instance.pk
            else Organisation.objects.none()
        )
        for name in ("assign_body", "answering_body"):
            if name in self.fields:
                self.fields[name].queryset = bodies
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

    def clean_new_outcome_reason(self):
        # Public with the answer: no markup either.
        return refuse_markup(self.cleaned_data["new_outcome_reason"])

    def clean(self):
        cleaned = super().clean()
        template = cleaned.get("answer_template")
        answer_open = "answer_text" in self.fields  # read-only once answered
        if answer_open and template and not cleaned.get("answer_text", "").strip():
            cleaned["answer_text"] = template.text
            self.instance.answer_text = template.text
        if not self.instance.pk and cleaned.get("kind") in CONFIDENTIAL_KINDS:
            # A 举报 entered is never published, whatever the paper said (one
            # reclassified later keeps its consent: withdrawn only on record).
            cleaned["consent_to_publish"] = False
        if self.action and self.instance.pk:
            self._check_step(cleaned)
        step_only = [
            name
            for name in ("new_outcome", "follow_up_rating", "follow_up_channel")
            if cleaned.get(name)
        ]
        if step_only and self.action not in ("answer", "outcome", "follow_up"):
            # Recorded by their buttons only, never by a plain save.
            self.add_error(
                step_only[0],
                _("请点击下方“记录采纳情况”或“记录回访评价”按钮保存。"),
            )
        return cleaned

    def step_inputs(self, cleaned: dict) -> dict:
        """The keywords the pressed step's function is given, from the form
        (the 承办部门 from the case where it is read-only: a body's member
        answering a case the town accepted)."""
        return {
            keyword: next(
                (
                    self._input(cleaned, name)
                    for name in names
                    if self._input(cleaned, name)
                ),
                None,
            )
            for keyword, names in STEP_FIELDS.get(self.action, {}).items()
        }

    def _input(self, cleaned: dict, name: str):
        if name == "department" and name not in self.fields:
            return self.instance.department
        return cleaned.get(name)

    def _check_step(self, cleaned: dict) -> None:
        """The checks of services.ACTIONS, before anything is saved: a blank
        input beside its field, then what the case's state refuses."""
        step = services.ACTIONS[self.action]
        inputs = self.step_inputs(cleaned)
        for keyword, message in step.required.items():
            if services.is_blank(inputs[keyword]):
                field = STEP_FIELDS[self.action][keyword][0]
                if field in self.errors:
                    continue  # filled in wrongly, and told so: not blank
                if field in self.fields:
                    self.add_error(field, BLANK_FIELD_PROMPTS.get(field, message))
                else:  # read-only now: the case's state refuses the step too
                    self.add_error(None, message)
        # The stored case, with the kind as this form would save it: a case may
        # be reclassified as a 点题公开 request and decided in one go.
        case = copy.copy(self.instance)
        case.kind = cleaned.get("kind", case.kind)
        try:
            services.check_action(self.action, case, user=self.user)
        except ValidationError as exc:
            self.add_error(None, exc)
        if self.action == "answer":
            try:
                services.check_fulfilment(case, inputs["fulfilled_by"])
            except ValidationError as exc:
                self.add_error("fulfilled_by", exc)
        self._check_outcome(case, cleaned)
        if self.action == "follow_up" and not self.errors:
            try:
                services.check_follow_up(
                    case,
                    channel=inputs["channel"],
                    on=inputs["on"],
                )
            except ValidationError as exc:
                self.add_error("follow_up_on", exc)
        if self.action == "assign" and not any(
            name in self.errors for name in SubmissionAdmin.ASSIGN_INPUTS
        ):  # an input filled in wrongly was told so already
            try:
                services.check_assignment(case, **inputs)
            except ValidationError as exc:
                self.add_error("assign_body", exc)

    def _check_outcome(self, case: Submission, cleaned: dict) -> None:
        """An outcome given with the answer, or by its own step: for 意见、建议,
        with a reason unless 采纳."""
        outcome = cleaned.get("new_outcome")
        if self.action not in ("answer", "outcome") or not outcome:
            return
        try:
            services.check_outcome(
                case, outcome=outcome, reason=cleaned.get("new_outcome_reason", "")
            )
        except ValidationError as exc:
            field = (
                "new_outcome"
                if case.kind not in services.OUTCOME_KINDS
                else ("new_outcome_reason")
            )
            self.add_error(field, exc)

    class Media:
        js = ["feedback/answer_template.js"]


class SubmissionEventInline(LabelledTabularInline):
    model = SubmissionEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "user", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class InboxFilter(admin.SimpleListFilter):
    """The staff member's inbox: what they must answer, and what was
    escalated to them (services.inbox / services.escalated_to)."""

    title = _("我的待办")
    parameter_name = "inbox"

    def lookups(self, request, model_admin):
        return [("todo", _("待我办理")), ("escalated", _("督办给我"))]

    def queryset(self, request, queryset):
        if self.value() == "todo":
            return queryset.filter(pk__in=services.inbox(request.user).values("pk"))
        if self.value() == "escalated":
            mine = services.escalated_to(request.user).values("pk")
            return queryset.filter(pk__in=mine)
        return queryset


class EscalatedFilter(admin.SimpleListFilter):
    title = _("督办")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", _("督办中"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.escalated()
        return queryset


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


class OpenFilter(admin.SimpleListFilter):
    title = _("是否办结")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", _("未办结")), ("no", _("已办结或不予公开"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.open()
        if self.value() == "no":
            return queryset.exclude(status__in=OPEN_STATUSES)
        return queryset


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    form = SubmissionAdminForm
    # Sized for 1366 and 360 px (static/css/admin_lists.css): the title with
    # its tracking code, the deadline and 超期 never squeezed; 来源 and 话题
    # are filters only.
    list_display = [
        "title_display",
        "kind",
        "unit",
        "status",
        "received_on",
        "due_date",
        "overdue_display",
        "escalated_display",
    ]
    list_display_links = ["title_display"]
    list_filter = [
        InboxFilter,
        OpenFilter,
        "status",
        "kind",
        "channel",
        "outcome",
        "rating_channel",
        "unit",
        "tag",
        OverdueFilter,
        EscalatedFilter,
    ]
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
        "rating_channel",
        "rated_by",
        "outcome",
        "outcome_reason",
        "created_by",
        "assigned_body",
        "assigned_cadre",
        "assigned_at",
        "round",
        "escalated_at",
        "escalated_to",
        "rounds_display",
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
                    "answering_body",
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
        (
            _("采纳情况（意见、建议）"),
            {
                "fields": [
                    "outcome",
                    "outcome_reason",
                    "new_outcome",
                    "new_outcome_reason",
                ]
            },
        ),
        (
            _("交办与督办"),
            {
                "fields": [
                    "assigned_body",
                    "assigned_cadre",
                    "assigned_at",
                    "assign_body",
                    "assign_cadre",
                    "assign_workdays",
                    "concerns_conduct",
                    "escalated_at",
                    "escalated_to",
                ]
            },
        ),
        (
            _("评价与回访"),
            {
                "fields": [
                    "round",
                    "rating",
                    "rating_comment",
                    "rated_at",
                    "rating_channel",
                    "rated_by",
                    "follow_up_rating",
                    "follow_up_channel",
                    "follow_up_on",
                    "follow_up_comment",
                ]
            },
        ),
        (_("此前各轮"), {"fields": ["rounds_display"]}),
    ]
    # Only who may assign (交办) sees the step's inputs.
    ASSIGN_INPUTS = ["assign_body", "assign_cadre", "assign_workdays"]
    # The save row at the top too, before the handling buttons there (Enter
    # submits the first button: a plain save, never a workflow step).
    save_on_top = True

    class Media:
        css = {"all": ["css/admin_lists.css"]}

    @admin.display(description=_("标题"), ordering="title")
    def title_display(self, obj):
        # The status again, for a phone, where its column is not shown.
        return format_html(
            '{}<span class="list-code">{}<span class="list-status"> · {}</span></span>',
            obj.title,
            obj.tracking_code,
            obj.get_status_display(),
        )

    @admin.display(description=_("收到"), ordering="received_at")
    def received_on(self, obj):
        return timezone.localdate(obj.received_at)

    def get_list_display(self, request):
        # An editor of one village: every case is of that unit.
        if not is_town_admin(request.user) and (
            Unit.objects.filter(editors=request.user).count() == 1
        ):
            return [f for f in self.list_display if f != "unit"]
        return self.list_display

    @admin.display(description=_("超期"), boolean=True, ordering="overdue_flag")
    def overdue_display(self, obj):
        return bool(obj.overdue_flag)

    @admin.display(description=_("督办中"), boolean=True)
    def escalated_display(self, obj):
        return obj.is_escalated

    @admin.display(description=_("此前各轮答复和评价"))
    def rounds_display(self, obj):
        if obj is None or obj.round == 1:
            return "-"
        return format_html_join(
            "",
            "<p>第{}轮（期限 {}）：{} {} 答复：{}<br>评价：{} {}</p>",
            (
                (
                    r.number,
                    f"{r.due_date:%Y-%m-%d}",
                    r.answerer,
                    f"{r.answered_at:%Y-%m-%d}",
                    r.answer_text,
                    r.get_rating_display(),
                    r.rating_comment,
                )
                for r in obj.rounds.all()
            ),
        ) or format_html("-")

    def get_queryset(self, request):
        # Not super(): it orders before the annotation the ordering needs exists.
        # Who reads which case: services.cases_for (their units', assigned to
        # them, escalated to them).
        return (
            services.cases_for(request.user)
            .with_overdue_flag()
            .annotate(
                open_flag=Case(
                    When(status__in=OPEN_STATUSES, then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
            .order_by(*self.get_ordering(request))
        )

    def has_view_permission(self, request, obj=None):
        # A 镇纪委 member reads the 举报 about the town (staff_submissions),
        # without a role for the rest of the 回音壁.
        return super().has_view_permission(request, obj) or (
            request.user.is_active
            and request.user.is_staff
            and is_discipline_member(request.user)
        )

    def has_module_permission(self, request):
        return super().has_module_permission(request) or self.has_view_permission(
            request
        )

    def has_change_permission(self, request, obj=None):
        # A 联系领导 or 镇纪委 reads a case escalated to them; acting on it is
        # for who may handle it (services.can_handle).
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or services.can_handle(request.user, obj))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        hidden = set()
        if not request.user.has_perm("feedback.assign_submission"):
            hidden.update(self.ASSIGN_INPUTS)
        if obj is not None and not self.has_change_permission(request, obj):
            # Read only: a step's inputs (the form's own fields) hold nothing
            # and would show under their English names.
            hidden.update(self.step_input_names())
        if not hidden:
            return fieldsets
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
            for name, opts in fieldsets
        ]

    def step_input_names(self) -> set[str]:
        model_fields = {field.name for field in Submission._meta.get_fields()}
        return set(self.form.declared_fields) - model_fields

    def get_ordering(self, request):
        # Open cases first, the newest at the top; then the closed, newest
        # first (overdue ones are a filter and a column, 超期).
        return ["-open_flag", "-received_at", "-id"]

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
            if not services.keeps_record(request.user, obj):
                # Assigned to a body they act for: they answer, nothing else.
                fields.extend(RECORD_FIELDS)
        return list(dict.fromkeys(fields))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A step's button is named after it: "_accept" for "accept".
        pressed = next((n for n in services.ACTIONS if f"_{n}" in request.POST), "")
        return type(form.__name__, (form,), {"action": pressed, "user": request.user})

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        # The buttons of the steps this user may take now, and only those.
        steps = []
        if obj is not None and obj.pk:
            steps = [
                (f"_{name}", services.ACTIONS[name].label_for(obj))
                for name in services.allowed_actions(obj, request.user)
            ]
        context["workflow_steps"] = steps
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        # A 举报 entered by someone who may not read it (a village's clerk
        # logging the 意见箱): it went to 镇纪委; back to the list, saying so.
        gone = self._gone_to_discipline(
            request,
            obj,
            _("已登记（查询码 %(code)s），举报转%(body)s办理，您无权查看。"),
        )
        return gone or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        # Reclassified as a 举报 by someone who may not read it: not "it may
        # have been deleted" on the page it left, but where it went.
        gone = self._gone_to_discipline(
            request,
            obj,
            _("已保存（查询码 %(code)s），举报转%(body)s办理，您无权查看。"),
        )
        return gone or super().response_change(request, obj)

    def _gone_to_discipline(self, request, obj, message):
        if (
            not obj.is_confidential
            or staff_submissions(request.user).filter(pk=obj.pk).exists()
        ):
            return None
        body = discipline_body(obj.unit)
        self.message_user(
            request,
            message
            % {
                "code": obj.tracking_code,
                "body": body.full_name if body else _("镇纪委"),
            },
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:feedback_submission_changelist"))

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
        inputs = form.step_inputs(form.cleaned_data)
        try:
            STEP_CALLS[form.action](obj, by=request.user, **inputs)
            outcome = form.cleaned_data.get("new_outcome")
            if form.action == "answer" and outcome:  # 采纳情况 with the answer
                services.record_outcome(
                    obj,
                    by=request.user,
                    outcome=outcome,
                    reason=form.cleaned_data.get("new_outcome_reason", ""),
                )
        except ValidationError as exc:
            # Overtaken by another step on the case since the form was checked.
            self.message_user(request, "；".join(exc.messages), messages.ERROR)

    @admin.action(description=_("办结所选的已答复事项"), permissions=["change"])
    def close_selected(self, request, queryset):
        done = 0
        for submission in queryset:
            if "close" in services.allowed_actions(submission, request.user):
                services.close(submission, by=request.user)
                done += 1
        self.message_user(request, _("已办结 %(n)d 条。") % {"n": done})
