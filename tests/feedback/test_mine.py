"""A logged-in member's own cases (/feedback/mine/): what they sent from the
website, with status, deadlines and answers; never another account's."""

import pytest

from feedback import services
from feedback.models import Kind, Status, Submission
from tests.factories import (
    DepartmentFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.feedback.test_views import form_data, token

pytestmark = pytest.mark.django_db


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory())


def submit(client, unit, **overrides) -> Submission:
    response = client.post("/feedback/new/", form_data(unit, **overrides))
    assert response.status_code == 302, response.content
    return Submission.objects.latest("id")


def test_a_logged_in_submission_is_linked_to_its_account(client, wenli):
    member = PartyMemberFactory()
    client.force_login(member)
    submission = submit(client, wenli, title="党员提的问题")
    assert submission.submitter == member
    thanks = client.get("/feedback/thanks/")
    assert 'href="/feedback/mine/"' in thanks.text


def test_an_anonymous_submission_stays_anonymous(client, wenli):
    submission = submit(client, wenli, title="匿名提的问题")
    assert submission.submitter is None
    assert 'href="/feedback/mine/"' not in client.get("/feedback/thanks/").text


def test_mine_lists_own_cases_with_status_deadline_and_answer(client, wenli):
    member = PartyMemberFactory()
    client.force_login(member)
    waiting = submit(client, wenli, title="还在办理的问题")
    answered = submit(
        client,
        wenli,
        title="已答复的问题",
        text="不同意公开的内容",
        token=token(nonce="b" * 32),
    )
    staff = UserFactory(username="staff", is_staff=True)
    services.answer(
        answered,
        by=staff,
        department=DepartmentFactory(name="党政办"),
        text="已安排送水车。",
    )
    response = client.get("/feedback/mine/")
    assert response.status_code == 200
    page = response.text
    assert "我的意见建议" in page
    for case in (waiting, answered):
        assert case.title in page
        assert f'href="{case.get_tracking_url()}"' in page
        assert case.tracking_code in page
    assert waiting.due_date.strftime("%Y年%-m月%-d日") in page  # 答复期限
    assert str(Status.RECEIVED.label) in page and str(Status.ANSWERED.label) in page
    # Their own answer and text, though the wall does not show them.
    assert "已安排送水车。" in page and "不同意公开的内容" in page
    assert "党政办 于" in page
    assert "查看办理情况并评价" in page


def test_mine_never_shows_another_accounts_or_anonymous_cases(client, wenli):
    other = PartyMemberFactory(username="other_member")
    SubmissionFactory(unit=wenli, title="别人的问题", submitter=other)
    SubmissionFactory(unit=wenli, title="匿名的问题")
    SubmissionFactory(unit=wenli, title="工作人员录入的问题", created_by=other)
    member = PartyMemberFactory()
    SubmissionFactory(
        unit=wenli, title="我自己的问题", submitter=member, kind=Kind.REQUEST
    )
    client.force_login(member)
    page = client.get("/feedback/mine/").text
    assert "我自己的问题" in page
    for absent in ("别人的问题", "匿名的问题", "工作人员录入的问题"):
        assert absent not in page


def test_mine_is_for_logged_in_users_and_linked_from_the_header(client, wenli):
    response = client.get("/feedback/mine/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/feedback/mine/")
    assert 'href="/feedback/mine/"' not in client.get("/feedback/").text
    client.force_login(PartyMemberFactory())
    response = client.get("/feedback/mine/")
    assert "您还没有在网站提交过意见建议。" in response.text
    assert 'href="/feedback/mine/"' in client.get("/feedback/").text
    assert "private" in response["Cache-Control"]


def test_bad_page_is_a_chinese_400(client, wenli):
    client.force_login(PartyMemberFactory())
    response = client.get("/feedback/mine/?page=abc")
    assert response.status_code == 400
    assert "页码无效" in response.text
