from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from disclosure import roles
from feedback.models import Kind, Status, Submission
from tests.factories import (
    AnswerTemplateFactory,
    DepartmentFactory,
    DisclosureFactory,
    SubmissionFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/feedback/submission/"


def aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)))


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
def admin_user():
    return SuperuserFactory()


@pytest.fixture
def wenli_editor(wenli):
    # The real role group, so the test also covers the granted permissions.
    return staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])


def change_data(submission: Submission, **extra) -> dict:
    received = timezone.localtime(submission.received_at)
    data = {
        "kind": submission.kind,
        "channel": submission.channel,
        "unit": submission.unit_id,
        "title": submission.title,
        "text": submission.text,
        "received_at_0": received.date().isoformat(),
        "received_at_1": received.time().strftime("%H:%M:%S"),
        "answer_text": submission.answer_text,
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
    }
    if submission.consent_to_publish:  # a ticked box, as the browser sends it
        data["consent_to_publish"] = "on"
    data.update({k: str(v) for k, v in extra.items()})
    return data


def change_url(submission: Submission) -> str:
    return f"/admin/feedback/submission/{submission.pk}/change/"


def test_admin_list_boundaries(client, wenli):
    SubmissionFactory(unit=wenli)
    assert client.get(LIST_URL).status_code == 302  # anonymous: login
    client.force_login(UserFactory(username="clerk", is_staff=True))
    assert client.get(LIST_URL).status_code == 403  # no permission
    client.force_login(SuperuserFactory())
    assert client.get(LIST_URL).status_code == 200


def test_open_cases_come_first_newest_at_the_top(admin_client, wenli):
    """Not overdue first and then years of closed cases: the open ones, the
    newest first, then the closed ones; 超期 is a column and a filter."""
    today = timezone.localdate()
    fresh = SubmissionFactory(unit=wenli, title="新来的", received_at=timezone.now())
    late = SubmissionFactory(
        unit=wenli, title="超期的", received_at=aware(today - timedelta(days=60))
    )
    answered_old = SubmissionFactory(
        unit=wenli,
        title="早已答复",
        received_at=aware(today - timedelta(days=90)),
        status=Status.ANSWERED,
        answered_at=aware(today - timedelta(days=85)),
    )
    answered_recent = SubmissionFactory(
        unit=wenli,
        title="刚答复",
        received_at=aware(today - timedelta(days=5)),
        status=Status.ANSWERED,
        answered_at=aware(today - timedelta(days=1)),
    )
    response = admin_client.get(LIST_URL)
    result = list(response.context["cl"].result_list)
    assert result == [fresh, late, answered_recent, answered_old]
    assert "超期" in response.text and "答复期限" in response.text
    overdue_only = admin_client.get(LIST_URL, {"overdue": "yes"})
    assert list(overdue_only.context["cl"].result_list) == [late]


def test_unit_editor_sees_and_acts_only_on_own_units(
    client, wenli, maoshan, wenli_editor
):
    own = SubmissionFactory(unit=wenli, title="文理的来信")
    other = SubmissionFactory(unit=maoshan, title="茅山的来信")
    client.force_login(wenli_editor)
    response = client.get(LIST_URL)
    assert list(response.context["cl"].result_list) == [own]
    assert client.get(change_url(own)).status_code == 200
    assert client.get(change_url(other)).status_code == 302  # "does not exist"
    form = client.get(f"{LIST_URL}add/").context["adminform"].form
    assert list(form.fields["unit"].queryset) == [wenli]


def test_staff_enter_an_offline_submission_with_its_channel(admin_client, wenli):
    data = change_data(
        Submission(
            kind=Kind.REPORT,
            channel="box",
            unit=wenli,
            title="意见箱来信",
            text="村道有坑。",
            received_at=aware(date(2011, 8, 3)),
        ),
        name="示例村民",
    )
    response = admin_client.post(f"{LIST_URL}add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    submission = Submission.objects.get()
    assert submission.channel == "box" and submission.created_by.username == "admin"
    assert submission.due_date == date(2011, 8, 17)
    assert submission.events.get().kind == "received"


def test_reclassifying_a_case_as_a_request_gives_it_a_decision_due(admin_client, wenli):
    submission = SubmissionFactory(unit=wenli, received_at=aware(date(2011, 9, 28)))
    assert submission.decision_due is None
    data = change_data(submission, kind=Kind.REQUEST)
    assert admin_client.post(change_url(submission), data).status_code == 302
    submission.refresh_from_db()
    assert submission.due_date == date(2011, 10, 17)
    assert submission.decision_due == date(2011, 10, 8)


def test_accept_then_answer_with_a_template_then_close(admin_client, wenli, department):
    submission = SubmissionFactory(unit=wenli)
    response = admin_client.post(
        change_url(submission),
        change_data(submission, department=department.pk, _accept="1"),
    )
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == Status.ACCEPTED
    template = AnswerTemplateFactory()
    response = admin_client.post(
        change_url(submission),
        change_data(
            submission,
            department=department.pk,
            answer_template=template.pk,
            _answer="1",
        ),
    )
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == Status.ANSWERED
    assert submission.answer_text == template.text
    assert submission.answered_by == department
    admin_client.post(
        change_url(submission),
        change_data(submission, department=department.pk, _close="1"),
    )
    submission.refresh_from_db()
    assert submission.status == Status.CLOSED
    kinds = list(submission.events.values_list("kind", flat=True))
    assert kinds == ["accepted", "answered", "closed"]


def test_template_options_carry_their_text_for_the_insert_script(admin_client, wenli):
    AnswerTemplateFactory(text="模板正文")
    response = admin_client.get(change_url(SubmissionFactory(unit=wenli)))
    assert 'data-text="模板正文"' in response.text
    assert "feedback/answer_template.js" in response.text


def test_hiding_without_a_reason_is_refused(admin_client, wenli):
    submission = SubmissionFactory(unit=wenli)
    response = admin_client.post(
        change_url(submission), change_data(submission, _hide="1")
    )
    assert response.status_code == 200
    assert "请填写理由。" in response.text
    submission.refresh_from_db()
    assert submission.status == Status.RECEIVED
    response = admin_client.post(
        change_url(submission), change_data(submission, _hide="1", reason="广告")
    )
    submission.refresh_from_db()
    assert submission.status == Status.NOT_PUBLISHED
    assert submission.hidden_reason == "广告"


def test_request_refused_and_extended_from_the_admin(admin_client, wenli):
    request = SubmissionFactory(unit=wenli, kind=Kind.REQUEST)
    response = admin_client.post(change_url(request), change_data(request, _refuse="1"))
    assert "请填写理由。" in response.text
    admin_client.post(
        change_url(request), change_data(request, _extend="1", reason="需请示")
    )
    request.refresh_from_db()
    assert request.extension_reason == "需请示"
    admin_client.post(
        change_url(request), change_data(request, _refuse="1", reason="涉及秘密")
    )
    request.refresh_from_db()
    assert request.is_refused and request.status == Status.ANSWERED


def test_request_answered_by_linking_a_disclosure(admin_client, wenli, department):
    disclosure = DisclosureFactory(unit=wenli)
    request = SubmissionFactory(unit=wenli, kind=Kind.REQUEST)
    admin_client.post(
        change_url(request),
        change_data(
            request,
            department=department.pk,
            answer_text="已公开",
            fulfilled_by=disclosure.pk,
            _answer="1",
        ),
    )
    request.refresh_from_db()
    assert request.fulfilled_by == disclosure and request.status == Status.ANSWERED
    assert list(disclosure.fulfilled_requests.all()) == [request]


def test_no_delete_in_the_admin(admin_client, wenli):
    submission = SubmissionFactory(unit=wenli)
    response = admin_client.get(f"/admin/feedback/submission/{submission.pk}/delete/")
    assert response.status_code == 403


# What only the workflow changes ----------------------------------------------------


def test_received_time_is_fixed_once_entered(client, wenli, wenli_editor):
    late = SubmissionFactory(
        unit=wenli, received_at=aware(timezone.localdate() - timedelta(days=60))
    )
    assert Submission.objects.overdue().filter(pk=late.pk).exists()
    client.force_login(wenli_editor)
    now = timezone.localtime()
    response = client.post(
        change_url(late),
        change_data(
            late,
            received_at_0=now.date().isoformat(),
            received_at_1=now.time().strftime("%H:%M:%S"),
        ),
    )
    assert response.status_code == 302
    late.refresh_from_db()
    assert timezone.localdate(late.received_at) < now.date()
    assert Submission.objects.overdue().filter(pk=late.pk).exists()


def test_an_answer_is_changed_only_by_answering_again(
    client, wenli, wenli_editor, department
):
    submission = SubmissionFactory(unit=wenli)
    other = DepartmentFactory(name="党政办")
    from feedback import services

    services.answer(submission, by=wenli_editor, department=department, text="原答复")
    client.force_login(wenli_editor)
    response = client.post(
        change_url(submission),
        change_data(
            submission,
            answer_text="悄悄改过的答复",
            answered_by=other.pk,
            kind=Kind.REQUEST,
        ),
    )
    assert response.status_code == 302
    template = AnswerTemplateFactory(text="模板答复")
    client.post(
        change_url(submission),
        change_data(submission, answer_text="", answer_template=template.pk),
    )
    submission.refresh_from_db()
    assert submission.answer_text == "原答复"
    assert submission.answered_by == department
    assert submission.kind == Kind.QUESTION


def test_closing_in_bulk_needs_the_change_permission(client, wenli):
    from django.contrib.auth.models import Permission

    from feedback import services

    submission = SubmissionFactory(unit=wenli)
    services.answer(
        submission, by=SuperuserFactory(), department=DepartmentFactory(), text="答复"
    )
    watcher = UserFactory(username="watcher", is_staff=True)
    watcher.user_permissions.add(Permission.objects.get(codename="view_submission"))
    wenli.editors.add(watcher)
    client.force_login(watcher)
    response = client.post(
        LIST_URL,
        {"action": "close_selected", "_selected_action": [submission.pk], "index": 0},
    )
    assert response.status_code in (200, 302)
    submission.refresh_from_db()
    assert submission.status == Status.ANSWERED


# What a resident wrote and chose is theirs -------------------------------------


def test_staff_cannot_give_consent_to_publish_for_a_resident(
    client, wenli, wenli_editor
):
    submission = SubmissionFactory(unit=wenli, consent_to_publish=False)
    client.force_login(wenli_editor)
    response = client.post(
        change_url(submission), change_data(submission, consent_to_publish="on")
    )
    assert response.status_code == 200
    assert "不能代提交人同意" in response.text
    submission.refresh_from_db()
    assert not submission.consent_to_publish


def test_staff_withdraw_consent_at_the_residents_request_on_record(
    client, wenli, wenli_editor
):
    submission = SubmissionFactory(unit=wenli, accepted=True)
    client.force_login(wenli_editor)
    data = change_data(submission)
    del data["consent_to_publish"]
    response = client.post(change_url(submission), data)
    assert response.status_code == 302
    submission.refresh_from_db()
    assert not submission.consent_to_publish
    event = submission.events.get()
    assert event.kind == "consent_withdrawn" and event.user == wenli_editor
    # Withdrawn is withdrawn: staff cannot tick it again either.
    client.post(
        change_url(submission), change_data(submission, consent_to_publish="on")
    )
    submission.refresh_from_db()
    assert not submission.consent_to_publish


def test_a_question_sent_through_the_website_keeps_the_residents_words(
    client, wenli, wenli_editor
):
    submission = SubmissionFactory(
        unit=wenli, title="送水车几点到", text="三组的送水车每天几点到？"
    )
    client.force_login(wenli_editor)
    page = client.get(change_url(submission))
    form = page.context["adminform"].form
    resident_fields = {"title", "text", "channel", "name", "phone", "is_party_member"}
    assert resident_fields.isdisjoint(form.fields)
    response = client.post(
        change_url(submission),
        change_data(submission, title="改过的标题", text="改过的内容", channel="phone"),
    )
    assert response.status_code == 302
    submission.refresh_from_db()
    assert (submission.title, submission.text) == (
        "送水车几点到",
        "三组的送水车每天几点到？",
    )
    assert submission.channel == "website"


def test_staff_correct_what_they_entered_from_an_offline_channel(
    client, wenli, wenli_editor
):
    submission = SubmissionFactory(unit=wenli, channel="box", title="意见箱来信")
    client.force_login(wenli_editor)
    response = client.post(
        change_url(submission), change_data(submission, title="意见箱来信（村道）")
    )
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.title == "意见箱来信（村道）"


def test_staff_cannot_enter_a_case_as_sent_through_the_website(client, wenli_editor):
    client.force_login(wenli_editor)
    form = client.get(f"{LIST_URL}add/").context["adminform"].form
    assert "website" not in dict(form.fields["channel"].choices)
