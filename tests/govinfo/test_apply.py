from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from govinfo import services
from govinfo.models import InfoRequest, InfoRequestEvent

from .conftest import CREDIT_CODE, ID_NUMBER, NAME, form_data, token

pytestmark = pytest.mark.django_db


def test_a_resident_applies_online_and_tracks_the_case(client, gov_town):
    page = client.get(reverse("govinfo:apply"))
    assert page.status_code == 200
    assert "申请须知" in page.content.decode()

    response = client.post(reverse("govinfo:apply"), form_data())
    assert response.status_code == 302
    info = InfoRequest.objects.get()
    assert info.unit == gov_town and info.channel == "online"
    assert info.received_on == timezone.localdate()
    assert info.due_on is not None
    assert list(info.events.values_list("kind", flat=True)) == ["received"]

    thanks = client.get(response["Location"])
    assert info.code in thanks.content.decode()

    track = client.get(reverse("govinfo:track"), {"code": info.code.lower()})
    assert track.status_code == 302
    page = client.get(track["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert info.code in body and "办理中" in body
    assert NAME not in body and ID_NUMBER not in body
    assert "private" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]


def test_a_double_post_is_one_application(client, gov_town):
    data = form_data()
    client.post(reverse("govinfo:apply"), data)
    second = client.post(reverse("govinfo:apply"), data)
    assert second.status_code == 302
    assert InfoRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"id_number": "510722198001011232"}, "身份证号码不正确"),
        ({"id_number": ""}, "请填写身份证号码"),
        (
            {"applicant_kind": "business", "credit_code": "91510722MA6ABCD103"},
            "统一社会信用代码不正确",
        ),
        ({"phone": "", "address": ""}, "至少填写一种联系方式"),
        ({"consent": ""}, "请阅读申请须知"),
        ({"description": ""}, "请描述所需的政府信息"),
        ({"delivery": "email"}, "请填写电子邮箱"),
        ({"website": "http://spam"}, "提交未成功"),
        ({"token": "fresh"}, "提交太快了"),
        ({"token": "forged"}, "页面已过期"),
    ],
)
def test_bad_input_is_a_chinese_message_and_nothing_is_lost(
    client, gov_town, overrides, message
):
    if overrides.get("token") == "fresh":
        overrides = {"token": token(age=0)}
    response = client.post(reverse("govinfo:apply"), form_data(**overrides))
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert f'value="{NAME}"' in body
    assert not InfoRequest.objects.exists()


def test_an_organisation_applies_with_its_credit_code(client, gov_town):
    data = form_data(
        applicant_kind="business",
        name="某某建材有限公司",
        id_number="",
        credit_code=CREDIT_CODE.lower(),
        contact_person="王经理",
    )
    assert client.post(reverse("govinfo:apply"), data).status_code == 302
    info = InfoRequest.objects.get()
    assert info.credit_code == CREDIT_CODE and info.applicant_kind == "business"


def test_the_form_is_rate_limited(client, gov_town, settings):
    settings.GOVINFO_RATE_LIMIT = 1
    client.post(reverse("govinfo:apply"), form_data())
    response = client.post(reverse("govinfo:apply"), form_data(description="另一件事"))
    assert response.status_code == 429
    assert "另一件事" in response.content.decode()


def test_wrong_codes_are_throttled(client, gov_town, settings):
    settings.GOVINFO_TRACK_MISS_LIMIT = 2
    for _ in range(2):
        miss = client.get(reverse("govinfo:track_code", args=["NOPE234567"]))
        assert miss.status_code == 404
    third = client.get(reverse("govinfo:track_code", args=["NOPE234568"]))
    assert third.status_code == 429


def test_the_letter_waits_for_the_approved_answer(client, gov_town, office):
    from .conftest import received

    info = received(gov_town, date(2026, 9, 18))
    url = reverse("govinfo:letter", args=[info.code])
    assert client.get(url).status_code == 302
    assert InfoRequestEvent.objects.filter(request=info).count() == 1
    assert services.can_handle(info, office)
