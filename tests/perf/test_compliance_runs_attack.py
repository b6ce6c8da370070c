"""Attacks on the compliance figures kept for a run of days
(`compliance.steady_through`, `caching.cached_through`), fixed: a village's
点题 request answered by the town's disclosure, scheduled or withdrawn."""

import zoneinfo
from datetime import date, datetime

import pytest
import time_machine
from django.test import Client

from catalog.models import Catalog, Item
from disclosure import compliance
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    NoticeBoardFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def on_time_chart(page):
    return next(c for c in page.context["charts"] if c.key == "compliance-unit")


def test_a_request_answered_by_the_towns_scheduled_disclosure_ends_the_run():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    NoticeBoardFactory(unit=wenli)
    NoticeBoardFactory(unit=town)
    answers = ItemFactory(
        code="F02",
        category=CategoryFactory(catalog__kind=Catalog.Kind.PARTY),
        frequency=Item.Frequency.IMMEDIATELY,
    )
    with time_machine.travel(at(date(2026, 11, 20), 10), tick=False):
        # The town's answer, scheduled for 3 December at 10:00.
        answer = DisclosureFactory(
            unit=town,
            item=answers,
            period="2026-11",
            published_at=at(date(2026, 12, 3), 10),
        )
        SubmissionFactory(
            kind="request",
            unit=wenli,
            accepted=True,
            due_date=date(2026, 12, 10),
            fulfilled_by=answer,
        )
    visitor = Client()
    url = "/stats/?year=2026&unit=wenli"
    with time_machine.travel(at(date(2026, 12, 2), 23, 30), tick=False):
        before = on_time_chart(visitor.get(url))
    assert before.series[0][1] == [None]  # 未到期: no share yet
    with time_machine.travel(at(date(2026, 12, 3), 11), tick=False):
        after = on_time_chart(visitor.get(url))
        obligations, _ = compliance.load(
            units=[wenli], year=2026, as_of=date(2026, 12, 3)
        )
    assert [o.state for o in obligations] == [compliance.State.ON_TIME]
    assert "截至2026年12月3日" in after.description
    # The engine: met on time, 100 %; the page must say so.
    assert after.series[0][1] == [100]


def test_the_towns_answer_withdrawn_is_not_counted_the_next_day(
    django_capture_on_commit_callbacks,
):
    from disclosure.models import Disclosure

    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    NoticeBoardFactory(unit=wenli)
    NoticeBoardFactory(unit=town)
    answers = ItemFactory(
        code="F02",
        category=CategoryFactory(catalog__kind=Catalog.Kind.PARTY),
        frequency=Item.Frequency.IMMEDIATELY,
    )
    with time_machine.travel(at(date(2026, 11, 20), 10), tick=False):
        answer = DisclosureFactory(
            unit=town, item=answers, period="2026-11",
            published_at=at(date(2026, 11, 25), 10),
        )  # fmt: skip
        SubmissionFactory(
            kind="request",
            unit=wenli,
            accepted=True,
            due_date=date(2026, 12, 10),
            fulfilled_by=answer,
        )
    visitor = Client()
    url = "/stats/?year=2026&unit=wenli"
    with time_machine.travel(at(date(2026, 12, 2), 23, 30), tick=False):
        assert on_time_chart(visitor.get(url)).series[0][1] == [100]
        with django_capture_on_commit_callbacks(execute=True):
            answer.status = Disclosure.Status.WITHDRAWN
            answer.withdrawn_at = at(date(2026, 12, 2), 23, 30)
            answer.withdrawal_reason = "内容有误"
            answer.save()
    with time_machine.travel(at(date(2026, 12, 3), 11), tick=False):
        after = on_time_chart(visitor.get(url))
        obligations, _ = compliance.load(
            units=[wenli], year=2026, as_of=date(2026, 12, 3)
        )
    assert [o.state for o in obligations] == [compliance.State.NOT_DUE]
    assert after.series[0][1] == [None]  # as the engine: not yet due
