"""A reopened 回音壁 case in the search index and the Atom feed: its earlier
answers stay findable, and each feed entry names its round, its 采纳 outcome
and a 督办, never a person."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from composition.models import SearchEntry
from disclosure import roles
from feedback import services
from feedback.models import AnswerRound, Kind, Rating
from tests.composition.test_feeds import parse
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory(), slug="wenli")


@pytest.fixture
def clerk():
    return staff_user(username="clerk_wang", group=roles.TOWN_ADMIN)


def found(query: str) -> list[str]:
    response = Client().get("/search/", {"q": query})
    assert response.status_code == 200
    hits = response.context["hits"]
    return [(h["submission"] or h["disclosure"]).title for h in hits]


def reopened(unit, clerk, **fields):
    case = SubmissionFactory(unit=unit, accepted=True, **fields)
    services.answer(
        case, by=clerk, department=DepartmentFactory(), text="送水车九点到二组。"
    )
    return services.rate(case, rating=Rating.UNSATISFIED, comment="水已经分完了")


# Search ---------------------------------------------------------------------------


def test_search_keeps_the_first_answer_after_a_reopening(wenli, clerk):
    case = reopened(wenli, clerk, title="送水车几点到")
    assert case.round == 2
    # The first round's answer is still found, the rating's comment never.
    assert found("九点到二组") == ["送水车几点到"]
    assert found("水已经分完") == []
    services.answer(case, by=clerk, department=DepartmentFactory(), text="改为八点。")
    assert found("九点到二组") == ["送水车几点到"]
    assert found("改为八点") == ["送水车几点到"]
    body = SearchEntry.objects.get(submission=case).body
    assert body.index("九点到二组") < body.index("改为八点")


def test_search_follows_a_change_to_an_earlier_round(wenli, clerk):
    case = reopened(wenli, clerk, title="送水车几点到")
    first = AnswerRound.objects.get(submission=case)
    first.answer_text = "送水车十点到三组。"
    first.save()
    assert found("十点到三组") == ["送水车几点到"]
    assert found("九点到二组") == []


def test_earlier_answers_of_an_unconsented_case_are_not_found(wenli, clerk):
    reopened(wenli, clerk, title="送水车几点到", consent_to_publish=False)
    assert found("九点到二组") == []


def test_deleting_a_reopened_case_leaves_no_search_entry(
    wenli, clerk, django_capture_on_commit_callbacks
):
    case = reopened(wenli, clerk, title="送水车几点到")
    with django_capture_on_commit_callbacks(execute=True):
        case.delete()
    assert not SearchEntry.objects.filter(submission_id=case.pk).exists()
    assert found("九点到二组") == []


# Feed ---------------------------------------------------------------------------


def test_the_feed_names_the_round_and_the_outcome(client, wenli, clerk):
    case = reopened(wenli, clerk, title="送水车几点到")
    services.answer(case, by=clerk, department=DepartmentFactory(), text="改为八点。")
    suggestion = SubmissionFactory(
        unit=wenli, kind=Kind.SUGGESTION, title="建议修路灯", accepted=True
    )
    services.answer(
        suggestion, by=clerk, department=DepartmentFactory(), text="已列入计划。"
    )
    services.record_outcome(
        suggestion, by=clerk, outcome="partly", reason="今年先修主干道。"
    )
    entries = {e["title"]: e for e in parse(client.get("/feeds/feedback/"))}
    assert "第2轮答复" in entries["[咨询] 送水车几点到"]["summary"]
    assert "改为八点" in entries["[咨询] 送水车几点到"]["summary"]
    summary = entries["[建议] 建议修路灯"]["summary"]
    assert "采纳情况：部分采纳" in summary and "今年先修主干道" in summary
    assert "第1轮答复" in summary
    text = client.get("/feeds/feedback/").text
    assert 'term="部分采纳"' in text and 'term="第2轮答复"' in text
    assert "clerk_wang" not in text


def test_a_case_under_escalation_is_in_the_feed_marked(client, wenli, clerk):
    leader = staff_user(username="leader_zhang", group=roles.REVIEWER)
    leader.first_name = "张领导"
    leader.save()
    wenli.contact_leader = leader
    wenli.save()
    case = SubmissionFactory(
        unit=wenli,
        accepted=True,
        title="护林员补贴标准",
        name="李村民",
        phone="13900000000",
        received_at=timezone.now() - timedelta(days=40),
    )
    assert parse(client.get("/feeds/feedback/")) == []
    services.escalate_overdue()
    (entry,) = parse(client.get("/feeds/feedback/"))
    assert entry["title"] == "[督办中][咨询] 护林员补贴标准"
    assert "督办中" in entry["summary"]
    text = client.get("/feeds/feedback/").text
    for private in ("leader_zhang", "张领导", "李村民", "13900000000", "联系领导"):
        assert private not in text
    # Answered: an answer again, no longer marked.
    services.answer(case, by=clerk, department=DepartmentFactory(), text="已发放。")
    (entry,) = parse(client.get("/feeds/feedback/"))
    assert entry["title"] == "[咨询] 护林员补贴标准"
