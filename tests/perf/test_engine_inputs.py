"""The rows the compliance engine counts are kept unit by unit
(`compliance.load_inputs`): a rule, a frequency or a catalog adopted counts
them again without reading them; a publication reads its unit's rows
again, not its town's; a change of which rows count as filed (an item made
长期, the 点题 item's code) reads them again (FILED). Either way the pages
equal those made with nothing kept."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Catalog, Item, ScheduleRule, Scope, Timing
from catalog.page_scopes import (
    CATALOG,
    COUNTED,
    FILED,
    catalog_scopes,
    note_counted_change,
)
from core import caching, events
from disclosure import compliance
from disclosure import figures as disclosure_figures
from disclosure import services as disclosure_services
from disclosure.models import Disclosure, DisclosureQuerySet, Unit
from feedback import figures as feedback_figures
from feedback import services
from feedback import services as feedback_services
from feedback.models import Kind, Submission
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.perf.builders import two_towns_of_villages
from tests.perf.kept import nothing_kept
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

MATRIX = "/compliance/?kind=party&town=fengming"
UNIT_PAGE = "/compliance/wenli/?kind=party"
STATS = "/stats/?town=fengming"
CST = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world():
    """Two towns; in 凤鸣镇 a monthly item filed this year, a yearly one
    filed last year and still on display (counted once the item is 长期),
    and a 点题 request accepted (counted once an item has the 点题 code)."""
    year = timezone.localdate().year
    units = two_towns_of_villages()
    wenli, maoshan, shangcun = units["wenli"], units["maoshan"], units["shangcun"]
    monthly = ItemFactory(code="A01")
    yearly = ItemFactory(code="A02", frequency=Item.Frequency.YEARLY)
    spare = ItemFactory(code="A03", category=monthly.category)
    for unit in (wenli, maoshan, shangcun):
        DisclosureFactory(unit=unit, item=monthly, period=f"{year}-01")
    DisclosureFactory(
        unit=wenli,
        item=yearly,
        period=str(year - 1),
        published_at=timezone.now() - timedelta(days=400),
    )
    case = SubmissionFactory(unit=wenli, kind=Kind.REQUEST, title="请公开修路账目")
    services.accept(case, by=UserFactory(is_staff=True), department=DepartmentFactory())
    return {
        "year": year,
        **units,
        "monthly": monthly,
        "yearly": yearly,
        "spare": spare,
        "case": case,
    }


def pages(client) -> dict:
    matrix = client.get(MATRIX)
    stats = client.get(STATS)
    unit = client.get(UNIT_PAGE)
    assert matrix.status_code == stats.status_code == unit.status_code == 200
    return {
        "matrix": matrix.context["matrix_table"],
        "stats": stats.context["charts"],
        "unit": unit.content.decode(),
    }


def plain(settings) -> dict:
    return nothing_kept(settings, lambda: pages(Client()))


def read_units(calls) -> list[set[int]]:
    """The units each read of the rows read (`read_rows(year, ids)`: their
    disclosures and events; the 点题 requests are kept apart)."""
    return [set(args[1]) for args, _ in calls]


def _save(model, pk, **fields):
    row = model.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()


# What the engine counts of the rows changes, not which rows it reads.
def _rule(world):
    rule, _ = ScheduleRule.objects.get_or_create(
        catalog_id=world["monthly"].category.catalog_id
    )
    _save(ScheduleRule, rule.pk, monthly_due_day=28)


def _frequency(world):
    _save(Item, world["monthly"].pk, frequency=Item.Frequency.QUARTERLY)


def _nil_allowed(world):
    _save(Item, world["monthly"].pk, nil_allowed=False)


def _adopted(world):
    catalog = Catalog.objects.get(pk=world["monthly"].category.catalog_id)
    _save(Catalog, catalog.pk, adopted_on=date(world["year"], 6, 1))


# Which rows count as filed changes: they are read again.
def _made_standing(world):
    _save(Item, world["yearly"].pk, timing=Timing.STANDING)


def _request_code(world):
    _save(Item, world["spare"].pk, code="F02")


def _new_request_item(world):
    ItemFactory(code="F02", category=world["monthly"].category)


def _made_standing_in_bulk(world):
    Item.objects.filter(pk=world["yearly"].pk).update(timing=Timing.STANDING)


def _saved_over_by_hand(world):
    item = Item.objects.get(pk=world["yearly"].pk)
    by_hand = Item(
        **{f.attname: getattr(item, f.attname) for f in Item._meta.concrete_fields}
    )
    by_hand.timing = Timing.STANDING
    by_hand.save()


def _item_deleted(world):
    Item.objects.get(pk=world["spare"].pk).delete()


@pytest.mark.parametrize(
    "change", [_rule, _frequency, _nil_allowed, _adopted], ids=lambda f: f.__name__
)
def test_a_rule_counts_again_without_reading_the_rows(
    world, change, monkeypatch, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    pages(visitor)
    reads = counted(monkeypatch, compliance, "read_rows")
    loads = counted(monkeypatch, compliance, "counts_by_unit")
    with django_capture_on_commit_callbacks(execute=True):
        change(world)
    after = pages(visitor)
    assert len(loads) >= 2  # the matrix and the statistics counted again
    assert reads == []  # from the rows kept
    assert after == plain(settings)


@pytest.mark.parametrize(
    "change",
    [
        _made_standing,
        _request_code,
        _new_request_item,
        _made_standing_in_bulk,
        _saved_over_by_hand,
        _item_deleted,
    ],
    ids=lambda f: f.__name__,
)
def test_which_rows_count_as_filed_reads_them_again(
    world, change, monkeypatch, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    before = pages(visitor)
    reads = counted(monkeypatch, compliance, "read_rows")
    with django_capture_on_commit_callbacks(execute=True):
        change(world)
    after = pages(visitor)
    assert reads  # read again (before `plain`, which reads every time)
    assert after == plain(settings)
    if change in (_made_standing, _request_code, _new_request_item):
        # The rows read differ: last year's notice is on display for this
        # year's 长期 check; the request is owed under the 点题 item.
        assert after["unit"] != before["unit"]


def test_the_kept_rows_would_have_been_wrong_without_filed(
    world, settings, django_capture_on_commit_callbacks
):
    # Made 长期, the item's earlier notice counts: the rows read before
    # did not hold it (the standing filter is in the query).
    year, wenli = world["year"], world["wenli"]
    before = compliance.load_inputs(year, [wenli])
    assert world["yearly"].pk not in {f.item_id for f in before.filings}
    with django_capture_on_commit_callbacks(execute=True):
        _made_standing(world)
    after = compliance.load_inputs(year, [wenli])
    assert world["yearly"].pk in {f.item_id for f in after.filings}


def test_a_publication_reads_its_units_rows_again_not_its_towns(
    world, monkeypatch, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    pages(visitor)
    reads = counted(monkeypatch, compliance, "read_rows")
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            unit=world["maoshan"], item=world["monthly"], period=f"{world['year']}-02"
        )
    after = pages(visitor)
    assert read_units(reads) == [{world["maoshan"].pk}]
    assert after == plain(settings)
    # Another town's publication reads none of this town's rows.
    reads.clear()
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            unit=world["shangcun"], item=world["monthly"], period=f"{world['year']}-02"
        )
    after = pages(visitor)
    assert reads == []
    assert after == plain(settings)


def test_a_withdrawal_and_an_answer_read_their_units_rows_again(
    world, monkeypatch, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    pages(visitor)
    row = Disclosure.objects.filter(unit=world["wenli"], item=world["monthly"]).get()
    with django_capture_on_commit_callbacks(execute=True):
        disclosure_services.withdraw(
            Disclosure.objects.get(pk=row.pk),
            by=UserFactory(is_staff=True, is_superuser=True),
            reason="录入错误",
        )
    assert pages(visitor) == plain(settings)
    with django_capture_on_commit_callbacks(execute=True):
        answer = DisclosureFactory(
            unit=world["town"], item=world["monthly"], period=f"{world['year']}-03"
        )
        case = type(world["case"]).objects.get(pk=world["case"].pk)
        case.fulfilled_by = answer
        case.save()
    assert pages(visitor) == plain(settings)


def test_a_scheduled_publication_comes_out_without_a_save(
    world, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            unit=world["wenli"],
            item=world["monthly"],
            period=f"{world['year']}-04",
            published_at=timezone.now() + timedelta(hours=1),
        )
    pages(visitor)
    row = Disclosure.objects.get(period=f"{world['year']}-04")
    assert row.pk not in filed(world)
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert pages(visitor) == plain(settings)
        assert row.pk in filed(world)


def test_a_countys_units_are_read_each_time(world, monkeypatch):
    reads = counted(monkeypatch, compliance, "read_inputs")
    units = list(Unit.objects.all())
    first = compliance.load_inputs(world["year"], units)
    again = compliance.load_inputs(world["year"], units)
    assert len(reads) == 2
    assert first == again
    # A town's are read once, whole, then kept unit by unit.
    reads = counted(monkeypatch, compliance, "read_rows")
    town = [world["town"], world["wenli"], world["maoshan"]]
    compliance.load_inputs(world["year"], town)
    compliance.load_inputs(world["year"], town)
    compliance.load_inputs(world["year"], [world["wenli"]])
    assert read_units(reads) == [{u.pk for u in town}]


def test_the_kept_rows_are_the_rows_read(world):
    year = world["year"]
    town = [world["town"], world["wenli"], world["maoshan"]]
    kept = compliance.load_inputs(year, town)
    again = compliance.load_inputs(year, town)  # from the copies
    fresh = compliance.read_inputs(year, sorted(u.pk for u in town))
    for part in ("filings", "events", "requests"):
        assert sorted(getattr(kept, part), key=repr) == sorted(
            getattr(fresh, part), key=repr
        )
        assert getattr(again, part) == getattr(kept, part)
    assert kept.requests and kept.filings


def test_the_scopes_of_an_items_change():
    item = ItemFactory()

    def scopes_of(**fields):
        row = Item.objects.get(pk=item.pk)
        for name, value in fields.items():
            setattr(row, name, value)
        note_counted_change(Item, row)
        return catalog_scopes(
            events.Event("saved", "catalog.Item", (row.pk,), instance=row)
        )

    assert scopes_of(name="新名称") == [CATALOG]
    assert scopes_of(frequency=Item.Frequency.YEARLY) == [CATALOG, COUNTED]
    assert scopes_of(timing=Timing.STANDING) == [CATALOG, COUNTED, FILED]
    assert scopes_of(code="F02") == [CATALOG, COUNTED, FILED]
    new = Item(category=item.category, department=item.department, code="N1")
    note_counted_change(Item, new)
    event = events.Event("saved", "catalog.Item", (), created=True, instance=new)
    assert FILED in catalog_scopes(event)
    assert FILED in catalog_scopes(events.Event("deleted", "catalog.Item", (item.pk,)))
    rule = ScheduleRule(catalog=item.category.catalog)
    assert FILED not in catalog_scopes(
        events.Event("saved", "catalog.ScheduleRule", (), instance=rule)
    )


def test_the_loaders_read_of_an_item_only_its_filed_fields(world):
    # A field the loaders start reading must be in Item.filed_fields, or a
    # change of it would leave the rows kept (page_scopes.may_change_filed).
    with CaptureQueriesContext(connection) as queries:
        compliance.read_inputs(world["year"], [world["wenli"].pk])
    read = set()
    for query in queries.captured_queries:
        sql = query["sql"]
        assert "catalog_category" not in sql and "catalog_catalog" not in sql
        read |= set(re.findall(r'"catalog_item"\."(\w+)"', sql))
        for found in re.finditer(r'"catalog_item" (U\d+)', sql):
            # The alias within its subquery only (Django reuses U0).
            read |= set(re.findall(found[1] + r'\."(\w+)"', subquery(sql, found)))
    assert read <= {"id", *Item.filed_fields}
    assert read >= {"timing", "code"}


def subquery(sql: str, found) -> str:
    """The parenthesised subquery of `sql` holding the match `found`."""
    start = sql.rindex("(", 0, found.start())
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            return sql[start : end + 1]
    return sql[start:]


def test_a_shared_value_is_one_object_until_its_scope_moves(
    django_capture_on_commit_callbacks,
):
    made = []

    def compute():
        made.append(1)
        return (("a", 1),)

    first = caching.cached("shared-test", compute, scopes=["unit:x"], shared=True)
    again = caching.cached("shared-test", compute, scopes=["unit:x"], shared=True)
    assert again is first and len(made) == 1
    caching.reset_local()  # another process: from the shared cache, unpickled
    other = caching.cached("shared-test", compute, scopes=["unit:x"], shared=True)
    assert other == first and other is not first and len(made) == 1
    assert (
        caching.cached("shared-test", compute, scopes=["unit:x"], shared=True) is other
    )
    with django_capture_on_commit_callbacks(execute=True):
        caching.bump_scopes(["unit:x"])
    assert (
        caching.cached("shared-test", compute, scopes=["unit:x"], shared=True) == first
    )
    assert len(made) == 2


def test_a_value_not_shared_is_each_callers_own():
    def compute():
        return {"rows": [1, 2]}

    mine = caching.cached("own-test", compute, scopes=["unit:x"])
    mine["rows"].append(3)  # the caller that computed it changes its own
    theirs = caching.cached("own-test", compute, scopes=["unit:x"])
    assert theirs == {"rows": [1, 2]}
    theirs["rows"].append(4)
    assert caching.cached("own-test", compute, scopes=["unit:x"]) == {"rows": [1, 2]}


# The statistics after a publication in the town: the 回音壁's figures read
# no disclosure (kept under the cases' scopes), and the next scheduled
# publication is worked out once for the page's parts.


def test_a_publication_keeps_the_walls_figures(
    world, monkeypatch, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    pages(visitor)
    walls = counted(monkeypatch, feedback_figures, "by_month")
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            unit=world["maoshan"], item=world["monthly"], period=f"{world['year']}-05"
        )
    after = pages(visitor)
    assert walls == []
    assert after == plain(settings)


def _case_answered(world):
    case = Submission.objects.get(pk=world["case"].pk)
    feedback_services.answer(
        case,
        by=UserFactory(is_staff=True, is_superuser=True),
        department=case.department,
        text="已公开，见公开栏。",
    )


def _new_case(world):
    SubmissionFactory(unit=world["maoshan"], title="新的咨询")


def _case_deleted(world):
    Submission.objects.filter(pk=world["case"].pk).get().delete()


def _village_moved(world):
    village = Unit.objects.get(pk=world["maoshan"].pk)
    village.parent = world["other"]
    village.save()


@pytest.mark.parametrize(
    "change",
    [_case_answered, _new_case, _case_deleted, _village_moved],
    ids=lambda f: f.__name__,
)
def test_a_change_of_the_towns_cases_counts_the_walls_figures_again(
    world, change, monkeypatch, settings, django_capture_on_commit_callbacks
):
    SubmissionFactory(unit=world["maoshan"], accepted=True, title="茅山村的咨询")
    visitor = Client()
    before = visitor.get(STATS).context["charts"]
    walls = counted(monkeypatch, feedback_figures, "by_month")
    with django_capture_on_commit_callbacks(execute=True):
        change(world)
    after = visitor.get(STATS).context["charts"]
    assert walls  # counted again
    assert after == plain(settings)["stats"]
    assert after != before


def test_the_next_publication_is_worked_out_once_for_the_statistics(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    visitor = Client()
    pages(visitor)
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            unit=world["maoshan"], item=world["monthly"], period=f"{world['year']}-06"
        )
    asked = counted(monkeypatch, DisclosureQuerySet, "next_scheduled")
    visitor.get(STATS)
    # The page's own lifetime, the figures', the engine's for the town, and
    # for the unit whose rows are read and counted again (the engine's and
    # the counts'): each asked once (the page's parts asked it each before).
    asked_for = [
        (str(args[0].query), kw.get("public_from", True)) for args, kw in asked
    ]
    assert len(asked_for) == len(set(asked_for)) <= 5


def test_a_publication_scheduled_or_put_off_after_the_page_was_kept(
    world, settings, django_capture_on_commit_callbacks
):
    visitor = Client()
    start = timezone.now()
    pages(visitor)
    with django_capture_on_commit_callbacks(execute=True):
        row = DisclosureFactory(
            unit=world["wenli"],
            item=world["monthly"],
            period=f"{world['year']}-07",
            published_at=start + timedelta(hours=1),
        )
    pages(visitor)
    with django_capture_on_commit_callbacks(execute=True):
        row = Disclosure.objects.get(pk=row.pk)
        row.published_at = start + timedelta(hours=3)  # put off
        row.save()
    pages(visitor)
    # (The day may turn in between: the pages are compared with those made
    # then with nothing kept, and the rows counted looked at.)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert pages(visitor) == plain(settings)
        assert row.pk not in filed(world)
    with time_machine.travel(start + timedelta(hours=4), tick=False):
        assert pages(visitor) == plain(settings)
        assert row.pk in filed(world)


def filed(world) -> set[int]:
    """The disclosures the engine counts for 文理村 this year (kept)."""
    rows = compliance.load_inputs(world["year"], [world["wenli"]])
    return {filing.id for filing in rows.filings}


# The statistics' counts of disclosures of a town: its units' counts added
# up, each kept under its own unit's scope (disclosure.figures.counted_by_unit).


def many_rows(world):
    """Rows of several kinds, categories and months, a 党内 one among them."""
    year = world["year"]
    party = ItemFactory(code="B01", scope=Scope.INNER_PARTY)
    village = ItemFactory(
        code="C01", category=CategoryFactory(catalog=CatalogFactory(kind="village"))
    )
    for n, (unit, item) in enumerate(
        [
            (world["town"], party),
            (world["wenli"], village),
            (world["maoshan"], village),
            (world["maoshan"], party),
            (world["shangcun"], village),
        ]
    ):
        DisclosureFactory(
            unit=unit,
            item=item,
            period=f"{year}-{n + 1:02d}",
            published_at=datetime(year, n + 1, 15, 10, tzinfo=CST),
        )


@pytest.mark.parametrize("reader", ["visitor", "member"])
def test_a_towns_counts_added_up_are_its_counts(world, reader):
    many_rows(world)
    user = AnonymousUser() if reader == "visitor" else PartyMemberFactory()
    for town in (world["town"], world["other"]):
        whole = disclosure_figures.count(
            disclosure_figures.disclosures_for(user, year=world["year"], town=town)
        )
        added = disclosure_figures.counted_by_unit(user, year=world["year"], town=town)
        assert added == whole
        assert (
            disclosure_figures.counted_by_unit(user, year=world["year"], town=town)
            == whole
        )  # kept
    assert added["total"] > 0


def test_a_publication_counts_its_unit_again_not_its_town(
    world, monkeypatch, settings, django_capture_on_commit_callbacks
):
    many_rows(world)
    visitor = Client()
    visitor.get(STATS)
    counts = counted(monkeypatch, disclosure_figures, "count_by_unit")
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            unit=world["maoshan"], item=world["monthly"], period=f"{world['year']}-08"
        )
    after = visitor.get(STATS).context["charts"]
    assert len(counts) == 1
    _user, _year, unit_ids = counts[0][0]
    assert unit_ids == [world["maoshan"].pk]
    assert after == plain(settings)["stats"]


def test_a_village_moved_or_renamed_is_counted_where_it_is(
    world, settings, django_capture_on_commit_callbacks
):
    many_rows(world)
    visitor = Client()
    visitor.get(STATS)
    with django_capture_on_commit_callbacks(execute=True):
        village = Unit.objects.get(pk=world["maoshan"].pk)
        village.name = "新茅山村"
        village.save()
    assert visitor.get(STATS).context["charts"] == plain(settings)["stats"]
    with django_capture_on_commit_callbacks(execute=True):
        village = Unit.objects.get(pk=world["maoshan"].pk)
        village.parent = world["other"]
        village.save()
    for url in (STATS, "/stats/?town=qingshan"):
        kept = visitor.get(url).context["charts"]
        assert kept == nothing_kept(
            settings, lambda url=url: visitor.get(url).context["charts"]
        )
