"""The span of publications (compliance.publication_span: the years every
compliance and statistics page offers, the default day) is kept until a
change may move what it tells (page_scopes.SPAN) or a scheduled row outside
its years comes out: a 回音壁 case, a draft or a publication inside its years
of a live portal leave it kept; a publication in another year or in an
archive, a withdrawal, a time moved or an update of rows give what is read
afresh. Whatever is kept, what it tells is what the rows tell."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import serializers
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core import caching, events
from disclosure import compliance, page_scopes
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


def afresh(settings, read=None):
    return nothing_kept(settings, read or compliance.publication_span)


def test_a_case_or_a_draft_leaves_the_span_kept(wenli, reads, changed):
    first = span()
    assert reads == [1]
    with changed():
        SubmissionFactory(unit=wenli, accepted=True)
    with changed():
        DisclosureFactory(unit=wenli, status=Disclosure.Status.DRAFT, published_at=None)
    assert span() == first
    assert reads == [1]


def facts():
    """What the pages read of the span: the years and the default day."""
    return compliance.years_with_data(), compliance.reference_date()


def test_a_publication_inside_its_years_leaves_it_kept(wenli, reads, settings, changed):
    before = facts()
    with changed():
        DisclosureFactory(unit=wenli, published_at=timezone.now())
    with changed():  # published, then corrected: its time unmoved
        row = DisclosureFactory(unit=wenli, published_at=timezone.now())
        row.title = "更正后的标题"
        row.save()
    assert facts() == before
    assert reads == [1]
    assert before == afresh(settings, facts)


def test_a_publication_in_another_year_and_a_withdrawal_move_it(
    wenli, reads, settings, changed
):
    before = span()
    long_ago = timezone.now() - timedelta(days=5 * 365)
    with changed():
        new = DisclosureFactory(unit=wenli, published_at=long_ago)
    after = span()
    assert len(reads) == 2
    assert after == afresh(settings) == (new.published_at, before[1])
    assert compliance.years_with_data()[-1] == timezone.localtime(long_ago).year
    with changed():
        new.status = Disclosure.Status.WITHDRAWN
        new.withdrawal_reason = "发布有误"
        new.withdrawn_at = timezone.now()
        new.save()
    assert span() == afresh(settings) == before


def test_a_publication_with_nothing_kept_names_the_span(wenli, named):
    """A copy kept in another process may be of before: named."""
    span()
    with named() as scopes:
        DisclosureFactory(unit=wenli, published_at=timezone.now())
    assert page_scopes.PUBLISHED in scopes
    assert page_scopes.SPAN not in scopes
    caching.reset_local()
    cache.clear()
    with named() as scopes:
        DisclosureFactory(unit=wenli, published_at=timezone.now())
    assert page_scopes.SPAN in scopes


def test_a_deletion_moves_it(wenli, settings, changed):
    span()
    oldest = Disclosure.objects.order_by("published_at").first()
    with changed():
        oldest.delete()
    assert span() == afresh(settings)
    assert compliance.years_with_data() == [timezone.localdate().year]


def test_a_row_loaded_as_it_is_names_the_span(wenli, named):
    """A fixture or a restore saves a row it did not read first (raw): its
    time may have moved."""
    span()
    oldest = Disclosure.objects.order_by("published_at").first()
    oldest.published_at += timedelta(days=700)
    dumped = serializers.serialize("json", [oldest])
    (restored,) = serializers.deserialize("json", dumped)
    with named() as scopes:
        restored.save()  # as loaddata: save_base(raw=True)
    assert page_scopes.SPAN in scopes


def test_an_update_of_rows_names_the_span(wenli, named):
    """Rows changed by an update (a bulk action): what they were is unknown."""
    span()
    ids = tuple(Disclosure.objects.values_list("pk", flat=True))
    with named() as scopes:
        Disclosure.objects.filter(pk__in=ids).update(
            status=Disclosure.Status.WITHDRAWN, withdrawal_reason="发布有误"
        )
        events.announce("withdrawn", Disclosure, ids)
    assert page_scopes.SPAN in scopes
    assert span() is None


def test_a_time_moved_moves_it(wenli, settings, changed):
    span()
    oldest = Disclosure.objects.order_by("published_at").first()
    with changed():
        oldest.published_at -= timedelta(days=400)
        oldest.save()
    assert span()[0] == oldest.published_at
    assert span() == afresh(settings)


def test_a_scheduled_publication_coming_due_leaves_what_it_tells_true(
    wenli, settings, changed
):
    """Scheduled for tomorrow: not in the span today, in it once out, with no
    save; the years on offer and the default day are what the rows tell."""
    later = timezone.now() + timedelta(days=1)
    with changed():
        DisclosureFactory(unit=wenli, published_at=later)
    assert span()[1] < later
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        assert facts() == afresh(settings, facts)


def test_it_is_kept_no_longer_than_it_says_the_portal_is_live(settings, changed):
    """Kept before a publication inside its years, the span's last moment
    is older than the rows' and nearly a year back: it is not kept past the
    day it would call the portal an archive (its pages opening on the day
    of that moment), whatever the caches' lifetimes."""
    settings.VALUE_CACHE_SECONDS = settings.PAGE_CACHE_MAX_SECONDS = 30 * 86400
    zone = timezone.get_current_timezone()
    start = datetime(2026, 12, 20, 12, 0, tzinfo=zone)
    wenli = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    DisclosureFactory(unit=wenli, published_at=datetime(2026, 1, 2, 12, tzinfo=zone))
    with time_machine.travel(start, tick=False):
        assert compliance.reference_date() == start.date()
        with changed():
            DisclosureFactory(unit=wenli, published_at=start)
    for days in (1, 14, 20):
        with time_machine.travel(start + timedelta(days=days), tick=False):
            assert facts() == afresh(settings, facts)
            assert compliance.reference_date() == timezone.localdate()


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


def test_a_publication_an_hour_later_inside_its_years_names_no_span(wenli, named):
    """A live portal's span is kept as long as the pages naming it (until a
    scheduled row outside its years comes due, a day at most), not a
    minute: a publication an hour after it was read is weighed against it
    and names no SPAN, so the home, compliance and statistics pages of
    every town stay kept (kept a minute, it was gone at most publications,
    which then named SPAN for want of it: bench/mixed.py, the home page's
    hit ratio 0.83 → 0.97)."""
    now = timezone.now().replace(hour=9, minute=0)
    with time_machine.travel(now, tick=False):
        span()
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        assert compliance.kept_span() is not None
        with named() as scopes:
            DisclosureFactory(unit=wenli, published_at=timezone.now())
        assert page_scopes.PUBLISHED in scopes
        assert page_scopes.SPAN not in scopes
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        # Outside its years: named, and read afresh.
        with named() as scopes:
            DisclosureFactory(
                unit=wenli, published_at=timezone.now() - timedelta(days=9 * 365)
            )
        assert page_scopes.SPAN in scopes


def test_the_span_is_kept_no_longer_than_a_day(wenli, reads, settings):
    """Kept as pages are, PAGE_CACHE_MAX_SECONDS at most: what no event
    announces (SQL by hand) is read again within a day."""
    now = timezone.now().replace(hour=9, minute=0)
    with time_machine.travel(now, tick=False):
        first = span()
    Disclosure.objects.filter(published_at__lt=now - timedelta(days=100)).update(
        published_at=now - timedelta(days=4000)
    )
    with time_machine.travel(now + timedelta(hours=23), tick=False):
        assert span() == first and len(reads) == 1
    with time_machine.travel(
        now + timedelta(seconds=settings.PAGE_CACHE_MAX_SECONDS + 1), tick=False
    ):
        assert span()[0] == now - timedelta(days=4000)
        assert len(reads) == 2
