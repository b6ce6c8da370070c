from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from catalog.models import Catalog
from disclosure.models import Disclosure
from govinfo import services
from govinfo.models import InfoRequest
from tests.factories import CategoryFactory, ItemFactory

from .conftest import ID_NUMBER, NAME, received

pytestmark = pytest.mark.django_db


def test_staff_extend_once_with_a_reason(gov_town, reviewer):
    info = received(gov_town, date(2026, 9, 18))
    assert info.due_on == date(2026, 10, 22)
    with pytest.raises(ValidationError, match="理由"):
        services.record_step(
            info, "extend", by=reviewer, on=date(2026, 10, 20), days=10, note=" "
        )
    services.record_step(
        info,
        "extend",
        by=reviewer,
        on=date(2026, 10, 20),
        days=10,
        note="涉及多个村的档案",
    )
    info.refresh_from_db()
    # 23, 26–30 Oct, 2–5 Nov.
    assert info.due_on == date(2026, 11, 5)
    assert info.extended_days == 10 and info.extension_reason == "涉及多个村的档案"
    with pytest.raises(ValidationError, match="不能再次延期"):
        services.record_step(
            info, "extend", by=reviewer, on=date(2026, 10, 21), days=5, note="再延"
        )
    assert info.events.filter(kind="extend").count() == 1


def test_correction_stops_and_restarts_the_clock(gov_town, office):
    info = received(gov_town, date(2026, 9, 18))
    services.record_step(
        info, "correction", by=office, on=date(2026, 9, 22), note="请写明村名"
    )
    info.refresh_from_db()
    assert info.status == "correction" and info.due_on is None
    with pytest.raises(ValidationError):
        services.draft_answer(info, by=office, result="disclosed", text="x")
    services.record_step(info, "corrected", by=office, on=date(2026, 9, 30))
    info.refresh_from_db()
    # Afresh from 30 Sep across 国庆 and the 调休 Saturday 10 Oct.
    assert info.status == "received" and info.due_on == date(2026, 11, 3)


def test_no_correction_in_time_is_abandoned_and_counted_as_other(gov_town, office):
    info = received(gov_town, date(2026, 9, 18))
    services.record_step(
        info, "correction", by=office, on=date(2026, 9, 22), note="请写明村名"
    )
    with pytest.raises(ValidationError, match="届满后"):
        services.abandon(info, by=office, on=date(2026, 10, 20))
    services.abandon(info, by=office, on=date(2026, 10, 21))
    info.refresh_from_db()
    assert (info.result, info.ground) == ("other", "no_correction")
    assert info.answered_on == date(2026, 10, 21)


def test_partial_disclosure_answered_with_a_letter(client, gov_town, office, reviewer):
    info = received(gov_town, date(2026, 9, 18), delivery="paper")
    services.draft_answer(
        info,
        by=office,
        result="partly",
        text="提供工程招标公告；投标人报价涉及商业秘密，不予公开。",
    )
    info.refresh_from_db()
    assert info.status == "submitted"
    with pytest.raises(PermissionDenied):
        services.approve(info, by=office)
    services.approve(info, by=reviewer)
    info.refresh_from_db()
    assert info.status == "answered" and info.answered_on

    page = client.get(reverse("govinfo:letter", args=[info.code]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "第三十七条" in body and "部分公开" not in body or "区分处理" in body
    assert "60日内" in body and "6个月内" in body
    assert "投标人报价涉及商业秘密" in body
    assert NAME not in body and ID_NUMBER not in body and "申**" in body

    pdf = client.get(reverse("govinfo:letter_pdf", args=[info.code]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    client.force_login(office)
    staff_copy = client.get(
        reverse("admin:govinfo_inforequest_letter", args=[info.pk])
    ).content.decode()
    assert NAME in staff_copy


def test_a_refusal_needs_its_ground(gov_town, office):
    info = received(gov_town, date(2026, 9, 18))
    with pytest.raises(ValidationError):
        services.draft_answer(info, by=office, result="refused", text="不予公开")
    with pytest.raises(ValidationError):
        services.draft_answer(
            info, by=office, result="refused", ground="not_held", text="x"
        )
    services.draft_answer(
        info, by=office, result="refused", ground="third_party", text="涉及个人隐私"
    )


def test_released_information_becomes_a_disclosure_draft(gov_town, office, reviewer):
    category = CategoryFactory(catalog__kind=Catalog.Kind.GOVERNMENT)
    item = ItemFactory(category=category, for_town=True)
    info = received(gov_town, date(2026, 9, 18))
    services.draft_answer(info, by=office, result="disclosed", text="招标公告全文。")
    services.approve(info, by=reviewer)
    disclosure = services.release(
        info, by=office, item=item, title="道路工程招标公告", body="招标公告全文。"
    )
    assert disclosure.status == Disclosure.Status.DRAFT
    assert disclosure.unit == gov_town and NAME not in disclosure.body
    with pytest.raises(ValidationError):
        services.release(info, by=office, item=item, title="再次", body="x")


# The back office ---------------------------------------------------------------


def test_admin_boundaries(client, gov_town, office, reviewer, outsider):
    info = received(gov_town, date(2026, 9, 18))
    url = reverse("admin:govinfo_inforequest_change", args=[info.pk])
    assert client.get(url).status_code == 302  # log in first
    client.force_login(outsider)
    assert client.get(url).status_code in (403, 404)
    assert (
        client.get(reverse("admin:govinfo_inforequest_changelist")).status_code == 403
    )
    client.force_login(office)
    page = client.get(url)
    assert page.status_code == 200 and NAME in page.content.decode()
    assert "拟定答复" in page.content.decode()
    approve = reverse("admin:govinfo_inforequest_step", args=[info.pk, "approve"])
    assert client.get(approve).status_code == 403
    delete = reverse("admin:govinfo_inforequest_delete", args=[info.pk])
    assert client.post(delete).status_code == 403
    assert InfoRequest.objects.filter(pk=info.pk).exists()


def test_admin_steps_through_the_case(client, gov_town, office, reviewer):
    # Received lately: an extension is granted before the term runs out.
    info = received(gov_town, timezone.localdate() - timedelta(days=3))
    step = reverse("admin:govinfo_inforequest_step", args=[info.pk, "extend"])
    client.force_login(office)
    assert client.get(step).status_code == 403  # the reviewer grants it (art. 33)
    client.force_login(reviewer)
    response = client.post(step, {"days": 25, "note": "太长"})
    assert response.status_code == 200  # 1–20 only: the form says so
    client.post(step, {"days": 5, "note": "档案在县档案馆"})
    assert client.get(step).status_code == 403  # once
    client.force_login(office)
    draft = reverse("admin:govinfo_inforequest_step", args=[info.pk, "draft"])
    client.post(draft, {"result": "partly", "ground": "", "answer_text": "见附件。"})
    client.force_login(reviewer)
    approve = reverse("admin:govinfo_inforequest_step", args=[info.pk, "approve"])
    assert client.post(approve).status_code == 302
    info.refresh_from_db()
    assert info.status == "answered" and info.extended_days == 5
    kinds = list(info.events.values_list("kind", flat=True))
    assert kinds == ["received", "extend", "drafted", "answered"]


def test_the_queue_puts_overdue_first(client, gov_town, office):
    later = received(gov_town, date(2026, 11, 20))
    overdue = received(gov_town, date(2026, 1, 5))
    client.force_login(office)
    page = client.get(reverse("admin:govinfo_inforequest_changelist"))
    body = page.content.decode()
    assert body.index(overdue.code) < body.index(later.code)
    assert "已超期" in body


def test_staff_enter_a_letter_with_the_day_it_was_signed_for(client, gov_town, office):
    client.force_login(office)
    response = client.post(
        reverse("admin:govinfo_inforequest_add"),
        {
            "unit": gov_town.pk,
            "channel": "letter",
            "received_on": "2026-09-30",
            "applicant_kind": "citizen",
            "name": NAME,
            "id_number": "",
            "credit_code": "",
            "contact_person": "",
            "phone": "",
            "address": "凤鸣镇茅山村",
            "email": "",
            "description": "茅山村2026年道路维修经费",
            "document_number": "",
            "purpose": "",
            "delivery": "paper",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    info = InfoRequest.objects.get()
    assert info.channel == "letter" and info.received_on == date(2026, 9, 30)
    assert info.due_on == date(2026, 11, 3)
    event = info.events.get()
    assert event.kind == "received" and event.user == office
