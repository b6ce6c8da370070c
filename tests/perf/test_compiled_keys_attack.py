"""Attacks on core.compiled's keys and related objects (`rows(..., keys=)`,
select_related rebuilt from Django's RelatedPopulators) and on today's
callers: a disclosure's detail row per audience, the 回音壁's cards and its
counts per filter.

Attacked: IN lists with duplicate, reordered, zero, negative, bool and
probe-valued keys; one shape called with several lengths; a key used twice,
inside an EXISTS, as a slice, or with arithmetic on it (two keys); NULL
nullable relations at several depths, deferred and only() fields on related
models, a reverse one-to-one, annotations beside select_related; pickling a
kept row as the value cache does; the detail page for three audiences in
every order with hostile numbers; the wall's figures per filter and after a
slug moved to another unit. Each kept result is compared with Django's own
(`list(build(at, *keys))`).

Found and mended: probe keys in a run of consecutive integers let a build
shifting one key onto another's probe (`pk__lt=hi + 1`) or ordering its
keys (`min(a, b)`) be kept with the wrong slots (now one run rising and the
other falling by other steps); a build refusing a probe (a negative slice)
raised where Django answers (now run as Django)."""

import itertools
import pickle
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Catalog, ScheduleRule, Scope
from core import compiled
from disclosure.models import Disclosure, Unit
from feedback.models import Submission
from feedback.templatetags import wall_tags
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.test_fragments import logged_in
from tests.perf.test_scoped_values import two_towns
from tests.perf.test_wall_summary_compiled import expected, varied

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_compiled_plans")]

AT = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)


# What a row is, all of it -------------------------------------------------------


def snapshot(obj, depth: int = 0):
    """Every attribute of a model object (its fields, annotations, the
    `_loaded_*` of KeepsLoaded), its state and, recursively, the related
    objects cached on it: what a template or a pickle could read."""
    if obj is None or depth > 6:
        return obj
    plain = {
        name: value
        for name, value in obj.__dict__.items()
        if name != "_state" and not hasattr(value, "_meta")
    }
    cached = {
        name: snapshot(value, depth + 1)
        for name, value in obj._state.fields_cache.items()
    }
    return (
        type(obj).__name__,
        sorted(plain.items(), key=lambda kv: kv[0]),
        sorted(obj.get_deferred_fields()),
        obj._state.db,
        obj._state.adding,
        sorted(cached.items(), key=lambda kv: kv[0]),
    )


def same_as_djangos(kept, build, at, keys, *, order=True):
    own = list(build(at, *keys))
    kept_seen = [snapshot(r) if hasattr(r, "_meta") else r for r in kept]
    own_seen = [snapshot(r) if hasattr(r, "_meta") else r for r in own]
    if not order:
        kept_seen, own_seen = sorted(kept_seen, key=repr), sorted(own_seen, key=repr)
    assert kept_seen == own_seen, keys


@pytest.fixture
def village():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    village = UnitFactory(name="文理村", slug="wenli", parent=town)
    rows = [
        DisclosureFactory(
            unit=village, title=f"村务{n}", published_at=AT - timedelta(n)
        )
        for n in range(1, 5)
    ]
    rows.append(DisclosureFactory(unit=town, title="镇里的"))  # a unit with no parent
    return {"town": town, "village": village, "rows": rows}


def by_pks(at, *keys):
    return (
        Disclosure.objects.published(at)
        .select_related("unit__parent", "item__category__catalog", "item__department")
        .filter(pk__in=keys)
        .order_by("pk")
    )


# Keys ----------------------------------------------------------------------------


def test_duplicate_reordered_zero_and_negative_keys_in_an_in_list(village):
    a, b, c, d, e = (r.pk for r in village["rows"])
    for keys in [
        (a, a, b),  # Django's IN list has two values; the kept one three
        (b, a, a),
        (c, b, a),
        (a, a, a),
        (0, a, -5),
        (-1, -2, -3),
        (0, 0, 0),
        (e, d, 2**31 - 1),
        (-(2**31) + 1, b, c),
    ]:
        kept = compiled.rows(Disclosure, ("in-list",), by_pks, at=AT, keys=keys)
        same_as_djangos(kept, by_pks, AT, keys)
    assert None not in compiled._plans.values()
    assert [key[-1] for key in compiled._plans] == [3]


def test_bool_keys_are_run_as_django_even_when_a_plan_is_kept(village):
    first = village["rows"][0].pk

    def by_one(at, key):
        return Disclosure.objects.filter(pk__lte=key).order_by("pk")

    kept = compiled.rows(Disclosure, ("bool",), by_one, at=AT, keys=(first,))
    same_as_djangos(kept, by_one, AT, (first,))
    assert list(compiled._plans.values()) != [None]
    for key in (True, False):
        got = compiled.rows(Disclosure, ("bool",), by_one, at=AT, keys=(key,))
        same_as_djangos(got, by_one, AT, (key,))


def test_keys_equal_to_the_probes(village):
    probes = [k for p in compiled._KEY_PROBES for k in compiled._probe_keys(p, 2)]
    a = village["rows"][0].pk
    for keys in [(probes[0],), (probes[1],), (a,)]:
        kept = compiled.rows(Disclosure, ("probe",), by_pks, at=AT, keys=keys)
        same_as_djangos(kept, by_pks, AT, keys)
    for keys in [(probes[0], probes[2]), (probes[1], a), (a, probes[3])]:
        kept = compiled.rows(Disclosure, ("probe",), by_pks, at=AT, keys=keys)
        same_as_djangos(kept, by_pks, AT, keys)
    assert sorted(key[-1] for key in compiled._plans) == [1, 2]


def test_one_shape_with_one_then_two_then_one_key(village):
    a, b, c = (r.pk for r in village["rows"][:3])
    for keys in [(a,), (a, b), (c,), (b, c), (a, b, c), (b,)]:
        kept = compiled.rows(Disclosure, ("lengths",), by_pks, at=AT, keys=keys)
        same_as_djangos(kept, by_pks, AT, keys)
    assert sorted(key[-1] for key in compiled._plans) == [1, 2, 3]
    # No keys: a key of its own (no length), the build taking none.
    kept = compiled.rows(Disclosure, ("lengths",), lambda at: by_pks(at, a), at=AT)
    same_as_djangos(kept, lambda at: by_pks(at, a), AT, ())


def test_a_key_used_twice_and_in_an_exists(village):
    unit = village["village"]
    case = SubmissionFactory(unit=unit, accepted=True)
    fulfilled = village["rows"][1]
    Submission.objects.filter(pk=case.pk).update(fulfilled_by=fulfilled)

    def twice(at, key):
        return (
            Disclosure.objects.published(at)
            .filter(Q(pk=key) | Q(unit_id=key))
            .annotate(
                asked=Exists(
                    Submission.objects.filter(fulfilled_by=OuterRef("pk"), unit_id=key)
                )
            )
            .order_by("pk")
        )

    for key in (unit.pk, fulfilled.pk, village["town"].pk, 0, -7, unit.pk):
        kept = compiled.rows(Disclosure, ("twice",), twice, at=AT, keys=(key,))
        same_as_djangos(kept, twice, AT, (key,))
    (plan,) = compiled._plans.values()
    assert plan is not None and len(plan.keys) == 3


def test_a_key_as_a_slice_is_run_as_django(village):
    """A key bounding a slice is not a parameter (LIMIT/OFFSET are in the
    SQL's text): Django's rows, not an error from the negative probe."""

    def first_n(at, n):
        return Disclosure.objects.published(at).order_by("pk")[:n]

    def nth(at, n):
        return Disclosure.objects.published(at).order_by("pk")[n : n + 1]

    for build in (first_n, nth):
        for n in (1, 3, 2):
            kept = compiled.rows(
                Disclosure, ("slice", build.__name__), build, at=AT, keys=(n,)
            )
            same_as_djangos(kept, build, AT, (n,))


def test_a_slice_guarded_against_the_sign_is_not_kept(village):
    def nth(at, n):
        n = max(n, 0)
        return Disclosure.objects.published(at).order_by("pk")[n : n + 1]

    for n in (0, 2, 1):
        kept = compiled.rows(Disclosure, ("guarded slice",), nth, at=AT, keys=(n,))
        same_as_djangos(kept, nth, AT, (n,))
    assert list(compiled._plans.values()) == [None]


@pytest.mark.parametrize(
    "build",
    [
        # A range of keys, its end made exclusive.
        lambda at, lo, hi: Disclosure.objects.filter(pk__gte=lo, pk__lt=hi + 1),
        # Its start made exclusive.
        lambda at, lo, hi: Disclosure.objects.filter(pk__gt=lo - 1, pk__lte=hi),
    ],
    ids=["hi+1", "lo-1"],
)
def test_arithmetic_on_one_of_two_keys_is_not_kept(village, build):
    """The probe tuples are runs of consecutive integers (p, p-1, …): the
    second key plus one is the first key's probe at both moments, so
    `hi + 1` is taken for the parameter `lo` (and `lo - 1` for `hi`)."""
    pks = sorted(r.pk for r in village["rows"])
    for keys in [(pks[0], pks[2]), (pks[1], pks[3]), (pks[0], pks[0])]:
        kept = compiled.rows(Disclosure, ("range",), build, at=AT, keys=keys)
        same_as_djangos(kept, lambda at, *k: build(at, *k).order_by("pk"), AT, keys)
    assert list(compiled._plans.values()) == [None]


def test_keys_put_in_order_by_the_build_are_not_kept(village):
    """Both probe tuples are in descending order (p, p-1, …): a build
    ordering its keys (min/max, sorted) takes the same key for the low
    bound at both probes, so the plan keeps `min` as the second key
    whatever the order of the real ones."""

    def between(at, a, b):
        return Disclosure.objects.filter(pk__range=(min(a, b), max(a, b))).order_by(
            "pk"
        )

    pks = sorted(r.pk for r in village["rows"])
    for keys in [(pks[3], pks[1]), (pks[0], pks[2]), (pks[2], pks[0])]:
        kept = compiled.rows(Disclosure, ("between",), between, at=AT, keys=keys)
        same_as_djangos(kept, between, AT, keys)
    assert list(compiled._plans.values()) == [None]


# Related objects -------------------------------------------------------------------


def cases_with_nulls(village) -> list[Submission]:
    """Cases whose nullable relations are NULL at each depth: no tag, no
    answering body, a unit with no parent (the town), an answering body
    whose unit is a town; and one with all of them."""
    town, unit = village["town"], village["village"]
    tag = TagFactory(name="道路")
    bare = SubmissionFactory(unit=town, accepted=True)
    full = SubmissionFactory(unit=unit, accepted=True, tag=tag)
    body = unit.organisations.branches().get()
    Submission.objects.filter(pk=full.pk).update(
        answering_body=body,
        fulfilled_by=village["rows"][0],
        status="answered",
        answered_at=timezone.now(),
        answer_text="已答复",
    )
    town_body = town.organisations.first()
    half = SubmissionFactory(unit=unit, accepted=True)
    if town_body is not None:
        Submission.objects.filter(pk=half.pk).update(answering_body=town_body)
    return [bare, full, half]


def test_card_rows_are_djangos_own_objects(village):
    cases = cases_with_nulls(village)
    a, b, c = (case.pk for case in cases)

    def djangos(pks):
        return (
            Submission.objects.with_related()
            .defer(*wall_tags.CARD_DEFERRED)
            .order_by()
            .in_bulk(pks)
        )

    for pks in ([a, b, c], [c, b, a], [b, b, a], [a], [c, a, c, b], [b, 0, -1]):
        kept = wall_tags.card_rows(pks)
        own = djangos(pks)
        assert {k: snapshot(v) for k, v in kept.items()} == {
            k: snapshot(v) for k, v in own.items()
        }, pks
        read = []
        with CaptureQueriesContext(connection) as ran:
            for row in kept.values():
                read.append(
                    (
                        row.unit.name,
                        row.unit.parent and row.unit.parent.name,
                        row.tag and row.tag.name,
                        row.answered_by,
                        row.answering_body and row.answering_body.unit.name,
                        row.department,
                        row.fulfilled_by and row.fulfilled_by.title,
                    )
                )
        assert not ran.captured_queries and len(read) == len(kept)
    assert None not in compiled._plans.values()


def test_deferred_and_only_fields_on_related_models(village):
    cases_with_nulls(village)

    def deferred(at, *keys):
        return (
            Submission.objects.select_related("fulfilled_by__unit", "tag")
            .defer("fulfilled_by__body", "fulfilled_by__unit__name", "text")
            .filter(pk__in=keys)
            .order_by("pk")
        )

    def only(at, *keys):
        return (
            Submission.objects.select_related("fulfilled_by__unit__parent", "unit")
            .only(
                "title",
                "unit__slug",
                "fulfilled_by__title",
                "fulfilled_by__unit__name",
                "fulfilled_by__unit__parent__slug",
            )
            .filter(pk__in=keys)
            .order_by("pk")
        )

    keys = tuple(Submission.objects.order_by("pk").values_list("pk", flat=True))
    for build in (deferred, only):
        for some in (keys, keys[::-1]):
            kept = compiled.rows(Submission, (build.__name__,), build, keys=some)
            same_as_djangos(kept, build, AT, some)
            # A deferred field is read as Django reads it: one query a row.
            full = [r for r in kept if r.fulfilled_by_id]
            assert full
            with CaptureQueriesContext(connection) as ran:
                assert full[0].fulfilled_by.body
            assert len(ran.captured_queries) == 1
    assert None not in compiled._plans.values()


def test_a_reverse_one_to_one_and_annotations_beside_select_related(village):
    rows = village["rows"]
    catalog = rows[0].item.category.catalog
    ScheduleRule.objects.get_or_create(catalog=catalog)
    # Another catalog, with no schedule: a LEFT JOIN finding no row.
    other = DisclosureFactory(
        unit=village["village"],
        item=ItemFactory(category__catalog__kind=Catalog.Kind.VILLAGE),
    )
    ScheduleRule.objects.filter(catalog=other.item.category.catalog).delete()
    case = SubmissionFactory(unit=village["village"], accepted=True)
    Submission.objects.filter(pk=case.pk).update(fulfilled_by=rows[0])

    def build(at, *keys):
        return (
            Disclosure.objects.published(at)
            .select_related("item__category__catalog__schedule", "unit__parent")
            .annotate(n=Count("fulfilled_requests"))
            .filter(pk__in=keys)
            .order_by("pk")
        )

    keys = (rows[0].pk, other.pk, rows[1].pk)
    kept = compiled.rows(Disclosure, ("reverse",), build, at=AT, keys=keys)
    same_as_djangos(kept, build, AT, keys)
    with CaptureQueriesContext(connection) as ran:
        has = []
        for row in kept:
            try:
                has.append(row.item.category.catalog.schedule.pk is not None)
            except ScheduleRule.DoesNotExist:
                has.append(False)
    assert not ran.captured_queries
    assert [r.n for r in kept] == [1, 0, 0]
    assert True in has
    assert compiled._plans and None not in compiled._plans.values()


# Pickling (the detail row is kept in the value cache) --------------------------------


def detail_build(user):
    """disclosure.views._visible_disclosure's build."""

    def build(at, key):
        return (
            Disclosure.objects.visible_to(user, at)
            .with_related()
            .with_article_flags()
            .filter(pk=key)
            .order_by()[:1]
        )

    return build


def test_a_kept_row_pickles_as_djangos(village):
    from django.contrib.auth.models import AnonymousUser

    build = detail_build(AnonymousUser())
    for row in village["rows"]:
        kept = compiled.rows(Disclosure, ("pickle",), build, at=AT, keys=(row.pk,))
        own = list(build(AT, row.pk))
        assert [snapshot(r) for r in kept] == [snapshot(r) for r in own]
        again = pickle.loads(pickle.dumps(kept))
        own_again = pickle.loads(pickle.dumps(own))
        assert [snapshot(r) for r in again] == [snapshot(r) for r in own_again]
        read = []
        with CaptureQueriesContext(connection) as ran:
            (obj,) = again
            read.append(
                (
                    obj.unit.name,
                    obj.item.category.catalog.name,
                    obj.item.department.name,
                    obj.has_tables,
                    obj.has_attachments,
                    obj.has_answers,
                    obj.body,
                )
            )
        assert not ran.captured_queries and read
    (plan,) = compiled._plans.values()
    assert plan is not None


# The detail page, audiences in every order ---------------------------------------


@pytest.fixture
def two_branches():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    rows = {
        "public": DisclosureFactory(unit=wenli, title="村务公开财务收支"),
        "branch A": DisclosureFactory(
            unit=wenli, item=ItemFactory(scope=Scope.BRANCH), title="文理支部内部甲"
        ),
        "branch B": DisclosureFactory(
            unit=maoshan, item=ItemFactory(scope=Scope.BRANCH), title="茅山支部内部乙"
        ),
        "inner": DisclosureFactory(
            unit=maoshan, item=ItemFactory(scope=Scope.INNER_PARTY), title="党内通报丙"
        ),
        "later": DisclosureFactory(
            unit=wenli,
            title="一小时后公开丁",
            published_at=timezone.now() + timedelta(1),
        ),
        "members first": DisclosureFactory(
            unit=maoshan,
            title="先党内后党外戊",
            published_at=timezone.now() - timedelta(hours=1),
            public_from=timezone.now() + timedelta(1),
        ),
    }
    users = {
        "A": PartyMemberFactory(username="wenli_a", branch_of=wenli),
        "B": PartyMemberFactory(username="maoshan_b", branch_of=maoshan),
    }
    return rows, users


def may_read(user, pk) -> bool:
    """Django's own rule, asked directly."""
    from django.contrib.auth.models import AnonymousUser

    return Disclosure.objects.visible_to(user or AnonymousUser()).filter(pk=pk).exists()


@pytest.mark.parametrize("order", list(itertools.permutations(["A", "B", "visitor"])))
def test_each_audience_sees_only_its_rows_in_any_order(two_branches, settings, order):
    settings.VALUE_CACHE_SECONDS = 0
    compiled.forget()
    rows, users = two_branches
    clients = {
        "A": logged_in(users["A"]),
        "B": logged_in(users["B"]),
        "visitor": Client(),
    }
    seen_by = {who: set() for who in clients}
    for _ in range(2):
        for who in order:
            for name, row in rows.items():
                response = clients[who].get(f"/disclosures/{row.pk}/")
                allowed = may_read(users.get(who), row.pk)
                assert response.status_code == (200 if allowed else 404), (who, name)
                if allowed:
                    seen_by[who].add(name)
                else:
                    assert row.title not in response.text
    assert seen_by == {
        "A": {"public", "branch A", "inner", "members first"},
        "B": {"public", "branch B", "inner", "members first"},
        "visitor": {"public"},
    }
    plans = [p for k, p in compiled._plans.items() if k[3][0] == "detail-row"]
    assert len(plans) == 3 and None not in plans


@pytest.mark.parametrize(
    "path",
    [
        "0",
        "00{pk}",
        "2147483647",
        "2147483646",
        "2100000001",
        "2099999999",
        "2147483648",
        "9223372036854775808",
        "{pk}0",
    ],
)
def test_hostile_numbers_first_then_the_real_rows(two_branches, settings, path):
    settings.VALUE_CACHE_SECONDS = 0
    rows, users = two_branches
    secret = rows["branch A"]
    for client, user in ((Client(), None), (logged_in(users["B"]), users["B"])):
        response = client.get(f"/disclosures/{path.format(pk=secret.pk)}/")
        assert response.status_code == 404
        assert secret.title not in response.text
        for row in rows.values():
            status = client.get(f"/disclosures/{row.pk}/").status_code
            assert status == (200 if may_read(user, row.pk) else 404), row.title
    assert logged_in(users["A"]).get(f"/disclosures/00{secret.pk}/").status_code == 200


# The 回音壁's figures --------------------------------------------------------------


@pytest.fixture
def county(values_only):
    county = two_towns()
    varied(county)
    return county


def test_wall_figures_for_filters_twice_each(county, changed):
    tag = TagFactory(name="道路")
    today = timezone.localdate()
    queries = [
        f"tag={tag.pk}",
        f"tag={tag.pk}&unit=wenli",
        "unit=shangcun&kind=suggestion",
        "escalated=1&unit=xiacun",
        "escalated=1",
        "kind=question&status=accepted",
        f"received_after={today - timedelta(days=4)}",
        f"received_before={today - timedelta(days=4)}",
        f"received_after={today}&received_before={today}",
        "status=answered&unit=maoshan",
    ]
    client = Client()
    for query in queries:
        response = client.get(f"/feedback/?{query}")
        assert response.status_code == 200, query
        assert response.context["summary"] == expected(query), query
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True, tag=tag)
        SubmissionFactory(unit=county["xiacun"], accepted=True, kind="suggestion")
    for query in queries:
        assert client.get(f"/feedback/?{query}").context["summary"] == expected(
            query
        ), query
    wall = [p for k, p in compiled._plans.items() if k[3][0] == "wall"]
    assert wall and None not in wall


def test_a_slug_moved_to_another_unit_between_two_requests(county, changed):
    client = Client()
    for query in ("unit=wenli", "unit=maoshan", ""):
        assert client.get(f"/feedback/?{query}").context["summary"] == expected(query)
    with changed():  # committed: its unit's kept counts raised (kept_counts)
        SubmissionFactory(unit=county["maoshan"], accepted=True)  # maoshan differs
    with changed():
        wenli = Unit.objects.get(pk=county["wenli"].pk)
        wenli.slug = "wenli-old"
        wenli.save()
        maoshan = Unit.objects.get(pk=county["maoshan"].pk)
        maoshan.slug = "wenli"
        maoshan.save()
    for query in ("unit=wenli", "unit=wenli-old", ""):
        response = client.get(f"/feedback/?{query}")
        assert response.context["summary"] == expected(query), query
    assert expected("unit=wenli") != expected("unit=wenli-old")
