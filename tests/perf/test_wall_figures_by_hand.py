"""The 回音壁's figures, kept per town (feedback/summary.py), against the
figures worked out by hand in Python from the rows: after each kind of
change, on the wall of the county and of one village."""

import statistics
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core import caching
from feedback.models import CONFIDENTIAL_KINDS, AnswerRound, Submission
from tests.factories import SubmissionFactory, TownFactory, UnitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def value_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 60
    cache.clear()
    caching.reset_local()
    yield
    cache.clear()
    caching.reset_local()


def by_hand(unit=None) -> dict:
    rows = Submission.objects.on_record().exclude(kind__in=CONFIDENTIAL_KINDS)
    if unit is not None:
        rows = rows.filter(unit=unit)
    rows = list(rows)
    local = timezone.localdate
    days = [
        (local(r.answered_at) - local(r.received_at)).days
        for r in rows
        if r.answered_at
    ]
    ratings = [r.rating for r in rows if r.rating]
    ratings += list(
        AnswerRound.objects.filter(submission__in=[r.pk for r in rows])
        .exclude(rating="")
        .values_list("rating", flat=True)
    )
    return {
        "received": len(rows),
        "answered": len(days),
        "median_days": statistics.median(days) if days else None,
        "rated": len(ratings),
    }


def shown(url) -> dict:
    summary = Client().get(url).context["summary"]
    return {k: summary[k] for k in ("received", "answered", "median_days", "rated")}


def answer(case, days: int, rating: str = ""):
    case.status = "answered"
    case.answered_at = case.received_at + timedelta(days=days)
    case.answer_text = "已答复"
    case.rating = rating
    case.save()


def test_the_walls_figures_are_those_worked_out_by_hand(
    django_capture_on_commit_callbacks,
):
    town = TownFactory(name="凤鸣镇", slug="fengming")
    other = TownFactory(name="青山镇", slug="qingshan")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    shangcun = UnitFactory(name="上村", slug="shangcun", parent=other)
    ago = timezone.now() - timedelta(days=30)
    cases = [
        SubmissionFactory(unit=unit, accepted=True, received_at=ago)
        for unit in (wenli, wenli, town, shangcun, shangcun)
    ]
    urls = {"/feedback/": None, "/feedback/?unit=wenli": wenli}

    def check(step=None):
        for url, unit in urls.items():
            assert shown(url) == by_hand(unit), (step, url)

    check()
    changes = [
        lambda: answer(cases[0], 3, "satisfied"),
        lambda: answer(cases[1], 8),  # two answered in wenli: a median of two
        lambda: answer(cases[3], 1, "unsatisfied"),
        lambda: answer(cases[2], 5),  # the town's own case
        lambda: SubmissionFactory(unit=wenli),  # new, counted at once
        lambda: AnswerRound.objects.create(
            submission=cases[1],
            number=1,
            due_date=timezone.localdate(),
            answer_text="第一轮",
            answered_at=timezone.now(),
            rating="unsatisfied",
        ),
        lambda: Submission.objects.get(pk=cases[4].pk).delete(),
    ]
    for step, change in enumerate(changes):
        with django_capture_on_commit_callbacks(execute=True):
            change()
        check(step)
