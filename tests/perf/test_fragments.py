"""Fragments (core/fragments.py): a page made from kept pieces is the same
bytes as the page rendered whole, a change shows at once, and a piece kept
for one audience never reaches another."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Scope
from disclosure import services
from disclosure import views as disclosure_views
from disclosure.models import Disclosure
from feedback import services as feedback_services
from feedback.models import Kind, Submission
from feedback.templatetags import wall_tags
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    acting_for,
    staff_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

BRANCH_TITLE = "文理村党支部内部通报甲"
INNER_TITLE = "党内通报会议纪要乙"


@pytest.fixture
def wenli(db):
    wenli = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    DisclosureFactory(unit=wenli, title="村务公开财务收支")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.BRANCH), title=BRANCH_TITLE
    )
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title=INNER_TITLE
    )
    return wenli


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def counting(monkeypatch, module, name) -> list:
    calls = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def page(client, url) -> bytes:
    """The page's bytes, but the CSRF token (a new mask each render)."""
    body = client.get(url).content
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"TOKEN", body)


def board_urls(unit) -> list[str]:
    period = Disclosure.objects.filter(unit=unit).first().period
    return [f"/boards/{unit.slug}/", f"/boards/{unit.slug}/?period={period}"]


def test_a_board_from_its_kept_body_is_the_same_page(wenli, settings, monkeypatch):
    clients = {
        "visitor": Client(),
        "member": logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli)),
    }
    rendered = counting(monkeypatch, disclosure_views, "board_body_context")
    for who, client in clients.items():
        for url in board_urls(wenli):
            settings.VALUE_CACHE_SECONDS = 0
            whole = page(client, url)
            settings.VALUE_CACHE_SECONDS = 60
            made = page(client, url)
            calls = len(rendered)
            kept = page(client, url)
            assert len(rendered) == calls, (who, url)  # the body was kept
            assert whole == made == kept, (who, url)
            assert b"disclosure-entry" in kept


def test_a_board_shows_a_publication_and_an_edit_at_once(
    wenli, django_capture_on_commit_callbacks
):
    reviewer = staff_user(username="reviewer", group="审核人")
    draft = DisclosureFactory(
        unit=wenli,
        title="新发布的村务公开",
        status=Disclosure.Status.APPROVED,
        published_at=None,
    )
    acting_for(reviewer, draft, "approve")
    url = f"/boards/{wenli.slug}/"
    visitor = Client()
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    for client in (visitor, member):
        assert "新发布的村务公开" not in client.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(draft, by=reviewer)
    for client in (visitor, member):
        assert "新发布的村务公开" in client.get(url).text
    shown = Disclosure.objects.get(title="村务公开财务收支")
    with django_capture_on_commit_callbacks(execute=True):
        shown.title = "村务公开财务收支（更正）"
        shown.save()
    for client in (visitor, member):
        assert "村务公开财务收支（更正）" in client.get(url).text


def test_a_kept_board_body_follows_a_scheduled_publication(wenli):
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    DisclosureFactory(
        unit=wenli, title="十二点发布的公开", published_at=at + timedelta(hours=2)
    )
    visitor = Client()
    url = f"/boards/{wenli.slug}/"
    with time_machine.travel(at, tick=False):
        assert "十二点发布的公开" not in visitor.get(url).text
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        assert "十二点发布的公开" in visitor.get(url).text


def test_a_kept_board_body_never_reaches_another_audience(wenli):
    own = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=wenli.parent)
    for url in board_urls(wenli):
        own.get(url)
        assert BRANCH_TITLE in own.get(url).text
    others = {
        "other branch": logged_in(
            PartyMemberFactory(username="maoshan_a", branch_of=maoshan)
        ),
        "no branch": logged_in(PartyMemberFactory(username="member_nb")),
        "resident": logged_in(UserFactory(username="resident")),
        "visitor": Client(),
    }
    for who, client in others.items():
        for _ in range(2):  # the first keeps its own body, the second reads it
            for url in board_urls(wenli):
                text = client.get(url).text
                assert BRANCH_TITLE not in text, (who, url)
                if who in ("resident", "visitor"):
                    assert INNER_TITLE not in text, (who, url)
                else:
                    assert INNER_TITLE in text, (who, url)


@pytest.fixture
def wall(wenli):
    """Cases on the wall: one open, two answered, one of them by a 党内 notice."""
    staff = UserFactory(username="staff", is_staff=True)
    department = DepartmentFactory(name="综治办")
    SubmissionFactory(unit=wenli, title="路灯坏了", accepted=True)
    public = DisclosureFactory(unit=wenli, title="村道维护资金使用情况")
    inner = Disclosure.objects.get(title=INNER_TITLE)
    for title, disclosure in (("请公开村道资金", public), ("请公开党内名单", inner)):
        feedback_services.answer(
            SubmissionFactory(unit=wenli, kind=Kind.REQUEST, title=title),
            by=staff,
            department=department,
            text="已公开。",
            fulfilled_by=disclosure,
        )
    return {"staff": staff, "department": department}


def test_the_wall_from_kept_cards_is_the_same_page(wall, wenli, settings, monkeypatch):
    rendered = counting(monkeypatch, wall_tags, "card_rows")
    clients = {
        "visitor": Client(),
        "member": logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli)),
    }
    for who, client in clients.items():
        for url in ("/feedback/", f"/feedback/?unit={wenli.slug}"):
            settings.VALUE_CACHE_SECONDS = 0
            whole = page(client, url)
            settings.VALUE_CACHE_SECONDS = 60
            made = page(client, url)
            calls = len(rendered)
            kept = page(client, url)
            assert len(rendered) == calls, (who, url)  # every card was kept
            assert whole == made == kept, (who, url)
            assert kept.count(b'class="wall-entry"') == 3


def test_a_wall_card_shows_a_change_at_once(
    wall, wenli, django_capture_on_commit_callbacks
):
    visitor = Client()
    open_case = Submission.objects.get(title="路灯坏了")
    assert "路灯已修好" not in visitor.get("/feedback/").text
    with django_capture_on_commit_callbacks(execute=True):
        feedback_services.answer(
            open_case,
            by=wall["staff"],
            department=wall["department"],
            text="路灯已修好。",
        )
    assert "路灯已修好" in visitor.get("/feedback/").text
    shown = Disclosure.objects.get(title="村道维护资金使用情况")
    with django_capture_on_commit_callbacks(execute=True):
        shown.title = "村道维护资金使用情况（更正）"
        shown.save()
    assert "村道维护资金使用情况（更正）" in visitor.get("/feedback/").text


def test_a_kept_card_never_shows_a_visitor_a_party_notice(wall, wenli):
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    for _ in range(2):
        assert INNER_TITLE in member.get("/feedback/").text
    for _ in range(2):  # the first keeps the visitor's cards, the second reads them
        for client in (Client(), logged_in(UserFactory(username="resident"))):
            text = client.get("/feedback/").text
            assert INNER_TITLE not in text
            assert "请公开党内名单" in text  # the case itself is public


def test_a_disclosure_from_its_kept_article_is_the_same_page(
    wall, wenli, settings, monkeypatch
):
    rendered = counting(monkeypatch, disclosure_views, "render_to_string")
    answered = Disclosure.objects.get(title="村道维护资金使用情况")
    inner = Disclosure.objects.get(title=INNER_TITLE)
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    for who, client, disclosure in (
        ("visitor", Client(), answered),
        ("member", member, answered),
        ("member", member, inner),
    ):
        url = disclosure.get_absolute_url()
        settings.VALUE_CACHE_SECONDS = 0
        whole = page(client, url)
        settings.VALUE_CACHE_SECONDS = 60
        made = page(client, url)
        calls = len(rendered)
        kept = page(client, url)
        assert len(rendered) == calls, (who, url)  # the article was kept
        assert whole == made == kept, (who, url)
        assert "请公开".encode() in kept  # the request it answered


def test_a_disclosure_page_shows_a_change_at_once(
    wall, wenli, django_capture_on_commit_callbacks
):
    visitor = Client()
    disclosure = Disclosure.objects.get(title="村道维护资金使用情况")
    url = disclosure.get_absolute_url()
    assert "村道资金第二次申请" not in visitor.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        feedback_services.answer(
            SubmissionFactory(
                unit=wenli, kind=Kind.REQUEST, title="村道资金第二次申请"
            ),
            by=wall["staff"],
            department=wall["department"],
            text="已公开。",
            fulfilled_by=disclosure,
        )
    assert "村道资金第二次申请" in visitor.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        disclosure.body = "更正后的正文"
        disclosure.save()
    assert "更正后的正文" in visitor.get(url).text


def test_a_kept_article_never_reaches_a_visitor(wenli):
    inner = Disclosure.objects.get(title=INNER_TITLE)
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    for _ in range(2):
        assert INNER_TITLE in member.get(inner.get_absolute_url()).text
    for client in (Client(), logged_in(UserFactory(username="resident"))):
        response = client.get(inner.get_absolute_url())
        assert response.status_code == 404
        assert INNER_TITLE not in response.text


def test_the_home_page_from_its_kept_content_is_the_same_page(
    wall, wenli, settings, monkeypatch
):
    from composition import views as composition_views

    rendered = counting(monkeypatch, composition_views, "home_latest_context")
    clients = {
        "visitor": Client(),
        "member": logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli)),
    }
    for who, client in clients.items():
        settings.VALUE_CACHE_SECONDS = 0
        whole = page(client, "/")
        settings.VALUE_CACHE_SECONDS = 60
        made = page(client, "/")
        calls = len(rendered)
        kept = page(client, "/")
        assert len(rendered) == calls, who  # the content was kept
        assert whole == made == kept, who
        assert (INNER_TITLE.encode() in kept) == (who == "member"), who


def home_parts(monkeypatch) -> dict[str, list]:
    """The calls that make each of the home page's fragments."""
    from composition import views as composition_views

    return {
        part: counting(monkeypatch, composition_views, f"home_{part}_context")
        for part in ("figures", "latest", "catalog", "boards")
    }


def made_again(parts, before: dict[str, int]) -> set[str]:
    return {part for part, calls in parts.items() if len(calls) > before[part]}


def test_a_case_in_the_town_makes_the_home_pages_figures_again_not_the_rest(
    wall, wenli, settings, monkeypatch, django_capture_on_commit_callbacks
):
    parts = home_parts(monkeypatch)
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    clients = {"visitor": Client(), "member": member}
    for client in clients.values():
        page(client, "/")
    # The figures, the catalog and the boards are the same for all.
    assert {part: len(calls) for part, calls in parts.items()} == {
        "figures": 1,
        "latest": 2,
        "catalog": 1,
        "boards": 1,
    }
    # A case comes in (not listed until accepted): counted at once.
    before = {part: len(calls) for part, calls in parts.items()}
    with django_capture_on_commit_callbacks(execute=True):
        SubmissionFactory(unit=wenli, title="新来的意见")
    kept = {who: page(client, "/") for who, client in clients.items()}
    assert made_again(parts, before) == {"figures"}
    settings.VALUE_CACHE_SECONDS = 0
    for who, client in clients.items():
        assert kept[who] == page(client, "/"), who
    assert (
        INNER_TITLE.encode() in kept["member"],
        INNER_TITLE.encode() in kept["visitor"],
    ) == (True, False)


def test_a_publication_in_the_town_leaves_the_home_pages_catalog_and_boards(
    wall, wenli, settings, monkeypatch, django_capture_on_commit_callbacks
):
    parts = home_parts(monkeypatch)
    visitor = Client()
    page(visitor, "/")
    before = {part: len(calls) for part, calls in parts.items()}
    item = Disclosure.objects.filter(unit=wenli, title="村务公开财务收支").get().item
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=wenli, item=item, title="首页上的新公开")
    kept = page(visitor, "/")
    assert "首页上的新公开".encode() in kept
    assert made_again(parts, before) == {"figures", "latest"}
    settings.VALUE_CACHE_SECONDS = 0
    assert kept == page(visitor, "/")


def test_the_home_pages_catalog_and_boards_follow_their_changes(
    wall, wenli, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from catalog.models import Catalog, Category

    party = Catalog.objects.filter(kind=Catalog.Kind.PARTY).first()
    if party is None:
        party = ItemFactory(category__catalog__kind=Catalog.Kind.PARTY).category.catalog
    parts = home_parts(monkeypatch)
    visitor = Client()
    page(visitor, "/")
    # A category of the party catalog renamed: the catalog's list again.
    before = {part: len(calls) for part, calls in parts.items()}
    category = Category.objects.filter(catalog=party).first()
    with django_capture_on_commit_callbacks(execute=True):
        category.name = "改名后的类别"
        category.save()
    assert "改名后的类别" in visitor.get("/").text
    assert "catalog" in made_again(parts, before)
    # A village made a liaison point: its tile, and the count of them.
    before = {part: len(calls) for part, calls in parts.items()}
    with django_capture_on_commit_callbacks(execute=True):
        wenli.is_liaison_point = not wenli.is_liaison_point
        wenli.save()
    response = visitor.get("/")
    assert made_again(parts, before) >= {"figures", "boards"}
    assert response.context["figures"]["liaison_points"] == int(wenli.is_liaison_point)
    assert ('badge-liaison">' in response.text) == wenli.is_liaison_point
    kept = page(visitor, "/")
    settings.VALUE_CACHE_SECONDS = 0
    assert kept == page(visitor, "/")


def test_the_home_page_shows_a_change_at_once(
    wall, wenli, django_capture_on_commit_callbacks
):
    visitor = Client()
    assert "首页上的新公开" not in visitor.get("/").text
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=wenli, title="首页上的新公开")
    assert "首页上的新公开" in visitor.get("/").text


def test_kept_home_content_follows_a_scheduled_publication(wenli):
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    DisclosureFactory(
        unit=wenli, title="十二点发布的公开", published_at=at + timedelta(hours=2)
    )
    visitor = Client()
    with time_machine.travel(at, tick=False):
        assert "十二点发布的公开" not in visitor.get("/").text
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        assert "十二点发布的公开" in visitor.get("/").text


def test_kept_home_content_follows_a_party_first_row_reaching_the_public(wenli):
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    DisclosureFactory(
        unit=wenli,
        title="先党内后党外的首页公开",
        published_at=at - timedelta(hours=1),
        public_from=at + timedelta(hours=2),
    )
    visitor = Client()
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    with time_machine.travel(at, tick=False):
        assert "先党内后党外的首页公开" in member.get("/").text
        assert "先党内后党外的首页公开" not in visitor.get("/").text
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        assert "先党内后党外的首页公开" in visitor.get("/").text


def test_a_list_from_kept_entries_is_the_same_page(wenli, settings, monkeypatch):
    from disclosure.templatetags import disclosure_tags

    rendered = counting(monkeypatch, disclosure_tags, "disclosure_entry")
    clients = {
        "visitor": Client(),
        "member": logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli)),
    }
    for who, client in clients.items():
        for url in ("/disclosures/", f"/disclosures/?unit={wenli.slug}"):
            settings.VALUE_CACHE_SECONDS = 0
            whole = page(client, url)
            settings.VALUE_CACHE_SECONDS = 60
            made = page(client, url)
            calls = len(rendered)
            kept = page(client, url)
            assert len(rendered) == calls, (who, url)  # every entry was kept
            assert whole == made == kept, (who, url)
            assert (INNER_TITLE.encode() in kept) == (who == "member"), (who, url)


def test_a_list_shows_an_edit_and_a_withdrawal_at_once(
    wenli, django_capture_on_commit_callbacks
):
    visitor = Client()
    url = f"/disclosures/?unit={wenli.slug}"
    shown = Disclosure.objects.get(title="村务公开财务收支")
    assert "村务公开财务收支" in visitor.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        shown.title = "村务公开财务收支（更正）"
        shown.save()
    assert "村务公开财务收支（更正）" in visitor.get(url).text
    reviewer = staff_user(username="reviewer", group="审核人")
    acting_for(reviewer, shown, "approve")
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(shown, by=reviewer, reason="有误")
    assert "村务公开财务收支" not in visitor.get(url).text


@pytest.mark.parametrize("where", ["/disclosures/?unit={}", "/boards/{}/"])
def test_a_kept_entry_loses_its_party_first_badge_at_its_public_date(wenli, where):
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    DisclosureFactory(
        unit=wenli,
        title="先党内后党外的公开",
        published_at=at - timedelta(hours=1),
        public_from=at + timedelta(hours=2),
    )
    member = logged_in(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    url = where.format(wenli.slug)
    with time_machine.travel(at, tick=False):
        assert "先党内后党外</span>" in member.get(url).text
        assert "先党内后党外的公开" not in Client().get(url).text
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        assert "先党内后党外</span>" not in member.get(url).text
        assert "先党内后党外的公开" in Client().get(url).text


def test_the_home_page_shows_its_towns_new_name_at_once(
    wenli, django_capture_on_commit_callbacks
):
    visitor = Client()
    town = wenli.parent
    assert town.name in visitor.get("/").text
    with django_capture_on_commit_callbacks(execute=True):
        town.name = "凤鸣新镇"
        town.save()
    assert "凤鸣新镇党务政务村务公开" in visitor.get("/").text


def rows_read_by_key(queries, table: str) -> list[str]:
    """The queries that read rows of `table` by their keys (a card's or an
    entry's row, read only for what is not kept)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and f'FROM "{table}"' in q["sql"]
        and f'"{table}"."id" IN (' in q["sql"]
    ]


def test_a_card_made_again_reads_its_row_by_key_without_an_order(
    wall, wenli, django_capture_on_commit_callbacks
):
    visitor = Client()
    visitor.get("/feedback/")
    with django_capture_on_commit_callbacks(execute=True):
        feedback_services.answer(
            Submission.objects.get(title="路灯坏了"),
            by=wall["staff"],
            department=wall["department"],
            text="路灯已修好。",
        )
    with CaptureQueriesContext(connection) as queries:
        assert "路灯已修好" in visitor.get("/feedback/").text
    (card,) = rows_read_by_key(queries, "feedback_submission")
    assert "ORDER BY" not in card


@pytest.mark.parametrize("where", ["/disclosures/?unit={}", "/disclosures/"])
def test_an_entry_made_again_reads_its_row_by_key_without_an_order(
    wenli, where, django_capture_on_commit_callbacks
):
    visitor = Client()
    url = where.format(wenli.slug)
    visitor.get(url)
    shown = Disclosure.objects.get(title="村务公开财务收支")
    with django_capture_on_commit_callbacks(execute=True):
        shown.title = "村务公开财务收支（更正）"
        shown.save()
    with CaptureQueriesContext(connection) as queries:
        assert "村务公开财务收支（更正）" in visitor.get(url).text
    entries = rows_read_by_key(queries, "disclosure_disclosure")
    assert entries and not any("ORDER BY" in sql for sql in entries)
