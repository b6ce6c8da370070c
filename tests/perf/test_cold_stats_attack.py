"""Attacks on 54a709f: the statistics' 回音壁 year figures added up from each
unit's kept counts (feedback.figures.year_summary, "cases-unit:<slug>",
SQL kept per ("stats-year", year)) and its months in one GROUP BY
(`by_month`); the 点题 requests the engine counts from kept SQL
(feedback.obligations.accepted_requests, ("compliance-requests", year,
code)); the statistics' counts of disclosures by unit from kept SQL per
(year, Reader.key) (disclosure.figures.count_by_unit); migration
disclosure/0023 (the index on Disclosure.item replaced by (item, unit,
period_start)).

Every figure /stats/ (year, town, unit) and /compliance/ show is compared
with the page made with nothing kept and core.compiled bypassed (`plain`),
and with the straightforward count (`submissions_for(...).summary()`,
`count(disclosures_for(...))`), for each audience, after each change.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.models.functions import ExtractMonth
from django.test import Client
from django.utils import timezone

from catalog.models import BodyKind, Item
from core import compiled
from core.figures import monthly_series
from disclosure import figures as disclosure_figures
from disclosure import page_scopes
from disclosure import services as disclosure_services
from disclosure.models import (
    Disclosure,
    Organisation,
    PartyMembership,
    Reader,
    Unit,
)
from feedback import obligations, services
from feedback.figures import by_month, submissions_for, year_summary
from feedback.models import ANSWERED_COUNT, ON_TIME_COUNT, Kind, Rating, Submission
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf import test_merged_staleness_attack as harness
from tests.perf.two_towns import (
    as_a_process_that_has_not_seen,
    fresh,
    logged_in,
    readers,
    two_towns,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "values_only", "no_compiled_plans"),
]

LOCAL = timezone.get_current_timezone


def local(year, month, day, hour=0, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LOCAL())


def djangos_rows(model, shape, build, at=None, keys=(), **options):
    """core.compiled.rows bypassed: the query built and run by Django."""
    return list(build(at or timezone.now(), *keys))


@contextmanager
def plain(settings):
    """Nothing kept (the value cache off) and no kept SQL: the
    straightforward page."""
    value, rows = settings.VALUE_CACHE_SECONDS, compiled.rows
    settings.VALUE_CACHE_SECONDS = 0
    compiled.rows = djangos_rows
    try:
        yield
    finally:
        compiled.rows = rows
        settings.VALUE_CACHE_SECONDS = value


@pytest.fixture
def w(settings):
    """Two towns (凤鸣镇: 文理村, 茅山村; 青山镇: 上村), rows of each scope,
    a 先党内后党外 row public in 30 minutes, one scheduled in 40; cases of
    every state; two 点题 requests (one answered by a town's disclosure
    scheduled in 50 minutes)."""
    settings.FEEDBACK_REQUEST_ITEM_CODE = "F02"
    t = two_towns()
    now = timezone.now()
    year = timezone.localdate().year
    month = timezone.localtime(now).month
    t.update(now=now, year=year, month=month)
    t["f02"] = ItemFactory(code="F02", name="点题公开", category=t["party"].category)
    units = [t[n] for n in ("town", "wenli", "maoshan", "other", "shangcun")]
    for unit in units:
        for n, item in enumerate((t["party"], t["village"], t["inner"], t["branch"])):
            DisclosureFactory(
                unit=unit,
                item=item,
                period=f"{year}-{month:02d}",
                published_at=now - timedelta(hours=n + 1),
                title=f"{unit.name}{item.code}",
            )
    t["later_public"] = DisclosureFactory(
        unit=t["wenli"],
        item=t["party"],
        period=f"{year}-01",
        published_at=now - timedelta(hours=2),
        public_from=now + timedelta(minutes=30),
    )
    t["scheduled"] = DisclosureFactory(
        unit=t["maoshan"],
        item=t["village"],
        period=f"{year}-01",
        published_at=now + timedelta(minutes=40),
    )
    t["answer"] = DisclosureFactory(
        unit=t["town"],
        item=t["f02"],
        period=f"{year}-{month:02d}",
        published_at=now + timedelta(minutes=50),
        title="点题答复",
    )
    staff = UserFactory(username="case_staff", is_staff=True)
    department = DepartmentFactory()
    t.update(staff=staff, department=department)
    cases = {}
    for unit in ("wenli", "maoshan", "shangcun"):
        case = SubmissionFactory(unit=t[unit], title=f"{unit}的意见")
        services.answer(case, by=staff, department=department, text="已答复")
        cases[unit] = case
    services.rate(fresh(Submission, cases["maoshan"].pk), rating=Rating.SATISFIED)
    open_case = SubmissionFactory(unit=t["wenli"], kind="suggestion", title="建议")
    services.accept(open_case, by=staff, department=department)
    cases["open"] = open_case
    late = SubmissionFactory(unit=t["maoshan"], title="逾期未受理")
    Submission.objects.filter(pk=late.pk).update(
        due_date=timezone.localdate() - timedelta(days=3)
    )
    cases["late"] = late
    cases["denunciation"] = SubmissionFactory(
        unit=t["wenli"], kind="denunciation", title="举报"
    )
    requests = {}
    for unit in ("wenli", "maoshan"):
        request = SubmissionFactory(unit=t[unit], kind="request", title=f"{unit}点题")
        services.accept(request, by=staff, department=department)
        requests[unit] = request
    services.answer(
        fresh(Submission, requests["wenli"].pk),
        by=staff,
        department=department,
        text="见公开",
        fulfilled_by=t["answer"],
    )
    t["cases"], t["requests"] = cases, requests
    return t


def figures(client, query: str) -> dict:
    response = client.get(f"/stats/?{query}")
    assert response.status_code == 200, (query, response.content[:300])
    c = response.context
    return {
        "charts": c["charts"],
        "totals": c["totals"],
        "feedback": c["feedback"],
        "total": c["disclosure_total"],
    }


def where_of(query: str) -> dict:
    found = dict(part.split("=") for part in query.split("&") if part)
    year = int(found["year"])
    if "unit" in found:
        return {"year": year, "unit": Unit.objects.get(slug=found["unit"])}
    return {"year": year, "town": Unit.objects.get(slug=found["town"])}


def straight_feedback(query: str) -> dict:
    return submissions_for(**where_of(query)).summary()


def straight_total(user, query: str) -> int:
    rows = disclosure_figures.disclosures_for(user, **where_of(query))
    return disclosure_figures.count(rows)["total"]


def town_queries(t, year=None) -> tuple[str, ...]:
    year = year or t["year"]
    return (
        f"year={year}&town=fengming",
        f"year={year}&town=qingshan",
        f"year={year}&unit=wenli",
        f"year={year}&unit=fengming",
    )


def check(settings, who: dict, queries) -> None:
    """Each reader's figures, kept, are those of the plain page and the
    straightforward counts."""
    for name, (client, user) in who.items():
        for query in queries:
            kept = figures(client, query)
            with plain(settings):
                expected = figures(client, query)
            for mine, theirs in zip(kept["charts"], expected["charts"], strict=True):
                assert mine == theirs, (name, query, mine.key)
            assert kept == expected, (name, query)
            assert kept["feedback"] == straight_feedback(query), (name, query)
            assert kept["total"] == straight_total(user, query), (name, query)


def visitor_only() -> dict:
    return {"visitor": (Client(), AnonymousUser())}


def committee_member(t):
    """Staff of the town's 党委 (acting for it): reads every branch."""
    user = UserFactory(username="committee_staff", is_staff=True)
    Organisation.objects.get(unit=t["town"], kind=BodyKind.PARTY_COMMITTEE).members.add(
        user
    )
    return user


def every_reader(t) -> dict:
    who = readers(t)
    committee = committee_member(t)
    who["committee"] = (logged_in(committee), committee)
    return who


def matrix_urls(t, year=None) -> tuple[str, ...]:
    year = year or t["year"]
    return (
        f"/compliance/?town=fengming&year={year}",
        f"/compliance/wenli/?year={year}",
        f"/compliance/maoshan/?year={year}",
    )


def matrices_plain(settings, t, year=None) -> None:
    client = Client()
    urls = matrix_urls(t, year)
    kept = {url: harness.served(client, url) for url in urls}
    with plain(settings):
        expected = {url: harness.served(client, url) for url in urls}
    assert all(status == 200 for status, _ in kept.values()), kept.keys()
    found = harness.stale_among(kept, expected)
    assert found == {}, found


def kept_shapes(prefix: str) -> list:
    return [
        (key[3], plan) for key, plan in compiled._plans.items() if key[3][0] == prefix
    ]


# Every audience, the plans kept ------------------------------------------------


def test_every_audience_reads_the_straightforward_figures_from_kept_sql(w, settings):
    who = every_reader(w)
    assert Reader.of(who["committee"][1]).key == "all"
    queries = town_queries(w)
    for _ in range(2):  # kept, then read from what was kept
        check(settings, who, queries)
    # The three new shapes were kept (not run as Django each time).
    assert kept_shapes("stats-year")
    assert None not in [plan for _, plan in kept_shapes("stats-year")]
    months = {shape[2] for shape, _ in kept_shapes("stats-unit-months")}
    assert months == {"public", "party:", "all", *_branch_keys(who)}
    assert None not in [plan for _, plan in kept_shapes("stats-unit-months")]
    # The town's figures are its units' added up, for each reader.
    for _client, user in who.values():
        for town in (w["town"], w["other"]):
            year = w["year"]
            whole = disclosure_figures.count(
                disclosure_figures.disclosures_for(user, year=year, town=town)
            )
            assert disclosure_figures.counted_by_unit(user, year=year, town=town) == (
                whole
            )


def _branch_keys(who) -> set:
    return {
        Reader.of(user).key
        for name, (_c, user) in who.items()
        if name.startswith("member_") and Reader.of(user).branch_id
    }


def test_the_requests_and_the_matrix_are_those_of_django(w, settings):
    matrices_plain(settings, w)
    ids = [w[n].pk for n in ("town", "wenli", "maoshan")]
    kept = obligations.accepted_requests(ids, w["year"])
    assert kept_shapes("compliance-requests")
    assert None not in dict(kept_shapes("compliance-requests")).values()
    with plain(settings):
        expected = obligations.accepted_requests(ids, w["year"])
    assert sorted(kept, key=lambda r: r.id) == sorted(expected, key=lambda r: r.id)
    assert {r.item_id for r in kept} == {w["f02"].pk}
    answered = next(r for r in kept if r.id == w["requests"]["wenli"].pk)
    assert answered.disclosed_on is None
    assert answered.answer_due == w["answer"].published_at


# Time passing ------------------------------------------------------------------


def test_the_moments_that_matter_pass(w, settings):
    """The 先党内后党外 row reaches the public, the scheduled row comes out,
    the 点题 answer comes out: each counted from then on, from the same
    plans."""
    who = readers(w)
    year = w["year"]
    queries = (
        f"year={year}&town=fengming",
        f"year={year}&town=qingshan",
        f"year={year}&unit=maoshan",
        f"year={year}&unit=fengming",
    )
    ids = [w[n].pk for n in ("town", "wenli", "maoshan")]
    check(settings, who, queries)
    before = figures(who["visitor"][0], queries[0])["total"]
    matrices_plain(settings, w)
    for minutes, more in ((31, 1), (41, 2), (51, 3)):
        with time_machine.travel(w["now"] + timedelta(minutes=minutes), tick=False):
            check(settings, who, queries)
            assert figures(who["visitor"][0], queries[0])["total"] == before + more
            matrices_plain(settings, w)
            kept = obligations.accepted_requests(ids, year)
            with plain(settings):
                assert kept == obligations.accepted_requests(ids, year)
    answered = next(r for r in kept if r.id == w["requests"]["wenli"].pk)
    assert answered.disclosed_on == timezone.localdate(w["answer"].published_at)
    assert answered.answer_due is None


# FAILED (mended): /stats/?unit=wenli (its on-time share, "compliance-unit", drawn by
# the engine, which counts wenli's 点题 request answered by the town's
# disclosure scheduled for later) is kept past the moment that answer comes
# out: composition/stats.py keeps the day's part until
# `disclosure.figures.kept` -> `compliance.next_scheduled([wenli])`, wenli's
# own scheduled rows, never the request's `answer_due` (another unit's row).
# Reproduce: read /stats/?unit=wenli after wenli's own 先党内后党外 row came
# out (else that expires it by chance), travel past the answer's
# published_at, read it again: 59 items where the plain page counts 60.
# Not of 54a709f: the same at e1e3476.
def test_a_request_answered_by_the_towns_row_coming_out_on_the_units_page(w, settings):
    who = visitor_only()
    query = f"year={w['year']}&unit=wenli"
    # After wenli's own 先党内后党外 row came out: nothing of wenli's own
    # is scheduled any more.
    with time_machine.travel(w["now"] + timedelta(minutes=35), tick=False):
        check(settings, who, (query,))
    with time_machine.travel(w["now"] + timedelta(minutes=51), tick=False):
        check(settings, who, (query,))


def test_the_answer_withdrawn_and_made_inner_party(w, settings, changed):
    with time_machine.travel(w["now"] + timedelta(minutes=51), tick=False):
        matrices_plain(settings, w)
        who = readers(w)
        check(settings, who, town_queries(w)[:1])
        admin = who["admin"][1]
        with changed():
            row = fresh(Disclosure, w["later_public"].pk)
            row.scope = "inner"
            row.save()
        check(settings, who, town_queries(w)[:3])
        with changed():
            disclosure_services.withdraw(
                fresh(Disclosure, w["answer"].pk), by=admin, reason="有误"
            )
        matrices_plain(settings, w)
        ids = [w[n].pk for n in ("town", "wenli", "maoshan")]
        kept = obligations.accepted_requests(ids, w["year"])
        answered = next(r for r in kept if r.id == w["requests"]["wenli"].pk)
        assert answered.disclosed_on is None and answered.answer_due is None


# The cases change ---------------------------------------------------------------


def test_every_change_of_a_case(w, settings, changed):
    who = visitor_only()
    queries = town_queries(w)
    check(settings, who, queries)
    staff, department = w["staff"], w["department"]
    cases = w["cases"]
    steps = [
        lambda: SubmissionFactory(unit=w["wenli"], title="新来的"),
        lambda: services.accept(
            fresh(Submission, cases["late"].pk), by=staff, department=department
        ),
        lambda: services.answer(
            fresh(Submission, cases["open"].pk),
            by=staff,
            department=department,
            text="答复",
        ),
        lambda: services.rate(
            fresh(Submission, cases["wenli"].pk), rating=Rating.UNSATISFIED
        ),
        lambda: services.escalate(fresh(Submission, cases["wenli"].pk), why="不满意"),
        lambda: services.hide(
            fresh(Submission, cases["denunciation"].pk), by=staff, reason="广告"
        ),
        lambda: _moved(cases["shangcun"], w["maoshan"]),  # another town
        lambda: _moved(cases["maoshan"], w["wenli"]),  # the same town
        lambda: _moved(cases["open"], w["town"]),  # a village's to its town
        lambda: fresh(Submission, cases["late"].pk).delete(),
    ]
    for n, step in enumerate(steps):
        with changed():
            step()
        try:
            check(settings, who, queries)
        except AssertionError as error:
            raise AssertionError(f"after step {n}") from error


def _moved(case, unit) -> None:
    row = fresh(Submission, case.pk)
    row.unit = unit
    row.save()


def test_a_village_moved_renamed_and_a_town_without_villages(w, settings, changed):
    who = visitor_only()
    check(settings, who, town_queries(w))
    with changed():
        unit = fresh(Unit, w["wenli"].pk)
        unit.parent = w["other"]
        unit.save()
    check(settings, who, town_queries(w)[:2])
    with changed():
        unit = fresh(Unit, w["wenli"].pk)
        unit.slug = "wenli2"
        unit.name = "文理二村"
        unit.save()
    year = w["year"]
    queries = (f"year={year}&town=qingshan", f"year={year}&unit=wenli2")
    check(settings, who, queries)
    with changed():
        SubmissionFactory(unit=w["wenli"], title="改名后的意见")
    check(settings, who, queries)
    with changed():
        lone = TownFactory(name="孤镇", slug="guzhen", order=3)
    check(settings, who, (f"year={year}&town=guzhen",))
    with changed():
        SubmissionFactory(unit=lone, title="镇上的意见")
    check(settings, who, (f"year={year}&town=guzhen", f"year={year}&unit=guzhen"))


def test_a_deadline_passing_at_midnight(w, settings, changed):
    """A case not yet accepted, due today: past midnight it waits past its
    deadline (the one count the date changes, kept apart until midnight)."""
    with changed():
        case = SubmissionFactory(unit=w["wenli"], title="今天到期")
    Submission.objects.filter(pk=case.pk).update(due_date=timezone.localdate())
    who = visitor_only()
    queries = town_queries(w)[:3]
    check(settings, who, queries)
    waiting = figures(who["visitor"][0], queries[0])["feedback"]["waiting_overdue"]
    tomorrow = timezone.localdate() + timedelta(days=1)
    with time_machine.travel(
        local(tomorrow.year, tomorrow.month, tomorrow.day, 0, 5), tick=False
    ):
        check(settings, who, queries)
        after = figures(who["visitor"][0], queries[0])["feedback"]
        assert after["waiting_overdue"] == waiting + 1


def test_the_year_boundary_in_local_time(w, settings, changed):
    """A case received, a request accepted and a row published at 23:59:59
    on 31 December (Asia/Shanghai: 15:59:59 UTC) are of that year; those a
    second later of the next. The year's pages read in its last second,
    then in the next year's first minute."""
    year = w["year"]
    staff, department = w["staff"], w["department"]
    eve, new_year = local(year, 12, 31, 23, 59, 59), local(year + 1, 1, 1)
    made = {}
    member = PartyMemberFactory(username="member_eve", branch_of=w["wenli"])

    def who() -> dict:  # logged in at the time (a session of Dec 7 is over)
        return {
            "visitor": (Client(), AnonymousUser()),
            "member": (logged_in(member), member),
        }

    for moment in (eve, new_year):
        with time_machine.travel(moment, tick=False):
            with changed():
                case = SubmissionFactory(unit=w["wenli"], title=f"{moment}")
                request = SubmissionFactory(
                    unit=w["maoshan"], kind="request", title=f"点题{moment}"
                )
                services.accept(request, by=staff, department=department)
                for item in (w["party"], w["branch"]):
                    DisclosureFactory(
                        unit=w["wenli"],
                        item=item,
                        period=f"{moment.year}-{moment.month:02d}",
                        published_at=moment,
                    )
            made[moment] = (case, request)
            if moment == eve:
                check(settings, who(), town_queries(w, year)[:3])
                matrices_plain(settings, w, year)
    with time_machine.travel(local(year + 1, 1, 1, 0, 0, 30), tick=False):
        readers_now = who()
        for y in (year, year + 1):
            check(settings, readers_now, town_queries(w, y)[:3])
        new = figures(readers_now["visitor"][0], f"year={year + 1}&unit=wenli")
        assert new["feedback"]["received"] == 1
        assert new["total"] == 1  # the public one; the member reads 2
        member_reads = figures(readers_now["member"][0], f"year={year + 1}&unit=wenli")
        assert member_reads["total"] == 2
        ids = [w["maoshan"].pk]
        this = {r.id for r in obligations.accepted_requests(ids, year)}
        then = {r.id for r in obligations.accepted_requests(ids, year + 1)}
        assert made[eve][1].pk in this and made[eve][1].pk not in then
        assert made[new_year][1].pk in then and made[new_year][1].pk not in this
        for y in (year, year + 1):
            matrices_plain(settings, w, y)


# Readers ----------------------------------------------------------------------


def test_two_readers_of_one_key_and_a_member_moved(w, settings, changed):
    who = readers(w)
    other_user = type(who["member_wenli"][1]).objects.create(username="member_w2")
    other_user.groups.set(who["member_wenli"][1].groups.all())
    PartyMembership.objects.create(
        user=other_user,
        branch=PartyMembership.objects.get(user=who["member_wenli"][1]).branch,
    )
    who["member_w2"] = (logged_in(other_user), other_user)
    assert Reader.of(other_user).key == Reader.of(who["member_wenli"][1]).key
    queries = town_queries(w)[:3]
    check(settings, who, queries)
    client, user = who["member_wenli"]
    with changed():
        membership = PartyMembership.objects.get(user=user)
        membership.branch = w["maoshan"].organisations.branches().get()
        membership.save()
    user = type(user).objects.get(pk=user.pk)
    who["member_wenli"] = (client, user)
    check(settings, who, queries)
    assert Reader.of(user).key == Reader.of(who["member_maoshan"][1]).key


def test_a_branch_gets_its_first_own_row(w, settings, changed):
    """A member of a branch with no 党组织内部 row reads as a member of no
    branch ("party:"); its first such row makes them "party:<branch>", and
    the plans and counts follow."""
    year = w["year"]
    xincun = UnitFactory(name="新村", slug="xincun", parent=w["town"], order=3)
    member = PartyMemberFactory(username="member_xin", branch_of=xincun)
    assert Reader.of(member).key == "party:"
    who = {"member": (logged_in(member), member), "visitor": visitor_only()["visitor"]}
    queries = (f"year={year}&town=fengming", f"year={year}&unit=xincun")
    check(settings, who, queries)
    before = figures(who["member"][0], queries[0])["total"]
    with changed():
        DisclosureFactory(unit=xincun, item=w["branch"], period=f"{year}-03")
    member = type(member).objects.get(pk=member.pk)
    who["member"] = (who["member"][0], member)
    assert Reader.of(member).key.startswith("party:") and Reader.of(member).branch_id
    check(settings, who, queries)
    assert figures(who["member"][0], queries[0])["total"] == before + 1
    assert figures(who["visitor"][0], queries[0])["total"] == straight_total(
        None, queries[0]
    )


# Hostile lists, the caches off, the pool full ----------------------------------


def test_hostile_unit_lists(w, settings):
    year = w["year"]
    real = [w[n].pk for n in ("town", "wenli", "maoshan", "other", "shangcun")]
    made_up = max(real) + 1000
    lists = [
        [],
        real,
        list(reversed(real)) + real,  # repeated, out of order
        [w["wenli"].pk, 2**31 + 5],  # past int4
        [w["wenli"].pk, -(2**31) - 5],
        [-1, 0, made_up],
        real + list(range(made_up, made_up + compiled.MAX_KEYS)),  # > MAX_KEYS
    ]
    users = [AnonymousUser(), *(u for _c, u in readers(w).values())]
    for ids in lists:
        kept = {
            Reader.of(u).key: disclosure_figures.count_by_unit(u, year, ids)
            for u in users
        }
        requests = obligations.accepted_requests(ids, year)
        with plain(settings):
            for u in users:
                assert (
                    disclosure_figures.count_by_unit(u, year, ids)
                    == (kept[Reader.of(u).key])
                ), (ids[:5], Reader.of(u).key)
            assert obligations.accepted_requests(ids, year) == requests
        assert set(kept["public"]) <= set(real)
    assert len(kept["public"]) == 5


def test_first_run_inside_a_rolled_back_savepoint(w, settings):
    """Each new shape compiled (and, on PostgreSQL, prepared) first inside a
    savepoint that is rolled back, then run again and again (past the
    server's five runs before a generic plan), one unit at a time."""
    year = w["year"]
    member = w["wenli"]
    user = PartyMemberFactory(username="member_sp", branch_of=member)
    units = [w[n] for n in ("town", "wenli", "maoshan", "other", "shangcun")]
    with transaction.atomic():
        disclosure_figures.count_by_unit(user, year, [units[0].pk])
        obligations.accepted_requests([units[0].pk], year)
        year_summary(year=year, unit=units[0])
        transaction.set_rollback(True)
    for _ in range(2):
        for unit in units:
            kept = (
                disclosure_figures.count_by_unit(user, year, [unit.pk]),
                obligations.accepted_requests([unit.pk], year),
                year_summary(year=year, unit=unit),
            )
            with plain(settings):
                assert kept == (
                    disclosure_figures.count_by_unit(user, year, [unit.pk]),
                    obligations.accepted_requests([unit.pk], year),
                    submissions_for(year=year, unit=unit).summary(),
                ), unit.slug


def test_a_case_rolled_back_after_the_statistics_counted_it(w, settings):
    """The town's and the unit's figures read inside a transaction holding a
    new case, then rolled back: nothing of it kept."""
    who = visitor_only()
    queries = town_queries(w)[:3]
    check(settings, who, queries)
    with transaction.atomic():
        SubmissionFactory(unit=w["wenli"], title="回滚的意见")
        request = SubmissionFactory(unit=w["wenli"], kind="request", title="回滚点题")
        services.accept(request, by=w["staff"], department=w["department"])
        for query in queries:
            figures(who["visitor"][0], query)
        client = Client()
        for url in matrix_urls(w):
            client.get(url)
        transaction.set_rollback(True)
    check(settings, who, queries)
    matrices_plain(settings, w)


def test_the_value_cache_off(w, settings, changed):
    settings.VALUE_CACHE_SECONDS = 0
    who = readers(w)
    queries = town_queries(w)[:3]
    check(settings, who, queries)
    with changed():
        SubmissionFactory(unit=w["maoshan"], title="缓存关闭时")
        DisclosureFactory(unit=w["wenli"], item=w["inner"], period=f"{w['year']}-02")
    check(settings, who, queries)
    matrices_plain(settings, w)


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_the_plan_pool_full(w, settings, changed, monkeypatch, limit):
    """core.compiled's pool past its limit (its older half dropped at each
    new shape), or keeping nothing."""
    monkeypatch.setattr(compiled, "LIMIT", limit)
    who = {k: v for k, v in readers(w).items() if k in ("visitor", "member_wenli")}
    queries = town_queries(w)[:3]
    check(settings, who, queries)
    with changed():
        SubmissionFactory(unit=w["wenli"], title="池满")
    check(settings, who, queries)
    matrices_plain(settings, w)
    assert len(compiled._plans) <= max(limit, 0) + 1


def test_a_town_of_more_villages_than_a_plan_takes(w, settings, changed):
    """A town of MAX_KEYS + 1 villages: its units' counts, cases and requests
    run as Django runs them (no plan for so many ids), the same figures."""
    big = TownFactory(name="大镇", slug="dazhen", order=3)
    villages = [
        UnitFactory(name=f"大{n}村", slug=f"da{n}", parent=big)
        for n in range(compiled.MAX_KEYS + 1)
    ]
    year, staff, department = w["year"], w["staff"], w["department"]
    for unit in (big, villages[0], villages[-1]):
        for item in (w["party"], w["branch"]):
            DisclosureFactory(unit=unit, item=item, period=f"{year}-01")
        case = SubmissionFactory(unit=unit, title=f"{unit.name}的意见")
        services.answer(case, by=staff, department=department, text="已答复")
        request = SubmissionFactory(unit=unit, kind="request", title="点题")
        services.accept(request, by=staff, department=department)
    member = PartyMemberFactory(username="member_da", branch_of=villages[-1])
    who = {
        "visitor": (Client(), AnonymousUser()),
        "member": (logged_in(member), member),
    }
    queries = (f"year={year}&town=dazhen", f"year={year}&unit={villages[-1].slug}")
    check(settings, who, queries)
    with changed():
        SubmissionFactory(unit=villages[50], title="又一条")
        DisclosureFactory(unit=villages[50], item=w["party"], period=f"{year}-02")
    check(settings, who, queries)
    ids = [big.pk, *(v.pk for v in villages)]
    kept = obligations.accepted_requests(ids, year)
    with plain(settings):
        assert kept == obligations.accepted_requests(ids, year)
    assert len(kept) == 3
    assert figures(Client(), queries[0])["feedback"]["received"] == 7


def test_the_default_page_and_the_csv(w, settings, changed):
    """/stats/ (the first town, the latest year with data) and its CSV, as
    a visitor and as a member, kept and plain."""
    who = readers(w)
    for name in ("visitor", "member_wenli"):
        client = who[name][0]
        for _ in range(2):
            for url in ("/stats/", "/stats/csv/", "/stats/csv/?unit=wenli"):
                kept = client.get(url)
                with plain(settings):
                    expected = client.get(url)
                assert kept.status_code == expected.status_code == 200
                if "csv" in url:
                    assert kept.content == expected.content, (name, url)
                else:
                    assert kept.context["feedback"] == expected.context["feedback"]
                    assert kept.context["charts"] == expected.context["charts"]
            with changed():
                SubmissionFactory(unit=w["wenli"], title=f"{name}后来的")
    page = who["visitor"][0].get("/stats/")
    assert page.context["town"] == w["town"]
    assert (
        page.context["feedback"]
        == submissions_for(year=page.context["year"], town=w["town"]).summary()
    )


def test_a_portal_without_a_town(settings, changed):
    """A fresh install: a village under no town. /stats/ counts the county
    at once (no town), the village's page its own cases."""
    village = UnitFactory(name="孤村", slug="gucun")
    item = ItemFactory(code="A01")
    year = timezone.localdate().year
    DisclosureFactory(unit=village, item=item, period=f"{year}-01")
    SubmissionFactory(unit=village, accepted=True, title="孤村的咨询")
    visitor = Client()
    for _ in range(2):
        for url, where in (("/stats/", {}), ("/stats/?unit=gucun", {"unit": village})):
            kept = visitor.get(url)
            with plain(settings):
                expected = visitor.get(url)
            assert kept.status_code == expected.status_code == 200
            assert kept.context["charts"] == expected.context["charts"], url
            assert kept.context["feedback"] == expected.context["feedback"], url
            assert kept.context["feedback"] == (
                submissions_for(year=year, **where).summary()
            )
        with changed():
            SubmissionFactory(unit=village, title="又一条")
    assert visitor.get("/stats/").context["feedback"]["received"] == 3


# The 点题 answer item ---------------------------------------------------------


def test_the_request_item_code_changed_in_settings(w, settings):
    """The code in the shape: a plan kept for F02 is not used for another."""
    ids = [w[n].pk for n in ("town", "wenli", "maoshan")]
    year = w["year"]
    first = obligations.accepted_requests(ids, year)
    assert {r.item_id for r in first} == {w["f02"].pk}
    other = ItemFactory(code="F09", name="另一个点题事项", category=w["party"].category)
    settings.FEEDBACK_REQUEST_ITEM_CODE = "F09"
    kept = obligations.accepted_requests(ids, year)
    assert {r.item_id for r in kept} == {other.pk}
    settings.FEEDBACK_REQUEST_ITEM_CODE = "NONE"
    # No such item: the case's item, else its answer's.
    kept = {r.id: r.item_id for r in obligations.accepted_requests(ids, year)}
    with plain(settings):
        expected = {r.id: r.item_id for r in obligations.accepted_requests(ids, year)}
    assert kept == expected
    assert kept[w["requests"]["wenli"].pk] == w["f02"].pk  # its answer's item
    assert kept[w["requests"]["maoshan"].pk] is None


# FAILED (mended): not of 54a709f (the same at e1e3476), though its shape holds the
# code: the engine's kept values are named without
# settings.FEEDBACK_REQUEST_ITEM_CODE (disclosure.compliance.load_inputs,
# "compliance:requests:<year>:<unit>", whose RequestSpec.item_id is the
# code's item; and the counts and tables kept from them), and a change of
# the setting (an environment variable: no file of the release changes, so
# core.release's generation does not move either) names no scope. After a
# restart with another code the matrix and the units' pages count the
# requests under the old item until those values expire. Reproduce: read
# /compliance/?town=fengming, set FEEDBACK_REQUEST_ITEM_CODE="F09" (an
# item that exists), read again: the 点题 row is still F02's.
def test_the_matrix_after_the_request_item_code_changed(w, settings, changed):
    with changed():
        ItemFactory(code="F09", name="另一个点题事项", category=w["party"].category)
    matrices_plain(settings, w)
    settings.FEEDBACK_REQUEST_ITEM_CODE = "F09"
    matrices_plain(settings, w)


def test_the_f02_item_renamed_and_deleted(w, settings, changed):
    ids = [w[n].pk for n in ("town", "wenli", "maoshan")]
    year = w["year"]
    matrices_plain(settings, w)
    with changed():
        spare = ItemFactory(code="F77", name="备用", category=w["party"].category)
    with changed():
        item = Item.objects.get(pk=w["f02"].pk)
        item.code = "F02-old"
        item.save()
        item = Item.objects.get(pk=spare.pk)
        item.code = "F02"
        item.save()
    kept = obligations.accepted_requests(ids, year)
    assert {r.item_id for r in kept} == {spare.pk}
    matrices_plain(settings, w)
    with changed():
        Item.objects.get(pk=spare.pk).delete()
    kept = {r.id: r.item_id for r in obligations.accepted_requests(ids, year)}
    with plain(settings):
        expected = {r.id: r.item_id for r in obligations.accepted_requests(ids, year)}
    assert kept == expected
    matrices_plain(settings, w)


# The months in one query --------------------------------------------------------


def test_the_months_are_the_two_charts_counted_apart(w):
    for where in ({"town": w["town"]}, {"unit": w["wenli"]}, {"town": w["other"]}):
        cases = submissions_for(year=w["year"], **where)
        received, on_time = by_month(cases)
        assert received.series == monthly_series(
            cases, date_field="received_at", kind_field="kind", choices=Kind.choices
        )
        rows = {
            r["month"]: r
            for r in cases.with_local_dates()
            .annotate(month=ExtractMonth("received_at"))
            .values("month")
            .annotate(answered=ANSWERED_COUNT, on_time=ON_TIME_COUNT)
            .order_by()
        }
        shares = [
            round(100 * rows[m]["on_time"] / rows[m]["answered"])
            if m in rows and rows[m]["answered"]
            else None
            for m in range(1, 13)
        ]
        assert on_time.series == [(on_time.series[0][0], shares)]
        assert year_summary(year=w["year"], **where) == cases.summary()


# Another process's new slug ------------------------------------------------------


# FAILED (mended): a regression of 54a709f. A new case names its unit's scopes from
# this process's copy of the slugs (feedback.summary.on_new_case and
# feedback.page_scopes.submission_scopes: `unit_scopes(...)` without
# fresh=True for a created row). Within the second after another process gave
# 茅山村 a new slug, it names "cases-unit:maoshan" and "cases-town:fengming".
# The town's figures are made again (cases-town moved), but
# feedback.figures.year_summary now adds up 茅山村's counts kept under
# "cases-unit:xinmaoshan", which nothing moved: the town's 回音壁收到 misses
# the case for up to a day (PART_SECONDS). Before 54a709f the town's remake
# counted its cases afresh (this test passes at e1e3476). Reproduce: give
# maoshan a new slug, read /stats/?town=fengming, as_a_process_that_has_not_seen
# (maoshan), add a case there, read again: received 7, plainly 8.
def test_a_new_case_by_a_process_that_has_not_seen_a_new_slug(w, settings, changed):
    """Another process gives 茅山村 a new slug; the town's statistics are read
    (茅山村's counts kept under "cases-unit:xinmaoshan"). This process, which
    still holds "maoshan" for it, takes a new case there."""
    who = visitor_only()
    year = w["year"]
    with changed():
        unit = fresh(Unit, w["maoshan"].pk)
        unit.slug = "xinmaoshan"
        unit.save()  # another process
    figures(who["visitor"][0], f"year={year}&town=fengming")
    as_a_process_that_has_not_seen(w["maoshan"].pk, "maoshan", "fengming")
    with changed():
        SubmissionFactory(unit=w["maoshan"], title="新意见")
    page_scopes.forget_slugs()  # a second later: this process sees the slug
    check(settings, who, (f"year={year}&town=fengming",))


# Migration 0023 ------------------------------------------------------------------


def test_the_item_index_is_the_item_unit_period_one():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, Disclosure._meta.db_table
        )
    indexes = {
        name: c["columns"]
        for name, c in constraints.items()
        if c["index"] and not c["primary_key"]
    }
    assert indexes["disclosure_item_unit_idx"] == ["item_id", "unit_id", "period_start"]
    # The bare index on item_id is gone (the new one begins with it).
    assert ["item_id"] not in indexes.values()
    # Item's PROTECT check reads the disclosures of an item: still by index.
    assert any(cols[0] == "item_id" for cols in indexes.values())
