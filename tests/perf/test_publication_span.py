"""The span of publications (compliance.publication_span: the years every
compliance and statistics page offers, the default day) is kept until a
published row changes (page_scopes.PUBLISHED) or a scheduled one comes out:
a 回音壁 case or a draft leaves it kept; a publication, a withdrawal, a time
moved or a scheduled publication coming due give what is read afresh."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from disclosure import compliance
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.kept import nothing_kept

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """One entry each time the span is read from the rows."""
    calls = []
    real = compliance._publication_span

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(compliance, "_publication_span", counting)
    return calls


@pytest.fixture
def wenli():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    now = timezone.now()
    DisclosureFactory(unit=wenli, published_at=now - timedelta(days=800))
    DisclosureFactory(unit=wenli, published_at=now - timedelta(days=2))
    return wenli


def span():
    return compliance.publication_span()


def afresh(settings):
    return nothing_kept(settings, compliance.publication_span)


def test_a_case_or_a_draft_leaves_the_span_kept(wenli, reads, changed):
    first = span()
    assert reads == [1]
    with changed():
        SubmissionFactory(unit=wenli, accepted=True)
    with changed():
        DisclosureFactory(unit=wenli, status=Disclosure.Status.DRAFT, published_at=None)
    assert span() == first
    assert reads == [1]


def test_a_publication_and_a_withdrawal_move_it(wenli, reads, settings, changed):
    before = span()
    with changed():
        new = DisclosureFactory(unit=wenli, published_at=timezone.now())
    after = span()
    assert len(reads) == 2
    assert after == afresh(settings)
    assert after[1] > before[1]
    with changed():
        new.status = Disclosure.Status.WITHDRAWN
        new.withdrawal_reason = "发布有误"
        new.withdrawn_at = timezone.now()
        new.save()
    assert span() == afresh(settings) == before


def test_a_time_moved_moves_it(wenli, settings, changed):
    span()
    oldest = Disclosure.objects.order_by("published_at").first()
    with changed():
        oldest.published_at -= timedelta(days=400)
        oldest.save()
    assert span()[0] == oldest.published_at
    assert span() == afresh(settings)


def test_a_scheduled_publication_coming_due_moves_it(wenli, settings, changed):
    """Scheduled for tomorrow: not in the span today (kept), in it once out,
    with no save; the years on offer follow."""
    later = timezone.now() + timedelta(days=1)
    with changed():
        DisclosureFactory(unit=wenli, published_at=later)
    before = span()
    assert before[1] < later
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        assert span()[1] == later
        assert span() == afresh(settings)


def test_the_default_day_of_an_archive_follows_a_publication(settings, changed):
    """Every row published more than a year ago: the compliance page opens
    on the last publication day; a publication brings it to today at once
    (the page's form reads the span kept under PUBLISHED)."""
    town = TownFactory(name="凤鸣镇", slug="fengming")
    long_ago = timezone.now() - timedelta(days=500)
    DisclosureFactory(unit=town, published_at=long_ago)
    visitor = Client()
    assert compliance.reference_date() == timezone.localdate(long_ago)
    assert visitor.get("/compliance/?town=fengming").status_code == 200
    with changed():
        DisclosureFactory(unit=town, published_at=timezone.now())
    assert compliance.reference_date() == timezone.localdate()
    response = visitor.get("/compliance/?town=fengming")
    assert response.context["q"]["as_of"] == timezone.localdate()
