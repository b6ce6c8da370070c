"""Kept values under their own scopes (core.caching.cached(scopes=...)): a
change in what a figure reads shows at once; a change elsewhere in the
county leaves it kept (not recomputed); kept or not, the figures are those
of the straightforward computation."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Scope
from composition import stats
from core import caching
from core import figures as registry
from disclosure import compliance_views
from disclosure import filters as disclosure_filters
from disclosure.figures import NO_CASE_COUNTS
from disclosure.models import Disclosure
from feedback.models import CONFIDENTIAL_KINDS, Kind, Submission, SubmissionQuerySet
from feedback.summary import wall_summary
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.test_unit_and_catalog_scopes import counted as counted_where

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def county():
    return two_towns()


def two_towns() -> dict:
    """Two towns of two villages each, with disclosures and cases; "item":
    the item of every disclosure below (a new item is a catalog change,
    which drops every kept value)."""
    towns = {"item": ItemFactory()}
    for town_name, slug, villages in (
        ("凤鸣镇", "fengming", ("wenli", "maoshan")),
        ("青山镇", "qingshan", ("shangcun", "xiacun")),
    ):
        town = TownFactory(name=town_name, slug=slug)
        towns[slug] = town
        for village in villages:
            unit = UnitFactory(name=f"{village}村", slug=village, parent=town)
            towns[village] = unit
            DisclosureFactory(
                unit=unit,
                item=towns["item"],
                title=f"{village}村务公开",
                period="2011-09",
            )
            SubmissionFactory(unit=unit, accepted=True)
            SubmissionFactory(unit=unit)
    return towns


def counted(monkeypatch, owner, name) -> list:
    calls = []
    original = getattr(owner, name)

    def counting(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def on_record():
    return Submission.objects.on_record().exclude(kind__in=CONFIDENTIAL_KINDS)


# The 回音壁 summary -----------------------------------------------------------


def test_the_walls_summary_adds_up_to_the_straightforward_count(county):
    SubmissionFactory(unit=county["wenli"], kind="suggestion", accepted=True)
    answered = SubmissionFactory(unit=county["shangcun"], accepted=True)
    Submission.objects.filter(pk=answered.pk).update(
        status="answered",
        answered_at=timezone.now(),
        answer_text="已答复",
        rating="satisfied",
    )
    plain = on_record().summary()
    assert wall_summary(on_record(), "") == plain
    assert wall_summary(on_record(), "") == plain  # kept
    assert plain["received"] == 10 and plain["rated"] == 1
    one = on_record().filter(unit=county["wenli"])
    assert wall_summary(one, "unit=wenli", unit=county["wenli"]) == one.summary()
    assert Client().get("/feedback/").context["summary"] == plain


def test_the_walls_summary_follows_a_case_and_keeps_across_other_changes(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts")
    visitor = Client()
    assert visitor.get("/feedback/").context["summary"]["received"] == 8
    assert len(parts) == 1  # every unit at once, unfiltered
    assert 'unit_id" IN' not in str(parts[0][0][0].query)
    assert parts[0][1]["units"] is None
    # A publication anywhere, a case's change: no recount of the cases.
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            item=county["item"], unit=county["maoshan"], title="茅山村新的公开"
        )
    assert visitor.get("/feedback/").context["summary"]["received"] == 8
    assert len(parts) == 1
    # A new case (not shown until accepted) is counted at once: its unit's
    # cases recounted, not its town's.
    with django_capture_on_commit_callbacks(execute=True):
        SubmissionFactory(unit=county["xiacun"])
    summary = visitor.get("/feedback/").context["summary"]
    assert summary["received"] == 9 and summary["waiting"] == 5
    assert len(parts) == 2
    assert counted_units(parts[1]) == {county["xiacun"].pk}
    # A case accepted: at once.
    case = Submission.objects.filter(unit=county["wenli"], status="received").get()
    with django_capture_on_commit_callbacks(execute=True):
        case.status = "accepted"
        case.accepted_at = timezone.now()
        case.save()
    summary = visitor.get("/feedback/").context["summary"]
    assert len(parts) == 3
    assert counted_units(parts[2]) == {county["wenli"].pk}
    assert summary["waiting"] == 4 and summary["listed"] == 5
    assert summary == on_record().summary()
    # A case moved to another town's village: both units recounted (the
    # fresh count above called `summary_parts` too), and both pages
    # filtered to a unit agree with a fresh count.
    before = len(parts)
    with django_capture_on_commit_callbacks(execute=True):
        case.unit = county["xiacun"]
        case.save()
    summary = visitor.get("/feedback/").context["summary"]
    assert len(parts) == before + 1
    assert counted_units(parts[-1]) == {county["wenli"].pk, county["xiacun"].pk}
    assert summary == on_record().summary()
    for slug in ("wenli", "xiacun"):
        filtered = visitor.get(f"/feedback/?unit={slug}").context["summary"]
        assert filtered == on_record().filter(unit=county[slug]).summary()


def counted_units(call) -> set[int]:
    """The units a recount of the wall's parts (`summary_parts`) could
    count: those its queryset is filtered to."""
    rows = call[0][0]
    if call[1].get("units") is not None:  # the units it counted of them
        rows = rows.filter(unit__in=call[1]["units"])
    if call[1].get("cases") is not None:  # cases come in, counted alone
        rows = rows.filter(pk__in=call[1]["cases"])
    rows = rows.order_by().values_list("unit", flat=True).distinct()
    return set(rows)


# The list's period choices ------------------------------------------------


def _periods(client, url="/disclosures/?unit=wenli") -> list[str]:
    choices = client.get(url).context["filter"].filters["period"].extra["choices"]
    return [key for key, _label in choices]


def test_the_period_choices_are_the_distinct_visible_periods(
    county, party_member, party_client
):
    inner = ItemFactory(scope=Scope.INNER_PARTY)
    for period, unit, item in (
        ("2012", county["wenli"], county["item"]),
        ("2012-H1", county["maoshan"], county["item"]),
        ("2012-Q3", county["shangcun"], county["item"]),
        ("2013-02", county["xiacun"], county["item"]),
        ("2014-05", county["xiacun"], inner),  # party members only
    ):
        DisclosureFactory(unit=unit, period=period, item=item)
    DisclosureFactory(
        item=county["item"], unit=county["wenli"], period="2015", status="draft"
    )
    DisclosureFactory(  # scheduled: not yet visible
        item=county["item"],
        unit=county["wenli"],
        period="2016",
        published_at=timezone.now() + timedelta(days=1),
    )
    for client, reader in ((Client(), None), (party_client, party_member)):
        plain = list(
            Disclosure.objects.visible_to(reader)
            .order_by("-period_start", "period")
            .values_list("period", flat=True)
            .distinct()
        )
        assert _periods(client) == plain
        assert _periods(client) == plain  # kept
    assert "2014-05" in _periods(party_client) and "2014-05" not in _periods(Client())
    assert "2015" not in _periods(Client()) and "2016" not in _periods(Client())


def test_the_period_choices_follow_a_new_period_only(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    scans = counted(monkeypatch, disclosure_filters, "_first_periods")
    DisclosureFactory(item=county["item"], unit=county["wenli"], period="2012-Q1")
    visitor = Client()
    assert _periods(visitor) == ["2012-Q1", "2011-09"]
    assert len(scans) == 2  # 2011, 2012
    # A new period: at once (every year scanned again).
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            item=county["item"], unit=county["shangcun"], period="2013-03"
        )
    assert _periods(visitor) == ["2013-03", "2012-Q1", "2011-09"]
    assert len(scans) == 5
    # A publication in a period on offer, a new case: no scan.
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(item=county["item"], unit=county["xiacun"], period="2012-Q1")
        SubmissionFactory(unit=county["wenli"])
    assert _periods(visitor) == ["2013-03", "2012-Q1", "2011-09"]
    assert len(scans) == 5
    # The last row of a period withdrawn: gone at once.
    row = Disclosure.objects.get(period="2013-03")
    with django_capture_on_commit_callbacks(execute=True):
        row.status = Disclosure.Status.WITHDRAWN
        row.withdrawn_at = timezone.now()
        row.withdrawal_reason = "有误"
        row.save()
    assert _periods(visitor) == ["2012-Q1", "2011-09"]


def test_the_period_choices_outlive_a_quiet_hour_and_midnight(county, monkeypatch):
    """Kept until a change names "periods" or a row bringing a new period
    comes due (`caching.until_scheduled`), not VALUE_CACHE_SECONDS: a list
    after a quiet minute or midnight does not scan every year again."""
    scans = counted(monkeypatch, disclosure_filters, "_first_periods")
    zone = timezone.get_current_timezone()
    morning = timezone.now().astimezone(zone).replace(hour=10, minute=0, second=0)
    due = morning + timedelta(days=1, hours=-1)  # 09:00 the next day
    DisclosureFactory(  # scheduled, in a period nobody sees yet
        item=county["item"], unit=county["maoshan"], period="2013-Q2",
        published_at=due,
    )  # fmt: skip
    visitor = Client()
    with time_machine.travel(morning, tick=False):
        assert _periods(visitor) == ["2011-09"]
    assert len(scans) == 1
    for later in (timedelta(hours=2), timedelta(hours=14, minutes=30)):
        with time_machine.travel(morning + later, tick=False):
            caching.reset_local()  # another worker: the shared cache only
            assert _periods(visitor) == ["2011-09"]
    assert len(scans) == 1  # 12:00 and 00:30: kept
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert _periods(visitor) == ["2013-Q2", "2011-09"]
    assert len(scans) == 4  # come due: every year again (2011 to 2013)


@pytest.mark.parametrize(
    "url", ["/disclosures/?unit=wenli", "/disclosures/", "/disclosures/?period=2011-09"]
)
def test_the_lists_count_outlives_a_quiet_hour_and_midnight(county, url):
    """Kept until what it counts changes or a publication comes due in it
    (`views.count_lifetime`), not VALUE_CACHE_SECONDS."""
    zone = timezone.get_current_timezone()
    morning = timezone.now().astimezone(zone).replace(hour=10, minute=0, second=0)
    due = morning + timedelta(days=1, hours=-1)  # 09:00 the next day
    DisclosureFactory(
        item=county["item"], unit=county["wenli"], period="2011-09",
        published_at=due,
    )  # fmt: skip
    visitor = Client()

    def count(at) -> tuple[int, list[str]]:
        with time_machine.travel(at, tick=False):
            caching.reset_local()  # another worker: the shared cache only
            with CaptureQueriesContext(connection) as ran:
                page = visitor.get(url)
        counts = [q["sql"] for q in ran if "COUNT(" in q["sql"].upper()]
        return page.context["page"].paginator.count, counts

    shown, _ = count(morning)
    for later in (timedelta(hours=2), timedelta(hours=14, minutes=30)):
        assert count(morning + later) == (shown, [])  # kept: not counted again
    assert count(due + timedelta(seconds=1))[0] == shown + 1


# Compliance, statistics and the list's count ---------------------------------


def test_the_compliance_matrix_keeps_across_other_towns(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    computed = counted(monkeypatch, compliance_views, "matrix_figures")
    url = "/compliance/?kind=village&town=fengming"
    Client().get(url)
    Client().get(url)
    assert len(computed) == 1
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            item=county["item"], unit=county["shangcun"], title="青山镇的公开"
        )
        SubmissionFactory(unit=county["xiacun"])
    Client().get(url)
    assert len(computed) == 1  # another town's change: kept
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            item=county["item"], unit=county["fengming"], title="镇里的公开"
        )
    Client().get(url)
    assert len(computed) == 2  # the town's own row: recomputed
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            item=county["item"], unit=county["maoshan"], title="茅山村的公开"
        )
    Client().get(url)
    assert len(computed) == 3  # a village of the town


def test_the_compliance_matrix_lives_until_a_publication_scheduled_in_it(
    county, monkeypatch
):
    computed = counted(monkeypatch, compliance_views, "matrix_figures")
    url = "/compliance/?kind=village&town=fengming"
    Client().get(url)
    now = caching.time.time()
    monkeypatch.setattr(caching.time, "time", lambda: now + 120)
    Client().get(url)
    assert len(computed) == 1  # nothing scheduled: kept past a minute
    monkeypatch.undo()
    computed = counted(monkeypatch, compliance_views, "matrix_figures")
    DisclosureFactory(
        item=county["item"],
        unit=county["shangcun"],  # another town's
        published_at=timezone.now() + timedelta(seconds=30),
    )
    caching.reset_local()
    cache.clear()
    Client().get(url)
    now = caching.time.time()
    with monkeypatch.context() as later:
        later.setattr(caching.time, "time", lambda: now + 31)
        Client().get(url)
    assert len(computed) == 1  # another town's schedule: kept
    DisclosureFactory(
        item=county["item"],
        unit=county["wenli"],
        published_at=timezone.now() + timedelta(seconds=30),
    )
    caching.reset_local()
    cache.clear()
    Client().get(url)
    assert len(computed) == 2
    now = caching.time.time()
    monkeypatch.setattr(caching.time, "time", lambda: now + 31)
    Client().get(url)
    assert len(computed) == 3  # the town's scheduled publication came due


def test_statistics_follow_their_town_and_keep_across_others(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    # The counts (the on-time shares are kept for the day apart).
    calls = counted_where(
        monkeypatch,
        registry,
        "collect_parts",
        by_day=False,
        independent_of=frozenset(NO_CASE_COUNTS),
    )
    visitor = Client()
    url = "/stats/?town=qingshan"
    received = visitor.get(url).context["feedback"]["received"]
    visitor.get(url)
    assert len(calls) == 1
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            item=county["item"], unit=county["wenli"], title="凤鸣镇的公开"
        )
        SubmissionFactory(unit=county["maoshan"])
    visitor.get(url)
    assert len(calls) == 1
    with django_capture_on_commit_callbacks(execute=True):
        case = SubmissionFactory(unit=county["xiacun"])  # new: counted at once
    assert visitor.get(url).context["feedback"]["received"] == received + 1
    # By the 回音壁's figures; the disclosures' read no case count: kept.
    assert len(calls) == 1
    # Accepted (a 点题 request the compliance engine may count): a change of
    # the case names its unit's and town's scopes.
    with django_capture_on_commit_callbacks(execute=True):
        case.status, case.accepted_at = "accepted", timezone.now()
        case.save()
    visitor.get(url)
    assert len(calls) == 2
    assert "scopes" not in stats.kept(None)  # no town: follows any change


def test_the_home_pages_published_counts_keep_across_new_cases(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    from composition import views as composition_views

    published = counted(monkeypatch, composition_views, "_published_by_unit")
    received = counted(monkeypatch, composition_views, "_received_by_unit")
    visitor = Client()
    figures = visitor.get("/?town=fengming").context["figures"]
    town = {county[slug].pk for slug in ("fengming", "wenli", "maoshan")}
    assert [set(args[0]) for args, _ in published] == [town]
    assert [set(args[0]) for args, _ in received] == [town]  # the town's at once
    with django_capture_on_commit_callbacks(execute=True):
        SubmissionFactory(unit=county["wenli"])  # comes in: counted at once
    after = visitor.get("/?town=fengming").context["figures"]
    assert after["feedback_received"] == figures["feedback_received"] + 1
    assert after["village"] == figures["village"]
    # What was published reads no count of cases: kept.
    assert len(published) == 1
    # Its village's received again, not the town's (kept by each unit's
    # cases: feedback.kept_counts.by_cases_each).
    assert [set(args[0]) for args, _ in received[1:]] == [{county["wenli"].pk}]
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=county["maoshan"], item=county["item"])
    after = visitor.get("/?town=fengming").context["figures"]
    assert after["village"] + after["party"] + after["government"] == (
        figures["village"] + figures["party"] + figures["government"] + 1
    )
    # Its village's counts again, not the town's.
    assert [set(args[0]) for args, _ in published[1:]] == [{county["maoshan"].pk}]
    # A publication counts no case again.
    assert len(received) == 2
    assert after["feedback_received"] == figures["feedback_received"] + 1


def test_the_home_pages_received_figures_outlive_a_flush(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    """Kept by the state of each unit's cases, outside the value cache's
    versions: a flush of the versions (a deployment) counts none again; a
    unit whose kept counts are not trusted (a raise that failed) is counted
    each time; an entry not as written is counted again; the figures are
    always the cases'."""
    from composition import views as composition_views
    from feedback import kept_counts
    from feedback.models import UnitCounts

    kept_counts.refresh()
    received = counted(monkeypatch, composition_views, "_received_by_unit")
    visitor = Client()

    def figures():
        return visitor.get("/?town=fengming").context["figures"]

    first = figures()

    def truth():
        its = Submission.objects.on_record().filter(
            unit__in=[county[slug] for slug in ("fengming", "wenli", "maoshan")],
            received_at__year=first["year"],
        )
        return its.count()

    assert first["feedback_received"] == truth()
    assert len(received) == 1
    caching._bump()  # every versioned value stale
    assert figures() == first
    assert len(received) == 1
    cache.clear()
    caching.reset_local()
    figures()
    assert len(received) == 2  # gone with the cache itself
    # Not trusted (a raise that failed): the page's 回音壁 figures count its
    # row again first, then its unit's received (alone) is kept by the new
    # mark.
    UnitCounts.objects.filter(unit=county["maoshan"], selection="home").update(
        counted_generation=None
    )
    for _ in range(2):
        caching._bump()
        assert figures() == first
    assert [set(args[0]) for args, _ in received[2:]] == [{county["maoshan"].pk}]
    # Without the 回音壁 figures before it: counted each time.
    for _ in range(2):
        UnitCounts.objects.filter(unit=county["maoshan"], selection="home").update(
            counted_generation=None
        )
        assert (
            composition_views.received_figures(
                [county[slug] for slug in ("fengming", "wenli", "maoshan")],
                first["year"],
            )["feedback_received"]
            == truth()
        )
    assert [set(args[0]) for args, _ in received[3:]] == [{county["maoshan"].pk}] * 2
    kept_counts.refresh()

    # Entries not as written (their state beside a value compute never
    # gives): counted again, right.
    class Spy:
        """The cache as by_cases_each meets it: what it writes kept aside,
        and what it reads replaced by those entries with `bad` values."""

        def __init__(self):
            self.written, self.bad = {}, None

        def __getattr__(self, name):
            return getattr(cache, name)

        def set_many(self, entries, **kwargs):
            self.written.update(entries)
            return cache.set_many(entries, **kwargs)

        def get_many(self, keys, **kwargs):
            if self.bad is None:
                return cache.get_many(keys, **kwargs)
            return {
                key: (self.written[key][0], self.bad[0])
                for key in keys
                if key in self.written
            }

    spy = Spy()
    monkeypatch.setattr(kept_counts, "cache", spy)
    cache.clear()
    caching.reset_local()
    figures()
    assert spy.written
    for bad in ((1, 2, "3"), (1, 2), [1, 2, 3], (True, 0, 0), None):
        spy.bad = (bad,)
        before = len(received)
        caching._bump()
        assert figures()["feedback_received"] == truth()
        assert len(received) == before + 1


def test_the_home_pages_liaison_figures_follow_a_village_made_a_liaison_point(
    county, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from composition import views as composition_views

    received = counted(monkeypatch, composition_views, "_received_by_unit")
    SubmissionFactory(unit=county["maoshan"], kind=Kind.REPORT)
    SubmissionFactory(unit=county["maoshan"], kind=Kind.QUESTION)
    maoshan = county["maoshan"]
    its = Submission.objects.on_record().filter(
        unit=maoshan, received_at__year=timezone.localdate().year
    )
    counts = (
        its.filter(kind=Kind.REPORT).count(),
        its.filter(kind=Kind.QUESTION).count(),
    )
    assert counts >= (1, 1)
    visitor = Client()
    for liaison in (True, False, True):
        with django_capture_on_commit_callbacks(execute=True):
            maoshan.is_liaison_point = liaison
            maoshan.save()
        kept = visitor.get("/?town=fengming").context["figures"]
        settings.VALUE_CACHE_SECONDS = 0
        fresh = visitor.get("/?town=fengming").context["figures"]
        settings.VALUE_CACHE_SECONDS = 60
        assert kept == fresh, liaison
        # Its reports and questions are the liaison points' when it is one.
        assert (kept["liaison_reports"], kept["liaison_questions"]) == (
            counts if liaison else (0, 0)
        )
    # Its cases are the same: counted once, with the cache on.
    assert len(received) == 1 + 3  # and once each with it off


def test_the_home_pages_case_counts_recount_only_the_unit_a_case_came_from(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    from feedback.models import SubmissionQuerySet

    parts = counted_where(
        monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True, today=False
    )
    town = [county[slug].pk for slug in ("fengming", "wenli", "maoshan")]
    in_town = Submission.objects.on_record().filter(unit__in=town)
    visitor = Client()
    assert visitor.get("/?town=fengming").context["feedback"] == in_town.summary()
    assert len(parts) == 1
    with django_capture_on_commit_callbacks(execute=True):
        SubmissionFactory(unit=county["maoshan"])
    assert visitor.get("/?town=fengming").context["feedback"] == in_town.summary()
    # The one unit's cases counted again, not the town's.
    assert len(parts) == 2
    assert counted_units(parts[1]) == {county["maoshan"].pk}
    # A change of a case (answered, moved) too.
    case = Submission.objects.filter(unit=county["wenli"]).first()
    with django_capture_on_commit_callbacks(execute=True):
        case.unit = county["maoshan"]
        case.save()
    assert visitor.get("/?town=fengming").context["feedback"] == in_town.summary()
    assert counted_units(parts[2]) <= {county["wenli"].pk, county["maoshan"].pk}


def test_the_lists_count_by_unit_keeps_across_other_units(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    visitor = Client()
    url = "/disclosures/?unit=wenli&period=2011-09"
    assert visitor.get(url).context["page"].paginator.count == 1
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(item=county["item"], unit=county["maoshan"], period="2011-09")
    counts = counted(monkeypatch, Disclosure.objects.none().__class__, "count")
    assert visitor.get(url).context["page"].paginator.count == 1
    assert counts == []  # kept
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(item=county["item"], unit=county["wenli"], period="2011-09")
    assert visitor.get(url).context["page"].paginator.count == 2


# The value cache itself -----------------------------------------------------


def test_a_value_kept_for_its_own_lifetime(monkeypatch):
    now = [caching.time.time()]
    monkeypatch.setattr(caching.time, "time", lambda: now[0])
    computed = []

    def compute():
        computed.append(1)
        return len(computed)

    assert caching.cached("life", compute, scopes=["x"], seconds=lambda: 5) == 1
    now[0] += 4
    assert caching.cached("life", compute, scopes=["x"], seconds=lambda: 5) == 1
    now[0] += 2
    assert caching.cached("life", compute, scopes=["x"], seconds=lambda: 5) == 2


def test_many_values_computed_only_where_missing():
    asked = []

    def compute(missing):
        asked.append(sorted(missing))
        return {name: name.upper() for name in missing}

    wanted = {"a": ["unit:a"], "b": ["unit:b"]}
    assert caching.cached_many(wanted, compute) == {"a": "A", "b": "B"}
    assert caching.cached_many(wanted, compute) == {"a": "A", "b": "B"}
    caching._bump_scopes(["unit:b"])
    assert caching.cached_many(wanted, compute) == {"a": "A", "b": "B"}
    caching.reset_local()  # from the shared cache
    assert caching.cached_many(wanted, compute) == {"a": "A", "b": "B"}
    assert asked == [["a", "b"], ["b"]]
