"""What a board or disclosure page miss now reads from the value cache
instead of the database (disclosure/views.py): the board's unit and notice
boards (its ETag from kept values alone), the disclosure's row (per
reader), and a member's `Reader` (disclosure/models/disclosures.py). Each
follows every change that alters it at once, and none reaches another
reader."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Scope
from disclosure import services
from disclosure import views as disclosure_views
from disclosure.models import Disclosure, NoticeBoard, PartyMembership
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
    acting_for,
    staff_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

BRANCH_TITLE = "文理村党支部内部通报甲"
INNER_TITLE = "党内通报会议纪要乙"
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


@pytest.fixture
def wenli(db):
    wenli = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    DisclosureFactory(unit=wenli, title="村务公开财务收支")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.BRANCH), title=BRANCH_TITLE
    )
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title=INNER_TITLE
    )
    return wenli


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail(title: str) -> str:
    return f"/disclosures/{Disclosure.objects.get(title=title).pk}/"


def page(client, url) -> tuple[int, bytes]:
    response = client.get(url)
    return response.status_code, _CSRF.sub(b"TOKEN", response.content)


def test_the_pages_from_kept_rows_are_the_pages_read_whole(wenli, settings):
    clients = {
        "visitor": Client(),
        "member": logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli)),
    }
    urls = [
        f"/boards/{wenli.slug}/",
        *(detail(t) for t in ("村务公开财务收支", BRANCH_TITLE, INNER_TITLE)),
        "/boards/no-such-board/",
        "/disclosures/999999/",
    ]
    for who, client in clients.items():
        for url in urls:
            settings.VALUE_CACHE_SECONDS = 0
            whole = page(client, url)
            settings.VALUE_CACHE_SECONDS = 60
            assert page(client, url) == whole == page(client, url), (who, url)


def test_a_warm_board_or_disclosure_miss_runs_no_query(
    wenli, django_assert_num_queries
):
    visitor = Client()
    for url in (f"/boards/{wenli.slug}/", detail("村务公开财务收支")):
        visitor.get(url)
        with django_assert_num_queries(0):
            assert visitor.get(url).status_code == 200


def test_a_board_shows_its_units_and_notice_boards_changes_at_once(
    wenli, django_capture_on_commit_callbacks
):
    url = f"/boards/{wenli.slug}/"
    visitor = Client()
    assert "文理村" in visitor.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        wenli.name = "文理新村"
        wenli.description = "新的简介文字"
        wenli.save()
    text = visitor.get(url).text
    assert "文理新村党务村务公开栏" in text and "新的简介文字" in text
    with django_capture_on_commit_callbacks(execute=True):
        board = NoticeBoard.objects.create(unit=wenli, location="村委会门口", count=2)
    assert "村委会门口（2 块）" in visitor.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        board.location = "文化广场"
        board.save()
    text = visitor.get(url).text
    assert "文化广场（2 块）" in text and "村委会门口" not in text
    with django_capture_on_commit_callbacks(execute=True):
        board.delete()
    assert "文化广场" not in visitor.get(url).text


def test_a_boards_etag_follows_a_publication_an_edit_and_the_clock(
    wenli, django_capture_on_commit_callbacks
):
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    url = f"/boards/{wenli.slug}/"
    visitor = Client()
    reviewer = staff_user(username="reviewer", group="审核人")
    with time_machine.travel(at, tick=False):
        DisclosureFactory(
            unit=wenli, title="十二点发布的公开", published_at=at + timedelta(hours=2)
        )
        first = visitor.get(url)["ETag"]
        assert visitor.get(url, HTTP_IF_NONE_MATCH=first).status_code == 304
        shown = Disclosure.objects.get(title="村务公开财务收支")
        with django_capture_on_commit_callbacks(execute=True):
            shown.title = "村务公开财务收支（更正）"
            shown.save()
        edited = visitor.get(url)
        assert edited["ETag"] != first and "（更正）" in edited.text
        draft = DisclosureFactory(
            unit=wenli, status=Disclosure.Status.APPROVED, published_at=None
        )
        acting_for(reviewer, draft, "approve")
        with django_capture_on_commit_callbacks(execute=True):
            services.publish(draft, by=reviewer)
        published = visitor.get(url)["ETag"]
        assert published != edited["ETag"]
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        due = visitor.get(url, HTTP_IF_NONE_MATCH=published)
        assert due.status_code == 200 and "十二点发布的公开" in due.text


def test_a_boards_etag_reads_nothing_and_follows_a_public_date_and_the_day(
    wenli, django_capture_on_commit_callbacks
):
    """The ETag is made from the versions, the board's next scheduled change
    (kept: what its body's lifetime asks) and the date, with no query of its
    own: a 304 after a publication elsewhere in the board's kept state runs
    none; a 先党内后党外 notice reaching the public and a notice whose display
    ends change it."""
    at = timezone.now().replace(hour=10, minute=0)
    url = f"/boards/{wenli.slug}/"
    visitor = Client()
    with time_machine.travel(at, tick=False):
        DisclosureFactory(
            unit=wenli,
            title="先党内后党外的通报",
            published_at=at - timedelta(days=1),
            public_from=at + timedelta(hours=3),
        )
        DisclosureFactory(
            unit=wenli,
            title="展示到今天的公告",
            published_at=at - timedelta(days=3),
            display_until=at.date(),
        )
        first = visitor.get(url)
        assert "先党内后党外的通报" not in first.text
        assert "展示到今天的公告" in first.text
        assert visitor.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
        # A publication on the board: its body is made again, the ETag
        # counts nothing (it read the board's rows again: COUNT and MAX).
        with django_capture_on_commit_callbacks(execute=True):
            DisclosureFactory(unit=wenli, title="新发布的公开", published_at=at)
        with CaptureQueriesContext(connection) as queries:
            published = visitor.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert published.status_code == 200 and "新发布的公开" in published.text
        assert not [q for q in queries.captured_queries if "MAX(" in q["sql"]]
        first = published
    with time_machine.travel(at + timedelta(hours=3, seconds=1), tick=False):
        public = visitor.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert public.status_code == 200 and "先党内后党外的通报" in public.text
    with time_machine.travel(at + timedelta(days=1), tick=False):
        next_day = visitor.get(url, HTTP_IF_NONE_MATCH=public["ETag"])
        assert next_day.status_code == 200
        assert "展示到今天的公告" not in next_day.text


def test_a_disclosure_page_follows_edits_renames_and_withdrawal_at_once(
    wenli, django_capture_on_commit_callbacks
):
    shown = Disclosure.objects.get(title="村务公开财务收支")
    url = detail("村务公开财务收支")
    visitor = Client()
    assert visitor.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        shown.title = "村务公开财务收支（更正）"
        shown.save()
    assert "<title>村务公开财务收支（更正）" in visitor.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        wenli.name = "文理新村"
        wenli.save()
    assert "文理新村</a></li>" in visitor.get(url).text  # the breadcrumb
    category = shown.item.category
    with django_capture_on_commit_callbacks(execute=True):
        category.name = "改名后的栏目"
        category.save()
    assert "改名后的栏目</li>" in visitor.get(url).text
    reviewer = staff_user(username="reviewer", group="审核人")
    acting_for(reviewer, shown, "approve")
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(shown, by=reviewer, reason="有误")
    assert visitor.get(url).status_code == 410


def test_a_kept_disclosure_row_never_reaches_another_reader(wenli):
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=wenli.parent)
    other = logged_in(PartyMemberFactory(username="maoshan_a", branch_of=maoshan))
    for title in (BRANCH_TITLE, INNER_TITLE):
        for _ in range(2):
            assert member.get(detail(title)).status_code == 200
    for _ in range(2):
        assert Client().get(detail(BRANCH_TITLE)).status_code == 404
        assert Client().get(detail(INNER_TITLE)).status_code == 404
        assert other.get(detail(BRANCH_TITLE)).status_code == 404
        assert other.get(detail(INNER_TITLE)).status_code == 200


def test_a_party_first_disclosure_reaches_visitors_at_its_public_date(wenli):
    at = timezone.now().replace(hour=10, minute=0)
    DisclosureFactory(
        unit=wenli,
        title="先党内后党外的公开",
        published_at=at - timedelta(hours=1),
        public_from=at + timedelta(hours=2),
    )
    url = detail("先党内后党外的公开")
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    with time_machine.travel(at, tick=False):
        for _ in range(2):
            assert member.get(url).status_code == 200
            assert Client().get(url).status_code == 404
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        assert Client().get(url).status_code == 200


def test_a_kept_reader_follows_membership_and_group_changes_at_once(
    wenli, django_capture_on_commit_callbacks, monkeypatch
):
    board = f"/boards/{wenli.slug}/"
    looked_up = []
    real = disclosure_views.Reader._look_up.__func__

    def counted(cls, user):
        looked_up.append(user.pk)
        return real(cls, user)

    monkeypatch.setattr(disclosure_views.Reader, "_look_up", classmethod(counted))
    user = PartyMemberFactory(username="wenli_a", branch_of=wenli)
    member = logged_in(user)  # works the audience out: the Reader kept
    for _ in range(2):
        assert BRANCH_TITLE in member.get(board).text
        assert member.get(detail(BRANCH_TITLE)).status_code == 200
    assert len(looked_up) == 1  # kept between requests

    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=wenli.parent)
    with django_capture_on_commit_callbacks(execute=True):
        PartyMembership.objects.filter(user=user).update(
            branch=maoshan.organisations.branches().get()
        )
        # A queryset update sends no signal: what the admin does is a save.
        PartyMembership.objects.get(user=user).save()
    assert BRANCH_TITLE not in member.get(board).text
    assert member.get(detail(BRANCH_TITLE)).status_code == 404
    assert INNER_TITLE in member.get(board).text

    with django_capture_on_commit_callbacks(execute=True):
        PartyMembership.objects.get(user=user).delete()
        user.groups.remove(Group.objects.get(name="党员"))
    assert INNER_TITLE not in member.get(board).text
    assert member.get(detail(INNER_TITLE)).status_code == 404


def test_a_page_a_reader_may_not_read_keeps_no_row(wenli):
    """A made-up number, or a row this reader may not read, leaves nothing
    in the value cache (any number can be asked for)."""
    from core import caching

    visitor = Client()
    for url in ("/disclosures/987654/", detail(BRANCH_TITLE)):
        before = set(caching._local.entries)
        assert visitor.get(url).status_code == 404
        assert set(caching._local.entries) == before, url
