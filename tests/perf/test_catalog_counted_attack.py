"""Attacks on b0d939a: the compliance engine's kept counts (the matrix's
`matrix_counts`, the statistics' `tallies_by_unit`) follow COUNTED
("catalog-counted"), which a catalog row's change names only when
`catalog.page_scopes.may_change_counts` finds a field the engine reads
changed against the row in the database just before the save.
Each change is made after every page was read once (its kept values
filled); each page served (the matrices, a unit's page, the Excel exports,
the statistics, the 回音壁 form) is compared with a render with nothing kept.

Held: every field the engine reads changed through a loaded instance, the
admin (forms and inlines), the catalog loader, a restore, an instance built
by hand, deferred then read, refreshed, saved twice; renames keep the
counts and show the new names; the unit selects follow the units.
Found stale, and fixed (the comparison was with what the instance
remembered as loaded): an older instance saved over a change, a save
rolled back then made again, a partial save then a full one, a deferred
field set to None; and, older, a QuerySet.update or bulk_update, which
announced nothing (catalog rows are now saved row by row)."""

import copy
import io
from datetime import UTC, date, datetime

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from catalog import loading
from catalog.models import (
    Catalog,
    Category,
    Department,
    DisclosureForm,
    Item,
    ScheduleRule,
    Scope,
    Timing,
)
from catalog.page_scopes import (
    CATALOG,
    COUNTED,
    DEPARTMENTS,
    FILED,
    GROUPED,
    catalog_scopes,
    note_counted_change,
)
from core import content, events
from disclosure import compliance, compliance_views
from disclosure.models import Unit
from feedback.models import Kind
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    SuperuserFactory,
    UnitFactory,
)
from tests.feedback.test_loop_finish import form_data
from tests.perf import test_merged_staleness_attack as harness
from tests.perf.test_names_attack import loaded, not_loaded, restored
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [
    pytest.mark.django_db,
    # YEAR below is taken once, at import; the pages are read before and after
    # a change and compared: all in one day, not across midnight (a year's end);
    # the walk files January on 2 February: after it (in January, a rule
    # that changes nothing counted).
    pytest.mark.usefixtures("past_mid_march", "values_only"),
]

YEAR = timezone.localdate().year
MATRICES = [
    "/compliance/?town=fengming",
    "/compliance/?kind=party&town=fengming",
    "/compliance/?kind=village&town=fengming",
    "/compliance/?kind=government&town=fengming",
    "/compliance/?town=qingshan",
    # Two days of one run (`caching.cached_through`), the second from the
    # first's counts.
    f"/compliance/?town=fengming&year={YEAR}&as_of={YEAR}-06-16",
    f"/compliance/?town=fengming&year={YEAR}&as_of={YEAR}-06-17",
]
PAGES = [
    *MATRICES,
    "/compliance/wenli/",
    "/compliance/fengming/",
    "/stats/",
    "/stats/?town=fengming",
    "/stats/?town=qingshan",
    "/stats/?unit=wenli",
    "/compliance/export.xlsx?town=fengming",
    "/compliance/wenli/export.xlsx",
    "/feedback/new/",
]


# The walk's fixture (registered here as "county").
county = harness.county


@pytest.fixture
def walk(county, settings):
    """The walk's county (two towns, three villages, a party and a
    government catalog), with filings of this year: on time, late, a 本期无,
    an accepted 点题 request, an item with no filing, the rule of each
    catalog."""
    found = county
    item, wenli = found["item"], found["wenli"]
    on_time = datetime(YEAR, 2, 2, 2, tzinfo=UTC)  # 10:00 in Shanghai
    for unit, period, nil in ((wenli, "01", False), (found["maoshan"], "01", True)):
        DisclosureFactory(
            unit=unit,
            item=item,
            title=f"{unit.name}{period}月收支",
            period=f"{YEAR}-{period}",
            is_nil_return=nil,
            published_at=on_time,
        )
    DisclosureFactory(
        unit=found["fengming"], item=item, title="镇二月收支", period=f"{YEAR}-02"
    )
    found["spare"] = ItemFactory(category=found["category"], name="备用事项")
    found["empty_category"] = CategoryFactory(
        catalog=found["category"].catalog, name="空栏目"
    )
    for category in ("category", "government_category"):
        ScheduleRule.objects.update_or_create(
            catalog_id=found[category].catalog_id, defaults={"monthly_due_day": 20}
        )
    settings.FEEDBACK_REQUEST_ITEM_CODE = "F02"
    found["request"] = SubmissionFactory(
        unit=wenli, kind=Kind.REQUEST, accepted=True, title="点题：修路账目"
    )
    return found


def read(client, url) -> tuple[int, bytes]:
    """A page as served; a workbook as the values of its cells."""
    if ".xlsx" not in url:
        return harness.served(client, url)
    from openpyxl import load_workbook

    response = client.get(url)
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    text = "\n".join(
        f"{sheet.title}: {row}"
        for sheet in book
        for row in sheet.iter_rows(values_only=True)
    )
    return response.status_code, text.encode()


def afresh(settings, urls) -> dict:
    """These pages with nothing kept (the kept copies left alone)."""
    value = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        client = Client()
        return {url: read(client, url) for url in urls}
    finally:
        settings.VALUE_CACHE_SECONDS = value


def stale(settings, change, capture, urls=PAGES, first=None, probe=None) -> dict:
    """The pages that differ, after `change`, from a render with nothing kept
    (`first`: a change made and announced before the pages are read;
    `probe()`: called before the change and after the pages are read again)."""
    if first is not None:
        with capture(execute=True):
            first()
    visitor = Client()
    for url in urls:
        read(visitor, url)
    if probe is not None:
        probe()
    with capture(execute=True):
        change()
    kept = {url: read(visitor, url) for url in urls}
    if probe is not None:
        probe()
    return harness.stale_among(kept, afresh(settings, urls))


def shown(found: dict) -> str:
    return "\n\n".join(f"{u}:\n{d}" for u, d in found.items())


def check(settings, change, capture, urls=PAGES):
    found = stale(settings, change, capture, urls)
    assert found == {}, shown(found)


def engine_counts(settings, walk) -> dict:
    """What the engine counts now, nothing kept: each town's matrix cells
    by kind (today and a day of June) and its on-time tallies."""
    value = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        found = {}
        for slug in ("fengming", "qingshan"):
            town = Unit.objects.get(pk=walk[slug].pk)
            units = compliance_views.home_units(town)
            for as_of in (compliance.reference_date(), date(YEAR, 6, 16)):
                for kind in Catalog.Kind.values:
                    q = {"town": town, "year": YEAR, "kind": kind, "within": None}
                    counts = compliance_views.count_matrix(q, units, as_of)
                    found[slug, kind, as_of] = counts["cells"]
                found[slug, as_of] = compliance.tallies_by_unit(units, YEAR, as_of)
        return found
    finally:
        settings.VALUE_CACHE_SECONDS = value


# Held: a change of what the engine reads, by a loaded instance ------------


def _frequency(c):
    loaded(Item, c["item"].pk, frequency=Item.Frequency.QUARTERLY)


def _timing(c):
    loaded(Item, c["item"].pk, timing=Timing.YEAR_START)


def _not_for_villages(c):
    loaded(Item, c["item"].pk, for_village=False)


def _not_for_towns(c):
    loaded(Item, c["item"].pk, for_town=False)


def _nil_not_allowed(c):
    loaded(Item, c["item"].pk, nil_allowed=False)


def _notice_days(c):
    loaded(Item, c["item"].pk, notice_days=5)


def _request_item_code(c):
    # The item 点题 requests are counted as (settings.FEEDBACK_REQUEST_ITEM_CODE).
    loaded(Item, c["spare"].pk, code="F02")


def _item_to_government(c):
    loaded(Item, c["item"].pk, category=c["government_category"])


def _item_to_other_category(c):
    loaded(Item, c["item"].pk, category=c["other_category"])


def _category_to_government(c):
    loaded(Category, c["category"].pk, catalog_id=c["government_category"].catalog_id)


def _catalog_kind(c):
    loaded(Catalog, c["category"].catalog_id, kind=Catalog.Kind.VILLAGE)


def _adopted_on(c):
    loaded(Catalog, c["category"].catalog_id, adopted_on=date(YEAR, 7, 1))


def _schedule_rule(c):
    rule = ScheduleRule.objects.get(catalog_id=c["category"].catalog_id)
    rule.monthly_due_day = 1
    rule.save()


def _schedule_rule_deleted(c):
    ScheduleRule.objects.get(catalog_id=c["category"].catalog_id).delete()


def _new_item(c):
    ItemFactory(category=c["other_category"], name="新增事项", for_town=False)


def _deleted_item(c):
    Item.objects.get(pk=c["spare"].pk).delete()


def _saved_twice(c):
    item = loaded(Item, c["item"].pk, frequency=Item.Frequency.YEARLY)
    item.name = "年度收支"
    item.save()


def _refreshed_then_changed(c):
    row = Item.objects.get(pk=c["item"].pk)
    loaded(Item, row.pk, frequency=Item.Frequency.QUARTERLY)
    row.refresh_from_db()
    row.frequency = Item.Frequency.HALF_YEARLY
    row.save()


def _built_by_hand(c):
    not_loaded(Item, c["item"].pk, frequency=Item.Frequency.QUARTERLY)


def _restored(c):
    restored(Item, c["item"].pk, frequency=Item.Frequency.QUARTERLY)


def _deferred_then_set(c):
    item = Item.objects.only("name").get(pk=c["item"].pk)
    item.frequency = Item.Frequency.QUARTERLY
    item.save()


def _deferred_read_then_set(c):
    item = Item.objects.defer("frequency").get(pk=c["item"].pk)
    assert item.frequency == Item.Frequency.MONTHLY  # read on access
    item.frequency = Item.Frequency.QUARTERLY
    item.save()


def _update_or_create(c):
    Item.objects.update_or_create(
        code=c["item"].code, defaults={"frequency": Item.Frequency.QUARTERLY}
    )


def _scope_and_frequency_in_bulk(c):
    # ItemQuerySet.update saves item by item when the scope is in it (the
    # same scope: no disclosure changes with it).
    Item.objects.filter(pk=c["item"].pk).update(
        scope=Scope.PUBLIC, frequency=Item.Frequency.QUARTERLY
    )


def _through_select_related(c):
    item = Item.objects.select_related("category__catalog").get(pk=c["item"].pk)
    item.category.catalog.adopted_on = date(YEAR, 7, 1)
    item.category.catalog.save()


def _copy_saved_once(c):
    item = Item.objects.get(pk=c["item"].pk)
    twin = copy.copy(item)
    twin.frequency = Item.Frequency.QUARTERLY
    twin.save()


HELD = {
    f.__name__.lstrip("_"): f
    for f in (
        _frequency,
        _timing,
        _not_for_villages,
        _not_for_towns,
        _nil_not_allowed,
        _notice_days,
        _request_item_code,
        _item_to_government,
        _item_to_other_category,
        _category_to_government,
        _catalog_kind,
        _adopted_on,
        _schedule_rule,
        _schedule_rule_deleted,
        _new_item,
        _deleted_item,
        _saved_twice,
        _refreshed_then_changed,
        _built_by_hand,
        _restored,
        _deferred_then_set,
        _deferred_read_then_set,
        _update_or_create,
        _scope_and_frequency_in_bulk,
        _through_select_related,
        _copy_saved_once,
    )
}


@pytest.mark.parametrize("change", list(HELD))
def test_a_counted_change_recounts(
    settings, walk, change, django_capture_on_commit_callbacks
):
    before = engine_counts(settings, walk)
    found = stale(
        settings, lambda: HELD[change](walk), django_capture_on_commit_callbacks
    )
    assert found == {}, shown(found)
    # Not vacuous: what the engine counts changed.
    assert engine_counts(settings, walk) != before


def test_a_village_catalog_loaded_is_counted(
    settings, walk, django_capture_on_commit_callbacks
):
    """catalog/loading.py (the seed commands' loader): get_or_create, rows
    saved one by one (new: COUNTED)."""
    before = engine_counts(settings, walk)

    def change():
        loading.load_catalog(
            loading.read("village_catalog.json"), kind="village", name="村务公开目录"
        )

    check(settings, change, django_capture_on_commit_callbacks)
    assert engine_counts(settings, walk) != before


# Held through the admin ---------------------------------------------------


def admin_post(url: str, **changed):
    admin = Client()
    admin.force_login(SuperuserFactory())
    data = form_data(admin.get(url))
    data.update(changed)
    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]


def _admin_item(c):
    admin_post(
        f"/admin/catalog/item/{c['item'].pk}/change/",
        frequency=Item.Frequency.QUARTERLY,
        name="季度收支",
    )


def _admin_category(c):
    admin_post(
        f"/admin/catalog/category/{c['category'].pk}/change/",
        catalog=str(c["government_category"].catalog_id),
    )


def _admin_catalog(c):
    # The catalog's form with its inlines (rule, procedure, categories).
    admin_post(
        f"/admin/catalog/catalog/{c['category'].catalog_id}/change/",
        adopted_on=f"{YEAR}-07-01",
    )


def _admin_catalog_rule_inline(c):
    url = f"/admin/catalog/catalog/{c['category'].catalog_id}/change/"
    admin = Client()
    admin.force_login(SuperuserFactory())
    data = form_data(admin.get(url))
    key = next(k for k in data if k.endswith("monthly_due_day"))
    data[key] = "3"
    assert admin.post(url, data).status_code == 302


ADMIN = {
    f.__name__.lstrip("_"): f
    for f in (_admin_item, _admin_category, _admin_catalog, _admin_catalog_rule_inline)
}


@pytest.mark.parametrize("change", list(ADMIN))
def test_a_counted_change_through_the_admin(
    settings, walk, change, django_capture_on_commit_callbacks
):
    before = engine_counts(settings, walk)
    check(settings, lambda: ADMIN[change](walk), django_capture_on_commit_callbacks)
    assert engine_counts(settings, walk) != before


def test_the_scopes_named(walk):
    """What a catalog row's event names (content.event_scopes)."""

    def named(row, name="saved", **details):
        if isinstance(row, (Catalog, Category, Item)):
            note_counted_change(type(row), row)  # what a save asks first
        event = events.Event(name, row._meta.label, (row.pk,), instance=row, **details)
        return content.event_scopes(event)

    item = Item.objects.get(pk=walk["item"].pk)
    item.name = "只改名"
    assert named(item) == [CATALOG]
    item.notice_days = 5
    assert named(item) == sorted([CATALOG, COUNTED])
    assert named(item, created=True) == named(item)
    # A deletion, or a row loaded as it is, may move disclosures too, and
    # change which rows count as filed (an item's timing, its code).
    assert named(item, "deleted") == sorted([CATALOG, COUNTED, GROUPED, FILED])
    fresh = Item.objects.get(pk=item.pk)
    assert named(fresh, raw=True) == sorted([CATALOG, COUNTED, GROUPED, FILED])
    assert catalog_scopes(events.Event("linked", "catalog.Item", instance=fresh)) == [
        CATALOG
    ]
    rule = ScheduleRule.objects.get(catalog_id=walk["category"].catalog_id)
    assert named(rule) == sorted([CATALOG, COUNTED])
    # An office: the 回音壁's cards follow it alone (wall_tags.names_shown).
    department = Department.objects.get(pk=item.department_id)
    assert named(department) == sorted([CATALOG, DEPARTMENTS])
    assert named(department, "deleted") == sorted([CATALOG, DEPARTMENTS])


# Held: a name changed keeps the counts, and every page shows it -----------


def _item_renamed(c):
    loaded(Item, c["item"].pk, name="月度财务收支", description="说明", order=9)


def _category_renamed(c):
    loaded(Category, c["category"].pk, name="财务公开栏", code="Z9", order=99)


def _catalog_renamed(c):
    loaded(Catalog, c["category"].catalog_id, name="新党务目录", order=7, note="注")


def _department_renamed(c):
    loaded(Department, c["item"].department_id, name="综合办")


def _form_renamed(c):
    loaded(DisclosureForm, c["item"].forms.get().pk, name="新形式")


def _item_forms(c):
    Item.objects.get(pk=c["item"].pk).forms.add(
        DisclosureForm.objects.create(name="微信")
    )


def _new_category(c):
    CategoryFactory(catalog=c["category"].catalog, name="新栏目", order=0)


def _deleted_category(c):
    Category.objects.get(pk=c["empty_category"].pk).delete()


def _item_renamed_in_the_admin(c):
    admin_post(f"/admin/catalog/item/{c['item'].pk}/change/", name="改名的事项")


def _category_renamed_built_by_hand(c):
    # Not loaded: COUNTED too (a recount), the name shown all the same.
    not_loaded(Category, c["category"].pk, name="手建栏目")


NAMES = {
    f.__name__.lstrip("_"): f
    for f in (
        _item_renamed,
        _category_renamed,
        _catalog_renamed,
        _department_renamed,
        _form_renamed,
        _item_forms,
        _new_category,
        _deleted_category,
        _item_renamed_in_the_admin,
        _category_renamed_built_by_hand,
    )
}
RECOUNTED = {"new_category", "deleted_category", "category_renamed_built_by_hand"}


@pytest.mark.parametrize("change", list(NAMES))
def test_a_name_shows_at_once(
    settings, walk, change, monkeypatch, django_capture_on_commit_callbacks
):
    matrices = counted(monkeypatch, compliance_views, "count_matrix")
    tallies = counted(monkeypatch, compliance, "counts_by_unit", kind=None)
    seen = []
    before = engine_counts(settings, walk)
    found = stale(
        settings,
        lambda: NAMES[change](walk),
        django_capture_on_commit_callbacks,
        probe=lambda: seen.append((len(matrices), len(tallies))),
    )
    assert found == {}, shown(found)
    assert engine_counts(settings, walk) == before
    if change not in RECOUNTED:
        # The engine's counts kept: nothing counted again after the change.
        assert seen[0] == seen[1]
    else:
        assert seen[0] != seen[1]  # the probe sees a recount


def test_a_run_of_days_after_a_rename_and_a_recount(
    settings, walk, django_capture_on_commit_callbacks
):
    """One day of a run read, a rename (counts kept under COUNTED, the
    matrix's names made again under CATALOG), then another day of the run
    and the first again; then a frequency changed, the same."""
    day = f"/compliance/?town=fengming&year={YEAR}&as_of={YEAR}-06-"
    visitor = Client()
    read(visitor, day + "16")
    for change in (_category_renamed, _frequency):
        with django_capture_on_commit_callbacks(execute=True):
            change(walk)
        urls = [day + "17", day + "16", day + "18"]
        kept = {url: read(visitor, url) for url in urls}
        found = harness.stale_among(kept, afresh(settings, urls))
        assert found == {}, shown(found)
    assert "财务公开栏" in kept[day + "17"][1].decode()


def _village_renamed(c):
    loaded(Unit, c["wenli"].pk, name="文理村")


def _village_added(c):
    UnitFactory(name="新建村", slug="xinjian", parent=c["fengming"])


def _village_deleted(c):
    harness._deleted_unit(c)


def _board_deleted(c):
    harness._deleted_board(c)


UNITS = {
    f.__name__.lstrip("_"): f
    for f in (_village_renamed, _village_added, _village_deleted, _board_deleted)
}


@pytest.mark.parametrize("change", list(UNITS))
def test_the_unit_selects_follow_the_units(
    settings, walk, change, django_capture_on_commit_callbacks
):
    """The 回音壁 form's and the statistics' unit select (kept under UNITS
    alone since b0d939a), the matrix's rows and the on-time chart's labels."""
    check(settings, lambda: UNITS[change](walk), django_capture_on_commit_callbacks)
    name = {"village_renamed": "文理村", "village_added": "新建村"}.get(change)
    for url in ("/feedback/new/", "/stats/") if name else ():
        assert f">{name}</option>" in Client().get(url).content.decode()


# Found stale on b0d939a, fixed: `may_change_counts` compared the fields
# kept as loaded with the instance's values; where that memory was not what
# the row held just before the save, a change of what the engine reads went
# in under CATALOG alone. It now reads the row before the save
# (`note_counted_change`).


def test_an_older_instance_saved_over_a_counted_change(
    settings, walk, django_capture_on_commit_callbacks
):
    older = Item.objects.get(pk=walk["item"].pk)

    def change():
        older.name = "旧实例改名"
        older.save()

    found = stale(
        settings,
        change,
        django_capture_on_commit_callbacks,
        first=lambda: loaded(Item, older.pk, frequency=Item.Frequency.QUARTERLY),
    )
    assert Item.objects.get(pk=older.pk).frequency == Item.Frequency.MONTHLY
    assert found == {}, shown(found)


def test_a_save_rolled_back_then_saved_again(
    settings, walk, django_capture_on_commit_callbacks
):
    def change():
        item = Item.objects.get(pk=walk["item"].pk)
        item.frequency = Item.Frequency.QUARTERLY
        try:
            with transaction.atomic():
                item.save()
                raise RuntimeError("a later step failed")
        except RuntimeError:
            pass
        item.name = "重试后改名"
        item.save()  # a retry: the frequency goes in now

    found = stale(settings, change, django_capture_on_commit_callbacks)
    assert Item.objects.get(pk=walk["item"].pk).frequency == Item.Frequency.QUARTERLY
    assert found == {}, shown(found)


def test_a_partial_save_then_a_full_save(
    settings, walk, django_capture_on_commit_callbacks
):
    item = Item.objects.get(pk=walk["item"].pk)

    def first():
        item.frequency = Item.Frequency.QUARTERLY  # not saved yet
        item.name = "先改名"
        item.save(update_fields=["name"])

    found = stale(settings, item.save, django_capture_on_commit_callbacks, first=first)
    assert Item.objects.get(pk=item.pk).frequency == Item.Frequency.QUARTERLY
    assert found == {}, shown(found)


@pytest.mark.parametrize(
    "model, field, before, deferred",
    [
        (Catalog, "adopted_on", date(YEAR, 7, 1), lambda qs: qs.defer("adopted_on")),
        (Item, "notice_days", 5, lambda qs: qs.only("name")),
    ],
    ids=["catalog_adoption_date", "item_notice_period"],
)
def test_a_deferred_counted_field_cleared(
    settings, walk, model, field, before, deferred, django_capture_on_commit_callbacks
):
    pk = walk["category"].catalog_id if model is Catalog else walk["item"].pk

    def change():
        row = deferred(model.objects).get(pk=pk)
        setattr(row, field, None)  # not loaded: remembered as None before
        row.save()

    found = stale(
        settings,
        change,
        django_capture_on_commit_callbacks,
        first=lambda: loaded(model, pk, **{field: before}),
    )
    assert getattr(model.objects.get(pk=pk), field) is None
    assert found == {}, shown(found)


# Older than b0d939a, fixed: no signal, no event, no scope at all; catalog
# rows updated in bulk are now saved row by row (`SavedRowByRow`).


def test_frequency_changed_by_queryset_update(
    settings, walk, django_capture_on_commit_callbacks
):
    def change():
        Item.objects.filter(pk=walk["item"].pk).update(
            frequency=Item.Frequency.QUARTERLY
        )

    check(settings, change, django_capture_on_commit_callbacks)


def test_frequency_changed_by_bulk_update(
    settings, walk, django_capture_on_commit_callbacks
):
    def change():
        item = Item.objects.get(pk=walk["item"].pk)
        item.frequency = Item.Frequency.QUARTERLY
        Item.objects.bulk_update([item], ["frequency"])

    check(settings, change, django_capture_on_commit_callbacks)
