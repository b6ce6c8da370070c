"""Checking and cleaning uploaded attachments.

Types are decided by content, never by file name: Pillow must open and verify
an image, and a PDF must start with its header and open in pikepdf (qpdf).
Photos are re-encoded from their pixels, which drops EXIF (GPS positions of
people's homes must not leak) and anything hidden after the image data.

PDFs are rewritten by qpdf without what identifies people or places: the
document information (Author, Creator, Producer…), XMP metadata wherever it
is attached, applications' private data (PieceInfo), earlier revisions kept
by incremental saves, and in every JPEG inside (also those written inside a
page's content, as inline images), the EXIF, XMP and IPTC segments, comments
and thumbnails (the compressed picture is copied as it is, not re-encoded).
A PDF that does something or carries something of its own (JavaScript,
launch actions, embedded files, XFA forms) or is digitally signed
(rewriting it would break the signature) is refused with the reason, as is
one that is encrypted or damaged: it is never stored uncleaned, and
nothing but metadata is ever taken out of it silently.
"""

import io
import logging
from dataclasses import dataclass

import pikepdf
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
THUMBNAIL_SIZE = (320, 320)


@dataclass
class CleanFile:
    content: ContentFile
    content_type: str
    thumbnail: ContentFile | None


def max_bytes() -> int:
    return settings.ATTACHMENT_MAX_MB * 1024 * 1024


def _check_size(upload) -> None:
    if upload.size > max_bytes():
        raise ValidationError(
            _("文件过大（%(size).1f MB），单个附件不能超过 %(max)s MB。")
            % {"size": upload.size / 1024 / 1024, "max": settings.ATTACHMENT_MAX_MB}
        )


def clean_upload(upload) -> CleanFile:
    """Validate an upload and return a safe copy, or raise ValidationError."""
    _check_size(upload)
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-":
        return CleanFile(ContentFile(clean_pdf(upload.read())), "application/pdf", None)
    return _clean_image(upload)


def clean_photo(upload) -> CleanFile:
    """A photo only (a 督查 photo of a board), checked and cleaned as an
    attachment's photo is; a PDF or any other file is refused."""
    _check_size(upload)
    upload.seek(0)
    return _clean_image(
        upload, _("只能上传 JPEG、PNG 或 WebP 格式的照片，该文件不是可识别的图片。")
    )


def _clean_image(upload, unrecognised: str | None = None) -> CleanFile:
    error = ValidationError(
        unrecognised or _("只能上传 JPEG、PNG、WebP 图片或 PDF 文件，该文件无法识别。")
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


# PDFs -------------------------------------------------------------------------

# Keys whose values are metadata about people, software or places.
PDF_METADATA_KEYS = ("/Metadata", "/PieceInfo")
# Keys of what a notice never needs and a viewer might run or open.
PDF_ACTIVE_KEYS = {
    "/JS": "script",
    "/JavaScript": "script",
    "/EmbeddedFiles": "file",
    "/EF": "file",
    "/XFA": "script",
}
PDF_ACTIVE_ACTIONS = {
    "/JavaScript": "script",
    "/Launch": "script",
    "/ImportData": "script",
    "/RichMediaExecute": "script",
}
PDF_FILTERS = {
    "/ASCIIHexDecode",
    "/ASCII85Decode",
    "/LZWDecode",
    "/FlateDecode",
    "/RunLengthDecode",
    "/CCITTFaxDecode",
    "/JBIG2Decode",
    "/DCTDecode",
    "/JPXDecode",
    "/Crypt",
}
SIGNATURE_TYPES = (pikepdf.Name.Sig, pikepdf.Name.DocTimeStamp)
# JPEG segments kept: JFIF (APP0, without a thumbnail), the colour profile
# (APP2 ICC_PROFILE) and Adobe's colour transform (APP14), which decoding
# needs; other APPn (EXIF and XMP in APP1, IPTC in APP13…) and comments go.
JPEG_KEPT_APP = {0xEE}


class UncleanablePdf(Exception):
    """A PDF that cannot be cleaned; the message is the form error."""


def clean_pdf(data: bytes) -> bytes:
    """A copy of the PDF without metadata, or ValidationError with the reason."""
    try:
        return _clean_pdf(data)
    except UncleanablePdf as exc:
        raise ValidationError(str(exc)) from None
    except Exception as exc:
        # Whatever qpdf or a stream's filters make of a malformed file, the
        # uploader gets an answer, not a 500; the cause goes to the log.
        logger.warning("PDF upload could not be cleaned", exc_info=True)
        raise ValidationError(_damaged_message()) from exc


def _damaged_message() -> str:
    return _(
        "该 PDF 文件已损坏或格式不规范，无法去除其中的作者、软件和照片位置等"
        "信息，未能上传。请用 WPS 或 Office 重新导出（另存为）PDF 后再上传。"
    )


def _clean_pdf(data: bytes) -> bytes:
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise UncleanablePdf(_encrypted_message()) from None
    with pdf:
        if pdf.is_encrypted:
            raise UncleanablePdf(_encrypted_message())
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        _strip_inline_jpegs(pdf)
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                _strip_jpeg_stream(obj)
            for node in _dictionaries(obj):
                _refuse_active(node)
                for key in PDF_METADATA_KEYS:
                    if key in node:
                        del node[key]
        out = io.BytesIO()
        pdf.save(
            out,
            preserve_pdfa=False,
            fix_metadata_version=False,
            encryption=False,
        )
        # qpdf repairs what it can, with a warning: a repaired file may not be
        # what was meant to be published, so it is refused, not guessed at.
        if pdf.get_warnings():
            raise UncleanablePdf(_damaged_message())
    return out.getvalue()


def _dictionaries(obj):
    """An object of the file and the dictionaries written inside it; those it
    refers to are objects of the file themselves (`Pdf.objects`)."""
    if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        yield obj
        children = obj.values()
    elif isinstance(obj, pikepdf.Array):
        children = obj
    else:
        return
    for child in children:
        if isinstance(child, pikepdf.Object) and not child.is_indirect:
            yield from _dictionaries(child)


def _encrypted_message() -> str:
    return _(
        "该 PDF 文件已加密（设有打开密码或权限密码），无法去除其中的作者、"
        "软件和照片位置等信息，未能上传。请导出不加密的 PDF 后再上传。"
    )


# Comments and mark-ups (PDF 1.7, 12.5.6.2): their /T is the name of who made
# them, which a viewer shows. A form field's /T is its name, and stays.
MARKUP_ANNOTATIONS = {
    pikepdf.Name(f"/{kind}")
    for kind in (
        "Text FreeText Line Square Circle Polygon PolyLine Highlight Underline "
        "Squiggly StrikeOut Stamp Caret Ink FileAttachment Sound Redact"
    ).split()
}


def _refuse_active(obj) -> None:
    found = {kind for key, kind in PDF_ACTIVE_KEYS.items() if key in obj}
    action = obj.get("/S")
    if isinstance(action, pikepdf.Name) and str(action) in PDF_ACTIVE_ACTIONS:
        found.add(PDF_ACTIVE_ACTIONS[str(action)])
    if "/ByteRange" in obj or obj.get("/Type") in SIGNATURE_TYPES:
        raise UncleanablePdf(
            _(
                "该 PDF 文件带有数字签名（电子签章），去除作者等信息会使签名失效，"
                "未能上传。请上传未签名的版本，或将签章文件扫描后以图片上传。"
            )
        )
    if "script" in found:
        raise UncleanablePdf(
            _(
                "该 PDF 文件含有脚本或自动执行的动作，公开内容不能带有这些，"
                "未能上传。请用 WPS 或 Office 重新导出（另存为）PDF 后再上传。"
            )
        )
    if obj.get("/Subtype") in MARKUP_ANNOTATIONS and "/T" in obj:
        raise UncleanablePdf(
            _(
                "该 PDF 文件带有批注，批注会显示批注人的姓名，未能上传。请删除批注，"
                "或用“打印为 PDF”另存一份不带批注的文件后再上传。"
            )
        )
    if "file" in found:
        raise UncleanablePdf(
            _(
                "该 PDF 文件内嵌有其他文件（附件），未能上传。请去掉内嵌的附件后"
                "再上传；需要公开的文件请作为单独的附件上传。"
            )
        )


def _strip_jpeg_stream(stream: pikepdf.Stream) -> None:
    filters = stream.get("/Filter")
    names = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
    names = [name for name in names if name is not None]
    # A filter no reader knows could hide a photo this cannot see into.
    if any(str(name) not in PDF_FILTERS for name in names) or (
        pikepdf.Name.DCTDecode in names[:-1]
    ):
        raise UncleanablePdf(_damaged_message())
    if not names or names[-1] != pikepdf.Name.DCTDecode:
        return
    params = stream.get("/DecodeParms")
    params = list(params) if isinstance(params, pikepdf.Array) else [params]
    if len(names) == 1:
        jpeg = stream.read_raw_bytes()
    else:
        # Undo the filters before DCTDecode (e.g. Flate over the JPEG) only.
        stream.Filter = pikepdf.Array(names[:-1])
        if len(params) == len(names):
            stream.DecodeParms = pikepdf.Array(
                p if p is not None else pikepdf.Null() for p in params[:-1]
            )
        elif "/DecodeParms" in stream:
            del stream["/DecodeParms"]
        jpeg = stream.read_bytes()
    dct_params = params[-1] if len(params) == len(names) else None
    stream.write(
        strip_jpeg_metadata(jpeg),
        filter=pikepdf.Name.DCTDecode,
        decode_parms=dct_params if isinstance(dct_params, pikepdf.Dictionary) else None,
    )


def _strip_inline_jpegs(pdf: pikepdf.Pdf) -> None:
    """Photos written inside content streams (inline images: pages, form
    XObjects, tiling patterns, Type 3 glyphs) lose their metadata like those
    in streams of their own. A content stream is written again only when it
    holds such a photo; the rest of it is copied instruction by instruction."""
    for page in pdf.pages:
        contents = page.obj.get("/Contents")
        parts = contents if isinstance(contents, pikepdf.Array) else [contents]
        raw = b"\n".join(
            part.read_bytes() for part in parts if isinstance(part, pikepdf.Stream)
        )
        if _may_hold_inline_jpeg(raw):
            rewritten = _without_inline_jpeg_metadata(page)
            if rewritten is not None:
                page.obj.Contents = pdf.make_stream(rewritten)
    for obj in list(pdf.objects):
        streams = []
        if isinstance(obj, pikepdf.Stream) and (
            obj.get("/Subtype") == pikepdf.Name.Form or "/PatternType" in obj
        ):
            streams.append(obj)
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) and isinstance(
            obj.get("/CharProcs"), pikepdf.Dictionary
        ):
            streams.extend(obj.CharProcs.values())
        for stream in streams:
            if isinstance(stream, pikepdf.Stream) and _may_hold_inline_jpeg(
                stream.read_bytes()
            ):
                rewritten = _without_inline_jpeg_metadata(stream)
                if rewritten is not None:
                    stream.write(rewritten)


def _may_hold_inline_jpeg(content: bytes) -> bool:
    # Cheap: parsing every content stream of a long document is not.
    return b"ID" in content and b"/DCT" in content


def _without_inline_jpeg_metadata(content_owner) -> bytes | None:
    """The content stream with its inline JPEGs stripped, or None if it has none."""
    written, run, changed = [], [], False
    for instruction in pikepdf.parse_content_stream(content_owner):
        image = getattr(instruction, "iimage", None)
        if image is None or "/DCTDecode" not in image.filters:
            run.append(instruction)
            continue
        if image.filters != ["/DCTDecode"]:  # another filter over the JPEG
            raise UncleanablePdf(_damaged_message())
        jpeg = image.read_raw_bytes()
        inline = image.unparse()  # BI <dictionary> ID <jpeg> EI
        at = inline.rindex(jpeg)
        written += [
            pikepdf.unparse_content_stream(run),
            inline[:at] + strip_jpeg_metadata(jpeg) + inline[at + len(jpeg) :],
        ]
        run, changed = [], True
    if not changed:
        return None
    written.append(pikepdf.unparse_content_stream(run))
    return b"\n".join(written)


def strip_jpeg_metadata(jpeg: bytes) -> bytes:
    """The JPEG without its metadata segments, and without anything after its
    end (a second picture of the multi-picture format, with its own EXIF); the
    compressed picture is copied unchanged."""
    if jpeg[:2] != b"\xff\xd8":
        raise UncleanablePdf(_damaged_message())
    out = bytearray(b"\xff\xd8")
    pos, size = 2, len(jpeg)
    while pos < size:
        if jpeg[pos] != 0xFF:
            raise UncleanablePdf(_damaged_message())
        while pos + 1 < size and jpeg[pos + 1] == 0xFF:
            pos += 1  # fill bytes before a marker
        if pos + 1 >= size:
            break
        marker = jpeg[pos + 1]
        if marker == 0xD9:  # end of image
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out += jpeg[pos : pos + 2]
            pos += 2
            continue
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        segment = jpeg[pos : pos + 2 + length]
        if length < 2 or len(segment) < 2 + length:
            raise UncleanablePdf(_damaged_message())
        pos += 2 + length
        out += _cleaned_segment(marker, segment)
        if marker == 0xDA:  # start of scan: compressed data up to the next marker
            start = pos
            while (pos := jpeg.find(b"\xff", pos)) >= 0 and pos + 1 < size:
                following = jpeg[pos + 1]
                # Stuffed 0xFF, a restart marker or a fill byte: still the scan.
                if following not in (0x00, 0xFF) and not 0xD0 <= following <= 0xD7:
                    break
                pos += 1
            else:
                pos = size
            out += jpeg[start:pos]
    out += b"\xff\xd9"
    return bytes(out)


def _cleaned_segment(marker: int, segment: bytes) -> bytes:
    """The segment as kept: whole, emptied of what is not the picture, or not."""
    if marker == 0xFE:  # comment
        return b""
    if not 0xE0 <= marker <= 0xEF:  # not an application segment: the picture
        return segment
    if marker == 0xE0:
        # JFIF's header, without the thumbnail it may carry (a picture of the
        # photo before any crop); a JFXX extension (another thumbnail) goes.
        if segment[4:9] != b"JFIF\x00" or len(segment) < 18:
            return b""
        return b"\xff\xe0\x00\x10" + segment[4:16] + b"\x00\x00"
    if marker in JPEG_KEPT_APP or (
        marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\x00"
    ):
        return segment
    return b""
