import re
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from catalog.models import Scope
from feedback import antiabuse, services
from feedback.models import Kind, Status, Submission
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NAME = "测试员甲乙丙"
PHONE = "13912345678"


@pytest.fixture
def town():
    return TownFactory()


@pytest.fixture
def wenli(town):
    return UnitFactory(name="文理村", parent=town, is_liaison_point=True)


@pytest.fixture
def maoshan(town):
    return UnitFactory(name="茅山村", parent=town, is_liaison_point=True)


@pytest.fixture
def staff():
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def department():
    return DepartmentFactory(name="综治办")


def token(*, age: float = 30, nonce: str = "a" * 32) -> str:
    payload = {"t": time.time() - age, "n": nonce}
    return signing.dumps(payload, salt=antiabuse.TOKEN_SALT)


def answer_for(token_: str) -> str:
    """What a resident reading the question computes ("5" for a forged token)."""
    try:
        signing.loads(token_, salt=antiabuse.TOKEN_SALT)
    except signing.BadSignature:
        return "5"
    return str(
        antiabuse.challenge_answer(
            signing.loads(token_, salt=antiabuse.TOKEN_SALT)["n"]
        )
    )


def wrong_answer_for(token_: str) -> str:
    return str(int(answer_for(token_)) + 1)


def form_data(unit_, **overrides) -> dict:
    data = {
        "kind": Kind.QUESTION,
        "unit": unit_.slug,
        "title": "送水车什么时候来",
        "text": "三组的送水车每天几点到？",
        "name": "",
        "phone": "",
        "website": "",
        "token": token(),
    }
    data.update(overrides)
    if "challenge" not in overrides:
        data["challenge"] = answer_for(data["token"])
    return data


# Submitting --------------------------------------------------------------------


def test_form_page_renders_with_a_chinese_challenge(client, wenli):
    response = client.get("/feedback/new/")
    assert response.status_code == 200
    assert "验证：" in response.text and "加" in response.text
    assert "style=" not in response.text


def test_form_is_preset_from_unit_slug(client, wenli):
    response = client.get("/feedback/new/?unit=wenli")
    assert response.context["form"].initial["unit"] == "wenli"


def test_form_is_preset_from_a_disclosure(client, wenli):
    disclosure = DisclosureFactory(unit=wenli)
    response = client.get(f"/feedback/new/?disclosure={disclosure.pk}")
    initial = response.context["form"].initial
    assert initial["disclosure"] == disclosure.pk and initial["unit"] == "wenli"


def test_inner_party_disclosure_is_not_offered_to_anonymous(client, wenli):
    inner = DisclosureFactory(unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY))
    response = client.get(f"/feedback/new/?disclosure={inner.pk}")
    assert "disclosure" not in response.context["form"].initial
    assert inner.title not in response.text
    response = client.post("/feedback/new/", form_data(wenli, disclosure=str(inner.pk)))
    assert response.status_code == 200
    assert not Submission.objects.exists()


def test_valid_submission_redirects_to_thanks_with_tracking_code(client, wenli):
    tag = TagFactory(name="抗旱救灾")
    response = client.post(
        "/feedback/new/",
        form_data(wenli, tag=str(tag.pk), name=NAME, phone="139 1234 5678"),
    )
    assert response.status_code == 302
    assert response["Location"] == "/feedback/thanks/"
    submission = Submission.objects.get()
    assert submission.phone == PHONE
    assert submission.channel == "website" and submission.status == Status.RECEIVED
    assert submission.events.get().kind == "received"
    thanks = client.get("/feedback/thanks/")
    assert submission.tracking_code in thanks.text
    assert NAME not in thanks.text and PHONE not in thanks.text


def test_disclosure_of_another_unit_is_refused(client, wenli, maoshan):
    other = DisclosureFactory(unit=maoshan)
    response = client.post("/feedback/new/", form_data(wenli, disclosure=str(other.pk)))
    assert "所选公开内容不属于所选单位" in response.text
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"text": "   "}, "请填写内容。"),
        ({"text": "长" * 2001}, "内容不能超过 2000 个字"),
        ({"title": ""}, "请填写标题。"),
        ({"phone": "12345"}, "电话号码格式不正确"),
        ({"phone": "2345678901234"}, "电话号码格式不正确"),
        ({"unit": "no-such-village"}, "所选单位不存在"),
        ({"kind": ""}, "请选择类型。"),
        ({"challenge": wrong_answer_for(token())}, "计算结果不对"),
        ({"challenge": ""}, "请填写计算结果。"),
        ({"website": "http://spam.example"}, "提交未成功"),
        ({"token": "forged"}, "页面已过期"),
        ({"token": token(age=3 * 3600)}, "页面已过期"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_typed_text_is_kept(
    client, wenli, overrides, message
):
    response = client.post("/feedback/new/", form_data(wenli, **overrides))
    assert response.status_code == 200
    assert message in response.text
    assert "提交未成功，请按提示修改" in response.text
    assert not Submission.objects.exists()
    if "title" not in overrides:
        assert "送水车什么时候来" in response.text  # what was typed stays


def test_too_fast_submission_is_refused(client, wenli):
    response = client.post("/feedback/new/", form_data(wenli, token=token(age=0.1)))
    assert "提交太快了" in response.text
    assert not Submission.objects.exists()


def test_rejected_form_gets_a_new_challenge(client, wenli):
    data = form_data(wenli)
    data["challenge"] = wrong_answer_for(data["token"])
    response = client.post("/feedback/new/", data)
    new_token = response.context["form"].data["token"]
    assert new_token != form_data(wenli)["token"]
    assert response.context["form"].data["challenge"] == ""


@pytest.mark.parametrize("phone", ["13800000000", "0830-5212345", "08305212345"])
def test_valid_phones(client, wenli, phone):
    response = client.post("/feedback/new/", form_data(wenli, phone=phone))
    assert response.status_code == 302


def test_double_submit_of_the_same_form_saves_once(client, wenli):
    data = form_data(wenli)
    first = client.post("/feedback/new/", data)
    second = client.post("/feedback/new/", data)
    assert first.status_code == second.status_code == 302
    submission = Submission.objects.get()
    assert second["Location"] == submission.get_tracking_url()


def test_same_text_again_from_the_same_client_saves_once(client, wenli):
    client.post("/feedback/new/", form_data(wenli, token=token(nonce="1" * 32)))
    client.post("/feedback/new/", form_data(wenli, token=token(nonce="2" * 32)))
    assert Submission.objects.count() == 1


def test_same_text_from_another_client_is_a_new_submission(client, wenli):
    client.post("/feedback/new/", form_data(wenli, token=token(nonce="1" * 32)))
    client.post(
        "/feedback/new/",
        form_data(wenli, token=token(nonce="2" * 32)),
        REMOTE_ADDR="10.0.0.9",
    )
    assert Submission.objects.count() == 2


def test_rate_limit_per_client_address(client, wenli, settings):
    settings.FEEDBACK_RATE_LIMIT = 2
    for n in range(2):
        data = form_data(wenli, token=token(nonce=f"{n}" * 32), text=f"第{n}条")
        assert client.post("/feedback/new/", data).status_code == 302
    data = form_data(wenli, token=token(nonce="9" * 32), text="第三条")
    response = client.post("/feedback/new/", data)
    assert response.status_code == 429
    assert "您提交得太频繁了" in response.text
    assert "第三条" in response.text
    assert Submission.objects.count() == 2
    # Another address is not affected.
    response = client.post("/feedback/new/", data, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302


def test_a_submission_the_server_failed_to_save_is_not_counted(
    client, wenli, settings, monkeypatch
):
    """The database went away mid-post (a 500): the resident's retry, once it
    is back, must not be refused for an attempt that saved nothing."""
    from django.db import OperationalError

    settings.FEEDBACK_RATE_LIMIT = 1
    submit = services.submit

    def database_down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "submit", database_down)
    client.raise_request_exception = False
    data = form_data(wenli, token=token(nonce="1" * 32), text="停水了")
    assert client.post("/feedback/new/", data).status_code == 500
    monkeypatch.setattr(services, "submit", submit)
    data = form_data(wenli, token=token(nonce="2" * 32), text="停水了")
    assert client.post("/feedback/new/", data).status_code == 302
    assert Submission.objects.get().text == "停水了"


def test_thanks_page_without_a_submission_goes_to_tracking(client):
    response = client.get("/feedback/thanks/")
    assert response["Location"] == "/feedback/track/"


# Tracking ----------------------------------------------------------------------


def test_tracking_by_the_right_code_shows_status_and_answer(
    client, wenli, staff, department
):
    submission = SubmissionFactory(unit=wenli, name=NAME, phone=PHONE)
    services.answer(submission, by=staff, department=department, text="每天九点到。")
    response = client.get(f"/feedback/track/{submission.tracking_code}/")
    assert response.status_code == 200
    assert "每天九点到。" in response.text and "已答复" in response.text
    assert NAME not in response.text and PHONE not in response.text


def test_tracking_form_normalizes_the_code(client, wenli):
    submission = SubmissionFactory(unit=wenli)
    code = submission.tracking_code
    messy = f" {code[:4].lower()}-{code[4:].lower()} "
    response = client.get("/feedback/track/", {"code": messy})
    assert response["Location"] == f"/feedback/track/{code}/"


def test_tracking_by_a_wrong_code_is_404_with_a_message(client, wenli):
    SubmissionFactory(unit=wenli, name=NAME, phone=PHONE)
    response = client.get("/feedback/track/ABCDEFGH/")
    assert response.status_code == 404
    assert "没有找到这个查询码" in response.text
    assert NAME not in response.text


def test_another_persons_code_never_shows_contact_data(client, wenli):
    other = SubmissionFactory(
        unit=wenli, name=NAME, phone=PHONE, consent_to_publish=False
    )
    response = client.get(other.get_tracking_url())
    assert response.status_code == 200
    assert NAME not in response.text and PHONE not in response.text


def test_rating_once_then_the_form_is_gone(client, wenli, staff, department):
    submission = SubmissionFactory(unit=wenli)
    services.answer(submission, by=staff, department=department, text="答复")
    url = submission.get_tracking_url()
    assert "评价答复" in client.get(url).text
    response = client.post(url, {"rating": "satisfied", "comment": ""})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.rating == "satisfied"
    client.post(url, {"rating": "unsatisfied"})
    submission.refresh_from_db()
    assert submission.rating == "satisfied"
    assert "评价答复" not in client.get(url).text


def test_a_double_click_on_the_rating_rates_once_and_answers_both(
    client, wenli, staff, department, monkeypatch
):
    """Two clicks: both pages offered the form; the second reaches the
    service after the first rated (a double click, on several workers)."""
    submission = SubmissionFactory(unit=wenli)
    services.answer(submission, by=staff, department=department, text="答复")
    real_rate = services.rate

    def other_click_first(submission_, **kwargs):
        real_rate(submission_, **kwargs)
        return real_rate(submission_, **kwargs)

    monkeypatch.setattr(services, "rate", other_click_first)
    url = submission.get_tracking_url()
    response = client.post(url, {"rating": "unsatisfied", "comment": "没解决"})
    assert response.status_code == 302
    assert "这条答复已经评价过" in client.get(url).text
    assert submission.events.filter(kind="rated").count() == 1
    assert submission.events.filter(kind="reopened").count() == 1


def test_unsatisfied_rating_reopens(client, wenli, staff, department):
    submission = SubmissionFactory(unit=wenli)
    services.answer(submission, by=staff, department=department, text="答复")
    client.post(
        submission.get_tracking_url(), {"rating": "unsatisfied", "comment": "没解决"}
    )
    submission.refresh_from_db()
    assert submission.status == Status.ACCEPTED
    assert submission.events.get(kind="reopened").note.startswith("没解决")


def test_no_rating_before_the_answer(client, wenli):
    submission = SubmissionFactory(unit=wenli)
    response = client.post(submission.get_tracking_url(), {"rating": "satisfied"})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.rating == ""


# The wall ----------------------------------------------------------------------


def test_wall_shows_published_questions_and_answers_newest_answered_first(
    client, wenli, staff, department
):
    older = SubmissionFactory(unit=wenli, title="较早的问题")
    newer = SubmissionFactory(unit=wenli, title="较新的问题")
    open_one = SubmissionFactory(unit=wenli, title="尚未答复")
    services.accept(open_one, by=staff, department=department)
    services.answer(older, by=staff, department=department, text="答复一")
    services.answer(newer, by=staff, department=department, text="答复二")
    response = client.get("/feedback/")
    assert response.status_code == 200
    titles = [s.title for s in response.context["page"].object_list]
    assert titles == ["较新的问题", "较早的问题", open_one.title]
    assert "答复二" in response.text and "综治办" in response.text


def test_a_new_case_is_counted_but_not_public_until_staff_accept_it(
    client, wenli, staff, department
):
    new = SubmissionFactory(unit=wenli, title="刚提交的问题", text="刚提交的内容")
    SubmissionFactory(unit=wenli, title="另一条刚提交的")
    public_pages = [
        "/feedback/",
        new.get_absolute_url(),
        "/search/?q=刚提交",
        "/feeds/feedback/",
        "/sitemap.xml",
        "/",
    ]
    wall = client.get("/feedback/")
    assert wall.context["summary"]["received"] == 2
    assert wall.context["summary"]["waiting"] == 2
    assert "其中 2 条刚收到、待工作人员受理" in wall.text
    assert client.get(new.get_absolute_url()).status_code == 404
    for url in public_pages:
        page = client.get(url).text
        assert "刚提交的问题" not in page and "刚提交的内容" not in page, url
        assert f'href="{new.get_absolute_url()}"' not in page, url
    assert new.get_absolute_url() not in client.get("/sitemap.xml").text
    # The submitter follows it with the code all the same.
    assert "刚提交的内容" in client.get(new.get_tracking_url()).text
    services.accept(new, by=staff, department=department)
    wall = client.get("/feedback/")
    assert "刚提交的问题" in wall.text
    assert wall.context["summary"]["waiting"] == 1
    assert client.get(new.get_absolute_url()).status_code == 200
    assert new.get_absolute_url() in client.get("/search/?q=刚提交").text
    assert new.get_absolute_url() in client.get("/sitemap.xml").text


def test_waiting_cases_past_their_deadline_are_said_on_the_wall(client, wenli):
    SubmissionFactory(unit=wenli, received_at=timezone.now() - timedelta(days=40))
    wall = client.get("/feedback/")
    assert wall.context["summary"]["waiting_overdue"] == 1
    assert "待受理的来信中有 1 条已超过答复期限" in wall.text


def test_wall_hides_not_published_and_shows_no_text_without_consent(
    client, wenli, staff, department
):
    hidden = SubmissionFactory(unit=wenli, title="广告内容")
    services.hide(hidden, by=staff, reason="垃圾信息")
    private = SubmissionFactory(
        unit=wenli, title="家里的私事", text="私事详情", consent_to_publish=False
    )
    services.answer(private, by=staff, department=department, text="私下答复内容")
    response = client.get("/feedback/")
    assert "广告内容" not in response.text and "垃圾信息" not in response.text
    for secret in ("家里的私事", "私事详情", "私下答复内容"):
        assert secret not in response.text
    assert "已答复。提交人未同意公开" in response.text
    detail = client.get(private.get_absolute_url())
    assert detail.status_code == 200 and "私下答复内容" not in detail.text
    assert client.get(hidden.get_absolute_url()).status_code == 404


def test_wall_filters(client, wenli, maoshan):
    fire = TagFactory(name="森林防火")
    drought = TagFactory(name="抗旱救灾")
    a = SubmissionFactory(
        unit=wenli, kind=Kind.REPORT, tag=fire, channel="box", accepted=True
    )
    b = SubmissionFactory(unit=maoshan, kind=Kind.QUESTION, tag=drought, accepted=True)

    def shown(**params):
        response = client.get("/feedback/", params)
        assert response.status_code == 200
        return {s.pk for s in response.context["page"].object_list}

    assert shown(kind="report") == {a.pk}
    assert shown(unit="maoshan") == {b.pk}
    assert shown(tag=str(fire.pk)) == {a.pk}
    assert shown(channel="box") == {a.pk}
    assert shown(status="accepted") == {a.pk, b.pk}
    assert shown(status="answered") == set()
    # New cases are not listed, so their state is not offered.
    assert client.get("/feedback/", {"status": "received"}).status_code == 400
    today = a.received_at.date().isoformat()
    assert shown(received_after=today) == {a.pk, b.pk}
    assert shown(received_before="2000-01-01") == set()


def test_wall_summary_is_for_the_selection(client, wenli, maoshan, staff, department):
    for _ in range(3):
        answered = SubmissionFactory(unit=wenli)
        services.answer(answered, by=staff, department=department, text="答复")
    SubmissionFactory(unit=wenli)
    SubmissionFactory(unit=maoshan)
    summary = client.get("/feedback/").context["summary"]
    assert (summary["received"], summary["answered"], summary["on_time"]) == (5, 3, 3)
    assert summary["median_days"] == 0
    summary = client.get("/feedback/", {"unit": "maoshan"}).context["summary"]
    assert (summary["received"], summary["answered"]) == (1, 0)


def test_wall_bad_filter_or_page_is_400(client, wenli):
    assert client.get("/feedback/", {"kind": "nonsense"}).status_code == 400
    assert client.get("/feedback/", {"page": "99"}).status_code == 400


def test_text_is_escaped(client, wenli):
    SubmissionFactory(unit=wenli, title="<script>alert(1)</script>", accepted=True)
    response = client.get("/feedback/")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


# 点题公开 linkage -----------------------------------------------------------------


def test_request_answered_by_a_disclosure_is_linked_both_ways(
    client, wenli, staff, department
):
    disclosure = DisclosureFactory(unit=wenli, title="村道维护资金使用情况")
    request = SubmissionFactory(unit=wenli, kind=Kind.REQUEST, title="请公开村道资金")
    services.answer(
        request,
        by=staff,
        department=department,
        text="已公开。",
        fulfilled_by=disclosure,
    )
    wall = client.get("/feedback/")
    assert disclosure.get_absolute_url() in wall.text
    page = client.get(disclosure.get_absolute_url())
    assert page.status_code == 200
    assert "答复了党员群众的点题公开申请" in page.text
    assert request.get_absolute_url() in page.text
    tracking = client.get(request.get_tracking_url())
    assert disclosure.get_absolute_url() in tracking.text


def test_inner_party_fulfilment_is_not_linked_for_anonymous(
    client, wenli, staff, department
):
    inner = DisclosureFactory(
        unit=wenli,
        item=ItemFactory(scope=Scope.INNER_PARTY),
        title="发展对象党内通报名单",
    )
    request = SubmissionFactory(unit=wenli, kind=Kind.REQUEST)
    services.answer(
        request,
        by=staff,
        department=department,
        text="已在党内通报。",
        fulfilled_by=inner,
    )
    for url in ("/feedback/", request.get_absolute_url(), request.get_tracking_url()):
        assert "发展对象党内通报名单" not in client.get(url).text


# Privacy -----------------------------------------------------------------------


def test_name_and_phone_never_appear_on_any_public_page(
    client, wenli, staff, department
):
    disclosure = DisclosureFactory(unit=wenli)
    response = client.post(
        "/feedback/new/",
        form_data(
            wenli,
            kind=Kind.REQUEST,
            name=NAME,
            phone=PHONE,
            disclosure=str(disclosure.pk),
            consent_to_publish="on",
        ),
    )
    assert response.status_code == 302
    submission = Submission.objects.get()
    thanks = client.get("/feedback/thanks/")
    services.answer(
        submission,
        by=staff,
        department=department,
        text="已公开。",
        fulfilled_by=disclosure,
    )
    services.rate(submission, rating="fairly", comment="可以")
    pages = [
        thanks,
        *(
            client.get(url)
            for url in [
                "/",
                "/feedback/",
                f"/feedback/?unit={wenli.slug}",
                submission.get_absolute_url(),
                submission.get_tracking_url(),
                "/feedback/track/",
                "/feedback/new/",
                f"/feedback/new/?disclosure={disclosure.pk}",
                disclosure.get_absolute_url(),
                "/disclosures/",
                wenli.get_absolute_url(),
                "/boards/",
                # The monthly sheet and its PDF's source.
                f"/feedback/print/{wenli.slug}/{timezone.localdate():%Y-%m}/",
            ]
        ),
    ]
    for page in pages:
        assert page.status_code == 200, page
        assert NAME not in page.text
        assert PHONE not in page.text
        assert not re.search(r"139\D?1234\D?5678", page.text)


def test_home_page_shows_feedback_figures(client, town, wenli, staff, department):
    answered = SubmissionFactory(unit=wenli)
    services.answer(answered, by=staff, department=department, text="答复")
    SubmissionFactory(unit=wenli)
    response = client.get("/")
    assert response.context["feedback"]["received"] == 2
    assert response.context["feedback"]["answered"] == 1
    assert "回音壁" in response.text
