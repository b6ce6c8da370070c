"""Attacks on the statistics' counts of disclosures added up unit by unit
(`disclosure.figures.counted_by_unit`, each unit's counts kept under
"unit:<slug>" and GROUPED, keyed by `Reader.key`, until the next
publication scheduled in it) and on the 回音壁's figures kept under the
cases' scopes only (`feedback/apps.py`: independent of the catalog and of
the units' own scopes).

Each test makes a change, then reads /stats/ (a town's, another town's, a
unit's) as each kind of reader (a visitor, a member of 文理村's branch, of
茅山村's, of no branch, the town administrator) and compares every figure
with the same page read with nothing kept; and a town's counts added up
with the same reader's counted directly (`count(disclosures_for(...))`).

Held (plain tests): publication, withdrawal, correction (a row made a 本期无
filing), a scheduled publication of each scope coming due, a 先党内后党外
row reaching the public (and put off, then brought forward), the year's
end (a row in its last minutes, one scheduled for the new year's first);
a disclosure moved to another unit, town, item of another kind, year; a
党组织内部 row moved to another unit; an item moved to a category of
another kind (saved, and by `update()`), a category to another catalog, a
catalog's kind; an item made 党内, or 党组织内部; a village moved to another
town and back, renamed with a new slug then published in, two villages
swapping slugs, a unit added (from another town, with rows), a unit
deleted, a village made a town and the town given a new slug; a
disclosure moved back, and a publication undone, by a simple-history
revert; a member moved to another branch, out of their branch, out of
the 党员 group; publication in bulk in the admin; a publication rolled
back after the statistics read it; another process (`reset_local`); the
visitor's kept page after every kind of member read it first. The
回音壁's figures: a case moved to another town's unit, rated (满意, and
不满意: reopened), a new case, a case hidden, a village with cases moved, a
case of a new unit, a unit renamed, an answer after its deadline (past
midnight), cases escalated past their deadline.

Found and fixed:
- a disclosure's change was named from this process's copy of the slugs:
  within PAGE_CACHE_VERSION_SECONDS of another process's new slug for a
  village, a publication there named its old slug; the town's figures were
  made again (the town's slug is named) but added up the village's counts
  kept under its new slug, which nothing moved: stale up to a day (a
  regression of `counted_by_unit`: the town's recount had hidden it). The
  same copy after another process moved the village named its old town.
  `page_scopes._row_scopes` and `unit_row_scopes` now read the slugs fresh;
- the on-time shares (`by_day`) were kept with today in their name but
  drawn as of `compliance.reference_date()`, a county-wide fact: in an
  archive county (no publication for a year) a publication in another town
  moves it to today, and this town's chart stayed as of the old day until
  midnight. The reference day is in their name now (composition/stats.py).

- a new case names its unit's and town's case scopes from the copy
  (`feedback.summary.on_new_case`: the busiest write reads no unit): after
  another process moved a village, within the second, the new town's
  回音壁 figures missed the case (the same before `counted_by_unit`). A
  town's figures now depend on its villages' "cases-unit:" too
  (disclosure.page_scopes.read_through), which the case names right.
"""

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.utils import timezone

from catalog.models import Catalog, Item, Scope
from core import caching
from disclosure import figures as disclosure_figures
from disclosure import page_scopes
from disclosure import services as disclosure_services
from disclosure.models import Disclosure, PartyMembership, Unit
from feedback import services
from feedback.models import Rating, Submission
from tests.factories import (
    CatalogFactory,
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
    at,
    fresh,
    readers,
    two_towns,
)

# Each check reads a page kept and then with nothing kept: at noon, not
# astride a midnight (the description names the day).
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "values_only"),
]

URLS = (
    "/stats/?town=fengming",
    "/stats/?town=qingshan",
    "/stats/?unit=wenli",
    "/stats/",
)


@pytest.fixture
def t():
    """凤鸣镇 (文理村, 茅山村) and 青山镇 (上村); a 党务 item, a 村务 one, a
    党内 one and a 党组织内部 one; rows of each, in several months; a
    先党内后党外 row coming out later this year; cases answered, one rated."""
    now = timezone.now()
    year = timezone.localdate().year
    units = two_towns()
    town, wenli, maoshan = units["town"], units["wenli"], units["maoshan"]
    other, shangcun = units["other"], units["shangcun"]
    party, village = units["party"], units["village"]
    inner, branch = units["inner"], units["branch"]
    month = timezone.localtime(now).month
    rows = {}
    for unit in (town, wenli, maoshan, other, shangcun):
        for n, item in enumerate((party, village, inner, branch)):
            rows[unit.slug, item.code] = DisclosureFactory(
                unit=unit,
                item=item,
                period=f"{year}-{month:02d}",
                published_at=now - timedelta(hours=n + 1),
                title=f"{unit.name}{item.code}",
            )
    staff = UserFactory(username="case_staff", is_staff=True)
    department = DepartmentFactory()
    cases = {}
    for unit in (wenli, maoshan, shangcun):
        case = SubmissionFactory(unit=unit, title=f"{unit.name}的意见")
        services.answer(case, by=staff, department=department, text="已答复")
        cases[unit.slug] = case
    return {
        "now": now,
        "year": year,
        "month": month,
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


def figures(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200, url
    context = response.context
    return {
        "charts": context["charts"],
        "total": context["disclosure_total"],
        "feedback": context["feedback"],
        "totals": context["totals"],
    }


def same(kept: dict, fresh: dict, *where) -> None:
    """Chart by chart, then the rest: a failure names the chart."""
    assert [c.key for c in kept["charts"]] == [c.key for c in fresh["charts"]]
    for mine, theirs in zip(kept["charts"], fresh["charts"], strict=True):
        assert mine == theirs, (*where, mine.key)
    assert kept == fresh, where


def read_all(who, urls=URLS) -> None:
    for client, _user in who.values():
        for url in urls:
            figures(client, url)


def direct(t, user, town) -> None:
    """The town's counts added up (kept) equal those counted directly."""
    year = t["year"]
    whole = disclosure_figures.count(
        disclosure_figures.disclosures_for(user, year=year, town=town)
    )
    added = disclosure_figures.counted_by_unit(user, year=year, town=town)
    assert added == whole


def check(t, who, settings, urls=URLS) -> None:
    """Every reader's figures on every page are those read with nothing kept."""
    for name, (client, user) in who.items():
        for url in urls:
            kept = figures(client, url)
            fresh = nothing_kept(settings, lambda c=client, u=url: figures(c, u))
            same(kept, fresh, name, url)
        for town in Unit.objects.filter(slug__in=["fengming", "qingshan"]):
            direct(t, user, town)


def visible_total(user, town, year) -> int:
    return (
        Disclosure.objects.visible_to(user)
        .information()
        .filter(published_at__year=year, unit__in=Unit.objects.of_town(town))
        .count()
    )


# The counts as they are, each reader's, kept and read again.


def test_each_reader_reads_its_own_counts(t, settings):
    who = readers(t)
    read_all(who)
    check(t, who, settings)
    town = t["town"]
    # Visitor: the public rows only (2 a unit: 党务 and 村务, 3 units).
    assert figures(who["visitor"][0], URLS[0])["total"] == 6
    assert figures(who["member_none"][0], URLS[0])["total"] == 9
    # A branch member: and their branch's 党组织内部 row, not another's.
    assert figures(who["member_wenli"][0], URLS[0])["total"] == 10
    assert figures(who["member_maoshan"][0], URLS[0])["total"] == 10
    assert figures(who["admin"][0], URLS[0])["total"] == 12
    assert visible_total(None, town, t["year"]) == 6


def test_a_member_read_first_leaves_the_visitor_nothing_of_theirs(t, settings):
    who = readers(t)
    for name in ("admin", "member_wenli", "member_none"):
        read_all({name: who[name]})
    visitor = who["visitor"][0]
    for url in URLS:
        assert figures(visitor, url) == nothing_kept(
            settings, lambda url=url: figures(Client(), url)
        )
    assert figures(visitor, URLS[0])["total"] == visible_total(
        None, t["town"], t["year"]
    )


# Publications, withdrawals, corrections, the clock.


def test_a_publication_withdrawal_and_correction(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        DisclosureFactory(unit=t["maoshan"], item=t["party"], period=f"{t['year']}-01")
        DisclosureFactory(unit=t["wenli"], item=t["branch"], period=f"{t['year']}-01")
    check(t, who, settings)
    admin = who["admin"][1]
    with changed():
        disclosure_services.withdraw(
            fresh(Disclosure, t["rows"]["wenli", "A01"].pk), by=admin, reason="有误"
        )
    check(t, who, settings)
    with changed():
        row = fresh(Disclosure, t["rows"]["maoshan", "C01"].pk)
        row.is_nil_return = True
        row.save()
        disclosure_services.record_edit(row, by=admin, changed=["is_nil_return"])
    check(t, who, settings)


def test_a_scheduled_publication_comes_due(t, settings, changed):
    who = readers(t)
    with changed():
        for item in (t["party"], t["inner"], t["branch"]):
            DisclosureFactory(
                unit=t["wenli"],
                item=item,
                period=f"{t['year']}-01",
                published_at=t["now"] + timedelta(minutes=30),
            )
    read_all(who)
    check(t, who, settings)
    with time_machine.travel(t["now"] + timedelta(minutes=31), tick=False):
        check(t, who, settings)


def test_a_party_first_row_reaches_the_public(t, settings, changed):
    who = readers(t)
    with changed():
        DisclosureFactory(
            unit=t["maoshan"],
            item=t["party"],
            period=f"{t['year']}-01",
            public_from=t["now"] + timedelta(minutes=20),
        )
    read_all(who)
    check(t, who, settings)
    before = figures(who["visitor"][0], URLS[0])["total"]
    with time_machine.travel(t["now"] + timedelta(minutes=21), tick=False):
        check(t, who, settings)
        assert figures(who["visitor"][0], URLS[0])["total"] == before + 1


def test_a_party_first_row_put_off_then_brought_forward(t, settings, changed):
    who = readers(t)
    with changed():
        row = DisclosureFactory(
            unit=t["maoshan"],
            item=t["party"],
            period=f"{t['year']}-01",
            public_from=t["now"] + timedelta(days=2),
        )
    read_all(who)
    with changed():
        row = fresh(Disclosure, row.pk)
        row.public_from = t["now"] + timedelta(minutes=5)
        row.save()
    read_all(who)
    with time_machine.travel(t["now"] + timedelta(minutes=6), tick=False):
        check(t, who, settings)


def test_the_year_boundary(t, settings, changed):
    """A row scheduled for the new year's first minutes, and one published
    in the old year's last minutes (local time)."""
    year = t["year"]
    eve = at(year, 12, 31, 23, 58)
    with time_machine.travel(eve, tick=False):
        who = readers(t)
        with changed():
            DisclosureFactory(
                unit=t["wenli"],
                item=t["party"],
                period=f"{year}-12",
                published_at=at(year, 12, 31, 23, 57),
            )
            DisclosureFactory(
                unit=t["wenli"],
                item=t["party"],
                period=f"{year + 1}-01",
                published_at=at(year + 1, 1, 1, 0, 1),
            )
        urls = (*URLS, f"/stats/?town=fengming&year={year}")
        read_all(who, urls)
        check(t, who, settings, urls)
    with time_machine.travel(at(year + 1, 1, 1, 0, 2), tick=False):
        urls = (*urls, f"/stats/?town=fengming&year={year + 1}")
        read_all(who, urls)
        for client, _user in who.values():
            for url in urls:
                fresh_figures = nothing_kept(
                    settings, lambda c=client, u=url: figures(c, u)
                )
                same(figures(client, url), fresh_figures, url)


# Rows moved, the catalog regrouped.


def test_a_disclosure_moved_to_another_unit_and_town(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        row = fresh(Disclosure, t["rows"]["wenli", "C01"].pk)
        row.unit = t["maoshan"]
        row.save()
    check(t, who, settings)
    with changed():
        row = fresh(Disclosure, t["rows"]["maoshan", "C01"].pk)
        row.unit = t["shangcun"]
        row.save()
    check(t, who, settings)


def test_a_branch_row_moved_to_another_unit(t, settings, changed):
    """A 党组织内部 row keeps its branch when moved: still read by that
    branch's members only, wherever it is counted."""
    who = readers(t)
    read_all(who)
    with changed():
        row = fresh(Disclosure, t["rows"]["wenli", "B02"].pk)
        row.unit = t["maoshan"]
        row.save()
    check(t, who, settings)


def test_a_disclosure_moved_to_another_item_kind_and_year(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        row = fresh(Disclosure, t["rows"]["wenli", "A01"].pk)
        row.item = t["village"]
        row.save()
    check(t, who, settings)
    with changed():
        row = fresh(Disclosure, t["rows"]["maoshan", "A01"].pk)
        row.published_at = at(t["year"] - 1, 6, 1)
        row.save()
    check(t, who, settings)


def test_an_item_moved_to_a_category_of_another_kind(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        item = fresh(Item, t["party"].pk)
        item.category = t["village"].category
        item.save()
    check(t, who, settings)
    with changed():
        Item.objects.filter(pk=t["party"].pk).update(category=t["inner"].category)
    check(t, who, settings)


def test_a_category_and_a_catalog_changed(t, settings, changed):
    who = readers(t)
    read_all(who)
    government = CatalogFactory(kind=Catalog.Kind.GOVERNMENT)
    village_catalog = t["village"].category.catalog_id
    with changed():
        category = t["village"].category
        category.catalog = government
        category.save()
    check(t, who, settings)
    with changed():
        # Kinds are unique: the village catalog, now empty, gives its kind.
        fresh(Catalog, village_catalog).delete()
        catalog = fresh(Catalog, government.pk)
        catalog.kind = Catalog.Kind.VILLAGE
        catalog.save()
    check(t, who, settings)


def test_an_item_made_inner_party(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        item = fresh(Item, t["village"].pk)
        item.scope = Scope.INNER_PARTY
        item.save()
    check(t, who, settings)


def test_an_item_made_branch_only(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        item = fresh(Item, t["village"].pk)
        item.scope = Scope.BRANCH
        item.save()
    check(t, who, settings)


# Units moved, renamed, added, deleted.


def test_a_village_moved_to_another_town_and_back(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        unit = fresh(Unit, t["maoshan"].pk)
        unit.parent = t["other"]
        unit.save()
    urls = ("/stats/?town=fengming", "/stats/?town=qingshan", "/stats/")
    check(t, who, settings, urls)
    with changed():
        unit = fresh(Unit, t["maoshan"].pk)
        unit.parent = t["town"]
        unit.save()
    check(t, who, settings)


def test_a_village_renamed_with_a_new_slug_then_published_in(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        unit = fresh(Unit, t["maoshan"].pk)
        unit.name = "新茅山村"
        unit.slug = "xinmaoshan"
        unit.save()
    check(t, who, settings)
    with changed():
        DisclosureFactory(unit=t["maoshan"], item=t["party"], period=f"{t['year']}-01")
    check(t, who, settings)
    with changed():
        row = fresh(Disclosure, t["rows"]["maoshan", "C01"].pk)
        row.status = Disclosure.Status.WITHDRAWN
        row.withdrawn_at = timezone.now()
        row.withdrawal_reason = "有误"
        row.save()
    check(t, who, settings)


def test_two_villages_swap_slugs_then_a_publication(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        for pk, slug in (
            (t["wenli"].pk, "tmp"),
            (t["maoshan"].pk, "wenli"),
            (t["wenli"].pk, "maoshan"),
        ):
            unit = fresh(Unit, pk)
            unit.slug = slug
            unit.save()
    urls = ("/stats/?town=fengming", "/stats/?unit=wenli", "/stats/?unit=maoshan")
    check(t, who, settings, urls)
    with changed():
        DisclosureFactory(unit=t["maoshan"], item=t["party"], period=f"{t['year']}-01")
        DisclosureFactory(unit=t["wenli"], item=t["village"], period=f"{t['year']}-01")
    check(t, who, settings, urls)


def test_a_unit_added_deleted_and_its_kind_changed(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        new = UnitFactory(name="新村", slug="xincun", parent=t["other"])
        DisclosureFactory(unit=new, item=t["party"], period=f"{t['year']}-01")
    read_all(who)
    with changed():
        unit = fresh(Unit, new.pk)
        unit.parent = t["town"]
        unit.save()
    check(t, who, settings)
    with changed():
        empty = UnitFactory(name="空村", slug="kongcun", parent=t["town"])
    check(t, who, settings)
    with changed():
        unit = fresh(Unit, empty.pk)
        unit.organisations.all().delete()
        unit.delete()
    check(t, who, settings)


def test_a_disclosure_moved_back_by_a_history_revert(t, settings, changed):
    who = readers(t)
    pk = t["rows"]["wenli", "A01"].pk
    with changed():
        row = fresh(Disclosure, pk)
        row.unit = t["shangcun"]
        row.save()
    read_all(who)
    with changed():
        fresh(Disclosure, pk).history.earliest().instance.save()
    assert fresh(Disclosure, pk).unit_id == t["wenli"].pk
    check(t, who, settings)


def test_a_publication_undone_by_a_history_revert(t, settings, changed):
    """A row withdrawn, then its published version restored by hand."""
    who = readers(t)
    pk = t["rows"]["maoshan", "A01"].pk
    with changed():
        disclosure_services.withdraw(
            fresh(Disclosure, pk), by=who["admin"][1], reason="有误"
        )
    read_all(who)
    with changed():
        fresh(Disclosure, pk).history.earliest().instance.save()
    assert fresh(Disclosure, pk).status == Disclosure.Status.PUBLISHED
    check(t, who, settings)


# Readers moved.


def test_a_member_moved_to_another_branch(t, settings, changed):
    who = readers(t)
    read_all(who)
    client, user = who["member_wenli"]
    wenli_row = t["rows"]["wenli", "B02"]
    with changed():
        membership = PartyMembership.objects.get(user=user)
        membership.branch = t["maoshan"].organisations.branches().get()
        membership.save()
    user = type(user).objects.get(pk=user.pk)
    who["member_wenli"] = (client, user)
    check(t, who, settings)
    got = figures(client, URLS[0])
    # Counted as a 茅山村 member: 9 and 茅山村's branch row, not 文理村's.
    assert got["total"] == 10
    assert not Disclosure.objects.visible_to(user).filter(pk=wenli_row.pk).exists()


def test_a_member_leaves_the_party_group(t, settings, changed):
    who = readers(t)
    read_all(who)
    client, user = who["member_none"]
    with changed():
        user.groups.remove(Group.objects.get(name="党员"))
    user = type(user).objects.get(pk=user.pk)
    who["member_none"] = (client, user)
    check(t, who, settings)
    assert figures(client, URLS[0])["total"] == figures(Client(), URLS[0])["total"]


def test_a_member_leaves_their_branch(t, settings, changed):
    who = readers(t)
    read_all(who)
    client, user = who["member_wenli"]
    with changed():
        PartyMembership.objects.filter(user=user).get().delete()
    user = type(user).objects.get(pk=user.pk)
    who["member_wenli"] = (client, user)
    check(t, who, settings)
    assert figures(client, URLS[0])["total"] == 9


# The 回音壁's figures, kept under the cases' scopes only.


def test_cases_moved_hidden_rated_and_reopened(t, settings, changed):
    who = readers(t)
    read_all(who)
    staff = t["staff"]
    with changed():
        case = fresh(Submission, t["cases"]["wenli"].pk)
        case.unit = t["shangcun"]
        case.save()
    check(t, who, settings)
    with changed():
        services.rate(
            fresh(Submission, t["cases"]["maoshan"].pk), rating=Rating.SATISFIED
        )
    check(t, who, settings)
    with changed():
        services.rate(
            fresh(Submission, t["cases"]["shangcun"].pk), rating=Rating.UNSATISFIED
        )
    check(t, who, settings)
    with changed():
        case = SubmissionFactory(unit=t["maoshan"], title="新意见")
    check(t, who, settings)
    with changed():
        services.hide(fresh(Submission, case.pk), by=staff, reason="广告")
    check(t, who, settings)


def test_a_village_with_cases_moved_to_another_town(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        unit = fresh(Unit, t["wenli"].pk)
        unit.parent = t["other"]
        unit.save()
    check(t, who, settings, ("/stats/?town=fengming", "/stats/?town=qingshan"))


def test_an_answer_past_midnight_and_a_deadline_passing(t, settings, changed):
    who = readers(t)
    with changed():
        case = SubmissionFactory(unit=t["wenli"], title="待答复的意见")
        services.accept(case, by=t["staff"], department=t["department"])
    read_all(who)
    case = fresh(Submission, case.pk)
    late = datetime.combine(
        case.due_date + timedelta(days=1),
        datetime.min.time(),
        timezone.get_current_timezone(),
    ) + timedelta(minutes=5)
    if late.year != t["year"]:
        pytest.skip("the deadline falls in the next year")
    with time_machine.travel(late, tick=False):
        check(t, who, settings)
        with changed():
            services.answer(
                fresh(Submission, case.pk),
                by=t["staff"],
                department=t["department"],
                text="迟到的答复",
            )
        check(t, who, settings)


def test_a_case_of_a_new_unit_and_a_unit_renamed(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        new = UnitFactory(name="新村", slug="xincun", parent=t["town"])
        SubmissionFactory(unit=new, title="新村的意见")
    check(t, who, settings)
    with changed():
        unit = fresh(Unit, t["wenli"].pk)
        unit.slug = "wenli2"
        unit.name = "文理二村"
        unit.save()
    check(t, who, settings, ("/stats/?town=fengming", "/stats/?unit=wenli2"))
    with changed():
        SubmissionFactory(unit=t["wenli"], title="改名后的意见")
    check(t, who, settings, ("/stats/?town=fengming", "/stats/?unit=wenli2"))


# The on-time shares of an archive (no publication for a year: the figures
# as of its last publication day, `compliance.reference_date`).


def test_an_archive_county_gets_a_publication_elsewhere(settings, changed):
    """Every row published more than a year ago: the statistics' on-time
    shares are as of the last publication day. A publication in another
    town brings the county's reference day to today."""
    long_ago = timezone.now() - timedelta(days=500)
    year = timezone.localtime(long_ago).year
    town = TownFactory(name="凤鸣镇", slug="fengming", order=1)
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    other = TownFactory(name="青山镇", slug="qingshan", order=2)
    shangcun = UnitFactory(name="上村", slug="shangcun", parent=other)
    item = ItemFactory(code="A01")
    for unit in (town, wenli, shangcun):
        DisclosureFactory(
            unit=unit,
            item=item,
            period=f"{year}-{timezone.localtime(long_ago).month:02d}",
            published_at=long_ago,
        )
    visitor = Client()
    url = f"/stats/?town=fengming&year={year}"
    figures(visitor, url)
    with changed():
        DisclosureFactory(
            unit=shangcun, item=item, period=f"{timezone.localdate().year}-01"
        )
    same(figures(visitor, url), nothing_kept(settings, lambda: figures(visitor, url)))


def test_a_publication_by_a_process_that_has_not_seen_a_new_slug(t, settings, changed):
    """Another process gives 茅山村 a new slug; the visitor's statistics
    count it under "unit:xinmaoshan". This process, which still holds
    "maoshan" for it, publishes there: it names "unit:maoshan" and
    "town:fengming". The town's figures are made again, from 茅山村's counts
    kept under "unit:xinmaoshan", which nothing moved."""
    who = {"visitor": readers(t)["visitor"]}
    with changed():
        unit = fresh(Unit, t["maoshan"].pk)
        unit.slug = "xinmaoshan"
        unit.save()  # another process
    read_all(who)
    as_a_process_that_has_not_seen(t["maoshan"].pk, "maoshan", "fengming")
    with changed():
        DisclosureFactory(unit=t["maoshan"], item=t["party"], period=f"{t['year']}-01")
    page_scopes.forget_slugs()  # a second later: this process sees the slug
    check(t, who, settings, ("/stats/?town=fengming",))


def test_published_in_bulk_in_the_admin(t, settings, changed):
    who = readers(t)
    approved = [
        DisclosureFactory(
            unit=unit,
            item=item,
            period=f"{t['year']}-01",
            status=Disclosure.Status.APPROVED,
            published_at=None,
        )
        for unit, item in (
            (t["wenli"], t["party"]),
            (t["maoshan"], t["branch"]),
            (t["shangcun"], t["inner"]),
        )
    ]
    read_all(who)
    pks = [row.pk for row in approved]
    with changed():
        response = who["admin"][0].post(
            "/admin/disclosure/disclosure/",
            {"action": "publish_selected", "_selected_action": [str(pk) for pk in pks]},
        )
        assert response.status_code == 302
    published = Disclosure.objects.filter(pk__in=pks, status="published")
    assert published.count() == 3
    check(t, who, settings)


def test_a_publication_rolled_back_after_the_statistics_read_it(t, settings):
    who = readers(t)
    read_all(who)
    with transaction.atomic():
        DisclosureFactory(unit=t["maoshan"], item=t["party"], period=f"{t['year']}-01")
        read_all(who)  # read within the transaction: not kept
        transaction.set_rollback(True)
    check(t, who, settings)


def test_another_process_reads_the_shared_copies(t, settings, changed):
    who = readers(t)
    read_all(who)
    caching.reset_local()  # another process: its copies from the shared cache
    with changed():
        DisclosureFactory(unit=t["wenli"], item=t["inner"], period=f"{t['year']}-01")
    check(t, who, settings)
    caching.reset_local()
    check(t, who, settings)


def _total_shown(client, url) -> int:
    page = client.get(url).content.decode()
    return int(re.search(r"发布公开内容</dt><dd>(\d+)</dd>", page).group(1))


@pytest.mark.usefixtures("away_from_midnight")
def test_the_visitors_page_after_members_read_it(t, settings, changed):
    """Pages kept too: the visitor's /stats/ never counts a member's rows,
    whoever read it first, before and after a publication of each scope."""
    settings.PAGE_CACHE_SECONDS = 60  # as `page_cache` (values_only is on)
    who = readers(t)
    members = {k: v for k, v in who.items() if k != "visitor"}
    visitor = who["visitor"][0]

    def read_members():
        for client, _user in members.values():
            for url in URLS:
                client.get(url)

    read_members()
    for url in URLS:
        visitor.get(url)
    assert _total_shown(visitor, URLS[0]) == 6
    with changed():
        for item in (t["party"], t["inner"], t["branch"]):
            DisclosureFactory(unit=t["wenli"], item=item, period=f"{t['year']}-01")
    read_members()
    assert visitor.get(URLS[0]).headers["X-Page-Cache"] == "miss"
    assert _total_shown(visitor, URLS[0]) == 7
    assert visitor.get(URLS[0]).headers["X-Page-Cache"] == "hit"
    assert _total_shown(visitor, URLS[0]) == visible_total(None, t["town"], t["year"])
    expected = {"member_wenli": 13, "member_maoshan": 12, "member_none": 11}
    for name, total in expected.items():
        assert _total_shown(who[name][0], URLS[0]) == total, name


def test_a_village_made_a_town_and_the_town_given_a_new_slug(t, settings, changed):
    who = readers(t)
    read_all(who)
    with changed():
        unit = fresh(Unit, t["maoshan"].pk)
        unit.kind = Unit.Kind.TOWN
        unit.parent = None
        unit.save()
    urls = ("/stats/?town=fengming", "/stats/?town=maoshan", "/stats/")
    read_all(who, urls)
    check(t, who, settings, urls)
    with changed():
        town = fresh(Unit, t["town"].pk)
        town.slug = "fengming2"
        town.save()
    urls = ("/stats/?town=fengming2", "/stats/?unit=wenli", "/stats/")
    check(t, who, settings, urls)
    with changed():
        DisclosureFactory(unit=t["town"], item=t["party"], period=f"{t['year']}-01")
        SubmissionFactory(unit=t["town"], title="镇上的意见")
    check(t, who, settings, urls)


def test_cases_escalated_past_their_deadline(t, settings, changed):
    who = {"visitor": readers(t)["visitor"]}
    with changed():
        case = SubmissionFactory(unit=t["maoshan"], title="逾期的意见")
        services.accept(case, by=t["staff"], department=t["department"])
    read_all(who)
    case = fresh(Submission, case.pk)
    late = case.due_date + timedelta(days=2)
    with time_machine.travel(at(late.year, late.month, late.day), tick=False):
        read_all(who)
        with changed():
            assert services.escalate_overdue()
        check(t, who, settings)
        assert figures(who["visitor"][0], URLS[0])["feedback"]["escalated"] == 1


def test_a_new_case_by_a_process_that_has_not_seen_a_move(t, settings, changed):
    who = {"visitor": readers(t)["visitor"]}
    with changed():
        unit = fresh(Unit, t["shangcun"].pk)
        unit.parent = t["town"]
        unit.save()  # another process
    read_all(who, ("/stats/?town=fengming",))
    as_a_process_that_has_not_seen(t["shangcun"].pk, "shangcun", "qingshan")
    with changed():
        SubmissionFactory(unit=t["shangcun"], title="新意见")
    page_scopes.forget_slugs()  # a second later: this process sees the move
    check(t, who, settings, ("/stats/?town=fengming",))


def test_a_publication_by_a_process_that_has_not_seen_a_move(t, settings, changed):
    who = {"visitor": readers(t)["visitor"]}
    with changed():
        unit = fresh(Unit, t["shangcun"].pk)
        unit.parent = t["town"]
        unit.save()  # another process
    read_all(who, ("/stats/?town=fengming",))
    as_a_process_that_has_not_seen(t["shangcun"].pk, "shangcun", "qingshan")
    with changed():
        DisclosureFactory(unit=t["shangcun"], item=t["party"], period=f"{t['year']}-01")
    page_scopes.forget_slugs()  # a second later: this process sees the move
    check(t, who, settings, ("/stats/?town=fengming",))
