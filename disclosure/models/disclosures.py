from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from catalog import periods
from catalog.models import Item, Scope

from .units import Unit

INNER_PARTY_PERMISSION = "disclosure.view_inner_party"


class DisclosureQuerySet(models.QuerySet):
    def published(self) -> "DisclosureQuerySet":
        # Mirrored row by row in Disclosure.visibility_facts() (search index).
        return self.filter(
            status=Disclosure.Status.PUBLISHED, published_at__lte=timezone.now()
        )

    def withdrawn(self) -> "DisclosureQuerySet":
        return self.filter(status=Disclosure.Status.WITHDRAWN)

    def once_public(self) -> "DisclosureQuerySet":
        """Withdrawn, after residents could read it: its publication time came
        before the withdrawal. Not one withdrawn when only approved, nor one
        scheduled and withdrawn before its time: nobody outside saw those, so
        they are not acknowledged, not even by their titles."""
        return self.withdrawn().filter(published_at__lte=models.F("withdrawn_at"))

    def within_scope(self, user) -> "DisclosureQuerySet":
        """Drop 党内 rows unless the user may read them: the one place of that rule."""
        # Mirrored row by row in Disclosure.visibility_facts() (search index).
        if can_see_inner_party(user):
            return self
        return self.exclude(scope=Scope.INNER_PARTY)

    def visible_to(self, user) -> "DisclosureQuerySet":
        """What this user may read on the public site."""
        return self.published().within_scope(user)

    def information(self) -> "DisclosureQuerySet":
        """Real notices, without the 本期无此事项 filings (the article's figures)."""
        return self.filter(is_nil_return=False)

    def on_display(self, today=None) -> "DisclosureQuerySet":
        """Still on the board: no 'display until' date, or one not yet passed."""
        today = today or timezone.localdate()
        return self.filter(
            models.Q(display_until__isnull=True) | models.Q(display_until__gte=today)
        )

    def for_unit(self, unit: Unit) -> "DisclosureQuerySet":
        return self.filter(unit=unit)

    def with_related(self) -> "DisclosureQuerySet":
        return self.select_related(
            "unit", "item__category__catalog", "item__department"
        )

    def for_listing(self) -> "DisclosureQuerySet":
        """As listed on boards and lists: without the long texts only the
        disclosure's own page shows (a board fetches about 130 rows)."""
        return self.with_related().defer(
            "body", "notice_outcome_text", "withdrawal_reason", "item__description"
        )


def can_see_inner_party(user) -> bool:
    return bool(
        user and user.is_authenticated and user.has_perm(INNER_PARTY_PERMISSION)
    )


class NoticeOutcome(models.TextChoices):
    NO_OBJECTION = "no_objection", _("公示期满无异议")
    HANDLED = "handled", _("收到异议，已处理")


class Disclosure(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待审核")
        REVIEWED = "reviewed", _("已审核待审批")
        APPROVED = "approved", _("已审批待发布")
        PUBLISHED = "published", _("已发布")
        WITHDRAWN = "withdrawn", _("已撤回")

    # Edits to these after publication are corrections, shown to residents
    # ("attachments": a file added; published files are never changed).
    CONTENT_FIELDS = ("title", "body", "period", "event_date", "attachments")
    # What a disclosure was published under, fixed from then on: its index
    # number names the unit and the item (moving one is withdrawing it and
    # publishing anew). Its scope may be narrowed to 党内, never widened
    # (DisclosureAdminForm.clean_scope): who may read it was reviewed.
    PUBLISHED_UNDER = ("unit", "item")

    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="disclosures",
        verbose_name=_("单位"),
    )
    item = models.ForeignKey(
        Item,
        on_delete=models.PROTECT,
        related_name="disclosures",
        verbose_name=_("公开事项"),
    )
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(
        _("正文"), help_text=_("纯文本；空行分段。不支持 HTML，网页上原样显示。")
    )
    period = models.CharField(
        _("所属期间"),
        max_length=7,
        help_text=_(
            "如 2011（年度）、2011-H2（下半年）、2011-Q3（第三季度）、2011-09（月）。"
        ),
    )
    period_start = models.DateField(_("期间开始"), editable=False)
    period_end = models.DateField(_("期间结束"), editable=False)
    event_date = models.DateField(
        _("事项发生日期"), null=True, blank=True, help_text=_("随时公开事项填写。")
    )
    scope = models.CharField(
        _("公开范围"),
        max_length=10,
        choices=Scope.choices,
        default=Scope.PUBLIC,
        help_text=_("党内公开事项下的内容一律为党内公开。"),
    )
    forms = models.ManyToManyField(
        "catalog.DisclosureForm",
        related_name="disclosures",
        verbose_name=_("公开形式"),
        blank=True,
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    display_until = models.DateField(
        _("展示截止日期"), null=True, blank=True, help_text=_("留空表示长期展示。")
    )
    index_number = models.CharField(
        _("索引号"),
        max_length=60,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("发布时生成，永久不变。"),
    )
    is_nil_return = models.BooleanField(
        _("本期无此事项"),
        default=False,
        help_text=_(
            "本期没有应公开的内容时，发布一条“本期无此事项”说明，正文写明原因。"
        ),
    )
    notice_outcome = models.CharField(
        _("公示结果"),
        max_length=20,
        choices=NoticeOutcome.choices,
        blank=True,
        help_text=_("公示期满后填写。"),
    )
    notice_outcome_text = models.TextField(
        _("异议及处理情况"), blank=True, help_text=_("收到异议时，写明异议和处理结果。")
    )
    posted_on = models.DateField(_("张贴日期"), null=True, blank=True)
    taken_down_on = models.DateField(_("撤下日期"), null=True, blank=True)
    corrected_at = models.DateTimeField(
        _("更正时间"), null=True, blank=True, editable=False
    )
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("撤回原因"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("提交人"),
        editable=False,
    )
    # Who reviewed the current submission: its approver must be someone else.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = DisclosureQuerySet.as_manager()
    history = HistoricalRecords(
        excluded_fields=["updated_at"], verbose_name=_("公开内容历史版本")
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("公开内容")
        verbose_name_plural = _("公开内容")
        permissions = [("view_inner_party", _("可查看党内公开内容"))]
        indexes = [
            models.Index(
                fields=["status", "scope", "-published_at"],
                name="disclosure_listing_idx",
            ),
            models.Index(
                fields=["unit", "status", "-published_at"], name="disclosure_unit_idx"
            ),
            models.Index(fields=["period"], name="disclosure_period_idx"),
            # The newest first across every unit (list, feeds, home), read in
            # index order until a page is full (EXPLAIN at county scale:
            # docs/PERFORMANCE.md).
            models.Index(
                fields=["status", "-published_at", "-id"],
                name="disclosure_recent_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="published")
                | models.Q(published_at__isnull=False),
                name="published_disclosure_has_date",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="withdrawn")
                | ~models.Q(withdrawal_reason=""),
                name="withdrawn_disclosure_has_reason",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Derived fields only: the period's dates, and the item's 党内 scope.
        try:
            period = periods.Period.parse(self.period)
        except periods.InvalidPeriod as exc:
            raise ValueError(f"invalid period {self.period!r}") from exc
        self.period_start, self.period_end = period.start, period.end
        if self.item_id and self.item.is_inner_party:
            self.scope = Scope.INNER_PARTY
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("disclosure:detail", args=[self.pk])

    @property
    def period_label(self) -> str:
        return periods.label_for(self.period)

    @property
    def is_inner_party(self) -> bool:
        return self.scope == Scope.INNER_PARTY

    @property
    def notice_ends_on(self):
        """For a 公示: the last day objections are taken."""
        if not (self.item.notice_days and self.published_at):
            return None
        start = timezone.localdate(self.published_at)
        return start + timedelta(days=self.item.notice_days - 1)

    @property
    def notice_days_left(self) -> int | None:
        ends = self.notice_ends_on
        if ends is None:
            return None
        return max((ends - timezone.localdate()).days + 1, 0)

    def visibility_facts(self) -> dict:
        """This row's part of `visible_to()`, for the copy the search index keeps
        (composition/search.py): `published()` is `live` and `visible_from` passed,
        `within_scope()` hides `inner_party` rows. Change them together."""
        return {
            "live": self.status == self.Status.PUBLISHED,
            "visible_from": self.published_at,
            "inner_party": self.is_inner_party,
        }

    def search_document(self) -> dict:
        """What the site's search keeps of this row (core/documents.py)."""
        return {
            "title": self.title,
            # The index number (索引号) is searchable too, as on government sites.
            "body": "\n\n".join(p for p in [self.body, self.index_number] if p),
            "date": self.published_at or self.created_at,
            **self.visibility_facts(),
        }

    @property
    def is_scheduled(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at > timezone.now()
        )

    def clean(self):
        errors = {}
        try:
            period = periods.Period.parse(self.period)
        except periods.InvalidPeriod:
            errors["period"] = _(
                "期间格式不正确，应如 2011、2011-H2、2011-Q3 或 2011-09。"
            )
        else:
            kind = self.item.period_kind if self.item_id else None
            if kind and period.kind != kind:
                errors["period"] = _("该事项公开时限为“%(freq)s”，期间应与之对应。") % {
                    "freq": self.item.get_frequency_display()
                }
        if self.item_id and self.unit_id:
            if self.unit.board_level == "town" and not self.item.for_town:
                errors["item"] = _("该事项不适用于镇级。")
            if self.unit.board_level == "village" and not self.item.for_village:
                errors["item"] = _("该事项不适用于村（社区）。")
        if (
            self.display_until
            and self.published_at
            and self.display_until < timezone.localdate(self.published_at)
        ):
            errors["display_until"] = _("展示截止日期不能早于发布日期。")
        if self.status == self.Status.WITHDRAWN and not self.withdrawal_reason.strip():
            errors["withdrawal_reason"] = _("撤回必须填写原因。")
        if (
            self.posted_on
            and self.taken_down_on
            and self.taken_down_on < self.posted_on
        ):
            errors["taken_down_on"] = _("撤下日期不能早于张贴日期。")
        if (
            self.notice_outcome == NoticeOutcome.HANDLED
            and not self.notice_outcome_text
        ):
            errors["notice_outcome_text"] = _("请写明收到的异议及处理情况。")
        if errors:
            raise ValidationError(errors)


class PendingDisclosure(Disclosure):
    """The reviewers' queue (待审核) as its own admin page."""

    class Meta:
        proxy = True
        verbose_name = _("待审核公开内容")
        verbose_name_plural = _("待审核公开内容")


class DisclosureEvent(models.Model):
    """One step of a disclosure's life: the audit trail and the public review trail."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", _("提出")
        RETURNED = "returned", _("退回修改")
        REVIEWED = "reviewed", _("审核")
        APPROVED = "approved", _("审批")
        PUBLISHED = "published", _("发布")
        CORRECTED = "corrected", _("发布后更正")
        WITHDRAWN = "withdrawn", _("撤回")

    # Shown on the public page (by body, never by person).
    PUBLIC_ACTIONS = (
        Action.SUBMITTED,
        Action.REVIEWED,
        Action.APPROVED,
        Action.PUBLISHED,
        Action.CORRECTED,
    )

    disclosure = models.ForeignKey(
        Disclosure,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("公开内容"),
    )
    action = models.CharField(_("操作"), max_length=20, choices=Action.choices)
    from_status = models.CharField(
        _("原状态"), max_length=20, choices=Disclosure.Status.choices
    )
    to_status = models.CharField(
        _("新状态"), max_length=20, choices=Disclosure.Status.choices
    )
    # PROTECT, like every "who" of the records: a staff account that has acted
    # is deactivated (is_active), never deleted, so the record keeps its name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    # The body that acted, and its name as it was then: the public trail shows
    # the name recorded, so renaming a body later rewrites no history.
    body = models.ForeignKey(
        "disclosure.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("经办组织"),
    )
    acting_body = models.CharField(
        _("经办单位"),
        max_length=50,
        help_text=_("公开页面上显示的单位，如 村民委员会、镇纪委。"),
    )
    comment = models.TextField(_("意见或原因"), blank=True)
    secrecy_reviewed = models.BooleanField(
        _("已保密审查"),
        default=False,
        help_text=_("审核时确认：不涉及国家秘密、工作秘密、商业秘密和个人隐私。"),
    )
    secrecy_conclusion = models.TextField(_("保密审查意见"), blank=True)
    migrated = models.BooleanField(
        _("迁移记录"),
        default=False,
        help_text=_("由旧的“审核审批”一步记录拆分而来，当时未单独记录保密审查。"),
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")

    def __str__(self):
        return f"{self.get_action_display()} · {self.acting_body}"
