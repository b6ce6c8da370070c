"""Attacks on 832f05e: the counts of disclosures by kind and category (the
statistics' `disclosure.figures.counted`, the home page's
`published_figures`) are kept under GROUPED ("catalog-grouped"), which a
catalog row's change names only when `catalog.page_scopes.note_counted_change`
finds a grouping field (an item's category, a category's catalog, a
catalog's kind) changed against the row in the database just before the
save, or on a deletion or a raw save; a new row names it not.

Each change is made after every page was read once (its kept values
filled); each page (the statistics of the county, a town, a village, a year
before, the CSV, the home page, the compliance matrices) is compared with
a render with nothing kept (VALUE_CACHE_SECONDS=0).

Held: a move and a move back in one transaction, a move then a rename in
one, a save rolled back then retried, a partial save then a full one,
update_fields by attname, a deferred category set, an older instance
writing the old category back, the related manager's update, bulk_update,
update_or_create, two catalogs swapping kinds, a category deleted and
re-created then filled, a new catalog, category and item then filed under,
a disclosure's item changed (and one built by hand over the row), renames
and reorders (the new names shown, nothing counted again), a category moved
in bulk, an item made 党内 or a branch's (saved, or in bulk), a restore, a
row built by hand, the admin (change forms, the catalog's category inline,
the bulk delete), the catalog loader, another year, a party member, an
Accept-Language of another language, the page cache on too, an expression
in an update; the engine's specs equal the items' after moves.

Found: an upsert (bulk_create(update_conflicts=True)) and Django's
reverse foreign-key add() (category.items.add, catalog.categories.add: an
UPDATE through _base_manager) moved rows with no event at all, and new
items by bulk_create named nothing (older): fixed (SavedRowByRow, the
catalog's base manager). A concurrent older save undoing a move after the
row was read unlocked: fixed (the read and the write are one transaction,
the row locked). Not of this change: counts read inside a transaction that
rolls back (fixed: nothing read inside a transaction is kept); a bare
Disclosure update (left, xfail)."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from catalog import loading
from catalog.models import Catalog, Category, Item, Scope
from catalog.page_scopes import CATALOG, COUNTED, FILED, GROUPED, catalog_scopes
from core import events
from disclosure import figures
from disclosure.models import Disclosure
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SuperuserFactory,
)
from tests.perf import test_catalog_counted_attack as attack
from tests.perf import test_merged_staleness_attack as harness
from tests.perf.test_catalog_counted_attack import admin_post, read, stale
from tests.perf.test_names_attack import not_loaded, restored
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [
    pytest.mark.django_db,
    # YEAR below is taken once, at import; the pages are read before and after
    # a change and compared: all in one day, not across midnight (a year's end).
    pytest.mark.usefixtures("away_from_midnight", "values_only"),
]

# The counted attack's walk (two towns, three villages, a party and a
# government catalog, filings of this year) and its county.
county = attack.county
walk = attack.walk

YEAR = timezone.localdate().year
PAGES = [
    "/",
    "/stats/",
    "/stats/?town=fengming",
    "/stats/?town=qingshan",
    "/stats/?unit=wenli",
    "/stats/?unit=fengming",
    f"/stats/?town=fengming&year={YEAR - 1}",
    "/stats/csv/",
    "/stats/csv/?town=fengming",
    "/stats/csv/?unit=wenli",
    "/compliance/?town=fengming",
    "/compliance/?kind=government&town=fengming",
]


def shown(found: dict) -> str:
    return "\n\n".join(f"{u}:\n{d}" for u, d in found.items())


def check(settings, change, capture, urls=PAGES, first=None):
    found = stale(settings, change, capture, urls, first=first)
    assert found == {}, shown(found)


def item(c, key="item") -> Item:
    return Item.objects.get(pk=c[key].pk)


# Held ------------------------------------------------------------------


def _moved_and_back_in_one_transaction(c):
    with transaction.atomic():
        row = item(c)
        row.category_id = c["government_category"].pk
        row.save()
        row.category_id = c["category"].pk
        row.save()


def _moved_then_renamed_in_one_transaction(c):
    with transaction.atomic():
        row = item(c)
        row.category_id = c["government_category"].pk
        row.save()
        row.name = "改名"
        row.save()


def _rolled_back_then_retried(c):
    row = item(c)
    row.category_id = c["government_category"].pk
    try:
        with transaction.atomic():
            row.save()
            raise IntegrityError("rolled back")
    except IntegrityError:
        pass
    row.save()


def _partial_then_full(c):
    row = item(c)
    row.category_id = c["government_category"].pk
    row.name = "只存名称"
    row.save(update_fields=["name"])
    row.save()


def _partial_by_attname(c):
    row = item(c)
    row.category_id = c["government_category"].pk
    row.save(update_fields=["category_id"])


def _deferred_category(c):
    row = Item.objects.only("name").get(pk=c["item"].pk)
    row.category_id = c["government_category"].pk
    row.save()


def _older_instance(c):
    old = item(c)
    moved = item(c)
    moved.category_id = c["government_category"].pk
    moved.save()
    old.name = "旧实例"
    old.save()  # writes the first category back


def _related_update(c):
    Category.objects.get(pk=c["category"].pk).items.filter(pk=c["item"].pk).update(
        category=c["other_category"]
    )


def _bulk_update(c):
    row = item(c)
    row.category = c["government_category"]
    Item.objects.bulk_update([row], ["category"])


def _update_or_create(c):
    Item.objects.update_or_create(
        code=c["item"].code, defaults={"category": c["government_category"]}
    )


def _catalogs_swap_kinds(c):
    party = Catalog.objects.get(pk=c["category"].catalog_id)
    government = Catalog.objects.get(pk=c["government_category"].catalog_id)
    party_kind, government_kind = party.kind, government.kind
    with transaction.atomic():
        party.kind = Catalog.Kind.VILLAGE
        party.save()
        government.kind = party_kind
        government.save()
        party.kind = government_kind
        party.save()


def _category_deleted_and_recreated(c):
    empty = Category.objects.get(pk=c["empty_category"].pk)
    pk = empty.pk
    empty.delete()
    again = CategoryFactory(
        pk=pk, catalog=c["government_category"].catalog, name="重建"
    )
    Item.objects.filter(pk=c["item"].pk).update(category=again)


def _new_category_and_item_then_disclosures(c):
    catalog = CatalogFactory(kind=Catalog.Kind.VILLAGE, name="村务目录")
    category = CategoryFactory(catalog=catalog, name="新村务栏目")
    new = ItemFactory(category=category, name="新村务事项")
    DisclosureFactory(unit=c["wenli"], item=new, title="新事项的公开")


def _disclosures_item_changed(c):
    row = Disclosure.objects.get(pk=c["row-wenli"].pk)
    row.item = c["government_item"]
    row.save()


def _disclosures_item_updated_in_bulk(c):
    Disclosure.objects.filter(pk=c["row-wenli"].pk).update(item=c["government_item"])


def _category_renamed_and_reordered(c):
    category = Category.objects.get(pk=c["government_category"].pk)
    category.name = "改名的政务栏目"
    category.order = 0
    category.save()
    first = Category.objects.get(pk=c["category"].pk)
    first.order = 50
    first.save()


def _catalog_reordered(c):
    Catalog.objects.filter(pk=c["government_category"].catalog_id).update(order=0)
    Catalog.objects.filter(pk=c["category"].catalog_id).update(order=9)


def _category_to_another_catalog_in_bulk(c):
    Category.objects.filter(pk=c["category"].pk).update(
        catalog_id=c["government_category"].catalog_id
    )


HELD = [
    _moved_and_back_in_one_transaction,
    _moved_then_renamed_in_one_transaction,
    _rolled_back_then_retried,
    _partial_then_full,
    _partial_by_attname,
    _deferred_category,
    _older_instance,
    _related_update,
    _bulk_update,
    _update_or_create,
    _catalogs_swap_kinds,
    _category_deleted_and_recreated,
    _new_category_and_item_then_disclosures,
    _disclosures_item_changed,
    _category_renamed_and_reordered,
    _catalog_reordered,
    _category_to_another_catalog_in_bulk,
]


@pytest.mark.parametrize("change", HELD, ids=lambda f: f.__name__.strip("_"))
def test_the_counts_follow(walk, change, settings, django_capture_on_commit_callbacks):
    check(settings, lambda: change(walk), django_capture_on_commit_callbacks)


def test_published_last_year_follow_a_move(
    walk, settings, django_capture_on_commit_callbacks
):
    DisclosureFactory(
        unit=walk["wenli"],
        item=walk["item"],
        title="去年的公开",
        period=f"{YEAR - 1}-05",
        published_at=datetime(YEAR - 1, 5, 5, 2, tzinfo=UTC),
    )
    check(
        settings,
        lambda: _bulk_update(walk),
        django_capture_on_commit_callbacks,
    )


def test_a_members_counts_follow_a_move(
    walk, settings, django_capture_on_commit_callbacks
):
    member = PartyMemberFactory(username="wenli_member", branch_of=walk["wenli"])
    DisclosureFactory(
        unit=walk["wenli"],
        item=walk["item"],
        title="党内通报",
        scope="inner",
    )
    client = Client()
    client.force_login(member)
    urls = [u for u in PAGES if not u.startswith("/compliance/")]
    for url in urls:
        read(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        _catalogs_swap_kinds(walk)
    kept = {url: read(client, url) for url in urls}
    value = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        afresh = {url: read(client, url) for url in urls}
    finally:
        settings.VALUE_CACHE_SECONDS = value
    found = harness.stale_among(kept, afresh)
    assert found == {}, shown(found)


def _item_made_inner_party(c):
    row = item(c)
    row.scope = Scope.INNER_PARTY
    row.save()


def _item_made_inner_party_in_bulk(c):
    Item.objects.filter(pk=c["government_item"].pk).update(scope=Scope.INNER_PARTY)


def _item_made_a_branchs(c):
    row = item(c)
    row.scope = Scope.BRANCH
    row.save()


def _restored_in_another_category(c):
    restored(Item, c["item"].pk, category_id=c["government_category"].pk)


def _built_by_hand_in_another_category(c):
    not_loaded(
        Category, c["category"].pk, catalog_id=c["government_category"].catalog_id
    )


def _admin_item_to_another_category(c):
    admin_post(
        f"/admin/catalog/item/{c['item'].pk}/change/",
        category=str(c["government_category"].pk),
    )


def _admin_category_to_another_catalog(c):
    admin_post(
        f"/admin/catalog/category/{c['category'].pk}/change/",
        catalog=str(c["government_category"].catalog_id),
    )


def _admin_catalog_kind(c):
    Catalog.objects.filter(kind=Catalog.Kind.VILLAGE).delete()
    admin_post(
        f"/admin/catalog/catalog/{c['category'].catalog_id}/change/",
        kind=Catalog.Kind.VILLAGE,
    )


def _loader_moves_an_item(c):
    # The loader updates items by code: an item of the file already in the
    # catalog under another category is moved to the file's.
    data = loading.read("village_catalog.json")
    code = data["categories"][0]["items"][0]["code"]
    Item.objects.filter(pk=c["item"].pk).update(code=code)
    loading.load_catalog(data, kind="village", name="村务公开目录")


def _category_renamed_in_the_admin(c):
    admin_post(
        f"/admin/catalog/category/{c['category'].pk}/change/", name="改名的财务公开"
    )


def _disclosure_built_by_hand_with_another_item(c):
    not_loaded(Disclosure, c["row-wenli"].pk, item_id=c["government_item"].pk)


def _admin_bulk_delete_then_item_moved_in(c):
    admin = Client()
    admin.force_login(SuperuserFactory())
    response = admin.post(
        "/admin/catalog/category/",
        {
            "action": "delete_selected",
            "_selected_action": [str(c["empty_category"].pk)],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not Category.objects.filter(pk=c["empty_category"].pk).exists()
    again = CategoryFactory(catalog=c["government_category"].catalog, name="新建")
    admin_post(f"/admin/catalog/item/{c['item'].pk}/change/", category=str(again.pk))


def _admin_catalog_inline_category_added(c):
    url = f"/admin/catalog/catalog/{c['category'].catalog_id}/change/"
    admin = Client()
    admin.force_login(SuperuserFactory())
    data = attack.form_data(admin.get(url))
    prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "categor" in k)
    prefix = prefix.removesuffix("-TOTAL_FORMS")
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(n + 1)
    data[f"{prefix}-{n}-code"] = "N9"
    data[f"{prefix}-{n}-name"] = "内联新栏目"
    data[f"{prefix}-{n}-order"] = "0"
    assert admin.post(url, data).status_code == 302
    added = Category.objects.get(code="N9")
    Item.objects.filter(pk=c["item"].pk).update(category=added)


HELD_TOO = [
    _admin_bulk_delete_then_item_moved_in,
    _admin_catalog_inline_category_added,
    _disclosure_built_by_hand_with_another_item,
    _item_made_inner_party,
    _item_made_inner_party_in_bulk,
    _item_made_a_branchs,
    _restored_in_another_category,
    _built_by_hand_in_another_category,
    _admin_item_to_another_category,
    _admin_category_to_another_catalog,
    _admin_catalog_kind,
    _loader_moves_an_item,
    _category_renamed_in_the_admin,
]


@pytest.mark.parametrize("change", HELD_TOO, ids=lambda f: f.__name__.strip("_"))
def test_the_counts_follow_these_too(
    walk, change, settings, django_capture_on_commit_callbacks
):
    check(settings, lambda: change(walk), django_capture_on_commit_callbacks)


def test_a_rename_counts_nothing_again_and_shows(
    walk, monkeypatch, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    for url in PAGES:
        read(visitor, url)
    counts = counted(monkeypatch, figures, "count")
    with django_capture_on_commit_callbacks(execute=True):
        _category_renamed_in_the_admin(walk)
    body = visitor.get("/stats/?town=fengming").content.decode()
    assert "改名的财务公开" in body
    assert counts == []


# Found ----------------------------------------------------------------


def _moved_by_an_upsert(c):
    row = item(c)
    row.category_id = c["government_category"].pk
    Item.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["category"],
    )


# Found by this attack, fixed: SavedRowByRow.bulk_create upserts row by row.
def test_an_item_moved_by_an_upsert(walk, settings, django_capture_on_commit_callbacks):
    check(
        settings, lambda: _moved_by_an_upsert(walk), django_capture_on_commit_callbacks
    )


def _item_added_to_another_category(c):
    # Django's reverse foreign-key manager: add() with bulk=True (the
    # default) is an UPDATE through the model's _base_manager.
    other = Category.objects.get(pk=c["government_category"].pk)
    other.items.add(Item.objects.get(pk=c["item"].pk))


def _category_added_to_another_catalog(c):
    catalog = Catalog.objects.get(pk=c["government_category"].catalog_id)
    catalog.categories.add(Category.objects.get(pk=c["category"].pk))


# Found by this attack, fixed: the catalog's base manager is SavedRowByRow.
def test_an_item_added_to_another_category(
    walk, settings, django_capture_on_commit_callbacks
):
    check(
        settings,
        lambda: _item_added_to_another_category(walk),
        django_capture_on_commit_callbacks,
    )


# Found by this attack, fixed: the catalog's base manager is SavedRowByRow.
def test_a_category_added_to_another_catalog(
    walk, settings, django_capture_on_commit_callbacks
):
    check(
        settings,
        lambda: _category_added_to_another_catalog(walk),
        django_capture_on_commit_callbacks,
    )


def _items_created_in_bulk(c):
    template = Item.objects.get(pk=c["item"].pk)
    Item.objects.bulk_create(
        [
            Item(
                category_id=template.category_id,
                department_id=template.department_id,
                code=f"B{n}",
                name=f"批量新增{n}",
                frequency=Item.Frequency.YEARLY,
            )
            for n in range(2)
        ]
    )


# Found by this attack (older), fixed: SavedRowByRow.bulk_create saves row by row.
def test_items_created_in_bulk(walk, settings, django_capture_on_commit_callbacks):
    check(
        settings,
        lambda: _items_created_in_bulk(walk),
        django_capture_on_commit_callbacks,
        urls=["/"],
    )


# Found by this attack: the read before the save was unlocked. Now a
# catalog row's read and write are one transaction (Item.save,
# SavedInOneTransaction): on PostgreSQL T1 waits for T2's row lock, and what
# is read while a save's transaction is open is not kept (caching.may_keep),
# so the visitor's read in the window below leaves nothing stale.
def test_a_move_undone_by_a_concurrent_older_save(
    walk, settings, django_capture_on_commit_callbacks
):
    from django.db.models.signals import pre_save

    from core import caching, content

    urls = ["/", "/stats/?town=fengming", "/stats/?unit=wenli"]
    visitor = Client()
    for url in urls:
        read(visitor, url)
    pk, moved_to = walk["item"].pk, walk["government_category"].pk
    done = []

    def meanwhile(sender, instance, **kwargs):
        # T2's row read is done (note_counted_change ran first); T1 commits
        # now, before T2's UPDATE gets the row, and a visitor reads.
        if done or instance.pk != pk:
            return
        done.append(True)
        # T1 as another connection's plain UPDATE (announced by its own
        # save elsewhere: the bump below).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE catalog_item SET category_id = %s WHERE id = %s",
                [moved_to, pk],
            )
        caching._bump_scopes([CATALOG, COUNTED, GROUPED, content.NAMES, content.ANY])
        for url in urls:
            read(visitor, url)

    older = item(walk)  # category A, loaded before T1's move
    pre_save.connect(meanwhile, sender=Item, dispatch_uid="grouped-attack-race")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            older.name = "旧实例改名"
            older.save()  # writes A back
    finally:
        pre_save.disconnect(sender=Item, dispatch_uid="grouped-attack-race")
    assert done and Item.objects.get(pk=pk).category_id == walk["category"].pk
    kept = {url: read(visitor, url) for url in urls}
    value = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        afresh = {url: read(visitor, url) for url in urls}
    finally:
        settings.VALUE_CACHE_SECONDS = value
    found = harness.stale_among(kept, afresh)
    assert found == {}, shown(found)


def test_a_new_row_names_no_grouped_but_one_over_a_row_does(walk):
    seen = []
    events.listen(seen.append, model="catalog.Item", uid="grouped-attack")
    try:
        fresh = ItemFactory(category=walk["category"], name="新事项")
        created = next(e for e in seen if e.name == "saved" and e.created)
        # (A new item may be the 点题 one: FILED.)
        assert catalog_scopes(created) == [CATALOG, COUNTED, FILED]
        over = Item(
            **{f.attname: getattr(fresh, f.attname) for f in Item._meta.concrete_fields}
        )
        over.category_id = walk["government_category"].pk
        over.save()
        assert catalog_scopes(seen[-1]) == [CATALOG, COUNTED, GROUPED, FILED]
    finally:
        events.changed.disconnect(dispatch_uid="grouped-attack")


@pytest.mark.parametrize("language", ["en", "zh-hant", "zh-hans"])
def test_another_language_asked_for_shows_the_same(
    walk, language, settings, django_capture_on_commit_callbacks
):
    """One language (zh-hans): a browser asking for another gets the same
    counts and names as a render with nothing kept, after a move."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    urls = ["/", "/stats/?town=fengming", "/stats/csv/?town=fengming"]
    for url in urls:
        read(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        _bulk_update(walk)
        _category_renamed_and_reordered(walk)
    kept = {url: read(client, url) for url in urls}
    value = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        afresh = {url: read(client, url) for url in urls}
    finally:
        settings.VALUE_CACHE_SECONDS = value
    found = harness.stale_among(kept, afresh)
    assert found == {}, shown(found)


@pytest.mark.xfail(
    strict=True,
    reason="not of 832f05e: Disclosure.objects.filter(...).update(item=...) sends "
    "no model signal and no named event (DisclosureQuerySet.update is Django's), "
    "so the counts kept under the unit, town and GROUPED scopes (and the "
    "county's, under ANY) keep the disclosure under its old kind and category; "
    "the services announce their updates, a bare update does not",
)
def test_a_disclosures_item_changed_in_bulk(
    walk, settings, django_capture_on_commit_callbacks
):
    check(
        settings,
        lambda: _disclosures_item_updated_in_bulk(walk),
        django_capture_on_commit_callbacks,
    )


def test_a_move_by_an_expression_names_grouped(walk):
    from django.db.models import F

    seen = []
    events.listen(seen.append, model="catalog.Item", uid="grouped-attack")
    try:
        # The same category, written as an expression: what it is, unknown.
        Item.objects.filter(pk=walk["item"].pk).update(category_id=F("category_id"))
    finally:
        events.changed.disconnect(dispatch_uid="grouped-attack")
    assert GROUPED in catalog_scopes(seen[-1])


# Found by this attack (older, core.caching), fixed: nothing read inside a
# transaction is kept (caching.may_keep).
def test_counts_read_inside_a_move_rolled_back(
    walk, settings, django_capture_on_commit_callbacks
):
    urls = ["/", "/stats/?town=fengming", "/stats/?unit=wenli"]

    def change():
        try:
            with transaction.atomic():
                _bulk_update(walk)
                visitor = Client()
                for url in urls:
                    read(visitor, url)
                raise IntegrityError("rolled back")
        except IntegrityError:
            pass

    with django_capture_on_commit_callbacks(execute=True):
        change()
    visitor = Client()
    kept = {url: read(visitor, url) for url in urls}
    value = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        afresh = {url: read(visitor, url) for url in urls}
    finally:
        settings.VALUE_CACHE_SECONDS = value
    found = harness.stale_among(kept, afresh)
    assert found == {}, shown(found)


@pytest.mark.parametrize(
    "change",
    [
        _bulk_update,
        _catalogs_swap_kinds,
        _category_renamed_and_reordered,
        _item_made_inner_party,
        _new_category_and_item_then_disclosures,
        _disclosures_item_changed,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_with_the_page_cache_too(
    walk, change, settings, django_capture_on_commit_callbacks
):
    """The pages kept whole as well (production's PAGE_CACHE_SECONDS)."""
    settings.PAGE_CACHE_SECONDS = 60
    urls = [u for u in PAGES if not u.startswith("/compliance/")]
    visitor = Client()
    for url in urls:
        harness.served(visitor, url)
    with django_capture_on_commit_callbacks(execute=True):
        change(walk)
    kept = {url: harness.served(visitor, url) for url in urls}
    found = harness.stale_among(kept, harness.rendered_afresh(settings, urls))
    assert found == {}, shown(found)


def test_the_engines_specs_are_the_items_after_moves(walk):
    """`load_item_specs` (the runs: the matrix's counts, the statistics'
    on-time shares) reads what `item_spec` reads of the loaded items, after
    an item, a category and a catalog moved."""
    from disclosure import compliance

    _bulk_update(walk)
    _category_to_another_catalog_in_bulk(walk)
    _catalogs_swap_kinds(walk)
    town = walk["fengming"]
    units = [town, *town.children.order_by("order", "id")]
    for kind in (None, *Catalog.Kind.values):
        specs = compliance.load_item_specs(kind)
        assert specs == [compliance.item_spec(i) for i in compliance.load_items(kind)]
        as_of = compliance.reference_date()
        counts = compliance.counts_by_unit(units, year=YEAR, as_of=as_of, kind=kind)
        plain, items = compliance.load(units=units, year=YEAR, as_of=as_of, kind=kind)
        category_of = {item.pk: item.category_id for item in items}
        whole = compliance.tally(
            plain, lambda o, c=category_of: (o.unit_id, c[o.item_id])
        )
        by_unit = {
            (pk, category): tally
            for pk, unit_counts in counts.items()
            for category, tally in unit_counts.by_category.items()
        }
        assert by_unit == compliance.settle(whole)
