import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .disclosures import Disclosure
from .units import KeptForDisclosure


def attachment_path(instance, filename: str) -> str:
    # Random names: an uploader's file name may carry personal data.
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


def thumbnail_path(instance, filename: str) -> str:
    return f"thumbnails/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.jpg"


class Attachment(KeptForDisclosure, models.Model):
    class Kind(models.TextChoices):
        POSTING_PHOTO = "posting", _("张贴照片")
        PHOTO = "photo", _("照片")
        DOCUMENT = "document", _("文件（PDF）")

    disclosure = models.ForeignKey(
        Disclosure,
        on_delete=models.CASCADE,
        related_name="attachments",
        verbose_name=_("公开内容"),
    )
    kind = models.CharField(
        _("类型"), max_length=20, choices=Kind.choices, default=Kind.PHOTO
    )
    title = models.CharField(_("说明"), max_length=100, blank=True)
    file = models.FileField(_("文件"), upload_to=attachment_path)
    thumbnail = models.ImageField(
        _("缩略图"), upload_to=thumbnail_path, blank=True, editable=False
    )
    content_type = models.CharField(_("文件类型"), max_length=50, editable=False)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("上传人"),
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self):
        return self.title or self.get_kind_display()

    def get_absolute_url(self):
        return reverse("disclosure:attachment", args=[self.pk])

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def thumbnail_url(self) -> str:
        return reverse("disclosure:attachment_thumbnail", args=[self.pk])
