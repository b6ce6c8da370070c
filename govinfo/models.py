"""Applications for government information (依申请公开, 政府信息公开条例 2019
arts. 27–45), their trail, and the 行政复议 / 行政诉讼 brought about them.

The applicant's particulars are personal data: read by the handling staff in
the back office only; no public page, search, feed or export shows them (the
model is declared private; the tracking page shows the case's progress only).
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import clock
from .validators import validate_credit_code, validate_id_number

# No 0/O, 1/I/L: a code read out over the phone or copied from paper stays right.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str:
    return "".join(raw.split()).replace("-", "").upper()[:20]


class ApplicantKind(models.TextChoices):
    """The columns of the national report's table 三."""

    CITIZEN = "citizen", _("自然人")
    BUSINESS = "business", _("商业企业")
    RESEARCH = "research", _("科研机构")
    WELFARE = "welfare", _("社会公益组织")
    LEGAL = "legal", _("法律服务机构")
    OTHER = "other", _("其他")


class Channel(models.TextChoices):
    ONLINE = "online", _("网上申请")
    LETTER = "letter", _("信函")
    IN_PERSON = "in_person", _("当面")
    FAX = "fax", _("传真")
    EMAIL = "email", _("电子邮件")
    OTHER = "other", _("其他")


class Delivery(models.TextChoices):
    PAPER = "paper", _("纸质")
    EMAIL = "email", _("电子邮件")
    ONLINE = "online", _("网上领取")


class Result(models.TextChoices):
    """Art. 36, in the rows of the national table 三."""

    DISCLOSED = "disclosed", _("予以公开")
    PARTLY = "partly", _("部分公开")
    REFUSED = "refused", _("不予公开")
    UNAVAILABLE = "unavailable", _("无法提供")
    NOT_PROCESSED = "not_processed", _("不予处理")
    OTHER = "other", _("其他处理")


class Ground(models.TextChoices):
    """The subtypes of the national table 三, each under one Result."""

    SECRET = "secret", _("属于国家秘密")
    LAW_FORBIDS = "law_forbids", _("其他法律行政法规禁止公开")
    SECURITY = "security", _("危及“三安全一稳定”")
    THIRD_PARTY = "third_party", _("保护第三方合法权益")
    INTERNAL = "internal", _("属于三类内部事务信息")
    PROCESS = "process", _("属于四类过程性信息")
    ENFORCEMENT = "enforcement", _("属于行政执法案卷")
    QUERY = "query", _("属于行政查询事项")
    NOT_HELD = "not_held", _("本机关不掌握相关政府信息")
    # Art. 36(五): held by, or to be disclosed by, another body. The national
    # table has no row of its own for it: counted under NOT_HELD (COUNTED_AS).
    NOT_THIS_BODY = "not_this_body", _("不属于本机关负责公开")
    NEEDS_MAKING = "needs_making", _("没有现成信息需要另行制作")
    STILL_UNCLEAR = "still_unclear", _("补正后申请内容仍不明确")
    PETITION = "petition", _("信访举报投诉类申请")
    REPEATED = "repeated", _("重复申请")
    PUBLICATION = "publication", _("要求提供公开出版物")
    MASS = "mass", _("无正当理由大量反复申请")
    CONFIRM = "confirm", _("要求行政机关确认或重新出具已获取信息")
    NO_CORRECTION = (
        "no_correction",
        _("申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    )
    NO_FEE = (
        "no_fee",
        _("申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    )
    OTHER = "other", _("其他")


GROUNDS = {
    Result.DISCLOSED: [],
    Result.PARTLY: [],
    Result.REFUSED: [
        Ground.SECRET,
        Ground.LAW_FORBIDS,
        Ground.SECURITY,
        Ground.THIRD_PARTY,
        Ground.INTERNAL,
        Ground.PROCESS,
        Ground.ENFORCEMENT,
        Ground.QUERY,
    ],
    Result.UNAVAILABLE: [
        Ground.NOT_HELD,
        Ground.NOT_THIS_BODY,
        Ground.NEEDS_MAKING,
        Ground.STILL_UNCLEAR,
    ],
    Result.NOT_PROCESSED: [
        Ground.PETITION,
        Ground.REPEATED,
        Ground.PUBLICATION,
        Ground.MASS,
        Ground.CONFIRM,
    ],
    Result.OTHER: [Ground.NO_CORRECTION, Ground.NO_FEE, Ground.OTHER],
}


# Grounds the national table (国办公开办函〔2021〕30号, table 三) counts in
# another ground's row: 非本机关负责 is reported as 本机关不掌握相关政府信息.
COUNTED_AS = {Ground.NOT_THIS_BODY: Ground.NOT_HELD}


class InfoRequestQuerySet(models.QuerySet):
    def open(self) -> "InfoRequestQuerySet":
        return self.filter(answered_on__isnull=True)

    def overdue(self, today=None) -> "InfoRequestQuerySet":
        today = today or timezone.localdate()
        return self.open().filter(due_on__lt=today)

    def queue_order(self) -> "InfoRequestQuerySet":
        """Open first, the earliest deadline first (overdue on top); a stopped
        clock (no deadline) after the running ones."""
        return self.order_by(
            models.F("answered_on").desc(nulls_first=True),
            models.F("due_on").asc(nulls_last=True),
            "received_on",
            "id",
        )


class InfoRequest(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("办理中")
        CORRECTION = "correction", _("待申请人补正")
        CONSULTING = "consulting", _("征求第三方意见")
        SUBMITTED = "submitted", _("答复待审核")
        ANSWERED = "answered", _("已答复")

    unit = models.ForeignKey(
        "disclosure.Unit",
        on_delete=models.PROTECT,
        related_name="info_requests",
        verbose_name=_("受理机关"),
    )
    code = models.CharField(
        _("受理编号"), max_length=CODE_LENGTH, unique=True, editable=False
    )
    channel = models.CharField(
        _("申请方式"), max_length=12, choices=Channel.choices, default=Channel.ONLINE
    )
    applicant_kind = models.CharField(
        _("申请人类型"),
        max_length=12,
        choices=ApplicantKind.choices,
        default=ApplicantKind.CITIZEN,
    )
    # The applicant (personal data: staff only).
    name = models.CharField(_("申请人姓名或名称"), max_length=100)
    id_number = models.CharField(
        _("身份证号码"), max_length=18, blank=True, validators=[validate_id_number]
    )
    credit_code = models.CharField(
        _("统一社会信用代码"),
        max_length=18,
        blank=True,
        validators=[validate_credit_code],
    )
    contact_person = models.CharField(_("联系人"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    address = models.CharField(_("通信地址"), max_length=200, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    # What is asked for.
    description = models.TextField(_("所需政府信息的内容描述"), max_length=2000)
    document_number = models.CharField(_("文件名称或文号"), max_length=200, blank=True)
    purpose = models.CharField(_("用途（选填）"), max_length=200, blank=True)
    delivery = models.CharField(
        _("获取信息的方式"),
        max_length=10,
        choices=Delivery.choices,
        default=Delivery.ONLINE,
    )
    consent = models.BooleanField(_("已阅读申请须知"), default=False)
    form_token = models.CharField(max_length=64, blank=True, editable=False)
    # The clock (clock.py): kept by services.refresh_clock from the events.
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    received_on = models.DateField(
        _("收到申请日期"),
        help_text=_("当面提交为提交之日；邮寄为签收之日；网上、传真为双方确认之日。"),
    )
    status = models.CharField(
        _("状态"),
        max_length=12,
        choices=Status.choices,
        default=Status.RECEIVED,
        editable=False,
    )
    due_on = models.DateField(_("答复期限"), null=True, editable=False)
    extended_days = models.PositiveSmallIntegerField(
        _("延长工作日"), default=0, editable=False
    )
    extension_reason = models.TextField(_("延期理由"), blank=True, editable=False)
    # The answer: drafted by the handling staff, approved by a reviewer.
    result = models.CharField(
        _("答复类型"), max_length=16, choices=Result.choices, blank=True
    )
    ground = models.CharField(
        _("理由（国家统计表分类）"), max_length=16, choices=Ground.choices, blank=True
    )
    # Art. 36(五): the body responsible for the information, if it is known.
    responsible_body = models.CharField(
        _("负责公开该信息的行政机关"), max_length=100, blank=True, editable=False
    )
    responsible_contact = models.CharField(
        _("该机关的联系方式"), max_length=200, blank=True, editable=False
    )
    answer_text = models.TextField(
        _("答复内容"),
        blank=True,
        help_text=_("公开的信息或获取途径、不予公开的具体理由及依据、相关机关等。"),
    )
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("拟稿人"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("审核人"),
    )
    answered_on = models.DateField(_("答复日期"), null=True, blank=True, editable=False)
    released_as = models.ForeignKey(
        "disclosure.Disclosure",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="info_requests",
        editable=False,
        verbose_name=_("转为主动公开"),
    )

    objects = InfoRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("政府信息公开申请")
        verbose_name_plural = _("政府信息公开申请")
        permissions = [("approve_inforequest", _("审核政府信息公开答复"))]
        indexes = [
            models.Index(fields=["unit", "received_on"], name="govinfo_unit_recv_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["form_token"],
                condition=~models.Q(form_token=""),
                name="govinfo_form_token_unique",
            ),
        ]

    def __str__(self):
        return f"{self.code}"

    def save(self, *args, **kwargs):
        if not self.code:
            self.code = self._free_code()
        if self.due_on is None and self.status == self.Status.RECEIVED:
            self.due_on = clock.run(self.received_on, []).due_on
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        if self.applicant_kind == ApplicantKind.CITIZEN:
            if self.channel == Channel.ONLINE and not self.id_number:
                errors["id_number"] = _("请填写身份证号码。")
        elif self.channel == Channel.ONLINE and not self.credit_code:
            errors["credit_code"] = _("请填写统一社会信用代码。")
        if not (self.phone or self.address or self.email):
            errors["phone"] = _("请至少填写一种联系方式（电话、地址或电子邮箱）。")
        if self.delivery == Delivery.EMAIL and not self.email:
            errors["email"] = _("选择电子邮件获取时请填写电子邮箱。")
        if self.result and self.ground not in [""] + list(GROUNDS[self.result]):
            errors["ground"] = _("所选理由不属于该答复类型。")
        if self.result and GROUNDS[self.result] and not self.ground:
            errors["ground"] = _("请选择理由。")
        if self.responsible_contact and not self.responsible_body:
            errors["responsible_body"] = _("填写联系方式时请同时填写该机关的名称。")
        if self.received_on and self.received_on > timezone.localdate():
            # The clock and the year's statistics count from it (art. 31).
            errors["received_on"] = _("收到申请日期不能晚于今天。")
        if errors:
            raise ValidationError(errors)

    def get_tracking_url(self):
        return reverse("govinfo:track_code", args=[self.code])

    @property
    def is_open(self) -> bool:
        return self.answered_on is None

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.is_open and self.due_on is not None and self.due_on < today

    @property
    def is_organisation(self) -> bool:
        return self.applicant_kind != ApplicantKind.CITIZEN

    @property
    def masked_name(self) -> str:
        """The applicant as a page reached by the code shows them: the first
        character only."""
        return (self.name[:1] + "**") if self.name else ""

    @staticmethod
    def _free_code() -> str:
        while True:
            code = new_code()
            if not InfoRequest.objects.filter(code=code).exists():
                return code


class InfoRequestEvent(models.Model):
    """One row per step of an application: its trail, its clock and the basis
    of its statistics. Never changed or deleted."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("收到申请")
        CORRECTION = clock.CORRECTION, _("告知补正")
        CORRECTED = clock.CORRECTED, _("收到补正")
        CONSULT = clock.CONSULT, _("征求第三方意见")
        CONSULTED = clock.CONSULTED, _("第三方意见返回")
        EXTEND = clock.EXTEND, _("延长答复期限")
        DRAFTED = "drafted", _("拟定答复")
        RETURNED = "returned", _("答复退回修改")
        ANSWERED = "answered", _("审核通过并答复")
        ABANDONED = "abandoned", _("逾期未补正，视为放弃")
        RELEASED = "released", _("转为主动公开")
        REMEDY = "remedy", _("行政复议或诉讼")
        NOTE = "note", _("备注")

    request = models.ForeignKey(
        InfoRequest,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("申请"),
    )
    kind = models.CharField(_("事件"), max_length=12, choices=Kind.choices)
    on = models.DateField(_("日期"), default=timezone.localdate)
    days = models.PositiveSmallIntegerField(_("工作日数"), default=0)
    at = models.DateTimeField(_("记录时间"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")

    def __str__(self):
        return f"{self.request.code} {self.get_kind_display()}"


class Remedy(models.Model):
    """A 行政复议 or 行政诉讼 about the town's government information work,
    recorded by staff with its outcome (the national table 四)."""

    class Kind(models.TextChoices):
        REVIEW = "review", _("行政复议")
        SUIT = "suit", _("行政诉讼（未经复议直接起诉）")
        SUIT_AFTER_REVIEW = "suit_after_review", _("行政诉讼（复议后起诉）")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("尚未审结")
        UPHELD = "upheld", _("结果维持")
        CORRECTED = "corrected", _("结果纠正")
        OTHER = "other", _("其他结果")

    unit = models.ForeignKey(
        "disclosure.Unit",
        on_delete=models.PROTECT,
        related_name="info_remedies",
        verbose_name=_("被申请机关"),
    )
    request = models.ForeignKey(
        InfoRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="remedies",
        verbose_name=_("所涉申请"),
    )
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    filed_on = models.DateField(_("收到复议申请或起诉日期"))
    outcome = models.CharField(
        _("结果"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING
    )
    decided_on = models.DateField(_("审结日期"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["-filed_on", "-id"]
        verbose_name = _("行政复议、行政诉讼")
        verbose_name_plural = _("行政复议、行政诉讼")

    def __str__(self):
        return f"{self.get_kind_display()} {self.filed_on}"

    def clean(self):
        if self.request_id and self.unit_id and self.request.unit_id != self.unit_id:
            # Table 四 counts a town's cases: one about another town's answer
            # would be counted in the wrong report.
            raise ValidationError({"request": _("所涉申请不是该机关受理的申请。")})
        if (self.outcome == self.Outcome.PENDING) != (self.decided_on is None):
            raise ValidationError(
                {"decided_on": _("已审结的须填写审结日期；尚未审结的不填。")}
            )
        if self.decided_on and self.filed_on and self.decided_on < self.filed_on:
            raise ValidationError({"decided_on": _("审结日期不能早于收到日期。")})
