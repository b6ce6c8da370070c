"""Checking and cleaning uploaded attachments.

Types are decided by content, never by file name: Pillow must open and verify
an image, and a PDF must start with its header. Photos are re-encoded from
their pixels, which drops EXIF (GPS positions of people's homes must not
leak) and anything hidden after the image data.
"""

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
THUMBNAIL_SIZE = (320, 320)


@dataclass
class CleanFile:
    content: ContentFile
    content_type: str
    thumbnail: ContentFile | None


def max_bytes() -> int:
    return settings.ATTACHMENT_MAX_MB * 1024 * 1024


def clean_upload(upload) -> CleanFile:
    """Validate an upload and return a safe copy, or raise ValidationError."""
    if upload.size > max_bytes():
        raise ValidationError(
            _("文件过大（%(size).1f MB），单个附件不能超过 %(max)s MB。")
            % {"size": upload.size / 1024 / 1024, "max": settings.ATTACHMENT_MAX_MB}
        )
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-":
        return CleanFile(ContentFile(upload.read()), "application/pdf", None)
    return _clean_image(upload)


def _clean_image(upload) -> CleanFile:
    error = ValidationError(
        _("只能上传 JPEG、PNG、WebP 图片或 PDF 文件，该文件无法识别。")
    )
    try:
        with Image.open(upload) as probe:
            image_format = probe.format
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            if image.width * image.height > settings.ATTACHMENT_MAX_PIXELS:
                raise ValidationError(_("图片像素过大，请缩小后再上传。"))
            image.load()
            image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise error from None
    if image_format not in IMAGE_FORMATS:
        raise error
    # Rebuilding from pixels carries no metadata across.
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    save_format = (
        image_format if image_format != "JPEG" or clean.mode != "RGBA" else "PNG"
    )
    clean.save(
        out, format=save_format, **({"quality": 88} if save_format == "JPEG" else {})
    )
    return CleanFile(
        ContentFile(out.getvalue()), IMAGE_FORMATS[save_format], _thumbnail(clean)
    )


def _thumbnail(image: Image.Image) -> ContentFile:
    thumb = image.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=80)
    return ContentFile(out.getvalue())
