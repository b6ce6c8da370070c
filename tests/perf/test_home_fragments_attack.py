"""Attacks on the home page made of four kept fragments (composition.views
`home`: the figures, the latest notices per `Reader.key`, the party
catalog, the boards; core/fragments.py `kept_many`) and on the 回音壁
figures received kept per unit under "cases-unit:<slug>"
(`received_figures`, the liaison flags read with the page).

Each test makes a change, then reads / as each kind of reader (a visitor,
a member of 文理村's branch, of 茅山村's, of no branch, the administrator)
twice (the fragments made, then read kept) and compares the bytes with the
same page read with nothing kept; and checks that a 党内 / 党组织内部 title
reaches only those who may read it.

Held (plain tests): a category renamed, added, deleted, moved to another
catalog and back; an item added, renamed, deleted; the party catalog's
document and kind (a second party catalog cannot exist: the kind is
unique); a village added, renamed, re-slugged, reordered, deleted, made a
town, moved to another town and back, made and unmade a liaison point
with cases; two villages swapping slugs; a slug changed and back with a
case between; the town renamed, described, re-slugged; the home unit
setting and a new first town; cases moved, hidden, deleted, in another
town; a case on the year's last minute and the next, a publication
scheduled for the new year's first minute; publications of each scope, a
withdrawal, a scheduled publication coming due, a 先党内后党外 row reaching
the public (and put off, then brought forward); past midnight; an item
made 党内 then 党组织内部; a 党组织内部 row moved to another unit; a history
revert; a member moved to another branch; another process
(`reset_local`); the page cache with hits; members read first.

Found and fixed, regressions of 5f93398:
- the counts received, kept per unit under "cases-unit:<slug>", were named
  by a new case from this process's copy of the slugs: after another
  process's new slug, stale for up to PART_SECONDS (kept for the town
  under its cases' scopes again, which the case names right);
- kept values read apart from the fragment's scopes: a process whose copy
  of "cases-unit:" (or a village's "unit:", read by the fragments' kept
  lifetime) is a moment older than its "cases-town:" kept the old counts
  (or "nothing scheduled", hiding a scheduled publication until midnight)
  in a fragment under the new versions. The fragments now depend on every
  scope their kept values read (composition.views.home).
Found and fixed, not new: `home-published` under GROUPED and the town
under UNITS, kept apart from the fragment's scopes (the same fix).
A new case after another process's move within the second names the
village's old town (feedback.summary.on_new_case reads the process's copy):
the new town's figures, which depend on its villages' "cases-unit:" too
(disclosure.page_scopes.read_through), count it. The same class on the
statistics and the matrix of a town: their kept values are added up from
values kept per village, and depend on the villages' scopes (fixed).
Left (a strict xfail, not new, by design): a new case after another
process's new slug within the second names the old slug: the cumulative
回音壁 figure, added up from values kept under each unit's "cases-unit:",
misses it.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from catalog.models import Catalog, Category, Item, Scope
from core import caching
from disclosure import page_scopes
from disclosure import services as disclosure_services
from disclosure.models import Disclosure, Unit
from feedback import services
from feedback.models import Kind, Submission
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.two_towns import (
    as_a_process_that_has_not_seen,
    as_a_process_that_read_before,
    at,
    fresh,
    logged_in,
    read_now,
    readers,
    two_towns,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

INNER = "文理村党内通报"
BRANCH_WENLI = "文理村党支部内部通报"
BRANCH_MAOSHAN = "茅山村党支部内部通报"


@pytest.fixture
def t():
    """凤鸣镇 (文理村, a liaison point; 茅山村) and 青山镇 (上村); a 党务 item,
    a 村务 one, a 党内 one and 党组织内部 ones; cases of each kind."""
    now = timezone.now()
    year = timezone.localdate().year
    units = two_towns(liaison_points=True)
    town, wenli, maoshan = units["town"], units["wenli"], units["maoshan"]
    other, shangcun = units["other"], units["shangcun"]
    party, village = units["party"], units["village"]
    inner, branch = units["inner"], units["branch"]
    rows = {}
    for unit in (town, wenli, maoshan, other, shangcun):
        for n, item in enumerate((party, village)):
            rows[unit.slug, item.code] = DisclosureFactory(
                unit=unit,
                item=item,
                period=f"{year}-01",
                published_at=now - timedelta(hours=n + 2),
                title=f"{unit.name}{item.code}",
            )
    rows["inner"] = DisclosureFactory(
        unit=wenli, item=inner, title=INNER, published_at=now - timedelta(hours=1)
    )
    rows["branch_wenli"] = DisclosureFactory(
        unit=wenli,
        item=branch,
        title=BRANCH_WENLI,
        published_at=now - timedelta(hours=1),
    )
    rows["branch_maoshan"] = DisclosureFactory(
        unit=maoshan,
        item=branch,
        title=BRANCH_MAOSHAN,
        published_at=now - timedelta(hours=1),
    )
    staff = UserFactory(username="case_staff", is_staff=True)
    department = DepartmentFactory()
    cases = {}
    for unit in (wenli, maoshan, shangcun):
        for kind in (Kind.REPORT, Kind.QUESTION, Kind.SUGGESTION):
            cases[unit.slug, kind] = SubmissionFactory(
                unit=unit, kind=kind, title=f"{unit.name}的{kind}"
            )
    services.answer(
        cases["wenli", Kind.QUESTION], by=staff, department=department, text="已答复"
    )
    return {
        "now": now,
        "year": year,
        "town": town,
        "wenli": wenli,
        "maoshan": maoshan,
        "other": other,
        "shangcun": shangcun,
        "party": party,
        "village": village,
        "inner": inner,
        "branch": branch,
        "rows": rows,
        "staff": staff,
        "department": department,
        "cases": cases,
    }


def home(client) -> str:
    """The home page, but the CSRF token (a new mask each render)."""
    response = client.get("/")
    assert response.status_code == 200
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "TOKEN", response.text)


# Who may read each restricted title.
MAY_READ = {
    INNER: {"member_wenli", "member_maoshan", "member_none", "admin"},
    BRANCH_WENLI: {"member_wenli", "admin"},
    BRANCH_MAOSHAN: {"member_maoshan", "admin"},
}


def read_all(who) -> None:
    for client, _user in who.values():
        home(client)


def check(who, settings) -> dict[str, str]:
    """Each reader's page, made and then read kept, is the page read with
    nothing kept; no restricted title reaches another audience."""
    pages = {}
    for name, (client, _user) in who.items():
        made = home(client)
        kept = home(client)
        fresh = nothing_kept(settings, lambda c=client: home(c))
        assert made == fresh, name
        assert kept == fresh, name
        for title, readers_of in MAY_READ.items():
            if name not in readers_of:
                assert title not in kept, (name, title)
        pages[name] = kept
    return pages


def boxes(page: str) -> dict[str, str]:
    """Every figure box of the page (id -> number)."""
    return dict(re.findall(r'id="figure-([a-z-]+)"><dt>[^<]*</dt><dd>(\d+)</dd>', page))


def figure(page: str, box: str) -> str:
    found = re.search(rf'id="figure-{box}"><dt>[^<]*</dt><dd>(\d+)</dd>', page)
    assert found, box
    return found.group(1)


# The page as it is.


def test_each_reader_reads_its_own_home_page(t, settings):
    who = readers(t)
    read_all(who)
    pages = check(who, settings)
    assert BRANCH_WENLI in pages["member_wenli"]
    assert INNER in pages["member_none"]
    # 文理村 is a liaison point: its 反映 and 咨询; every kind of the town's.
    assert figure(pages["visitor"], "liaison-feedback") == "2"
    assert figure(pages["visitor"], "feedback-year") == "6"


def test_members_read_first_leave_the_visitor_nothing(t, settings):
    who = readers(t)
    for name in ("admin", "member_wenli", "member_maoshan", "member_none"):
        home(who[name][0])
    check(who, settings)


# The catalog fragment.


def test_a_category_renamed_added_deleted_and_moved(t, settings, changed):
    who = readers(t)
    read_all(who)
    category = t["party"].category
    with changed():
        category = fresh(Category, category.pk)
        category.name = "改名的党务类别"
        category.save()
    assert "改名的党务类别" in check(who, settings)["visitor"]
    with changed():
        added = CategoryFactory(catalog=category.catalog, name="新增党务类别")
    assert "新增党务类别" in check(who, settings)["visitor"]
    with changed():
        fresh(Category, added.pk).delete()
    assert "新增党务类别" not in check(who, settings)["visitor"]
    with changed():
        moved = CategoryFactory(catalog=category.catalog, name="将移走的类别")
    read_all(who)
    with changed():
        moved = fresh(Category, moved.pk)
        moved.catalog = t["village"].category.catalog
        moved.save()
    assert "将移走的类别" not in check(who, settings)["visitor"]
    with changed():
        moved = fresh(Category, moved.pk)
        moved.order = 0
        moved.catalog = category.catalog
        moved.save()
    check(who, settings)


def test_an_item_added_and_deleted(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        item = ItemFactory(category=fresh(Category, t["party"].category_id))
    check(who, settings)
    with changed():
        fresh(Item, item.pk).delete()
    check(who, settings)
    with changed():
        Item.objects.filter(pk=t["inner"].pk).update(name="改名但未通知")
        item = fresh(Item, t["party"].pk)
        item.name = "改名的事项"
        item.save()
    check(who, settings)


def test_the_party_catalogs_document_and_kind(t, settings, changed):
    """The kind is unique: a second party catalog cannot be made."""
    who = readers(t)
    read_all(who)
    party = t["party"].category.catalog
    with changed():
        party = fresh(Catalog, party.pk)
        party.document = "组发〔2019〕1号"
        party.save()
    assert "组发〔2019〕1号" in check(who, settings)["visitor"]
    with changed():
        party = fresh(Catalog, party.pk)
        party.kind = Catalog.Kind.GOVERNMENT
        party.save()
    assert "catalog-heading" not in check(who, settings)["visitor"]
    with changed():
        village = fresh(Catalog, t["village"].category.catalog_id)
        village.kind = Catalog.Kind.PARTY
        village.save()
    assert "catalog-heading" in check(who, settings)["visitor"]


# The boards fragment and the figures' units.


def test_a_village_added_renamed_reslugged_reordered_and_deleted(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        added = UnitFactory(name="新建村", slug="xinjian", parent=t["town"], order=0)
    assert "新建村" in check(who, settings)["visitor"]
    with changed():
        added = fresh(Unit, added.pk)
        added.name = "改名村"
        added.save()
    assert "改名村" in check(who, settings)["visitor"]
    with changed():
        added = fresh(Unit, added.pk)
        added.slug = "gaiming"
        added.save()
    assert "/boards/gaiming/" in check(who, settings)["visitor"]
    with changed():
        added = fresh(Unit, added.pk)
        added.order = 9
        added.save()
    check(who, settings)
    with changed():
        added = fresh(Unit, added.pk)
        added.organisations.all().delete()
        added.delete()
    assert "改名村" not in check(who, settings)["visitor"]


def test_liaison_points_made_and_unmade_with_cases(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        SubmissionFactory(unit=t["maoshan"], kind=Kind.REPORT, title="茅山村反映")
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "2"
    with changed():
        maoshan = fresh(Unit, t["maoshan"].pk)
        maoshan.is_liaison_point = True
        maoshan.save()
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "5"
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.is_liaison_point = False
        wenli.save()
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "3"
    with changed():
        SubmissionFactory(unit=t["wenli"], kind=Kind.QUESTION, title="文理村咨询")
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "3"
    assert figure(pages["visitor"], "feedback-year") == "8"


def test_a_village_moved_to_another_town_and_back(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.parent = t["other"]
        wenli.save()
    pages = check(who, settings)
    assert "文理村" not in pages["visitor"].split("boards-heading")[1]
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.parent = t["town"]
        wenli.save()
    check(who, settings)


def test_the_town_renamed_described_and_reslugged(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        town = fresh(Unit, t["town"].pk)
        town.name = "凤鸣新镇"
        town.description = "新的镇介绍。"
        town.save()
    pages = check(who, settings)
    assert "新的镇介绍" in pages["visitor"]
    with changed():
        town = fresh(Unit, t["town"].pk)
        town.slug = "fengming-new"
        town.save()
    assert "/boards/fengming-new/" in check(who, settings)["visitor"]
    with changed():
        DisclosureFactory(unit=t["wenli"], item=t["party"], title="改名后的公开")
        SubmissionFactory(unit=t["wenli"], kind=Kind.REPORT)
    assert "改名后的公开" in check(who, settings)["visitor"]


def test_the_home_unit_setting_and_a_new_first_town(t, settings, changed):
    who = readers(t)
    read_all(who)
    settings.PORTAL_HOME_UNIT_SLUG = "qingshan"
    assert "青山镇" in check(who, settings)["visitor"]
    settings.PORTAL_HOME_UNIT_SLUG = ""
    check(who, settings)
    with changed():
        TownFactory(name="白云镇", slug="baiyun", order=0)
    assert "白云镇" in check(who, settings)["visitor"]


def test_two_villages_swap_slugs_with_cases(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.slug = "swap-tmp"
        wenli.save()
        maoshan = fresh(Unit, t["maoshan"].pk)
        maoshan.slug = "wenli"
        maoshan.save()
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.slug = "maoshan"
        wenli.save()
    check(who, settings)
    with changed():
        SubmissionFactory(unit=t["wenli"], kind=Kind.REPORT)
    check(who, settings)


def test_a_village_reslugged_and_back_with_a_case_between(t, settings, changed):
    """The counts kept under "cases-unit:wenli" must not come back after
    the slug did (a case received while it was another)."""
    who = readers(t)
    read_all(who)
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.slug = "wenli2"
        wenli.save()
    read_all(who)
    with changed():
        SubmissionFactory(unit=t["wenli"], kind=Kind.REPORT)
    read_all(who)
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.slug = "wenli"
        wenli.save()
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "3"


# Cases.


def test_cases_moved_hidden_and_deleted(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        case = fresh(Submission, t["cases"]["maoshan", Kind.REPORT].pk)
        case.unit = t["wenli"]
        case.save()
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "3"
    with changed():
        case = fresh(Submission, t["cases"]["wenli", Kind.REPORT].pk)
        case.unit = t["shangcun"]
        case.save()
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "2"
    with changed():
        services.hide(
            fresh(Submission, t["cases"]["maoshan", Kind.QUESTION].pk),
            by=t["staff"],
            reason="广告",
        )
    check(who, settings)
    with changed():
        fresh(Submission, t["cases"]["wenli", Kind.SUGGESTION].pk).delete()
    pages = check(who, settings)
    assert figure(pages["visitor"], "feedback-year") == "3"


def test_a_case_received_on_the_years_last_minute_and_the_next(t, settings, changed):
    year = t["year"]
    eve = at(year, 12, 31, 23, 58)
    with time_machine.travel(eve, tick=False):
        who = readers(t)
        read_all(who)
        with changed():
            SubmissionFactory(
                unit=t["wenli"],
                kind=Kind.REPORT,
                received_at=at(year, 12, 31, 23, 59),
            )
        pages = check(who, settings)
        assert figure(pages["visitor"], "liaison-feedback") == "3"
    with time_machine.travel(at(year + 1, 1, 1, 0, 1), tick=False):
        with changed():
            SubmissionFactory(
                unit=t["wenli"], kind=Kind.REPORT, received_at=at(year + 1, 1, 1, 0, 0)
            )
        pages = check(who, settings)
        # The figures' year is the latest with publications: still `year`.
        assert figure(pages["visitor"], "liaison-feedback") == "3"
        with changed():
            DisclosureFactory(
                unit=t["wenli"],
                item=t["party"],
                published_at=at(year + 1, 1, 1, 0, 0),
                title="新年第一条",
            )
        pages = check(who, settings)
        assert figure(pages["visitor"], "liaison-feedback") == "1"


def test_a_case_received_at_another_unit_of_another_town(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        SubmissionFactory(unit=t["shangcun"], kind=Kind.REPORT)
    check(who, settings)


# Publications.


def test_a_publication_of_each_scope_and_a_withdrawal(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        for unit, item, title in (
            (t["maoshan"], t["branch"], "茅山村新支部通报"),
            (t["wenli"], t["inner"], "文理村新党内通报"),
        ):
            DisclosureFactory(
                unit=unit, item=item, title=title, published_at=timezone.now()
            )
    pages = check(who, settings)
    assert "茅山村新支部通报" not in pages["member_wenli"]
    assert "茅山村新支部通报" in pages["member_maoshan"]
    with changed():
        disclosure_services.withdraw(
            fresh(Disclosure, t["rows"]["inner"].pk), by=who["admin"][1], reason="有误"
        )
    pages = check(who, settings)
    assert INNER not in pages["member_none"]


def test_a_scheduled_publication_comes_due(t, settings, changed):
    who = readers(t)
    at = timezone.localtime(t["now"]).replace(hour=10, minute=0)
    with time_machine.travel(at, tick=False):
        with changed():
            for item, title in (
                (t["party"], "十点半党务"),
                (t["branch"], "十点半支部"),
            ):
                DisclosureFactory(
                    unit=t["maoshan"],
                    item=item,
                    title=title,
                    published_at=at + timedelta(minutes=30),
                )
        read_all(who)
        pages = check(who, settings)
        assert "十点半党务" not in pages["visitor"]
    with time_machine.travel(at + timedelta(minutes=31), tick=False):
        pages = check(who, settings)
        assert "十点半党务" in pages["visitor"]
        assert "十点半支部" in pages["member_maoshan"]


def test_a_party_first_row_reaches_the_public(t, settings, changed):
    who = readers(t)
    at = timezone.localtime(t["now"]).replace(hour=10, minute=0)
    with time_machine.travel(at, tick=False):
        with changed():
            DisclosureFactory(
                unit=t["maoshan"],
                item=t["party"],
                title="先党内后党外的公开",
                published_at=at - timedelta(hours=1),
                public_from=at + timedelta(minutes=20),
            )
        read_all(who)
        pages = check(who, settings)
        assert "先党内后党外的公开" not in pages["visitor"]
        assert "先党内后党外的公开" in pages["member_none"]
    with time_machine.travel(at + timedelta(minutes=21), tick=False):
        pages = check(who, settings)
        assert "先党内后党外的公开" in pages["visitor"]


def test_a_disclosure_moved_back_by_a_history_revert(t, settings, changed):
    who = readers(t)
    read_all(who)
    pk = t["rows"]["wenli", "A01"].pk
    with changed():
        row = fresh(Disclosure, pk)
        row.unit = t["shangcun"]
        row.title = "移走的公开"
        row.save()
    check(who, settings)
    with changed():
        fresh(Disclosure, pk).history.earliest().instance.save()
    assert "文理村A01" in check(who, settings)["visitor"]


# Processes, the page cache.


def test_another_process_reads_the_shared_copies(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.is_liaison_point = False
        wenli.save()
        SubmissionFactory(unit=t["maoshan"], kind=Kind.REPORT)
    caching.reset_local()
    read_all(who)
    caching.reset_local()
    check(who, settings)
    with changed():
        DisclosureFactory(unit=t["wenli"], item=t["branch"], title="另一进程的支部通报")
    caching.reset_local()
    pages = check(who, settings)
    assert "另一进程的支部通报" not in pages["member_maoshan"]


def test_a_membership_changed(t, settings, changed):
    from disclosure.models import PartyMembership

    who = readers(t)
    read_all(who)
    user = who["member_wenli"][1]
    with changed():
        PartyMembership.objects.filter(user=user).update(
            branch=t["maoshan"].organisations.branches().get()
        )
        membership = PartyMembership.objects.get(user=user)
        membership.save()
    who["member_wenli"] = (logged_in(user), user)
    pages = check({k: v for k, v in who.items() if k != "member_wenli"}, settings)
    assert BRANCH_MAOSHAN in home(who["member_wenli"][0])
    assert BRANCH_WENLI not in home(who["member_wenli"][0])
    assert pages


@pytest.mark.usefixtures("page_cache", "away_from_midnight")
def test_with_the_page_cache(t, settings, changed):
    who = readers(t)
    read_all(who)
    read_all(who)
    for change in (
        lambda: SubmissionFactory(unit=t["maoshan"], kind=Kind.REPORT),
        lambda: Unit.objects.filter(pk=t["maoshan"].pk).get().save(),
        lambda: DisclosureFactory(unit=t["wenli"], item=t["branch"], title="新支部"),
        lambda: CategoryFactory(
            catalog=t["party"].category.catalog, name="页缓存新类别"
        ),
        lambda: UnitFactory(name="页缓存新村", slug="yehuan", parent=t["town"]),
        lambda: TownFactory(name="白云镇", slug="baiyun", order=0),
    ):
        with changed():
            change()
        check(who, settings)


@pytest.mark.usefixtures("page_cache", "away_from_midnight")
def test_with_the_page_cache_a_liaison_point_unmade(t, settings, changed):
    who = readers(t)
    read_all(who)
    read_all(who)
    with changed():
        wenli = fresh(Unit, t["wenli"].pk)
        wenli.is_liaison_point = False
        wenli.save()
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "0"


# Items made narrower, branches, kinds.


def test_an_item_made_inner_party_then_branch_only(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        item = fresh(Item, t["party"].pk)
        item.scope = Scope.INNER_PARTY
        item.save()
    pages = check(who, settings)
    assert "文理村A01" not in pages["visitor"]
    assert "文理村A01" in pages["member_maoshan"]
    with changed():
        item = fresh(Item, t["party"].pk)
        item.scope = Scope.BRANCH
        item.save()
    pages = check(who, settings)
    assert "文理村A01" in pages["member_wenli"]
    assert "文理村A01" not in pages["member_maoshan"]


def test_a_branch_row_moved_to_another_unit(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        row = fresh(Disclosure, t["rows"]["branch_wenli"].pk)
        row.unit = t["maoshan"]
        row.branch = t["maoshan"].organisations.branches().get()
        row.title = "移到茅山村的支部通报"
        row.save()
    pages = check(who, settings)
    assert "移到茅山村的支部通报" in pages["member_maoshan"]
    assert "移到茅山村的支部通报" not in pages["member_wenli"]


def test_a_village_made_a_town(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        maoshan = fresh(Unit, t["maoshan"].pk)
        maoshan.kind = Unit.Kind.TOWN
        maoshan.parent = None
        maoshan.order = 5
        maoshan.save()
    check(who, settings)


def test_a_party_first_row_put_off_then_brought_forward(t, settings, changed):
    who = readers(t)
    at = timezone.localtime(t["now"]).replace(hour=10, minute=0)
    with time_machine.travel(at, tick=False):
        with changed():
            row = DisclosureFactory(
                unit=t["wenli"],
                item=t["party"],
                title="推迟后提前的公开",
                published_at=at - timedelta(hours=1),
                public_from=at + timedelta(days=2),
            )
        read_all(who)
        with changed():
            row = fresh(Disclosure, row.pk)
            row.public_from = at + timedelta(minutes=5)
            row.save()
        read_all(who)
    with time_machine.travel(at + timedelta(minutes=6), tick=False):
        assert "推迟后提前的公开" in check(who, settings)["visitor"]


def test_past_midnight(t, settings, changed):
    who = readers(t)
    at = timezone.localtime(t["now"]).replace(hour=23, minute=59)
    with time_machine.travel(at, tick=False):
        with changed():
            SubmissionFactory(unit=t["wenli"], kind=Kind.QUESTION, title="午夜前咨询")
        read_all(who)
    with time_machine.travel(at + timedelta(minutes=2), tick=False):
        check(who, settings)


def _a_new_case_by_a_process_that_has_not_seen_a_new_slug(t, settings, changed):
    """Another process gives 文理村 a new slug. This process, still holding
    "wenli", receives a case there: it names "cases-unit:wenli" and
    "cases-town:fengming". The home page's figures, kept, and read with
    nothing kept."""
    who = {"visitor": readers(t)["visitor"]}
    with changed():
        unit = fresh(Unit, t["wenli"].pk)
        unit.slug = "xinwenli"
        unit.save()  # another process
    read_all(who)
    as_a_process_that_has_not_seen(t["wenli"].pk, "wenli", "fengming")
    with changed():
        SubmissionFactory(unit=t["wenli"], kind=Kind.REPORT, title="新反映")
    page_scopes.forget_slugs()  # a second later: this process sees the slug
    visitor = who["visitor"][0]
    kept = boxes(home(visitor))
    return kept, boxes(nothing_kept(settings, lambda: home(visitor)))


def test_a_new_case_by_a_process_that_has_not_seen_a_new_slug(t, settings, changed):
    """The year's figures received are kept under the town's cases' scopes,
    which the case names right (a regression of 5f93398, fixed: they were
    kept per unit, under "cases-unit:xinwenli", which nothing moved)."""
    kept, fresh_boxes = _a_new_case_by_a_process_that_has_not_seen_a_new_slug(
        t, settings, changed
    )
    for box in ("liaison-feedback", "feedback-year"):
        assert kept[box] == fresh_boxes[box], box


def test_the_cumulative_figure_after_a_new_case_of_a_process_behind_a_new_slug(
    t, settings, changed
):
    """Was a strict xfail until 2026-12-07: the cumulative 回音壁累计收到 figure
    added up each unit's counts kept under "cases-unit:<slug>", and a new case
    named its unit's scope from this process's copy of the slugs. Each unit's
    counts are now kept by unit id in its rows (feedback.kept_counts), raised
    by the case's own transaction: no slug involved."""
    kept, fresh_boxes = _a_new_case_by_a_process_that_has_not_seen_a_new_slug(
        t, settings, changed
    )
    assert kept == fresh_boxes


def test_a_case_moved_by_a_process_that_has_not_seen_a_new_slug(t, settings, changed):
    """A change of a case there was reads its units fresh (fresh=True)."""
    who = {"visitor": readers(t)["visitor"]}
    with changed():
        unit = fresh(Unit, t["wenli"].pk)
        unit.slug = "xinwenli"
        unit.save()  # another process
    read_all(who)
    as_a_process_that_has_not_seen(t["wenli"].pk, "wenli", "fengming")
    with changed():
        case = fresh(Submission, t["cases"]["maoshan", Kind.REPORT].pk)
        case.unit = t["wenli"]
        case.save()
    page_scopes.forget_slugs()
    pages = check(who, settings)
    assert figure(pages["visitor"], "liaison-feedback") == "3"


def test_a_new_case_by_a_process_that_has_not_seen_a_move(t, settings, changed):
    """Another process moves 上村 (a liaison point) into 凤鸣镇; this process,
    still holding it under 青山镇, receives a case there: it names
    "cases-unit:shangcun" (right) and "cases-town:qingshan" (the old town)."""
    who = {"visitor": readers(t)["visitor"]}
    with changed():
        unit = fresh(Unit, t["shangcun"].pk)
        unit.parent = t["town"]
        unit.save()  # another process
    read_all(who)
    as_a_process_that_has_not_seen(t["shangcun"].pk, "shangcun", "qingshan")
    with changed():
        SubmissionFactory(unit=t["shangcun"], kind=Kind.REPORT, title="新反映")
    page_scopes.forget_slugs()  # a second later: this process sees the move
    visitor = who["visitor"][0]
    kept = boxes(home(visitor))
    assert kept == boxes(nothing_kept(settings, lambda: home(visitor)))


def test_a_publication_scheduled_for_the_new_years_first_minute(t, settings, changed):
    """The figures' year moves with no save: a new year of figures (and of
    the counts received, per unit and year)."""
    year = t["year"]
    with time_machine.travel(at(year, 12, 31, 23, 58), tick=False):
        who = readers(t)
        with changed():
            DisclosureFactory(
                unit=t["wenli"],
                item=t["party"],
                title="新年零点一分",
                published_at=at(year + 1, 1, 1, 0, 1),
            )
            SubmissionFactory(
                unit=t["wenli"], kind=Kind.REPORT, received_at=at(year, 12, 31, 23, 57)
            )
        read_all(who)
        pages = check(who, settings)
        assert figure(pages["visitor"], "liaison-feedback") == "3"
    with time_machine.travel(at(year + 1, 1, 1, 0, 2), tick=False):
        pages = check(who, settings)
        assert "新年零点一分" in pages["visitor"]
        assert figure(pages["visitor"], "liaison-feedback") == "0"


@pytest.mark.usefixtures("page_cache")
def test_with_the_page_cache_a_scheduled_publication_and_party_first_row(
    t, settings, changed
):
    who = readers(t)
    at = timezone.localtime(t["now"]).replace(hour=10, minute=0)
    with time_machine.travel(at, tick=False):
        with changed():
            DisclosureFactory(
                unit=t["maoshan"],
                item=t["branch"],
                title="页缓存定时支部",
                published_at=at + timedelta(minutes=10),
            )
            DisclosureFactory(
                unit=t["wenli"],
                item=t["party"],
                title="页缓存先党内",
                published_at=at - timedelta(hours=1),
                public_from=at + timedelta(minutes=20),
            )
        read_all(who)
        read_all(who)
        check(who, settings)
    with time_machine.travel(at + timedelta(minutes=11), tick=False):
        pages = check(who, settings)
        assert "页缓存定时支部" in pages["member_maoshan"]
        assert "页缓存先党内" not in pages["visitor"]
    with time_machine.travel(at + timedelta(minutes=21), tick=False):
        assert "页缓存先党内" in check(who, settings)["visitor"]


def _case_read_by_a_process_a_moment_old(t, settings, changed) -> None:
    who = {"visitor": readers(t)["visitor"]}
    read_all(who)
    old = read_now(["cases-unit:wenli"])
    with changed():
        SubmissionFactory(unit=t["wenli"], kind=Kind.REPORT, title="新反映")
    as_a_process_that_read_before(old)
    read_all(who)
    caching.reset_local()  # a second later, or yet another process
    visitor = who["visitor"][0]
    kept = boxes(home(visitor))
    assert kept == boxes(nothing_kept(settings, lambda: home(visitor)))


def test_a_process_whose_unit_case_version_is_a_moment_old(t, settings, changed):
    """Another process read "cases-unit:wenli" half a second before a case
    came in there, and the town's scopes not since (its copies of them a
    second old: read again). Its next home page misses the figures fragment
    (the town's "cases-town:" moved), makes it from 文理村's counts kept
    under the old "cases-unit:wenli" (its copy, right for a second) and
    keeps it under the town's new versions: stale for a day, not a second."""
    _case_read_by_a_process_a_moment_old(t, settings, changed)


def test_a_process_whose_grouped_catalog_version_is_a_moment_old(t, settings, changed):
    """The same with the figures published (`home-published`, kept under
    GROUPED, which the fragment does not read): a category moved to the
    村务 catalog a moment after another process read GROUPED."""
    from catalog.page_scopes import GROUPED

    who = {"visitor": readers(t)["visitor"]}
    read_all(who)
    old = read_now([GROUPED])
    with changed():
        category = fresh(Category, t["party"].category_id)
        category.catalog = t["village"].category.catalog
        category.save()
    as_a_process_that_read_before(old)
    read_all(who)
    caching.reset_local()
    visitor = who["visitor"][0]
    kept = boxes(home(visitor))
    assert kept == boxes(nothing_kept(settings, lambda: home(visitor)))


def test_a_process_whose_village_version_is_a_moment_old_schedules_nothing(
    t, settings, changed
):
    """The fragments' lifetime from the kept next scheduled publication
    (`compliance.next_scheduled`, kept under each unit's "unit:<slug>",
    which the fragments do not read): another process read "unit:maoshan"
    a moment before a publication was scheduled there. Its next home page
    misses the fragments (the town's "town:" moved), and keeps them until
    midnight from the kept "nothing scheduled": the publication, once due,
    is missing from the latest notices."""
    at = timezone.localtime(t["now"]).replace(hour=10, minute=0)
    with time_machine.travel(at, tick=False):
        who = {"visitor": readers(t)["visitor"]}
        read_all(who)
        old = read_now(["unit:maoshan"])
        with changed():
            DisclosureFactory(
                unit=t["maoshan"],
                item=t["party"],
                title="十点十分的公开",
                published_at=at + timedelta(minutes=10),
            )
        as_a_process_that_read_before(old)
        read_all(who)
    caching.reset_local()  # a second later, or yet another process
    with time_machine.travel(at + timedelta(minutes=11), tick=False):
        visitor = who["visitor"][0]
        kept = home(visitor)
        assert "十点十分的公开" in nothing_kept(settings, lambda: home(visitor))
        assert "十点十分的公开" in kept


def test_a_process_whose_units_version_is_a_moment_old(t, settings, changed):
    who = {"visitor": readers(t)["visitor"]}
    read_all(who)
    old = read_now([page_scopes.UNITS])
    with changed():
        town = fresh(Unit, t["town"].pk)
        town.description = "镇的新介绍。"
        town.save()
    as_a_process_that_read_before(old)
    read_all(who)
    caching.reset_local()
    visitor = who["visitor"][0]
    assert "镇的新介绍" in nothing_kept(settings, lambda: home(visitor))
    assert "镇的新介绍" in home(visitor)


# The same class on the statistics of a town, whose counts of disclosures are
# added up from each unit's, kept under the unit's scope
# (disclosure.figures.counted_by_unit), and on its matrix, counted from the
# engine's rows kept per unit (compliance.load_inputs): both depend on the
# villages' scopes too (disclosure.page_scopes.read_through).


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "TOKEN", response.text)


def stats_page(client) -> str:
    return page(client, "/stats/?town=fengming")


def test_a_process_whose_village_version_is_a_moment_old_counts_the_statistics(
    t, settings, changed
):
    visitor = Client()
    stats_page(visitor)
    old = read_now(["unit:maoshan"])
    with changed():
        DisclosureFactory(unit=t["maoshan"], item=t["party"], title="统计里的新公开")
    as_a_process_that_read_before(old)
    stats_page(visitor)
    caching.reset_local()  # a second later, or yet another process
    kept = stats_page(visitor)
    assert kept == nothing_kept(settings, lambda: stats_page(visitor))


@pytest.mark.usefixtures("page_cache")
def test_a_process_whose_unit_case_version_is_a_moment_old_keeps_the_page(
    t, settings, changed
):
    """As test_a_process_whose_unit_case_version_is_a_moment_old, with the
    page cache on: the page the moment-old process makes is not the one the
    others take."""
    _case_read_by_a_process_a_moment_old(t, settings, changed)


def compliance_page(client) -> str:
    return page(client, "/compliance/?town=fengming")


def test_a_process_whose_village_version_is_a_moment_old_counts_the_matrix(
    past_mid_march, t, settings, changed
):
    """The matrix of a town is counted from the engine's rows kept per unit
    under "unit:<slug>" (compliance.load_inputs): made again after a
    publication in 茅山村 by a process whose copy of "unit:maoshan" is a
    moment old, it is kept under the village's old version too, which no
    one asks for a second later (before read_through, the matrix kept
    茅山村's February as missing until the next change in the town).

    A February filing counts once February is due: after mid-March."""
    visitor = Client()
    before = compliance_page(visitor)
    old = read_now(["unit:maoshan"])
    with changed():
        DisclosureFactory(
            unit=t["maoshan"],
            item=t["party"],
            title="矩阵里的新公开",
            period=f"{t['year']}-02",
        )
    as_a_process_that_read_before(old)
    compliance_page(visitor)
    caching.reset_local()  # a second later, or yet another process
    kept = compliance_page(visitor)
    assert kept != before  # the filing is counted
    assert kept == nothing_kept(settings, lambda: compliance_page(visitor))
