"""Every public page and the main admin lists run a bounded number of queries.

Each page is fetched at two data sizes, the second about ten times the first
(tests/perf/builders.py), with `django_assert_max_num_queries`: a query per row
(an N+1) breaks the budget at the larger size. The budgets are the counts
measured after the query fixes plus a little headroom; the second test of
each kind checks the count itself does not move with the data.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.models import Submission
from tests.factories import PartyMemberFactory, SuperuserFactory
from tests.perf.builders import YEAR, build_county, grow

pytestmark = pytest.mark.django_db

SIZES = {
    "small": {"villages": 2, "per_unit": 3},
    "large": {"villages": 8, "per_unit": 10},
}


def public_pages(county) -> dict[str, tuple[str, int]]:
    """Name: (URL, query budget)."""
    village, item = county.village, county.public_item
    other = county.other_town
    this_month = f"{timezone.localdate():%Y-%m}"  # the builders' cases are new
    return {
        # + the year's figures: 党务/政务/村务 and the liaison points' 回音壁.
        "home": ("/", 16),
        "boards": ("/boards/", 4),
        # + the 回音壁 column (feedback's, through disclosure.board_extras).
        # The ETag's next scheduled change: one query with nothing kept
        # (here; two, by the unit's slug, until 2026-12-05 evening), none when
        # kept (its COUNT and MAX were one, always).
        "board": (f"/boards/{village.slug}/", 10),
        "board of a period": (f"/boards/{village.slug}/?period={YEAR}-01", 9),
        "catalog": ("/catalog/", 7),
        "catalog item": (f"/catalog/{item.code}/", 6),
        "list": ("/disclosures/", 9),
        "list by unit": (f"/disclosures/?unit={village.slug}", 9),
        "list by kind": ("/disclosures/?kind=party", 9),
        "list by category": (f"/disclosures/?category={item.category_id}", 9),
        "list by item": (f"/disclosures/?item={item.code}", 9),
        "list by period": (f"/disclosures/?period={YEAR}-01", 9),
        "list by date": (
            f"/disclosures/?published_min={YEAR}-01-01&published_max=2100-01-01",
            10,
        ),
        "list with nil returns": ("/disclosures/?nil=on", 9),
        "detail": (f"/disclosures/{county.disclosure.pk}/", 5),
        "wall": ("/feedback/", 9),
        "wall by unit": (f"/feedback/?unit={village.slug}&status=answered", 9),
        "wall under escalation": ("/feedback/?escalated=1", 9),
        "wall detail": (f"/feedback/{county.submission.pk}/", 3),
        # The month's cases, their public fulfilments and the month's figures.
        "wall print": (f"/feedback/print/{village.slug}/{this_month}/", 5),
        "wall print a3": (f"/feedback/print/{village.slug}/{this_month}/?size=a3", 5),
        "search": ("/search/?q=防火资金", 5),
        "search short word": ("/search/?q=防火", 5),
        "search in a unit": (f"/search/?q=防火资金&unit={village.slug}", 6),
        # compliance.load(): items, rules, filings, registered events and the
        # 点题公开 requests accepted (one query, from feedback/obligations.py).
        "compliance": (f"/compliance/?year={YEAR}&as_of={YEAR}-12-31", 10),
        "compliance of a unit": (
            f"/compliance/{village.slug}/?year={YEAR}&as_of={YEAR}-12-31",
            # With the events it owes and the two counts of its 督查 records,
            # and its town's units (kept: their 点题 requests may be answered
            # by its disclosures, compliance.load).
            11,
        ),
        "compliance: a unit's nil filings": (
            f"/compliance/{village.slug}/?year={YEAR}&as_of={YEAR}-12-31&nil=1",
            11,
        ),
        "compliance of a town": (
            f"/compliance/?year={YEAR}&as_of={YEAR}-12-31&town={other.slug}",
            11,
        ),
        "compliance as Excel": (
            f"/compliance/export.xlsx?year={YEAR}&as_of={YEAR}-12-31&town={other.slug}",
            11,
        ),
        "compliance of a unit as Excel": (
            f"/compliance/{village.slug}/export.xlsx?year={YEAR}&as_of={YEAR}-12-31",
            11,
        ),
        "county": (f"/county/?year={YEAR}", 17),
        # The 回音壁's months, received and answered on time: one grouped
        # query (two until 2026-12-07, third session).
        "stats": (f"/stats/?year={YEAR}", 28),
        "stats of a town": (f"/stats/?year={YEAR}&town={other.slug}", 28),
        # + the county's reference day, in the on-time shares' name
        # (compliance.reference_date: an archive's last publication day).
        "stats of a unit": (f"/stats/?year={YEAR}&unit={village.slug}", 28),
        "feed latest": ("/feeds/latest/", 4),
        "feed board": (f"/feeds/boards/{village.slug}/", 5),
        "feed feedback": ("/feeds/feedback/", 4),
        "sitemap": ("/sitemap.xml", 10),
        "reports": ("/reports/", 4),
        # + the 督查 section (the checks' scores, the notices' counts) and
        # the 点题 requests owed (compliance.load, with the town's units).
        "report": (f"/reports/{YEAR}/?town={county.town.slug}", 24),
        "report of a town": (f"/reports/{county.town.slug}/{YEAR}/", 24),
    }


ADMIN_PAGES = {
    "disclosure changelist": ("/admin/disclosure/disclosure/", 13),
    "pending changelist": ("/admin/disclosure/pendingdisclosure/", 13),
    "submission changelist": ("/admin/feedback/submission/", 11),
    "submission inbox": ("/admin/feedback/submission/?inbox=todo", 11),
    "submission escalated to me": ("/admin/feedback/submission/?inbox=escalated", 11),
    "submission escalated": ("/admin/feedback/submission/?escalated=yes", 11),
    "unit changelist": ("/admin/disclosure/unit/", 7),
    "event changelist": ("/admin/disclosure/obligationevent/", 9),
    "inspection changelist": ("/admin/disclosure/inspection/", 9),
    "rectification changelist": ("/admin/disclosure/rectification/", 7),
}


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


@pytest.mark.parametrize("size", SIZES)
def test_public_pages_stay_within_their_query_budget(
    client, django_assert_max_num_queries, size
):
    county = build_county(**SIZES[size])
    for name, (url, budget) in public_pages(county).items():
        with django_assert_max_num_queries(budget, info=name):
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)


@pytest.mark.parametrize("size", SIZES)
def test_pages_of_a_party_member_stay_within_budget(
    party_client, django_assert_max_num_queries, size
):
    county = build_county(**SIZES[size])
    pages = public_pages(county)
    pages["inner detail"] = (f"/disclosures/{county.inner_disclosure.pk}/", 7)
    for name, (url, budget) in pages.items():
        # A logged-in visitor costs the session and user look-ups (and perms,
        # and their party branch: disclosure.models.Reader).
        with django_assert_max_num_queries(budget + 5, info=name):
            response = party_client.get(url)
        assert response.status_code == 200, (name, response.status_code)


@pytest.mark.parametrize("size", SIZES)
def test_admin_changelists_stay_within_their_query_budget(
    client, django_assert_max_num_queries, size
):
    build_county(**SIZES[size])
    client.force_login(SuperuserFactory())
    for name, (url, budget) in ADMIN_PAGES.items():
        with django_assert_max_num_queries(budget, info=name):
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)


@pytest.mark.usefixtures("away_from_midnight")
def test_query_counts_do_not_grow_with_the_data():
    """The same pages before and after the data grows tenfold: the same counts
    (on one day: measured astride the new year's midnight, the wall's print
    made one query more after it, the clock's doing, not the data's)."""
    county = build_county(**SIZES["small"])
    anonymous, party, staff = Client(), Client(), Client()
    party.force_login(PartyMemberFactory())
    staff.force_login(SuperuserFactory())

    def measure() -> dict[str, int]:
        counts = {}
        for name, (url, _budget) in public_pages(county).items():
            counts[name] = count_queries(anonymous, url)
            counts[f"party member: {name}"] = count_queries(party, url)
        for name, (url, _budget) in ADMIN_PAGES.items():
            counts[name] = count_queries(staff, url)
        return counts

    measure()  # warm the per-process caches (content types, permissions)
    before = measure()
    grow(county, villages=6, per_unit=10)
    after = measure()
    grown = {n: (before[n], after[n]) for n in before if after[n] > before[n]}
    assert not grown, grown


def test_a_members_own_cases_page_stays_within_budget(party_client, party_member):
    """/feedback/mine/ at two sizes: the same count, within its budget."""
    county = build_county(**SIZES["small"])

    def theirs():
        Submission.objects.filter(submitter__isnull=True).update(submitter=party_member)

    theirs()
    count_queries(party_client, "/feedback/mine/")  # warm the per-process caches
    before = count_queries(party_client, "/feedback/mine/")
    grow(county, villages=6, per_unit=10)
    theirs()
    after = count_queries(party_client, "/feedback/mine/")
    # The session and user, the count and the page (with what a case shows).
    assert before == after <= 4
