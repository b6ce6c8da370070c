"""Attacks on a board's kept entries (disclosure_tags.kept_entries with
thumbnails, views.board_body_context) and its archive written in Python
(board_archive): every change an entry shows reaches every reader at once,
an entry kept for one audience never shows another a row it may not see,
the list's entries never carry a board's thumbnails, and the archive is
escaped and marks the period shown."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from catalog.models import Scope
from disclosure import roles, services
from disclosure.models import Attachment, Disclosure, Unit
from tests.disclosure.test_attachments import jpeg_with_gps, upload
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    UnitFactory,
    review_and_approve,
    staff_user,
)
from tests.perf.test_board_entries import AT
from tests.perf.test_board_entries import wenli as one_village  # noqa: F401
from tests.perf.test_fragments import logged_in, page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

ADMIN = "/admin/disclosure/disclosure/"
PHOTO = jpeg_with_gps()


@pytest.fixture
def wenli(one_village):  # noqa: F811
    """The change's own tests' village, and a second in its town."""
    UnitFactory(name="凤山村", slug="fengshan", parent=one_village.parent)
    return one_village


def row(title: str) -> Disclosure:
    return Disclosure.objects.get(title=title)


def readers(wenli) -> dict[str, Client]:
    fengshan = Unit.objects.get(slug="fengshan")
    return {
        "visitor": Client(),
        "member": logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli)),
        "other_branch": logged_in(
            PartyMemberFactory(username="fengshan_a", branch_of=fengshan)
        ),
        "staff": logged_in(staff_user(username="town_admin", group=roles.TOWN_ADMIN)),
    }


def board(client, unit="wenli", query="") -> str:
    response = client.get(f"/boards/{unit}/{query}")
    assert response.status_code in (200, 400)
    return response.text


def entry_of(text: str, title: str) -> str:
    """The <li> of the entry whose link says `title` ('' if none)."""
    for li in re.findall(r'<li class="disclosure-entry">.*?</li>', text, re.S):
        if f">{title}</a>" in li:
            return li
    return ""


def thumbs(li: str) -> list[str]:
    return re.findall(r'src="(/attachments/\d+/thumbnail/)"', li)


def posting_photo(disclosure, *, kind="posting", thumbnail=True, n=0) -> Attachment:
    return Attachment.objects.create(
        disclosure=disclosure,
        kind=kind,
        title="张贴照片",
        file=f"attachments/x{n}.jpg",
        thumbnail=f"attachments/x{n}-thumb.jpg" if thumbnail else "",
    )


def as_rendered_whole(settings, clients: dict[str, Client], url: str) -> None:
    """Each reader's page now is the page rendered with nothing kept."""
    kept = {who: page(client, url) for who, client in clients.items()}
    seconds = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        for who, client in clients.items():
            assert page(client, url) == kept[who], who
    finally:
        settings.VALUE_CACHE_SECONDS = seconds


# Attachments ----------------------------------------------------------------


def test_a_posting_photo_added_through_the_admin_shows_on_the_kept_board(
    wenli, changed, settings
):
    shown = row("村务公开第2号")
    visitor = Client()
    assert not thumbs(entry_of(board(visitor), "村务公开第2号"))
    admin = logged_in(staff_user(username="town_admin", group=roles.TOWN_ADMIN))
    with changed():
        assert upload(admin, shown, "x.jpg", PHOTO, "image/jpeg").status_code == 302
    attachment = shown.attachments.get()
    assert attachment.thumbnail
    li = entry_of(board(visitor), "村务公开第2号")
    assert thumbs(li) == [f"/attachments/{attachment.pk}/thumbnail/"]
    as_rendered_whole(settings, {"visitor": visitor}, "/boards/wenli/")


def test_a_draft_with_a_photo_uploaded_then_published_shows_it(wenli, changed):
    visitor = Client()
    board(visitor)
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    draft = DisclosureFactory(
        unit=wenli,
        item=row("村务公开第0号").item,
        status=Disclosure.Status.DRAFT,
        published_at=None,
        title="带照片的新通知",
    )
    client = logged_in(editor)
    with changed():
        assert upload(client, draft, "x.jpg", PHOTO, "image/jpeg").status_code == 302
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    with changed():
        services.submit(draft, by=editor)
        review_and_approve(draft, reviewer=reviewer)
        services.publish(draft, by=reviewer)
    attachment = draft.attachments.get()
    li = entry_of(board(visitor), "带照片的新通知")
    assert thumbs(li) == [f"/attachments/{attachment.pk}/thumbnail/"]


def test_posting_photos_deleted_in_bulk_leave_the_kept_board(wenli, changed):
    shown = row("村务公开第0号")
    for n in range(2):
        posting_photo(shown, n=n)
    visitor = Client()
    assert len(thumbs(entry_of(board(visitor), "村务公开第0号"))) == 2
    with changed():
        Attachment.objects.filter(disclosure=shown).delete()
    assert thumbs(entry_of(board(visitor), "村务公开第0号")) == []
    assert "board-thumb" not in board(visitor)


def test_a_posting_photo_moved_to_another_disclosure_moves_on_the_board(wenli, changed):
    first, second = row("村务公开第0号"), row("村务公开第1号")
    photo = posting_photo(first)
    visitor = Client()
    text = board(visitor)
    assert thumbs(entry_of(text, "村务公开第0号")) == [photo.thumbnail_url]
    assert thumbs(entry_of(text, "村务公开第1号")) == []
    photo = Attachment.objects.get(pk=photo.pk)  # loaded: its disclosure kept
    with changed():
        photo.disclosure = second
        photo.save()
    text = board(visitor)
    assert thumbs(entry_of(text, "村务公开第0号")) == []
    assert thumbs(entry_of(text, "村务公开第1号")) == [photo.thumbnail_url]


def test_a_photo_moved_by_a_row_built_by_hand_moves_on_the_board(wenli, changed):
    """Saved over a row it was not loaded from (no `_loaded_disclosure_id`):
    the old disclosure's entry must still lose its photo."""
    first, second = row("村务公开第0号"), row("村务公开第1号")
    photo = posting_photo(first)
    visitor = Client()
    assert thumbs(entry_of(board(visitor), "村务公开第0号")) == [photo.thumbnail_url]
    rebuilt = Attachment(
        pk=photo.pk,
        disclosure=second,
        kind="posting",
        title="张贴照片",
        file=photo.file.name,
        thumbnail=photo.thumbnail.name,
        uploaded_at=photo.uploaded_at,
    )
    with changed():
        rebuilt.save()
    text = board(visitor)
    assert thumbs(entry_of(text, "村务公开第0号")) == []
    assert thumbs(entry_of(text, "村务公开第1号")) == [photo.thumbnail_url]


def test_a_photos_kind_or_thumbnail_changed_shows_on_the_kept_board(wenli, changed):
    shown = row("村务公开第0号")
    photo = posting_photo(shown)
    visitor = Client()
    assert thumbs(entry_of(board(visitor), "村务公开第0号")) == [photo.thumbnail_url]
    with changed():
        photo.kind = Attachment.Kind.PHOTO
        photo.save()
    assert thumbs(entry_of(board(visitor), "村务公开第0号")) == []
    with changed():
        photo.kind = Attachment.Kind.POSTING_PHOTO
        photo.save()
    assert thumbs(entry_of(board(visitor), "村务公开第0号")) == [photo.thumbnail_url]
    with changed():
        photo.thumbnail = ""
        photo.save()
    assert thumbs(entry_of(board(visitor), "村务公开第0号")) == []


def test_a_document_never_shows_as_a_thumbnail(wenli):
    shown = row("村务公开第0号")
    posting_photo(shown, kind="document", n=1)
    posting_photo(shown, kind="photo", n=2)
    posting_photo(shown, thumbnail=False, n=3)
    visitor = Client()
    assert "board-thumb" not in board(visitor)
    assert "board-thumb" not in board(visitor)  # kept


# The row's own fields ---------------------------------------------------------


def test_a_title_with_markup_and_bidi_is_escaped_kept_or_not(wenli, changed, settings):
    shown = row("村务公开第0号")
    visitor = Client()
    board(visitor)
    hostile = "<img src=x onerror=alert(1)>\u202e\"&'村"
    with changed():
        shown.title = hostile
        shown.save()
    text = board(visitor)
    assert "<img src=x" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;\u202e&quot;&amp;&#x27;村" in text
    as_rendered_whole(settings, readers(wenli), "/boards/wenli/")


def test_posting_dates_and_publication_date_edited_show_at_once(wenli, changed):
    shown = row("村务公开第0号")
    visitor = Client()
    assert "张贴于" not in entry_of(board(visitor), "村务公开第0号")
    with changed():
        shown.posted_on = date(2011, 9, 5)
        shown.save()
    assert "9月5日 起张贴" in entry_of(board(visitor), "村务公开第0号")
    with changed():
        shown.taken_down_on = date(2011, 9, 20)
        shown.save()
    assert "张贴于 9月5日 – 9月20日" in entry_of(board(visitor), "村务公开第0号")
    moved = shown.published_at - timedelta(days=3)
    with changed():
        shown.published_at = moved
        shown.save()
    local = timezone.localtime(moved)
    day = f"{local.year}年{local.month}月{local.day}日"
    assert f">{day}</time>" in entry_of(board(visitor), "村务公开第0号")


def test_a_disclosure_moved_to_another_unit_leaves_the_board(wenli, changed):
    shown = row("村务公开第0号")
    readers_ = readers(wenli)
    for client in readers_.values():
        assert entry_of(board(client), "村务公开第0号")
        board(client, "fengshan")
    fengshan = Unit.objects.get(slug="fengshan")
    shown = Disclosure.objects.get(pk=shown.pk)
    with changed():
        shown.unit = fengshan
        shown.save()
    for who, client in readers_.items():
        assert not entry_of(board(client), "村务公开第0号"), who
        assert entry_of(board(client, "fengshan"), "村务公开第0号"), who


def test_an_item_moved_to_another_column_moves_its_entries(wenli, changed):
    shown = row("村务公开第0号")
    item = shown.item
    other = CategoryFactory(catalog=item.category.catalog, name="新的栏目")
    ItemFactory(category=other)
    visitor = Client()

    def column_of(text: str, title: str) -> str:
        at = text.index(f">{title}</a>")
        headings = re.findall(r'class="board-column-title">([^<]*)<', text[:at])
        return headings[-1]

    assert column_of(board(visitor), "村务公开第0号") == item.category.name
    with changed():
        item.category = other
        item.save()
    assert column_of(board(visitor), "村务公开第0号") == "新的栏目"


def test_a_deleted_disclosure_leaves_every_board(wenli, changed):
    clients = readers(wenli)
    for client in clients.values():
        assert entry_of(board(client), "村务公开第0号")
    with changed():
        row("村务公开第0号").delete()
    for who, client in clients.items():
        assert not entry_of(board(client), "村务公开第0号"), who


# Audiences --------------------------------------------------------------------


def test_a_branch_row_kept_for_its_branch_is_shown_to_no_one_else(wenli, settings):
    clients = readers(wenli)
    # Kept first for the one reader who may see it besides staff.
    assert entry_of(board(clients["member"]), "支部内部通报")
    for who in ("visitor", "other_branch"):
        text = board(clients[who])
        assert "支部内部通报" not in text, who
        assert f"/disclosures/{row('支部内部通报').pk}/" not in text, who
    assert "党组织内部公开" in entry_of(board(clients["staff"]), "支部内部通报")
    as_rendered_whole(settings, clients, "/boards/wenli/")


def test_a_row_made_inner_party_with_its_item_leaves_the_public_board(wenli, changed):
    clients = readers(wenli)
    for client in clients.values():
        li = entry_of(board(client), "村务公开第0号")
        assert li and "党内公开" not in li
    item = row("村务公开第0号").item
    with changed():
        item.scope = Scope.INNER_PARTY
        item.save()
    assert row("村务公开第0号").scope == Scope.INNER_PARTY
    assert "村务公开第0号" not in board(clients["visitor"])
    for who in ("member", "other_branch", "staff"):
        li = entry_of(board(clients[who]), "村务公开第0号")
        assert '<span class="badge badge-inner">党内公开</span>' in li, who


def test_a_row_made_inner_party_by_its_scope_leaves_the_public_board(wenli, changed):
    clients = readers(wenli)
    for client in clients.values():
        board(client)
    shown = row("村务公开第0号")
    with changed():
        shown.scope = Scope.INNER_PARTY
        shown.save()
    assert "村务公开第0号" not in board(clients["visitor"])
    li = entry_of(board(clients["member"]), "村务公开第0号")
    assert '<span class="badge badge-inner">党内公开</span>' in li


def test_a_party_first_row_reaches_the_public_without_its_badge(wenli):
    at = AT
    shown = DisclosureFactory(
        unit=wenli,
        item=row("村务公开第0号").item,
        title="先党内的公开",
        public_from=at + timedelta(hours=2),
        published_at=at - timedelta(hours=1),
    )
    clients = readers(wenli)
    with time_machine.travel(at, tick=False):
        for who in ("member", "other_branch", "staff"):
            li = entry_of(board(clients[who]), "先党内的公开")
            assert "先党内后党外</span>" in li, who
        assert "先党内的公开" not in board(clients["visitor"])
    # A second after its public date: every reader, the visitor first.
    with time_machine.travel(shown.public_from + timedelta(seconds=1), tick=False):
        li = entry_of(board(clients["visitor"]), "先党内的公开")
        assert li and "先党内后党外" not in li
        for who in ("member", "other_branch", "staff"):
            li = entry_of(board(clients[who]), "先党内的公开")
            assert li and "先党内后党外" not in li, who


def test_a_party_first_entry_kept_from_the_list_loses_its_badge_on_the_board(wenli):
    at = AT
    DisclosureFactory(
        unit=wenli,
        item=row("村务公开第0号").item,
        title="先党内的公开",
        public_from=at + timedelta(minutes=30),
        published_at=at - timedelta(hours=1),
    )
    member = readers(wenli)["member"]
    with time_machine.travel(at, tick=False):
        assert "先党内后党外</span>" in member.get("/disclosures/?unit=wenli").text
        assert "先党内后党外</span>" in entry_of(board(member), "先党内的公开")
    with time_machine.travel(at + timedelta(minutes=30, seconds=1), tick=False):
        assert "先党内后党外" not in member.get("/disclosures/?unit=wenli").text
        li = entry_of(board(Client()), "先党内的公开")
        assert li and "先党内后党外" not in li


def test_a_withdrawn_branch_row_leaves_its_branchs_board(wenli, changed):
    clients = readers(wenli)
    assert entry_of(board(clients["member"]), "支部内部通报")
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    shown = row("支部内部通报")
    from tests.factories import acting_for

    acting_for(reviewer, shown, "approve")
    with changed():
        services.withdraw(shown, by=reviewer, reason="有误")
    for who, client in clients.items():
        assert "支部内部通报" not in board(client), who


# The list and the board share entries: never each other's ---------------------


@pytest.mark.parametrize("first", ["list", "board"])
def test_list_entries_never_show_thumbnails_and_board_entries_always(wenli, first):
    photo = posting_photo(row("村务公开第0号"))
    visitor = Client()
    urls = {"list": "/disclosures/?unit=wenli", "board": "/boards/wenli/"}
    order = [first, *(u for u in urls if u != first)]
    for _ in range(2):
        for name in order:
            text = visitor.get(urls[name]).text
            li = entry_of(text, "村务公开第0号")
            assert li, name
            if name == "list":
                assert "board-thumb" not in text
                assert "文理村" in li  # the list shows the unit
            else:
                assert thumbs(li) == [photo.thumbnail_url]


# The archive ------------------------------------------------------------------


def archive_of(text: str) -> str:
    archive = text[text.index('class="list-inline archive-list"') :]
    return archive[: archive.index("</ul>")]


def test_a_hostile_stored_period_is_escaped_in_the_archive_and_the_entry(wenli):
    shown = row("村务公开第0号")
    # Seven characters: the column's length (PostgreSQL refuses more).
    hostile = "\"><b>&'"
    Disclosure.objects.filter(pk=shown.pk).update(period=hostile)
    visitor = Client()
    escaped = "&quot;&gt;&lt;b&gt;&amp;&#x27;"
    for _ in range(2):
        text = board(visitor, query="?period=2011-Q2")
        archive = archive_of(text)
        assert hostile not in text
        assert f'<a href="?period={escaped}">' in archive
        assert f">{escaped}</a>" in archive


@pytest.mark.parametrize(
    "key,label",
    [
        ("2011-Q1", "2011年第一季度"),
        ("2011-03", "2011年3月"),
        ("2011", "2011年度"),
    ],
)
def test_the_archive_marks_the_period_shown_and_links_the_others(wenli, key, label):
    visitor = Client()
    for _ in range(2):  # made, then kept
        archive = archive_of(board(visitor, query=f"?period={key}"))
        assert archive.count("aria-current") == 1
        shown = f'<strong aria-current="page">{label}</strong></li>'
        assert f'<li class="list-inline-item">{shown}' in archive
        assert f'<a href="?period={key}">' not in archive
        others = {"2011-Q1", "2011-Q2", "2011-03", "2011"} - {key}
        for other in others:
            assert f'<a href="?period={other}">' in archive


def test_a_period_with_spaces_is_the_period_shown(wenli):
    archive = archive_of(board(Client(), query="?period=%202011-Q2%20"))
    assert '<strong aria-current="page">2011年第二季度</strong>' in archive


@pytest.mark.parametrize(
    "query",
    [
        "?period=<script>alert(1)</script>",
        "?period=2011-Q5",
        "?period=2011-13",
        "?period=99999",
        "?period=%00",
        "?period=" + "9" * 5000,
        "?period=2011-Q1&period=2011-Q2",
    ],
)
def test_an_invalid_period_is_no_server_error(wenli, query):
    visitor = Client()
    response = visitor.get(f"/boards/wenli/{query}")
    assert response.status_code in (200, 400)
    assert "<script>alert" not in response.text
    # The current board, its archive all links (a NUL is refused before the
    # view, core.security: no board at all).
    if response.status_code == 400 and "archive-list" in response.text:
        assert "aria-current" not in archive_of(response.text)


def test_a_branch_rows_period_is_in_no_one_elses_archive(wenli):
    Disclosure.objects.filter(title="支部内部通报").update(period="2009-H1")
    clients = readers(wenli)
    assert '<a href="?period=2009-H1">' in archive_of(board(clients["member"]))
    for who in ("visitor", "other_branch"):
        assert "2009-H1" not in board(clients[who]), who


# Corrections through the admin, the text size, the language -------------------


def test_a_title_corrected_through_the_admin_shows_to_every_reader(
    wenli, changed, settings
):
    shown = row("村务公开第2号")
    posting_photo(shown)
    clients = readers(wenli)
    for client in clients.values():
        assert thumbs(entry_of(board(client), "村务公开第2号"))
    form = {
        "unit": wenli.pk,
        "item": shown.item_id,
        "title": "村务公开第2号（更正）",
        "body": shown.body,
        "period": shown.period,
        "scope": shown.scope,
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    with changed():
        response = clients["staff"].post(f"{ADMIN}{shown.pk}/change/", form)
        assert response.status_code == 302
    for who, client in clients.items():
        text = board(client)
        assert not entry_of(text, "村务公开第2号"), who
        assert thumbs(entry_of(text, "村务公开第2号（更正）")), who
    as_rendered_whole(settings, clients, "/boards/wenli/")
    as_rendered_whole(settings, clients, "/boards/wenli/?period=2011-03")


@pytest.mark.parametrize("size", ["1", "2"])
def test_the_elder_mode_shows_the_same_entries(wenli, size):
    posting_photo(row("村务公开第0号"))
    visitor = Client()
    plain = board(visitor)
    visitor.cookies["elder"] = size
    large = board(visitor)
    for title in ("村务公开第0号", "村务公开第1号"):
        assert entry_of(large, title) == entry_of(plain, title)
    assert thumbs(entry_of(large, "村务公开第0号"))


@pytest.mark.parametrize("accept", ["en", "zh-hant", "zh-hans", "ug", "*"])
def test_any_accepted_language_gets_the_chinese_entries(wenli, accept):
    posting_photo(row("村务公开第0号"))
    visitor = Client(HTTP_ACCEPT_LANGUAGE=accept)
    for _ in range(2):
        text = board(visitor)
        li = entry_of(text, "村务公开第0号")
        assert "2011年第一季度" in li
        assert 'alt="张贴照片"' in li


@pytest.mark.parametrize("key", ["2030-01", ""])
def test_a_period_with_no_rows_marks_nothing_in_the_archive(wenli, key):
    visitor = Client()
    response = visitor.get(f"/boards/wenli/?period={key}")
    assert response.status_code == 200
    archive = archive_of(response.text)
    assert "aria-current" not in archive
    for other in ("2011-Q1", "2011-Q2", "2011-03", "2011"):
        assert f'<a href="?period={other}">' in archive
    if key:
        assert "村务公开第0号" not in response.text
    else:
        assert entry_of(response.text, "村务公开第0号")
