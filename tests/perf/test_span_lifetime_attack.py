"""Attacks on the span of publications of a live portal kept until a scheduled
row outside its years comes due (a day at most; commit 165870e), not a
minute: after real actions and the clock, the years the compliance,
statistics and home pages offer and the compliance pages' default day are
what they are with every cache off. Two found a fault older than it: the
statistics and the county's overview, kept under "any" alone, said
"截至" today until midnight after the portal had turned into an archive;
they name the compliance facts now (page_scopes.everything_as_of)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import serializers
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Scope
from disclosure import services
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    review_and_approve,
    staff_user,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_publication_span_attack import (
    DAY,
    PUBLISHED,
    WITHDRAWN,
    facts,
    local,
)

pytestmark = [pytest.mark.django_db]


def truth(settings):
    return nothing_kept(settings, facts)


@pytest.fixture
def county(db):
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    other = TownFactory(name="龙泉镇", slug="longquan")
    shiqiao = UnitFactory(name="石桥村", slug="shiqiao", parent=other)
    return town, wenli, other, shiqiao


def publish_directly(unit, at, **fields) -> Disclosure:
    return DisclosureFactory(unit=unit, published_at=at, status=PUBLISHED, **fields)


# Pages ----------------------------------------------------------------------


def _links(text):
    years = sorted(set(re.findall(r"[?&](?:amp;)?year=(\d{4})", text)))
    days = sorted(set(re.findall(r"as_of=(\d{4}-\d\d-\d\d)", text)))
    return years, days


def matrix(client, town="fengming"):
    return _links(client.get(f"/compliance/?town={town}").text)


def unit_page(client, slug="wenli"):
    response = client.get(f"/compliance/{slug}/")
    assert response.status_code == 200
    text = response.text
    years = sorted(set(re.findall(r'<option value="(\d{4})"', text)))
    return years, _links(text)


def stats(client):
    text = client.get("/stats/").text
    select = re.search(r'<select name="year".*?</select>', text, re.S)
    years = re.findall(r'<option value="(\d{4})"', select.group(0)) if select else []
    # The day the on-time figures are drawn as of, wherever the page says it.
    days = sorted(set(re.findall(r"(\d{4}-\d\d-\d\d|\d{4}年\d{1,2}月\d{1,2}日)", text)))
    return years, days


def home(client):
    return sorted(set(re.findall(r"(\d{4})年公开党务信息", client.get("/").text)))


def pages(client):
    return matrix(client), unit_page(client), stats(client), home(client)


def afresh(settings, read):
    kept = settings.PAGE_CACHE_SECONDS, settings.VALUE_CACHE_SECONDS
    settings.PAGE_CACHE_SECONDS = settings.VALUE_CACHE_SECONDS = 0
    try:
        return read()
    finally:
        settings.PAGE_CACHE_SECONDS, settings.VALUE_CACHE_SECONDS = kept


def same_as_fresh(settings, client, read=pages):
    shown = read(client)
    expected = afresh(settings, lambda: read(Client()))
    assert shown == expected
    return shown


# The clock: live to archive and back -------------------------------------------------


def test_live_portal_turns_archive_at_midday_every_page(county, page_cache, settings):
    """The last publication a year back at 09:00: at 09:02 the portal is an
    archive; every page shows it (the kept span was read in the morning)."""
    town, wenli, *_ = county
    publish_directly(wenli, local(2024, 3, 1, 9))
    publish_directly(wenli, local(2025, 6, 13, 9))
    visitor = Client()
    with time_machine.travel(local(2026, 6, 13, 8), tick=False):
        assert facts()[1] == local(2026, 6, 13).date()
        pages(visitor)
    with time_machine.travel(local(2026, 6, 13, 9, 2), tick=False):
        assert facts() == truth(settings)
        assert facts()[1] == local(2025, 6, 13).date()
        shown = same_as_fresh(settings, visitor, lambda c: (matrix(c), unit_page(c)))
        assert shown[0][1] == ["2025-06-13"]


def stats_day(client):
    text = client.get("/stats/").text
    return sorted(set(re.findall(r"截至(\d{4}年\d{1,2}月\d{1,2}日)", text)))


@pytest.mark.parametrize(
    "cache",
    [
        "page_cache",
        "values_only",
    ],
)
def test_live_to_archive_stats_page(county, settings, cache, request):
    """The statistics page (scope "any") read in the morning of the day the
    portal becomes an archive (09:00), read again at 09:02: its on-time
    shares are as of the archive's last day, as read afresh."""
    request.getfixturevalue(cache)
    town, wenli, *_ = county
    publish_directly(wenli, local(2024, 3, 1, 9))
    publish_directly(wenli, local(2025, 6, 13, 9))
    visitor = Client()
    with time_machine.travel(local(2026, 6, 13, 8), tick=False):
        assert stats_day(visitor) == ["2026年6月13日"]
    with time_machine.travel(local(2026, 6, 13, 9, 2), tick=False):
        fresh = afresh(settings, lambda: stats_day(Client()))
        assert fresh == ["2025年6月13日"]
        assert stats_day(visitor) == fresh


def test_publication_inside_years_then_the_kept_last_a_year_old(
    county, page_cache, settings, changed
):
    """Kept span's last moment Jan 2; a publication inside its years on Dec
    20 in another town (SPAN not named, this town's pages not bumped): a year
    after Jan 2 every page of this town still opens on today (live)."""
    settings.PAGE_CACHE_MAX_SECONDS = 30 * DAY
    town, wenli, other, shiqiao = county
    publish_directly(wenli, local(2025, 5, 1, 9))
    publish_directly(wenli, local(2026, 1, 2, 12))
    visitor = Client()
    with time_machine.travel(local(2026, 12, 20, 12), tick=False):
        pages(visitor)
        with changed():
            publish_directly(shiqiao, timezone.now())
        pages(visitor)
    for moment in (local(2027, 1, 2, 12, 2), local(2027, 1, 3, 8)):
        with time_machine.travel(moment, tick=False):
            assert facts() == truth(settings)
            shown = same_as_fresh(settings, visitor)
            assert shown[0][1] == [moment.date().isoformat()]


def test_archive_back_to_live_by_a_row_scheduled_in_another_town(
    county, page_cache, settings, changed
):
    """An archive; a row scheduled for noon in another town (named then: the
    span kept is an archive's); at 12:01 this town's pages open on today."""
    town, wenli, other, shiqiao = county
    publish_directly(wenli, local(2024, 3, 1, 9))
    publish_directly(wenli, local(2025, 3, 1, 9))
    visitor = Client()
    with time_machine.travel(local(2026, 6, 13, 8), tick=False):
        with changed():
            publish_directly(shiqiao, local(2026, 6, 13, 12))
        assert pages(visitor)[0][1] == ["2025-03-01"]
    with time_machine.travel(local(2026, 6, 13, 12, 1), tick=False):
        assert facts() == truth(settings)
        shown = same_as_fresh(settings, visitor)
        assert shown[0][1] == ["2026-06-13"]
        assert shown[3] == ["2026"]


# The workflow and the admin --------------------------------------------------------


def test_admin_withdraws_the_only_row_of_the_first_year(
    county, page_cache, settings, changed
):
    town, wenli, *_ = county
    item = ItemFactory()
    first = publish_directly(wenli, local(2023, 3, 1, 9), item=item)
    publish_directly(wenli, timezone.now() - timedelta(days=400), item=item)
    publish_directly(wenli, timezone.now() - timedelta(days=2), item=item)
    admin = SuperuserFactory()
    visitor = Client()
    before = pages(visitor)
    assert "2023" in before[2][0]
    staff = Client()
    staff.force_login(admin)
    url = reverse("admin:disclosure_disclosure_transition", args=[first.pk, "withdraw"])
    with changed():
        response = staff.post(url, {"comment": "发布有误"})
    assert response.status_code == 302, response.text[:2000]
    assert Disclosure.objects.get(pk=first.pk).status == WITHDRAWN
    assert facts() == truth(settings)
    shown = same_as_fresh(settings, visitor)
    assert "2023" not in shown[2][0]


def test_admin_schedules_into_next_year_then_it_comes_due(
    county, page_cache, settings, changed
):
    """Approved with a publication time on Jan 2 next year (the admin's
    审批 step with publish_at): before, the years are this year's; once
    due, every page offers the new year, the home page's figures of it."""
    town, wenli, other, shiqiao = county
    with time_machine.travel(local(2026, 12, 30, 10), tick=False):
        publish_directly(wenli, local(2025, 3, 1, 9))
        publish_directly(wenli, local(2026, 12, 29, 9))
        visitor = Client()
        pages(visitor)
        reviewer = staff_user(username="reviewer", group="审核人")
        row = DisclosureFactory(
            unit=shiqiao, status=Disclosure.Status.DRAFT, published_at=None
        )
        row.status = Disclosure.Status.SUBMITTED
        row.save()
        with changed():
            review_and_approve(row, reviewer=reviewer, publish_at=local(2027, 1, 2, 9))
        assert Disclosure.objects.get(pk=row.pk).status == PUBLISHED
        shown = same_as_fresh(settings, visitor)
        assert shown[3] == ["2026"]
    with time_machine.travel(local(2027, 1, 2, 9, 1), tick=False):
        assert facts() == truth(settings)
        shown = same_as_fresh(settings, visitor)
        assert shown[3] == ["2027"]


def test_a_scheduled_row_in_a_new_year_withdrawn_before_due(
    county, page_cache, settings, changed
):
    """Scheduled for next year, then withdrawn before it came out, then
    another one scheduled later: the years follow the rows at each step."""
    town, wenli, other, shiqiao = county
    with time_machine.travel(local(2026, 12, 30, 10), tick=False):
        publish_directly(wenli, local(2025, 3, 1, 9))
        publish_directly(wenli, local(2026, 12, 29, 9))
        visitor = Client()
        pages(visitor)
        with changed():
            row = publish_directly(shiqiao, local(2027, 1, 1, 9))
        pages(visitor)
        with changed():
            row.status = WITHDRAWN
            row.withdrawal_reason = "有误"
            row.withdrawn_at = timezone.now()
            row.save()
        pages(visitor)
        with changed():
            publish_directly(shiqiao, local(2027, 1, 5, 9))
        pages(visitor)
    for moment in (local(2027, 1, 1, 9, 2), local(2027, 1, 5, 9, 2)):
        with time_machine.travel(moment, tick=False):
            assert facts() == truth(settings), moment
            same_as_fresh(settings, visitor)


def test_an_item_made_inner_party(county, page_cache, settings, changed):
    """follow_item_scope (announced by ids, "made_inner_party"): the rows
    stay in the span; the years and day are the rows'."""
    town, wenli, *_ = county
    item = ItemFactory()
    publish_directly(wenli, local(2023, 3, 1, 9), item=item)
    publish_directly(wenli, timezone.now() - timedelta(days=2))
    visitor = Client()
    pages(visitor)
    with changed():
        item.scope = Scope.INNER_PARTY
        item.save()
    assert Disclosure.objects.filter(item=item, scope=Scope.INNER_PARTY).exists()
    assert facts() == truth(settings)
    same_as_fresh(settings, visitor)


def test_a_restore_by_loaddata_of_an_old_year(
    county, page_cache, settings, changed, tmp_path
):
    """A row restored from an export (loaddata, raw) with a time years back."""
    from django.core.management import call_command

    town, wenli, *_ = county
    old = publish_directly(wenli, local(2019, 3, 1, 9))
    publish_directly(wenli, timezone.now() - timedelta(days=2))
    dump = tmp_path / "row.json"
    dump.write_text(serializers.serialize("json", [old]))
    with changed():
        Disclosure.objects.filter(pk=old.pk).delete()
    visitor = Client()
    before = pages(visitor)
    assert "2019" not in before[2][0]
    with changed():
        call_command("loaddata", str(dump), verbosity=0)
    assert facts() == truth(settings)
    shown = same_as_fresh(settings, visitor)
    assert "2019" in shown[2][0]


def test_a_publication_in_a_new_year_in_another_town_moves_this_units_page(
    county, page_cache, settings, changed
):
    """The unit page of a village of one town, kept; a publication in a new
    year in another town (not this page's unit nor town)."""
    town, wenli, other, shiqiao = county
    with time_machine.travel(local(2027, 1, 3, 10), tick=False):
        publish_directly(wenli, local(2025, 3, 1, 9))
        publish_directly(wenli, local(2026, 12, 29, 9))
        visitor = Client()
        pages(visitor)
        reviewer = staff_user(username="reviewer", group="审核人")
        row = DisclosureFactory(
            unit=shiqiao, status=Disclosure.Status.DRAFT, published_at=None
        )
        row.status = Disclosure.Status.SUBMITTED
        row.save()
        review_and_approve(row, reviewer=reviewer)
        with changed():
            services.publish(Disclosure.objects.get(pk=row.pk), by=reviewer)
        assert facts() == truth(settings)
        shown = same_as_fresh(settings, visitor)
        assert shown[3] == ["2027"]


def test_live_to_archive_county_page(county, page_cache, settings):
    """/county/ (registered with the statistics page, scope "any"): its
    figures are as of the default day too."""
    town, wenli, *_ = county
    publish_directly(wenli, local(2024, 3, 1, 9))
    publish_directly(wenli, local(2025, 6, 13, 9))
    visitor = Client()

    def shown(client):
        text = client.get("/county/").text
        return sorted(
            set(re.findall(r"(\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d\d-\d\d)", text))
        )

    with time_machine.travel(local(2026, 6, 13, 8), tick=False):
        shown(visitor)
    with time_machine.travel(local(2026, 6, 13, 9, 2), tick=False):
        fresh = afresh(settings, lambda: shown(Client()))
        assert shown(visitor) == fresh


def test_another_worker_withdraws_the_first_year(county, page_cache, settings, changed):
    """Another worker withdraws the only row of the first year; this worker,
    which kept the span and its pages, reads the versions again a second
    later and shows the years without it."""
    from core import caching

    settings.PAGE_CACHE_VERSION_SECONDS = 1
    town, wenli, *_ = county
    first = publish_directly(wenli, local(2023, 3, 1, 9))
    publish_directly(wenli, timezone.now() - timedelta(days=400))
    publish_directly(wenli, timezone.now() - timedelta(days=2))
    visitor = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        pages(visitor)
        mine = caching._local
        caching._local = caching._Local()
        try:
            with changed():
                first.status = WITHDRAWN
                first.withdrawal_reason = "有误"
                first.withdrawn_at = timezone.now()
                first.save()
            facts()
        finally:
            caching._local = mine
    import time

    time.sleep(1.2)  # the versions' copies are read again (monotonic clock)
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        assert facts() == truth(settings)
        shown = same_as_fresh(settings, visitor)
        assert "2023" not in shown[2][0]
