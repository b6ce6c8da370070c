"""Fragments attacked (core/fragments.py): a card or an entry kept for one
reader, read by another after the clock or the data moved; the parts of an
article and an entry that other rows name (a case's consent, an
attachment, the item, the unit) show at once."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from disclosure import services
from disclosure.models import Attachment
from feedback import services as feedback_services
from feedback.models import Kind, Submission
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    acting_for,
    staff_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

ANSWER = "先党内后党外的答复公开"


@pytest.fixture
def wenli(db):
    return UnitFactory(name="文理村", slug="wenli", parent=TownFactory())


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def answered_by(unit, disclosure, title="请公开村道资金"):
    feedback_services.answer(
        SubmissionFactory(unit=unit, kind=Kind.REQUEST, title=title),
        by=UserFactory(username="staff", is_staff=True),
        department=DepartmentFactory(name="综治办"),
        text="已公开。",
        fulfilled_by=disclosure,
    )
    return Submission.objects.get(title=title)


def test_a_card_answered_by_a_party_first_notice_reaches_visitors_at_its_date(
    wenli,
):
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    answer = DisclosureFactory(
        unit=wenli,
        title=ANSWER,
        published_at=at - timedelta(hours=1),
        public_from=at + timedelta(hours=2),
    )
    with time_machine.travel(at, tick=False):
        answered_by(wenli, answer)
        member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
        for _ in range(2):
            assert ANSWER in member.get("/feedback/").text
        for _ in range(2):
            assert ANSWER not in Client().get("/feedback/").text
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        assert ANSWER in Client().get("/feedback/").text


def test_a_card_loses_a_withdrawn_answer_at_once(
    wenli, django_capture_on_commit_callbacks
):
    answer = DisclosureFactory(unit=wenli, title=ANSWER)
    answered_by(wenli, answer)
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    for client in (member, Client()):
        assert ANSWER in client.get("/feedback/").text
    reviewer = staff_user(username="reviewer", group="审核人")
    acting_for(reviewer, answer, "approve")
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(answer, by=reviewer, reason="有误")
    for client in (member, Client()):
        assert ANSWER not in client.get("/feedback/").text


def test_consent_withdrawn_leaves_the_card_and_the_article_at_once(
    wenli, django_capture_on_commit_callbacks
):
    answer = DisclosureFactory(unit=wenli, title=ANSWER)
    case = answered_by(wenli, answer, title="请公开村道资金的申请人标题")
    article = answer.get_absolute_url()
    visitor = Client()
    for _ in range(2):
        assert "请公开村道资金的申请人标题" in visitor.get(article).text
        assert "请公开村道资金的申请人标题" in visitor.get("/feedback/").text
    with django_capture_on_commit_callbacks(execute=True):
        feedback_services.withdraw_consent(case, by=UserFactory(username="clerk"))
    assert "请公开村道资金的申请人标题" not in visitor.get(article).text
    assert "请公开村道资金的申请人标题" not in visitor.get("/feedback/").text


def test_an_attachments_new_title_shows_on_the_article_at_once(
    wenli, django_capture_on_commit_callbacks
):
    disclosure = DisclosureFactory(unit=wenli, title="村务公开财务收支")
    attachment = Attachment(
        disclosure=disclosure,
        kind="document",
        content_type="application/pdf",
        title="第一版附件",
    )
    attachment.file.save("a.pdf", ContentFile(b"%PDF-1.4"), save=False)
    attachment.save()
    visitor = Client()
    url = disclosure.get_absolute_url()
    for _ in range(2):
        assert "第一版附件" in visitor.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        attachment.title = "更正后的附件"
        attachment.save()
    assert "更正后的附件" in visitor.get(url).text


def test_an_items_and_a_units_new_names_show_at_once(
    wenli, django_capture_on_commit_callbacks
):
    item = ItemFactory(name="村级财务收支")
    disclosure = DisclosureFactory(unit=wenli, item=item, title="村务公开财务收支")
    visitor = Client()
    article, listed = disclosure.get_absolute_url(), "/disclosures/"
    for _ in range(2):
        assert "村级财务收支" in visitor.get(article).text
        assert "文理村" in visitor.get(listed).text
    with django_capture_on_commit_callbacks(execute=True):
        item.name = "村级财务收支明细"
        item.save()
        wenli.name = "文理新村"
        wenli.save()
    assert "村级财务收支明细" in visitor.get(article).text
    assert "文理新村" in visitor.get(listed).text


def test_a_members_entry_never_reaches_a_visitor_with_its_badge(wenli):
    """The same row listed to a member (badge) and, once public, to a visitor
    within the entry's life."""
    at = timezone.now().replace(hour=10, minute=0)
    DisclosureFactory(
        unit=wenli,
        title="先党内后党外的公开",
        published_at=at - timedelta(hours=1),
        public_from=at + timedelta(minutes=5),
    )
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    url = "/disclosures/"
    with time_machine.travel(at + timedelta(minutes=4, seconds=59), tick=False):
        assert "先党内后党外</span>" in member.get(url).text
    with time_machine.travel(at + timedelta(minutes=5, seconds=0.5), tick=False):
        text = Client().get(url).text
        assert "先党内后党外的公开" in text
        assert "先党内后党外</span>" not in text
