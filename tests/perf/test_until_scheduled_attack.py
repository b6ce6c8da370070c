# ruff: noqa: F811 (the `county` fixture, imported, is each test's argument)
"""Attacks on the release-keyed caches and `caching.until_scheduled` (the
list's period choices and count, kept forms and the unit row kept a day).

What held, and four bugs found and fixed: a figure read just before a
publication came due was kept a day past it (`caching.Due.kept_seconds` now
looks back, `page_scopes._next_new_period` judges held periods at `after`),
and two in the release's digest (ordered by where the app sits; a
(prefix, folder) static entry)."""

import contextlib
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from core import caching
from tests.factories import DisclosureFactory
from tests.perf.test_scoped_values import _periods, county  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


def _morning():
    zone = timezone.get_current_timezone()
    return (
        timezone.now()
        .astimezone(zone)
        .replace(hour=10, minute=0, second=0, microsecond=0)
    )


def _scheduled(county, unit: str, period: str):
    """A public row in `period` set for 09:00 the next day; its time."""
    due = _morning() + timedelta(days=1, hours=-1)
    DisclosureFactory(
        item=county["item"], unit=county[unit], period=period, published_at=due
    )
    return due


@contextlib.contextmanager
def reached_just_after(monkeypatch, owner, name: str, due):
    """A request begun at 08:59:59.97 (its rows' `now`) that reaches
    `owner.name` at 09:00:00.02, just after `due`."""
    original = getattr(owner, name)
    with time_machine.travel(due - timedelta(milliseconds=30), tick=False) as clock:

        def later(*args, **kwargs):
            clock.move_to(due + timedelta(milliseconds=20))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, later)
        yield
        monkeypatch.setattr(owner, name, original)


def test_period_choices_read_just_before_a_new_period_comes_due(county, monkeypatch):
    due = _scheduled(county, "maoshan", "2013-Q2")  # a period nobody sees yet
    visitor = Client()
    # The scan ran before 09:00; the first lifetime is worked out after.
    with reached_just_after(monkeypatch, caching, "next_due", due):
        assert _periods(visitor) == ["2011-09"]  # right when read
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        caching.reset_local()  # any worker, an hour later
        # The list filtered to the new period was refused (400) for a day.
        assert visitor.get("/disclosures/?period=2013-Q2").status_code == 200
        assert _periods(visitor) == ["2013-Q2", "2011-09"]


def test_period_choices_reached_just_after_a_new_period_comes_due(county, monkeypatch):
    from disclosure import filters as disclosure_filters

    due = _scheduled(county, "maoshan", "2013-Q2")
    visitor = Client()
    with reached_just_after(monkeypatch, disclosure_filters, "period_choices", due):
        assert _periods(visitor) == ["2011-09"]
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        caching.reset_local()
        assert _periods(visitor) == ["2013-Q2", "2011-09"]


# What held: changes that name "periods" or the count's scopes ------------------


def _count(client, url) -> int:
    return client.get(url).context["page"].paginator.count


def seen_in_the_morning(county, url: str, **row) -> tuple:
    """A public row of 文理村 in 2012-05 (or as `row` says), and a visitor who
    saw the list's choices and `url`'s count at 10:00: (row, visitor, count)."""
    row = DisclosureFactory(
        item=row.pop("item", county["item"]), unit=county["wenli"],
        **{"period": "2012-05", **row},
    )  # fmt: skip
    visitor = Client()
    with time_machine.travel(_morning(), tick=False):
        assert _periods(visitor) == [row.period, "2011-09"]
        return row, visitor, _count(visitor, url)


@contextlib.contextmanager
def hours_later(capture, change, hours: int = 3):
    """`hours` after the morning's visit: `change` committed (its bumps run),
    then read by another worker (the shared cache only)."""
    with time_machine.travel(_morning() + timedelta(hours=hours), tick=False):
        with capture(execute=True):
            change()
        caching.reset_local()
        yield


def test_an_item_made_inner_party_takes_its_period_and_count_from_visitors(
    county,
    party_client,
    django_capture_on_commit_callbacks,
):
    """follow_item_scope's UPDATE announces MADE_INNER_PARTY: the rows' unit,
    year and (their period held by no other public row) "periods"."""
    from catalog.models import Scope
    from tests.factories import ItemFactory

    item = ItemFactory()
    DisclosureFactory(item=item, unit=county["wenli"], period="2012-05")
    visitor = Client()
    with time_machine.travel(_morning(), tick=False):
        assert _periods(visitor) == ["2012-05", "2011-09"]
        assert _count(visitor, "/disclosures/?unit=wenli") == 2
        assert _count(visitor, "/disclosures/?period=2012-05") == 1
    item.scope = Scope.INNER_PARTY
    with hours_later(django_capture_on_commit_callbacks, item.save):
        assert _periods(visitor) == ["2011-09"]
        assert _count(visitor, "/disclosures/?unit=wenli") == 1
        # No longer a choice: the list filtered to it is refused.
        assert visitor.get("/disclosures/?period=2012-05").status_code == 400
        assert _periods(party_client) == ["2012-05", "2011-09"]


def test_a_row_moved_to_another_period_and_year_moves_choices_and_counts(
    county,
    django_capture_on_commit_callbacks,
):
    from disclosure.models import Disclosure

    row, visitor, count = seen_in_the_morning(county, "/disclosures/?period=2012-05")
    assert count == 1
    row = Disclosure.objects.get(pk=row.pk)  # as loaded: its period before
    row.period = "2013-01"
    with hours_later(django_capture_on_commit_callbacks, row.save):
        assert _periods(visitor) == ["2013-01", "2011-09"]
        assert visitor.get("/disclosures/?period=2012-05").status_code == 400
        assert _count(visitor, "/disclosures/?period=2013-01") == 1


def test_a_deleted_row_takes_its_period_and_count_at_once(
    county,
    django_capture_on_commit_callbacks,
):
    row, visitor, count = seen_in_the_morning(county, "/disclosures/?unit=wenli")
    assert count == 2
    with hours_later(django_capture_on_commit_callbacks, row.delete):
        assert _periods(visitor) == ["2011-09"]
        assert _count(visitor, "/disclosures/?unit=wenli") == 1


def test_a_party_first_row_brings_its_period_to_visitors_at_its_public_date(
    county,
    party_client,
):
    """先党内后党外: members at once, visitors from public_from, no save."""
    morning = _morning()
    public = morning + timedelta(hours=20)
    DisclosureFactory(
        item=county["item"], unit=county["maoshan"], period="2014-Q1",
        public_from=public,
    )  # fmt: skip
    visitor = Client()
    with time_machine.travel(morning, tick=False):
        assert _periods(visitor) == ["2011-09"]
        assert _periods(party_client) == ["2014-Q1", "2011-09"]
        assert _count(visitor, "/disclosures/?unit=maoshan") == 1
    with time_machine.travel(public - timedelta(minutes=5), tick=False):
        caching.reset_local()
        assert _periods(visitor) == ["2011-09"]  # kept: hours later
    with time_machine.travel(public + timedelta(seconds=1), tick=False):
        caching.reset_local()
        assert _periods(visitor) == ["2014-Q1", "2011-09"]
        assert _count(visitor, "/disclosures/?unit=maoshan") == 2


def test_a_withdrawal_through_the_service_takes_the_period_at_once(
    county,
    django_capture_on_commit_callbacks,
):
    from disclosure.models import Disclosure

    row = DisclosureFactory(
        item=county["item"], unit=county["xiacun"], period="2012-Q4"
    )
    visitor = Client()
    with time_machine.travel(_morning(), tick=False):
        assert _periods(visitor) == ["2012-Q4", "2011-09"]
    row = Disclosure.objects.get(pk=row.pk)

    def withdraw():
        row.status = Disclosure.Status.WITHDRAWN
        row.withdrawn_at = timezone.now()
        row.withdrawal_reason = "有误"
        row.save()

    with hours_later(django_capture_on_commit_callbacks, withdraw, hours=5):
        assert _periods(visitor) == ["2011-09"]
        assert _count(visitor, "/disclosures/?unit=xiacun") == 1


def test_a_branch_rows_period_stays_with_its_branch_for_a_day(county):
    """党组织内部: the period choices, the count and the kept form of one
    branch's members never reach another branch, a member of none or a
    visitor, kept a day or not."""
    from catalog.models import Scope
    from tests.factories import PartyMemberFactory

    wenli = county["wenli"]
    DisclosureFactory(
        item=county["item"], unit=wenli, period="2015-03", scope=Scope.BRANCH,
        branch=wenli.organisations.branches().get(),
    )  # fmt: skip
    readers = {}
    for name, unit in (
        ("wenli", wenli),
        ("maoshan", county["maoshan"]),
        ("none", None),
    ):
        client = Client()
        client.force_login(
            PartyMemberFactory(username=f"member-{name}", branch_of=unit)
        )
        readers[name] = client
    readers["visitor"] = Client()
    morning = _morning()
    for at in (morning, morning + timedelta(hours=14, minutes=30)):
        with time_machine.travel(at, tick=False):
            caching.reset_local()
            for name, client in readers.items():
                page = client.get("/disclosures/?unit=wenli")
                shown = '<option value="2015-03"' in page.text
                assert shown is (name == "wenli"), name
                assert page.context["page"].paginator.count == (
                    2 if name == "wenli" else 1
                ), name
                assert (
                    "2015-03"
                    in [
                        k
                        for k, _ in page.context["filter"]
                        .filters["period"]
                        .extra["choices"]
                    ]
                ) is (name == "wenli")


def test_the_kept_form_follows_a_renamed_unit_and_an_item_made_inner_party_a_day_on(
    county,
    django_capture_on_commit_callbacks,
):
    from catalog.models import Scope
    from tests.factories import ItemFactory

    item = ItemFactory(code="Z99", name="某个事项")
    visitor = Client()
    morning = _morning()
    with time_machine.travel(morning, tick=False):
        page = visitor.get("/disclosures/").text
        assert ">wenli村</option>" in page and "Z99 某个事项" in page
    with time_machine.travel(morning + timedelta(hours=20), tick=False):
        caching.reset_local()
        with django_capture_on_commit_callbacks(execute=True):
            county["wenli"].name = "文理新村"
            county["wenli"].save()
            item.scope = Scope.INNER_PARTY
            item.save()
        page = visitor.get("/disclosures/").text
        assert ">文理新村</option>" in page and ">wenli村</option>" not in page
        assert "Z99 某个事项" not in page


def test_a_row_moved_to_another_unit_moves_both_counts_at_once(
    county,
    django_capture_on_commit_callbacks,
):
    from disclosure.models import Disclosure

    row = DisclosureFactory(item=county["item"], unit=county["wenli"], period="2011-09")
    visitor = Client()
    morning = _morning()
    with time_machine.travel(morning, tick=False):
        assert _count(visitor, "/disclosures/?unit=wenli") == 2
        assert _count(visitor, "/disclosures/?unit=shangcun") == 1
    with time_machine.travel(morning + timedelta(hours=6), tick=False):
        row = Disclosure.objects.get(pk=row.pk)
        with django_capture_on_commit_callbacks(execute=True):
            row.unit = county["shangcun"]
            row.save()
        caching.reset_local()
        assert _count(visitor, "/disclosures/?unit=wenli") == 1
        assert _count(visitor, "/disclosures/?unit=shangcun") == 2


@pytest.mark.parametrize(
    ("url", "before"), [("/disclosures/?unit=wenli", 1), ("/disclosures/", 4)]
)
def test_a_count_begun_just_before_a_publication_is_not_kept_past_it(
    county,
    monkeypatch,
    url,
    before,
):
    from disclosure import views

    due = _scheduled(county, "wenli", "2011-09")
    visitor = Client()
    # The view began before 09:00 (its rows' `now`); the filter form and the
    # period choices took it past 09:00 before the count's lifetime.
    with reached_just_after(monkeypatch, views, "count_lifetime", due):
        assert _count(visitor, url) == before  # right as of the view's start
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        caching.reset_local()  # any worker, an hour later
        assert _count(visitor, url) == before + 1
