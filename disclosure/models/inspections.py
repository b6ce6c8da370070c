"""督查考核 records: a spot check of a unit's board by the county's inspector
(督查员), scored on the five criteria of 党务公开条例 ch. IV, and the
rectification notices (整改通知) it gives, with their completion.

The town sees them in the admin; the public pages show only their counts
(checks, open and overdue 整改), never the inspector's name. The photos of a
check (InspectionPhoto) are served to the staff who may read the check
(disclosure.views.inspection_photo), never from a public URL. Who may change
what: disclosure/inspection_rules.py.
"""

import uuid
from datetime import date
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .units import KeptForUnit, Unit

# The five criteria, as the settings' COMPLIANCE_CRITERIA_WEIGHTS name them.
CRITERIA = (
    ("complete", _("内容全面真实")),
    ("form", _("公开形式")),
    ("procedure", _("公开程序")),
    ("timeliness", _("公开及时")),
    ("feedback", _("意见处理")),
)
SCORE_HELP = _("0–100 分。")


def score_field(label, help_text=SCORE_HELP):
    return models.PositiveSmallIntegerField(
        label,
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=help_text,
    )


class Inspection(KeptForUnit, models.Model):
    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="inspections",
        limit_choices_to=~models.Q(kind=Unit.Kind.COUNTY),
        verbose_name=_("被检查单位"),
    )
    inspected_on = models.DateField(_("检查日期"), default=timezone.localdate)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="inspections",
        editable=False,
        verbose_name=_("督查员"),
    )
    findings = models.TextField(_("检查发现"), blank=True)
    score_complete = score_field(_("内容全面真实"))
    score_form = score_field(_("公开形式"))
    score_procedure = score_field(_("公开程序"))
    score_timeliness = score_field(
        _("公开及时"), _("0–100 分；新建时按检查当年的按时公开率预填。")
    )
    score_feedback = score_field(
        _("意见处理"), _("0–100 分；新建时按检查当年回音壁按期答复率预填。")
    )

    class Meta:
        ordering = ["-inspected_on", "-id"]
        verbose_name = _("督查记录")
        verbose_name_plural = _("督查记录")

    def __str__(self):
        return f"{self.unit.name} · {self.inspected_on:%Y-%m-%d}"

    def scores(self) -> dict[str, int | None]:
        return {key: getattr(self, f"score_{key}") for key, _label in CRITERIA}

    @property
    def total(self) -> float | None:
        """The weighted score (settings.COMPLIANCE_CRITERIA_WEIGHTS) over the
        criteria scored; None until one is."""
        return weighted_total(self.scores())


def weighted_total(scores: dict[str, int | None]) -> float | None:
    weights = settings.COMPLIANCE_CRITERIA_WEIGHTS
    scored = {k: v for k, v in scores.items() if v is not None and weights.get(k)}
    weight = sum(weights[k] for k in scored)
    if not weight:
        return None
    return round(sum(weights[k] * v for k, v in scored.items()) / weight, 1)


class RectificationQuerySet(models.QuerySet):
    def open(self) -> "RectificationQuerySet":
        return self.filter(completed_on__isnull=True)

    def overdue(self, as_of: date) -> "RectificationQuerySet":
        return self.open().filter(deadline__lt=as_of)


class Rectification(KeptForUnit, models.Model):
    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="rectifications",
        limit_choices_to=~models.Q(kind=Unit.Kind.COUNTY),
        verbose_name=_("整改单位"),
    )
    inspection = models.ForeignKey(
        Inspection,
        on_delete=models.PROTECT,
        related_name="rectifications",
        verbose_name=_("督查记录"),
    )
    issue = models.TextField(_("整改事项"))
    deadline = models.DateField(_("整改期限"))
    completed_on = models.DateField(_("完成日期"), null=True, blank=True)
    completion_note = models.TextField(_("整改情况"), blank=True)

    objects = RectificationQuerySet.as_manager()

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("整改通知")
        verbose_name_plural = _("整改通知")

    def __str__(self):
        return f"{self.unit.name} · {self.deadline:%Y-%m-%d}"

    def clean(self):
        # The notice goes to the unit checked, or a village under the town checked.
        if self.unit_id and self.inspection_id:
            checked = self.inspection.unit_id
            if checked not in (self.unit_id, self.unit.parent_id):
                raise ValidationError(
                    {"unit": _("整改单位须是被检查单位或其下属村（社区）。")}
                )

    def is_overdue(self, as_of: date | None = None) -> bool:
        as_of = as_of or timezone.localdate()
        return self.completed_on is None and self.deadline < as_of


def photo_path(instance, filename: str) -> str:
    # Random names: an uploader's file name may carry personal data.
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"inspections/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


def photo_thumbnail_path(instance, filename: str) -> str:
    return f"inspections/thumbnails/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.jpg"


class InspectionPhoto(models.Model):
    """A photo of the board taken at a check, cleaned as attachments are
    (disclosure.uploads.clean_photo: no EXIF or GPS, re-encoded)."""

    inspection = models.ForeignKey(
        Inspection,
        on_delete=models.CASCADE,
        related_name="photos",
        verbose_name=_("督查记录"),
    )
    image = models.FileField(_("照片"), upload_to=photo_path)
    thumbnail = models.ImageField(
        _("缩略图"), upload_to=photo_thumbnail_path, blank=True, editable=False
    )
    content_type = models.CharField(_("文件类型"), max_length=50, editable=False)
    caption = models.CharField(_("说明"), max_length=100, blank=True)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("督查照片")
        verbose_name_plural = _("督查照片")

    def __str__(self):
        return self.caption or str(_("督查照片"))

    def get_absolute_url(self):
        return reverse("disclosure:inspection_photo", args=[self.pk])

    @property
    def thumbnail_url(self) -> str:
        return reverse("disclosure:inspection_photo_thumbnail", args=[self.pk])


def remove_photo_files(sender, instance: InspectionPhoto, **kwargs) -> None:
    """A photo removed (a wrong one may show a person) leaves no file behind,
    once the deletion is committed (connected in DisclosureConfig.ready())."""
    files = [f for f in (instance.image, instance.thumbnail) if f]
    names = [(f.storage, f.name) for f in files]
    transaction.on_commit(
        lambda: [storage.delete(name) for storage, name in names], robust=True
    )
