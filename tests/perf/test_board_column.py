"""A board's 回音壁 column (feedback.sheet.latest_answered) kept under its
unit's cases' scope and NAMES: a publication on the board makes the board
again but not the column (one query of the wall's, 12 ms of PostgreSQL's
planning at county scale); every change of what the column shows still
shows at once, and what it reads is one query of the unit's answers."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import BodyKind
from disclosure.models import Organisation
from feedback import services
from feedback.sheet import latest_answered
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.kept import nothing_kept

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def world():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    staff = UserFactory(username="staff", is_staff=True)
    office = DepartmentFactory(name="党政办")
    item = ItemFactory()  # made now: a catalog change names every name (NAMES)
    body, _ = Organisation.objects.get_or_create(
        unit=wenli, name="村两委", defaults={"kind": BodyKind.JOINT_MEETING}
    )

    def answered(title, *, unit=wenli, by_body=None):
        case = SubmissionFactory(unit=unit, title=title)
        services.answer(case, by=staff, department=office, text="已答复。")
        if by_body is not None:
            case.answering_body = by_body
            case.save()
        return case

    water = answered("三组送水车几点到", by_body=body)
    road = answered("村道什么时候硬化")
    return {
        "town": town,
        "wenli": wenli,
        "maoshan": maoshan,
        "staff": staff,
        "office": office,
        "body": body,
        "water": water,
        "road": road,
        "answered": answered,
        "item": item,
    }


def column(client, slug="wenli") -> str:
    page = client.get(f"/boards/{slug}/").text
    found = re.search(
        r'<section class="board-column board-feedback".*?</section>', page, re.S
    )
    assert found, "no 回音壁 column"
    return found[0]


def cases_read(client, slug="wenli") -> tuple[str, list[str]]:
    """The board page, and the queries of cases it read."""
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/boards/{slug}/").text
    return page, [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "feedback_submission"' in q["sql"]
    ]


def same_as_fresh(settings, client, slug="wenli") -> str:
    kept = column(client, slug)
    assert kept == nothing_kept(settings, lambda: column(client, slug))
    return kept


def test_a_publication_on_the_board_leaves_the_column_kept(world, changed, settings):
    visitor = Client()
    assert cases_read(visitor)[1]  # read, kept
    with changed():
        DisclosureFactory(unit=world["wenli"], item=world["item"], title="本月村务公开")
    page, read = cases_read(visitor)
    assert "本月村务公开" in page  # the board made again
    assert read == []  # but not its column
    assert "三组送水车几点到" in same_as_fresh(settings, visitor)


def test_the_column_is_one_query_whatever_it_shows(
    world, settings, django_assert_num_queries
):
    settings.VALUE_CACHE_SECONDS = 0
    with django_assert_num_queries(1):
        rows = latest_answered(world["wenli"])
        shown = [
            (r.title, r.get_kind_display(), r.answerer, r.answered_at) for r in rows
        ]
    assert [title for title, *_ in shown] == ["村道什么时候硬化", "三组送水车几点到"]
    assert shown[1][2] == "文理村两委"


def test_a_new_answer_a_hidden_case_and_consent_withdrawn_show_at_once(
    world, changed, settings
):
    visitor = Client()
    column(visitor)
    with changed():
        world["answered"]("五组的自来水管破了")
    assert "五组的自来水管破了" in column(visitor)
    with changed():
        services.hide(world["road"], by=world["staff"], reason="涉及个人隐私")
    assert "村道什么时候硬化" not in column(visitor)
    with changed():
        services.withdraw_consent(world["water"], by=world["staff"])
    kept = same_as_fresh(settings, visitor)
    assert "三组送水车几点到" not in kept and "五组的自来水管破了" in kept


def test_a_case_moved_to_another_village_leaves_one_column_for_the_other(
    world, changed, settings
):
    visitor = Client()
    column(visitor), column(visitor, "maoshan")
    with changed():
        road = world["road"]
        road.unit = world["maoshan"]
        road.save()
    assert "村道什么时候硬化" not in same_as_fresh(settings, visitor)
    assert "村道什么时候硬化" in same_as_fresh(settings, visitor, "maoshan")


def test_a_body_office_or_unit_renamed_is_shown_renamed(world, changed, settings):
    visitor = Client()
    assert "文理村两委答复于" in column(visitor)
    with changed():
        world["body"].name = "两委联席会"
        world["body"].save()
    assert "文理村两委联席会答复于" in column(visitor)
    with changed():
        world["office"].name = "党政综合办"
        world["office"].save()
    assert "党政综合办答复于" in column(visitor)
    with changed():
        world["wenli"].name = "文理社区"
        world["wenli"].save()
    kept = same_as_fresh(settings, visitor)
    assert "文理社区两委联席会答复于" in kept and "文理村" not in kept


def test_an_answer_given_again_after_a_reopening_moves_to_the_top(
    world, changed, settings
):
    visitor = Client()
    assert column(visitor).index("村道什么时候硬化") < column(visitor).index(
        "三组送水车"
    )
    with changed():
        water = world["water"]
        services.reopen(water)
    assert "三组送水车几点到" not in column(visitor)
    with changed():
        services.answer(
            water, by=world["staff"], department=world["office"], text="再次答复。"
        )
    kept = same_as_fresh(settings, visitor)
    assert kept.index("三组送水车") < kept.index("村道什么时候硬化")


def test_a_village_with_no_answer_says_so_and_keeps_saying_it(world, changed, settings):
    empty = UnitFactory(name="石坝村", slug="shiba", parent=world["town"])
    visitor = Client()
    assert "暂无已答复的意见建议" in column(visitor, "shiba")
    with changed():
        world["answered"]("石坝村的第一封来信", unit=empty)
    assert "石坝村的第一封来信" in same_as_fresh(settings, visitor, "shiba")


def test_a_publication_on_the_board_does_not_render_the_column_again(
    world, changed, settings, monkeypatch
):
    from feedback import sheet

    made = []
    real = sheet.board_column
    monkeypatch.setattr(
        sheet, "board_column", lambda unit: made.append(unit) or real(unit)
    )
    visitor = Client()
    first = column(visitor)
    assert len(made) == 1
    with changed():
        DisclosureFactory(unit=world["wenli"], item=world["item"], title="本月村务公开")
    page = visitor.get("/boards/wenli/").text
    assert "本月村务公开" in page and first in page
    assert len(made) == 1  # the body made again around the kept column


def test_names_elsewhere_leave_the_column_kept_its_own_make_it_again(
    world, changed, settings, monkeypatch
):
    """The column follows the names it shows (feedback.sheet.column_names),
    not NAMES: another village, a body of it, a village of another town, a
    catalog item or a topic renamed make the board again around the kept
    column; its own unit, town, answering body or office renamed make it
    again."""
    from catalog.models import Item
    from feedback import sheet
    from feedback.models import Tag
    from tests.factories import TagFactory

    made = []
    real = sheet.board_column
    monkeypatch.setattr(
        sheet, "board_column", lambda unit: made.append(unit) or real(unit)
    )
    other_town = TownFactory(name="青山镇", slug="qingshan")
    shangcun = UnitFactory(name="上村", slug="shangcun", parent=other_town)
    maoshan_body, _ = Organisation.objects.get_or_create(
        unit=world["maoshan"], name="村两委", defaults={"kind": BodyKind.JOINT_MEETING}
    )
    TagFactory(name="森林防火")
    visitor = Client()
    first = column(visitor)
    assert len(made) == 1

    def rename(row, name):
        with changed():
            row.name = name
            row.save()
        page = visitor.get("/boards/wenli/").text
        return page

    for row, name in (
        (world["maoshan"], "茅山社区"),
        (maoshan_body, "两委联席会"),
        (shangcun, "上村社区"),
        (Item.objects.get(pk=world["item"].pk), "月度收支（修订）"),
        (Tag.objects.get(name="森林防火"), "秸秆禁烧"),
    ):
        page = rename(row, name)
        assert first in page, name
        assert len(made) == 1, f"{name}: the column made again"
    own = (
        (world["body"], "两委会", "文理村两委会答复于"),
        (world["office"], "党政综合办", "党政综合办答复于"),
        (world["town"], "凤鸣街道", None),
        (world["wenli"], "文理社区", "文理社区两委会答复于"),
    )
    for count, (row, name, shown) in enumerate(own, start=2):
        page = rename(row, name)
        assert len(made) == count, f"{name}: the column not made again"
        if shown:
            assert shown in page
    assert len(made) == 5
    kept = column(visitor)
    assert kept == nothing_kept(settings, lambda: column(visitor))


def test_the_column_links_the_new_month_when_it_comes(world, settings):
    # Kept from the month's last evening, read just after midnight (a
    # fragment lives up to a day): the new month's sheet is linked.
    from datetime import timedelta

    import time_machine

    from feedback.sheet import Month

    visitor = Client()
    month = Month.current()
    start = month.next.bounds()[0]
    with time_machine.travel(start - timedelta(hours=1), tick=False):
        assert f"/{month.next.key}/" not in column(visitor)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        kept = same_as_fresh(settings, visitor)
    assert f"/{month.next.key}/" in kept
