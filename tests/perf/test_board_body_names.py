"""A board's body (its columns, the 回音壁 column, the archive) follows the
names it shows (disclosure.views.body_names: the catalog's, its unit's and
the 回音壁 column's answerers), not every name of the county: a village of
another town, another village, a body or a notice board elsewhere renamed
make the head again around the kept body; the catalog's, its own unit's or
an answerer's change make it again. Each page compared with the page
rendered with nothing kept."""

import pytest
from django.test import Client

from catalog.models import BodyKind, Category
from disclosure import views as disclosure_views
from disclosure.models import NoticeBoard, Organisation
from tests.factories import (
    DisclosureFactory,
    NoticeBoardFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_board_column import world  # noqa: F401
from tests.perf.test_fragments import counting, logged_in, page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

URL = "/boards/wenli/"


def renamed(changed, row, name: str) -> None:
    with changed():
        row.name = name
        row.save()


@pytest.fixture
def board(world, monkeypatch):  # noqa: F811
    """The world of the column's tests, a publication on the board, a village
    of another town, a body and a notice board of the other village; the
    bodies made so far (`made`)."""
    DisclosureFactory(unit=world["wenli"], item=world["item"], title="本月村务公开")
    shangcun = UnitFactory(
        name="上村", slug="shangcun", parent=TownFactory(name="青山镇", slug="qingshan")
    )
    maoshan_body, _ = Organisation.objects.get_or_create(
        unit=world["maoshan"], name="村两委", defaults={"kind": BodyKind.JOINT_MEETING}
    )
    NoticeBoardFactory(unit=world["maoshan"], location="茅山村委会门前")
    return {
        **world,
        "shangcun": shangcun,
        "maoshan_body": maoshan_body,
        "made": counting(monkeypatch, disclosure_views, "board_body_context"),
    }


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_names_elsewhere_leave_the_body_kept(board, changed, settings, who):
    client = Client()
    if who == "member":
        client = logged_in(
            PartyMemberFactory(username="wenli_member", branch_of=board["wenli"])
        )
    first = page(client, URL)
    assert "本月村务公开" in first.decode()
    assert len(board["made"]) == 1

    notice_board = NoticeBoard.objects.get(unit=board["maoshan"])
    for row, name in (
        (board["maoshan"], "茅山社区"),
        (board["maoshan_body"], "两委联席会"),
        (board["shangcun"], "上村社区"),
    ):
        renamed(changed, row, name)
        assert page(client, URL) == first, name
    with changed():
        notice_board.location = "茅山文化广场"
        notice_board.save()
    assert page(client, URL) == first
    assert len(board["made"]) == 1, "the body was made again"
    assert first == nothing_kept(settings, lambda: page(client, URL))


def test_its_catalog_its_unit_and_its_answerers_make_it_again(board, changed, settings):
    visitor = Client()
    page(visitor, URL)
    made = board["made"]
    category = Category.objects.get(pk=board["item"].category_id)
    own = (
        (category, "财务公开（修订）", "财务公开（修订）"),
        (board["wenli"], "文理社区", "文理社区"),
        (board["body"], "两委会", "文理社区两委会答复于"),
        (board["office"], "党政综合办", "党政综合办答复于"),
        (board["town"], "凤鸣街道", None),
    )
    for row, name, shown in own:
        renamed(changed, row, name)
        before = len(made)
        kept = page(visitor, URL).decode()
        assert len(made) == before + 1, f"{name}: the body not made again"
        if shown:
            assert shown in kept
        assert kept == nothing_kept(settings, lambda: page(visitor, URL)).decode()


def test_an_item_renamed_leaves_the_body_kept_its_place_and_level_do_not(
    board, changed, settings
):
    """The body follows the catalog as its columns read it (CATEGORIES,
    COUNTED, GROUPED: disclosure.views.body_names), not CATALOG: an item's
    name or description leave it kept (an office's name is shown by the
    回音壁 column: DEPARTMENTS); the item taken off the village level (its
    column goes) or moved to another category make it again."""
    from catalog.models import Item
    from tests.factories import CategoryFactory

    visitor = Client()
    first = page(visitor, URL)
    made = board["made"]
    before = len(made)
    item = Item.objects.get(pk=board["item"].pk)
    with changed():
        item.name = "月度收支（修订）"
        item.description = "每月公开收支明细。"
        item.save()
    assert page(visitor, URL) == first
    assert len(made) == before, "the body made again after an item's name"
    category = Category.objects.get(pk=item.category_id)
    other = CategoryFactory(name="其他栏目", catalog=category.catalog)
    for change, gone in (
        (lambda: setattr(item, "category", other), None),
        (lambda: setattr(item, "for_village", False), "其他栏目"),
    ):
        with changed():
            change()
            item.save()
        before = len(made)
        kept = page(visitor, URL)
        assert len(made) == before + 1, "the body not made again"
        assert kept == nothing_kept(settings, lambda: page(visitor, URL))
        if gone:
            assert gone not in kept.decode()
