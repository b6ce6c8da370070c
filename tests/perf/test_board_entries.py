"""A board's entries kept one by one, and its archive written in Python
(disclosure.views.board_body_context, disclosure_tags.kept_entries and
board_archive): a publication on a board makes its body again, not the
entries it still shows, and the page is the same bytes as one rendered
whole, for every audience."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from catalog.models import Scope
from catalog.periods import Labelled
from core import caching, compiled
from disclosure import services
from disclosure.models import Attachment, Disclosure, Reader
from disclosure.templatetags import disclosure_tags
from disclosure.templatetags.disclosure_tags import board_archive
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
    acting_for,
    staff_user,
)
from tests.perf.test_fragments import counting, logged_in, page
from tests.perf.test_wall_card_names import saved

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

AT = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)


@pytest.fixture
def wenli(db):
    wenli = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    item = ItemFactory()
    for n, period in enumerate(["2011-Q1", "2011-Q2", "2011-03", "2011"]):
        DisclosureFactory(
            unit=wenli,
            item=item,
            period=period,
            title=f"村务公开第{n}号",
            published_at=AT - timedelta(days=n + 1),
        )
    DisclosureFactory(
        unit=wenli,
        item=ItemFactory(scope=Scope.BRANCH),
        title="支部内部通报",
        published_at=AT - timedelta(days=1),
    )
    return wenli


def clients(wenli) -> dict[str, Client]:
    return {
        "visitor": Client(),
        "member": logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli)),
    }


def published_here(wenli, title: str, by) -> Disclosure:
    draft = DisclosureFactory(
        unit=wenli,
        item=Disclosure.objects.get(title="村务公开第0号").item,
        title=title,
        period=f"{AT.year}-{AT.month:02d}",
        status=Disclosure.Status.APPROVED,
        published_at=None,
    )
    acting_for(by, draft, "approve")
    services.publish(draft, by=by)
    return draft


def after_a_publication(url, wenli, settings, monkeypatch, changed):
    """Each reader's page of `url` (read once before) after a publication in
    the village, and the titles of the entries written for them; then the
    value cache is turned off (the next reads render whole)."""
    written = counting(monkeypatch, disclosure_tags, "disclosure_entry")
    reviewer = staff_user(username="reviewer", group="审核人")
    readers = clients(wenli)
    for client in readers.values():
        client.get(url)
    with changed():
        published_here(wenli, "新发布的村务公开", reviewer)
    before = len(written)
    made = {who: page(client, url) for who, client in readers.items()}
    settings.VALUE_CACHE_SECONDS = 0
    return readers, made, [args[0].title for args in written[before:]]


@time_machine.travel(AT, tick=False)
def test_a_publication_writes_its_entry_alone_and_the_page_is_as_rendered_whole(
    wenli, settings, monkeypatch, changed
):
    url = f"/boards/{wenli.slug}/"
    readers, made, written = after_a_publication(
        url, wenli, settings, monkeypatch, changed
    )
    # One new entry, written once for both readers (an entry is the same for
    # every reader who may see its row).
    assert written == ["新发布的村务公开"]
    for who, client in readers.items():
        assert page(client, url) == made[who], who
    assert "新发布的村务公开".encode() in made["visitor"]
    assert "支部内部通报".encode() in made["member"]
    assert "支部内部通报".encode() not in made["visitor"]


@time_machine.travel(AT, tick=False)
def test_kept_entries_read_no_posting_photos(wenli, changed):
    reviewer = staff_user(username="reviewer", group="审核人")
    url = f"/boards/{wenli.slug}/"
    visitor = Client()
    visitor.get(url)
    with changed():
        new = published_here(wenli, "新发布的村务公开", reviewer)
    with CaptureQueriesContext(connection) as made:
        visitor.get(url)
    photos = [q["sql"] for q in made if "disclosure_attachment" in q["sql"]]
    # The new entry's photos alone, not the board's every row's.
    assert len(photos) == 1
    assert f"IN ({new.pk})" in photos[0] or f"= {new.pk}" in photos[0]
    # The body made again with no entry changed (what the unit's scope moving
    # for another reason does: an inspection, a table): no photos read.
    with changed():
        caching.bump_scopes([f"unit:{wenli.slug}"])
    with CaptureQueriesContext(connection) as kept:
        visitor.get(url)
    assert [q for q in kept if "ROW_NUMBER()" in q["sql"]]  # the body was made
    assert not [q for q in kept if "disclosure_attachment" in q["sql"]]


def test_a_posting_photo_added_shows_on_the_kept_board(wenli, changed):
    shown = Disclosure.objects.filter(unit=wenli, title="村务公开第0号").get()
    url = f"/boards/{wenli.slug}/"
    visitor = Client()
    assert "board-thumb" not in visitor.get(url).text
    with changed():
        attachment = Attachment.objects.create(
            disclosure=shown,
            kind="posting",
            title="张贴照片",
            file="attachments/x.jpg",
            thumbnail="attachments/x-thumb.jpg",
        )
    assert f'src="/attachments/{attachment.pk}/thumbnail/"' in visitor.get(url).text
    with changed():
        attachment.delete()
    assert "board-thumb" not in visitor.get(url).text


def test_an_entry_edited_or_withdrawn_leaves_the_kept_board_at_once(wenli, changed):
    reviewer = staff_user(username="reviewer", group="审核人")
    shown = Disclosure.objects.get(title="村务公开第0号")
    url = f"/boards/{wenli.slug}/"
    readers = clients(wenli)
    for client in readers.values():
        assert "村务公开第0号" in client.get(url).text
    with changed():
        shown.title = "村务公开第0号（更正）"
        shown.save()
    for client in readers.values():
        assert "村务公开第0号（更正）" in client.get(url).text
    acting_for(reviewer, shown, "approve")
    with changed():
        services.withdraw(shown, by=reviewer, reason="有误")
    for client in readers.values():
        assert "村务公开第0号" not in client.get(url).text


@time_machine.travel(AT, tick=False)
def test_the_archive_links_every_period_but_the_one_shown(wenli):
    visitor = Client()
    text = visitor.get(f"/boards/{wenli.slug}/").text
    archive = text[text.index('class="list-inline archive-list"') :]
    archive = archive[: archive.index("</ul>")]
    for key in ("2011-Q1", "2011-Q2", "2011-03", "2011"):
        assert f'<a href="?period={key}">' in archive
    assert "aria-current" not in archive
    text = visitor.get(f"/boards/{wenli.slug}/?period=2011-Q2").text
    archive = text[text.index('class="list-inline archive-list"') :]
    archive = archive[: archive.index("</ul>")]
    assert '<strong aria-current="page">2011年第二季度</strong>' in archive
    assert '<a href="?period=2011-Q2">' not in archive
    assert '<a href="?period=2011-Q1">' in archive


@time_machine.travel(AT, tick=False)
def test_the_home_pages_latest_notices_write_only_a_new_entry(
    wenli, settings, monkeypatch, changed
):
    readers, made, written = after_a_publication(
        "/", wenli, settings, monkeypatch, changed
    )
    assert written == ["新发布的村务公开"]
    for who, client in readers.items():
        assert page(client, "/") == made[who], who
    assert "新发布的村务公开".encode() in made["visitor"]


def test_the_archive_writes_a_hostile_period_inert():
    """What a stored key or its label holds is escaped (a key that is no
    period is its own label), whatever the column's length lets through."""
    payload = "<script>alert(1)</script>\u202e\x00&\"'"
    html = board_archive([Labelled(payload, payload)], None)
    assert "<script" not in html and "\"'" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2
    shown = board_archive([Labelled(payload, payload)], Labelled(payload, payload))
    assert "<script" not in shown
    assert '<strong aria-current="page">&lt;script&gt;' in shown
    # Escaped as Django's escape does (the tag uses the standard library's).
    label = escape(payload)
    assert html == (
        '<ul class="list-inline archive-list"><li class="list-inline-item">'
        f'<a href="?period={label}">{label}</a></li></ul>'
    )


@pytest.mark.parametrize("show_unit", [True, False])
@time_machine.travel(AT, tick=False)
def test_entries_not_kept_read_only_what_they_show(wenli, settings, show_unit):
    """The rows of entries not kept are read in one query of an entry's
    columns (and its unit's name): no catalog join, no query a row, and the
    same markup as written from the whole row, badges included."""
    settings.VALUE_CACHE_SECONDS = 0  # nothing kept: every entry written
    party_first = Disclosure.objects.get(title="村务公开第1号")
    party_first.public_from = AT + timedelta(days=3)
    party_first.save()
    source = Disclosure.objects.filter(unit=wenli)
    keys = list(source.order_by("-published_at", "-id").only("pk"))
    with CaptureQueriesContext(connection) as queries:
        written = disclosure_tags.kept_entries(keys, show_unit=show_unit, source=source)
    assert len(queries.captured_queries) == 1
    assert "catalog_" not in queries.captured_queries[0]["sql"]
    whole = [
        disclosure_tags.disclosure_entry(row, show_unit)
        for row in source.for_listing().order_by("-published_at", "-id")
    ]
    assert written == whole
    assert any("先党内后党外" in entry for entry in written)
    assert any("党组织内部公开" in entry for entry in written)
    assert all(("文理村" in entry) == show_unit for entry in written)


@pytest.mark.usefixtures("no_compiled_plans")
@pytest.mark.parametrize("show_unit", [True, False])
@time_machine.travel(AT, tick=False)
def test_entries_not_kept_read_from_a_kept_source_for_its_reader(
    wenli, settings, show_unit
):
    """The rows of entries not kept, read from SQL kept per source (the home
    page's latest: `compiled.Source`): the same entries as from Django's
    queryset, each reader's plan reading only the rows that reader may see
    (a key the page was not given for the reader writes an empty entry)."""
    settings.VALUE_CACHE_SECONDS = 0
    member = PartyMemberFactory(username="wenli_a", branch_of=wenli)
    every = list(Disclosure.objects.filter(unit=wenli).order_by("-published_at", "-id"))

    def source(user):
        reader = Reader.of(user)
        return compiled.Source(
            ("test-entries", reader.key),
            lambda at=None: (
                Disclosure.objects.published(at)
                .for_reader(reader, at)
                .filter(unit=wenli)
            ),
        )

    written = {}
    for _ in range(2):  # the plans made, then run
        for who, user in (("visitor", None), ("member", member)):
            for keys in (every, every[:2], every[2:4]):
                kept = disclosure_tags.kept_entries(
                    keys, show_unit=show_unit, source=source(user)
                )
                own = disclosure_tags.kept_entries(
                    keys, show_unit=show_unit, source=source(user).build()
                )
                assert kept == own, who
            written[who] = disclosure_tags.kept_entries(
                every, show_unit=show_unit, source=source(user)
            )
    inner = next(n for n, row in enumerate(every) if row.title == "支部内部通报")
    assert written["visitor"][inner] == ""
    assert "支部内部通报" in written["member"][inner]
    for who in written:
        assert all(e for n, e in enumerate(written[who]) if n != inner), who
    plans = [p for k, p in compiled._plans.items() if k[3][0] == "entry-rows"]
    # An audience's plan per number of rows (5 and 2): four, each kept.
    assert len(plans) == 4 and None not in plans


@pytest.mark.usefixtures("no_compiled_plans")
@time_machine.travel(AT, tick=False)
def test_posting_photos_of_entries_not_kept_from_kept_sql(wenli, settings):
    """The posting photos of the entries written (a board's) are read from
    SQL kept per number of entries: the same thumbnails, in order, as each
    row's attachments give; no other kind, none without a thumbnail."""
    settings.VALUE_CACHE_SECONDS = 0  # every entry written, every request
    first, second = Disclosure.objects.filter(
        title__in=["村务公开第0号", "村务公开第1号"]
    )
    for row, kind, thumbnail in [
        (first, "posting", "t/b.jpg"),
        (first, "photo", "t/photo.jpg"),  # not a posting photo
        (first, "posting", "t/a.jpg"),
        (second, "posting", ""),  # no thumbnail yet
    ]:
        Attachment.objects.create(
            disclosure=row, kind=kind, file="a/x.jpg", thumbnail=thumbnail
        )
    url = f"/boards/{wenli.slug}/"
    pages = [Client().get(url).text for _ in range(2)]  # the plan made, then run
    assert pages[0] == pages[1]
    assert [k[3] for k in compiled._plans if k[3] == ("posting-photos",)]
    assert None not in compiled._plans.values()
    for row in Disclosure.objects.filter(unit=wenli).exclude(title="支部内部通报"):
        row = Disclosure.objects.only(*disclosure_tags.ENTRY_FIELDS).get(pk=row.pk)
        whole = disclosure_tags.disclosure_entry(row, thumbnails=True)
        assert whole in pages[1], row.title
    photos = [
        a.pk for a in first.attachments.filter(kind="posting").exclude(thumbnail="")
    ]
    shown = [f'src="/attachments/{pk}/thumbnail/"' for pk in photos]
    assert len(shown) == 2 and all(src in pages[1] for src in shown)
    assert pages[1].index(shown[0]) < pages[1].index(shown[1])
    assert pages[1].count("board-thumb") == 2


@time_machine.travel(AT, tick=False)
def test_a_catalog_or_unit_change_leaves_a_boards_entries_kept(
    wenli, settings, monkeypatch, changed
):
    """A board's entry names no catalog row nor unit (`kept_entries`,
    `names_listed` without `show_unit`): an item renamed with its time limit
    changed, or the town renamed, makes the board's body again, not its
    entries, and each reader's page is the one rendered whole. A list's
    entries name their unit: the village renamed writes them again."""
    from catalog.models import Item
    from disclosure.models import Unit

    url = f"/boards/{wenli.slug}/"
    readers = clients(wenli)
    written = counting(monkeypatch, disclosure_tags, "disclosure_entry")
    for client in readers.values():
        client.get(url)
    item = Disclosure.objects.get(title="村务公开第0号").item
    for model, pk, fields in (
        (Item, item.pk, {"name": "改名的事项", "frequency": Item.Frequency.YEARLY}),
        (Unit, wenli.parent_id, {"name": "改名的镇"}),
    ):
        with changed():
            saved(model, pk, **fields)
        before = len(written)
        made = {who: page(client, url) for who, client in readers.items()}
        assert written[before:] == [], model
        kept_for = settings.VALUE_CACHE_SECONDS
        settings.VALUE_CACHE_SECONDS = 0
        for who, client in readers.items():
            assert page(client, url) == made[who], who
        settings.VALUE_CACHE_SECONDS = kept_for
    readers["visitor"].get("/disclosures/")
    with changed():
        saved(Unit, wenli.pk, name="文理社区")
    before = len(written)
    listed = readers["visitor"].get("/disclosures/").content.decode()
    assert len(written) > before and "文理社区" in listed
