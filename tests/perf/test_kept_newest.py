"""The 回音壁 form's newest disclosures (SubmissionForm._newest_disclosures),
kept per audience under "published" and "units": a 回音壁 case anywhere
leaves them kept, while every change of what the select offers shows at
once, and a publication or public date coming due by the clock within
VALUE_CACHE_SECONDS."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Scope
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.kept import nothing_kept

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

NOON = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def town():
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town, order=1)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town, order=2)
    DisclosureFactory(unit=wenli, title="村务公开财务收支")
    DisclosureFactory(unit=maoshan, title="茅山村低保名单")
    return {"town": town, "wenli": wenli, "maoshan": maoshan}


def form(client) -> str:
    return client.get("/feedback/new/").text


def disclosures_read(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        page = form(client)
    assert "村务公开财务收支" in page
    return [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "disclosure_disclosure"' in q["sql"]
    ]


def same_as_fresh(settings, client) -> None:
    # Only the token and its question differ between two renders.
    def options(page: str) -> str:
        return page[page.index('name="disclosure"') : page.index('name="tag"')]

    assert options(form(client)) == nothing_kept(
        settings, lambda: options(form(client))
    )


def test_a_case_anywhere_leaves_the_newest_kept(town, changed, settings):
    visitor = Client()
    assert disclosures_read(visitor)  # the first: read and kept
    with changed():
        SubmissionFactory(unit=town["maoshan"], accepted=True)
    with changed():
        case = SubmissionFactory(unit=town["wenli"])
        case.status = "accepted"
        case.save()
    assert disclosures_read(visitor) == []
    same_as_fresh(settings, visitor)


def test_a_publication_a_withdrawal_and_a_new_title_show_at_once(
    town, changed, settings
):
    visitor = Client()
    form(visitor)
    with changed():
        row = DisclosureFactory(unit=town["maoshan"], title="新公开的一事一议")
    assert "新公开的一事一议" in form(visitor)
    with changed():
        row.title = "更正后的一事一议"
        row.save()
    page = form(visitor)
    assert "更正后的一事一议" in page and "新公开的一事一议" not in page
    with changed():
        row.status = Disclosure.Status.WITHDRAWN
        row.withdrawn_at = timezone.now()
        row.withdrawal_reason = "内容有误，撤回。"
        row.save()
    assert "更正后的一事一议" not in form(visitor)
    same_as_fresh(settings, visitor)


def test_a_scheduled_publication_and_a_public_date_come_due_by_themselves(
    town, changed, settings
):
    visitor, member = Client(), Client()
    member.force_login(PartyMemberFactory(branch_of=town["wenli"]))
    with time_machine.travel(NOON, tick=False):
        with changed():
            DisclosureFactory(
                unit=town["wenli"],
                title="定时发布的公告",
                published_at=NOON + timedelta(minutes=30),
            )
            DisclosureFactory(
                unit=town["wenli"],
                title="先党内后党外的通报",
                published_at=NOON - timedelta(hours=1),
                public_from=NOON + timedelta(hours=2),
            )
        for client in (visitor, member):
            assert "定时发布的公告" not in form(client)
        assert "先党内后党外的通报" not in form(visitor)
        assert "先党内后党外的通报" in form(member)
    due = NOON + timedelta(minutes=30)
    with time_machine.travel(due - timedelta(seconds=10), tick=False):
        # Read again (the noon list expired) and kept VALUE_CACHE_SECONDS.
        assert "定时发布的公告" not in form(visitor)
    # Offered VALUE_CACHE_SECONDS after the list was read at the latest.
    with time_machine.travel(due + timedelta(seconds=51), tick=False):
        assert "定时发布的公告" in form(visitor)
        assert "定时发布的公告" in form(member)
        assert "先党内后党外的通报" not in form(visitor)
    with time_machine.travel(NOON + timedelta(hours=2, seconds=1), tick=False):
        assert "先党内后党外的通报" in form(visitor)
        same_as_fresh(settings, visitor)


def test_an_item_made_inner_party_leaves_a_visitors_form_not_a_members(town, changed):
    visitor, member = Client(), Client()
    member.force_login(PartyMemberFactory(branch_of=town["wenli"]))
    row = Disclosure.objects.get(title="茅山村低保名单")
    assert "茅山村低保名单" in form(visitor) and "茅山村低保名单" in form(member)
    with changed():
        row.item.scope = Scope.INNER_PARTY
        row.item.save()  # its disclosures follow (services.follow_item_scope)
    assert "茅山村低保名单" not in form(visitor)
    assert "茅山村低保名单" in form(member)


def test_a_unit_reordered_or_renamed_shows_so(town, changed, settings):
    visitor = Client()
    page = form(visitor)
    assert page.index("文理村 · ") < page.index("茅山村 · ")
    with changed():
        town["maoshan"].order = 0
        town["maoshan"].name = "茅山社区"
        town["maoshan"].save()
    page = form(visitor)
    assert page.index("茅山社区 · ") < page.index("文理村 · ")
    assert "茅山村 · " not in page
    same_as_fresh(settings, visitor)
