"""A query's SQL kept per shape (core.compiled): the rows are Django's own at
every moment, and a query whose SQL is not the moment's alone is never
kept. On PostgreSQL the pages' shapes run as prepared statements (the last
tests)."""

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, F, Min, Q, Window
from django.db.models.functions import RowNumber, TruncDate
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Scope
from core import compiled
from disclosure.models import Disclosure, Reader
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_compiled_plans")]

AT = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)


def rows_coming_out(unit, at) -> None:
    """Rows of `unit` around `at`: one out, one published an hour later, a
    先党内后党外 one reaching visitors two hours later, a 党内 one."""
    item = ItemFactory()
    DisclosureFactory(
        unit=unit, item=item, title="已公开", published_at=at - timedelta(days=1)
    )
    DisclosureFactory(
        unit=unit,
        item=item,
        title="一小时后公开",
        period=f"{at.year}-{at.month:02d}",
        published_at=at + timedelta(hours=1),
    )
    DisclosureFactory(
        unit=unit,
        item=item,
        title="先党内后党外",
        published_at=at - timedelta(hours=1),
        public_from=at + timedelta(hours=2),
    )
    DisclosureFactory(
        unit=unit,
        item=ItemFactory(scope=Scope.INNER_PARTY),
        title="党内通报",
        period="2010",
        published_at=at - timedelta(days=2),
    )


@pytest.fixture
def village(db):
    village = UnitFactory(name="文理村", slug="wenli")
    rows_coming_out(village, AT)
    DisclosureFactory(title="别村的", published_at=AT - timedelta(days=1))
    return village


def ranked(unit, reader):
    def build(at):
        return (
            Disclosure.objects.published(at)
            .for_reader(reader, at)
            .for_unit(unit)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=F("item__category"),
                    order_by=[F("published_at").desc(), F("id").desc()],
                )
            )
            .filter(rank__lte=5)
            .only("title", "published_at", "public_from", "period")
            .annotate(column=F("item__category_id"))
        )

    return build


def seen(rows) -> list[tuple]:
    return [
        (
            r.pk,
            r.title,
            r.published_at,
            r.public_from,
            r.period,
            r.rank,
            r.column,
            frozenset(r.get_deferred_fields()),
        )
        for r in rows
    ]


@pytest.mark.parametrize(
    "reader", [Reader(), Reader(party_member=True)], ids=["visitor", "member"]
)
def test_kept_sql_gives_djangos_rows_as_the_moment_moves(village, reader):
    build = ranked(village, reader)
    titles = {}
    for hours in (0, 1.5, 3):
        at = AT + timedelta(hours=hours)
        with time_machine.travel(at, tick=False):
            with CaptureQueriesContext(connection) as ran:
                kept = compiled.rows(
                    Disclosure, ("test", village.pk, reader.key), build
                )
            assert seen(kept) == seen(build(at)), hours
            assert len(ran) == 1  # compiling runs nothing
            titles[hours] = {r.title for r in kept}
    # The kept SQL took each moment: the scheduled row came out at 11:00, the
    # 先党内后党外 one reached visitors at 12:00 (members at once).
    assert "一小时后公开" not in titles[0] and "一小时后公开" in titles[1.5]
    assert ("先党内后党外" in titles[0]) is reader.party_member
    assert "先党内后党外" in titles[3]
    assert ("党内通报" in titles[3]) is reader.party_member
    assert "别村的" not in titles[3]


def test_the_compiled_sql_is_djangos_own(village):
    build = ranked(village, Reader())
    compiled.rows(Disclosure, ("test",), build, at=AT)
    with CaptureQueriesContext(connection) as kept:
        compiled.rows(Disclosure, ("test",), build, at=AT)
    with CaptureQueriesContext(connection) as django:
        list(build(AT))
    # On PostgreSQL the kept SQL is bound on the server: the log still reads
    # its values in, as Django's own (core.compiled._cursor).
    assert [q["sql"] for q in kept] == [q["sql"] for q in django]
    assert "$1" not in kept[0]["sql"]


def test_one_flat_column(village):
    def periods(at):
        return (
            Disclosure.objects.published(at)
            .for_unit(village)
            .order_by("-period_start", "period")
            .values_list("period", flat=True)
            .distinct()
        )

    compiled.rows(Disclosure, ("periods",), periods, at=AT)
    assert compiled._plans  # kept
    for at in (AT, AT + timedelta(hours=3)):
        assert compiled.rows(Disclosure, ("periods",), periods, at=at) == list(
            periods(at)
        )


def test_tuples_of_grouped_counts_and_first_times(village):
    def counts(at):
        return (
            Disclosure.objects.published(at)
            .filter(unit=village, published_at__year=AT.year)
            .values_list("unit_id", "item_id")
            .annotate(n=Count("id"))
            .order_by("item_id")
        )

    def firsts(at):
        rows = Disclosure.objects.filter(unit=village)
        # As next_scheduled_by_unit reads them: the moment is `after`.
        found = rows.filter(Q(published_at__gt=at) | Q(public_from__gt=at))
        return (
            found.values("unit")
            .annotate(
                p=Min("published_at", filter=Q(published_at__gt=at)),
                f=Min("public_from", filter=Q(public_from__gt=at)),
            )
            .values_list("unit", "p", "f")
            .order_by()
        )

    for build in (counts, firsts):
        compiled.rows(Disclosure, (build.__name__,), build, at=AT)
        for at in (AT, AT + timedelta(hours=1, minutes=30), AT + timedelta(hours=3)):
            got = compiled.rows(Disclosure, (build.__name__,), build, at=at)
            assert got == list(build(at)), (build.__name__, at)
            assert all(isinstance(row, tuple) for row in got)
    assert all(compiled._plans.values())  # both kept
    assert compiled.rows(Disclosure, ("firsts",), firsts, at=AT) == [
        (village.pk, AT + timedelta(hours=1), AT + timedelta(hours=2))
    ]


@pytest.mark.parametrize(
    "build",
    [
        # The moment made a date: not a parameter alone.
        lambda at: Disclosure.objects.filter(published_at__date__lte=at.date()),
        lambda at: Disclosure.objects.annotate(day=TruncDate("published_at")).filter(
            day__lte=at.date()
        ),
        # A branch on the moment.
        lambda at: Disclosure.objects.filter(
            title="已公开" if at.year < 2050 else "别村的"
        ),
        # Several columns as dictionaries, a prefetch.
        lambda at: Disclosure.objects.published(at).values("pk", "title"),
        lambda at: Disclosure.objects.published(at).prefetch_related("attachments"),
        # Nothing to run.
        lambda at: Disclosure.objects.published(at).filter(pk__in=[]),
    ],
    ids=[
        "date lookup",
        "truncated",
        "branch",
        "dictionaries",
        "prefetch",
        "empty",
    ],
)
def test_what_cannot_be_kept_is_run_as_django_runs_it(village, build):
    for at in (AT, AT + timedelta(hours=3)):
        got = compiled.rows(Disclosure, ("unkept",), build, at=at)
        assert list(got) == list(build(at))
    assert compiled._plans == {
        (
            "default",
            connection.vendor,
            timezone.get_current_timezone_name(),
            ("unkept",),
        ): None
    }


def test_past_the_limit_the_older_half_is_dropped(village, monkeypatch):
    monkeypatch.setattr(compiled, "LIMIT", 4)
    build = ranked(village, Reader())
    for n in range(5):
        compiled.rows(Disclosure, ("test", n), build, at=AT)
    assert [key[-1] for key in compiled._plans] == [("test", n) for n in (2, 3, 4)]
    assert seen(compiled.rows(Disclosure, ("test", 0), build, at=AT)) == seen(build(AT))


# Related objects (select_related) and keys as parameters -------------------


def related_seen(rows) -> list[tuple]:
    """What a page reads of each row and its related rows (no query: the
    related objects came with the row, as Django's select_related)."""
    return [
        (
            r.pk,
            r.title,
            r.unit.pk,
            r.unit.name,
            r.unit.parent.name if r.unit.parent_id else None,
            r.item.name,
            r.item.category.name,
            r.item.category.catalog.name,
            r.item.department.name,
            r.branch_id,
        )
        for r in rows
    ]


def with_related(at, *keys):
    rows = Disclosure.objects.published(at).select_related(
        "unit__parent", "item__category__catalog", "item__department"
    )
    return rows.filter(pk__in=keys) if keys else rows


def test_related_rows_come_with_each_row_as_djangos(village):
    town = TownFactory(name="凤鸣镇")
    town_row = DisclosureFactory(unit=town, title="镇里的")
    DisclosureFactory(unit=UnitFactory(parent=town, slug="maoshan"), title="茅山的")
    for at in (AT, AT + timedelta(hours=3)):
        kept = compiled.rows(Disclosure, ("related",), with_related, at=at)
        with CaptureQueriesContext(connection) as ran:
            got = related_seen(kept)
        assert not ran.captured_queries
        assert got == related_seen(with_related(at))
    assert town_row.pk in [row[0] for row in got]
    assert any(row[4] is None for row in got)  # a town: no parent
    assert "凤鸣镇" in {row[4] for row in got}
    (plan,) = compiled._plans.values()
    assert plan is not None and plan.related


def test_keys_are_parameters_of_one_plan_a_length(village):
    every = list(
        Disclosure.objects.published(AT).order_by("pk").values_list("pk", flat=True)
    )
    assert len(every) >= 2
    for keys in ([every[0]], [every[1]], every[:2], every[::-1][:2], [10**9]):
        got = compiled.rows(
            Disclosure, ("by key",), with_related, at=AT, keys=tuple(keys)
        )
        assert sorted(related_seen(got)) == sorted(
            related_seen(with_related(AT, *keys))
        )
    # One plan for one key, one for two.
    assert sorted(key[-1] for key in compiled._plans) == [1, 2]
    assert None not in compiled._plans.values()


@pytest.mark.parametrize(
    "build",
    [
        lambda at, pk: Disclosure.objects.filter(title=str(pk)),
        lambda at, pk: Disclosure.objects.filter(pk=pk + 1),
        lambda at, pk: Disclosure.objects.filter(pk=pk if pk > 0 else 0),
    ],
    ids=["text", "arithmetic", "branch"],
)
def test_a_key_not_a_parameter_alone_is_not_kept(village, build):
    pk = Disclosure.objects.first().pk
    for key in (pk, pk + 1):
        got = compiled.rows(Disclosure, ("unkept key",), build, at=AT, keys=(key,))
        assert list(got) == list(build(AT, key))
    assert list(compiled._plans.values()) == [None]


def test_keys_past_the_limit_or_not_integers_are_run_as_django_runs_them(village):
    pk = Disclosure.objects.first().pk
    many = tuple(range(pk, pk + compiled.MAX_KEYS + 1))
    assert compiled.rows(Disclosure, ("many",), with_related, at=AT, keys=many)
    text = compiled.rows(
        Disclosure,
        ("text",),
        lambda at, key: Disclosure.objects.filter(pk=key),
        at=AT,
        keys=(str(pk),),
    )
    assert [d.pk for d in text] == [pk]

    # A made-up number past the column's range: no row, not an error.
    def by_key(at, key):
        return Disclosure.objects.published(at).select_related("unit").filter(pk=key)

    for huge in (2**31, 10**20, -(2**63)):
        assert not compiled.rows(Disclosure, ("huge",), by_key, at=AT, keys=(huge,))
    assert compiled._plans == {}


# Kept SQL as prepared statements on PostgreSQL (core.compiled._cursor): the
# server plans a page's statement once a connection; the rows are Django's
# own at every run (the server's first plans and its plan for any parameter
# alike); a made-up selection's shape, or a database set not to prepare,
# prepares nothing.

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements: PostgreSQL"
)

# More runs than the server plans anew before it may use one plan for any
# parameter (five: PostgreSQL's plan_cache_mode auto).
RUNS = 8


def prepared() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements: their SQL and how often the
    server planned each for its parameters (custom) or once (generic)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        )
        return {sql: (generic, custom) for sql, generic, custom in cursor.fetchall()}


@on_postgresql
def test_a_kept_statement_is_planned_once_a_connection(village):
    every = list(
        Disclosure.objects.published(AT).order_by("pk").values_list("pk", flat=True)
    )
    assert len(every) >= 2
    for n in range(RUNS):
        key = every[n % len(every)]
        got = compiled.rows(Disclosure, ("prepared",), with_related, at=AT, keys=(key,))
        assert related_seen(got) == related_seen(with_related(AT, key)), n
    (statement,) = (sql for sql in prepared() if '"disclosure_disclosure"' in sql)
    assert re.search(r"IN \(\$\d+\)", statement)  # the key bound on the server
    generic, custom = prepared()[statement]
    assert custom + generic == RUNS
    assert generic > 0  # planned once for any key after the first five


@on_postgresql
@pytest.mark.parametrize(
    "reader", [Reader(), Reader(party_member=True)], ids=["visitor", "member"]
)
def test_rows_are_djangos_through_every_kind_of_plan(village, reader):
    # The moment moves across a row coming out: the first runs are planned
    # for their moment, the later ones may share one plan.
    build = ranked(village, reader)
    for n in range(RUNS):
        at = AT + timedelta(hours=n * 0.5)
        kept = compiled.rows(Disclosure, ("ranked", reader.key), build, at=at)
        assert seen(kept) == seen(build(at)), n
        for row in kept:  # read in the connection's time zone, as Django's
            assert row.published_at.utcoffset() == timedelta(0)
    assert any('"rank"' in sql for sql in prepared())


@on_postgresql
def test_a_made_up_selections_shape_is_not_prepared(village):
    build = ranked(village, Reader())
    for _ in range(RUNS):
        compiled.rows(Disclosure, ("chosen", compiled.CHOSEN), build, at=AT)
    assert not any('"rank"' in sql for sql in prepared())


@on_postgresql
def test_a_shape_planned_each_run_is_not_prepared(village):
    # compliance.load_filings: a plan for any value read an index of the
    # moment as well, every row published before now.
    build = ranked(village, Reader())
    for n in range(RUNS):
        at = AT + timedelta(hours=n * 0.5)
        kept = compiled.rows(
            Disclosure, ("each run",), build, at=at, planned_each_run=True
        )
        assert seen(kept) == seen(build(at)), n
    assert not any('"rank"' in sql for sql in prepared())
    assert compiled._plans  # the SQL is kept all the same, only not prepared


def test_a_shape_planned_each_run_gives_the_same_rows_on_any_database(village):
    every = list(
        Disclosure.objects.published(AT).order_by("pk").values_list("pk", flat=True)
    )
    for key in every[:3]:
        got = compiled.rows(
            Disclosure,
            ("each run keyed",),
            with_related,
            at=AT,
            keys=(key,),
            planned_each_run=True,
        )
        assert related_seen(got) == related_seen(with_related(AT, key))


@on_postgresql
def test_a_database_set_not_to_prepare_prepares_nothing(village, monkeypatch):
    build = ranked(village, Reader())
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    for n in range(RUNS):
        at = AT + timedelta(hours=n)
        assert seen(compiled.rows(Disclosure, ("off",), build, at=at)) == seen(
            build(at)
        )
    assert not any('"rank"' in sql for sql in prepared())


@pytest.mark.parametrize(
    ("value", "threshold"),
    [(None, 5), ("on", 5), ("off", None), ("0", None)],
    ids=["unset", "on", "off", "0"],
)
def test_the_setting_turns_prepared_statements_off_for_a_pooler(value, threshold):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_PREPARED_STATEMENTS", "DJANGO_ENV")
    }
    env["DATABASE_URL"] = "postgres://portal@db.example:5432/portal"
    if value is not None:
        env["DATABASE_PREPARED_STATEMENTS"] = value
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; "
            "print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold'))",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "fengming_portal.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(threshold)
