"""Rows that compose the other apps: the search index and email followers."""

import secrets
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dates import validate_year


class SearchEntry(models.Model):
    """The searchable text of one disclosure or one 回音壁 submission.

    Every row is indexed, whatever its state, with the facts that decide who
    may see it copied from its source on every save (`composition/search.py`,
    from `Disclosure.visibility_facts()` / `Submission.visibility_facts()`), so
    that a search reads this one table. The time of a scheduled publication is
    stored, not its outcome: it shows by itself once `visible_from` passes. The
    name and phone of a submitter are never copied here.
    """

    disclosure = models.OneToOneField(
        "disclosure.Disclosure",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    submission = models.OneToOneField(
        "feedback.Submission",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"), blank=True)
    # Publication (or receipt) time: the order of recent items.
    date = models.DateTimeField(_("时间"), null=True, db_index=True)
    # Visibility facts (see the class docstring): published, or on the wall
    # with consent; hidden before `visible_from` (a scheduled publication);
    # not for the public (党内 or 党组织内部); the branch of a 党组织内部 one,
    # for its members only; a 先党内后党外 one's public date (read as in
    # `DisclosureQuerySet.within_scope`, through `disclosure.models.Reader`).
    live = models.BooleanField(_("已公开"), default=False)
    visible_from = models.DateTimeField(_("公开时间"), null=True, blank=True)
    inner_party = models.BooleanField(_("党内公开"), default=False)
    branch = models.PositiveIntegerField(_("所属党组织"), null=True, blank=True)
    public_from = models.DateTimeField(_("社会公开时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("检索条目")
        verbose_name_plural = _("检索条目")
        # A search page's next change: the first entry holding its words to
        # come due (composition/search.py `next_visible`), read from the few
        # scheduled entries, not from every match of a frequent word.
        indexes = [
            models.Index(
                fields=["visible_from"],
                name="search_visible_from_idx",
                condition=models.Q(visible_from__isnull=False),
            ),
            models.Index(
                fields=["public_from"],
                name="search_public_from_idx",
                condition=models.Q(public_from__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(disclosure__isnull=False, submission__isnull=True)
                | models.Q(disclosure__isnull=True, submission__isnull=False),
                name="search_entry_has_one_source",
            )
        ]

    def __str__(self):
        return self.title


def new_subscription_token() -> str:
    return secrets.token_urlsafe(32)


class Subscription(models.Model):
    """An email address following one unit's board, or the whole town (no unit).

    Personal data: shown on no public page, deleted on unsubscribe, and deleted
    when never confirmed (see `send_digests`).
    """

    email = models.EmailField(_("电子邮箱"))
    unit = models.ForeignKey(
        "disclosure.Unit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("关注单位"),
        help_text=_("留空表示关注全镇。"),
    )
    token = models.CharField(
        max_length=64, unique=True, default=new_subscription_token, editable=False
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    confirmation_sent_at = models.DateTimeField(
        _("确认邮件发送时间"), null=True, blank=True
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    last_sent_on = models.DateField(_("最近摘要日期"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("邮件关注")
        verbose_name_plural = _("邮件关注")
        constraints = [
            models.UniqueConstraint(
                fields=["email", "unit"],
                condition=models.Q(unit__isnull=False),
                name="subscription_unique_per_unit",
            ),
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(unit__isnull=True),
                name="subscription_unique_for_town",
            ),
        ]

    def __str__(self):
        return str(self.unit or _("全镇"))

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    def get_confirm_url(self) -> str:
        return reverse("portal:follow_confirm", args=[self.token])

    def get_unsubscribe_url(self) -> str:
        return reverse("portal:unfollow", args=[self.token])


class AnnualReport(models.Model):
    """The free-text parts of a town's yearly 党务公开 report.

    The report's figures are computed from the records on every view
    (composition/report.py); only the town administrator's words are stored
    here, so nobody can type a figure over what the data says.
    """

    town = models.ForeignKey(
        "disclosure.Unit",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind": "town"},
        verbose_name=_("镇"),
    )
    year = models.PositiveSmallIntegerField(_("年度"), validators=[validate_year])
    overview = models.TextField(
        _("工作概述"), blank=True, help_text=_("纯文本；空行分段。")
    )
    problems = models.TextField(
        _("存在的问题"), blank=True, help_text=_("纯文本；空行分段。")
    )
    plans = models.TextField(
        _("下一年度工作打算"), blank=True, help_text=_("纯文本；空行分段。")
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["-year", "town__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["town", "year"], name="portal_annual_report_town_year"
            )
        ]
        verbose_name = _("党务公开年度报告")
        verbose_name_plural = _("党务公开年度报告")

    def __str__(self):
        return f"{self.town} {self.year}"

    def get_absolute_url(self):
        return reverse("portal:report_town", args=[self.town.slug, self.year])

    def clean(self):
        if self.town_id and self.town.kind != "town":
            raise ValidationError({"town": _("年度报告按镇编写。")})


class GovernmentReportQuerySet(models.QuerySet):
    def published(self) -> "GovernmentReportQuerySet":
        return self.filter(published_at__isnull=False, published_at__lte=Now())


class GovernmentReport(models.Model):
    """What staff write and enter for a town's 政府信息公开工作年度报告
    (条例 2019 arts. 49–50, format of 国办公开办函〔2021〕30号).

    The figures the portal has records for are counted
    (`composition/gov_report.py`): live on a draft, seen by staff only; frozen
    into `figures` when the town administrator publishes it (`published_at`),
    so a published report never changes silently: a later change is a 更正,
    dated and explained on the page (`corrections`). The text parts and the
    figures the portal has no source for are stored, each shown as 填报.
    """

    town = models.ForeignKey(
        "disclosure.Unit",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind": "town"},
        verbose_name=_("镇"),
    )
    year = models.PositiveSmallIntegerField(_("年度"), validators=[validate_year])
    overview = models.TextField(
        _("一、总体情况"), blank=True, help_text=_("纯文本；空行分段。")
    )
    problems = models.TextField(
        _("五、存在的主要问题及改进情况"),
        blank=True,
        help_text=_("纯文本；空行分段。"),
    )
    other_matters = models.TextField(
        _("六、其他需要报告的事项"),
        blank=True,
        help_text=_("纯文本；空行分段。如依申请公开收费情况、人大代表建议办理情况。"),
    )
    # Figures the portal keeps no record of (条例 art. 20 (一), (六), (八)):
    # entered by staff, empty until entered, never a default.
    rules_issued = models.PositiveIntegerField(
        _("规章：本年制发件数"),
        null=True,
        blank=True,
        help_text=_("乡镇人民政府无规章制定权的，填 0。"),
    )
    rules_repealed = models.PositiveIntegerField(
        _("规章：本年废止件数"), null=True, blank=True
    )
    rules_in_force = models.PositiveIntegerField(
        _("规章：现行有效件数"), null=True, blank=True
    )
    normative_repealed = models.PositiveIntegerField(
        _("行政规范性文件：本年废止件数"), null=True, blank=True
    )
    normative_in_force = models.PositiveIntegerField(
        _("行政规范性文件：现行有效件数"), null=True, blank=True
    )
    coercion_decisions = models.PositiveIntegerField(
        _("行政强制：本年处理决定数量"), null=True, blank=True
    )
    fees_amount = models.DecimalField(
        _("行政事业性收费：本年收费金额（万元）"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    published_at = models.DateTimeField(
        _("发布时间"),
        null=True,
        blank=True,
        help_text=_(
            "留空为草稿，仅工作人员可见；应于次年1月31日前发布。"
            "发布后报告中的数字即固定，此后的修改须作为更正并注明说明。"
        ),
    )
    # The tables as published (gov_report.snapshot): frozen when the report
    # is published, replaced only by a 更正; empty for a draft, which shows
    # the live figures.
    figures = models.JSONField(
        _("发布时的统计数字"), null=True, blank=True, editable=False
    )
    # Each 更正 after publication: [{"on": "YYYY-MM-DD", "note": "…"}], shown
    # on the page (gov_report.save).
    corrections = models.JSONField(
        _("更正记录"), default=list, blank=True, editable=False
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = GovernmentReportQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "town__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["town", "year"], name="portal_government_report_town_year"
            )
        ]
        verbose_name = _("政府信息公开工作年度报告")
        verbose_name_plural = _("政府信息公开工作年度报告")

    def __str__(self):
        return f"{self.town} {self.year}"

    def get_absolute_url(self):
        return reverse("portal:gov_report_town", args=[self.town.slug, self.year])

    def clean(self):
        if self.town_id and self.town.kind != "town":
            raise ValidationError({"town": _("年度报告按镇编写。")})
        if self.published_at and self.year:
            if timezone.localdate(self.published_at).year <= self.year:
                raise ValidationError(
                    {"published_at": _("年度报告在该年度结束后发布。")}
                )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None and self.published_at <= timezone.now()

    @property
    def deadline(self):
        """条例 art. 49: by 31 January of the next year."""
        return date(self.year + 1, 1, 31)

    @property
    def on_time(self) -> bool | None:
        if self.published_at is None:
            return None
        return timezone.localdate(self.published_at) <= self.deadline


class DisclosureGuide(models.Model):
    """A town's contact facts for its 公开指南 pages: where and when to apply
    or ask, and the phone to complain to. Entered by the town administrator;
    a fact left empty is shown as not yet given, never guessed."""

    town = models.OneToOneField(
        "disclosure.Unit",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind": "town"},
        verbose_name=_("镇"),
    )
    leading_group = models.TextField(
        _("公开工作领导小组"),
        blank=True,
        help_text=_(
            "组成部门及职责，纯文本，如：由镇纪委、组织办、宣传办、党政办组成。"
        ),
    )
    office = models.CharField(
        _("领导小组办公室（受理机构）"),
        max_length=100,
        blank=True,
        help_text=_("留空则显示本镇的党政办。"),
    )
    address = models.CharField(_("办公地址"), max_length=200, blank=True)
    office_hours = models.CharField(_("办公时间"), max_length=200, blank=True)
    phone = models.CharField(_("咨询电话"), max_length=40, blank=True)
    supervision_phone = models.CharField(_("监督电话"), max_length=40, blank=True)
    postcode = models.CharField(_("邮政编码"), max_length=10, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("公开指南信息")
        verbose_name_plural = _("公开指南信息")

    def __str__(self):
        return str(self.town)

    def clean(self):
        if self.town_id and self.town.kind != "town":
            raise ValidationError({"town": _("公开指南按镇编写。")})
