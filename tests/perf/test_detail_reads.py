"""A disclosure's page made again reads only what its row says it has
(disclosure/views.py: `with_article_flags`, `Due.read_from`): no query for
tables, attachments or answered 点题 requests it has none of, and no query
for its next scheduled change (worked out from the row just read). Each
follows the change that adds one at once, over the real URL, for a visitor
and a party member."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Item, Timing
from core import content
from disclosure import roles
from disclosure.forms import DisclosureTableForm
from disclosure.models import Attachment, Disclosure, DisclosureTable
from feedback import services as feedback_services
from feedback.models import Kind
from tests.disclosure.test_attachments import PDF
from tests.disclosure.test_tables import xlsx
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    staff_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

CST = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def wenli(db):
    return UnitFactory(name="文理村", slug="wenli", parent=TownFactory())


def member(unit) -> Client:
    client = Client()
    client.force_login(PartyMemberFactory(username="wenli_member", branch_of=unit))
    return client


def read(client, disclosure) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/disclosures/{disclosure.pk}/")
    assert response.status_code == 200
    return response.text, [q["sql"] for q in queries.captured_queries]


def asked_for(sqls: list[str], table: str) -> bool:
    """A query of that table's rows (not the row's EXISTS on it)."""
    return any(sql.startswith(f'SELECT "{table}".') for sql in sqls)


def add_table(disclosure) -> DisclosureTable:
    form = DisclosureTableForm(
        data={"caption": ""},
        files={"file": SimpleUploadedFile("明细.xlsx", xlsx())},
        instance=DisclosureTable(disclosure=disclosure),
    )
    assert form.is_valid(), form.errors
    return form.save()


def add_attachment(disclosure) -> Attachment:
    return Attachment.objects.create(
        disclosure=disclosure,
        title="村道维护资金明细扫描件",
        file=SimpleUploadedFile("x.pdf", PDF),
        content_type="application/pdf",
    )


def answer_a_request_with(disclosure) -> str:
    staff = UserFactory(username="office", is_staff=True)
    department = DepartmentFactory()
    title = "请公开去年村道维护资金使用情况"
    case = SubmissionFactory(unit=disclosure.unit, kind=Kind.REQUEST, title=title)
    feedback_services.accept(case, by=staff, department=department)
    feedback_services.answer(
        case, by=staff, department=department, text="已公开。", fulfilled_by=disclosure
    )
    return title


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_page_asks_only_for_what_its_row_has(wenli, who):
    client = Client() if who == "visitor" else member(wenli)
    plain = DisclosureFactory(unit=wenli, title="村务公开财务收支")
    text, sqls = read(client, plain)
    assert "村务公开财务收支" in text
    for table in ("disclosure_disclosuretable", "disclosure_attachment"):
        assert not asked_for(sqls, table)
    assert not asked_for(sqls, "feedback_submission")
    # Nor its next scheduled change: the row read tells it.
    assert not any("MIN(" in sql for sql in sqls)


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_what_is_added_to_a_page_shows_at_once(wenli, who, changed):
    client = Client() if who == "visitor" else member(wenli)
    answer = DisclosureFactory(unit=wenli, title="村道维护资金使用情况公开")
    text, _ = read(client, answer)
    assert "村道维护资金明细扫描件" not in text
    assert "本条公开内容答复了党员群众的点题公开申请" not in text
    assert 'class="table-scroll"' not in text

    with changed():
        table = add_table(answer)
    text, sqls = read(client, answer)
    assert f'aria-labelledby="table-{table.pk}-caption"' in text
    assert asked_for(sqls, "disclosure_disclosuretable")
    assert not asked_for(sqls, "disclosure_attachment")

    with changed():
        add_attachment(answer)
    text, _ = read(client, answer)
    assert "村道维护资金明细扫描件" in text

    with changed():
        title = answer_a_request_with(answer)
    text, _ = read(client, answer)
    assert "本条公开内容答复了党员群众的点题公开申请" in text and title in text

    # And each goes again when it is removed.
    with changed():
        table.delete()
        answer.attachments.get().delete()
    text, _ = read(client, answer)
    assert 'class="table-scroll"' not in text
    assert "村道维护资金明细扫描件" not in text


def test_a_preview_reads_every_part(wenli, client):
    """Staff preview a draft from a row read without the flags: each part is
    asked for (nothing left out by a missing flag)."""
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    draft = DisclosureFactory(
        unit=wenli, title="待审核的公开内容", status=Disclosure.Status.DRAFT
    )
    add_table(draft)
    client.force_login(editor)
    response = client.get(f"/disclosures/{draft.pk}/")
    assert response.status_code == 200
    assert 'class="table-scroll"' in response.text


def scheduled_rows(unit) -> list[Disclosure]:
    now = timezone.now()
    return [
        DisclosureFactory(
            unit=unit, title="已发布", published_at=now - timedelta(days=3)
        ),
        DisclosureFactory(
            unit=unit, title="定时发布", published_at=now + timedelta(hours=5)
        ),
        DisclosureFactory(
            unit=unit,
            title="先党内后党外",
            published_at=now - timedelta(hours=1),
            public_from=now + timedelta(days=2),
        ),
        DisclosureFactory(
            unit=unit,
            title="已向社会公开",
            published_at=now - timedelta(days=9),
            public_from=now - timedelta(days=2),
        ),
        DisclosureFactory(
            unit=unit,
            title="已撤回",
            published_at=now + timedelta(hours=3),
            status=Disclosure.Status.WITHDRAWN,
            withdrawal_reason="发布有误",
            withdrawn_at=now,
        ),
        DisclosureFactory(
            unit=unit,
            title="草稿",
            published_at=now + timedelta(hours=4),
            status=Disclosure.Status.DRAFT,
        ),
    ]


def test_a_row_tells_what_the_scope_query_finds(wenli):
    """`Disclosure.scheduled_after` is `content.next_change` of the row's own
    scope, from every moment around its times (a change of either, or a
    schedule registered for disclosure scopes, fails here)."""
    now = timezone.now()
    moments = [now + timedelta(hours=h) for h in (-72, -2, 0, 2, 4, 6, 47, 49, 60)]
    for row in scheduled_rows(wenli):
        row = Disclosure.objects.get(pk=row.pk)
        for after in moments:
            assert row.scheduled_after(after) == content.next_change(
                [f"disclosure:{row.pk}"], after
            ), (row.title, after)


def test_a_party_first_page_goes_public_at_its_time(wenli):
    """The kept row's and article's lifetime, now worked out from the row: a
    先党内后党外 disclosure read by a member before its public date, then by
    a visitor after it, and the member's badge goes."""
    published = datetime(2026, 6, 1, 9, tzinfo=CST)
    public = datetime(2026, 6, 3, 9, tzinfo=CST)
    row = DisclosureFactory(
        unit=wenli,
        title="先党内后党外的通报",
        published_at=published,
        public_from=public,
    )
    client = member(wenli)
    with time_machine.travel(published + timedelta(hours=1), tick=False):
        text, _ = read(client, row)
        assert "先在党内公开" in text
        assert Client().get(f"/disclosures/{row.pk}/").status_code == 404
    with time_machine.travel(public + timedelta(minutes=1), tick=False):
        text, _ = read(Client(), row)
        assert "先党内后党外的通报" in text
        text, _ = read(client, row)
        assert "先在党内公开" not in text


def test_an_answer_item_page_reads_its_requests_once_answered(wenli):
    """A 点题 answer's item (F02): the page of the disclosure answering a
    request lists it; that of another answer of the same item does not ask."""
    item = ItemFactory(
        code="F02",
        name="党员群众“点题公开”事项答复",
        frequency=Item.Frequency.IMMEDIATELY,
        timing=Timing.EVENT,
    )
    answering = DisclosureFactory(unit=wenli, item=item, title="点题答复甲")
    other = DisclosureFactory(unit=wenli, item=item, title="点题答复乙")
    title = answer_a_request_with(answering)
    text, sqls = read(Client(), answering)
    assert title in text and asked_for(sqls, "feedback_submission")
    text, sqls = read(Client(), other)
    assert "本条公开内容答复了党员群众的点题公开申请" not in text
    assert not asked_for(sqls, "feedback_submission")


@pytest.mark.parametrize("public_from", [True, False])
def test_each_units_next_in_one_query_is_each_units_own(wenli, public_from):
    """`next_scheduled_by_unit` reads both kinds of time in one query: for
    each unit, from every moment, what `next_scheduled` finds of its rows."""
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=wenli.parent)
    quiet = UnitFactory(name="长江村", slug="changjiang", parent=wenli.parent)
    scheduled_rows(wenli)
    now = timezone.now()
    DisclosureFactory(
        unit=maoshan,
        title="茅山村先党内后党外",
        published_at=now - timedelta(days=1),
        public_from=now + timedelta(hours=1),
    )
    DisclosureFactory(unit=quiet, title="长江村已发布", published_at=now)
    units = [wenli, maoshan, quiet]
    rows = Disclosure.objects.filter(unit__in=units)
    for hours in (-72, -2, 0, 0.5, 2, 4, 6, 47, 49, 60):
        after = now + timedelta(hours=hours)
        with CaptureQueriesContext(connection) as queries:
            found = rows.next_scheduled_by_unit(after, public_from=public_from)
        assert len(queries.captured_queries) == 1
        expected = {
            unit.pk: t
            for unit in units
            if (
                t := Disclosure.objects.filter(unit=unit).next_scheduled(
                    after, public_from=public_from
                )
            )
            is not None
        }
        assert found == expected, hours
