"""The home page's figures and latest notices follow the names of the town's
units ("town:<slug>", which every change of one of them names), not every
name of the county (composition.views.home, `names_listed`): a village of
another town, a body or a notice board renamed, a village added elsewhere
leave them kept; a village of the town renamed, moved in or out, made a
liaison point, the town itself renamed make them again. Each page compared
with the page rendered with nothing kept, for a visitor and a party member."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import BodyKind
from composition import views as composition_views
from disclosure.models import NoticeBoard, Organisation, Unit
from tests.factories import (
    DisclosureFactory,
    NoticeBoardFactory,
    PartyMemberFactory,
    UnitFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_fragments import counting, logged_in, page
from tests.perf.two_towns import two_towns

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def home(monkeypatch):
    units = two_towns()
    now = timezone.now()
    for n, unit in enumerate(("town", "wenli", "maoshan", "shangcun")):
        DisclosureFactory(
            unit=units[unit],
            item=units["party"],
            title=f"{units[unit].name}党务公开",
            published_at=now - timedelta(hours=n + 1),
        )
    Organisation.objects.get_or_create(
        unit=units["wenli"], name="村两委", defaults={"kind": BodyKind.JOINT_MEETING}
    )
    NoticeBoardFactory(unit=units["wenli"], location="文理村委会门前")
    return {
        **units,
        "figures": counting(monkeypatch, composition_views, "home_figures_context"),
        "latest": counting(monkeypatch, composition_views, "home_latest_context"),
        "catalog": counting(monkeypatch, composition_views, "home_catalog_context"),
    }


def made(home) -> tuple[int, int]:
    return len(home["figures"]), len(home["latest"])


def renamed(changed, row, name: str, field: str = "name") -> None:
    with changed():
        setattr(row, field, name)
        row.save()


def clients(home) -> dict[str, Client]:
    member = PartyMemberFactory(username="wenli_member", branch_of=home["wenli"])
    return {"visitor": Client(), "member": logged_in(member)}


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_names_elsewhere_leave_the_figures_and_latest_kept(
    home, changed, settings, who
):
    client = clients(home)[who]
    first = page(client, "/")
    assert "文理村党务公开" in first.decode()
    before = made(home)
    body = Organisation.objects.get(unit=home["wenli"], name="村两委")
    for row, value, field in (
        (home["shangcun"], "上村社区", "name"),
        (home["other"], "青山街道", "name"),
        (body, "两委联席会", "name"),
        (NoticeBoard.objects.get(unit=home["wenli"]), "文化广场", "location"),
    ):
        renamed(changed, row, value, field)
        assert page(client, "/") == first, value
    with changed():
        UnitFactory(name="新建村", slug="xinjian", parent=home["other"])
    assert page(client, "/") == first
    assert made(home) == before, "made again after a change elsewhere"
    assert first == nothing_kept(settings, lambda: page(client, "/"))


def test_the_towns_own_units_make_them_again(home, changed, settings):
    visitor = Client()
    page(visitor, "/")
    figures = lambda: re.search(  # noqa: E731
        r"<dt>党务公开联系点</dt><dd>(\d+)</dd>", page(visitor, "/").decode()
    )[1]
    assert figures() == "0"

    def again(row, value, field="name", shown=None):
        before = made(home)
        renamed(changed, row, value, field)
        kept = page(visitor, "/").decode()
        assert made(home) == (before[0] + 1, before[1] + 1), value
        if shown:
            assert shown in kept
        assert kept == nothing_kept(settings, lambda: page(visitor, "/")).decode()

    wenli = Unit.objects.get(pk=home["wenli"].pk)
    again(wenli, "文理社区", shown="文理社区")
    again(wenli, True, "is_liaison_point")
    assert figures() == "1"
    shangcun = Unit.objects.get(pk=home["shangcun"].pk)
    again(shangcun, home["town"], "parent", shown="上村党务公开")
    town = Unit.objects.get(pk=home["town"].pk)
    again(town, "凤鸣街道", shown="凤鸣街道党务政务村务公开")
    maoshan = Unit.objects.get(pk=home["maoshan"].pk)
    again(maoshan, home["other"], "parent")
    assert "茅山村党务公开" not in page(visitor, "/").decode()


def figure(body: bytes, box: str) -> str:
    found = re.search(rf'id="figure-{box}"><dt>[^<]*</dt><dd>(\d+)</dd>', body.decode())
    return found[1]


def test_an_item_renamed_leaves_the_figures_kept_its_kind_changed_not(
    home, changed, settings
):
    """The figures read of the catalog only which kind each item is
    (GROUPED), its part of the page its categories and how many items they
    hold: an item renamed, or described anew, leaves both kept (the page is
    made of its parts again); an item
    moved to another catalog's category counts its notices under that
    kind at once."""
    from catalog.models import Item

    visitor = Client()
    first = page(visitor, "/")
    before = made(home)
    party = Item.objects.get(pk=home["party"].pk)
    renamed(changed, party, "党组织设置情况（更名）")
    renamed(changed, party, "按规定公开的党组织设置", "description")
    catalog = len(home["catalog"])
    again = page(visitor, "/")
    assert made(home)[0] == before[0], "figures made again after an item renamed"
    assert len(home["catalog"]) == catalog, "the catalog's part made again"
    assert again == nothing_kept(settings, lambda: page(visitor, "/"))
    shown = {box: figure(first, box) for box in ("party", "village")}
    party = Item.objects.get(pk=home["party"].pk)
    village = home["village"]
    before = made(home)
    with changed():
        party.category = village.category
        party.save()
    moved = page(visitor, "/")
    assert made(home)[0] == before[0] + 1
    assert moved == nothing_kept(settings, lambda: page(visitor, "/"))
    assert len(home["catalog"]) > catalog  # one item fewer in the party's
    assert int(figure(moved, "party")) < int(shown["party"])
    assert int(figure(moved, "village")) > int(shown["village"])


def test_an_item_added_or_deleted_shows_in_the_catalogs_part(home, changed, settings):
    from catalog.models import Item
    from tests.factories import ItemFactory

    visitor = Client()

    def items() -> int:
        return int(re.search(r"共 \d+ 类 (\d+) 项", page(visitor, "/").decode())[1])

    first = items()
    with changed():
        added = ItemFactory(code="A09", category=home["party"].category)
    assert items() == first + 1
    with changed():
        Item.objects.get(pk=added.pk).delete()
    assert items() == first
    assert page(visitor, "/") == nothing_kept(settings, lambda: page(visitor, "/"))
