# ruff: noqa: F811 (the `town` fixture, imported, is each test's argument)
"""Attacks on a8e92e9 (the matrix's reads kept: the towns, the town's
units, the categories, the engine's item specs and rules; settled counts;
the 点题 loader's conditions; a next scheduled time kept as spans). Each
test compares what a visitor reads, kept, with the same read with nothing
kept."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from catalog.models import Catalog, Category, Item, ScheduleRule
from core import caching
from disclosure.models import Disclosure, NoticeBoard, Organisation, Unit
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    NoticeBoardFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_compliance_runs_attack import at
from tests.perf.test_matrix_reads import matrix
from tests.perf.test_unit_counts import (
    town,  # noqa: F401 (a fixture)
    towns_answer,
)

pytestmark = [pytest.mark.django_db]

EVENING = at(date(2026, 11, 17), 20)
URL = "/compliance/?kind=party&town=fengming&year=2026"
QINGSHAN = "/compliance/?kind=party&town=qingshan&year=2026"
STATS = "/stats/?town=fengming&year=2026"


def stats(client, url: str = STATS):
    response = client.get(url)
    assert response.status_code == 200, response.content.decode()[:500]
    return response.context["charts"]


def shown(client, url: str = URL) -> list[str]:
    """What a page shows of the matrix, from its HTML (a page kept whole
    has no context): its tables and the towns offered."""
    response = client.get(url)
    assert response.status_code == 200, response.content.decode()[:500]
    html = response.content.decode()
    return [
        *re.findall(r"<table.*?</table>", html, re.S),
        *re.findall(r'<select name="town".*?</select>', html, re.S),
    ]


def fresh(settings, read):
    """`read()` with nothing kept: no value, no page."""
    pages = settings.PAGE_CACHE_SECONDS
    settings.PAGE_CACHE_SECONDS = 0
    try:
        return nothing_kept(settings, read)
    finally:
        settings.PAGE_CACHE_SECONDS = pages


def same_as_fresh(settings, visitor, *urls: str) -> None:
    for url in urls or (URL,):
        kept = shown(visitor, url)
        assert kept == fresh(settings, lambda url=url: shown(Client(), url)), url
        if settings.PAGE_CACHE_SECONDS <= 0:
            kept = matrix(visitor, url)
            assert kept == nothing_kept(settings, lambda url=url: matrix(Client(), url))


def yearly(unit, **fields):
    return DisclosureFactory(
        unit=unit, item=Item.objects.get(code="A02"), period="2026", **fields
    )


# --- a scheduled publication coming due, moved, withdrawn ------------------


def scheduled(town, changed, visitor, due):
    """The matrix as a visitor reads it on the evening, and 茅山村's yearly
    report then scheduled for `due`: not shown yet. (before, the row)"""
    with time_machine.travel(EVENING, tick=False):
        before = shown(visitor)
        with changed():
            row = yearly(town["maoshan"], published_at=due)
        assert shown(visitor) == before
    return before, row


@pytest.mark.parametrize("cache", ["values_only", "page_cache"])
def test_a_scheduled_publication_shows_when_it_comes_due(
    town, changed, settings, cache, request
):
    request.getfixturevalue(cache)
    visitor = Client()
    due = EVENING + timedelta(minutes=10)
    before, _ = scheduled(town, changed, visitor, due)
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        after = shown(visitor)
        assert after != before
        same_as_fresh(settings, visitor)
        if cache == "values_only":
            assert stats(visitor) == nothing_kept(settings, lambda: stats(Client()))
    # Every minute after (the spans kept) it stays shown.
    for minutes in (1, 2, 5):
        with time_machine.travel(due + timedelta(minutes=minutes), tick=False):
            assert shown(visitor) == after


@pytest.mark.parametrize("cache", ["values_only", "page_cache"])
def test_two_scheduled_publications_a_minute_apart_each_show(
    town, changed, settings, cache, request
):
    """The spans: the first comes due, found again from then (a second
    span); the second comes due within the look back of the first."""
    request.getfixturevalue(cache)
    visitor = Client()
    first, second = EVENING + timedelta(seconds=30), EVENING + timedelta(seconds=80)
    with time_machine.travel(EVENING, tick=False):
        with changed():
            yearly(town["maoshan"], published_at=first)
            yearly(town["wenli"], published_at=second)
        before = shown(visitor)
    seen = [before]
    for moment in (first, second, second + timedelta(seconds=45)):
        with time_machine.travel(moment + timedelta(seconds=1), tick=False):
            seen.append(shown(visitor))
            same_as_fresh(settings, visitor)
    assert seen[0] != seen[1] != seen[2]


@pytest.mark.parametrize("cache", ["values_only", "page_cache"])
def test_a_scheduled_publication_put_off_or_brought_forward(
    town, changed, settings, cache, request
):
    request.getfixturevalue(cache)
    visitor = Client()
    due = EVENING + timedelta(minutes=10)
    before, row = scheduled(town, changed, visitor, due)
    with time_machine.travel(EVENING + timedelta(minutes=5), tick=False):
        with changed():
            row.published_at = EVENING + timedelta(hours=1)
            row.save()
        assert shown(visitor) == before
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert shown(visitor) == before  # put off: not yet
        same_as_fresh(settings, visitor)
        with changed():
            row.published_at = due + timedelta(minutes=1)
            row.save()
        assert shown(visitor) == before
    with time_machine.travel(due + timedelta(minutes=1, seconds=1), tick=False):
        assert shown(visitor) != before
        same_as_fresh(settings, visitor)


@pytest.mark.parametrize("cache", ["values_only", "page_cache"])
def test_a_scheduled_publication_withdrawn_before_it_comes_due(
    town, changed, settings, cache, request
):
    request.getfixturevalue(cache)
    visitor = Client()
    due = EVENING + timedelta(minutes=10)
    before, row = scheduled(town, changed, visitor, due)
    with time_machine.travel(EVENING, tick=False), changed():
        Disclosure.objects.filter(pk=row.pk).get().delete()  # as loaded
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert shown(visitor) == before
        same_as_fresh(settings, visitor)


def test_a_publication_coming_due_after_a_publication_just_now(
    town, changed, settings, values_only
):
    """A publication now (in the look back of the kept span) and one
    scheduled 30 s later: the second shows when it comes due."""
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        shown(visitor)
    with time_machine.travel(EVENING + timedelta(seconds=20), tick=False):
        with changed():
            yearly(town["maoshan"], published_at=timezone.now())
            DisclosureFactory(
                unit=town["maoshan"],
                item=Item.objects.get(code="A01"),
                period="2026-11",
                published_at=EVENING + timedelta(seconds=50),
            )
        shown(visitor)
    for seconds in (40, 51, 75, 130):
        with time_machine.travel(EVENING + timedelta(seconds=seconds), tick=False):
            same_as_fresh(settings, visitor)


# --- 点题 requests and their answers ---------------------------------------


def unit_page(client, slug="wenli"):
    response = client.get(f"/compliance/{slug}/?year=2026")
    assert response.status_code == 200
    return [
        (r["item"].code, r["obligation"].state, r["title"])
        for r in response.context["rows"]
    ]


@pytest.mark.parametrize(
    "change",
    [
        "withdrawn",
        "later",
        "draft",
        "inner",
        "unlinked",
        "no_consent",
        "held_back",
        "not_published",
    ],
)
def test_a_request_whose_answer_changes(town, changed, settings, values_only, change):
    # 文理村's own answer to its request, due on the 20th.
    row, case = towns_answer(town, by="wenli", due=date(2026, 11, 20))
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        before = matrix(visitor)
        unit_page(visitor)
        with changed():
            if change == "withdrawn":
                row.status = Disclosure.Status.WITHDRAWN
                row.withdrawn_at = timezone.now()
                row.withdrawal_reason = "有误"
                row.save()
            elif change == "later":
                row.published_at = EVENING + timedelta(days=10)
                row.save()
            elif change == "draft":
                Disclosure.objects.filter(pk=row.pk).update(
                    status=Disclosure.Status.DRAFT
                )
                caching.bump_version()
            elif change == "inner":
                row.scope = "inner"
                row.save()
            elif change == "unlinked":
                case.fulfilled_by = None
                case.save()
            elif change == "no_consent":
                case.consent_to_publish = False
                case.save()
            elif change == "held_back":
                case.concerns_inner_party = True
                case.save()
            elif change == "not_published":
                case.status = "not_published"
                case.hidden_reason = "涉及个人隐私"
                case.save()
        same_as_fresh(settings, visitor)
        assert unit_page(visitor) == nothing_kept(settings, lambda: unit_page(Client()))
        if change in ("withdrawn", "later", "draft", "unlinked"):
            assert matrix(visitor) != before
        if change in ("no_consent", "held_back", "not_published"):
            titles = [t for _, _, t in unit_page(visitor)]
            page = visitor.get("/compliance/wenli/?year=2026").content.decode()
            assert case.title not in page, titles


def test_requests_loaded_with_and_without_an_answer(town, values_only):
    """`accepted_requests`: the conditions read as the EXISTS they replace
    (no answer, an answer out, one scheduled, a withdrawn one; a case not
    on the wall)."""
    from feedback.obligations import accepted_requests

    with time_machine.travel(EVENING, tick=False):
        out = yearly(town["wenli"])
        later = yearly(town["wenli"], published_at=EVENING + timedelta(days=2))
        gone = yearly(
            town["wenli"],
            status=Disclosure.Status.WITHDRAWN,
            withdrawn_at=EVENING,
            withdrawal_reason="有误",
        )
        cases = {
            "none": SubmissionFactory(
                kind="request", unit=town["wenli"], accepted=True
            ),
            "out": SubmissionFactory(
                kind="request", unit=town["wenli"], accepted=True, fulfilled_by=out
            ),
            "later": SubmissionFactory(
                kind="request", unit=town["wenli"], accepted=True, fulfilled_by=later
            ),
            "gone": SubmissionFactory(
                kind="request", unit=town["wenli"], accepted=True, fulfilled_by=gone
            ),
            "private": SubmissionFactory(
                kind="request",
                unit=town["wenli"],
                accepted=True,
                consent_to_publish=False,
            ),
        }
        specs = {s.id: s for s in accepted_requests([town["wenli"].pk], 2026)}
        got = {name: specs[c.pk] for name, c in cases.items()}
    assert got["none"].disclosed_on is None and got["none"].title
    assert got["out"].disclosed_on == date(2026, 11, 16)
    assert got["later"].disclosed_on is None
    assert got["later"].answer_due == EVENING + timedelta(days=2)
    assert got["gone"].disclosed_on is None and got["gone"].answer_due is None
    assert got["private"].title == "" and got["private"].url == ""
    assert len(specs) == len(cases)


# --- units -------------------------------------------------------------------


def second_town():
    qingshan = TownFactory(name="青山镇", slug="qingshan", order=5)
    NoticeBoardFactory(unit=qingshan)
    return qingshan


def test_a_village_moved_to_another_town(town, changed, settings, values_only):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        with changed():
            qingshan = second_town()
        matrix(visitor)
        matrix(visitor, QINGSHAN)
        with changed():
            maoshan = Unit.objects.get(slug="maoshan")
            maoshan.parent = qingshan
            maoshan.save()
        assert [r[0] for r in matrix(visitor)["rows"]] == ["凤鸣镇", "文理村"]
        assert [r[0] for r in matrix(visitor, QINGSHAN)["rows"]] == ["青山镇", "茅山村"]
        same_as_fresh(settings, visitor, URL, QINGSHAN)
        assert stats(visitor) == nothing_kept(settings, lambda: stats(Client()))


def test_a_village_made_a_town(town, changed, settings, values_only):
    visitor = Client()
    wenli_url = "/compliance/?kind=party&town=wenli&year=2026"
    with time_machine.travel(EVENING, tick=False):
        matrix(visitor)
        assert visitor.get(wenli_url).status_code == 400
        with changed():
            wenli = Unit.objects.get(slug="wenli")
            wenli.kind = Unit.Kind.TOWN
            wenli.parent = None
            wenli.save()
        assert "文理村" in matrix(visitor)["towns"]
        assert [r[0] for r in matrix(visitor)["rows"]] == ["凤鸣镇", "茅山村"]
        same_as_fresh(settings, visitor, URL, wenli_url)


def test_a_unit_renamed_reordered_and_deleted(town, changed, settings, values_only):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        with changed():
            empty = UnitFactory(name="空村", slug="kong", parent=town["fengming"])
            second_town()
        matrix(visitor)
        with changed():
            fengming = Unit.objects.get(slug="fengming")
            fengming.name = "凤鸣街道"
            fengming.save()
        assert matrix(visitor)["towns"][0] == "凤鸣街道"
        assert matrix(visitor)["rows"][0][0] == "凤鸣街道"
        with changed():
            fengming.order = 9
            fengming.save()
        # The first town is the default (no ?town=).
        default = "/compliance/?kind=party&year=2026"
        assert matrix(visitor, default)["rows"][0][0] == "青山镇"
        with changed():
            Organisation.objects.filter(unit=empty).delete()
            Unit.objects.get(pk=empty.pk).delete()
        assert "空村" not in [r[0] for r in matrix(visitor)["rows"]]
        same_as_fresh(settings, visitor, URL, default, QINGSHAN)


def test_a_town_deleted_is_no_longer_offered(town, changed, settings, values_only):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        with changed():
            qingshan = second_town()
        assert matrix(visitor, QINGSHAN)["rows"][0][0] == "青山镇"
        with changed():
            Organisation.objects.filter(unit=qingshan).delete()
            NoticeBoard.objects.filter(unit=qingshan).delete()
            Unit.objects.get(pk=qingshan.pk).delete()
        assert visitor.get(QINGSHAN).status_code == 400
        assert matrix(visitor)["towns"] == ["凤鸣镇"]


# --- the catalog ---------------------------------------------------------------


def government_catalog():
    return CategoryFactory(catalog__kind=Catalog.Kind.GOVERNMENT, name="政务栏目")


GOV = "/compliance/?kind=government&town=fengming&year=2026"


@pytest.mark.parametrize("how", ["save", "update"])
def test_a_category_moved_to_another_catalog(town, changed, settings, values_only, how):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        with changed():
            gov = government_catalog()
        party_before, gov_before = matrix(visitor), matrix(visitor, GOV)
        category = Item.objects.get(code="A01").category
        with changed():
            if how == "save":
                category.catalog = gov.catalog
                category.save()
            else:
                Category.objects.filter(pk=category.pk).update(catalog=gov.catalog)
        assert matrix(visitor) != party_before
        assert matrix(visitor, GOV) != gov_before
        same_as_fresh(settings, visitor, URL, GOV)
        assert stats(visitor) == nothing_kept(settings, lambda: stats(Client()))


def test_a_category_deleted_and_renamed(town, changed, settings, values_only):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        with changed():
            spare = CategoryFactory(
                catalog=Catalog.objects.get(kind="party"), name="空栏目"
            )
        assert "空栏目" in matrix(visitor)["columns"]
        with changed():
            Category.objects.get(pk=spare.pk).delete()
        assert "空栏目" not in matrix(visitor)["columns"]
        with changed():
            Category.objects.filter(name__startswith="栏目").update(name="改名栏目")
        assert matrix(visitor)["columns"] == ["改名栏目"]
        same_as_fresh(settings, visitor)


@pytest.mark.parametrize(
    "fields",
    [
        {"frequency": Item.Frequency.QUARTERLY},
        {"timing": "long"},
        {"for_village": False},
        {"nil_allowed": False},
        {"code": "Z99"},
    ],
    ids=lambda f: next(iter(f)),
)
def test_an_item_updated_in_bulk(town, changed, settings, values_only, fields):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        matrix(visitor)
        stats(visitor)
        with changed():
            Item.objects.filter(code="A01").update(**fields)
        same_as_fresh(settings, visitor)
        assert stats(visitor) == nothing_kept(settings, lambda: stats(Client()))


def test_an_item_moved_and_a_new_item(town, changed, settings, values_only):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        with changed():
            gov = government_catalog()
        matrix(visitor)
        matrix(visitor, GOV)
        with changed():
            item = Item.objects.get(code="A01")
            item.category = gov
            item.save()
        same_as_fresh(settings, visitor, URL, GOV)
        with changed():
            ItemFactory(code="A03", category=Item.objects.get(code="A02").category)
        same_as_fresh(settings, visitor, URL, GOV)


def test_a_schedule_rule_deleted_and_a_catalog_adopted_later(
    town, changed, settings, values_only
):
    visitor = Client()
    with time_machine.travel(EVENING, tick=False):
        party = Catalog.objects.get(kind="party")
        with changed():
            rule, _ = ScheduleRule.objects.get_or_create(catalog=party)
            rule.monthly_due_day = 20
            rule.save()
        relaxed = matrix(visitor)
        with changed():
            ScheduleRule.objects.filter(pk=rule.pk).delete()
        assert matrix(visitor) != relaxed
        same_as_fresh(settings, visitor)
        with changed():
            party.adopted_on = date(2026, 12, 1)
            party.save()
        same_as_fresh(settings, visitor)
        assert stats(visitor) == nothing_kept(settings, lambda: stats(Client()))


@pytest.mark.parametrize("url", ["/", STATS])
def test_a_scheduled_publication_shows_on_home_and_statistics_when_due(
    town, changed, settings, page_cache, url
):
    visitor = Client()
    due = EVENING + timedelta(minutes=10)

    def page(client):
        response = client.get(url)
        assert response.status_code == 200
        return response.content.decode()

    with time_machine.travel(EVENING, tick=False):
        with changed():
            yearly(town["maoshan"], published_at=due)
        before = page(visitor)
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        after = page(visitor)
        assert after == fresh(settings, lambda: page(Client()))
    assert after != before
