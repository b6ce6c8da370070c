"""Attacks on the names the home page and the list read (43b7fc2, a4ffd2b).

The home page's figures and latest notices (composition.views.home) read
neither UNITS nor NAMES any more (`names_listed`): they follow the home
town's "town:<slug>", which every change of one of its units names, and
the village scopes `read_through` adds; its catalog fragment reads CATALOG
only, its boards UNITS only. The entries that show their unit (the list
/disclosures/ and the home page's latest, `kept_entries(show_unit=True)`)
follow "names:unit:<pk>" of the unit read with the page's keys
(`only("id", "unit_id")`), not NAMES.

Each test reads every page once (its fragments kept), makes a change and
compares each page, made and then read kept, with the page rendered with
nothing kept: the home page of both towns (PORTAL_HOME_UNIT_SLUG, or the
first town by order), the list, filtered to a unit, a kind and a category,
their second pages and a twelfth; for a visitor and a member of 文理村's
branch (and of 上村's, where rows are made 党内 and of a branch).

Tried: a disclosure moved to a village of the other town and its new unit
renamed; units renamed while their entries are on page 2, and on page 12
(past the kept slices, keys read as Django reads them); a village moved
between towns and back, renamed there, made a liaison point, the towns
described; a village made a town and a town made a village; the home town
changed by order, by setting, re-slugged and its slug taken by the other
town; two villages of two towns swapping slugs and names; a village
deleted and another made with its slug in the other town; renames and a
move rolled back after the pages were read inside the transaction, the
moved instance saved again after; a process whose copies of the versions
(or of the units' places) are a moment old; rows made 党内 and of a branch
with their unit renamed, for members; a category moved to another catalog
and renamed. All hold.

Found and fixed, not in the names (stale before these changes too): a
disclosure deleted through an instance whose move was rolled back named
where the instance thought it was (`KeepsLoaded` read the row again before
a save, not before a delete): the town it was in kept its figures and its
latest notices, and the list filtered to its unit kept the count. A
deletion reads the row first now (core.loaded.KeepsLoaded.delete).
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from catalog.models import Category, Item
from disclosure.models import Disclosure, Unit
from disclosure.templatetags import disclosure_tags
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_fragments import logged_in, page
from tests.perf.two_towns import (
    as_a_process_that_has_not_seen,
    as_a_process_that_read_before,
    fresh,
    read_now,
    two_towns,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "values_only"),
]

# Enough older rows of 茅山村 that the oldest rows fall on the lists' page 2.
FILLER = 21


class RolledBack(Exception):
    pass


@pytest.fixture
def t():
    """凤鸣镇 (文理村, 茅山村) and 青山镇 (上村), a 党务 row of each unit
    (the newest), a 党组织内部 one of 文理村's branch, FILLER older rows of
    茅山村 and, oldest, one of each village: those are on page 2."""
    units = two_towns()
    now = timezone.now()
    rows = {}
    for n, name in enumerate(("town", "wenli", "maoshan", "other", "shangcun")):
        unit = units[name]
        rows[name] = DisclosureFactory(
            unit=unit,
            item=units["party"],
            title=f"{unit.name}最新公开",
            published_at=now - timedelta(minutes=n + 1),
        )
    rows["branch"] = DisclosureFactory(
        unit=units["wenli"],
        item=units["branch"],
        title="文理村党支部内部通报",
        published_at=now - timedelta(minutes=30),
    )
    for n in range(FILLER):
        DisclosureFactory(
            unit=units["maoshan"],
            item=units["party"],
            title=f"茅山村公开{n}",
            published_at=now - timedelta(hours=n + 1),
        )
    for n, name in enumerate(("wenli", "maoshan", "shangcun")):
        rows[f"old_{name}"] = DisclosureFactory(
            unit=units[name],
            item=units["party"],
            title=f"{units[name].name}旧公开",
            published_at=now - timedelta(days=n + 2),
        )
    return {
        **units,
        "rows": rows,
        "clients": {
            "visitor": Client(),
            "member_wenli": logged_in(
                PartyMemberFactory(username="member_wenli", branch_of=units["wenli"])
            ),
            "member_shangcun": logged_in(
                PartyMemberFactory(
                    username="member_shangcun", branch_of=units["shangcun"]
                )
            ),
        },
    }


def home(settings, client, town: str | None) -> str:
    """The home page of `town` (PORTAL_HOME_UNIT_SLUG; None: the first town
    by order)."""
    settings.PORTAL_HOME_UNIT_SLUG = town or ""
    return page(client, "/").decode()


def read(settings, client, where) -> str:
    if where.startswith("/"):
        return page(client, where).decode()
    return home(settings, client, where.removeprefix("home:") or None)


READERS = ("visitor", "member_wenli")


def read_all(t, settings, where, who=READERS) -> None:
    for name in who:
        for url in where:
            read(settings, t["clients"][name], url)


def check(t, settings, where, who=READERS) -> dict:
    """Each page of `where`, made and then read kept, is the page read with
    nothing kept, for each reader of `who`; the 党组织内部 title reaches
    文理村's branch only."""
    seen = {}
    for name in who:
        client = t["clients"][name]
        for url in where:
            made = read(settings, client, url)
            kept = read(settings, client, url)
            afresh = nothing_kept(
                settings, lambda c=client, u=url: read(settings, c, u)
            )
            assert made == afresh, (name, url)
            assert kept == afresh, (name, url)
            if name != "member_wenli":
                assert "文理村党支部内部通报" not in kept, (name, url)
            seen[name, url] = kept
    return seen


def saved(changed, model, pk, **fields):
    with changed():
        row = fresh(model, pk)
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
    return row


HOMES = ("home:fengming", "home:qingshan")
PAGE_2 = ("/disclosures/?page=2", "/disclosures/?kind=party&page=2")


def test_a_disclosure_moved_to_another_towns_village_shows_its_new_unit(
    t, settings, changed
):
    where = [*HOMES, *PAGE_2, "/disclosures/?unit=shangcun"]
    read_all(t, settings, where)
    saved(changed, Disclosure, t["rows"]["old_wenli"].pk, unit=t["shangcun"])
    seen = check(t, settings, where)
    assert "文理村旧公开" in seen["visitor", "/disclosures/?unit=shangcun"]
    # Its entry, kept under 文理村's name before, now follows 上村's.
    saved(changed, Unit, t["shangcun"].pk, name="上村社区")
    seen = check(t, settings, where)
    entry = seen["visitor", "/disclosures/?page=2"].split("文理村旧公开")[1]
    assert "上村社区" in entry.split("</li>")[0]
    saved(changed, Disclosure, t["rows"]["shangcun"].pk, unit=t["wenli"])
    seen = check(t, settings, [*HOMES, "/disclosures/"])
    latest = seen["visitor", "home:fengming"].split("上村最新公开")[1]
    assert "文理村" in latest.split("</li>")[0]


def test_units_renamed_while_their_entries_are_on_page_two(t, settings, changed):
    category = t["party"].category_id
    where = [
        "home:fengming",
        *PAGE_2,
        "/disclosures/?unit=maoshan&page=2",
        f"/disclosures/?category={category}&page=2",
    ]
    read_all(t, settings, where)
    saved(changed, Unit, t["maoshan"].pk, name="茅山社区")
    seen = check(t, settings, where)
    assert "茅山社区" in seen["member_wenli", "/disclosures/?kind=party&page=2"]
    # Its town renamed (which names its villages' names too) and the other
    # village renamed in one transaction.
    with changed():
        for pk, name in ((t["town"].pk, "凤鸣街道"), (t["wenli"].pk, "文理社区")):
            row = fresh(Unit, pk)
            row.name = name
            row.save()
    seen = check(t, settings, where)
    assert "文理社区" in seen["visitor", "/disclosures/?page=2"]
    assert "凤鸣街道" in seen["visitor", "home:fengming"]


def test_a_village_moved_between_towns_renamed_there_and_moved_back(
    t, settings, changed
):
    where = [*HOMES, "/disclosures/?unit=maoshan&page=2"]
    read_all(t, settings, where)
    saved(changed, Unit, t["maoshan"].pk, parent=t["other"])
    seen = check(t, settings, where)
    assert "茅山村最新公开" in seen["visitor", "home:qingshan"]
    assert "茅山村最新公开" not in seen["visitor", "home:fengming"]
    # Renamed and made a liaison point in its new town; both towns described.
    saved(changed, Unit, t["maoshan"].pk, name="茅山社区", is_liaison_point=True)
    saved(changed, Unit, t["other"].pk, description="青山镇的介绍。")
    saved(changed, Unit, t["town"].pk, description="凤鸣镇的介绍。")
    seen = check(t, settings, where)
    assert "茅山社区" in seen["member_wenli", "home:qingshan"]
    assert "青山镇的介绍" in seen["visitor", "home:qingshan"]
    saved(changed, Unit, t["maoshan"].pk, parent=t["town"])
    saved(changed, Unit, t["maoshan"].pk, name="茅山村")
    seen = check(t, settings, where)
    assert "茅山村最新公开" in seen["visitor", "home:fengming"]


def test_a_village_made_a_town_and_a_town_made_a_village(t, settings, changed):
    where = [*HOMES, "home:wenli", "/disclosures/?unit=wenli"]
    read_all(t, settings, where)
    saved(changed, Unit, t["wenli"].pk, parent=None, kind=Unit.Kind.TOWN)
    seen = check(t, settings, where)
    assert "文理村党务政务村务公开" in seen["visitor", "home:wenli"]
    saved(changed, Unit, t["wenli"].pk, name="文理镇")
    saved(changed, Unit, t["other"].pk, parent=t["town"], kind=Unit.Kind.VILLAGE)
    seen = check(t, settings, where)
    assert "青山镇最新公开" in seen["visitor", "home:fengming"]
    assert "文理镇党务政务村务公开" in seen["member_wenli", "home:wenli"]


def test_the_home_town_changed_by_order_by_setting_and_by_slug(t, settings, changed):
    where = ["home:", *HOMES]
    read_all(t, settings, where)
    saved(changed, Unit, t["other"].pk, order=0)
    assert "青山镇党务政务村务公开" in check(t, settings, where)["visitor", "home:"]
    with changed():
        TownFactory(name="白云镇", slug="baiyun", order=0)
        other = fresh(Unit, t["other"].pk)
        other.order = 3
        other.save()
    assert "白云镇党务政务村务公开" in check(t, settings, where)["visitor", "home:"]
    # The home town re-slugged, and the other town given its old slug: the
    # setting's home is now the other town.
    where = ["home:fengming", "home:fengming-old"]
    saved(changed, Unit, t["town"].pk, slug="fengming-old")
    saved(changed, Unit, t["other"].pk, slug="fengming")
    seen = check(t, settings, where)
    assert "青山镇党务政务村务公开" in seen["visitor", "home:fengming"]
    saved(changed, Unit, t["shangcun"].pk, name="上村社区")
    saved(changed, Unit, t["wenli"].pk, name="文理社区")
    seen = check(t, settings, where)
    assert "上村社区" in seen["visitor", "home:fengming"]
    assert "文理社区" in seen["visitor", "home:fengming-old"]


def test_two_villages_of_two_towns_swap_slugs_and_names(t, settings, changed):
    where = [*HOMES, "/disclosures/?unit=wenli", "/disclosures/?unit=shangcun"]
    read_all(t, settings, where)
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.slug, wenli.name = "swap-tmp", "swap-tmp"
        wenli.save()
        shangcun = fresh(Unit, t["shangcun"].pk)
        shangcun.slug, shangcun.name = "wenli", "文理村"
        shangcun.save()
        wenli.slug, wenli.name = "shangcun", "上村"
        wenli.save()
    seen = check(t, settings, where)
    # The list filtered to "wenli" now lists the old 上村's rows, under 文理村.
    assert "上村最新公开" in seen["visitor", "/disclosures/?unit=wenli"]
    assert "文理村党支部内部通报" in seen["member_wenli", "/disclosures/?unit=shangcun"]


def test_a_village_deleted_and_another_made_with_its_slug_elsewhere(
    t, settings, changed
):
    with changed():
        added = UnitFactory(
            name="新建村", slug="xinjian", parent=t["town"], is_liaison_point=True
        )
    where = [*HOMES, "/disclosures/"]
    read_all(t, settings, where)
    with changed():
        added = fresh(Unit, added.pk)
        added.organisations.all().delete()
        added.delete()
    check(t, settings, where)
    with changed():
        added = UnitFactory(
            name="新建村", slug="xinjian", parent=t["other"], is_liaison_point=True
        )
        DisclosureFactory(
            unit=added, item=t["party"], title="新建村公开", published_at=timezone.now()
        )
    seen = check(t, settings, where)
    assert "新建村公开" in seen["visitor", "home:qingshan"]


def test_a_rename_rolled_back_after_the_pages_were_read_inside(t, settings, changed):
    where = [*HOMES, *PAGE_2]
    read_all(t, settings, where)
    visitor = t["clients"]["visitor"]
    maoshan = fresh(Unit, t["maoshan"].pk)
    try:
        with changed(), transaction.atomic():
            for pk, name in ((t["wenli"].pk, "文理社区"), (t["town"].pk, "凤鸣街道")):
                row = fresh(Unit, pk)
                row.name = name
                row.save()
            maoshan.parent, maoshan.name = t["other"], "茅山社区"
            maoshan.save()
            row = fresh(Disclosure, t["rows"]["old_maoshan"].pk)
            row.unit = t["shangcun"]
            row.save()
            for url in where:
                read(settings, visitor, url)
                nothing_kept(settings, lambda u=url: read(settings, visitor, u))
            raise RolledBack
    except RolledBack:
        pass
    seen = check(t, settings, where)
    assert "文理社区" not in seen["visitor", "home:fengming"]
    assert "茅山村最新公开" in seen["visitor", "home:fengming"]
    # The instance whose move rolled back saved again (a description): it
    # writes the move and the name it holds, and names where the row was
    # as read again from the database.
    maoshan.description = "茅山的介绍。"
    with changed():
        maoshan.save()
    seen = check(t, settings, where)
    assert "茅山社区" in seen["visitor", "home:qingshan"]
    assert "茅山村最新公开" not in seen["visitor", "home:fengming"]


def test_a_process_whose_copies_are_a_moment_old(t, settings, changed):
    where = [*HOMES, "/disclosures/?page=2"]
    read_all(t, settings, where)
    wenli = t["wenli"]
    # Another process read some of the versions these pages read before
    # the change: what it reads of the others moves its epoch, and drops
    # the copies of before.
    before = read_now([f"names:unit:{wenli.pk}", "units", "names"])
    saved(changed, Unit, wenli.pk, name="文理社区")
    as_a_process_that_read_before(before)
    seen = check(t, settings, where)
    assert "文理社区" in seen["visitor", "/disclosures/?page=2"]
    # A process that has not seen 文理村's move to 青山镇 renames it and
    # publishes there: the unit's change reads where it is from the
    # database, the publication's too.
    saved(changed, Unit, wenli.pk, parent=t["other"])
    as_a_process_that_has_not_seen(wenli.pk, "wenli", "fengming")
    saved(changed, Unit, wenli.pk, name="文理村")
    with changed():
        DisclosureFactory(
            unit=fresh(Unit, wenli.pk),
            item=t["party"],
            title="搬后公开",
            published_at=timezone.now(),
        )
    seen = check(t, settings, where)
    assert "搬后公开" in seen["visitor", "home:qingshan"]


def test_rows_made_inner_party_and_of_a_branch_with_their_unit_renamed(
    t, settings, changed
):
    who = ("visitor", "member_wenli", "member_shangcun")
    where = [*HOMES, "/disclosures/", "/disclosures/?unit=shangcun"]
    read_all(t, settings, where, who)
    with changed():
        item = fresh(Item, t["party"].pk)
        item.scope = t["inner"].scope
        item.save()
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.name = "文理社区"
        wenli.save()
    seen = check(t, settings, where, who)
    assert "文理村最新公开" not in seen["visitor", "home:fengming"]
    assert "文理社区" in seen["member_shangcun", "home:fengming"]
    with changed():
        DisclosureFactory(
            unit=fresh(Unit, t["shangcun"].pk),
            item=t["branch"],
            title="上村党支部内部通报",
            published_at=timezone.now(),
        )
        shangcun = fresh(Unit, t["shangcun"].pk)
        shangcun.name = "上村社区"
        shangcun.save()
    seen = check(t, settings, where, who)
    assert "上村党支部内部通报" in seen["member_shangcun", "/disclosures/"]
    assert "上村党支部内部通报" not in seen["member_wenli", "home:qingshan"]


def test_a_category_moved_to_another_catalog_and_renamed(t, settings, changed):
    category = t["party"].category_id
    where = [*HOMES, "/disclosures/?kind=party", f"/disclosures/?category={category}"]
    read_all(t, settings, where)
    party_catalog = t["party"].category.catalog_id
    village_catalog = t["village"].category.catalog_id
    saved(
        changed, Category, category, catalog_id=village_catalog, name="移到村务的类别"
    )
    seen = check(t, settings, where)
    assert "移到村务的类别" not in seen["visitor", "home:fengming"]
    with changed():
        added = CategoryFactory(catalog_id=village_catalog, name="新党务类别")
    # Moved to the party catalog, and the first one back.
    saved(changed, Category, added.pk, catalog_id=party_catalog)
    saved(changed, Category, category, catalog_id=party_catalog)
    assert "新党务类别" in check(t, settings, where)["visitor", "home:qingshan"]


def test_units_renamed_while_their_entries_are_past_the_kept_slices(
    t, settings, changed, monkeypatch
):
    """Page 12 (offset 220): past MAX_KEPT_OFFSET the page's keys are read
    as Django reads them, `only("id", "unit_id")` all the same: each entry
    follows its unit's name, not NAMES."""
    followed = []
    real = disclosure_tags._entry_scopes

    def spy(disclosure, show_unit):
        followed.extend(scopes := real(disclosure, show_unit))
        return scopes

    monkeypatch.setattr(disclosure_tags, "_entry_scopes", spy)
    now = timezone.now()

    def copy(n):
        row = fresh(Disclosure, t["rows"]["town"].pk)
        row.pk, row.title = None, f"凤鸣镇公开{n}"
        row.published_at = now - timedelta(hours=22, minutes=n)
        return row

    # Without saves: the rows are there before any page is read.
    Disclosure.objects.bulk_create(copy(n) for n in range(200))
    where = ["/disclosures/?page=12", "/disclosures/?kind=party&page=12"]
    read_all(t, settings, where)
    assert "上村旧公开" in read(settings, t["clients"]["visitor"], where[0])
    with changed():
        for pk, name in ((t["shangcun"].pk, "上村社区"), (t["wenli"].pk, "文理社区")):
            row = fresh(Unit, pk)
            row.name = name
            row.save()
    seen = check(t, settings, where)
    assert "上村社区" in seen["visitor", where[0]]
    assert "文理社区" in seen["member_wenli", where[1]]
    assert f"names:unit:{t['shangcun'].pk}" in followed
    assert "names" not in followed


def test_a_disclosure_deleted_through_an_instance_whose_move_rolled_back(
    t, settings, changed
):
    where = [*HOMES, "/disclosures/?unit=shangcun"]
    read_all(t, settings, where)
    stale = fresh(Disclosure, t["rows"]["shangcun"].pk)
    try:
        with changed(), transaction.atomic():
            stale.unit = t["wenli"]
            stale.save()
            raise RolledBack
    except RolledBack:
        pass
    assert fresh(Disclosure, stale.pk).unit_id == t["shangcun"].pk
    with changed():
        stale.delete()
    seen = check(t, settings, where)
    assert "上村最新公开" not in seen["visitor", "home:qingshan"]
