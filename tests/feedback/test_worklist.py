# ruff: noqa: F811 (the fixtures imported from test_loop)
"""The start page's 回音壁 counts (feedback/worklist.py) per role, each
linking to the case list filtered to exactly those cases; the list's order
and the handling buttons at the top of a case."""

from datetime import timedelta

import pytest
from django.utils import timezone

from disclosure import roles
from feedback import services
from feedback.models import Kind
from tests.disclosure.test_worklist import counts_agree_with_their_lists, login
from tests.factories import SubmissionFactory, UserFactory, staff_user
from tests.feedback.test_admin import change_url
from tests.feedback.test_loop import (  # noqa: F401 (fixtures)
    committee,
    committee_member,
    leader,
    maoshan,
    town,
    town_admin,
    wenli,
)

pytestmark = pytest.mark.django_db


def overdue(unit, **fields):
    return SubmissionFactory(
        unit=unit,
        accepted=True,
        received_at=timezone.now() - timedelta(days=40),
        **fields,
    )


@pytest.fixture
def wenli_editor(wenli):
    return staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])


@pytest.fixture
def jiwei(town):
    user = UserFactory(username="jiwei", is_staff=True)
    town.organisations.get(name="镇纪委").members.add(user)
    return user


@pytest.fixture
def cases(wenli, maoshan, committee, town_admin):
    SubmissionFactory(unit=wenli, title="新来的")
    overdue(wenli, title="超期的")
    assigned = SubmissionFactory(unit=wenli, accepted=True, title="交办的")
    services.assign(assigned, by=town_admin, body=committee)
    overdue(maoshan, title="茅山超期的")
    SubmissionFactory(unit=wenli, kind=Kind.DENUNCIATION, consent_to_publish=False)
    SubmissionFactory(
        unit=wenli,
        status="answered",
        answered_at=timezone.now() - timedelta(days=1),
        title="已答复",
    )
    services.escalate_overdue()


def test_a_village_editor_counts_their_villages_open_cases(cases, wenli_editor):
    found = counts_agree_with_their_lists(wenli_editor)
    # New and overdue, not the one assigned to the committee nor the 举报.
    assert (found["待我办理"], found["其中已超期"]) == (2, 1)
    assert "全部未办结" not in found


def test_a_body_member_counts_what_was_assigned_to_them(cases, committee_member):
    found = counts_agree_with_their_lists(committee_member)
    assert (found["待我办理"], found["其中已超期"]) == (1, 0)


def test_the_contact_leader_counts_what_was_escalated_to_them(cases, leader):
    found = counts_agree_with_their_lists(leader)
    assert found["督办给我"] == 1  # 文理村's overdue case, not the 举报


def test_the_town_administrator_counts_the_whole_town(cases, town_admin):
    found = counts_agree_with_their_lists(town_admin)
    assert found["全部未办结"] == 5
    assert found["全部已超期"] == 2


def test_a_discipline_member_counts_the_towns_open_denunciations(cases, jiwei):
    found = counts_agree_with_their_lists(jiwei)
    assert (found["举报未办结"], found["待我办理"]) == (1, 0)


def test_a_cases_handling_buttons_come_before_its_fields(cases, town_admin):
    from feedback.models import Submission

    case = Submission.objects.get(title="新来的")
    text = login(town_admin).get(change_url(case)).text
    top = text.index('id="workflow-top"')
    assert text.index('name="_save"') < top  # Enter saves, never takes a step
    assert top < text.index('name="_accept"') < text.index("<fieldset")
    assert text.count('name="_accept"') == 2  # at the bottom as well


def test_the_case_list_reads_on_a_narrow_screen(cases, wenli_editor, town_admin):
    """An editor of one village gets no 单位 column; the title carries the
    tracking code; the deadline and 超期 are columns."""
    editor_list = login(wenli_editor).get("/admin/feedback/submission/")
    columns = editor_list.context["cl"].list_display
    assert "unit" not in columns and "title_display" in columns
    assert {"due_date", "overdue_display"} <= set(columns)
    assert "css/admin_lists.css" in editor_list.text
    town_list = login(town_admin).get("/admin/feedback/submission/")
    assert "unit" in town_list.context["cl"].list_display
