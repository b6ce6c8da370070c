import io
from datetime import timedelta

import pikepdf
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from catalog.models import Scope
from disclosure import roles, services
from disclosure.models import Attachment, Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    review_and_approve,
    staff_user,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/disclosure/disclosure/"


def blank_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


PDF = blank_pdf()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (28.0, 48.0, 0.0), 3: "E", 4: (105.0, 50.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def setup():
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    draft = DisclosureFactory(
        unit=wenli,
        status=Disclosure.Status.DRAFT,
        published_at=None,
        title="带照片的通知",
    )
    return wenli, editor, draft


def upload(client, disclosure, name, content, content_type="application/octet-stream"):
    form = {
        "unit": disclosure.unit_id,
        "item": disclosure.item_id,
        "title": disclosure.title,
        "body": disclosure.body,
        "period": disclosure.period,
        "scope": disclosure.scope,
        "attachments-TOTAL_FORMS": 1,
        "attachments-INITIAL_FORMS": 0,
        "attachments-0-kind": "posting",
        "attachments-0-title": "张贴照片",
        "attachments-0-file": SimpleUploadedFile(name, content, content_type),
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    return client.post(f"{ADMIN}{disclosure.pk}/change/", form)


def test_photo_upload_strips_exif_and_makes_a_thumbnail(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    assert Image.open(io.BytesIO(jpeg_with_gps())).getexif()
    response = upload(client, draft, "IMG_0001.jpg", jpeg_with_gps(), "image/jpeg")
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/jpeg"
    assert "IMG_0001" not in attachment.file.name
    with attachment.file.open("rb") as f:
        stored = Image.open(io.BytesIO(f.read()))
        assert not stored.getexif()
        assert "exif" not in stored.info
    assert attachment.thumbnail


def test_pdf_upload_is_accepted_by_its_header(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    assert (
        upload(client, draft, "会议纪要.pdf", PDF, "application/pdf").status_code == 302
    )
    assert Attachment.objects.get().content_type == "application/pdf"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.jpg", PDF[:3] + b"not really"),  # a .jpg that is nothing
        ("photo.jpg", b"<script>alert(1)</script>"),  # a script named as a photo
        ("doc.pdf", b"#!/bin/sh\nrm -rf /\n"),
        ("image.gif", b"GIF89a" + b"\x00" * 20),
    ],
)
def test_forged_files_are_refused_with_a_message(client, setup, name, content):
    _, editor, draft = setup
    client.force_login(editor)
    response = upload(client, draft, name, content)
    assert response.status_code == 200
    assert "只能上传 JPEG、PNG、WebP 图片或 PDF 文件" in response.text
    assert not Attachment.objects.exists()


def test_a_pdf_named_jpg_is_stored_as_a_pdf(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    upload(client, draft, "photo.jpg", PDF)
    assert Attachment.objects.get().content_type == "application/pdf"


def test_oversized_file_is_refused_with_a_message(client, setup, settings):
    settings.ATTACHMENT_MAX_MB = 1
    _, editor, draft = setup
    client.force_login(editor)
    big = PDF + b"0" * (1024 * 1024 + 1)
    response = upload(client, draft, "big.pdf", big)
    assert response.status_code == 200
    assert "单个附件不能超过 1 MB" in response.text
    assert not Attachment.objects.exists()


def test_image_with_too_many_pixels_is_refused(client, setup, settings):
    settings.ATTACHMENT_MAX_PIXELS = 1000
    _, editor, draft = setup
    client.force_login(editor)
    response = upload(client, draft, "wide.jpg", jpeg_with_gps())
    assert "图片像素过大" in response.text


def make_attachment(disclosure):
    return Attachment.objects.create(
        disclosure=disclosure,
        file=SimpleUploadedFile("x.pdf", PDF),
        content_type="application/pdf",
    )


def test_public_attachment_is_served_to_anyone(client, setup):
    wenli, _, _ = setup
    attachment = make_attachment(DisclosureFactory(unit=wenli))
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_shared_cache_keeps_a_public_file_no_longer_than_a_page(
    client, setup, settings
):
    """A file can stop being public (withdrawn, its item made 党内): a proxy
    between the town and the server may not serve it on for an hour."""
    settings.PAGE_CACHE_SECONDS = 60
    wenli, _, _ = setup
    attachment = make_attachment(DisclosureFactory(unit=wenli))
    response = client.get(f"/attachments/{attachment.pk}/")
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"public", "s-maxage=60"} <= directives


def test_inner_party_attachment_is_refused_to_anonymous(client, party_client, setup):
    wenli, _, _ = setup
    inner = DisclosureFactory(unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY))
    attachment = make_attachment(inner)
    party_client.logout()
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 404


def test_inner_party_attachment_is_served_to_party_member(party_client, setup):
    wenli, _, _ = setup
    inner = DisclosureFactory(unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY))
    attachment = make_attachment(inner)
    assert party_client.get(f"/attachments/{attachment.pk}/").status_code == 200


def test_draft_attachment_only_for_its_units_staff(client, setup):
    _, editor, draft = setup
    attachment = make_attachment(draft)
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 404
    client.force_login(editor)
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 200


def test_x_accel_redirect_when_configured(client, setup, settings):
    settings.ATTACHMENT_X_ACCEL_PREFIX = "/protected/"
    wenli, _, _ = setup
    attachment = make_attachment(DisclosureFactory(unit=wenli))
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response["X-Accel-Redirect"] == "/protected/" + attachment.file.name


# Scheduled publication, display-until, the public trail --------------------------


def approved(setup_tuple):
    wenli, editor, draft = setup_tuple
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    services.submit(draft, by=editor)
    return draft, reviewer


def test_scheduled_disclosure_appears_at_its_time_without_a_job(client, setup):
    draft, reviewer = approved(setup)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        review_and_approve(
            draft, reviewer=reviewer, publish_at=start + timedelta(hours=2)
        )
        assert client.get(f"/disclosures/{draft.pk}/").status_code == 404
        assert "带照片的通知" not in client.get("/boards/wenli/").text
    with time_machine.travel(start + timedelta(hours=2, seconds=1), tick=False):
        assert client.get(f"/disclosures/{draft.pk}/").status_code == 200
        assert "带照片的通知" in client.get("/boards/wenli/").text


def test_display_until_takes_it_off_the_board_but_not_the_archive(client, setup):
    draft, reviewer = approved(setup)
    draft.display_until = timezone.localdate() + timedelta(days=7)
    draft.save()
    review_and_approve(draft, reviewer=reviewer)
    services.publish(draft, by=reviewer)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert "带照片的通知" not in client.get("/boards/wenli/").text
        assert (
            "带照片的通知" in client.get(f"/boards/wenli/?period={draft.period}").text
        )
        assert client.get(f"/disclosures/{draft.pk}/").status_code == 200


def test_public_page_shows_index_number_and_trail_without_names(client, setup):
    draft, reviewer = approved(setup)
    review_and_approve(draft, reviewer=reviewer)
    services.publish(draft, by=reviewer)
    draft.refresh_from_db()
    year = timezone.localdate(draft.published_at).year
    assert draft.index_number == f"WENLI-{year}-{draft.item.code}-001"
    text = client.get(f"/disclosures/{draft.pk}/").text
    assert draft.index_number in text
    assert "村党支部提出" in text
    assert "镇党委审核（含保密审查）" in text
    assert "村党支部审批" in text
    for name in ("reviewer", "wenli_editor", "approver_of_reviewer"):
        assert name not in text


def test_index_numbers_count_up_and_never_change(setup):
    wenli, editor, draft = setup
    draft2 = DisclosureFactory(
        unit=wenli, item=draft.item, status=Disclosure.Status.DRAFT, published_at=None
    )
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    numbers = []
    for d in (draft, draft2):
        services.submit(d, by=editor)
        review_and_approve(d, reviewer=reviewer)
        services.publish(d, by=reviewer)
        d.refresh_from_db()
        numbers.append(d.index_number)
    assert [n[-3:] for n in numbers] == ["001", "002"]
    services.withdraw(draft, by=reviewer, reason="更正")
    draft.refresh_from_db()
    assert draft.index_number == numbers[0]


def test_correction_after_publication_is_shown_to_residents(client, setup):
    wenli, _, _ = setup
    disclosure = DisclosureFactory(unit=wenli, title="原标题")
    town_admin = staff_user(username="town_admin", group=roles.TOWN_ADMIN)
    client.force_login(town_admin)
    form = {
        "unit": wenli.pk,
        "item": disclosure.item_id,
        "title": "更正后的标题",
        "body": disclosure.body,
        "period": disclosure.period,
        "scope": disclosure.scope,
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    assert client.post(f"{ADMIN}{disclosure.pk}/change/", form).status_code == 302
    client.logout()
    text = client.get(f"/disclosures/{disclosure.pk}/").text
    assert "更正后的标题" in text
    assert "更正" in text and "本文发布后于" in text


def test_board_says_when_a_notice_was_posted(client, setup):
    wenli, _, _ = setup
    import datetime as dt

    DisclosureFactory(
        unit=wenli,
        title="张贴的通知",
        posted_on=dt.date(2011, 9, 5),
        taken_down_on=dt.date(2011, 9, 20),
    )
    assert "张贴于 9月5日 – 9月20日" in client.get("/boards/wenli/").text


def test_board_shows_the_posting_photo_thumbnail(client, setup):
    wenli, editor, _ = setup
    disclosure = DisclosureFactory(unit=wenli, title="有张贴照片的通知")
    client.force_login(editor)
    upload(
        client,
        DisclosureFactory(
            unit=wenli, status=Disclosure.Status.DRAFT, published_at=None
        ),
        "x.jpg",
        jpeg_with_gps(),
    )
    attachment = Attachment.objects.get()
    attachment.disclosure = disclosure
    attachment.save()
    client.logout()
    text = client.get("/boards/wenli/").text
    assert f'src="/attachments/{attachment.pk}/thumbnail/"' in text


# What was published stays: attachments after publication -----------------------


def published_with_attachment(client, setup):
    wenli, editor, draft = setup
    client.force_login(editor)
    assert upload(client, draft, "notice.pdf", PDF).status_code == 302
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    services.submit(draft, by=editor)
    review_and_approve(draft, reviewer=reviewer)
    services.publish(draft, by=reviewer)
    town_admin = staff_user(username="town_admin", group=roles.TOWN_ADMIN)
    client.force_login(town_admin)
    return draft, draft.attachments.get()


def correction_form(disclosure, **attachments) -> dict:
    form = {
        "unit": disclosure.unit_id,
        "item": disclosure.item_id,
        "title": disclosure.title,
        "body": disclosure.body,
        "period": disclosure.period,
        "scope": disclosure.scope,
        "attachments-TOTAL_FORMS": 1,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    form.update(attachments)
    return form


def test_a_published_disclosures_attachment_is_never_deleted_or_changed(client, setup):
    disclosure, attachment = published_with_attachment(client, setup)
    form = correction_form(
        disclosure,
        **{
            "attachments-TOTAL_FORMS": 1,
            "attachments-INITIAL_FORMS": 1,
            "attachments-0-id": attachment.pk,
            "attachments-0-disclosure": disclosure.pk,
            "attachments-0-kind": "document",
            "attachments-0-title": "改过的标题",
            "attachments-0-file": SimpleUploadedFile("other.pdf", PDF),
            "attachments-0-DELETE": "on",
        },
    )
    client.post(f"{ADMIN}{disclosure.pk}/change/", form)
    kept = Attachment.objects.get(pk=attachment.pk)
    assert (kept.title, kept.file.name) == (attachment.title, attachment.file.name)
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 200


def test_an_attachment_added_after_publication_is_a_public_correction(client, setup):
    disclosure, _ = published_with_attachment(client, setup)
    form = correction_form(
        disclosure,
        **{
            "attachments-0-kind": "document",
            "attachments-0-title": "补充的明细表",
            "attachments-0-file": SimpleUploadedFile("more.pdf", PDF),
        },
    )
    assert client.post(f"{ADMIN}{disclosure.pk}/change/", form).status_code == 302
    assert disclosure.attachments.count() == 2
    disclosure.refresh_from_db()
    assert disclosure.corrected_at is not None
    assert disclosure.events.filter(action="corrected").count() == 1
    client.logout()
    assert "本文发布后于" in client.get(f"/disclosures/{disclosure.pk}/").text


def test_a_drafts_attachment_can_still_be_removed(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    upload(client, draft, "notice.pdf", PDF)
    attachment = draft.attachments.get()
    form = correction_form(
        draft,
        **{
            "attachments-INITIAL_FORMS": 1,
            "attachments-0-id": attachment.pk,
            "attachments-0-disclosure": draft.pk,
            "attachments-0-kind": attachment.kind,
            "attachments-0-title": attachment.title,
            "attachments-0-DELETE": "on",
        },
    )
    assert client.post(f"{ADMIN}{draft.pk}/change/", form).status_code == 302
    assert not draft.attachments.exists()
