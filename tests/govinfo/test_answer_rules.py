"""非本机关负责 (art. 36(五)), 转为主动公开 without the applicant's words, and
the extension granted by the head of the disclosure office (art. 33)."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from catalog.models import Catalog
from disclosure.models import Disclosure
from govinfo import figures, letters, services
from govinfo.models import Ground, InfoRequest, Result
from tests.factories import CategoryFactory, ItemFactory

from .conftest import ID_NUMBER, NAME, received

pytestmark = pytest.mark.django_db

COUNTY_BODY = "某县自然资源局"
COUNTY_PHONE = "0816-1234567"


# 非本机关负责 ------------------------------------------------------------------


def test_not_this_body_letter_cites_36_5_and_names_the_body(
    client, gov_town, office, reviewer
):
    info = received(gov_town, date(2026, 9, 18))
    services.draft_answer(
        info,
        by=office,
        result=Result.UNAVAILABLE,
        ground=Ground.NOT_THIS_BODY,
        text="土地征收批复由县级机关作出并负责公开。",
        responsible_body=COUNTY_BODY,
        responsible_contact=COUNTY_PHONE,
    )
    services.approve(info, by=reviewer)
    body = client.get(reverse("govinfo:letter", args=[info.code])).text
    assert "第三十六条第（五）项" in body and "第三十六条第（四）项" not in body
    assert "不属于本机关负责公开" in body
    assert COUNTY_BODY in body and COUNTY_PHONE in body
    assert "土地征收批复由县级机关作出并负责公开" in body
    assert letters.GROUND_ARTICLES[Ground.NOT_THIS_BODY] == "第三十六条第（五）项"


def test_not_held_still_cites_36_4_and_drops_a_body_given_by_mistake(
    client, gov_town, office, reviewer
):
    info = received(gov_town, date(2026, 9, 18))
    services.draft_answer(
        info,
        by=office,
        result=Result.UNAVAILABLE,
        ground=Ground.NOT_HELD,
        text="经检索，本机关未制作或获取该信息。",
        responsible_body=COUNTY_BODY,
    )
    info.refresh_from_db()
    assert info.responsible_body == ""
    services.approve(info, by=reviewer)
    body = client.get(reverse("govinfo:letter", args=[info.code])).text
    assert "第三十六条第（四）项" in body and "第三十六条第（五）项" not in body
    assert COUNTY_BODY not in body


def test_not_this_body_without_a_known_body_and_a_contact_needs_the_name(
    gov_town, office
):
    info = received(gov_town, date(2026, 9, 18))
    with pytest.raises(ValidationError):
        services.draft_answer(
            info,
            by=office,
            result=Result.UNAVAILABLE,
            ground=Ground.NOT_THIS_BODY,
            text="x",
            responsible_contact=COUNTY_PHONE,
        )
    services.draft_answer(
        info,
        by=office,
        result=Result.UNAVAILABLE,
        ground=Ground.NOT_THIS_BODY,
        text="无法确定负责公开该信息的机关。",
    )


def test_not_this_body_is_counted_as_not_held_in_the_national_table(gov_town):
    def concluded(ground):
        InfoRequest.objects.create(
            unit=gov_town,
            name="测试申请人",
            description="某事项",
            phone="13800000000",
            received_on=date(2011, 3, 1),
            answered_on=date(2011, 3, 20),
            result=Result.UNAVAILABLE,
            ground=ground,
        )

    concluded(Ground.NOT_HELD)
    concluded(Ground.NOT_THIS_BODY)
    concluded(Ground.NEEDS_MAKING)
    table = figures.application_table(gov_town, 2011)
    labels = [label for label, _values in table["rows"]]
    rows = dict(table["rows"])
    # The national format's rows, no row of its own.
    assert not any("本机关负责" in label for label in labels)
    assert rows["1.本机关不掌握相关政府信息"][-1] == 2
    assert rows["2.没有现成信息需要另行制作"][-1] == 1
    assert rows["（四）无法提供"][-1] == 3
    assert rows[figures.TOTAL][-1] == 3


def test_the_draft_step_takes_the_responsible_body(client, gov_town, office):
    info = received(gov_town, date(2026, 9, 18))
    client.force_login(office)
    url = reverse("admin:govinfo_inforequest_step", args=[info.pk, "draft"])
    response = client.post(
        url,
        {
            "result": "unavailable",
            "ground": "not_this_body",
            "responsible_body": COUNTY_BODY,
            "responsible_contact": COUNTY_PHONE,
            "answer_text": "该信息由县级机关负责公开。",
        },
    )
    assert response.status_code == 302
    info.refresh_from_db()
    assert (info.responsible_body, info.responsible_contact) == (
        COUNTY_BODY,
        COUNTY_PHONE,
    )
    page = client.get(reverse("admin:govinfo_inforequest_change", args=[info.pk]))
    assert COUNTY_BODY in page.text


# 转为主动公开 -------------------------------------------------------------------


@pytest.fixture
def answered(gov_town, office, reviewer):
    """Disclosed on request; the application names the applicant and a
    neighbour."""
    info = received(
        gov_town,
        date(2026, 9, 18),
        description="我（申请人甲某）家邻居王五的宅基地审批材料",
        document_number="凤府发〔2026〕7号",
    )
    services.draft_answer(
        info, by=office, result="disclosed", text="申请人甲某：提供审批表一份。"
    )
    services.approve(info, by=reviewer)
    return info


@pytest.fixture
def gov_item():
    category = CategoryFactory(catalog__kind=Catalog.Kind.GOVERNMENT)
    return ItemFactory(category=category, for_town=True, name="宅基地审核")


def test_the_release_form_prefills_nothing_of_the_application(client, answered, office):
    client.force_login(office)
    url = reverse("admin:govinfo_inforequest_step", args=[answered.pk, "release"])
    page = client.get(url)
    assert page.status_code == 200
    form = page.text.split("<form", 1)[1].split("</form>", 1)[0]
    for personal in ("王五", NAME, "凤府发〔2026〕7号", "提供审批表"):
        assert personal not in form


def test_a_release_copies_nothing_of_the_application(
    client, answered, office, gov_item
):
    client.force_login(office)
    url = reverse("admin:govinfo_inforequest_step", args=[answered.pk, "release"])
    # No body: a message, nothing released.
    response = client.post(url, {"item": gov_item.pk, "title": "", "body": ""})
    assert response.status_code == 200
    assert not Disclosure.objects.exists()
    response = client.post(
        url, {"item": gov_item.pk, "title": "", "body": "2026年宅基地审批情况。"}
    )
    assert response.status_code == 302
    disclosure = Disclosure.objects.get()
    year = timezone.localdate().year
    assert disclosure.title == f"宅基地审核（{year}年）"
    assert disclosure.body == "2026年宅基地审批情况。"
    assert disclosure.status == Disclosure.Status.DRAFT
    for personal in ("王五", NAME, ID_NUMBER, "13800001111", "申请人"):
        assert personal not in disclosure.title + disclosure.body
    answered.refresh_from_db()
    assert answered.released_as == disclosure


# The extension (art. 33) ---------------------------------------------------------


def test_only_the_reviewer_grants_an_extension_and_the_event_names_them(
    gov_town, office, reviewer
):
    info = received(gov_town, date(2026, 9, 18))
    with pytest.raises(PermissionDenied):
        services.record_step(
            info, "extend", by=office, on=date(2026, 10, 20), days=5, note="档案多"
        )
    services.record_step(
        info, "extend", by=reviewer, on=date(2026, 10, 20), days=5, note="档案多"
    )
    event = info.events.get(kind="extend")
    assert event.user == reviewer and event.days == 5


def test_an_extension_while_the_answer_is_with_the_reviewer(
    client, gov_town, office, reviewer
):
    info = received(gov_town, timezone.localdate() - timedelta(days=3))
    services.draft_answer(info, by=office, result="disclosed", text="见附件。")
    info.refresh_from_db()
    due = info.due_on
    client.force_login(reviewer)
    change = client.get(reverse("admin:govinfo_inforequest_change", args=[info.pk]))
    assert "延长答复期限" in change.text
    step = reverse("admin:govinfo_inforequest_step", args=[info.pk, "extend"])
    assert client.post(step, {"days": 5, "note": "需核对原件"}).status_code == 302
    info.refresh_from_db()
    assert info.status == "submitted" and info.extended_days == 5
    assert info.due_on > due
    assert info.events.get(kind="extend").user == reviewer
    # The answer is still the reviewer's to approve.
    services.approve(info, by=reviewer)


def test_no_extension_with_the_reviewer_once_the_term_has_run_out(
    client, gov_town, office, reviewer
):
    info = received(gov_town, date(2026, 1, 5))
    services.draft_answer(info, by=office, result="disclosed", text="见附件。")
    info.refresh_from_db()
    assert info.is_overdue()
    with pytest.raises(ValidationError, match="已过"):
        services.record_step(info, "extend", by=reviewer, days=5, note="晚了")
    client.force_login(reviewer)
    step = reverse("admin:govinfo_inforequest_step", args=[info.pk, "extend"])
    assert client.get(step).status_code == 403
