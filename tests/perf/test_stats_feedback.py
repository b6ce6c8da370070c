"""The statistics' 回音壁 figures of a year from each unit's kept counts
(feedback.figures.year_summary: feedback.summary.summary_by_unit, SQL kept
per year): the same figures as the straightforward count of the year's
cases, for a town, a unit and another year, before and after cases change,
and a case's change recounts its unit from the kept SQL."""

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

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
