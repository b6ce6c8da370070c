"""The rest of the 回音壁 practice: 采纳 outcomes of 意见 and 建议, ratings
recorded by staff after a 回访, the confidential 举报 kind for 镇纪委, the
来信 and 短信 channels and per-kind deadlines, over real URLs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import BodyKind
from disclosure import roles
from feedback.models import Kind, Status, Submission
from feedback.services import answer_workdays, set_deadlines
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    staff_user,
)
from tests.feedback.test_admin import LIST_URL, change_data, change_url
from tests.feedback.test_views import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    return TownFactory()


@pytest.fixture
def wenli(town):
    return UnitFactory(name="文理村", parent=town, slug="wenli")


@pytest.fixture
def department():
    return DepartmentFactory(name="党政办")


def answered(unit, **fields) -> Submission:
    now = timezone.now()
    defaults = {
        "status": Status.ANSWERED,
        "accepted_at": now,
        "answered_at": now,
        "answer_text": "已经研究，答复如下。",
        "answered_by": DepartmentFactory(name="党政办"),
    }
    return SubmissionFactory(unit=unit, **{**defaults, **fields})


def errors_of(response) -> str:
    form = response.context["adminform"].form
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# 采纳 outcomes ------------------------------------------------------------------


def test_a_suggestion_partly_adopted_needs_its_reason_then_shows_it(
    admin_client, client, wenli
):
    case = answered(wenli, kind=Kind.SUGGESTION, title="公开栏增加夜间照明")
    url = change_url(case)
    refused = admin_client.post(
        url, change_data(case, new_outcome="partly", _outcome="1")
    )
    assert refused.status_code == 200
    assert "部分采纳或暂不采纳时必须说明理由。" in errors_of(refused)
    case.refresh_from_db()
    assert case.outcome == "" and not case.events.exists()

    done = admin_client.post(
        url,
        change_data(
            case,
            new_outcome="partly",
            new_outcome_reason="照明已安装；太阳能板暂缓。",
            _outcome="1",
        ),
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.outcome == "partly"
    assert case.outcome_reason == "照明已安装；太阳能板暂缓。"
    assert case.events.get().kind == "outcome"

    card = client.get(f"/feedback/{case.pk}/").text
    assert "部分采纳" in card and "太阳能板暂缓" in card
    wall = client.get("/feedback/", {"outcome": "partly"})
    assert case.title in wall.text
    assert case.title not in client.get("/feedback/", {"outcome": "adopted"}).text
    assert client.get("/feedback/", {"outcome": "maybe"}).status_code == 400


def test_an_outcome_is_recorded_with_the_answer(admin_client, wenli, department):
    case = SubmissionFactory(unit=wenli, kind=Kind.OPINION, accepted=True)
    response = admin_client.post(
        change_url(case),
        change_data(
            case,
            answer_text="已采纳，下月起改到周末。",
            answered_by=department.pk,
            new_outcome="adopted",
            _answer="1",
        ),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.ANSWERED and case.outcome == "adopted"
    assert [e.kind for e in case.events.all()] == ["answered", "outcome"]


def test_a_question_takes_no_outcome_and_a_plain_save_records_none(
    admin_client, wenli, department
):
    question = SubmissionFactory(unit=wenli, accepted=True)
    response = admin_client.post(
        change_url(question),
        change_data(
            question,
            answer_text="答复",
            answered_by=department.pk,
            new_outcome="adopted",
            _answer="1",
        ),
    )
    assert "只有意见、建议可以记录采纳情况。" in errors_of(response)
    question.refresh_from_db()
    assert question.status == Status.ACCEPTED

    suggestion = answered(wenli, kind=Kind.SUGGESTION)
    plain = admin_client.post(
        change_url(suggestion), change_data(suggestion, new_outcome="adopted")
    )
    assert "记录采纳情况" in errors_of(plain)
    suggestion.refresh_from_db()
    assert suggestion.outcome == ""


def test_outcomes_are_counted_on_the_statistics_page_and_csv(client, wenli):
    answered(wenli, kind=Kind.SUGGESTION, outcome="adopted")
    answered(wenli, kind=Kind.OPINION, outcome="not_adopted", outcome_reason="经费")
    year = timezone.localdate().year
    page = client.get("/stats/", {"year": year})
    assert page.status_code == 200
    outcomes = {o["value"]: o["count"] for o in page.context["feedback"]["outcomes"]}
    assert outcomes == {"adopted": 1, "partly": 0, "not_adopted": 1}
    csv = client.get("/stats/csv/", {"year": year}).content.decode("utf-8-sig")
    assert "意见建议采纳" in csv and "意见建议暂不采纳" in csv


# 回访: ratings recorded by staff ----------------------------------------------------


def test_a_reception_day_case_is_rated_by_staff_after_a_phone_call(client, wenli):
    case = answered(wenli, kind=Kind.REPORT, channel="reception", title="抽水机损坏")
    clerk = staff_user(username="clerk", group=roles.UNIT_EDITOR, units=[wenli])
    client.force_login(clerk)
    url = change_url(case)
    today = timezone.localdate()

    no_channel = client.post(
        url,
        change_data(
            case, follow_up_rating="satisfied", follow_up_on=today, _follow_up=1
        ),
    )
    assert "请选择回访方式。" in errors_of(no_channel)
    future = client.post(
        url,
        change_data(
            case,
            follow_up_rating="satisfied",
            follow_up_channel="phone",
            follow_up_on=today + timedelta(days=2),
            _follow_up=1,
        ),
    )
    assert "回访日期不能晚于今天。" in errors_of(future)
    bad_date = client.post(
        url,
        change_data(
            case,
            follow_up_rating="satisfied",
            follow_up_channel="phone",
            follow_up_on="明天",
            _follow_up=1,
        ),
    )
    assert bad_date.status_code == 200
    assert "请按 2011-08-15 的格式填写日期。" in errors_of(bad_date)
    case.refresh_from_db()
    assert case.rating == ""

    done = client.post(
        url,
        change_data(
            case,
            follow_up_rating="satisfied",
            follow_up_channel="phone",
            follow_up_on=today,
            follow_up_comment="已修好",
            _follow_up=1,
        ),
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert (case.rating, case.rating_channel) == ("satisfied", "phone")
    assert timezone.localdate(case.rated_at) == today
    assert case.rated_by == clerk and case.rated_by_staff
    event = case.events.get(kind="rated")
    assert event.note == "电话回访（工作人员记录）：满意：已修好"
    assert event.user == clerk

    page = client.get(f"/feedback/{case.pk}/")  # logged in: not from a cache
    client.logout()
    page = client.get(f"/feedback/{case.pk}/").text
    assert "满意（电话回访，工作人员记录）" in page
    assert "clerk" not in page
    # Rated once: the resident's form is gone, a second 回访 refused.
    tracking = client.get(case.get_tracking_url()).text
    assert "提交评价" not in tracking and "电话回访" in tracking
    client.force_login(clerk)
    again = client.post(
        url,
        change_data(
            case,
            follow_up_rating="fairly",
            follow_up_channel="visit",
            follow_up_on=today,
            _follow_up=1,
        ),
    )
    assert "这条答复已经评价过。" in errors_of(again)


def test_unsatisfied_on_a_visit_reopens_the_case(admin_client, wenli):
    case = answered(wenli, channel="box")
    response = admin_client.post(
        change_url(case),
        change_data(
            case,
            follow_up_rating="unsatisfied",
            follow_up_channel="visit",
            follow_up_on=timezone.localdate(),
            _follow_up=1,
        ),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    # A new round: the visit's rating is kept with the first round's answer.
    assert (case.status, case.round, case.rating_channel) == (Status.ACCEPTED, 2, "")
    assert case.rounds.get().rating_channel == "visit"
    assert [e.kind for e in case.events.all()] == ["rated", "reopened"]


def test_the_residents_own_rating_is_marked_online(client, wenli):
    case = answered(wenli)
    response = client.post(case.get_tracking_url(), {"rating": "fairly"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.rating, case.rating_channel, case.rated_by) == (
        "fairly",
        "online",
        None,
    )
    assert not case.rated_by_staff


def test_ratings_taken_on_a_follow_up_are_counted(client, wenli):
    answered(wenli, rating="satisfied", rating_channel="phone")
    answered(wenli, rating="fairly", rating_channel="online")
    summary = client.get("/stats/", {"year": timezone.localdate().year}).context[
        "feedback"
    ]
    assert (summary["rated"], summary["rated_by_staff"]) == (2, 1)


# 举报: for 镇纪委 only --------------------------------------------------------------


def test_a_denunciation_sent_online_goes_to_the_discipline_committee(client, wenli):
    data = form_data(wenli, kind="denunciation", consent_to_publish="on")
    response = client.post("/feedback/new/", data)
    assert response.status_code == 302
    case = Submission.objects.get()
    assert case.kind == Kind.DENUNCIATION and not case.consent_to_publish
    assert "转凤鸣镇纪委办理" in case.events.get().note
    thanks = client.get("/feedback/thanks/").text
    assert "您的举报已转凤鸣镇纪委办理，不会在回音壁或网站上公开。" in thanks


def test_a_wrong_kind_is_refused_in_chinese(client, wenli):
    response = client.post("/feedback/new/", form_data(wenli, kind="gossip"))
    assert response.status_code == 200
    assert "所选类型不存在，请重新选择。" in response.text
    assert not Submission.objects.exists()


@pytest.fixture
def denunciation(wenli):
    return answered(
        wenli,
        kind=Kind.DENUNCIATION,
        title="村干部优亲厚友",
        text="救灾物资发放优亲厚友",
        consent_to_publish=True,
    )


def test_a_denunciation_is_never_on_the_public_site(client, wenli, denunciation):
    assert not denunciation.is_on_wall
    wall = client.get("/feedback/")
    assert denunciation.title not in wall.text
    # Not even counted on the wall: filtered to a village and a day, the count
    # would point at who reported; the yearly statistics count it.
    assert wall.context["summary"]["received"] == 0
    day = timezone.localdate(denunciation.received_at).isoformat()
    narrowed = client.get(
        "/feedback/",
        {"unit": wenli.slug, "received_after": day, "received_before": day},
    )
    assert narrowed.status_code == 200
    assert narrowed.context["summary"]["received"] == 0
    assert client.get(f"/feedback/{denunciation.pk}/").status_code == 404
    assert client.get("/feedback/", {"kind": "denunciation"}).status_code == 400
    assert denunciation.title not in client.get("/feeds/feedback/").text
    assert f"/feedback/{denunciation.pk}/" not in client.get("/sitemap.xml").text
    search = client.get("/search/", {"q": "优亲厚友"})
    assert denunciation.title not in search.text
    year = timezone.localdate().year
    stats = client.get("/stats/", {"year": year})
    assert stats.context["feedback"]["received"] == 1
    assert denunciation.title not in stats.text


def discipline_member(town, username="jiwei"):
    user = UserFactory(username=username, is_staff=True)
    town.organisations.get(kind=BodyKind.DISCIPLINE).members.add(user)
    return user


def test_only_the_discipline_committee_and_town_admin_read_a_denunciation(
    client, town, wenli, denunciation
):
    question = answered(wenli, title="送水车几点到")
    case_url = change_url(denunciation)
    history = f"/admin/feedback/submission/{denunciation.pk}/history/"
    editor = staff_user(username="editor", group=roles.UNIT_EDITOR, units=[wenli])
    client.force_login(editor)
    listing = client.get(LIST_URL)
    assert question.title in listing.text
    assert denunciation.title not in listing.text
    searched = client.get(LIST_URL, {"q": denunciation.tracking_code})
    assert denunciation.title not in searched.text
    assert (
        client.get(LIST_URL, {"kind__exact": "denunciation"}).context["cl"].result_count
        == 0
    )
    assert client.get(case_url).status_code == 302  # "does not exist"
    assert client.get(history).status_code == 302
    bulk = client.post(
        LIST_URL,
        {"action": "close_selected", "_selected_action": [denunciation.pk]},
    )
    assert bulk.status_code in (200, 302)
    denunciation.refresh_from_db()
    assert denunciation.status == Status.ANSWERED
    autocomplete = client.get(
        "/admin/autocomplete/",
        {
            "term": "优亲",
            "app_label": "feedback",
            "model_name": "submissionevent",
            "field_name": "submission",
        },
    )
    assert denunciation.title not in autocomplete.content.decode()

    # 镇纪委's member, with no 回音壁 role: the 举报 alone, read-only.
    client.force_login(discipline_member(town))
    listing = client.get(LIST_URL)
    assert listing.status_code == 200
    assert denunciation.title in listing.text and question.title not in listing.text
    page = client.get(case_url)
    assert page.status_code == 200
    assert "这是一件举报，由镇纪委办理" in page.text
    assert "feedback-workflow" not in page.text  # reads, takes no step
    assert client.get(history).status_code == 200
    assert client.get(change_url(question)).status_code == 302

    # Another town's committee reads none of it.
    other = TownFactory(name="先市镇")
    client.force_login(discipline_member(other, username="other_jiwei"))
    assert denunciation.title not in client.get(LIST_URL).text
    assert client.get(case_url).status_code == 302

    client.force_login(staff_user(username="boss", group=roles.TOWN_ADMIN))
    assert client.get(case_url).status_code == 200
    fresh = SubmissionFactory(unit=wenli, kind=Kind.DENUNCIATION)
    buttons = client.get(change_url(fresh)).text
    assert "受理（举报，不在回音壁公开）" in buttons
    assert "答复（举报，仅提交人凭查询码可见）" in buttons
    client.force_login(SuperuserFactory())
    assert denunciation.title in client.get(LIST_URL).text


# Channels, deadlines, wording, figures ------------------------------------------


def test_staff_enter_a_letter_and_a_text_message(admin_client, wenli):
    for channel in ("letter", "sms"):
        SubmissionFactory(unit=wenli, channel=channel, accepted=True)
    wall = admin_client.get("/feedback/", {"channel": "sms"})
    assert wall.status_code == 200
    assert [s.channel for s in wall.context["page"].object_list] == ["sms"]
    assert "短信" in wall.text


def test_answer_deadlines_are_set_per_kind(settings, wenli):
    settings.FEEDBACK_ANSWER_WORKDAYS = {**settings.FEEDBACK_ANSWER_WORKDAYS}
    settings.FEEDBACK_ANSWER_WORKDAYS["denunciation"] = 20
    assert answer_workdays("question") == 10
    assert answer_workdays("denunciation") == 20
    question = set_deadlines(Submission(kind=Kind.QUESTION, received_at=timezone.now()))
    denunciation = set_deadlines(
        Submission(kind=Kind.DENUNCIATION, received_at=timezone.now())
    )
    assert denunciation.due_date > question.due_date
    settings.FEEDBACK_ANSWER_WORKDAYS = 7  # an override written the old way
    assert answer_workdays("denunciation") == 7


def test_a_case_without_consent_says_its_content_is_left_out(client, wenli):
    case = answered(wenli, consent_to_publish=False, title="私事")
    for url in ("/feedback/", f"/feedback/{case.pk}/"):
        page = client.get(url).text
        assert "（提交人未同意公开，内容从略）" in page
        assert "一条未公开内容的来信" not in page and "私事" not in page


def test_the_home_page_counts_cases_of_every_kind_of_the_year(client, town, wenli):
    year = timezone.localdate().year
    for kind in (Kind.SUGGESTION, Kind.OPINION, Kind.DENUNCIATION, Kind.REPORT):
        answered(wenli, kind=kind)
    response = client.get("/")
    figures = response.context["figures"]
    assert figures["year"] == year  # no disclosure yet: this year's
    assert figures["feedback_received"] == 4  # the 举报 counted, not listed
    assert "回音壁收到意见建议（件）" in response.text


def test_a_clerk_logs_a_denunciation_by_letter_and_it_goes_to_the_committee(
    client, town, wenli
):
    clerk = staff_user(username="clerk", group=roles.UNIT_EDITOR, units=[wenli])
    client.force_login(clerk)
    data = change_data(
        Submission(
            kind=Kind.DENUNCIATION,
            channel="letter",
            unit=wenli,
            title="来信举报",
            text="反映村干部违规。",
            received_at=timezone.now(),
            consent_to_publish=True,
        ),
        _continue="1",
    )
    response = client.post(f"{LIST_URL}add/", data, follow=True)
    assert response.redirect_chain[-1][0] == LIST_URL
    case = Submission.objects.get()
    assert case.channel == "letter" and case.created_by == clerk
    assert not case.consent_to_publish
    assert (
        f"已登记（查询码 {case.tracking_code}），举报转凤鸣镇纪委办理" in response.text
    )
    assert "来信举报" not in response.text
    assert "凤鸣镇纪委" in case.events.get().note


def test_an_outcome_reason_with_markup_is_refused(admin_client, wenli):
    case = answered(wenli, kind=Kind.SUGGESTION)
    response = admin_client.post(
        change_url(case),
        change_data(
            case,
            new_outcome="not_adopted",
            new_outcome_reason="<script>alert(1)</script>",
            _outcome="1",
        ),
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.outcome == ""


def test_a_follow_up_dated_before_the_answer_is_refused(admin_client, wenli):
    case = answered(wenli)
    day_before = timezone.localdate(case.answered_at) - timedelta(days=1)
    response = admin_client.post(
        change_url(case),
        change_data(
            case,
            follow_up_rating="fairly",
            follow_up_channel="visit",
            follow_up_on=day_before,
            _follow_up=1,
        ),
    )
    assert "回访日期不能早于答复日期。" in errors_of(response)
    case.refresh_from_db()
    assert case.rating == ""
    corrected = admin_client.post(
        change_url(case),
        change_data(
            case,
            follow_up_rating="fairly",
            follow_up_channel="visit",
            follow_up_on=timezone.localdate(),
            _follow_up=1,
        ),
    )
    assert corrected.status_code == 302
    case.refresh_from_db()
    assert (case.rating, case.rating_channel) == ("fairly", "visit")
