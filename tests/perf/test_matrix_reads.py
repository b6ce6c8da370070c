"""What the compliance matrix (and the statistics) read again after a
publication in one village: that village's rows (disclosures, events, 点题
requests) and the next publication scheduled in it, nothing else. The towns offered, the
town's units, the catalog's categories, items and rules are kept
(`compliance.towns`, `units_of_town`, `compliance.categories`,
`counted_item_specs`, `counted_rules`) and follow their own changes; the
counts kept are settled (`Tally.settled`): a page shows the same."""

import re
from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Category, Item, ScheduleRule
from disclosure import compliance
from disclosure.models import Disclosure, Unit
from feedback.models import Kind, Status
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_compliance_runs_attack import at
from tests.perf.test_unit_counts import (
    publish_yearly,
    town,  # noqa: F401 (a fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

URL = "/compliance/?kind=party&town=fengming&year=2026"
EVENING = at(date(2026, 11, 17), 22)


def queries(client, url: str = URL) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def tables_read(client, url: str = URL) -> list[str]:
    """The table each query of a GET selects from, in order."""
    return [
        # The outer query's table: a subquery's has an alias (U0).
        re.search(r'\bFROM "(\w+)"(?! U\d)', sql).group(1)
        for sql in queries(client, url)
    ]


def matrix(client, url: str = URL) -> dict:
    """What a reader sees: the rows (unit, cells as state and counts, the
    total's rate and base), the columns and the towns offered."""
    response = client.get(url)
    assert response.status_code == 200, response.content.decode()[:500]
    context = response.context
    return {
        "rows": [
            (
                row["unit"].name,
                [(c.name, t and (t.state, dict(t.counts))) for c, t in row["cells"]],
                row["total"] and (row["total"].rate, row["total"].items),
            )
            for row in context["rows"]
        ],
        "columns": [c.name for c in context["categories"]],
        "towns": [name for _, name in context["query"].fields["town"].choices],
    }


def test_a_publication_reads_only_the_villages_rows(town, changed, settings):  # noqa: F811
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        visitor.get(URL)
        assert tables_read(visitor) == []  # all kept
        publish_yearly(town["maoshan"], changed)
        read = tables_read(visitor)
        # 茅山村's disclosures and events, and what a publication moves (the
        # span of publications, the next ones scheduled): not its 点题
        # requests (kept apart, "requests-unit:maoshan"), no unit,
        # category, item, rule or catalog.
        assert "disclosure_obligationevent" in read
        assert set(read) <= {
            "disclosure_disclosure",
            "disclosure_obligationevent",
            "portal_governmentreport",
        }
        assert matrix(visitor) == nothing_kept(settings, lambda: matrix(Client()))


@pytest.mark.parametrize(
    ("url", "units_read"),
    # A town chosen is checked against the database, as every listed
    # choice is (`ListedModelChoiceField`): one query.
    [("/stats/?year=2026", 0), ("/stats/?town=fengming", 1)],
)
def test_the_statistics_after_a_publication_read_no_unit_or_category(
    town,  # noqa: F811
    changed,
    settings,
    url,
    units_read,
):
    """The default town (`compliance.towns`), the town's units for the
    on-time shares (`units_of_town`) and the categories' names
    (`compliance.categories`) are kept."""
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        visitor.get(url)
        publish_yearly(town["maoshan"], changed)
        read = tables_read(visitor, url)
        assert "disclosure_disclosure" in read
        assert not {t for t in read if t.startswith("catalog_")}, read
        assert read.count("disclosure_unit") == units_read
        charts = visitor.get(url).context["charts"]
        assert charts == nothing_kept(
            settings, lambda: Client().get(url).context["charts"]
        )


def test_the_next_publication_scheduled_is_found_twice_not_by_every_part(
    town,  # noqa: F811
    changed,
):
    """Just after a publication, the village's next scheduled publication is
    worked out from a minute back (`caching.kept_next_many`), which finds
    the row just published; found again from now, it is kept so: not
    found again by each of the matrix's kept parts (five, before)."""
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        visitor.get(URL)
        publish_yearly(town["maoshan"], changed)
        scheduled = [
            sql
            for sql in queries(visitor)
            if 'MIN("disclosure_disclosure"."published_at")' in sql
            and '"unit_id" IN' in sql
        ]
        assert len(scheduled) == 2
        assert queries(visitor) == []


def test_a_request_answered_reads_the_requests_again(town, changed, settings):  # noqa: F811
    """A 点题 request accepted, then answered by a disclosure of the town:
    the village's requests are read again each time (its case and the
    answer name "requests-unit:<slug>"), and the matrix is as counted with
    nothing kept."""
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        visitor.get(URL)
        with changed():  # a new case waits to be read (its unit's not named)
            request = SubmissionFactory(
                unit=town["maoshan"], kind=Kind.REQUEST, title="请公开修路账目"
            )
        with changed():  # accepted by staff: its unit's obligation
            request.status = Status.ACCEPTED
            request.accepted_at = timezone.now()
            request.save()
        assert "feedback_submission" in tables_read(visitor)
        assert matrix(visitor) == nothing_kept(settings, lambda: matrix(Client()))
        answer = DisclosureFactory(
            unit=town["fengming"],
            item=Item.objects.get(code="A01"),
            period="2026-11",
            status=Disclosure.Status.DRAFT,
        )
        with changed():
            request.fulfilled_by = answer
            request.save()
        assert "feedback_submission" in tables_read(visitor)
        with changed():
            answer.status = Disclosure.Status.PUBLISHED
            answer.published_at = timezone.now()
            answer.save()
        assert "feedback_submission" in tables_read(visitor)
        assert matrix(visitor) == nothing_kept(settings, lambda: matrix(Client()))


def test_a_new_village_and_a_new_order_show_in_the_rows(town, changed, settings):  # noqa: F811
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        names = [row[0] for row in matrix(visitor)["rows"]]
        assert names == ["凤鸣镇", "文理村", "茅山村"]
        with changed():
            UnitFactory(name="新建村", slug="xinjian", parent=town["fengming"])
        names = [row[0] for row in matrix(visitor)["rows"]]
        assert names == ["凤鸣镇", "文理村", "茅山村", "新建村"]
        with changed():
            wenli = Unit.objects.get(slug="wenli")
            wenli.order = 99
            wenli.save()
        names = [row[0] for row in matrix(visitor)["rows"]]
        assert names == ["凤鸣镇", "茅山村", "新建村", "文理村"]
        assert matrix(visitor) == nothing_kept(settings, lambda: matrix(Client()))


def test_a_new_town_is_offered_and_chosen(town, changed):  # noqa: F811
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        assert matrix(visitor)["towns"] == ["凤鸣镇"]
        assert "没有这个乡镇" in visitor.get(URL + "&town=qingshan").content.decode()
        with changed():
            TownFactory(name="青山镇", slug="qingshan")
        assert matrix(visitor)["towns"] == ["凤鸣镇", "青山镇"]
        response = visitor.get("/compliance/?kind=party&town=qingshan&year=2026")
        assert response.status_code == 200
        assert [row["unit"].name for row in response.context["rows"]] == ["青山镇"]


def test_a_new_category_and_a_rule_changed_are_counted(town, changed, settings):  # noqa: F811
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        before = matrix(visitor)
        existing = Category.objects.get()
        party = existing.catalog
        with changed():
            CategoryFactory(catalog=party, name="新设栏目", order=existing.order + 1)
        after = matrix(visitor)
        assert after["columns"] == [*before["columns"], "新设栏目"]
        # October's monthly report due on the 5th of November, published on
        # the 17th: late. A rule giving until the 20th makes it on time.
        with changed():
            rule, _ = ScheduleRule.objects.get_or_create(catalog=party)
            rule.monthly_due_day = 20
            rule.save()
        relaxed = matrix(visitor)
        assert relaxed != after
        assert relaxed == nothing_kept(settings, lambda: matrix(Client()))


def test_an_items_frequency_changed_is_counted(town, changed, settings):  # noqa: F811
    """What the kept item specs hold (a counted field) follows a save."""
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        before = matrix(visitor)
        with changed():
            item = Item.objects.get(code="A01")
            item.frequency = Item.Frequency.QUARTERLY
            item.save()
        after = matrix(visitor)
        assert after != before
        assert after == nothing_kept(settings, lambda: matrix(Client()))


def test_the_kept_counts_are_settled_and_show_the_same(town):  # noqa: F811
    """The matrix keeps each tally's counts, rate and base, not the (unit,
    item) pairs they were worked out from."""
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        rows = visitor.get(URL).context["rows"]
        for row in rows:
            for _, tally in row["cells"]:
                assert tally is None or isinstance(tally, compliance.Settled)
            assert isinstance(row["total"], compliance.Settled)
        obligations, _ = compliance.load(
            units=[town["wenli"]], year=2026, as_of=date(2026, 11, 17)
        )
        fresh = compliance.tally(obligations, lambda o: "all")["all"]
        (wenli,) = [row for row in rows if row["unit"].slug == "wenli"]
        assert (wenli["total"].rate, wenli["total"].items, wenli["total"].due) == (
            fresh.rate,
            fresh.items,
            fresh.due,
        )
