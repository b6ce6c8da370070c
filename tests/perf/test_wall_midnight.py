"""The 回音壁's counts outlive midnight (feedback/summary.py): only the cases
waiting past their deadline depend on the date, and they are counted apart
for each day, so the first visitor of a day no longer waits for every town
to be recounted (0.3–0.5 s at county scale)."""

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core import caching
from feedback import services
from feedback.models import CONFIDENTIAL_KINDS, Submission, SubmissionQuerySet
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LATE_EVENING = datetime(2026, 12, 10, 23, 0, tzinfo=SHANGHAI)


def on_record():
    return Submission.objects.on_record().exclude(kind__in=CONFIDENTIAL_KINDS)


@pytest.fixture
def cases():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    village = UnitFactory(name="文理村", slug="wenli", parent=town)
    with time_machine.travel(LATE_EVENING - timedelta(days=30), tick=False):
        SubmissionFactory(unit=village, accepted=True)
        # Waiting (not read yet), due on the evening's day: overdue tomorrow.
        waiting = SubmissionFactory(unit=village, due_date=LATE_EVENING.date())
    return waiting


def test_the_walls_counts_are_kept_past_midnight_and_the_overdue_follow_the_day(
    cases, monkeypatch
):
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True)
    visitor = Client()
    with time_machine.travel(LATE_EVENING, tick=False):
        evening = visitor.get("/feedback/")
        assert evening.context["summary"] == on_record().summary()
        assert evening.context["summary"]["waiting_overdue"] == 0
        assert "已超过答复期限" not in evening.text
    with time_machine.travel(LATE_EVENING + timedelta(hours=2), tick=False):
        morning = visitor.get("/feedback/")
        assert morning.context["summary"] == on_record().summary()
        assert morning.context["summary"]["waiting_overdue"] == 1
        assert "待受理的来信中有 1 条已超过答复期限" in morning.text
    # Counted once, on the evening: the morning counted only the waiting.
    assert len(parts) == 1


def test_a_filtered_walls_overdue_count_is_of_its_selection(cases):
    other = UnitFactory(name="茅山村", slug="maoshan", parent=cases.unit.parent)
    SubmissionFactory(unit=other, due_date=date(2026, 11, 1))
    visitor = Client()
    with time_machine.travel(LATE_EVENING + timedelta(hours=2), tick=False):
        everywhere = visitor.get("/feedback/").context["summary"]
        wenli = visitor.get("/feedback/?unit=wenli").context["summary"]
        wenli_rows = on_record().filter(unit__slug="wenli")
        assert everywhere["waiting_overdue"] == 2
        assert wenli == wenli_rows.summary() and wenli["waiting_overdue"] == 1


def test_parts_counted_together_do_not_all_expire_together():
    computed = []

    def compute(names):
        computed.extend(names)
        return {name: name for name in names}

    wanted = {f"part:{n}": [f"unit:u{n}"] for n in range(40)}
    start = datetime(2026, 12, 10, 12, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        caching.cached_many(wanted, compute, seconds=1000, spread=0.5)
    assert len(computed) == 40
    computed.clear()
    with time_machine.travel(start + timedelta(seconds=999), tick=False):
        caching.cached_many(wanted, compute, seconds=1000, spread=0.5)
    assert computed == []  # none before its lifetime
    with time_machine.travel(start + timedelta(seconds=1250), tick=False):
        caching.cached_many(wanted, compute, seconds=1000, spread=0.5)
    recounted = set(computed)
    assert 0 < len(recounted) < 40  # some, not all at once
    computed.clear()
    with time_machine.travel(start + timedelta(seconds=1501), tick=False):
        caching.cached_many(wanted, compute, seconds=1000, spread=0.5)
    # The rest, at most 1.5 × the lifetime; those recounted at 1250 s live on.
    assert set(computed) == set(wanted) - recounted


def test_only_open_cases_cards_are_rendered_again_after_midnight(monkeypatch):
    from feedback.templatetags import wall_tags

    village = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    with time_machine.travel(LATE_EVENING - timedelta(days=30), tick=False):
        open_case = SubmissionFactory(
            unit=village, accepted=True, due_date=LATE_EVENING.date()
        )
        answered = SubmissionFactory(
            unit=village,
            accepted=True,
            status="answered",
            answered_at=LATE_EVENING - timedelta(days=29),
            answer_text="送水车每天上午九点到。",
        )
    rendered = counted(monkeypatch, wall_tags, "card_rows")
    visitor = Client()
    with time_machine.travel(LATE_EVENING, tick=False):
        evening = visitor.get("/feedback/").text
    assert "已超期" not in evening
    assert [set(call[0][0]) for call in rendered] == [{open_case.pk, answered.pk}]
    with time_machine.travel(LATE_EVENING + timedelta(hours=2), tick=False):
        morning = visitor.get("/feedback/").text
    # The open case is overdue now; the answered one's card was kept.
    assert "已超期" in morning and "送水车每天上午九点到。" in morning
    assert [set(call[0][0]) for call in rendered][1:] == [{open_case.pk}]


def test_the_home_pages_case_counts_are_kept_past_midnight(cases, monkeypatch):
    """The home page's 回音壁 figures (composition.views.town_feedback): the
    same split as the wall's, over the town's cases on record (举报 too)."""
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", today=False)
    town_cases = Submission.objects.on_record().filter(
        unit__in=[cases.unit.parent_id, cases.unit_id]
    )
    visitor = Client()
    with time_machine.travel(LATE_EVENING, tick=False):
        evening = visitor.get("/").context["feedback"]
        assert evening == town_cases.summary()
        assert evening["waiting_overdue"] == 0
    with time_machine.travel(LATE_EVENING + timedelta(hours=2), tick=False):
        morning = visitor.get("/").context["feedback"]
        assert morning == town_cases.summary()
        assert morning["waiting_overdue"] == 1
    # Counted once, on the evening: the morning counted only the waiting.
    assert len(parts) == 1


def test_a_single_kept_value_can_have_a_spread_lifetime_too():
    computed = []

    def compute():
        computed.append(1)
        return "counts"

    start = datetime(2026, 12, 10, 12, 0, tzinfo=SHANGHAI)
    lifetimes = set()
    for n in range(20):
        name = f"home-like:{n}"
        computed.clear()
        with time_machine.travel(start, tick=False):
            caching.cached(name, compute, scopes=["unit:a"], seconds=1000, spread=0.5)
        with time_machine.travel(start + timedelta(seconds=999), tick=False):
            caching.reset_local()  # from the shared cache, its own timeout
            caching.cached(name, compute, scopes=["unit:a"], seconds=1000, spread=0.5)
        assert computed == [1]  # none before its lifetime
        for second in range(1000, 1502, 50):
            with time_machine.travel(start + timedelta(seconds=second), tick=False):
                caching.reset_local()
                caching.cached(
                    name, compute, scopes=["unit:a"], seconds=1000, spread=0.5
                )
            if len(computed) > 1:
                lifetimes.add(second)
                break
        assert len(computed) == 2  # gone by 1.5 × the lifetime
    assert len(lifetimes) > 1  # not all at once


def test_a_units_overdue_count_is_kept_and_follows_its_cases(cases, changed):
    """The count of a unit's (or the home town's) cases waiting past their
    deadline is kept until one of its cases changes or comes in, or the day
    ends: the home page's figures made again after a publication no longer
    count it again, and every change still shows at once."""
    visitor = Client()
    wenli_overdue = on_record().filter(unit__slug="wenli")
    morning = LATE_EVENING + timedelta(hours=2)
    with time_machine.travel(morning, tick=False):
        assert visitor.get("/feedback/?unit=wenli").context["summary"] == (
            wenli_overdue.summary()
        )
        with CaptureQueriesContext(connection) as queries:
            visitor.get("/")
            home_again = CaptureQueriesContext(connection)
        with changed():
            DisclosureFactory(unit=cases.unit, title="文理村六月财务公开")
        with home_again:
            assert "文理村六月财务公开" in visitor.get("/").text
        overdue_counts = [
            q["sql"]
            for q in home_again.captured_queries
            if q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "feedback_')
        ]
        assert not overdue_counts
        assert queries.captured_queries  # the first made everything

        # A case coming in, already late (entered after its deadline).
        with changed():
            SubmissionFactory(unit=cases.unit, due_date=date(2026, 12, 1))
        wenli = visitor.get("/feedback/?unit=wenli").context["summary"]
        assert wenli == wenli_overdue.summary() and wenli["waiting_overdue"] == 2
        # One accepted: no longer waiting.
        with changed():
            services.accept(
                cases, by=UserFactory(username="office"), department=DepartmentFactory()
            )
        wenli = visitor.get("/feedback/?unit=wenli").context["summary"]
        assert wenli == wenli_overdue.summary() and wenli["waiting_overdue"] == 1
    with time_machine.travel(morning + timedelta(days=1), tick=False):
        wenli = visitor.get("/feedback/?unit=wenli").context["summary"]
        assert wenli == wenli_overdue.summary()
