# ruff: noqa: F811 (the `world` fixture imported from test_board_column)
"""Attacks on a board's kept body and 回音壁 column since they follow the
names they show (disclosure.views.body_names, feedback.sheet.column_names)
instead of every name of the county (NAMES).

What is attacked: the answerers a column names from elsewhere (a body of a
village of another town, another town's office, a 包村干部 of a village moved
to another town, a department renamed, replaced and deleted), bodies moved
between units and renamed there, the board's own unit moved, retyped and
re-slugged (two villages swapping slugs), a case moved to the board's unit,
a case reopened by a 不满意 and answered again, a town's board whose case a
village's body answered, the catalog's rows the columns show (a category, an
item moved or taken off the village level, a catalog's kind), rows shown
nowhere on the board (a form, a topic, a notice board), a party member's
branch moved to another unit and back, and a case entered already answered.

Each board is kept first, changed, then read again from what is kept and
compared with the same page rendered with nothing kept (tests/perf/kept.py),
for a visitor and for a party member of the board's unit's branch (who reads
a 党组织内部 notice there: a body of their own). Also a rename rolled back in a
transaction that read the board.

Every name scenario passes; each fails with one of the scopes it relies on
taken out (the answering body's or DEPARTMENTS in answerer_names, the column's
names in body_names, CATALOG, a town's villages or a unit's bodies in
disclosure.page_scopes._names_shown_with: checked on a throwaway copy of the
tree, not kept here).

Found and fixed (not a matter of names; stale before the change too): a
case created already answered (a loader, an import, the shell) was a new
row that "waits" (core.content `new_rows_wait`): its creation named ANY,
"wall" and its unit's "cases-unit:", not "unit:<slug>", and the board's
body, which holds the column's HTML, kept the old column until the unit's
next change or midnight. A new case waits now only while it is not on
the wall (feedback.apps: `new_rows_wait=lambda case: not case.is_on_wall`).
"""

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone

from catalog.models import BodyKind, Catalog, Category, Scope
from core import caching
from disclosure.models import Organisation, PartyMembership, Unit
from feedback import services
from feedback.models import Rating, Status
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DepartmentFactory,
    DisclosureFactory,
    DisclosureFormFactory,
    ItemFactory,
    NoticeBoardFactory,
    PartyMemberFactory,
    SubmissionFactory,
    SuperuserFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.kept import nothing_kept
from tests.perf.test_board_column import world  # noqa: F401
from tests.perf.test_fragments import logged_in, page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

URL = "/boards/wenli/"
PERIOD_URL = "/boards/wenli/?period=2011-09"  # DisclosureFactory's period
BRANCH_TITLE = "文理村党支部内部通报"


@pytest.fixture
def board(world):
    """The column's world (凤鸣镇: 文理村, 茅山村; two answers on 文理村's
    board, by its 村两委 and by the office), a publication and a 党组织内部
    notice on the board, another town (青山镇) with a village (上村), and
    the clients: a visitor and a member of 文理村's branch."""
    wenli = world["wenli"]
    DisclosureFactory(unit=wenli, item=world["item"], title="本月村务公开")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.BRANCH), title=BRANCH_TITLE
    )
    qingshan = TownFactory(name="青山镇", slug="qingshan")
    shangcun = UnitFactory(name="上村", slug="shangcun", parent=qingshan)
    member = PartyMemberFactory(username="wenli_member", branch_of=wenli)
    return {
        **world,
        "qingshan": qingshan,
        "shangcun": shangcun,
        "clients": {"visitor": Client(), "member": logged_in(member)},
    }


def fresh(settings, board, url=URL) -> dict[str, str]:
    """The page each client is served (kept where it may be), once equal to
    the page rendered with nothing kept."""
    pages = {}
    for who, client in board["clients"].items():
        kept = page(client, url).decode()
        whole = nothing_kept(settings, lambda c=client: page(c, url)).decode()
        assert kept == whole, f"{who}: {url} served stale"
        pages[who] = kept
    return pages


def both(settings, board) -> dict[str, str]:
    """The current board and a past period's (which shows no 回音壁 column),
    each as `fresh`; the current one's pages."""
    fresh(settings, board, PERIOD_URL)
    return fresh(settings, board)


def saved(changed, row, **values) -> None:
    with changed():
        for name, value in values.items():
            setattr(row, name, value)
        row.save()


def body(unit, name: str) -> Organisation:
    return Organisation.objects.get(unit=unit, name=name)


def shown(pages: dict[str, str], text: str) -> bool:
    return all(text in html for html in pages.values())


def answered_by(row: Organisation) -> str:
    row = Organisation.objects.select_related("unit").get(pk=row.pk)
    return f"{row.full_name}答复于"


def test_a_body_of_a_village_of_another_town_answers_then_changes_everywhere(
    board, changed, settings
):
    """A case of 文理村 answered (a save: the service would refuse) by 上村's
    村民委员会, of 青山镇: the body renamed, its village made a 社区 and
    renamed, its town renamed, the body moved to 茅山村 and 茅山村 renamed."""
    committee = body(board["shangcun"], "村民委员会")
    with changed():
        board["answered"]("跨镇答复的来信", by_body=committee)
    assert shown(fresh(settings, board), answered_by(committee))
    saved(changed, committee, name="村委会")
    assert shown(fresh(settings, board), answered_by(committee))
    saved(changed, board["shangcun"], kind=Unit.Kind.COMMUNITY)
    assert shown(fresh(settings, board), answered_by(committee))
    saved(changed, board["shangcun"], name="上庄社区")
    assert shown(fresh(settings, board), "上庄社区村委会答复于")
    saved(changed, board["qingshan"], name="青峰镇")
    fresh(settings, board)
    saved(changed, committee, unit=board["maoshan"])
    assert shown(fresh(settings, board), "茅山村委会答复于")
    saved(changed, board["maoshan"], name="茅山社区")
    assert shown(fresh(settings, board), "茅山社区村委会答复于")


def test_another_towns_office_answers_then_its_town_and_its_move(
    board, changed, settings
):
    """A case answered by 青山镇's 党政办 (another town's body): 青山镇
    renamed, the office moved to 凤鸣镇 under another name, 凤鸣镇 renamed,
    青山镇 renamed again (no longer shown)."""
    office = Organisation.objects.get(unit=board["qingshan"], kind=BodyKind.OFFICE)
    with changed():
        board["answered"]("外镇党政办答复的来信", by_body=office)
    assert shown(fresh(settings, board), "青山镇党政办答复于")
    saved(changed, board["qingshan"], name="青峰镇")
    assert shown(fresh(settings, board), "青峰镇党政办答复于")
    saved(changed, office, unit=board["town"], name="综合办")
    assert shown(fresh(settings, board), "凤鸣镇综合办答复于")
    saved(changed, board["town"], name="凤栖镇")
    assert shown(fresh(settings, board), "凤栖镇综合办答复于")
    saved(changed, board["qingshan"], name="青山镇")
    assert not shown(fresh(settings, board), "青山镇")


def test_a_cadres_answer_follows_its_village_to_another_town(board, changed, settings):
    """ "X镇包村干部" and the town office's answer: the board's village
    moved to 青山镇 (the cadre's label moves, the office's answer stays its
    old town's), its old town renamed, the new one renamed, then moved
    back."""
    wenli = board["wenli"]
    saved(changed, wenli, village_cadre=UserFactory(username="cadre"))
    with changed():
        case = SubmissionFactory(unit=wenli, title="包村干部答复的来信")
        services.assign(case, by=board["staff"], to_cadre=True)
        services.answer(case, by=board["staff"], department=board["office"], text="好")
    town_office = Organisation.objects.get(unit=board["town"], kind=BodyKind.OFFICE)
    with changed():
        board["answered"]("镇党政办答复的来信", by_body=town_office)
    assert shown(fresh(settings, board), "凤鸣镇包村干部答复于")
    saved(changed, wenli, parent=board["qingshan"])
    pages = fresh(settings, board)
    assert shown(pages, "青山镇包村干部答复于") and shown(pages, "凤鸣镇党政办答复于")
    # The old town's office still answers on the board, the cadre is not its.
    saved(changed, board["town"], name="凤栖镇")
    pages = fresh(settings, board)
    assert shown(pages, "凤栖镇党政办答复于") and shown(pages, "青山镇包村干部")
    saved(changed, board["qingshan"], name="青峰镇")
    assert shown(fresh(settings, board), "青峰镇包村干部答复于")
    saved(changed, wenli, parent=board["town"])
    assert shown(fresh(settings, board), "凤栖镇包村干部答复于")


def test_an_office_renamed_replaced_by_another_and_deleted(board, changed, settings):
    """A case answered by the 民政办 alone: the office renamed, the case
    given to another office by a save, the first deleted, the second
    renamed, then renamed again through the admin."""
    civil = DepartmentFactory(name="民政办")
    with changed():
        case = SubmissionFactory(unit=board["wenli"], title="低保怎么申请")
        services.answer(case, by=board["staff"], department=civil, text="好")
    assert shown(fresh(settings, board), "民政办答复于")
    saved(changed, civil, name="民政社保办")
    assert shown(fresh(settings, board), "民政社保办答复于")
    social = DepartmentFactory(name="社会事务办")
    saved(changed, case, answered_by=social, department=social)
    assert shown(fresh(settings, board), "社会事务办答复于")
    with changed():
        civil.delete()
    fresh(settings, board)
    saved(changed, social, name="社会事务服务办")
    assert shown(fresh(settings, board), "社会事务服务办答复于")
    admin = Client()
    admin.force_login(SuperuserFactory())
    with changed():
        response = admin.post(
            f"/admin/catalog/department/{social.pk}/change/",
            {"name": "社会事务综合办", "order": 0},
        )
    assert response.status_code == 302
    assert shown(fresh(settings, board), "社会事务综合办答复于")


def test_the_answering_body_moved_to_another_village_and_renamed_there(
    board, changed, settings
):
    """文理村's 村两委 (the answerer of a case on the board) moved to 茅山村
    under another name; 茅山村 renamed; the board's own village renamed."""
    joint = board["body"]
    assert shown(fresh(settings, board), "文理村两委答复于")
    saved(changed, joint, unit=board["maoshan"], name="村民议事会")
    assert shown(fresh(settings, board), answered_by(joint))
    saved(changed, board["maoshan"], name="茅山社区")
    assert shown(fresh(settings, board), "茅山社区村民议事会答复于")
    saved(changed, board["wenli"], name="文理社区")
    assert shown(fresh(settings, board), "文理社区")


def test_two_villages_swapping_slugs_each_board_shows_its_own_answerers(
    board, changed, settings
):
    """文理村 and 茅山村 each with an answer by their own 村两委 swap slugs
    in one transaction; then the body now answering on /boards/wenli/ is
    renamed, and the one now on /boards/maoshan/."""
    wenli, maoshan = board["wenli"], board["maoshan"]
    maoshan_joint = body(maoshan, "村两委")
    with changed():
        board["answered"]("茅山村的来信", unit=maoshan, by_body=maoshan_joint)
    other = "/boards/maoshan/"
    assert shown(fresh(settings, board), "文理村两委答复于")
    assert shown(fresh(settings, board, other), "茅山村两委答复于")
    with changed():
        saved(changed, wenli, slug="swap")
        saved(changed, maoshan, slug="wenli")
        saved(changed, wenli, slug="maoshan")
    assert shown(fresh(settings, board), "茅山村两委答复于")
    assert shown(fresh(settings, board, other), "文理村两委答复于")
    saved(changed, maoshan_joint, name="两委联席会")
    assert shown(fresh(settings, board), "茅山村两委联席会答复于")
    saved(changed, board["body"], name="两委联席会")
    assert shown(fresh(settings, board, other), "文理村两委联席会答复于")


def test_a_reopened_case_then_its_former_answerer_renamed_and_a_cadres_answer(
    board, changed, settings
):
    """A case answered by 上村's 村民委员会 is rated 不满意 (reopened: off
    the column); that body renamed and its town renamed; the case answered
    again by the 包村干部; 凤鸣镇 renamed."""
    wenli = board["wenli"]
    saved(changed, wenli, village_cadre=UserFactory(username="cadre"))
    committee = body(board["shangcun"], "村民委员会")
    with changed():
        case = board["answered"]("答复不满意的来信", by_body=committee)
    assert shown(fresh(settings, board), "答复不满意的来信")
    with changed():
        services.rate(case, rating=Rating.UNSATISFIED, comment="没解决")
    assert not shown(fresh(settings, board), "答复不满意的来信")
    saved(changed, committee, name="村委会")
    fresh(settings, board)
    saved(changed, board["qingshan"], name="青峰镇")
    fresh(settings, board)
    with changed():
        case.refresh_from_db()
        services.assign(case, by=board["staff"], to_cadre=True)
        services.answer(
            case, by=board["staff"], department=board["office"], text="已解决"
        )
    assert shown(fresh(settings, board), "凤鸣镇包村干部答复于")
    saved(changed, board["town"], name="凤栖镇")
    assert shown(fresh(settings, board), "凤栖镇包村干部答复于")


def test_a_case_moved_to_the_board_brings_its_answerer_along(board, changed, settings):
    """A case of 茅山村 answered by its 村两委, moved to 文理村 by a save:
    both boards; then 茅山村 renamed, and its body."""
    maoshan = board["maoshan"]
    joint = body(maoshan, "村两委")
    with changed():
        case = board["answered"]("搬过来的来信", unit=maoshan, by_body=joint)
    other = "/boards/maoshan/"
    assert shown(fresh(settings, board, other), "搬过来的来信")
    assert not shown(fresh(settings, board), "搬过来的来信")
    saved(changed, case, unit=board["wenli"])
    assert shown(fresh(settings, board), "茅山村两委答复于")
    assert not shown(fresh(settings, board, other), "搬过来的来信")
    saved(changed, maoshan, name="茅山社区")
    assert shown(fresh(settings, board), "茅山社区村两委答复于")
    saved(changed, joint, name="两委会")
    assert shown(fresh(settings, board), "茅山社区两委会答复于")


def test_a_towns_board_answered_by_a_villages_body(board, changed, settings):
    """A case of 凤鸣镇 itself answered (a save) by 文理村's 村两委: the
    town's board after 文理村 is renamed and the body moved to 茅山村."""
    town_url = "/boards/fengming/"
    with changed():
        board["answered"]("镇里的来信", unit=board["town"], by_body=board["body"])
    assert shown(fresh(settings, board, town_url), "文理村两委答复于")
    saved(changed, board["wenli"], name="文理社区")
    assert shown(fresh(settings, board, town_url), "文理社区村两委答复于")
    saved(changed, board["body"], unit=board["maoshan"], name="村民议事会")
    assert shown(fresh(settings, board, town_url), "茅山村民议事会答复于")


def test_the_catalog_and_rows_the_body_does_not_show(board, changed, settings):
    """The board's columns are the catalog's: a category renamed, the item
    moved to a category of another catalog, that catalog's name, the item
    taken off the village level; and rows no part of the body shows (a
    form, a topic, a notice board) changed. The current board and a past
    period's."""
    item = board["item"]
    category = Category.objects.get(pk=item.category_id)
    both(settings, board)
    saved(changed, category, name="财务公开（修订）")
    assert shown(both(settings, board), "财务公开（修订）")
    village = CatalogFactory(kind=Catalog.Kind.VILLAGE)
    moved_to = CategoryFactory(catalog=village, name="村务财务")
    saved(changed, item, category=moved_to)
    assert shown(both(settings, board), "村务财务")
    saved(changed, village, name="村务公开目录（修订）")
    both(settings, board)
    saved(changed, item, for_village=False)
    assert not shown(both(settings, board), "本月村务公开")
    saved(changed, DisclosureFormFactory(), name="公开栏（新）")
    both(settings, board)
    saved(changed, TagFactory(), name="防汛抗旱")
    both(settings, board)
    saved(changed, NoticeBoardFactory(unit=board["wenli"]), location="文化广场")
    assert shown(both(settings, board), "文化广场")


def test_the_boards_unit_made_a_community_then_a_town(board, changed, settings):
    """The board's own unit retyped: a 社区 (its bodies' names change with
    it), then a town (the town level's columns)."""
    town_only = ItemFactory(for_village=False, category__name="镇级栏目")
    fresh(settings, board)
    saved(changed, board["wenli"], kind=Unit.Kind.COMMUNITY)
    assert shown(fresh(settings, board), answered_by(board["body"]))
    saved(changed, board["wenli"], kind=Unit.Kind.TOWN, parent=None)
    assert shown(fresh(settings, board), town_only.category.name)


def test_the_members_branch_moved_to_another_village_and_back(board, changed, settings):
    """The member's branch (whose 党组织内部 notice is on 文理村's board)
    moved to 茅山村 under another name, then back; then the member moved to
    茅山村's branch: both boards for the member, kept and afresh."""
    branch = body(board["wenli"], "村党支部")
    other = "/boards/maoshan/"
    member = {"member": board["clients"]["member"]}
    only_member = {**board, "clients": member}
    assert shown(fresh(settings, only_member), BRANCH_TITLE)
    fresh(settings, only_member, other)
    saved(changed, branch, unit=board["maoshan"], name="第二党支部")
    assert not shown(fresh(settings, only_member), BRANCH_TITLE)
    fresh(settings, only_member, other)
    saved(changed, branch, unit=board["wenli"], name="村党支部")
    assert shown(fresh(settings, only_member), BRANCH_TITLE)
    fresh(settings, only_member, other)
    membership = PartyMembership.objects.get(user__username="wenli_member")
    saved(changed, membership, branch=body(board["maoshan"], "村党支部"))
    assert not shown(fresh(settings, only_member), BRANCH_TITLE)
    fresh(settings, only_member, other)


class RolledBack(Exception):
    """Raised to roll a block's transaction back."""


def test_renames_rolled_back_after_the_board_was_read_inside_them(
    board, changed, settings
):
    """The answering body (of another town) and the board's town renamed in
    a transaction that reads the board, nothing kept by then (the new names
    shown there, kept nowhere), and rolls back: the old names."""
    wenli = board["wenli"]
    saved(changed, wenli, village_cadre=UserFactory(username="cadre"))
    committee = body(board["shangcun"], "村民委员会")
    with changed():
        board["answered"]("跨镇答复的来信", by_body=committee)
        case = SubmissionFactory(unit=wenli, title="包村干部答复的来信")
        services.assign(case, by=board["staff"], to_cadre=True)
        services.answer(case, by=board["staff"], department=board["office"], text="好")
    before = fresh(settings, board)
    label = answered_by(committee)
    assert shown(before, label) and shown(before, "凤鸣镇包村干部答复于")
    with pytest.raises(RolledBack), transaction.atomic():
        committee.name = "村委会"
        committee.save()
        board["town"].name = "凤栖镇"
        board["town"].save()
        # Nothing kept any more (evicted): the board is made inside, with
        # the new names, and may keep none of it.
        cache.clear()
        caching.reset_local()
        for client in board["clients"].values():
            inside = page(client, URL).decode()
            assert "凤栖镇包村干部答复于" in inside and label not in inside
        raise RolledBack
    assert fresh(settings, board) == before


def test_a_case_entered_already_answered_shows_on_the_board(board, changed, settings):
    """A case saved as answered in one go (the demo loader's
    feedback.demo._get_or_create, an import, the shell: never an accepted
    case before), answered by the office, whose name the column shows
    already: no name of the column is new."""
    fresh(settings, board)
    now = timezone.now()
    with changed():
        SubmissionFactory(
            unit=board["wenli"],
            title="录入时已答复的来信",
            status=Status.ANSWERED,
            accepted_at=now,
            answered_at=now,
            answered_by=board["office"],
            answer_text="已答复。",
        )
    assert shown(fresh(settings, board), "录入时已答复的来信")
