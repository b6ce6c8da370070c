"""Rows that compose the other apps: the search index and email followers."""

import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
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
