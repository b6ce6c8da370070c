"""The 回音壁's counts of a unit from kept SQL (feedback.summary.unit_parts,
`summary_parts(shape=)`, core.compiled): a case coming in or changing
recounts its unit without building and compiling the three grouped queries
again, and the figures are those of the straightforward count for every
filter, before and after."""

from datetime import timedelta

import pytest
import time_machine
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from composition.views import town_feedback
from core import compiled
from feedback.filters import SubmissionFilter
from feedback.models import (
    CONFIDENTIAL_KINDS,
    AnswerRound,
    Submission,
    SubmissionQuerySet,
)
from feedback.summary import filter_shape
from tests.factories import SubmissionFactory, TagFactory
from tests.perf.test_scoped_values import two_towns
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("values_only", "no_compiled_plans"),
]


@pytest.fixture
def county(changed):
    # Committed, as a page outside the change's transaction meets it (a case
    # coming in holds its unit's kept counts until its transaction commits).
    with changed():
        return two_towns()


def on_record():
    return Submission.objects.on_record().exclude(kind__in=CONFIDENTIAL_KINDS)


def answered(unit, *, days: int, rating: str = "", **fields) -> Submission:
    """A case answered `days` after it came in, rated, and once reopened
    (its first round rated 不满意: every round's rating counts)."""
    case = SubmissionFactory(unit=unit, accepted=True, **fields)
    received = timezone.now() - timedelta(days=days + 3)
    Submission.objects.filter(pk=case.pk).update(
        status="answered",
        received_at=received,
        answered_at=received + timedelta(days=days),
        answer_text="已答复",
        rating=rating,
        rating_channel="phone" if rating else "",
    )
    AnswerRound.objects.create(
        submission=case,
        number=1,
        due_date=timezone.localdate(),
        answer_text="第一次答复",
        answered_at=received + timedelta(days=1),
        rating="unsatisfied",
    )
    return case


def varied(county) -> None:
    tag = TagFactory(name="道路")
    answered(
        county["wenli"],
        days=2,
        rating="satisfied",
        kind="suggestion",
        outcome="adopted",
    )
    answered(county["wenli"], days=5, rating="fairly", tag=tag)
    answered(county["shangcun"], days=9, rating="unsatisfied", kind="suggestion")
    escalated = SubmissionFactory(unit=county["xiacun"], accepted=True)
    Submission.objects.filter(pk=escalated.pk).update(
        escalated_round=1, round=1, due_date=timezone.localdate() - timedelta(days=1)
    )
    # Waiting, not yet read, past their deadline (counted per day apart).
    for unit, kind in (("wenli", "question"), ("shangcun", "suggestion")):
        late = SubmissionFactory(unit=county[unit], kind=kind)
        Submission.objects.filter(pk=late.pk).update(
            due_date=timezone.localdate() - timedelta(days=2)
        )


def expected(query: str) -> dict:
    """The straightforward count of what the wall filtered so shows."""
    f = SubmissionFilter(QueryDict(query), queryset=on_record())
    assert f.is_valid()
    return f.qs.summary()


FILTERS = (
    "",
    "unit=wenli",
    "unit=xiacun",
    "kind=suggestion",
    "status=answered",
    "escalated=1",
    "outcome=adopted",
    "received_after=2000-01-01&received_before=2099-12-31",
)


@pytest.mark.parametrize("query", FILTERS)
def test_the_counts_from_kept_sql_are_the_straightforward_ones(county, changed, query):
    varied(county)
    visitor = Client()
    first = visitor.get(f"/feedback/?{query}")
    assert first.status_code == 200
    assert first.context["summary"] == expected(query)
    if not query:
        assert first.context["summary"]["waiting_overdue"] == 2
    # The three counts and the cases waiting past their deadline today.
    assert kept_plans("wall") == 4
    # A case comes in and another is answered, in each town: each unit
    # recounted from the kept SQL, the figures right.
    with changed():
        SubmissionFactory(unit=county["wenli"])
        case = Submission.objects.filter(unit=county["xiacun"]).first()
        case.status = "answered"
        case.answered_at = timezone.now()
        case.answer_text = "已答复"
        case.rating = "satisfied"
        case.save()
    again = visitor.get(f"/feedback/?{query}")
    assert again.context["summary"] == expected(query)


def test_a_case_coming_in_recounts_its_unit_without_compiling_again(
    county, changed, monkeypatch
):
    with changed():  # committed: a case coming in holds its unit's rows till then
        varied(county)
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True)
    compiles = counted(monkeypatch, compiled, "_compile")

    def counts_compiled() -> int:
        # The counts' plans (not the cards', nor the overdue count's): each
        # made once, by one compile.
        names = ("totals", "days", "ratings")
        made = sum(
            1
            for key, plan in compiled._plans.items()
            if key[3][0] == "wall" and len(key[3]) > 3 and key[3][-3] in names
        )
        assert made <= len(compiles)
        return made

    visitor = Client()
    visitor.get("/feedback/")
    assert counts_compiled() == 3  # the county's units at once: three queries
    made = []
    for case_in in ("wenli", "wenli", "shangcun"):
        with changed():
            case = SubmissionFactory(unit=county[case_in])
        assert visitor.get("/feedback/").context["summary"] == expected("")
        # Counted alone and added to its unit's kept counts (feedback.
        # kept_counts._caught_up, since 2026-12-07, fifth session), its SQL
        # kept with the case a parameter.
        assert parts[-1][1]["shape"] == ("kept-counts-added", "wall")
        assert parts[-1][1]["cases"] == (case.pk,)
        made.append((counts_compiled(), kept_plans("kept-counts-added")))
    # The first case's count compiles its three queries; the next one none,
    # of that unit or another (the case is a parameter); the county's three
    # are not made again.
    assert made == [(3, 3), (3, 3), (3, 3)]
    assert kept_plans("wall") == 3 + 1  # and the county's overdue count


def wall_shape(query: str = "") -> tuple:
    """The shape the wall gives its counts, filtered so."""
    f = SubmissionFilter(QueryDict(query), queryset=on_record())
    assert f.is_valid()
    return filter_shape("wall", f.form.cleaned_data)


def kept_plans(source: str) -> int:
    """Plans kept for shapes of this source; none may be one Django runs
    afresh each time (None: its SQL was not the moment's alone)."""
    plans = [plan for key, plan in compiled._plans.items() if key[3][0] == source]
    assert None not in plans
    return len(plans)


def test_the_home_pages_cases_are_counted_from_kept_sql(county, changed):
    varied(county)
    town = {
        unit.pk: unit.slug
        for unit in (county["fengming"], county["wenli"], county["maoshan"])
    }
    straight = Submission.objects.on_record().filter(unit__in=list(town))
    assert town_feedback(town) == straight.summary()
    assert kept_plans("home") == 4  # the overdue count of the town's units
    with changed():
        SubmissionFactory(unit=county["wenli"])
        answered(county["maoshan"], days=4, rating="satisfied")
    assert town_feedback(town) == straight.summary()
    assert Client().get("/").status_code == 200


def test_what_a_filter_form_selects_names_rows_by_their_keys(county):
    tag = TagFactory(name="环境")
    f = SubmissionFilter(
        {"unit": "wenli", "tag": str(tag.pk), "received_after": "2011-09-01"},
        queryset=on_record(),
    )
    assert f.is_valid()
    shape = filter_shape("wall", f.form.cleaned_data)
    hash(shape)
    assert ("unit", ("disclosure.Unit", county["wenli"].pk)) in shape
    assert ("tag", ("feedback.Tag", tag.pk)) in shape
    assert shape[1] is compiled.CHOSEN  # a selection: its plans kept apart
    received = dict(shape[2:])["received"]
    assert received[0].startswith("2011-09-01") and received[1] is None
    # Another unit given the slug: another shape.
    county["wenli"].slug = "wenli-old"
    county["wenli"].save()
    county["maoshan"].slug = "wenli"
    county["maoshan"].save()
    g = SubmissionFilter({"unit": "wenli"}, queryset=on_record())
    assert g.is_valid()
    assert ("unit", ("disclosure.Unit", county["maoshan"].pk)) in filter_shape(
        "wall", g.form.cleaned_data
    )


def test_a_slug_given_to_another_unit_counts_that_units_cases(county, changed):
    varied(county)
    visitor = Client()
    wenli = visitor.get("/feedback/?unit=wenli").context["summary"]
    assert wenli == expected("unit=wenli") and wenli["received"] > 0
    # The query string is the same; the unit it names is not, and the unit's
    # filter is in the kept SQL: no plan of the other unit's is run for it.
    with changed():
        county["wenli"].slug = "wenli-old"
        county["wenli"].save()
        county["maoshan"].slug = "wenli"
        county["maoshan"].save()
    moved = visitor.get("/feedback/?unit=wenli").context["summary"]
    assert moved == on_record().filter(unit=county["maoshan"]).summary()
    assert moved != wenli


def test_the_overdue_count_moves_at_midnight_from_kept_sql(county):
    """The cases waiting past their deadline are counted from SQL kept per
    day (the date is in it, not a parameter): a case due today is overdue
    tomorrow, counted from the next day's plan."""
    varied(county)
    today = timezone.localtime().replace(hour=10, minute=0)
    due_today = SubmissionFactory(unit=county["maoshan"])
    Submission.objects.filter(pk=due_today.pk).update(due_date=today.date())
    visitor = Client()
    for day, overdue in ((today, 2), (today + timedelta(days=1), 3)):
        with time_machine.travel(day, tick=False):
            for query in ("", "unit=maoshan"):
                summary = visitor.get(f"/feedback/?{query}").context["summary"]
                assert summary == expected(query), (day, query)
            assert summary["waiting_overdue"] == overdue - 2
            assert (
                visitor.get("/feedback/").context["summary"]["waiting_overdue"]
                == overdue
            )
    days = {key[3][-1] for key in compiled._plans if "overdue" in key[3]}
    assert days == {today.date(), (today + timedelta(days=1)).date()}
