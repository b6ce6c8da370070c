"""Attacks on the evening of 2026-12-02: an obligation event, an inspection
and a rectification name only their unit's and town's scopes (KeptForUnit),
a disclosure's table its disclosure's, a yearly report or a guide only
"any", and the statistics' 回音壁 figures are kept without the catalog's
scope. Each scenario fills the caches, makes a change and compares the
pages served with the same pages rendered with nothing kept (the harness of
test_merged_staleness_attack.py, on a few pages each)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.models import Item
from composition.models import DisclosureGuide, GovernmentReport
from disclosure.models import (
    Disclosure,
    DisclosureTable,
    Inspection,
    ObligationEvent,
    Rectification,
    Unit,
)
from tests.disclosure.test_tables import add_table
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.perf import test_merged_staleness_attack as harness

# The walk's fixture: two towns, three villages, rows of each kind.
county = harness.county

pytestmark = [
    pytest.mark.django_db,
    # YEAR below is taken once, at import; the pages are read before and after
    # a change and compared: all in one day, not across midnight (a year's end).
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

YEAR = timezone.localdate().year
COMPLIANCE = [
    "/compliance/wenli/",
    "/compliance/maoshan/",
    "/compliance/shangcun/",
    "/compliance/fengming/",
    "/compliance/?town=fengming",
    "/compliance/?town=qingshan",
    "/county/",
    f"/reports/fengming/{YEAR}/",
    "/stats/?unit=wenli",
    "/stats/?town=fengming",
]


def stale(settings, county, urls, change, capture, who=None) -> dict:
    """The pages among `urls` that differ, after `change`, from a render
    with nothing kept (harness.stale_pages on these pages only)."""
    original = harness.urls
    harness.urls = lambda county: list(urls)
    try:
        return harness.stale_pages(settings, county, change, capture, who)
    finally:
        harness.urls = original


def shown(found: dict) -> str:
    return "\n\n".join(f"{u}:\n{d}" for u, d in found.items())


def _village_notice_of_town_check(county):
    """A check of the town and its overdue notice to one of its villages."""
    return harness.check_with_notice(
        county["fengming"], county["wenli"], issue="村务公开栏未更新"
    )


# Bugs ------------------------------------------------------------------------


def test_a_towns_check_moved_to_another_year(
    settings, county, django_capture_on_commit_callbacks
):
    check, _notice = _village_notice_of_town_check(county)

    def change():
        row = Inspection.objects.get(pk=check.pk)
        row.inspected_on = row.inspected_on.replace(year=YEAR - 1)
        row.save()

    found = stale(
        settings, county, COMPLIANCE, change, django_capture_on_commit_callbacks
    )
    assert found == {}, shown(found)


def test_a_table_moved_to_another_disclosure(
    settings, county, django_capture_on_commit_callbacks
):
    urls = [
        f"/disclosures/{county['row-wenli'].pk}/",
        f"/disclosures/{county['row-maoshan'].pk}/",
    ]

    def change():
        table = DisclosureTable.objects.get(pk=county["table"].pk)
        table.disclosure = county["row-maoshan"]
        table.save()

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


def test_an_event_moved_twice_through_one_instance(
    settings, county, django_capture_on_commit_callbacks
):
    event = ObligationEvent.objects.get(pk=county["event"].pk)
    event.unit = county["maoshan"]
    event.save()
    urls = ["/compliance/maoshan/", "/compliance/shangcun/", "/compliance/wenli/"]

    def change():
        event.unit = county["shangcun"]
        event.save()

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


def test_a_village_moved_twice_through_one_instance(
    settings, county, django_capture_on_commit_callbacks
):
    # A unit remembers its place as loaded or last saved (KeepsLoaded), as
    # the rows kept for it do: the second move names the town it left.
    village = Unit.objects.get(pk=county["wenli"].pk)
    village.parent = county["qingshan"]
    village.save()
    urls = ["/compliance/?town=fengming", "/compliance/?town=qingshan"]
    urls += ["/feedback/?unit=qingshan", "/stats/?town=qingshan"]

    def change():
        village.parent = county["fengming"]
        village.save()

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


def test_a_new_notice_moved_through_the_instance_made(
    settings, county, django_capture_on_commit_callbacks
):
    notice = Rectification.objects.create(
        unit=county["maoshan"],
        inspection=Inspection.objects.create(
            unit=county["fengming"],
            inspector=UserFactory(username="town_inspector"),
            inspected_on=timezone.localdate(),
        ),
        issue="未按期公开",
        deadline=timezone.localdate() - timedelta(days=1),
    )
    urls = ["/compliance/maoshan/", "/compliance/wenli/"]

    def change():
        notice.unit = county["wenli"]
        notice.save()

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


# Held ------------------------------------------------------------------------


def test_a_village_notice_of_a_town_check_completed_and_moved(
    settings, county, django_capture_on_commit_callbacks
):
    _check, notice = _village_notice_of_town_check(county)

    def change():
        row = Rectification.objects.get(pk=notice.pk)
        row.completed_on = timezone.localdate()
        row.unit = county["maoshan"]
        row.save()

    found = stale(
        settings, county, COMPLIANCE, change, django_capture_on_commit_callbacks
    )
    assert found == {}, shown(found)


def test_a_notice_moved_to_a_check_of_another_year(
    settings, county, django_capture_on_commit_callbacks
):
    old = Inspection.objects.create(
        unit=county["wenli"],
        inspector=UserFactory(username="inspector2"),
        inspected_on=timezone.localdate().replace(year=YEAR - 1),
    )

    def change():
        row = Rectification.objects.get(pk=county["rectification"].pk)
        row.inspection = old
        row.save()

    found = stale(
        settings, county, COMPLIANCE, change, django_capture_on_commit_callbacks
    )
    assert found == {}, shown(found)


def test_an_event_linked_unlinked_and_its_disclosure_deleted(
    settings, county, django_capture_on_commit_callbacks
):
    event_item = Item.objects.get(pk=county["event_item"].pk)
    answer = DisclosureFactory(
        unit=county["wenli"],
        item=event_item,
        title="村道硬化公开",
        period=f"{timezone.localdate() - timedelta(days=40):%Y-%m}",
        event_date=timezone.localdate() - timedelta(days=40),
    )
    urls = [*COMPLIANCE[:3], "/compliance/?town=fengming", "/stats/?unit=wenli"]

    def link():
        row = ObligationEvent.objects.get(pk=county["event"].pk)
        row.disclosure = answer
        row.event_date = timezone.localdate() - timedelta(days=40)
        row.save()

    found = stale(settings, county, urls, link, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)

    def deleted():  # SET_NULL: an UPDATE of the event, no signal for it
        Disclosure.objects.get(pk=answer.pk).delete()

    found = stale(settings, county, urls, deleted, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


def test_an_events_item_changed(settings, county, django_capture_on_commit_callbacks):
    other = ItemFactory(
        category=county["category"],
        name="集体资产处置",
        frequency=Item.Frequency.IMMEDIATELY,
        timing=county["event_item"].timing,
    )

    def change():
        row = ObligationEvent.objects.get(pk=county["event"].pk)
        row.item = other
        row.event_date = timezone.localdate() - timedelta(days=60)
        row.save()

    urls = ["/compliance/wenli/", "/compliance/?town=fengming", "/stats/?unit=wenli"]
    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


def test_changes_rolled_back_leave_the_pages_right(
    settings, county, django_capture_on_commit_callbacks
):
    def change():
        with pytest.raises(RuntimeError), transaction.atomic():
            row = ObligationEvent.objects.get(pk=county["event"].pk)
            row.unit = county["shangcun"]
            row.save()
            add_table(county["row-maoshan"])
            raise RuntimeError

    urls = [*COMPLIANCE[:3], f"/disclosures/{county['row-maoshan'].pk}/"]
    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


@pytest.mark.parametrize("kind", ["scheduled", "party first", "inner", "withdrawn"])
def test_a_table_added_to_a_disclosure_not_plainly_public(
    settings, county, kind, django_capture_on_commit_callbacks
):
    now = timezone.now()
    facts = {
        "scheduled": {"published_at": now + timedelta(hours=1)},
        "party first": {"public_from": now + timedelta(days=3)},
        "inner": {"scope": "inner"},
        "withdrawn": {
            "status": Disclosure.Status.WITHDRAWN,
            "withdrawal_reason": "填报有误",
        },
    }[kind]
    row = DisclosureFactory(
        unit=county["wenli"], item=county["item"], title="收支明细", **facts
    )
    member = PartyMemberFactory(username="wenli_member", branch_of=county["wenli"])
    urls = [f"/disclosures/{row.pk}/", "/boards/wenli/"]
    for who in (None, member):
        found = stale(
            settings,
            county,
            urls,
            lambda: add_table(Disclosure.objects.get(pk=row.pk)),
            django_capture_on_commit_callbacks,
            who,
        )
        assert found == {}, shown(found)


def test_a_disclosure_deleted_with_its_table(
    settings, county, django_capture_on_commit_callbacks
):
    urls = [f"/disclosures/{county['row-wenli'].pk}/", "/boards/wenli/"]
    found = stale(
        settings,
        county,
        urls,
        lambda: Disclosure.objects.get(pk=county["row-wenli"].pk).delete(),
        django_capture_on_commit_callbacks,
    )
    assert found == {}, shown(found)


def test_a_guide_and_a_report_of_another_town(
    settings, county, django_capture_on_commit_callbacks
):
    urls = [
        "/guide/",
        "/guide/affairs/",
        "/guide/?town=qingshan",
        "/reports/",
        f"/reports/qingshan/{YEAR}/",
        "/",
    ]

    def change():
        DisclosureGuide.objects.update_or_create(
            town=county["qingshan"], defaults={"phone": "0830-5557777"}
        )
        GovernmentReport.objects.create(town=county["qingshan"], year=YEAR - 1)

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


STATS = ["/stats/", "/stats/?town=fengming", "/stats/?unit=wenli"]


def _catalog_change(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.category = county["other_category"]
    item.save()


def _new_case(county):
    SubmissionFactory(unit=county["wenli"], accepted=True, title="新的问题")


def _answered_case(county):
    from feedback.models import Submission

    case = Submission.objects.get(pk=county["case-wenli"].pk)
    case.answer = "已处理。"
    case.answered_at = timezone.now()
    case.status = "answered"
    case.save()


@pytest.mark.parametrize(
    "change", [_catalog_change, _new_case, _answered_case], ids=lambda f: f.__name__
)
def test_the_statistics_after_a_catalog_change_or_a_case(
    settings, county, change, django_capture_on_commit_callbacks
):
    found = stale(
        settings,
        county,
        STATS,
        lambda: change(county),
        django_capture_on_commit_callbacks,
    )
    assert found == {}, shown(found)


# Where a row was is read from the database before its save (core.loaded
# `row_before`), not taken from what the instance remembers: an older
# instance, or one whose save was rolled back, names where the row is.


def test_a_disclosure_moved_back_by_an_older_instance(
    settings, county, django_capture_on_commit_callbacks
):
    older = Disclosure.objects.get(pk=county["row-wenli"].pk)  # at wenli
    with django_capture_on_commit_callbacks(execute=True):
        moved = Disclosure.objects.get(pk=older.pk)
        moved.unit = county["maoshan"]
        moved.save()
    urls = ["/boards/wenli/", "/boards/maoshan/", "/stats/?unit=maoshan"]

    def change():
        older.title = "旧实例改了标题"
        older.save()  # writes wenli back: maoshan's pages lose it

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


def test_a_village_saved_again_after_a_move_rolled_back(
    settings, county, django_capture_on_commit_callbacks
):
    village = Unit.objects.get(pk=county["wenli"].pk)
    try:
        with transaction.atomic():
            village.parent = county["qingshan"]
            village.save()  # remembered as saved in qingshan
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    urls = ["/compliance/?town=fengming", "/stats/?town=fengming"]

    def change():
        village.parent = county["qingshan"]
        village.save()  # from fengming, whatever the instance remembers

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


def test_an_event_moved_by_an_older_instance(
    settings, county, django_capture_on_commit_callbacks
):
    event = ObligationEvent.objects.create(
        unit=county["wenli"],
        item=county["item"],
        event_date=timezone.localdate() - timedelta(days=40),
        description="村民代表会议",
    )
    older = ObligationEvent.objects.get(pk=event.pk)
    with django_capture_on_commit_callbacks(execute=True):
        event.unit = county["shangcun"]
        event.save()
    urls = ["/compliance/shangcun/", "/compliance/?town=qingshan"]

    def change():
        older.description = "旧实例改了说明"
        older.save()  # back at wenli: shangcun's pages lose it

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)


@pytest.mark.parametrize("row", ["event", "case"])
def test_a_row_deleted_through_an_older_instance(
    settings, county, django_capture_on_commit_callbacks, row
):
    """Deleted through an instance from before another one moved the row:
    the deletion names where the row is (core.loaded.KeepsLoaded.delete,
    which reads it first, as a save does), not where the instance thinks."""
    if row == "event":
        made = ObligationEvent.objects.create(
            unit=county["wenli"],
            item=county["item"],
            event_date=timezone.localdate() - timedelta(days=40),
            description="村民代表会议",
        )
        urls = ["/compliance/shangcun/", "/compliance/?town=qingshan"]
    else:
        made = county["case-wenli"]
        urls = [
            "/boards/shangcun/",
            "/feedback/?unit=shangcun",
            "/stats/?town=qingshan",
        ]
    older = type(made).objects.get(pk=made.pk)  # at wenli
    with django_capture_on_commit_callbacks(execute=True):
        moved = type(made).objects.get(pk=made.pk)
        moved.unit = county["shangcun"]
        moved.save()

    def change():
        older.delete()  # from shangcun: its pages lose it

    found = stale(settings, county, urls, change, django_capture_on_commit_callbacks)
    assert found == {}, shown(found)
