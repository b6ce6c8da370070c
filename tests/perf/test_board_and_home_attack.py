# ruff: noqa: F811 (the fixtures imported from the two modules below)
"""Attacks on two kept values: a board's 回音壁 column (feedback.sheet
`latest_answered`, kept under "cases-unit:<slug>" and NAMES and read with
`.only()` of what board_column.html shows) and the home page's "published
this year" figures (composition.views `published_figures`, kept unit by
unit under the unit's counted scope and GROUPED until a publication
scheduled in it).

The column: the deferred fields (one query whoever answered: a village's
body, the town's, the office, a 包村干部; none once kept); a 包村干部's and
a town body's answers when the town is renamed and the village moved to
another town (the "X镇包村干部" label); a party member's case held back as
党内 (its item made 党内) and cleared; a 举报 answered by 镇纪委; a case
closed, rated, reopened by a 不满意, its earlier round edited, answered
again by the 包村干部; a unit re-slugged, two villages swapping slugs; the
sixth answer back when one of the five leaves; a rolled-back answer;
another worker (`caching.reset_local`); whole pages kept; the admin (a
title edited, consent withdrawn, closed by the list's action, hidden and
answered by the buttons, a 回访 of 不满意); the PostgreSQL index.

The figures: a publication in the town itself and a 本期无 filing made
information afterwards; an item, a category and a row's own item moved to
another catalog (GROUPED), a row moved to the town; a row made 党内 by its
own save, a row deleted; a village made a town, an empty one deleted; a
publication scheduled after the parts were kept, coming due; a 先党内后党外
row's public date; the year's last minute and a publication scheduled in
the next year; a rolled-back publication; another worker; whole pages
kept; the admin's 发布 action.

Every page is compared with the same page read with nothing kept
(tests/perf/kept.py). No fault found: every test passes on SQLite and
PostgreSQL, and fails with the column's scopes narrowed to NAMES or to
its cases', a field left out of its `.only()`, the figures kept without
GROUPED, under GROUPED or NAMES alone, or for a fixed time (checked with
throwaway monkeypatches, not kept here).
"""

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from catalog.models import BodyKind, Catalog, Scope
from core import caching
from disclosure.models import Disclosure, Organisation, Unit
from feedback import services
from feedback.models import AnswerRound, Channel, Kind, Rating, Status, Submission
from feedback.sheet import board_column, latest_answered
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    SuperuserFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_board_column import column, world  # noqa: F401
from tests.perf.test_home_published_counts import county  # noqa: F401

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    """Raised to roll a test's transaction back."""


values_only = pytest.mark.usefixtures("values_only")
pages_kept = pytest.mark.usefixtures("page_cache", "away_from_midnight")


def fresh_column(settings, client, slug="wenli") -> str:
    """The column as the board shows it, equal to the one read afresh."""
    kept = column(client, slug)
    assert kept == nothing_kept(settings, lambda: column(client, slug))
    return kept


def admin_client() -> Client:
    client = Client()
    client.force_login(SuperuserFactory())
    return client


# The board's 回音壁 column --------------------------------------------------


@values_only
def test_the_column_reads_one_query_and_none_once_kept_whoever_answered(
    world, settings, django_assert_num_queries
):
    """Every kind of answerer the column names (a body of the village, one
    of the town, the office, the village's 包村干部) and a case of the town
    itself: the rows read in one query with all the template shows; kept,
    the column renders with no query at all (no deferred field loaded)."""
    cadre = UserFactory(username="cadre")
    wenli, town = world["wenli"], world["town"]
    wenli.village_cadre = cadre
    wenli.save()
    staff, office = world["staff"], world["office"]
    by_cadre = SubmissionFactory(unit=wenli, title="包村干部答复的来信")
    services.assign(by_cadre, by=staff, to_cadre=True)
    services.answer(by_cadre, by=staff, department=office, text="已答复。")
    town_body = Organisation.objects.get(unit=town, kind=BodyKind.OFFICE)
    world["answered"]("镇党政办答复的来信", by_body=town_body)
    town_case = SubmissionFactory(unit=town, title="镇里的来信")
    services.answer(town_case, by=staff, department=office, text="已答复。")

    def shown(unit) -> str:
        return render_to_string(
            "feedback/board_column.html", {"column": board_column(unit)}
        )

    settings.VALUE_CACHE_SECONDS = 0
    with django_assert_num_queries(1):
        plain = shown(wenli)
    settings.VALUE_CACHE_SECONDS = 60
    caching.reset_local()
    shown(wenli), shown(town)  # kept
    with django_assert_num_queries(0):
        kept = shown(wenli)
    assert kept == plain
    assert "凤鸣镇包村干部答复于" in kept
    assert "凤鸣镇党政办答复于" in kept
    assert "文理村两委答复于" in kept and "党政办答复于" in kept
    with django_assert_num_queries(0):
        in_town = shown(town)
    assert "镇里的来信" in in_town and "包村干部" not in in_town
    rows = latest_answered(wenli)
    assert len(rows) == 4
    # Only what it shows: the question's text and the answer are not read.
    assert all({"text", "answer_text"} <= row.get_deferred_fields() for row in rows)


@values_only
def test_a_cadres_and_a_town_bodys_answers_follow_the_towns_name(
    world, changed, settings
):
    """ "X镇包村干部" is read from the village's town, a town body's name from
    its town: the town renamed, then the village moved to another town and
    that town renamed, the column says so at once."""
    cadre = UserFactory(username="cadre")
    wenli = world["wenli"]
    wenli.village_cadre = cadre
    wenli.save()
    other = Unit.objects.create(name="青山镇", slug="qingshan", kind=Unit.Kind.TOWN)
    case = SubmissionFactory(unit=wenli, title="包村干部答复的来信")
    services.assign(case, by=world["staff"], to_cadre=True)
    services.answer(case, by=world["staff"], department=world["office"], text="好")
    town_body = Organisation.objects.get(unit=world["town"], kind=BodyKind.OFFICE)
    world["answered"]("镇党政办答复的来信", by_body=town_body)
    visitor = Client()
    kept = column(visitor)
    assert "凤鸣镇包村干部答复于" in kept and "凤鸣镇党政办答复于" in kept
    with changed():
        world["town"].name = "凤栖镇"
        world["town"].save()
    kept = fresh_column(settings, visitor)
    assert "凤栖镇包村干部答复于" in kept and "凤栖镇党政办答复于" in kept
    assert "凤鸣镇" not in kept
    with changed():
        wenli.parent = other
        wenli.save()
    kept = fresh_column(settings, visitor)
    assert "青山镇包村干部答复于" in kept and "凤栖镇党政办答复于" in kept
    with changed():
        other.name = "青峰镇"
        other.save()
    assert "青峰镇包村干部答复于" in fresh_column(settings, visitor)


@values_only
def test_a_case_held_back_as_inner_party_leaves_and_returns_when_cleared(
    world, changed, settings
):
    """A party member's case whose item is made 党内 after the answer: held
    back (a save of each case, feedback.services.on_item_saved), it leaves
    the column; staff clear it and it is back."""
    item = ItemFactory(scope=Scope.PUBLIC)
    case = SubmissionFactory(
        unit=world["wenli"], title="党员发展的问题", item=item, is_party_member=True
    )
    services.answer(case, by=world["staff"], department=world["office"], text="好")
    visitor = Client()
    assert "党员发展的问题" in column(visitor)
    with changed():
        item.scope = Scope.INNER_PARTY
        item.save()
    assert Submission.objects.get(pk=case.pk).is_held_back
    assert "党员发展的问题" not in fresh_column(settings, visitor)
    with changed():
        services.clear_for_wall(Submission.objects.get(pk=case.pk), by=world["staff"])
    assert "党员发展的问题" in fresh_column(settings, visitor)


@values_only
def test_a_denunciation_answered_never_reaches_the_column(world, changed, settings):
    visitor = Client()
    before = column(visitor)
    with changed():
        report = SubmissionFactory(
            unit=world["wenli"], kind=Kind.DENUNCIATION, title="举报村干部"
        )
        services.answer(
            report, by=world["staff"], department=world["office"], text="已查实。"
        )
    assert Submission.objects.get(pk=report.pk).status == Status.ANSWERED
    after = fresh_column(settings, visitor)
    assert "举报村干部" not in after and "镇纪委" not in after
    assert after == before


@values_only
def test_closed_and_rated_cases_stay_a_dissatisfied_rating_takes_it_off(
    world, changed, settings
):
    visitor = Client()
    column(visitor)
    with changed():
        services.close(world["road"], by=world["staff"])
        services.rate(world["road"], rating=Rating.SATISFIED)
    assert "村道什么时候硬化" in fresh_column(settings, visitor)
    with changed():
        services.rate(world["water"], rating=Rating.UNSATISFIED, comment="没来")
    assert Submission.objects.get(pk=world["water"].pk).status == Status.ACCEPTED
    kept = fresh_column(settings, visitor)
    assert "三组送水车几点到" not in kept and "村道什么时候硬化" in kept


@values_only
def test_an_earlier_rounds_change_and_a_second_answer(world, changed, settings):
    """A round edited (its case's scopes: the column's too) and the case
    answered again by the 包村干部 after a 交办 in its second round."""
    cadre = UserFactory(username="cadre")
    world["wenli"].village_cadre = cadre
    world["wenli"].save()
    visitor = Client()
    column(visitor)
    with changed():
        services.rate(world["water"], rating=Rating.UNSATISFIED, comment="没来")
    water = Submission.objects.get(pk=world["water"].pk)
    with changed():
        round_ = AnswerRound.objects.get(submission=water)
        round_.answerer = "党政办（更正）"
        round_.save()
    assert "三组送水车几点到" not in fresh_column(settings, visitor)
    with changed():
        services.assign(water, by=world["staff"], to_cadre=True)
        services.answer(
            water, by=world["staff"], department=world["office"], text="明天到。"
        )
    kept = fresh_column(settings, visitor)
    assert kept.index("三组送水车几点到") < kept.index("村道什么时候硬化")
    assert "凤鸣镇包村干部答复于" in kept


@values_only
def test_a_unit_re_slugged_and_two_villages_swapping_slugs(world, changed, settings):
    """The column is kept by the unit's id under its slug's scope: at a new
    address, and after two villages swap addresses, each board shows its
    own village's answers, and a change after it shows at once."""
    wenli, maoshan = world["wenli"], world["maoshan"]
    world["answered"]("茅山村的来信", unit=maoshan)
    visitor = Client()
    column(visitor), column(visitor, "maoshan")
    with changed():
        wenli.slug = "wenli-new"
        wenli.save()
    assert "三组送水车几点到" in fresh_column(settings, visitor, "wenli-new")
    assert visitor.get("/boards/wenli/").status_code == 404
    with changed():
        maoshan.slug = "tmp"
        maoshan.save()
        wenli.slug = "maoshan"
        wenli.save()
        maoshan.slug = "wenli-new"
        maoshan.save()
    as_maoshan = fresh_column(settings, visitor, "maoshan")
    as_wenli = fresh_column(settings, visitor, "wenli-new")
    assert "三组送水车几点到" in as_maoshan and "茅山村的来信" not in as_maoshan
    assert "茅山村的来信" in as_wenli and "三组送水车几点到" not in as_wenli
    with changed():
        services.hide(world["water"], by=world["staff"], reason="涉及个人隐私")
    assert "三组送水车几点到" not in fresh_column(settings, visitor, "maoshan")


@values_only
def test_an_older_answer_comes_back_when_a_newer_one_leaves(world, changed, settings):
    """Five at most: a sixth, older answer is not shown until one of the
    five leaves the wall."""
    for n in range(4):
        world["answered"](f"第{n}封来信")
    visitor = Client()
    kept = column(visitor)
    assert "三组送水车几点到" not in kept and "村道什么时候硬化" in kept
    with changed():
        services.withdraw_consent(
            Submission.objects.get(title="第3封来信"), by=world["staff"]
        )
    kept = fresh_column(settings, visitor)
    assert "三组送水车几点到" in kept and "第3封来信" not in kept


@values_only
def test_an_answer_rolled_back_never_shows_nor_is_kept(world, changed, settings):
    visitor = Client()
    before = column(visitor)

    with pytest.raises(RolledBack), transaction.atomic():
        world["answered"]("回滚的答复")
        inside = column(visitor)  # read (not kept) inside the transaction
        assert "三组送水车几点到" in inside
        raise RolledBack
    assert not Submission.objects.filter(title="回滚的答复").exists()
    assert fresh_column(settings, visitor) == before
    caching.reset_local()
    assert "回滚的答复" not in fresh_column(settings, visitor)


@values_only
def test_another_worker_sees_a_change_made_in_this_one(world, changed, settings):
    """Kept in the shared cache by another process; this one hides a case
    and withdraws consent, the other (its copies forgotten) shows neither."""
    visitor = Client()
    column(visitor)
    caching.reset_local()  # another worker, which reads the shared copies
    column(visitor)
    with changed():
        services.hide(world["road"], by=world["staff"], reason="涉及个人隐私")
    caching.reset_local()
    assert "村道什么时候硬化" not in fresh_column(settings, visitor)
    with changed():
        services.withdraw_consent(world["water"], by=world["staff"])
    caching.reset_local()
    assert "三组送水车几点到" not in fresh_column(settings, visitor)


@pages_kept
def test_the_whole_board_page_kept_follows_every_change_of_its_column(
    world, changed, settings
):
    visitor = Client()
    visitor.get("/boards/wenli/")
    assert visitor.get("/boards/wenli/")["X-Page-Cache"] == "hit"
    with changed():
        world["answered"]("五组的自来水管破了")
    response = visitor.get("/boards/wenli/")
    assert response["X-Page-Cache"] == "miss" and "五组的自来水管破了" in response.text
    with changed():
        world["body"].name = "两委联席会"
        world["body"].save()
    assert "文理村两委联席会答复于" in visitor.get("/boards/wenli/").text
    with changed():
        services.hide(world["water"], by=world["staff"], reason="涉及个人隐私")
    page = visitor.get("/boards/wenli/").text
    assert "三组送水车几点到" not in page
    assert column(visitor) == nothing_kept(settings, lambda: column(Client()))


def _answered_by_phone(world, title: str) -> Submission:
    case = SubmissionFactory(unit=world["wenli"], title=title, channel=Channel.PHONE)
    services.answer(case, by=world["staff"], department=world["office"], text="好")
    return Submission.objects.get(pk=case.pk)


def _change_form(case: Submission, **extra) -> dict:
    received = timezone.localtime(case.received_at)
    data = {
        "kind": case.kind,
        "channel": case.channel,
        "unit": case.unit_id,
        "title": case.title,
        "text": case.text,
        "received_at_0": received.date().isoformat(),
        "received_at_1": received.time().strftime("%H:%M:%S"),
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
    }
    if case.consent_to_publish:
        data["consent_to_publish"] = "on"
    data.update(extra)
    return data


@values_only
def test_the_admin_edits_withdraws_consent_closes_and_hides(world, changed, settings):
    case = _answered_by_phone(world, "电话反映的路灯")
    other = _answered_by_phone(world, "电话咨询的低保")
    office = admin_client()
    visitor = Client()
    assert "电话反映的路灯" in column(visitor)
    url = f"/admin/feedback/submission/{case.pk}/change/"
    with changed():
        response = office.post(url, _change_form(case, title="电话反映的路灯（三组）"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert "电话反映的路灯（三组）" in fresh_column(settings, visitor)
    with changed():
        data = _change_form(Submission.objects.get(pk=case.pk))
        del data["consent_to_publish"]
        assert office.post(url, data).status_code == 302
    assert not Submission.objects.get(pk=case.pk).consent_to_publish
    assert "电话反映的路灯" not in fresh_column(settings, visitor)
    with changed():
        response = office.post(
            "/admin/feedback/submission/",
            {"action": "close_selected", "_selected_action": [other.pk]},
        )
    assert response.status_code == 302
    assert Submission.objects.get(pk=other.pk).status == Status.CLOSED
    assert "电话咨询的低保" in fresh_column(settings, visitor)
    with changed():  # 不予公开, by its button
        response = office.post(
            f"/admin/feedback/submission/{other.pk}/change/",
            _change_form(
                Submission.objects.get(pk=other.pk), reason="涉及个人隐私", _hide="1"
            ),
        )
    assert response.status_code == 302
    assert Submission.objects.get(pk=other.pk).status == Status.NOT_PUBLISHED
    assert "电话咨询的低保" not in fresh_column(settings, visitor)


@values_only
def test_the_admin_answers_and_a_follow_up_call_reopens(world, changed, settings):
    """Answered from the change form's button (by the village's 两委), then
    a 回访 recorded as 不满意 there: on the column, then off it."""
    case = SubmissionFactory(
        unit=world["wenli"], title="电话反映的水渠", channel=Channel.PHONE
    )
    office = admin_client()
    visitor = Client()
    assert "电话反映的水渠" not in column(visitor)
    url = f"/admin/feedback/submission/{case.pk}/change/"
    with changed():
        response = office.post(
            url,
            _change_form(
                case,
                answer_text="已清淤。",
                answered_by=world["office"].pk,
                answering_body=world["body"].pk,
                _answer="1",
            ),
        )
    assert response.status_code == 302
    kept = fresh_column(settings, visitor)
    assert re.search(r"电话反映的水渠</a>\s*<span[^>]*>[^<]*文理村两委答复于", kept)
    case = Submission.objects.get(pk=case.pk)
    with changed():
        response = office.post(
            url,
            _change_form(
                case,
                follow_up_rating=Rating.UNSATISFIED,
                follow_up_channel=services.FOLLOW_UP_CHANNELS[0].value,
                follow_up_on=timezone.localdate().isoformat(),
                follow_up_comment="还是堵",
                _follow_up="1",
            ),
        )
    assert response.status_code == 302
    assert Submission.objects.get(pk=case.pk).status == Status.ACCEPTED
    assert "电话反映的水渠" not in fresh_column(settings, visitor)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the index is PostgreSQL's only"
)
def test_the_unit_wall_index_exists_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'feedback_unit_wall_idx'"
        )
        (definition,) = cursor.fetchone()
    assert "unit_id, answered_at DESC NULLS LAST" in definition


# The home page's published-this-year figures ------------------------------

HOME = "/"
FIGURES = ("party", "government", "village")


def figures(client) -> dict[str, int]:
    page = client.get(HOME).text
    return {
        kind: int(re.search(rf'id="figure-{kind}"><dt>.*?</dt><dd>(\d+)</dd>', page)[1])
        for kind in FIGURES
    }


def fresh_figures(settings, client) -> dict[str, int]:
    shown = figures(client)
    assert shown == nothing_kept(settings, lambda: figures(client))
    return shown


def plus(before: dict, **added) -> dict:
    return {kind: before[kind] + added.get(kind, 0) for kind in FIGURES}


def just_out():
    """A publication a moment ago (the factory's is of yesterday: of last
    year on 1 January)."""
    return timezone.now() - timedelta(seconds=1)


@pytest.fixture
def units(county):
    """test_home_published_counts' county, its rows published at today's
    first moment: the figures are of the latest year with data, and rows of
    yesterday are of last year on 1 January (FENGMING_TEST_CLOCK)."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    Disclosure.objects.update(published_at=today)
    return county


@values_only
def test_the_towns_own_publication_and_a_nil_return_made_information(
    units, changed, settings
):
    """The town's own rows are a part like a village's; a 本期无 filing is
    not information (not counted) until it is made one."""
    visitor = Client()
    before = figures(visitor)
    with changed():
        DisclosureFactory(
            unit=units["fengming"], item=units["item"], published_at=just_out()
        )
    assert fresh_figures(settings, visitor) == plus(before, party=1)
    with changed():
        nil = DisclosureFactory(
            unit=units["wenli"],
            item=units["item"],
            is_nil_return=True,
            published_at=just_out(),
        )
    assert fresh_figures(settings, visitor) == plus(before, party=1)
    with changed():
        nil.is_nil_return = False
        nil.save()
    assert fresh_figures(settings, visitor) == plus(before, party=2)


@values_only
def test_an_item_and_a_category_moved_to_another_catalog(units, changed, settings):
    """The kind a row is counted under is its item's category's catalog's
    (GROUPED): an item, a category or a row's own item moved, each figure
    follows at once."""
    visitor = Client()
    before = figures(visitor)
    assert before["party"] == 2
    village = CategoryFactory(catalog=CatalogFactory(kind=Catalog.Kind.VILLAGE))
    with changed():
        item = units["item"]
        item.category = village
        item.save()
    assert fresh_figures(settings, visitor) == plus(before, party=-2, village=2)
    government = CatalogFactory(kind=Catalog.Kind.GOVERNMENT)
    with changed():
        village.catalog = government
        village.save()
    assert fresh_figures(settings, visitor) == plus(before, party=-2, government=2)
    # A row's own item changed to one of the party catalog, and the row
    # moved to the town itself.
    with changed():
        row = Disclosure.objects.get(unit=units["wenli"])
        row.item = ItemFactory()
        row.save()
    assert fresh_figures(settings, visitor) == plus(before, party=-1, government=1)
    with changed():
        row.unit = units["fengming"]
        row.save()
    assert fresh_figures(settings, visitor) == plus(before, party=-1, government=1)


@values_only
def test_a_row_made_inner_party_by_its_own_save_and_a_row_deleted(
    units, changed, settings
):
    """Counts of every scope: a row made 党内 counts the same; a row
    deleted (a correction by the town administrator) no more."""
    visitor = Client()
    before = figures(visitor)
    row = Disclosure.objects.get(unit=units["wenli"])
    with changed():
        row.scope = Scope.INNER_PARTY
        row.save()
    assert fresh_figures(settings, visitor) == before
    with changed():
        Disclosure.objects.get(unit=units["maoshan"]).delete()
    assert fresh_figures(settings, visitor) == plus(before, party=-1)


@values_only
def test_a_village_made_a_town_and_an_empty_village_deleted(units, changed, settings):
    visitor = Client()
    empty = UnitFactory(name="石坝村", slug="shiba", parent=units["fengming"])
    before = figures(visitor)
    with changed():
        Organisation.objects.filter(unit=empty).delete()
        empty.delete()
    assert fresh_figures(settings, visitor) == before
    with changed():
        wenli = units["wenli"]
        wenli.parent = None
        wenli.kind = Unit.Kind.TOWN
        wenli.save()
    assert fresh_figures(settings, visitor) == plus(before, party=-1)


@values_only
def test_a_publication_scheduled_after_the_parts_were_kept_comes_due(
    units, changed, settings
):
    """The parts kept; ten seconds later a publication scheduled in 文理村
    for 9:00:40 (its part counted again, to live until then, not the value
    cache's minute): at 9:00:41 it is counted, though no save came."""
    nine = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    visitor = Client()
    with time_machine.travel(nine, tick=False):
        before = figures(visitor)
    with time_machine.travel(nine + timedelta(seconds=10), tick=False):
        with changed():
            DisclosureFactory(
                unit=units["wenli"],
                item=units["item"],
                published_at=nine + timedelta(seconds=40),
            )
        assert figures(visitor) == before
    with time_machine.travel(nine + timedelta(seconds=39), tick=False):
        assert fresh_figures(settings, visitor) == before
    with time_machine.travel(nine + timedelta(seconds=41), tick=False):
        assert fresh_figures(settings, visitor) == plus(before, party=1)


@values_only
def test_a_party_first_row_counts_from_its_publication_not_its_public_date(
    units, changed, settings
):
    """先党内后党外: 党内 first, for the public from a later date; counted (of
    every scope) from its publication, and the public date coming due
    changes nothing."""
    nine = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    visitor = Client()
    with time_machine.travel(nine, tick=False):
        before = figures(visitor)
        with changed():
            DisclosureFactory(
                unit=units["maoshan"],
                item=units["item"],
                scope=Scope.INNER_PARTY,
                published_at=nine - timedelta(minutes=1),
                public_from=nine + timedelta(seconds=30),
            )
        assert fresh_figures(settings, visitor) == plus(before, party=1)
    with time_machine.travel(nine + timedelta(seconds=31), tick=False):
        assert fresh_figures(settings, visitor) == plus(before, party=1)


@values_only
def test_the_years_last_minute_and_a_publication_due_in_the_next(
    units, changed, settings
):
    """The figures are of `home_year()`, the latest year with data: at the
    year's last minute this year's; past midnight, with nothing out yet in
    the new year, still this year's; once a publication scheduled for
    00:05 is out, the new year's (one)."""
    year = timezone.localdate().year
    zone = timezone.get_current_timezone()
    last_minute = datetime(year, 12, 31, 23, 59, tzinfo=zone)
    new_year = datetime(year + 1, 1, 1, tzinfo=zone)
    visitor = Client()
    with time_machine.travel(last_minute, tick=False):
        with changed():
            DisclosureFactory(
                unit=units["maoshan"],
                item=units["item"],
                published_at=last_minute + timedelta(seconds=30),
            )
            DisclosureFactory(
                unit=units["wenli"],
                item=units["item"],
                published_at=new_year + timedelta(minutes=5),
            )
        before = figures(visitor)
        assert before["party"] == 2
    with time_machine.travel(last_minute + timedelta(seconds=31), tick=False):
        assert fresh_figures(settings, visitor) == plus(before, party=1)
    with time_machine.travel(new_year + timedelta(minutes=1), tick=False):
        assert fresh_figures(settings, visitor) == plus(before, party=1)
        assert f"{year}年" in visitor.get(HOME).text
    with time_machine.travel(new_year + timedelta(minutes=5, seconds=1), tick=False):
        assert fresh_figures(settings, visitor) == {
            "party": 1,
            "government": 0,
            "village": 0,
        }
        assert f"{year + 1}年" in visitor.get(HOME).text


@values_only
def test_a_publication_rolled_back_is_never_counted(units, changed, settings):
    visitor = Client()
    before = figures(visitor)

    with pytest.raises(RolledBack), transaction.atomic():
        DisclosureFactory(
            unit=units["wenli"], item=units["item"], published_at=just_out()
        )
        assert figures(visitor) in (before, plus(before, party=1))
        raise RolledBack
    assert fresh_figures(settings, visitor) == before
    caching.reset_local()
    assert fresh_figures(settings, visitor) == before


@values_only
def test_another_worker_counts_a_publication_and_a_withdrawal(units, changed, settings):
    visitor = Client()
    before = figures(visitor)
    caching.reset_local()  # another worker: the shared copies
    assert figures(visitor) == before
    with changed():
        DisclosureFactory(
            unit=units["maoshan"], item=units["item"], published_at=just_out()
        )
    caching.reset_local()
    assert fresh_figures(settings, visitor) == plus(before, party=1)
    with changed():
        row = Disclosure.objects.get(unit=units["wenli"])
        row.status = Disclosure.Status.WITHDRAWN
        row.withdrawn_at = timezone.now()
        row.withdrawal_reason = "内容有误。"
        row.save()
    caching.reset_local()
    assert fresh_figures(settings, visitor) == before


@pages_kept
def test_the_whole_home_page_kept_counts_a_village_publication(
    units, changed, settings
):
    visitor = Client()
    before = figures(visitor)
    assert visitor.get(HOME)["X-Page-Cache"] == "hit"
    with changed():
        DisclosureFactory(
            unit=units["wenli"], item=units["item"], published_at=just_out()
        )
    response = visitor.get(HOME)
    assert response["X-Page-Cache"] == "miss"
    assert figures(visitor) == plus(before, party=1)
    assert figures(visitor) == nothing_kept(settings, lambda: figures(Client()))


@values_only
def test_the_admins_publish_action_counts_the_row(units, changed, settings):
    row = DisclosureFactory(
        unit=units["wenli"],
        item=units["item"],
        status=Disclosure.Status.APPROVED,
        published_at=None,
    )
    visitor = Client()
    before = figures(visitor)
    with changed():
        response = admin_client().post(
            "/admin/disclosure/disclosure/",
            {"action": "publish_selected", "_selected_action": [row.pk]},
        )
    assert response.status_code == 302
    assert Disclosure.objects.get(pk=row.pk).status == Disclosure.Status.PUBLISHED
    assert fresh_figures(settings, visitor) == plus(before, party=1)
