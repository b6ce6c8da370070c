"""Attacks on commit b06cb5f: the span of publications re-checked once a
publication is committed, and the home page's latest notices read by key.

Change 1: `page_scopes._span_part` says a row JOINS the span (saved from a
non-published status to published, or announced by id as "published") or
LEAVES it (a withdrawal, a time moved, a deletion, a raw load, an update
announced by id under an unknown name); SPAN is named at once for LEAVES,
and for JOINS only if `_recheck_span` (a commit callback) finds the span
kept then an archive's, none, or a live one whose years miss the row as the
database holds it. Attacked: a publication rolled back (a savepoint, the
whole transaction), published and withdrawn in one transaction, committed
the instant the kept span expires, "published" announced for drafts,
scheduled rows and a row already published at another time, a correction
after a save that moved the time, the admin's bulk publication of an
archive, and the value cache off under the page cache.

Change 2: `home_latest_context` reads only the keys of the reader's latest
eight; `disclosure_tags.kept_entries(loaded=False)` reads the rows of the
entries not kept with `for_listing().in_bulk(...)`, which no audience
narrows. Attacked: a listed row made 党内 / 党组织内部 / withdrawn / deleted
between the two reads (another process's commit, simulated by running it
right after the keys are read), 先党内后党外 rows coming out, a publication
on the home page at once for each audience, a hostile title, and the query
count of the home page on a miss.

Each test asserts the right behaviour: what a reader is shown is what
he is shown with every cache off (`tests.perf.kept.nothing_kept`), and
nothing 党内 reaches a visitor. The faults found are marked "Found by
this attack (mended since)"."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import Scope
from composition import views as composition_views
from core import events
from disclosure import page_scopes, services
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    acting_for,
    staff_user,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_publication_span_attack import (
    PUBLISHED,
    WITHDRAWN,
    facts,
    local,
    truth,
)

pytestmark = [pytest.mark.django_db]

APPROVED = Disclosure.Status.APPROVED


@pytest.fixture
def county(db):
    """凤鸣镇 (the home page's town) and 文理村, one public item for all rows
    (DisclosureFactory without `item` makes catalog rows)."""
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    item = ItemFactory()
    return town, wenli, maoshan, item


def publish_directly(unit, at, item, **fields) -> Disclosure:
    return DisclosureFactory(
        unit=unit, item=item, published_at=at, status=PUBLISHED, **fields
    )


def live_span(wenli, item) -> None:
    now = timezone.now()
    publish_directly(wenli, now - timedelta(days=400), item)
    publish_directly(wenli, now - timedelta(days=2), item)


# Change 1: a publication rolled back ----------------------------------------


def test_a_publication_rolled_back_in_a_savepoint_names_nothing(
    county, values_only, settings, named
):
    """A row published years back inside a savepoint that rolls back: its
    commit callback (the re-check) is dropped with it; the span is the
    rows'."""
    _, wenli, _, item = county
    live_span(wenli, item)
    before = facts()
    with named() as scopes, transaction.atomic():
        try:
            with transaction.atomic():
                publish_directly(wenli, timezone.now() - timedelta(days=6 * 365), item)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        publish_directly(wenli, timezone.now(), item)  # inside its years
    assert page_scopes.SPAN not in scopes
    assert facts() == before == truth(settings)


def test_a_publication_whose_transaction_rolls_back(
    county, values_only, settings, named
):
    _, wenli, _, item = county
    live_span(wenli, item)
    before = facts()
    with named() as scopes:
        with pytest.raises(RuntimeError), transaction.atomic():
            publish_directly(wenli, timezone.now() - timedelta(days=6 * 365), item)
            raise RuntimeError("rolled back")
    assert scopes == []
    assert facts() == before == truth(settings)


def test_published_then_withdrawn_in_one_transaction(
    county, values_only, settings, named
):
    """Published (a JOIN: re-checked at the commit) then withdrawn by a later
    step of the same transaction (LEAVES: named): right either way, for a
    row inside the years and one years back."""
    _, wenli, _, item = county
    live_span(wenli, item)
    facts()
    for at in (timezone.now(), timezone.now() - timedelta(days=6 * 365)):
        with named() as scopes, transaction.atomic():
            row = publish_directly(wenli, at, item)
            row.status = WITHDRAWN
            row.withdrawal_reason = "有误"
            row.withdrawn_at = timezone.now()
            row.save()
        assert page_scopes.SPAN in scopes
        assert facts() == truth(settings)
    assert len(facts()[0]) == 2


def test_a_savepoint_withdrawing_the_new_row_rolls_back(
    county, values_only, settings, named
):
    """Published years back, then withdrawn in a savepoint that rolls back:
    the row stays published, its re-check (outside the years) names SPAN."""
    _, wenli, _, item = county
    live_span(wenli, item)
    facts()
    with named() as scopes, transaction.atomic():
        row = publish_directly(wenli, timezone.now() - timedelta(days=6 * 365), item)
        try:
            with transaction.atomic():
                row.status = WITHDRAWN
                row.withdrawal_reason = "有误"
                row.withdrawn_at = timezone.now()
                row.save()
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert page_scopes.SPAN in scopes
    assert facts() == truth(settings)
    assert len(facts()[0]) >= 6


# Change 1: the re-check at the kept span's expiry -------------------------------


@pytest.mark.parametrize("early", [0, 1], ids=["at-expiry", "a-second-before"])
def test_a_publication_committed_as_the_kept_span_expires(
    county, values_only, settings, named, early
):
    """2024 (leap): the last publication on Jan 1, 10:00 says the portal is
    live until Dec 31, 10:00, when the span kept at 09:58 expires. A row
    published at 09:58 (inside 2024) committed at that instant or a second
    before: the pages open on today (live) then and after."""
    settings.VALUE_CACHE_SECONDS = settings.PAGE_CACHE_MAX_SECONDS = 3600
    _, wenli, _, item = county
    publish_directly(wenli, local(2023, 5, 1, 9), item)
    publish_directly(wenli, local(2024, 1, 1, 10), item)
    start = local(2024, 12, 31, 9, 58)
    with time_machine.travel(start, tick=False):
        assert facts()[1] == start.date()  # live, kept for 120 s
    commit = local(2024, 12, 31, 10) - timedelta(seconds=early)
    with named(), transaction.atomic():
        with time_machine.travel(start, tick=False):
            publish_directly(wenli, start, item)
        traveller = time_machine.travel(commit, tick=False)
        traveller.start()
    try:
        for moment in (commit, commit + timedelta(seconds=2), local(2025, 1, 2, 8)):
            traveller.stop()
            traveller = time_machine.travel(moment, tick=False)
            traveller.start()
            assert facts() == truth(settings), moment
    finally:
        traveller.stop()


# Change 1: "published" announced by id ------------------------------------------


def test_published_announced_for_drafts_and_scheduled_rows(
    county, values_only, settings, named
):
    """The event names rows that are not published (drafts) and rows
    scheduled across the local new year: the years follow once they are
    out, not before."""
    _, wenli, _, item = county
    with time_machine.travel(local(2026, 12, 31, 20), tick=False):
        publish_directly(wenli, local(2025, 3, 1, 9), item)
        publish_directly(wenli, local(2026, 12, 30, 9), item)
        drafts = [
            DisclosureFactory(
                unit=wenli, item=item, status=Disclosure.Status.DRAFT, published_at=None
            ).pk
            for _ in range(2)
        ]
        facts()
        with named():
            events.announce("published", Disclosure, drafts)
        assert facts() == truth(settings)
        approved = [
            DisclosureFactory(unit=wenli, item=item, status=APPROVED).pk
            for _ in range(2)
        ]
        with named():
            Disclosure.objects.filter(pk__in=approved).update(
                status=PUBLISHED, published_at=local(2027, 1, 1, 0, 30)
            )
            events.announce("published", Disclosure, approved)
        assert facts() == truth(settings)
        assert facts()[0] == [2026, 2025]
    with time_machine.travel(local(2027, 1, 1, 0, 31), tick=False):
        assert facts() == truth(settings)
        assert facts()[0] == [2027, 2026, 2025]


# Found by this attack (mended since): `_SPAN_PART_OF_EVENT` takes
# "published" announced by id as JOINS whatever the rows were before. An
# update moving an already published row's time (here the county's first
# publication, 2021, moved to now) announced as "published" is re-checked
# only against where the row is now (inside the kept years, portal live):
# SPAN is not named, the kept span still starts in 2021 and /compliance/
# and /stats/ offer 2021-2023 for VALUE_CACHE_SECONDS. Before b06cb5f
# every update announced by id named SPAN (its rows' past unknown).
def test_published_announced_for_a_row_already_published_at_another_time(
    county, values_only, settings, named
):
    _, wenli, _, item = county
    now = timezone.now()
    first = publish_directly(wenli, now - timedelta(days=5 * 365), item)
    publish_directly(wenli, now - timedelta(days=2), item)
    facts()
    with named():
        Disclosure.objects.filter(pk=first.pk).update(published_at=now)
        events.announce("published", Disclosure, [first.pk])
    assert facts() == truth(settings)


def test_a_correction_after_a_save_that_moved_the_time(
    county, values_only, settings, named
):
    """A published row's time moved by its own save, then the correction
    announced by id (record_edit, as the admin form does): the save names
    SPAN, whatever the correction's event says."""
    town, wenli, _, item = county
    now = timezone.now()
    publish_directly(wenli, now - timedelta(days=400), item)
    row = publish_directly(town, now - timedelta(days=2), item)
    editor = staff_user(username="editor", group="审核人")
    acting_for(editor, row, "publish", "approve")
    facts()
    with named() as scopes, transaction.atomic():
        row.published_at = now - timedelta(days=5 * 365)
        row.title = "更正后的标题"
        row.save()
        services.record_edit(row, by=editor, changed=["title", "published_at"])
    assert page_scopes.SPAN in scopes
    assert facts() == truth(settings)


def test_the_admin_bulk_publication_brings_an_archive_to_today(
    county, page_cache, settings, changed
):
    """The changelist's 发布所选内容 (services.publish for each row) on an
    archive (last publication two years back): every page opens on today."""
    town, wenli, _, item = county
    publish_directly(wenli, timezone.now() - timedelta(days=900), item)
    publish_directly(wenli, timezone.now() - timedelta(days=800), item)
    admin = SuperuserFactory()
    rows = [DisclosureFactory(unit=town, item=item, status=APPROVED) for _ in range(2)]
    for row in rows:
        acting_for(admin, row, "publish")
    visitor = Client()
    first = visitor.get("/compliance/?town=fengming").text
    old_day = timezone.localdate(timezone.now() - timedelta(days=800)).isoformat()
    assert f"as_of={old_day}" in first
    staff = Client()
    staff.force_login(admin)
    with changed():
        response = staff.post(
            reverse("admin:disclosure_disclosure_changelist"),
            {
                "action": "publish_selected",
                "_selected_action": [row.pk for row in rows],
            },
        )
    assert response.status_code == 302
    assert Disclosure.objects.published().count() == 4
    assert facts() == truth(settings)
    assert facts()[1] == timezone.localdate()
    text = visitor.get("/compliance/?town=fengming").text
    assert f"as_of={timezone.localdate().isoformat()}" in text
    assert f"as_of={old_day}" not in text


def test_the_value_cache_off_under_the_page_cache(
    county, page_cache, settings, changed
):
    """VALUE_CACHE_SECONDS=0: nothing is kept to peek at, so a publication
    names SPAN; the compliance page kept under it follows a row years back."""
    settings.VALUE_CACHE_SECONDS = 0
    _, wenli, _, item = county
    live_span(wenli, item)
    visitor = Client()
    before = visitor.get("/compliance/?town=fengming").text
    with changed():
        publish_directly(wenli, timezone.now() - timedelta(days=6 * 365), item)
    after = visitor.get("/compliance/?town=fengming").text
    old_year = timezone.localdate(timezone.now() - timedelta(days=6 * 365)).year
    assert f"year={old_year}" not in before
    assert f"year={old_year}" in after


# Change 2: the home page's latest notices --------------------------------------


def latest(response) -> list[str]:
    """The <li> entries of the home page's 最新公开."""
    assert response.status_code == 200
    section = re.search(
        r'aria-labelledby="latest-heading">(.*?)</section>', response.text, re.S
    )
    assert section
    return re.findall(r"<li[^>]*>.*?</li>", section.group(1), re.S)


def home_afresh(settings, client) -> list[str]:
    kept = settings.PAGE_CACHE_SECONDS
    settings.PAGE_CACHE_SECONDS = 0
    try:
        return nothing_kept(settings, lambda: latest(client.get("/")))
    finally:
        settings.PAGE_CACHE_SECONDS = kept


def between_the_reads(monkeypatch, change):
    """`change()` runs (committed) right after the home page read the keys of
    its latest notices and before their rows are read: another process's
    commit in that window."""
    real = composition_views.home_latest_context

    def keys_then_change(request, units):
        context = real(request, units)
        change()
        return context

    monkeypatch.setattr(composition_views, "home_latest_context", keys_then_change)


def member(username: str, unit) -> Client:
    client = Client()
    client.force_login(PartyMemberFactory(username=username, branch_of=unit))
    return client


def _made_inner_party(row, changed):
    with changed():
        Disclosure.objects.filter(pk=row.pk).update(
            scope=Scope.INNER_PARTY, public_from=None
        )
        events.announce(services.MADE_INNER_PARTY, Disclosure, [row.pk])


def _made_branch_only(row, changed):
    branch = row.unit.organisations.branches().get()
    with changed():
        Disclosure.objects.filter(pk=row.pk).update(scope=Scope.BRANCH, branch=branch)
        events.announce(services.MADE_INNER_PARTY, Disclosure, [row.pk])


# Found by this attack (mended since): the keys of the latest eight are
# read for the reader's audience (visible_to), but their rows are read
# afterwards by `kept_entries(loaded=False)` with
# `Disclosure.objects.for_listing().in_bulk(...)`, which no audience
# narrows. A row made 党内 (an item made 党内: services.follow_item_scope) or
# 党组织内部 of another branch, committed by another process between the two
# reads (READ COMMITTED sees it), is written into the visitor's (the other
# branch's member's) home page with its title and 党内 badge, and that copy
# of the home-latest fragment is kept under the versions the request read
# first. Before b06cb5f one query read the rows with the audience's
# filter. Now the rows are read from the rows the reader may see
# (`kept_entries(source=...)`).
@pytest.mark.parametrize("reader", ["visitor", "maoshan-member"])
def test_a_row_made_members_only_between_the_keys_and_the_rows(
    county, values_only, settings, changed, monkeypatch, reader
):
    _, wenli, maoshan, item = county
    secret = publish_directly(wenli, timezone.now() - timedelta(hours=1), item)
    secret.title = "党内通报会议纪要甲"
    secret.save()
    publish_directly(wenli, timezone.now() - timedelta(hours=2), item)
    client = Client() if reader == "visitor" else member("maoshan_a", maoshan)
    make = _made_inner_party if reader == "visitor" else _made_branch_only
    between_the_reads(monkeypatch, lambda: make(secret, changed))
    shown = latest(client.get("/"))
    assert not any("党内通报会议纪要甲" in entry for entry in shown)
    assert not any("badge-inner" in entry for entry in shown)


def test_a_row_made_inner_party_between_the_lists_keys_and_rows(
    county, values_only, changed, monkeypatch
):
    """The list of disclosures reads its page's keys, then the rows of the
    entries not kept: the same window as the home page's."""
    from disclosure.templatetags import disclosure_tags

    _, wenli, _, item = county
    secret = publish_directly(wenli, timezone.now() - timedelta(hours=1), item)
    secret.title = "党内通报会议纪要乙"
    secret.save()
    publish_directly(wenli, timezone.now() - timedelta(hours=2), item)
    real = disclosure_tags.kept_entries

    def keys_then_change(disclosures, **kwargs):
        keys = list(disclosures)
        _made_inner_party(secret, changed)
        return real(keys, **kwargs)

    monkeypatch.setattr(disclosure_tags, "kept_entries", keys_then_change)
    response = Client().get(f"/disclosures/?unit={wenli.slug}")
    assert response.status_code == 200
    assert "党内通报会议纪要乙" not in response.text


# Found by this attack (mended since): as above, a listed row withdrawn
# between the two reads is written as an entry of 最新公开 (its row read by
# key, whatever its status).
def test_a_row_withdrawn_between_the_keys_and_the_rows(
    county, values_only, settings, changed, monkeypatch
):
    _, wenli, _, item = county
    gone = publish_directly(wenli, timezone.now() - timedelta(hours=1), item)
    gone.title = "已撤回的通知"
    gone.save()
    publish_directly(wenli, timezone.now() - timedelta(hours=2), item)

    def withdraw():
        with changed():
            row = Disclosure.objects.get(pk=gone.pk)
            row.status = WITHDRAWN
            row.withdrawal_reason = "有误"
            row.withdrawn_at = timezone.now()
            row.save()

    between_the_reads(monkeypatch, withdraw)
    shown = latest(Client().get("/"))
    assert not any("已撤回的通知" in entry for entry in shown)


def test_a_row_deleted_between_the_keys_and_the_rows(
    county, page_cache, settings, changed, monkeypatch
):
    """No empty nor broken <li>: the others are listed, the page is a 200,
    and the next reader is shown what nothing kept shows."""
    _, wenli, _, item = county
    rows = [
        publish_directly(wenli, timezone.now() - timedelta(hours=h), item)
        for h in (1, 2, 3)
    ]

    def delete():
        with changed():
            Disclosure.objects.get(pk=rows[0].pk).delete()

    between_the_reads(monkeypatch, delete)
    shown = latest(Client().get("/"))
    assert len(shown) == 2
    assert all(rows[0].title not in entry for entry in shown)
    assert all(re.search(r'<a href="[^"]+">[^<]+</a>', entry) for entry in shown)
    monkeypatch.undo()
    assert latest(Client().get("/")) == home_afresh(settings, Client())


def test_party_first_rows_come_out_on_the_home_page(county, page_cache, settings):
    """先党内后党外: members see it at once with its badge, visitors from its
    public date, without the badge; the entry is shared by the audiences."""
    settings.VALUE_CACHE_SECONDS = 3600
    _, wenli, maoshan, item = county
    start = local(2026, 6, 15, 12)
    with time_machine.travel(start, tick=False):
        publish_directly(wenli, start - timedelta(days=3), item)
        publish_directly(
            wenli,
            start - timedelta(hours=1),
            item,
            title="先党内后党外的通知",
            public_from=start + timedelta(hours=2),
        )
        readers = {
            "visitor": Client(),
            "wenli": member("wenli_a", wenli),
            "maoshan": member("maoshan_a", maoshan),
        }
        for name, client in readers.items():
            shown = latest(client.get("/"))
            assert shown == home_afresh(settings, client), name
            listed = any("先党内后党外的通知" in entry for entry in shown)
            assert listed == (name != "visitor"), name
    with time_machine.travel(start + timedelta(hours=2, seconds=5), tick=False):
        for name, client in readers.items():
            shown = latest(client.get("/"))
            assert shown == home_afresh(settings, client), name
            assert any("先党内后党外的通知" in entry for entry in shown), name
            assert not any("badge-inner" in entry for entry in shown), name


def test_a_publication_shows_on_the_home_page_at_once(
    county, page_cache, settings, changed
):
    """Kept home pages of a visitor and of two branches' members; a public
    row, a 党内 one and a 党组织内部 one of 文理村 are published: each reader
    is shown at once what nothing kept shows, 党内 rows to members only."""
    _, wenli, maoshan, item = county
    publish_directly(wenli, timezone.now() - timedelta(days=3), item)
    readers = {
        "visitor": Client(),
        "wenli": member("wenli_a", wenli),
        "maoshan": member("maoshan_a", maoshan),
    }
    for client in readers.values():
        latest(client.get("/"))
        assert client.get("/").headers.get("X-Page-Cache", "hit") in ("hit", "")
    inner = ItemFactory(scope=Scope.INNER_PARTY)
    branch_item = ItemFactory(scope=Scope.BRANCH)
    with changed():
        publish_directly(wenli, timezone.now(), item, title="新的村务公开")
    with changed():
        publish_directly(wenli, timezone.now(), inner, title="新的党内通报")
    with changed():
        publish_directly(wenli, timezone.now(), branch_item, title="文理支部内部")
    for name, client in readers.items():
        shown = latest(client.get("/"))
        assert shown == home_afresh(settings, client), name
        text = "".join(shown)
        assert "新的村务公开" in text, name
        assert ("新的党内通报" in text) == (name != "visitor"), name
        assert ("文理支部内部" in text) == (name == "wenli"), name


def test_a_hostile_title_on_the_home_page(county, values_only, settings, changed):
    _, wenli, _, item = county
    hostile = '<script>alert(1)</script>"><img src=x onerror=1>\u202e'
    publish_directly(wenli, timezone.now(), item, title=hostile)
    response = Client().get("/")
    assert "<script>alert(1)" not in response.text
    assert "<img src=x" not in response.text
    shown = latest(response)
    assert shown == home_afresh(settings, Client())
    assert any("&lt;script&gt;" in entry for entry in shown)


def test_the_home_page_reads_its_rows_once_on_a_miss(
    county, values_only, settings, changed
):
    """Kept, then a publication in the town: the latest notices made again
    read their keys once and the rows of the entries not kept once (the new
    one only), never one query per entry; the page stays within its budget
    (test_query_budgets: 16)."""
    _, wenli, maoshan, item = county
    for hours in range(12):
        publish_directly(
            wenli if hours % 2 else maoshan,
            timezone.now() - timedelta(hours=hours + 1),
            item,
        )
    client = Client()
    assert len(latest(client.get("/"))) == 8
    with changed():
        publish_directly(wenli, timezone.now(), item, title="最新的一条")
    with CaptureQueriesContext(transaction.get_connection()) as queries:
        shown = latest(client.get("/"))
    assert len(shown) == 8 and "最新的一条" in shown[0]
    assert len(queries) <= 16, [q["sql"][:120] for q in queries]
    rows = [
        q["sql"]
        for q in queries
        if '"disclosure_disclosure"."title"' in q["sql"].split(" FROM ")[0]
    ]
    assert len(rows) == 1
    # The new entry's row alone: the seven others are kept.
    assert re.search(r'"disclosure_disclosure"\."id" IN \(\d+\)', rows[0])
    assert shown == home_afresh(settings, client)
