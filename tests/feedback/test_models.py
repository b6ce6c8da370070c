from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from feedback import services
from feedback.models import (
    TRACKING_ALPHABET,
    Kind,
    Rating,
    Status,
    Submission,
    SubmissionEvent,
)
from tests.factories import DepartmentFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


def aware(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def staff():
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def department():
    return DepartmentFactory(name="社会事务办")


def test_tracking_code_is_8_unambiguous_characters_and_unique():
    codes = {SubmissionFactory().tracking_code for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert len(code) == 8
        assert set(code) <= set(TRACKING_ALPHABET)
        assert not set(code) & set("01OIL")


def test_due_date_counts_chinese_working_days_over_national_day():
    submission = SubmissionFactory(received_at=aware(date(2011, 9, 28)))
    assert submission.due_date == date(2011, 10, 17)
    assert submission.decision_due is None


def test_request_decision_due_in_3_working_days_extendable_once_to_10(staff):
    request = SubmissionFactory(kind=Kind.REQUEST, received_at=aware(date(2011, 9, 28)))
    assert request.decision_due == date(2011, 10, 8)
    services.extend_decision(request, by=staff, reason="需向镇党委请示")
    assert request.decision_due == date(2011, 10, 17)
    with pytest.raises(ValidationError):
        services.extend_decision(request, by=staff, reason="再次延期")


def test_deadlines_count_chinese_working_days_from_the_day_received():
    received = date(2011, 9, 28)  # the National Day week follows
    question = services.deadlines(received, kind=Kind.QUESTION)
    assert question == (date(2011, 10, 17), None)
    request = services.deadlines(received, kind=Kind.REQUEST)
    assert request == (date(2011, 10, 17), date(2011, 10, 8))
    extended = services.deadlines(received, kind=Kind.REQUEST, extended=True)
    assert extended == (date(2011, 10, 17), date(2011, 10, 17))


def test_extension_needs_a_reason(staff):
    request = SubmissionFactory(kind=Kind.REQUEST)
    with pytest.raises(ValidationError):
        services.extend_decision(request, by=staff, reason="  ")


def test_overdue_queryset_and_flag():
    today = date(2011, 10, 20)
    late = SubmissionFactory(received_at=aware(date(2011, 9, 28)))
    fresh = SubmissionFactory(received_at=aware(date(2011, 10, 18)))
    undecided = SubmissionFactory(
        kind=Kind.REQUEST, received_at=aware(date(2011, 10, 12))
    )  # decision due 17 Oct, answer due 26 Oct
    assert set(Submission.objects.overdue(today)) == {late, undecided}
    assert late.is_overdue(today) and not fresh.is_overdue(today)
    assert undecided.is_overdue(today)
    flags = dict(
        Submission.objects.with_overdue_flag(today).values_list("pk", "overdue_flag")
    )
    assert flags == {late.pk: 1, fresh.pk: 0, undecided.pk: 1}


def test_answered_submission_is_not_overdue(staff, department):
    late = SubmissionFactory(received_at=aware(date(2011, 9, 28)))
    services.answer(late, by=staff, department=department, text="已答复。")
    assert not Submission.objects.overdue(date(2030, 1, 1)).exists()


def test_workflow_accept_answer_close_logs_each_step(staff, department):
    submission = SubmissionFactory()
    services.accept(submission, by=staff, department=department)
    assert submission.status == Status.ACCEPTED
    services.answer(submission, by=staff, department=department, text="答复内容")
    assert submission.status == Status.ANSWERED and submission.answered_at
    services.close(submission, by=staff)
    assert submission.status == Status.CLOSED
    assert list(submission.events.values_list("kind", flat=True)) == [
        "accepted",
        "answered",
        "closed",
    ]


def test_cannot_answer_twice_or_close_unanswered(staff, department):
    submission = SubmissionFactory()
    with pytest.raises(ValidationError):
        services.close(submission, by=staff)
    services.answer(submission, by=staff, department=department, text="答复")
    with pytest.raises(ValidationError):
        services.answer(submission, by=staff, department=department, text="再答复")


def test_hiding_needs_a_reason_and_keeps_the_row(staff):
    submission = SubmissionFactory()
    with pytest.raises(ValidationError):
        services.hide(submission, by=staff, reason="")
    services.hide(submission, by=staff, reason="涉及个人隐私")
    submission.refresh_from_db()
    assert submission.status == Status.NOT_PUBLISHED
    assert not Submission.objects.on_wall().exists()
    assert SubmissionEvent.objects.get(kind="hidden").note == "涉及个人隐私"


def test_database_refuses_a_hidden_row_without_reason():
    submission = SubmissionFactory()
    submission.status = Status.NOT_PUBLISHED
    with pytest.raises(IntegrityError):
        submission.save()


def test_refusing_a_request_needs_a_written_reason_which_becomes_the_answer(staff):
    request = SubmissionFactory(kind=Kind.REQUEST)
    with pytest.raises(ValidationError):
        services.refuse_request(request, by=staff, reason="")
    services.refuse_request(request, by=staff, reason="涉及国家秘密，不予公开。")
    assert request.is_refused and request.is_answered
    assert request.answer_text == "涉及国家秘密，不予公开。"


def test_only_a_request_can_be_refused_or_linked_to_a_disclosure(staff, department):
    from tests.factories import DisclosureFactory

    question = SubmissionFactory(kind=Kind.QUESTION)
    with pytest.raises(ValidationError):
        services.refuse_request(question, by=staff, reason="理由")
    with pytest.raises(ValidationError):
        services.answer(
            question,
            by=staff,
            department=department,
            text="答复",
            fulfilled_by=DisclosureFactory(unit=question.unit),
        )


def test_rating_once_and_unsatisfied_reopens_with_the_comment(staff, department):
    submission = SubmissionFactory()
    with pytest.raises(ValidationError):
        services.rate(submission, rating=Rating.SATISFIED)
    services.answer(submission, by=staff, department=department, text="答复")
    submission = services.rate(
        submission, rating=Rating.UNSATISFIED, comment="送水车还是没来"
    )
    assert submission.status == Status.ACCEPTED
    reopened = submission.events.get(kind="reopened")
    assert reopened.note.startswith("送水车还是没来")
    with pytest.raises(ValidationError):
        services.rate(submission, rating=Rating.SATISFIED)


def test_summary_counts_answered_on_time_median_and_ratings(staff, department):
    received = aware(date(2011, 8, 1))  # Monday; due 15 August
    fast = SubmissionFactory(received_at=received)
    slow = SubmissionFactory(received_at=received)
    SubmissionFactory(received_at=received)  # open
    services.answer(
        fast,
        by=staff,
        department=department,
        text="答复",
        answered_at=aware(date(2011, 8, 3)),
    )
    services.answer(
        slow,
        by=staff,
        department=department,
        text="答复",
        answered_at=aware(date(2011, 8, 31)),
    )
    services.rate(fast, rating=Rating.SATISFIED)
    summary = Submission.objects.summary()
    assert summary["received"] == 3
    assert summary["answered"] == 2
    assert summary["on_time"] == 1
    assert summary["median_days"] == 16  # median of 2 and 30
    assert summary["rated"] == 1 and summary["satisfied_percent"] == 100


def test_summary_of_nothing():
    summary = Submission.objects.summary()
    assert summary["received"] == 0 and summary["median_days"] is None


def test_days_to_answer_and_on_time(staff, department):
    submission = SubmissionFactory(received_at=aware(date(2011, 9, 28)))
    services.answer(
        submission,
        by=staff,
        department=department,
        text="答复",
        answered_at=aware(date(2011, 10, 17), 17) + timedelta(hours=1),
    )
    assert submission.days_to_answer == 19
    assert submission.answered_on_time


def test_a_trail_rows_caption_is_in_local_time():
    """Issue 18: the 办理记录 inline's captions were in UTC beside local times."""
    from datetime import UTC, datetime

    from feedback.models import SubmissionEvent

    event = SubmissionEvent(
        kind="accepted", at=datetime(2011, 8, 15, 1, 30, tzinfo=UTC)
    )
    assert str(event) == "受理 2011-08-15 09:30"
