"""PDF attachments are stored and served without what identifies people or
places (document information, XMP, the EXIF of the photos inside), and a PDF
that cannot be cleaned is refused with the reason."""

import io
import zlib

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from disclosure import roles
from disclosure.forms import AttachmentForm
from disclosure.models import Attachment, Disclosure
from disclosure.uploads import strip_jpeg_metadata
from tests.factories import DisclosureFactory, TownFactory, UnitFactory, staff_user

from .test_attachments import upload

pytestmark = pytest.mark.django_db

AUTHOR = "王秀英"
CAMERA = "PhoneMaker"


def jpeg_with_gps(**save_options) -> bytes:
    image = Image.new("RGB", (64, 48), "red")
    for x in range(0, 64, 8):
        image.paste("blue", (x, 0, x + 4, 48))
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x8825] = {1: "N", 2: (28.0, 48.0, 0.0), 3: "E", 4: (105.0, 50.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"shot at home", **save_options)
    return out.getvalue()


def build_pdf(*, encryption=None, extra=None) -> bytes:
    """One page showing a photo, with an author everywhere a PDF keeps one."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    photo = pikepdf.Stream(
        pdf,
        jpeg_with_gps(),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=64,
        Height=48,
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=pikepdf.Name.DCTDecode,
    )
    photo_xmp = pikepdf.Stream(
        pdf,
        f"<x:xmpmeta>{AUTHOR}</x:xmpmeta>".encode(),
        Type=pikepdf.Name.Metadata,
        Subtype=pikepdf.Name.XML,
    )
    photo.Metadata = pdf.make_indirect(photo_xmp)
    page.Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(Im0=pdf.make_indirect(photo))
    )
    page.Contents = pdf.make_stream(b"q 128 0 0 96 10 10 cm /Im0 Do Q")
    page.PieceInfo = pikepdf.Dictionary(
        Illustrator=pikepdf.Dictionary(Private=pikepdf.String(AUTHOR))
    )
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [AUTHOR]
    pdf.docinfo["/Author"] = AUTHOR
    pdf.docinfo["/Creator"] = "WPS Office 张三的电脑"
    pdf.docinfo["/Producer"] = "PhoneMaker PDF"
    if extra:
        extra(pdf)
    out = io.BytesIO()
    pdf.save(out, encryption=encryption or False)
    return out.getvalue()


@pytest.fixture
def setup():
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    draft = DisclosureFactory(
        unit=wenli,
        status=Disclosure.Status.DRAFT,
        published_at=None,
        title="村务会议纪要",
    )
    return wenli, editor, draft


def assert_clean(data: bytes) -> None:
    assert AUTHOR.encode() not in data
    assert CAMERA.encode() not in data
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/Info" not in pdf.trailer
        assert not pdf.docinfo.keys()
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                assert "/Metadata" not in obj
                assert "/PieceInfo" not in obj
        assert len(pdf.pages) == 1
        photo = pdf.pages[0].Resources.XObject.Im0
        jpeg = photo.read_raw_bytes()
    with Image.open(io.BytesIO(jpeg)) as image:
        assert not image.getexif()
        assert "comment" not in image.info
        assert image.size == (64, 48)
        image.load()  # the picture itself is intact


def test_uploaded_pdf_is_stored_without_author_xmp_or_photo_gps(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    original = build_pdf()
    assert AUTHOR.encode() in original and CAMERA.encode() in original
    response = upload(client, draft, "会议纪要.pdf", original, "application/pdf")
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.content_type == "application/pdf"
    with attachment.file.open("rb") as f:
        stored = f.read()
    assert attachment.size == len(stored)
    assert_clean(stored)


def test_the_attachment_view_serves_the_cleaned_pdf(client, setup):
    wenli, _, _ = setup
    form = AttachmentForm(
        data={"kind": "document", "title": "会议纪要"},
        files={"file": SimpleUploadedFile("纪要.pdf", build_pdf())},
        instance=Attachment(disclosure=DisclosureFactory(unit=wenli)),
    )
    assert form.is_valid(), form.errors
    attachment = form.save()
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200
    served = b"".join(response.streaming_content)
    assert_clean(served)


def test_a_pdf_whose_photo_is_flate_compressed_over_jpeg_is_cleaned():
    def recompress(pdf):
        photo = pdf.pages[0].Resources.XObject.Im0
        photo.write(
            zlib.compress(photo.read_raw_bytes()),
            filter=pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.DCTDecode]),
        )

    form = AttachmentForm(
        data={"kind": "document"},
        files={"file": SimpleUploadedFile("x.pdf", build_pdf(extra=recompress))},
    )
    assert form.is_valid(), form.errors
    cleaned = form._clean.content.read()
    with pikepdf.open(io.BytesIO(cleaned)) as pdf:
        photo = pdf.pages[0].Resources.XObject.Im0
        assert photo.Filter == pikepdf.Name.DCTDecode
        jpeg = photo.read_raw_bytes()
    assert CAMERA.encode() not in jpeg
    assert not Image.open(io.BytesIO(jpeg)).getexif()


def refused(client, setup, content) -> str:
    _, editor, draft = setup
    client.force_login(editor)
    response = upload(client, draft, "文件.pdf", content, "application/pdf")
    assert response.status_code == 200
    assert not Attachment.objects.exists()
    return response.text


@pytest.mark.parametrize(
    "encryption",
    [
        pikepdf.Encryption(owner="town", user="secret"),  # a password to open
        pikepdf.Encryption(owner="town", user=""),  # permissions only
    ],
)
def test_an_encrypted_pdf_is_refused_with_the_reason(client, setup, encryption):
    text = refused(client, setup, build_pdf(encryption=encryption))
    assert "该 PDF 文件已加密" in text


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",  # no document at all
        build_pdf()[:-400],  # cut short
        build_pdf().replace(b"/DCTDecode", b"/DCTDecodX"),  # hand-edited
    ],
)
def test_a_damaged_pdf_is_refused_with_the_reason(client, setup, content):
    assert "该 PDF 文件已损坏或格式不规范" in refused(client, setup, content)


def add_script(pdf):
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
    )


def add_embedded_file(pdf):
    spec = pikepdf.AttachedFileSpec(pdf, b"name,phone\n", filename="名单.csv")
    pdf.attachments["名单.csv"] = spec


def add_signature(pdf):
    pdf.Root.AcroForm = pikepdf.Dictionary(
        Fields=pikepdf.Array(
            [
                pdf.make_indirect(
                    pikepdf.Dictionary(
                        FT=pikepdf.Name.Sig,
                        V=pikepdf.Dictionary(
                            Type=pikepdf.Name.Sig,
                            ByteRange=pikepdf.Array([0, 10, 20, 30]),
                        ),
                    )
                )
            ]
        ),
        SigFlags=3,
    )


def add_comment(pdf):
    """A sticky note by a named person, as a viewer's comment tool makes it."""
    note = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Text,
        Rect=pikepdf.Array([10, 10, 30, 30]),
        Contents=pikepdf.String("请核对金额"),
        T=pikepdf.String("张会计"),
    )
    pdf.pages[0].obj.Annots = pikepdf.Array([pdf.make_indirect(note)])


def add_form_field(pdf):
    """A form field's /T is its name: no person, and the file is accepted."""
    field = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Widget,
        FT=pikepdf.Name.Tx,
        Rect=pikepdf.Array([10, 10, 90, 30]),
        T=pikepdf.String("amount"),
    )
    field = pdf.make_indirect(field)
    pdf.pages[0].obj.Annots = pikepdf.Array([field])
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))


def test_a_form_fields_name_is_not_taken_for_a_comment_author():
    assert b"amount" in cleaned(build_pdf(extra=add_form_field))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (add_script, "含有脚本或自动执行的动作"),
        (add_embedded_file, "内嵌有其他文件"),
        (add_signature, "带有数字签名"),
        (add_comment, "带有批注"),
    ],
)
def test_a_pdf_with_active_content_files_or_a_signature_is_refused(
    client, setup, extra, message
):
    assert message in refused(client, setup, build_pdf(extra=extra))


def test_a_plain_pdf_keeps_its_pages_and_view_settings():
    def fit_on_open(pdf):
        pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit])

    form = AttachmentForm(
        data={"kind": "document"},
        files={"file": SimpleUploadedFile("x.pdf", build_pdf(extra=fit_on_open))},
    )
    assert form.is_valid(), form.errors
    with pikepdf.open(io.BytesIO(form._clean.content.read())) as pdf:
        assert pdf.Root.OpenAction[1] == pikepdf.Name.Fit
        assert bytes(pdf.pages[0].Contents.read_bytes()).startswith(b"q 128")


@pytest.mark.parametrize("options", [{}, {"progressive": True}])
def test_stripping_a_jpeg_keeps_the_picture_bit_for_bit(options):
    original = jpeg_with_gps(**options)
    # A second picture after the end, as the multi-picture format appends one.
    stripped = strip_jpeg_metadata(original + jpeg_with_gps())
    assert CAMERA.encode() not in stripped
    assert b"shot at home" not in stripped
    with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(stripped)) as b:
        assert a.tobytes() == b.tobytes()
        assert not b.getexif()


def inline_photo(jpeg: bytes) -> bytes:
    """A photo written inside a content stream (an inline image), as some
    scanners and converters do for small pictures."""
    return b"q 64 0 0 48 100 100 cm BI /W 64 /H 48 /CS /RGB /BPC 8 /F /DCT ID " + (
        jpeg + b"\nEI Q\n"
    )


def cleaned(content: bytes) -> bytes:
    form = AttachmentForm(
        data={"kind": "document"}, files={"file": SimpleUploadedFile("x.pdf", content)}
    )
    assert form.is_valid(), form.errors
    return form._clean.content.read()


def inline_images(content_owner) -> list:
    return [
        instruction.iimage
        for instruction in pikepdf.parse_content_stream(content_owner)
        if isinstance(instruction, pikepdf.ContentStreamInlineImage)
    ]


def test_a_photo_inside_a_pages_content_loses_its_gps_too():
    def add_inline_photo(pdf):
        page = pdf.pages[0]
        page.Contents = pdf.make_stream(
            page.Contents.read_bytes() + b"\n" + inline_photo(jpeg_with_gps())
        )

    original = build_pdf(extra=add_inline_photo)
    data = cleaned(original)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        contents = pdf.pages[0].Contents.read_bytes()
        (photo,) = inline_images(pdf.pages[0])
        jpeg = photo.read_raw_bytes()
        # Drawn as before: the XObject photo, then the inline one.
        assert contents.startswith(b"q")
    assert CAMERA.encode() not in contents
    with (
        Image.open(io.BytesIO(jpeg)) as image,
        Image.open(io.BytesIO(jpeg_with_gps())) as before,
    ):
        assert not image.getexif() and "comment" not in image.info
        assert image.tobytes() == before.tobytes()


def test_a_photo_inside_a_form_xobject_loses_its_gps_too():
    def add_form_with_photo(pdf):
        form = pdf.make_stream(
            inline_photo(jpeg_with_gps()),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=[0, 0, 200, 200],
        )
        page = pdf.pages[0]
        page.Resources.XObject.Fm0 = pdf.make_indirect(form)
        page.Contents = pdf.make_stream(page.Contents.read_bytes() + b" /Fm0 Do")

    data = cleaned(build_pdf(extra=add_form_with_photo))
    assert CAMERA.encode() not in data
    with pikepdf.open(io.BytesIO(data)) as pdf:
        form = pdf.pages[0].Resources.XObject.Fm0
        assert CAMERA.encode() not in form.read_bytes()
        (photo,) = inline_images(form)
        assert not Image.open(io.BytesIO(photo.read_raw_bytes())).getexif()


def test_a_jfif_thumbnail_of_the_original_photo_is_dropped():
    """JFIF can carry a small picture of its own (a thumbnail, or a JFXX
    extension with one), which shows the photo as it was before any crop."""
    jpeg = jpeg_with_gps()
    thumbnail = bytes([255, 0, 0]) * 4  # 2x2 pixels
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x02\x02" + thumbnail
    jfxx = b"JFXX\x00\x13\x02\x02" + thumbnail
    segments = b"".join(
        b"\xff\xe0" + (len(payload) + 2).to_bytes(2, "big") + payload
        for payload in (jfif, jfxx)
    )
    # Pillow wrote its own JFIF segment first: replace it with ours.
    assert jpeg[2:4] == b"\xff\xe0"
    rest = jpeg[4 + int.from_bytes(jpeg[4:6], "big") :]
    stripped = strip_jpeg_metadata(jpeg[:2] + segments + rest)
    assert b"JFXX" not in stripped and thumbnail not in stripped
    assert stripped[2:20] == b"\xff\xe0\x00\x10" + jfif[:12] + b"\x00\x00"
    with Image.open(io.BytesIO(stripped)) as image:
        image.load()
        assert image.size == (64, 48)
