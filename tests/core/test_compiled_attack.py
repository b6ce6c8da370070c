"""Attacks on core.compiled: every kept plan must give `list(build(at))`, and
one audience's SQL must never serve another, whatever the time zone, the
database, the moment's form or the order the shapes are made in."""

import threading
import warnings
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections
from django.db.models import Count, DateTimeField, Min, Q, Value
from django.test import RequestFactory
from django.utils import timezone

from catalog import periods
from catalog.models import Scope
from composition import views as composition_views
from core import compiled
from disclosure import views as disclosure_views
from disclosure.models import Disclosure, Reader
from tests.core.test_compiled import ranked, rows_coming_out, seen
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_compiled_plans")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A fixed day, local: 10:00 in Shanghai is 02:00 UTC.
AT = datetime(2024, 5, 14, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def village(db):
    village = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    rows_coming_out(village, AT)
    return village


def django_rows(build, at):
    """Django's own rows, a naive moment read as Django reads it (in the
    default time zone, with its RuntimeWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return list(build(at))


def published_by(unit):
    def build(at):
        return (
            Disclosure.objects.filter(unit=unit, published_at__lte=at)
            .order_by("published_at", "id")
            .values_list("title", flat=True)
        )

    return build


# The moment's form ------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        # 10:30 local, naive: Django reads it in TIME_ZONE (02:30 UTC).
        datetime(2024, 5, 14, 10, 30),  # noqa: DTZ001
        # A day: Django reads it as local midnight.
        AT.date() + timedelta(days=1),
    ],
    ids=["naive", "date"],
)
def test_a_naive_moment_is_read_as_django_reads_it(village, moment):
    # 04:00 local the next day: before local midnight read in UTC (08:00).
    DisclosureFactory(
        unit=village,
        title="次日凌晨",
        published_at=AT.replace(hour=4) + timedelta(days=1),
    )
    # 16:00 local: before 10:30 read in UTC (18:30 local), after 10:30 local.
    DisclosureFactory(unit=village, title="下午", published_at=AT.replace(hour=16))
    build = published_by(village)
    compiled.rows(Disclosure, ("naive",), build, at=AT)  # kept
    assert compiled._plans
    # Read in TIME_ZONE as Django reads it, with Django's warning.
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        kept = compiled.rows(Disclosure, ("naive",), build, at=moment)
    assert kept == django_rows(build, moment)


def test_an_aware_moment_in_any_zone_is_the_same_instant(village):
    build = published_by(village)
    for at in (
        AT + timedelta(minutes=90),
        (AT + timedelta(minutes=90)).astimezone(UTC),
        (AT + timedelta(minutes=90)).astimezone(ZoneInfo("America/New_York")),
    ):
        assert compiled.rows(Disclosure, ("aware",), build, at=at) == list(build(at))


def test_a_moment_equal_to_a_stored_value_and_whole_seconds(village):
    build = published_by(village)
    stored = list(
        Disclosure.objects.filter(unit=village).values_list("published_at", flat=True)
    )
    for at in [
        *stored,
        *(s - timedelta(microseconds=1) for s in stored),
        *(s + timedelta(microseconds=1) for s in stored),
        AT.replace(microsecond=0),
        AT.replace(microsecond=1),
    ]:
        assert compiled.rows(Disclosure, ("equal",), build, at=at) == list(build(at)), (
            at
        )


def test_a_row_stored_with_microseconds_against_whole_second_moments(village):
    item = ItemFactory()
    DisclosureFactory(
        unit=village,
        item=item,
        title="微秒",
        published_at=AT + timedelta(hours=5, microseconds=500_000),
    )
    build = published_by(village)
    for at in (
        AT + timedelta(hours=5),
        AT + timedelta(hours=5, microseconds=499_999),
        AT + timedelta(hours=5, microseconds=500_000),
        AT + timedelta(hours=5, seconds=1),
    ):
        assert compiled.rows(Disclosure, ("micro",), build, at=at) == list(build(at))


# Time zones -----------------------------------------------------------------


def test_year_bounds_follow_the_current_time_zone(village):
    """`published_at__year` is bounded in the current zone: a row published
    at 02:00 on 1 January in Shanghai is the year before in UTC."""
    DisclosureFactory(
        unit=village,
        title="元旦",
        published_at=datetime(2025, 1, 1, 2, 0, tzinfo=SHANGHAI),
    )

    def counts(at):
        return (
            Disclosure.objects.published(at)
            .filter(unit=village, published_at__year=2025)
            .values_list("title", flat=True)
            .order_by("title")
        )

    at = datetime(2025, 6, 1, tzinfo=UTC)
    got = {}
    for zone in ("Asia/Shanghai", "UTC", "America/New_York", "Asia/Shanghai"):
        with timezone.override(zone):
            got[zone] = compiled.rows(Disclosure, ("year", 2025), counts, at=at)
            assert got[zone] == list(counts(at)), zone
    assert "元旦" in got["Asia/Shanghai"] and "元旦" not in got["UTC"]


def test_converted_datetimes_under_another_zone(village):
    def firsts(at):
        return (
            Disclosure.objects.filter(unit=village)
            .filter(Q(published_at__gt=at) | Q(public_from__gt=at))
            .values("unit")
            .annotate(
                p=Min("published_at", filter=Q(published_at__gt=at)),
                f=Min("public_from", filter=Q(public_from__gt=at)),
            )
            .values_list("unit", "p", "f")
            .order_by()
        )

    for zone in ("UTC", "Asia/Shanghai", "America/Los_Angeles"):
        with timezone.override(zone):
            for at in (AT, AT + timedelta(minutes=90)):
                got = compiled.rows(Disclosure, ("firsts",), firsts, at=at)
                assert got == list(firsts(at)), (zone, at)
                assert all(timezone.is_aware(t) for row in got for t in row[1:] if t)


def test_a_moment_returned_as_a_column(village):
    def build(at):
        return (
            Disclosure.objects.filter(unit=village)
            .annotate(seen_at=Value(at, output_field=DateTimeField()))
            .order_by("id")
        )

    for at in (AT, AT.replace(microsecond=0) + timedelta(seconds=1)):
        got = compiled.rows(Disclosure, ("column",), build, at=at)
        assert [(r.pk, r.seen_at) for r in got] == [
            (r.pk, r.seen_at) for r in build(at)
        ]


# Shapes -------------------------------------------------------------------------


def test_values_list_with_an_annotation_first(village):
    def build(at):
        return (
            Disclosure.objects.published(at)
            .filter(unit=village)
            .values("item_id")
            .annotate(n=Count("id"))
            .values_list("n", "item_id")
            .order_by("item_id")
        )

    for at in (AT, AT + timedelta(hours=3)):
        assert compiled.rows(Disclosure, ("first-n",), build, at=at) == list(build(at))


def test_in_lists_of_different_lengths_under_their_own_shapes(village):
    other = UnitFactory()
    rows_coming_out(other, AT)

    def build(some):
        return lambda at: (
            Disclosure.objects.published(at)
            .filter(unit__in=some)
            .values_list("unit_id", "title")
            .order_by("unit_id", "title")
        )

    for some in ((village.pk,), (village.pk, other.pk), (other.pk,), ()):
        got = compiled.rows(Disclosure, ("in", some), build(some), at=AT)
        assert got == list(build(some)(AT)), some


def test_an_empty_result_and_a_union(village):
    def empty(at):
        return Disclosure.objects.published(at).filter(unit=village, title="无")

    def union(at):
        rows = Disclosure.objects.published(at).filter(unit=village).order_by()
        return (
            rows.filter(title="已公开")
            .union(rows.filter(title="一小时后公开"))
            .order_by("id")
        )

    for at in (AT, AT + timedelta(hours=3)):
        assert compiled.rows(Disclosure, ("empty",), empty, at=at) == []
        assert seen_plain(compiled.rows(Disclosure, ("union",), union, at=at)) == (
            seen_plain(list(union(at)))
        )


def seen_plain(rows):
    return [(r.pk, r.title, r.published_at) for r in rows]


def test_eviction_between_shapes_keeps_each_shapes_rows(village, monkeypatch):
    monkeypatch.setattr(compiled, "LIMIT", 3)
    readers = [Reader(), Reader(party_member=True), Reader(every_branch=True)]
    for turn in range(4):
        for n, reader in enumerate(readers):
            at = AT + timedelta(hours=turn)
            build = ranked(village, reader)
            got = compiled.rows(Disclosure, ("evict", n, reader.key), build, at=at)
            assert seen(got) == seen(build(at)), (turn, reader)
            titles = {r.title for r in got}
            assert ("党内通报" in titles) is (
                reader.party_member or reader.every_branch
            )


# Audiences on the real views ------------------------------------------------------


@pytest.fixture
def checked(monkeypatch):
    """Every compiled.rows of the views checked against Django's rows."""
    real = compiled.rows
    calls = []

    def rows(model, shape, build, at=None, keys=(), **options):
        at = at or timezone.now()
        got = real(model, shape, build, at=at, keys=keys, **options)
        expected = list(build(at, *keys))
        key = (
            (lambda r: (r.pk, getattr(r, "column", None)))
            if (got and isinstance(got[0], Disclosure))
            else (lambda r: r)
        )
        assert [key(r) for r in got] == [key(r) for r in expected], shape
        calls.append(shape)
        return got

    monkeypatch.setattr(compiled, "rows", rows)
    return calls


def board_titles(unit, reader, period=None, today=None):
    context = disclosure_views.board_body_context(
        unit, reader, period, today or timezone.localdate()
    )
    titles = {d.title for column in context["columns"] for d in column["disclosures"]}
    return titles, [entry.key for entry in context["archive"]]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_board_body_member_then_visitor(village, checked, zone):
    member = Reader(party_member=True)
    with timezone.override(zone), time_machine.travel(AT, tick=False):
        for reader in (member, Reader(), member, Reader()):
            titles, archive = board_titles(village, reader)
            assert ("党内通报" in titles) is reader.party_member
            assert ("先党内后党外" in titles) is reader.party_member
            assert ("2010" in archive) is reader.party_member
        for reader in (Reader(), member):
            for key in ("2010", f"{AT.year}-{AT.month:02d}", "2011-09"):
                titles, _ = board_titles(village, reader, periods.Period.parse(key))
                assert ("党内通报" in titles) is (reader.party_member and key == "2010")
    assert checked


def test_board_of_another_branchs_unit_is_the_members_without_branch(village, checked):
    other = UnitFactory(name="别村", slug="bie", parent=village.parent)
    DisclosureFactory(
        unit=other,
        item=ItemFactory(scope=Scope.INNER_PARTY),
        title="别村党内",
        published_at=AT - timedelta(days=1),
    )
    branch_member = Reader(
        party_member=True,
        branch_id=12345,
        branch_unit_id=village.pk,
        branch_unit_slug=village.slug,
    )
    with time_machine.travel(AT, tick=False):
        for reader in (branch_member.on_board_of(other), Reader()):
            titles, _ = board_titles(other, reader)
            assert ("别村党内" in titles) is reader.party_member


def test_home_latest_for_a_member_then_a_visitor(village, checked):
    from django.contrib.auth.models import AnonymousUser

    member = PartyMemberFactory(username="wenli_member", branch_of=village)
    request = RequestFactory().get("/")
    units = [village.parent, village]
    with time_machine.travel(AT, tick=False):
        for user in (member, AnonymousUser(), member, AnonymousUser()):
            request.user = user
            pks = [
                d.pk
                for d in composition_views.home_latest_context(request, units)["latest"]
            ]
            titles = set(
                Disclosure.objects.filter(pk__in=pks).values_list("title", flat=True)
            )
            assert ("党内通报" in titles) is user.is_authenticated


def test_next_scheduled_by_unit_kept_and_not(village):
    rows = Disclosure.objects.filter(unit=village.pk)
    for at in (
        AT - timedelta(days=3),
        AT,
        AT + timedelta(minutes=90),
        AT + timedelta(hours=3),
    ):
        for public_from in (True, False):
            kept = rows.next_scheduled_by_unit(
                at, public_from=public_from, shape=("unit", village.pk)
            )
            assert kept == rows.next_scheduled_by_unit(at, public_from=public_from)


def test_published_by_unit_across_zones_at_new_year(village, checked):
    DisclosureFactory(
        unit=village,
        title="元旦",
        published_at=datetime(2025, 1, 1, 2, 0, tzinfo=SHANGHAI),
    )
    found = {}
    with time_machine.travel(datetime(2025, 6, 1, tzinfo=UTC), tick=False):
        for zone in ("Asia/Shanghai", "UTC", "Asia/Shanghai"):
            with timezone.override(zone):
                found[zone] = composition_views._published_by_unit([village.pk], 2025)
    assert found["Asia/Shanghai"] != found["UTC"]
    assert len(checked) == 3


# The clock and threads ----------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="a build reading timezone.now() (not `at`) is not seen when the "
    "clock does not move between the two probe builds (time_machine tick=False)",
)
def test_a_build_reading_the_clock_is_not_kept(village):
    def build(at):
        # The caller's slip: a default `now` inside, not the moment.
        return published_by(village)(at).filter(published_at__lte=timezone.now())

    with time_machine.travel(AT, tick=False):
        compiled.rows(Disclosure, ("clock",), build, at=AT)
    later = AT + timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        assert compiled.rows(Disclosure, ("clock",), build, at=later) == list(
            build(later)
        )


@pytest.mark.django_db(transaction=True)
def test_two_threads_compile_one_shape_at_once(village):
    build = ranked(village, Reader())
    expected = seen(build(AT))
    barrier = threading.Barrier(2)
    got, errors = [], []
    real = compiled._compile

    def slow_compile(*args):
        barrier.wait(timeout=10)  # both threads in _compile together
        return real(*args)

    def read():
        try:
            got.append(seen(compiled.rows(Disclosure, ("threads",), build, at=AT)))
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    compiled._compile = slow_compile
    try:
        threads = [threading.Thread(target=read) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        compiled._compile = real
    assert not errors
    assert got == [expected, expected]
    # And the plan another thread made serves this one.
    assert seen(compiled.rows(Disclosure, ("threads",), build, at=AT)) == expected
    assert connection.vendor
