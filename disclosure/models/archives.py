from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dates import validate_year

from .units import Unit


class ClosedYear(models.Model):
    """A year the town administrator has closed (归档): its disclosures are
    sealed, so a change is a recorded correction, never an editor's edit."""

    year = models.PositiveSmallIntegerField(
        _("年度"), unique=True, validators=[validate_year]
    )
    closed_at = models.DateTimeField(_("归档时间"), default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("归档人"),
    )

    class Meta:
        ordering = ["-year"]
        verbose_name = _("已归档年度")
        verbose_name_plural = _("已归档年度")

    def __str__(self):
        return _("%(year)s年度") % {"year": self.year}

    def clean(self):
        if self.year is not None and self.year >= timezone.localdate().year:
            raise ValidationError({"year": _("只能归档已经结束的年度。")})


class ArchiveExport(models.Model):
    """One yearly archive file written (统一公开资料档案), with the checksum of
    its manifest, so that a copy can later be shown to be unaltered."""

    year = models.PositiveSmallIntegerField(_("年度"))
    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("单位"),
        help_text=_("留空表示全镇。"),
    )
    filename = models.CharField(_("文件名"), max_length=200)
    manifest_sha256 = models.CharField(
        _("清单校验值（SHA-256）"), max_length=64, db_index=True
    )
    disclosure_count = models.PositiveIntegerField(_("公开内容条数"), default=0)
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("生成人"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("档案导出记录")
        verbose_name_plural = _("档案导出记录")

    def __str__(self):
        return self.filename
