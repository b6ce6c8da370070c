"""The statistics' 回音壁 figures of a year from each unit's kept counts
(feedback.figures.year_summary: feedback.summary.summary_by_unit, SQL kept
per year): the same figures as the straightforward count of the year's
cases, for a town, a unit and another year, before and after cases change,
and a case's change recounts its unit from the kept SQL."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import caching
from feedback import figures, kept_counts
from feedback.figures import by_month, submissions_for
from feedback.models import Submission, SubmissionQuerySet
from tests.factories import SubmissionFactory
from tests.perf.test_scoped_values import two_towns
from tests.perf.test_unit_and_catalog_scopes import counted
from tests.perf.test_wall_summary_compiled import answered, kept_plans, varied

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("values_only", "no_compiled_plans"),
]


@pytest.fixture
def county():
    return two_towns()


def stats(client: Client, query: str):
    response = client.get(f"/stats/?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.context


def straight(**where) -> dict:
    """The year's cases of the unit or town, counted at once."""
    return submissions_for(**where).summary()


def test_a_towns_and_a_units_figures_are_the_straightforward_count(county):
    varied(county)
    year = timezone.localdate().year
    visitor = Client()
    town = stats(visitor, f"year={year}&town=fengming")
    assert town["feedback"] == straight(year=year, town=county["fengming"])
    assert town["feedback"]["received"] > 0
    # The three counts and those waiting past their deadline, kept once.
    assert kept_plans("stats-year") == 4
    unit = stats(visitor, f"year={year}&unit=shangcun")
    assert unit["feedback"] == straight(year=year, unit=county["shangcun"])
    assert unit["feedback"]["waiting_overdue"] == 1
    # One unit where the town has three: statements of their own (the
    # number of ids is the statement's), not one each unit.
    assert kept_plans("stats-year") == 8
    other = stats(visitor, f"year={year}&unit=wenli")
    assert other["feedback"] == straight(year=year, unit=county["wenli"])
    assert kept_plans("stats-year") == 8


def test_another_years_cases_are_counted_in_their_year(county):
    varied(county)
    year = timezone.localdate().year
    # One second before the local new year: of the year before.
    tz = timezone.get_current_timezone()
    eve = datetime(year - 1, 12, 31, 23, 59, 59, tzinfo=tz)
    old = answered(county["wenli"], days=3, rating="satisfied")
    Submission.objects.filter(pk=old.pk).update(
        received_at=eve, answered_at=eve + timedelta(days=3)
    )
    visitor = Client()
    before = stats(visitor, f"year={year - 1}&town=fengming")["feedback"]
    assert before == straight(year=year - 1, town=county["fengming"])
    assert before["received"] == 1
    assert before["answered"] == 1
    this_year = stats(visitor, f"year={year}&town=fengming")["feedback"]
    assert this_year == straight(year=year, town=county["fengming"])
    # Two shapes: one a year.
    assert kept_plans("stats-year") == 8


def test_a_change_of_a_case_recounts_the_towns_units_from_kept_sql(
    county, changed, monkeypatch
):
    varied(county)
    year = timezone.localdate().year
    visitor = Client()
    stats(visitor, f"year={year}&town=fengming")
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts")
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True)
        case = Submission.objects.filter(unit=county["maoshan"]).first()
        case.status = "answered"
        case.answered_at = timezone.now()
        case.answer_text = "已答复"
        case.rating = "satisfied"
        case.save()
    after = stats(visitor, f"year={year}&town=fengming")["feedback"]
    assert after == straight(year=year, town=county["fengming"])
    # The town's units counted again at once (kept under the town's cases
    # too: a new case names its town by a slug no other process changed),
    # from the statements kept: no statement of the year's made again.
    town = sorted(county[n].pk for n in ("fengming", "wenli", "maoshan"))
    assert [kw["units"] for _args, kw in parts if kw.get("by_unit")] == [tuple(town)]
    assert kept_plans("stats-year") == 4


def test_a_case_elsewhere_leaves_the_towns_figures_kept(county, changed, monkeypatch):
    varied(county)
    year = timezone.localdate().year
    visitor = Client()
    first = stats(visitor, f"year={year}&town=fengming")["feedback"]
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts")
    with changed():
        SubmissionFactory(unit=county["xiacun"], accepted=True)
    assert stats(visitor, f"year={year}&town=fengming")["feedback"] == first
    assert [kw for _args, kw in parts if kw.get("by_unit")] == []


def test_the_months_are_those_of_the_charts_counted_apart(county):
    varied(county)
    year = timezone.localdate().year
    cases = submissions_for(year=year, town=county["fengming"])
    received, on_time = by_month(cases)
    # Received per month and kind: the rows of each month, every kind.
    by_kind = dict(received.series)
    month = timezone.localtime().month
    this_month = cases.filter(received_at__month=month)
    total = sum(values[month - 1] for values in by_kind.values())
    assert total == this_month.count()
    # Answered on time, in the month they came in: the summary's rule.
    (_label, shares), *_ = on_time.series
    answered_cases = Submission.objects.filter(
        pk__in=cases.values("pk"), answered_at__isnull=False
    )
    months = {
        c.received_at.astimezone(timezone.get_current_timezone()).month
        for c in answered_cases
    }
    for m in range(1, 13):
        if m not in months:
            assert shares[m - 1] is None
    summary = cases.summary()
    assert summary["answered"] == answered_cases.count()
    if len(months) == 1:
        (only,) = months
        assert shares[only - 1] == round(100 * summary["on_time"] / summary["answered"])


# The figures kept by the state of the town's cases (kept_counts.by_cases):
# a flush of the value cache leaves them; a change of a case, the nightly
# check, the day and a kept entry not as written do not.


def case_queries(client: Client, query: str) -> tuple[dict, list[str]]:
    """The page's 回音壁 figures, and the statements it ran on the cases (not
    the compliance engine's, on the 点题 requests)."""

    with CaptureQueriesContext(connection) as queries:
        found = stats(client, query)["feedback"]
    return found, [
        q["sql"]
        for q in queries.captured_queries
        if "feedback_submission" in q["sql"]
        and '"feedback_submission"."kind" = \'request\'' not in q["sql"]
    ]


def counted_town(county) -> tuple[int, Client, str]:
    """Varied cases, every unit's kept counts counted (as the nightly check
    leaves them): the year, a visitor and the town's query."""

    varied(county)
    kept_counts.refresh()
    year = timezone.localdate().year
    return year, Client(), f"year={year}&town=fengming"


def counted_again(county, visitor: Client, query: str, year: int) -> dict:
    """After a flush: the town's figures counted from its cases, and right."""
    caching._bump()
    found, counted = case_queries(visitor, query)
    assert counted
    assert found == straight(year=year, town=county["fengming"])
    return found


def test_a_flush_leaves_the_towns_figures_kept_by_its_cases(county):
    year, visitor, query = counted_town(county)
    first, counted_then = case_queries(visitor, query)
    assert counted_then, "counted once"
    caching._bump()  # a change no scope names: every version moved
    again, counted_now = case_queries(visitor, query)
    assert again == first == straight(year=year, town=county["fengming"])
    assert counted_now == []
    # Another year, a unit alone: their own.
    assert case_queries(visitor, f"year={year - 1}&town=fengming")[1]
    assert case_queries(visitor, f"year={year}&unit=wenli")[1]


def test_a_change_of_a_case_after_a_flush_is_counted(county, changed):
    year, visitor, query = counted_town(county)
    before, _ = case_queries(visitor, query)
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True)
    after = counted_again(county, visitor, query, year)
    assert after["received"] == before["received"] + 1


def test_a_raise_lost_is_caught_by_the_nightly_check(county):
    """A case changed with no raise (a process stopped between its commit and
    its raise): the figures kept stay those of before, as the wall's counts
    do, until the nightly check counts every row again."""
    year, visitor, query = counted_town(county)
    case_queries(visitor, query)
    SubmissionFactory(unit=county["maoshan"], accepted=True)  # no raise
    caching._bump()
    kept_counts.refresh()  # warm_pages, each night
    counted_again(county, visitor, query, year)


def test_the_next_day_counts_its_cases_waiting_past_their_deadline(county):
    year, visitor, query = counted_town(county)
    noon = timezone.localtime().replace(month=6, day=15, hour=12, year=year)
    with time_machine.travel(noon, tick=False):
        waiting = SubmissionFactory(unit=county["wenli"])  # not yet read
    Submission.objects.filter(pk=waiting.pk).update(
        received_at=noon, due_date=noon.date() + timedelta(days=10)
    )
    kept_counts.refresh()
    with time_machine.travel(noon + timedelta(days=10), tick=False):
        caching._bump()
        on_due = case_queries(visitor, query)[0]
    with time_machine.travel(noon + timedelta(days=11), tick=False):
        late = counted_again(county, visitor, query, year)
    assert late["waiting_overdue"] == on_due["waiting_overdue"] + 1


def test_an_entry_not_as_written_is_counted_again(county):
    year, visitor, query = counted_town(county)
    first, _ = case_queries(visitor, query)
    (key,) = [k for k in cache._cache if "kept-counts:by-cases:" in k]
    name = key.split(":", 2)[-1]
    state, kept = cache.get(name)
    for wrong in (
        None,
        "figures",
        (state,),
        (("another",), kept),
        (state, {"charts": []}),
        (state, type(kept)(charts="x", values={}, totals=[])),
        (state, type(kept)(charts=[], values={"feedback": 1}, totals=[])),
    ):
        cache.set(name, wrong)
        caching._bump()
        found, counted = case_queries(visitor, query)
        assert found == first, wrong
        assert counted, wrong


def test_nothing_is_kept_inside_a_changes_transaction(county):
    varied(county)
    kept_counts.refresh()
    year = timezone.localdate().year
    with transaction.atomic():
        figures.figures(None, year=year, town=county["fengming"])
    assert not [k for k in cache._cache if "kept-counts:by-cases:" in k]
    figures.figures(None, year=year, town=county["fengming"])
    assert [k for k in cache._cache if "kept-counts:by-cases:" in k]
