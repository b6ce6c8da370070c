"""One table of the 回音壁's workflow steps (services.ACTIONS) behind both the
admin's buttons and the step functions: the buttons shown are exactly the
steps `allowed_actions` gives, and a step the table refuses is refused in the
same words by the admin and by the function."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.utils import timezone

from disclosure import roles
from feedback import services
from feedback.admin import STEP_CALLS
from feedback.models import Kind, Status, Submission
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    staff_user,
)
from tests.feedback.test_admin import change_data, change_url

pytestmark = pytest.mark.django_db

WORKFLOW_ROW = re.compile(
    r'<div class="submit-row feedback-workflow">(.*?)</div>', re.S
)
BUTTON = re.compile(r'<input type="submit" name="(_\w+)" value="([^"]*)"')


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory())


@pytest.fixture
def department():
    return DepartmentFactory(name="社会事务办")


def make_case(state: str, unit) -> Submission:
    now = timezone.now()
    answered = {"answered_at": now, "answer_text": "已答复"}
    held_back = {"concerns_inner_party": True}
    fields = {
        "received question": {},
        "received request": {"kind": Kind.REQUEST},
        "extended request": {"kind": Kind.REQUEST, "extension_reason": "需请示"},
        "accepted question": {"status": Status.ACCEPTED, "accepted_at": now},
        "accepted request": {
            "kind": Kind.REQUEST,
            "status": Status.ACCEPTED,
            "accepted_at": now,
        },
        "answered": {"status": Status.ANSWERED, **answered},
        "answered suggestion": {
            "kind": Kind.SUGGESTION,
            "status": Status.ANSWERED,
            **answered,
        },
        "rated answered": {"status": Status.ANSWERED, "rating": "fairly", **answered},
        "closed": {"status": Status.CLOSED, "closed_at": now, **answered},
        "not published": {"status": Status.NOT_PUBLISHED, "hidden_reason": "广告"},
        "held back received": held_back,
        "held back answered": {"status": Status.ANSWERED, **answered, **held_back},
        "held back not published": {
            "status": Status.NOT_PUBLISHED,
            "hidden_reason": "广告",
            **held_back,
        },
    }[state]
    return SubmissionFactory(unit=unit, **fields)


# The steps open in each state, as the change form offered them before the
# table existed (a 点题公开 request accepted now lists 不予公开 before 答复).
OPEN_STEPS = {
    "received question": ["accept", "assign", "answer", "hide"],
    "received request": ["accept", "assign", "extend", "refuse", "answer", "hide"],
    "extended request": ["accept", "assign", "refuse", "answer", "hide"],
    "accepted question": ["assign", "answer", "hide"],
    "accepted request": ["assign", "refuse", "answer", "hide"],
    "answered": ["close", "hide", "follow_up"],
    "answered suggestion": ["close", "hide", "outcome", "follow_up"],
    "rated answered": ["close", "hide"],
    "closed": ["hide", "follow_up"],
    "not published": [],
    "held back received": ["accept", "assign", "answer", "clear", "hide"],
    "held back answered": ["close", "clear", "hide", "follow_up"],
    "held back not published": [],
}


def make_user(role: str, unit):
    if role == "superuser":
        return SuperuserFactory()
    if role == "town_admin":
        return staff_user(username="town_admin", group=roles.TOWN_ADMIN)
    if role == "unit_editor":
        return staff_user(username="editor", group=roles.UNIT_EDITOR, units=[unit])
    # Reads the unit's cases, may not change them: sees no step.
    watcher = UserFactory(username="watcher", is_staff=True)
    watcher.user_permissions.add(Permission.objects.get(codename="view_submission"))
    unit.editors.add(watcher)
    return watcher


ROLES = {"superuser": True, "town_admin": True, "unit_editor": True, "viewer": False}


def buttons_shown(page: str) -> list[tuple[str, str]]:
    row = WORKFLOW_ROW.search(page)
    return BUTTON.findall(row.group(1)) if row else []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", OPEN_STEPS)
def test_the_admin_shows_exactly_the_steps_allowed_actions_gives(
    client, wenli, state, role
):
    case = make_case(state, wenli)
    user = make_user(role, wenli)
    expected = OPEN_STEPS[state] if ROLES[role] else []
    if role == "unit_editor":  # 交办 is the town's (feedback.assign_submission)
        expected = [name for name in expected if name != "assign"]
    assert services.allowed_actions(case, user) == expected
    client.force_login(user)
    response = client.get(change_url(case))
    assert response.status_code == 200
    shown = buttons_shown(response.text)
    assert [name for name, _ in shown] == [f"_{name}" for name in expected]
    assert [label for _, label in shown] == [
        str(services.ACTIONS[name].label_for(case)) for name in expected
    ]


def test_a_held_back_case_says_it_stays_off_the_wall_on_its_buttons(
    admin_client, wenli
):
    def labels(state: str) -> dict:
        page = admin_client.get(change_url(make_case(state, wenli))).text
        return dict(buttons_shown(page))

    held, plain = labels("held back received"), labels("received question")
    assert held["_accept"] == "受理（须选承办部门）"
    assert held["_answer"] == "答复（涉及党内事项，不在回音壁公开）"
    assert plain["_accept"] == "受理（须选承办部门；受理后列入回音壁）"
    assert plain["_answer"] == "答复并在回音壁公开"


# A step the table refuses: the same words from the admin and the function ---------

TODAY = timezone.localdate()
# What each step is given, all filled in (True: the department), by its function
# and by the change form.
SERVICE_INPUTS = {
    "accept": {"department": True},
    "extend": {"reason": "需请示"},
    "refuse": {"reason": "涉及秘密"},
    "answer": {"department": True, "text": "答复"},
    "hide": {"reason": "广告"},
    "outcome": {"outcome": "adopted"},
    "follow_up": {"rating": "satisfied", "channel": "phone", "on": TODAY},
}
FORM_INPUTS = {
    "accept": {"department": True},
    "extend": {"reason": "需请示"},
    "refuse": {"reason": "涉及秘密"},
    "answer": {"department": True, "answer_text": "答复"},
    "hide": {"reason": "广告"},
    "outcome": {"new_outcome": "adopted"},
    "follow_up": {
        "follow_up_rating": "satisfied",
        "follow_up_channel": "phone",
        "follow_up_on": TODAY.isoformat(),
    },
}


def filled(inputs: dict, department) -> dict:
    return {
        key: department if value is True else value for key, value in inputs.items()
    }


def take_step(name: str, case: Submission, department, blank=None) -> None:
    given = filled({**SERVICE_INPUTS.get(name, {}), **(blank or {})}, department)
    STEP_CALLS[name](case, by=SuperuserFactory(), **given)


REFUSED = [
    (state, name)
    for state, open_steps in OPEN_STEPS.items()
    for name in services.ACTIONS
    if name not in open_steps
]


@pytest.mark.parametrize(("state", "name"), REFUSED)
def test_a_step_the_table_refuses_says_the_same_in_the_admin_and_the_service(
    admin_client, wenli, department, state, name
):
    case = make_case(state, wenli)
    before = (case.status, case.extension_reason, case.inner_party_cleared_at)
    with pytest.raises(ValidationError) as refused:
        take_step(name, case, department)
    [message] = refused.value.messages
    case.refresh_from_db()
    inputs = filled(FORM_INPUTS.get(name, {}), department.pk)
    data = change_data(case, **inputs, **{f"_{name}": "1"})
    response = admin_client.post(change_url(case), data)
    assert response.status_code == 200
    assert message in response.context["adminform"].form.non_field_errors()
    case.refresh_from_db()
    assert (case.status, case.extension_reason, case.inner_party_cleared_at) == before
    assert not case.events.exists()


@pytest.mark.parametrize(
    ("name", "blank", "message"),
    [
        ("accept", {"department": None}, "受理时必须指定承办部门。"),
        ("extend", {"reason": " "}, "延期必须填写理由。"),
        ("refuse", {"reason": ""}, "不予公开必须书面说明理由。"),
        ("answer", {"department": None}, "答复时必须指定答复部门。"),
        ("answer", {"text": " "}, "答复内容不能为空。"),
        ("hide", {"reason": ""}, "设为不予公开必须填写原因。"),
    ],
)
def test_a_blank_input_the_table_requires_is_refused_by_the_service(
    wenli, department, name, blank, message
):
    case = make_case("received request", wenli)
    assert name in services.allowed_actions(case, SuperuserFactory())
    with pytest.raises(ValidationError) as refused:
        take_step(name, case, department, blank)
    assert refused.value.messages == [message]
    assert message in [str(m) for m in services.ACTIONS[name].required.values()]
    assert not case.events.exists()


def test_a_case_reclassified_as_a_request_and_refused_in_one_go(admin_client, wenli):
    case = make_case("received question", wenli)
    data = change_data(case, kind=Kind.REQUEST, reason="涉及秘密", _refuse="1")
    assert admin_client.post(change_url(case), data).status_code == 302
    case.refresh_from_db()
    assert case.is_refused and case.status == Status.ANSWERED
