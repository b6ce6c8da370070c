"""Attacks on the 回音壁 loop (issue 17): a 举报 stays with 镇纪委 whatever
path staff take (inbox counts, 交办, the answering body), and hostile input
gets a Chinese answer, never a 500."""

import pytest
from django.test import Client

from disclosure import roles
from disclosure.models import Organisation
from feedback import services
from feedback.models import Kind, Submission
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    staff_user,
)
from tests.feedback.test_admin import change_data, change_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    return TownFactory()


@pytest.fixture
def wenli(town):
    return UnitFactory(name="文理村", parent=town, slug="wenli")


@pytest.fixture
def town_admin():
    return staff_user(username="town_admin", group=roles.TOWN_ADMIN)


@pytest.fixture
def wenli_editor(wenli):
    return staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])


@pytest.fixture
def committee(wenli):
    return Organisation.objects.get(unit=wenli, name="村民委员会")


@pytest.fixture
def discipline(town):
    return Organisation.objects.get(unit=town, name="镇纪委")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def denunciation(unit, **fields) -> Submission:
    return SubmissionFactory(
        unit=unit,
        kind=Kind.DENUNCIATION,
        title="村主任优亲厚友",
        consent_to_publish=False,
        accepted=True,
        **fields,
    )


def errors_of(response) -> str:
    form = response.context["adminform"].form
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# A 举报's existence ------------------------------------------------------------------


def test_the_start_page_never_counts_a_denunciation_for_whom_may_not_read_it(
    wenli, wenli_editor, committee, town_admin
):
    """The village's editor reads none of its 举报: their 待我办理 count and
    list agree (the inbox is drawn from cases_for)."""
    denunciation(wenli)
    member = staff_user(username="wenli_committee", group=roles.VILLAGE_APPROVER)
    committee.members.add(member)
    # Assigned to the committee before it was reclassified as a 举报.
    assigned = SubmissionFactory(unit=wenli, accepted=True, assigned_body=committee)
    assigned.kind = Kind.DENUNCIATION
    assigned.save()
    for user in (wenli_editor, member):
        assert not services.inbox(user).exists()
        page = login(user).get("/admin/")
        assert "待我办理 0 件" in page.text
    # The town administrator still reads both.
    assert services.cases_for(town_admin).count() == 2


# 交办 and the answering body of a 举报: 镇纪委 only ---------------------------------


def test_a_denunciation_is_assigned_to_the_discipline_committee_only(
    wenli, town_admin, committee, discipline
):
    wenli.village_cadre = UserFactory(username="cadre_li", is_staff=True)
    wenli.save()
    case = denunciation(wenli)
    staff, url = login(town_admin), change_url(case)

    page = staff.get(url)
    choices = list(page.context["adminform"].form.fields["assign_body"].queryset)
    assert choices == [discipline]

    refused = staff.post(url, change_data(case, _assign="1", assign_body=committee.pk))
    assert refused.status_code == 200
    assert "assign_body" in refused.context["adminform"].form.errors
    refused = staff.post(url, change_data(case, _assign="1", assign_cadre="on"))
    assert refused.status_code == 200
    assert "举报只能交办镇纪委" in errors_of(refused)
    case.refresh_from_db()
    assert case.assigned_body is None and case.assigned_cadre is None

    # The service refuses alike, whoever calls it.
    with pytest.raises(services.ValidationError):
        services.assign(case, by=town_admin, body=committee)
    with pytest.raises(services.ValidationError):
        services.assign(case, by=town_admin, to_cadre=True)

    done = staff.post(url, change_data(case, _assign="1", assign_body=discipline.pk))
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.assigned_body == discipline


def test_a_denunciation_is_never_answered_as_a_village_body(
    wenli, town_admin, committee, discipline
):
    case = denunciation(wenli)
    department = DepartmentFactory(name="党政办")
    with pytest.raises(services.ValidationError):
        services.answer(
            case, by=town_admin, department=department, text="已查实", body=committee
        )
    staff, url = login(town_admin), change_url(case)
    data = change_data(
        case,
        _answer="1",
        answered_by=department.pk,
        answer_text="已查实。",
        answering_body=committee.pk,
    )
    refused = staff.post(url, data)
    assert refused.status_code == 200
    case.refresh_from_db()
    assert not case.is_answered
    data["answering_body"] = discipline.pk
    assert staff.post(url, data).status_code == 302
    case.refresh_from_db()
    assert case.answering_body == discipline


def test_reclassifying_an_assigned_case_as_a_denunciation_is_refused(
    wenli, town_admin, committee
):
    """Else the 举报 would stay with the village body (which may not read it)."""
    case = SubmissionFactory(unit=wenli, accepted=True)
    services.assign(case, by=town_admin, body=committee)
    response = login(town_admin).post(
        change_url(case), change_data(case, kind=Kind.DENUNCIATION)
    )
    assert response.status_code == 200
    assert "举报只能交办镇纪委" in errors_of(response)
    case.refresh_from_db()
    assert case.kind == Kind.QUESTION


def test_another_towns_committee_is_no_answering_body(wenli, town_admin):
    other = TownFactory(name="先市镇")
    case = denunciation(wenli)
    foreign = Organisation.objects.get(unit=other, name="镇纪委")
    with pytest.raises(services.ValidationError):
        services.assign(case, by=town_admin, body=foreign)


# A body it was assigned to answers, and decides nothing else ------------------------


@pytest.fixture
def committee_member(committee):
    user = staff_user(username="wenli_committee", group=roles.VILLAGE_APPROVER)
    committee.members.add(user)
    return user


def test_the_assigned_body_neither_hides_clears_closes_nor_rates_its_own_answer(
    wenli, town_admin, committee, committee_member, wenli_editor
):
    """A village committee given a complaint (about itself, maybe) answers it:
    taking it off the wall, clearing a 党内 matter for it, closing it or
    recording the resident's satisfaction after a 回访 stay the town's and
    the village editors' (services.keeps_record)."""
    department = DepartmentFactory(name="党政办")
    case = SubmissionFactory(unit=wenli, accepted=True, concerns_inner_party=True)
    services.assign(case, by=town_admin, body=committee)
    assert services.allowed_actions(case, committee_member) == ["answer"]
    member, url = login(committee_member), change_url(case)
    for step, extra in [
        ("_hide", {"reason": "与本村无关"}),
        ("_clear", {}),
    ]:
        response = member.post(url, change_data(case, **{step: "1"}, **extra))
        assert response.status_code == 403, step
    case.refresh_from_db()
    assert case.status == "accepted" and case.is_held_back

    assert (
        member.post(
            url,
            {
                **change_data(case),
                "_answer": "1",
                "answered_by": department.pk,
                "answer_text": "已解决。",
            },
        ).status_code
        == 302
    )
    case.refresh_from_db()
    assert services.allowed_actions(case, committee_member) == []
    today = case.answered_at.date().isoformat()
    refused = member.post(
        url,
        change_data(
            case,
            _follow_up="1",
            follow_up_rating="satisfied",
            follow_up_channel="phone",
            follow_up_on=today,
        ),
    )
    assert refused.status_code == 403
    assert member.post(url, change_data(case, _close="1")).status_code == 403
    case.refresh_from_db()
    assert case.status == "answered" and not case.rating
    # The village's editor and the town still take them.
    assert "follow_up" in services.allowed_actions(case, wenli_editor)
    assert "hide" in services.allowed_actions(case, town_admin)


# The monthly sheet's month: ASCII "YYYY-MM" only, echoed without controls ---------


@pytest.mark.parametrize(
    "key",
    [
        "٢٠٢٦-١١",  # Arabic-Indic digits: \d matches them
        "2026-11%0A",  # a trailing newline: $ matches before it
        "２０２６-１１",  # full-width digits
    ],
)
def test_a_month_in_other_digits_or_with_a_newline_is_a_chinese_400(client, wenli, key):
    for suffix in ("/", ".pdf"):
        response = client.get(f"/feedback/print/wenli/{key}{suffix}")
        assert response.status_code == 400, (key, suffix)
        assert "无效" in response.text
    # The month form strips what was typed around it, and leads to the one URL.
    chosen = client.get(f"/feedback/print/wenli/?month={key}")
    assert chosen.status_code == 400 or chosen["Location"].endswith("/2026-11/")


def test_a_bad_month_is_not_echoed_with_its_bidi_override(client, wenli):
    response = client.get("/feedback/print/wenli/%E2%80%AE2026-11/")
    assert response.status_code == 400
    assert "\u202e" not in response.text
    assert "月份“2026-11”无效" in response.text


# 回访: one clear message per bad input, and never rated before the answer ---------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("follow_up_on", "9999-12-31", "日期超出范围"),
        ("follow_up_on", "2026-02-30", "请按 2011-08-15 的格式填写日期。"),
        ("follow_up_on", "\u202e2026", "请按 2011-08-15 的格式填写日期。"),
        ("follow_up_channel", "online", "不在可用的选项中"),
        ("follow_up_rating", "delighted", "不在可用的选项中"),
    ],
)
def test_a_bad_follow_up_input_gets_one_message(
    wenli, town_admin, field, value, message
):
    case = SubmissionFactory(unit=wenli, accepted=True)
    services.answer(
        case, by=town_admin, department=DepartmentFactory(name="党政办"), text="好"
    )
    data = change_data(
        case,
        _follow_up="1",
        follow_up_rating="satisfied",
        follow_up_channel="phone",
        follow_up_on=case.answered_at.date().isoformat(),
    )
    data[field] = value
    response = login(town_admin).post(change_url(case), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors[field]
    assert len(errors) == 1 and message in errors[0], errors


def test_a_follow_up_on_the_answers_day_is_not_dated_before_the_answer(
    wenli, town_admin
):
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    day = timezone.localdate() - timedelta(days=3)
    late = timezone.make_aware(datetime.combine(day, time(17, 30)))
    case = SubmissionFactory(unit=wenli, accepted=True)
    services.answer(
        case,
        by=town_admin,
        department=DepartmentFactory(name="党政办"),
        text="好",
        answered_at=late,
    )
    services.record_follow_up(
        case, by=town_admin, rating="satisfied", channel="phone", on=day
    )
    case.refresh_from_db()
    assert case.rated_at >= case.answered_at


def test_who_may_not_read_a_denunciation_may_take_no_step_on_it(
    wenli, wenli_editor, town_admin, discipline
):
    """can_handle agrees with cases_for: the village's editor takes no step
    on its 举报, whatever path reaches the services (a bulk action, a script)."""
    case = denunciation(wenli)
    assert not services.can_handle(wenli_editor, case)
    assert services.allowed_actions(case, wenli_editor) == []
    with pytest.raises(services.PermissionDenied):
        services.check_action("hide", case, user=wenli_editor)
    jiwei = staff_user(username="jiwei", group=roles.REVIEWER)
    discipline.members.add(jiwei)
    services.assign(case, by=town_admin, body=discipline)
    assert services.allowed_actions(case, jiwei) == ["answer"]


def test_a_discipline_member_without_a_role_sees_what_was_escalated_to_them(
    wenli, discipline
):
    """镇纪委's member reads its 举报 without a 回音壁 role: the start page
    counts what was escalated to them as the list shows it."""
    from datetime import timedelta

    from django.utils import timezone

    jiwei = UserFactory(username="jiwei", is_staff=True)
    discipline.members.add(jiwei)
    denunciation(wenli, received_at=timezone.now() - timedelta(days=40))
    services.escalate_overdue()
    page = login(jiwei).get("/admin/")
    assert "督办给我 1 件" in page.text
    assert "待我办理 0 件" in page.text


def test_an_editor_who_reclassifies_a_case_as_a_denunciation_is_told_where_it_went(
    wenli, wenli_editor
):
    """Not "may have been deleted": it went to 镇纪委, whom it is for."""
    case = SubmissionFactory(unit=wenli, accepted=True, channel="box")
    response = login(wenli_editor).post(
        change_url(case),
        change_data(case, kind=Kind.DENUNCIATION, _continue="1"),
        follow=True,
    )
    assert response.redirect_chain == [("/admin/feedback/submission/", 302)]
    said = [str(m) for m in response.context["messages"]]
    assert any("举报转凤鸣镇纪委办理，您无权查看" in m for m in said), said
    assert not any("不存在" in m for m in said)
    case.refresh_from_db()
    assert case.kind == Kind.DENUNCIATION


def test_a_denunciation_answered_without_a_body_is_answered_as_the_committee(
    client, wenli, town_admin, discipline
):
    """Its tracking page says 镇纪委 handles it: the answer says so too, not
    the office picked as 答复部门."""
    case = denunciation(wenli)
    services.answer(
        case, by=town_admin, department=DepartmentFactory(name="党政办"), text="已核查"
    )
    case.refresh_from_db()
    assert case.answering_body == discipline
    page = client.get(case.get_tracking_url()).text
    assert discipline.full_name in page


def test_the_daily_run_refuses_a_day_not_yet_come(wenli):
    """A typo in --as-of would record 督办 (public, counted) of cases whose
    deadline has not passed."""
    import io
    from datetime import timedelta

    from django.core.management import CommandError, call_command
    from django.utils import timezone

    case = SubmissionFactory(unit=wenli, accepted=True)
    tomorrow = timezone.localdate() + timedelta(days=1)
    for day in (tomorrow.isoformat(), "2099-01-01", "0001-01-01"):
        with pytest.raises(CommandError):
            call_command("escalate_overdue", as_of=day, stdout=io.StringIO())
    case.refresh_from_db()
    assert case.escalated_at is None
    call_command(
        "escalate_overdue", as_of=timezone.localdate().isoformat(), stdout=io.StringIO()
    )


def test_a_crafted_body_for_a_denunciation_gets_one_message(
    wenli, town_admin, committee
):
    case = denunciation(wenli)
    response = login(town_admin).post(
        change_url(case), change_data(case, _assign="1", assign_body=committee.pk)
    )
    errors = response.context["adminform"].form.errors["assign_body"]
    assert len(errors) == 1 and "有效" in errors[0], errors
