"""The 回音壁 loop over real URLs: 交办 to the body that must answer, its
answer shown as that body's, 督办 of what passes its deadline, and the rounds
a 不满意 opens. Refused attempts first, then the corrected ones."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import workdays
from disclosure import roles
from disclosure.models import Organisation
from feedback import services
from feedback.figures import answered_on_time_rate
from feedback.models import Kind, Rating, Status, Submission
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)
from tests.feedback.test_admin import LIST_URL, change_data, change_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    return TownFactory()


@pytest.fixture
def wenli(town):
    return UnitFactory(name="文理村", parent=town)


@pytest.fixture
def maoshan(town):
    return UnitFactory(name="茅山村", parent=town)


@pytest.fixture
def department():
    return DepartmentFactory(name="社会事务办")


@pytest.fixture
def town_admin():
    return staff_user(username="town_admin", group=roles.TOWN_ADMIN)


@pytest.fixture
def committee(wenli):
    return Organisation.objects.get(unit=wenli, name="村民委员会")


@pytest.fixture
def committee_member(committee):
    user = staff_user(username="wenli_committee", group=roles.VILLAGE_APPROVER)
    committee.members.add(user)
    return user


@pytest.fixture
def leader(wenli):
    user = staff_user(username="leader_zhang", group=roles.REVIEWER)
    wenli.contact_leader = user
    wenli.save()
    return user


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assign_post(case: Submission, **extra) -> dict:
    return change_data(case, _assign="1", **extra)


def answer_post(case: Submission, department, text: str) -> dict:
    return change_data(case, _answer="1", answered_by=department.pk, answer_text=text)


def errors_of(response) -> str:
    form = response.context["adminform"].form
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# 交办 ------------------------------------------------------------------------------


def test_a_report_assigned_to_the_village_committee_is_answered_by_it(
    wenli, maoshan, committee, committee_member, town_admin, department
):
    case = SubmissionFactory(unit=wenli, kind=Kind.REPORT, title="三组缺水")
    staff, url = login(town_admin), change_url(case)

    refused = staff.post(url, assign_post(case))
    assert refused.status_code == 200
    assert "请选择一个交办单位" in errors_of(refused)
    other_village = Organisation.objects.get(unit=maoshan, name="村民委员会")
    refused = staff.post(url, assign_post(case, assign_body=other_village.pk))
    assert refused.status_code == 200
    assert "assign_body" in refused.context["adminform"].form.errors
    refused = staff.post(
        url, assign_post(case, assign_body=committee.pk, assign_workdays=0)
    )
    assert "办理期限至少 1 个工作日" in errors_of(refused)
    refused = staff.post(
        url, assign_post(case, assign_body=committee.pk, assign_workdays="五天")
    )
    assert "整数" in errors_of(refused)
    refused = staff.post(
        url, assign_post(case, assign_body=committee.pk, assign_cadre="on")
    )
    assert "二者选一" in errors_of(refused)
    case.refresh_from_db()
    assert case.assigned_body is None

    done = staff.post(
        url, assign_post(case, assign_body=committee.pk, assign_workdays=5)
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.assigned_body == committee
    assert case.due_date == workdays.add_workdays(timezone.localdate(), 5)
    assert "文理村民委员会" in case.events.get(kind="assigned").note
    # Not on the wall yet: assigning is no 受理.
    assert Client().get(f"/feedback/{case.pk}/").status_code == 404

    member = login(committee_member)
    inbox = member.get(LIST_URL + "?inbox=todo")
    assert inbox.status_code == 200
    assert "三组缺水" in inbox.text
    form_page = member.get(url)
    assert form_page.status_code == 200
    assert 'name="_answer"' in form_page.text
    assert 'name="_assign"' not in form_page.text
    assert 'name="assign_body"' not in form_page.text
    # The member answers; what the case is stays the town's and editors'.
    data = answer_post(case, department, "村委会已安排送水车每天到三组。")
    data["unit"] = maoshan.pk
    assert member.post(url, data).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.ANSWERED
    assert case.unit == wenli
    assert case.answering_body == committee
    assert case.answerer == "文理村民委员会"

    page = Client().get(f"/feedback/{case.pk}/").text
    assert "文理村民委员会" in page
    assert "wenli_committee" not in page


def test_a_town_office_or_the_discipline_committee_may_answer(
    town, wenli, town_admin, department
):
    case = SubmissionFactory(unit=wenli, accepted=True)
    office = Organisation.objects.get(unit=town, name="党政办")
    response = login(town_admin).post(
        change_url(case), assign_post(case, assign_body=office.pk)
    )
    assert response.status_code == 302
    case.refresh_from_db()
    services.answer(case, by=town_admin, department=department, text="已按规定办理。")
    case.refresh_from_db()
    assert case.answering_body == office
    assert "凤鸣镇党政办" in Client().get(f"/feedback/{case.pk}/").text


def test_assigned_to_the_villages_cadre_the_wall_says_only_baocun_ganbu(
    wenli, town_admin, department
):
    cadre = staff_user(username="cadre_li", group=roles.REVIEWER)
    case = SubmissionFactory(unit=wenli, accepted=True, title="机耕道损坏")
    staff = login(town_admin)
    refused = staff.post(change_url(case), assign_post(case, assign_cadre="on"))
    assert refused.status_code == 200
    assert "尚未设置包村干部" in errors_of(refused)
    wenli.village_cadre = cadre
    wenli.save()
    done = staff.post(change_url(case), assign_post(case, assign_cadre="on"))
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.assigned_cadre == cadre

    mine = login(cadre)
    assert "机耕道损坏" in mine.get(LIST_URL + "?inbox=todo").text
    answered = mine.post(
        change_url(case), answer_post(case, department, "已安排维修。")
    )
    assert answered.status_code == 302
    page = Client().get(f"/feedback/{case.pk}/").text
    assert "凤鸣镇包村干部" in page
    assert "cadre_li" not in page


def test_a_village_editor_cannot_assign_nor_answer_another_villages_case(
    wenli, maoshan, committee, department
):
    case = SubmissionFactory(unit=wenli, accepted=True, title="文理村的事")
    maoshan_editor = login(
        staff_user(username="maoshan_editor", group=roles.UNIT_EDITOR, units=[maoshan])
    )
    url = change_url(case)
    assert maoshan_editor.get(url).status_code == 302  # "does not exist"
    assert maoshan_editor.get(url + "history/").status_code == 302
    maoshan_editor.post(url, answer_post(case, department, "越权答复"))
    maoshan_editor.post(url, assign_post(case, assign_body=committee.pk))
    maoshan_editor.post(
        LIST_URL, {"action": "close_selected", "_selected_action": [case.pk]}
    )
    assert "文理村的事" not in maoshan_editor.get(LIST_URL + "?inbox=todo").text
    case.refresh_from_db()
    assert (case.status, case.assigned_body, case.answer_text) == (
        Status.ACCEPTED,
        None,
        "",
    )

    # Their own village's editor answers it, but 交办 is the town's.
    wenli_editor = login(
        staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    )
    assert "文理村的事" in wenli_editor.get(LIST_URL + "?inbox=todo").text
    refused = wenli_editor.post(url, assign_post(case, assign_body=committee.pk))
    assert refused.status_code == 403
    case.refresh_from_db()
    assert case.assigned_body is None
    done = wenli_editor.post(url, answer_post(case, department, "已答复。"))
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.ANSWERED


# 督办 ------------------------------------------------------------------------------


def overdue_case(unit, **fields) -> Submission:
    return SubmissionFactory(
        unit=unit,
        accepted=True,
        received_at=timezone.now() - timedelta(days=40),
        **fields,
    )


def test_an_overdue_question_is_escalated_to_the_villages_leader(
    wenli, leader, department
):
    case = overdue_case(wenli, kind=Kind.QUESTION, title="护林员补贴标准")
    with pytest.raises(CommandError):
        call_command("escalate_overdue", as_of="2011-13-01")
    out = io.StringIO()
    call_command("escalate_overdue", stdout=out)
    assert "1 case(s) escalated" in out.getvalue()
    case.refresh_from_db()
    assert case.is_escalated
    event = case.events.get(kind="escalated")
    assert "超过答复期限" in event.note and "leader_zhang" in event.note
    call_command("escalate_overdue", stdout=io.StringIO())  # once a round
    assert case.events.filter(kind="escalated").count() == 1

    page = Client().get(f"/feedback/{case.pk}/").text
    assert "督办中" in page
    assert "leader_zhang" not in page
    assert "督办中" in Client().get("/feedback/").text

    boss = login(leader)
    inbox = boss.get(LIST_URL + "?inbox=escalated")
    assert "护林员补贴标准" in inbox.text
    # The leader reads it and acts on nothing.
    form_page = boss.get(change_url(case))
    assert form_page.status_code == 200
    assert "feedback-workflow" not in form_page.text
    refused = boss.post(change_url(case), answer_post(case, department, "领导答复"))
    assert refused.status_code == 403
    case.refresh_from_db()
    assert case.is_open

    # Answered, it is no longer 督办中; the count of 督办 keeps it.
    services.answer(case, by=leader, department=department, text="标准见公开栏。")
    case.refresh_from_db()
    assert not case.is_escalated
    summary = Submission.objects.all().summary()
    assert (summary["escalated"], summary["escalating"]) == (1, 0)


def test_a_report_about_conduct_is_escalated_to_the_discipline_committee_too(
    town, wenli, leader
):
    discipline = Organisation.objects.get(unit=town, name="镇纪委")
    inspector = staff_user(username="jiwei", group=roles.REVIEWER)
    discipline.members.add(inspector)
    conduct = overdue_case(
        wenli, kind=Kind.REPORT, concerns_conduct=True, title="村干部优亲厚友"
    )
    plain = overdue_case(wenli, kind=Kind.REPORT, title="路灯不亮")
    services.escalate_overdue()
    conduct.refresh_from_db()
    plain.refresh_from_db()
    assert conduct.escalated_to == discipline
    assert plain.escalated_to is None and plain.is_escalated
    inbox = login(inspector).get(LIST_URL + "?inbox=escalated").text
    assert "村干部优亲厚友" in inbox
    assert "路灯不亮" not in inbox


def test_the_leaders_inbox_lists_an_overdue_case_before_the_daily_run(
    town, wenli, leader, town_admin
):
    case = overdue_case(wenli, title="未督办的超期咨询")
    conduct = overdue_case(
        wenli, kind=Kind.REPORT, concerns_conduct=True, title="超期作风反映"
    )
    discipline = Organisation.objects.get(unit=town, name="镇纪委")
    jiwei = staff_user(username="jiwei", group=roles.REVIEWER)
    discipline.members.add(jiwei)
    inbox = login(leader).get(LIST_URL + "?inbox=escalated").text
    assert "未督办的超期咨询" in inbox and "超期作风反映" in inbox
    inbox = login(jiwei).get(LIST_URL + "?inbox=escalated").text
    assert "超期作风反映" in inbox and "未督办的超期咨询" not in inbox
    # Reading records nothing: 督办 is the daily command's.
    case.refresh_from_db()
    conduct.refresh_from_db()
    assert not case.is_escalated and not conduct.is_escalated
    listed = login(town_admin).get(LIST_URL + "?escalated=yes").text
    assert "未督办的超期咨询" not in listed
    services.escalate_overdue()
    listed = login(town_admin).get(LIST_URL + "?escalated=yes").text
    assert "未督办的超期咨询" in listed


def test_escalated_cases_count_against_the_feedback_criterion(
    wenli, leader, department
):
    on_time = SubmissionFactory(unit=wenli)
    services.answer(on_time, by=leader, department=department, text="已答复")
    assert answered_on_time_rate([wenli.pk], timezone.now().year, None) == 1
    overdue_case(wenli)
    services.escalate_overdue()
    year = timezone.localdate().year
    rate = answered_on_time_rate([wenli.pk], year, None)
    received_this_year = Submission.objects.filter(received_at__year=year).count()
    assert rate == (0.5 if received_this_year == 2 else 1)


# Rounds ----------------------------------------------------------------------------


def test_unsatisfied_reopens_with_a_new_deadline_a_second_answer_and_rating(
    wenli, town_admin, department, leader
):
    case = SubmissionFactory(unit=wenli, accepted=True, title="送水车几点到")
    staff, resident = login(town_admin), Client()
    services.answer(case, by=town_admin, department=department, text="九点到二组。")
    track = case.get_tracking_url()

    refused = resident.post(track, {"rating": "很差"})
    assert refused.status_code == 200
    case.refresh_from_db()
    assert case.rating == ""
    resident.post(track, {"rating": "unsatisfied", "comment": "水已经分完了"})
    case.refresh_from_db()
    assert (case.round, case.status, case.rating) == (2, Status.ACCEPTED, "")
    assert case.due_date == workdays.add_workdays(
        timezone.localdate(), services.answer_workdays(case.kind)
    )
    assert not case.is_overdue()
    assert not case.is_escalated
    # Not answered yet in this round: nothing to rate.
    resident.post(track, {"rating": "satisfied"})
    case.refresh_from_db()
    assert case.rating == ""

    second = staff.post(
        change_url(case), answer_post(case, department, "已调整路线，先到二组。")
    )
    assert second.status_code == 302
    resident.post(track, {"rating": "satisfied"})
    case.refresh_from_db()
    assert (case.round, case.status, case.rating) == (2, Status.ANSWERED, "satisfied")

    page = Client().get(f"/feedback/{case.pk}/").text
    assert page.index("九点到二组。") < page.index("已调整路线，先到二组。")
    assert "第1轮答复" in page and "第2轮办理" in page
    tracking = resident.get(track).text
    assert "九点到二组。" in tracking and "已调整路线" in tracking
    admin_page = staff.get(change_url(case)).text
    assert "九点到二组。" in admin_page and "水已经分完了" in admin_page
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds[-5:] == ["answered", "rated", "reopened", "answered", "rated"]


def test_a_second_unsatisfied_rating_escalates(wenli, leader, department):
    case = SubmissionFactory(unit=wenli, accepted=True)
    for n in (1, 2):
        services.answer(case, by=leader, department=department, text=f"答复{n}")
        case = services.rate(case, rating=Rating.UNSATISFIED, comment="仍未解决")
    assert case.round == 3
    assert case.is_escalated
    assert "再次不满意" in case.events.get(kind="escalated").note
    assert list(case.rounds.values_list("number", flat=True)) == [1, 2]
    assert "督办中" in Client().get(f"/feedback/{case.pk}/").text
    assert "督办中" in Client().get(case.get_tracking_url()).text


def test_the_committee_answers_as_itself_under_the_towns_office(
    town, wenli, committee, committee_member, town_admin, department
):
    case = SubmissionFactory(unit=wenli, title="水渠漏水")
    services.accept(case, by=town_admin, department=department)
    services.assign(case, by=town_admin, body=committee)
    member, url = login(committee_member), change_url(case)
    party_committee = Organisation.objects.get(unit=town, name="镇党委")
    blank = member.post(url, change_data(case, _answer="1"))
    assert blank.status_code == 200
    assert "请填写答复内容" in errors_of(blank)
    data = change_data(
        case, _answer="1", answer_text="已组织维修。", answering_body=party_committee.pk
    )
    assert member.post(url, data).status_code == 302
    case.refresh_from_db()
    assert (case.status, case.answering_body, case.answered_by) == (
        Status.ANSWERED,
        committee,
        department,
    )


def test_the_start_page_counts_the_inbox_and_the_escalations(
    wenli, committee, committee_member, leader, town_admin
):
    case = SubmissionFactory(unit=wenli)
    services.assign(case, by=town_admin, body=committee)
    overdue_case(wenli)
    services.escalate_overdue()
    assert "待我办理 1 件" in login(committee_member).get("/admin/").text
    assert "督办给我 1 件" in login(leader).get("/admin/").text
    anonymous = Client().get("/admin/")
    assert anonymous.status_code == 302


def test_a_reopened_cases_page_costs_the_same_whatever_its_rounds(
    wenli, leader, department
):
    def reopened(times: int) -> Submission:
        case = SubmissionFactory(unit=wenli, accepted=True)
        for n in range(times):
            services.answer(case, by=leader, department=department, text=f"答复{n}")
            case = services.rate(case, rating=Rating.UNSATISFIED)
        return case

    def queries(case: Submission) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert Client().get(f"/feedback/{case.pk}/").status_code == 200
        return len(captured)

    plain = queries(SubmissionFactory(unit=wenli, accepted=True))
    once, thrice = queries(reopened(1)), queries(reopened(3))
    assert once == thrice <= plain + 1


def test_a_denunciation_is_escalated_to_the_discipline_committee_never_the_leader(
    town, wenli, leader
):
    """A 举报 may be about the village's own 联系领导: its 督办 goes to 镇纪委
    alone, and neither the leader's inbox nor their case list shows it."""
    discipline = Organisation.objects.get(unit=town, name="镇纪委")
    jiwei = staff_user(username="jiwei", group=roles.REVIEWER)
    discipline.members.add(jiwei)
    case = overdue_case(wenli, kind=Kind.DENUNCIATION, title="村主任优亲厚友举报")
    # Before the daily run: due for 督办 in 镇纪委's inbox, not the leader's.
    assert (
        "村主任优亲厚友举报"
        not in login(leader).get(LIST_URL + "?inbox=escalated").text
    )
    assert "村主任优亲厚友举报" in login(jiwei).get(LIST_URL + "?inbox=escalated").text
    services.escalate_overdue()
    case.refresh_from_db()
    assert case.is_escalated and case.escalated_to == discipline
    note = case.events.get(kind="escalated").note
    assert "镇纪委" in note and "leader_zhang" not in note and "联系领导" not in note
    assert case not in services.cases_for(leader)
    assert case in services.cases_for(jiwei)
    assert login(leader).get(change_url(case)).status_code in (302, 404)
    assert "村主任优亲厚友举报" not in login(leader).get(LIST_URL).text


def test_a_case_assigned_to_a_village_body_is_not_moved_to_another_village(
    wenli, maoshan, committee, town_admin
):
    """A case moved to 茅山村 while assigned to 文理村's 村民委员会 kept its
    assignment: the old village's body would answer another village's case."""
    case = SubmissionFactory(unit=wenli, accepted=True, title="交办后改单位")
    services.assign(case, by=town_admin, body=committee, workdays=5)
    boss = login(town_admin)
    refused = boss.post(change_url(case), change_data(case, unit=maoshan.pk))
    assert refused.status_code == 200
    assert "请由镇管理员重新交办后再修改" in errors_of(refused)
    case.refresh_from_db()
    assert case.unit == wenli
    # Assigned to a town office instead, the case may move within the town.
    office = Organisation.objects.get(unit=wenli.parent, name="党政办")
    services.assign(case, by=town_admin, body=office, workdays=5)
    moved = boss.post(change_url(case), change_data(case, unit=maoshan.pk))
    assert moved.status_code == 302
    case.refresh_from_db()
    assert case.unit == maoshan and case.assigned_body == office
