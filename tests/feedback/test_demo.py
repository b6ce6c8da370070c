import io
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from catalog import workdays
from disclosure.models import Organisation
from feedback import services
from feedback.models import Kind, Submission

pytestmark = pytest.mark.django_db

# `demo` (tests/conftest.py) seeds the town once for this module; the checks
# of the data file, and a seed that fails, are in test_demo_data.py.


def test_demo_has_the_articles_figures_at_the_liaison_points(demo):
    answered = Submission.objects.filter(
        unit__name__in=["文理村", "茅山村"],
        tag__name__in=["森林防火", "抗旱救灾"],
        answered_at__year=2011,
    )
    assert answered.filter(kind=Kind.REPORT).count() == 5
    assert answered.filter(kind=Kind.QUESTION).count() == 15
    assert Submission.objects.open().exists()
    assert Submission.objects.overdue().exists()


def test_demo_request_is_fulfilled_by_a_disclosure(demo):
    request = Submission.objects.get(kind=Kind.REQUEST, fulfilled_by__isnull=False)
    assert "点题公开答复" in request.fulfilled_by.title


def test_demo_feedback_is_idempotent_and_submitters_are_fake(demo):
    count = Submission.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert Submission.objects.count() == count
    names = set(Submission.objects.exclude(name="").values_list("name", flat=True))
    assert all(name.startswith("示例") for name in names)
    phones = Submission.objects.exclude(phone="").count()
    assert phones < count / 4


def test_home_page_figures_come_from_the_demo(demo, client):
    response = client.get("/")
    assert response.context["feedback"]["received"] == Submission.objects.count()
    # The article's 20, the 点题公开 request, and the loop's three (a 建议
    # partly adopted, a 反映 rated on a 电话回访, a 举报).
    assert response.context["feedback"]["answered"] == 24


def test_fire_questions_fall_in_the_spring_fire_season_drought_in_summer(demo):
    """The demo's own 通告 ends the 戒严 on 30 April; the drought is summer's."""
    fire = Submission.objects.filter(tag__name="森林防火", answered_at__year=2011)
    assert fire.count() == 6
    for case in fire:
        assert 2 <= case.received_at.month <= 4, case.title
    drought = Submission.objects.filter(tag__name="抗旱救灾", answered_at__year=2011)
    assert drought.count() == 14
    for case in drought:
        assert 6 <= case.received_at.month <= 9, case.title


def test_village_matters_are_answered_by_the_villages_own_bodies(demo, client):
    answered = Submission.objects.filter(answering_body__isnull=False)
    assert answered.count() == 10
    for case in answered.select_related("answering_body"):
        assert case.answering_body.unit_id == case.unit_id
        assert case.answering_body.name in ("村民委员会", "村两委", "村党支部")
    case = answered.filter(
        unit__slug="wenli", answering_body__name="村民委员会", consent_to_publish=True
    ).first()
    assert case.answerer == "文理村民委员会"
    assert "文理村民委员会" in client.get(f"/feedback/{case.pk}/").content.decode()


def test_a_body_of_another_village_cannot_answer(demo):
    case = Submission.objects.filter(unit__slug="wenli").first()
    case.answering_body = Organisation.objects.get(
        unit__slug="maoshan", name="村民委员会"
    )
    with pytest.raises(Exception, match="本村"):
        case.full_clean()


def test_demo_shows_an_outcome_a_follow_up_and_a_hidden_denunciation(demo, client):
    suggestion = Submission.objects.get(kind=Kind.SUGGESTION, outcome="partly")
    page = client.get(f"/feedback/{suggestion.pk}/").text
    assert "部分采纳" in page and suggestion.outcome_reason in page
    followed = Submission.objects.get(channel="reception", rating_channel="phone")
    assert followed.rated_by_staff and followed.rating == "satisfied"
    page = client.get(f"/feedback/{followed.pk}/").text
    assert "满意（电话回访，工作人员记录）" in page
    denunciation = Submission.objects.get(kind=Kind.DENUNCIATION)
    assert client.get(f"/feedback/{denunciation.pk}/").status_code == 404
    assert denunciation.title not in client.get("/feedback/").text


def test_demo_report_assigned_to_wenlis_committee_is_answered_by_it(demo, client):
    case = Submission.objects.get(title="三组人畜饮水困难")
    assert case.kind == Kind.REPORT
    assert case.assigned_body.full_name == "文理村民委员会"
    assert case.answering_body == case.assigned_body
    assert "文理村民委员会" in client.get(f"/feedback/{case.pk}/").text


def test_demo_overdue_question_is_escalated_to_the_town_leader(demo, client):
    case = Submission.objects.get(title="护林员补贴标准")
    assert case.kind == Kind.QUESTION and case.is_escalated
    page = client.get(f"/feedback/{case.pk}/").text
    assert "督办中" in page and "town_approver" not in page
    client.force_login(get_user_model().objects.get(username="town_approver"))
    inbox = client.get("/admin/feedback/submission/?inbox=escalated").text
    assert "护林员补贴标准" in inbox


def test_demo_unsatisfied_case_has_a_new_deadline_and_a_second_answer(demo, client):
    case = Submission.objects.get(title="送水车几点到")
    assert case.round == 2
    [first] = case.rounds.all()
    assert first.rating == "unsatisfied"
    assert case.due_date == workdays.add_workdays(
        date(2011, 8, 16), services.answer_workdays(case.kind)
    )
    assert case.answered_on_time
    page = client.get(f"/feedback/{case.pk}/").text
    assert page.index(first.answer_text) < page.index(case.answer_text)
