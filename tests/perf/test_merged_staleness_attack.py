"""After the merge of 2026-12-02 a unit's, the catalog's, a notice board's,
an organisation's or a tag's change no longer moves the global version: it
names scopes (NAMES, UNITS, CATALOG, TAGS, unit:<slug>...); since the
evening of 2026-12-02 an obligation event, an inspection, a rectification
and a disclosure's table name only their unit's, town's or disclosure's
scopes, not NAMES. Every page that shows the changed thing must show the
new state at once, exactly as a render with nothing kept would: each page
is filled in the caches, the change is made, and the page served is
compared with the same page rendered with the page and value caches off."""

import difflib
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from catalog.models import (
    BodyKind,
    Catalog,
    Category,
    Department,
    Item,
    ScheduleRule,
    Scope,
    Timing,
)
from composition.models import AnnualReport, DisclosureGuide
from core import caching
from disclosure import page_scopes
from disclosure.models import (
    DisclosureTable,
    Inspection,
    NoticeBoard,
    ObligationEvent,
    Organisation,
    Rectification,
    Unit,
)
from feedback.models import Tag
from tests.disclosure.test_tables import add_table
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    DisclosureFormFactory,
    ItemFactory,
    NoticeBoardFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.django_db,
    # Each page read twice, then again after the change, the pages listed from
    # today's year each time: not across midnight (nor a year's end).
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

# Per render: the CSRF token, the 回音壁 form's signed token and its sum.
PER_RENDER = re.compile(
    rb'name="csrfmiddlewaretoken" value="[^"]*"|name="token" value="[^"]*"'
    rb"|\xe9\xaa\x8c\xe8\xaf\x81\xef\xbc\x9a[^<]*"  # 验证：…
)


@pytest.fixture
def county():
    found = {}
    found["category"] = CategoryFactory(name="财务公开")
    found["other_category"] = CategoryFactory(
        name="其他栏目", catalog=found["category"].catalog
    )
    found["item"] = ItemFactory(category=found["category"], name="月度收支")
    found["government_category"] = CategoryFactory(
        name="政务栏目", catalog=CatalogFactory(kind=Catalog.Kind.GOVERNMENT)
    )
    found["government_item"] = ItemFactory(
        category=found["government_category"], name="惠民资金"
    )
    found["tag"] = TagFactory(name="森林防火")
    found["unused_tag"] = TagFactory(name="道路维修")
    for town_name, slug, villages in (
        ("凤鸣镇", "fengming", ("wenli", "maoshan")),
        ("青山镇", "qingshan", ("shangcun",)),
    ):
        town = TownFactory(name=town_name, slug=slug)
        found[slug] = town
        NoticeBoardFactory(unit=town, location=f"{town_name}政府门前")
        for village in villages:
            unit = UnitFactory(name=f"{village}村", slug=village, parent=town)
            found[village] = unit
            found[f"board-{village}"] = NoticeBoardFactory(
                unit=unit, location=f"{village}村委会门前"
            )
            found[f"row-{village}"] = DisclosureFactory(
                unit=unit, item=found["item"], title=f"{village}村务公开"
            )
            DisclosureFactory(
                unit=unit, item=found["government_item"], title=f"{village}政务公开"
            )
            DisclosureFactory(
                unit=unit,
                item=found["item"],
                title=f"{village}党内通报",
                scope=Scope.INNER_PARTY,
                period="2012-03",
            )
            found[f"case-{village}"] = SubmissionFactory(
                unit=unit, accepted=True, title=f"{village}的问题", tag=found["tag"]
            )
    found["empty"] = UnitFactory(name="空村", slug="kong", parent=found["fengming"])
    # Rows only their unit's pages count (page_scopes.unit_row_scopes), this
    # year's (the compliance pages' default), and a disclosure's table.
    today = timezone.localdate()
    found["event_item"] = ItemFactory(
        category=found["category"],
        name="重大事项决策",
        frequency=Item.Frequency.IMMEDIATELY,
        timing=Timing.EVENT,
    )
    found["event"] = ObligationEvent.objects.create(
        unit=found["wenli"],
        item=found["event_item"],
        event_date=today,
        description="村道硬化",
    )
    found["inspection"], found["rectification"] = check_with_notice(
        found["wenli"], found["wenli"], issue="公开栏破损", overdue=False
    )
    found["table"] = add_table(found["row-wenli"])
    return found


def check_with_notice(checked, notified, *, issue="未按期公开", overdue=True):
    """A check of `checked` today and its 整改 notice to `notified` (the unit
    checked, or a village of the town checked), overdue since yesterday or
    due today."""
    today = timezone.localdate()
    check = Inspection.objects.create(
        unit=checked,
        inspector=UserFactory(username="inspector"),
        inspected_on=today,
        score_complete=90,
    )
    return check, Rectification.objects.create(
        unit=notified,
        inspection=check,
        issue=issue,
        deadline=today - timedelta(days=1) if overdue else today,
    )


def urls(county) -> list[str]:
    wenli = county["row-wenli"]
    item = county["item"]
    case = county["case-wenli"]
    return [
        "/",
        "/?town=qingshan",
        "/boards/",
        "/boards/wenli/",
        "/boards/fengming/",
        "/boards/wenli/print/",
        "/disclosures/",
        "/disclosures/?unit=wenli",
        f"/disclosures/?category={county['category'].pk}",
        f"/disclosures/?item={item.code}",
        "/disclosures/?period=2011-09",
        "/disclosures/?kind=party",
        f"/disclosures/{wenli.pk}/",
        "/catalog/",
        f"/catalog/{item.code}/",
        "/feedback/",
        "/feedback/?unit=wenli",
        f"/feedback/?tag={county['tag'].pk}",
        "/feedback/new/",
        f"/feedback/{case.pk}/",
        "/search/?q=村务公开",
        "/search/?q=村务公开&kind=party",
        "/search/?q=村务公开&kind=government",
        "/search/?q=村务公开&kind=village",
        "/disclosures/?kind=government",
        "/disclosures/?kind=village",
        "/stats/?town=qingshan",
        "/search/?q=村务公开&unit=wenli",
        "/compliance/",
        "/compliance/?kind=village&town=fengming",
        "/compliance/wenli/",
        "/stats/",
        "/stats/?town=fengming",
        "/county/",
        "/boards/wenli2/",
        "/boards/wenli2/print/",
        "/disclosures/?unit=wenli2",
        "/feedback/?unit=wenli2",
        "/compliance/wenli2/",
        "/feeds/boards/wenli2/",
        "/stats/?unit=wenli",
        "/stats/?unit=wenli2",
        "/compliance/?town=fengming",
        "/compliance/?town=qingshan",
        "/feedback/?unit=fengming",
        "/feedback/print/wenli/",
        "/reports/",
        f"/reports/fengming/{timezone.localdate().year}/",
        "/guide/",
        "/guide/affairs/",
        "/yishenqing/",
        "/feeds/latest/",
        "/feeds/boards/wenli/",
        "/feeds/feedback/",
        "/sitemap.xml",
    ]


def served(client, url) -> tuple[int, bytes]:
    response = client.get(url)
    body = response.content if not response.streaming else b"".join(response)
    body = PER_RENDER.sub(b"per-render", body)
    if url.startswith("/feeds/"):
        # A feed with no entry is "updated" now.
        body = re.sub(rb"<updated>[^<]*</updated>", b"<updated/>", body, count=1)
    return response.status_code, body


def client_of(who):
    client = Client()
    if who is not None:
        client.force_login(who)
    return client


def fresh(settings, county, who=None) -> dict:
    """Every page as rendered with nothing kept."""
    return rendered_afresh(settings, urls(county), who)


def rendered_afresh(settings, pages, who=None) -> dict:
    """These pages as rendered with nothing kept (the caches emptied, then
    off while they are served)."""
    page, value = settings.PAGE_CACHE_SECONDS, settings.VALUE_CACHE_SECONDS
    settings.PAGE_CACHE_SECONDS = settings.VALUE_CACHE_SECONDS = 0
    cache.clear()
    caching.reset_local()
    page_scopes.forget_slugs()
    try:
        client = client_of(who)
        return {url: served(client, url) for url in pages}
    finally:
        settings.PAGE_CACHE_SECONDS, settings.VALUE_CACHE_SECONDS = page, value


def stale_among(kept: dict, expected: dict) -> dict:
    """url -> how the page served differs from the one rendered afresh."""
    return {
        url: differences(kept[url], expected[url])
        for url in kept
        if kept[url] != expected[url]
    }


def stale_pages(settings, county, change, capture, who=None) -> dict:
    visitor = client_of(who)
    before = {url: served(visitor, url) for url in urls(county)}
    # Twice: the second is served from what the first kept.
    again = {url: served(visitor, url) for url in urls(county)}
    unsteady = {
        u: differences(again[u], before[u]) for u in again if again[u] != before[u]
    }
    assert unsteady == {}, "\n\n".join(f"{u}:\n{d}" for u, d in unsteady.items())
    with capture(execute=True):
        change()
    kept = {url: served(visitor, url) for url in urls(county)}
    # The kept copies are left alone by `fresh` (it clears them after).
    if who is not None:
        who.refresh_from_db()
    return stale_among(kept, fresh(settings, county, who))


def differences(kept, expected) -> str:
    if kept[0] != expected[0]:
        return f"status {kept[0]}, not {expected[0]}"
    lines = difflib.unified_diff(
        expected[1].decode().splitlines(),
        kept[1].decode().splitlines(),
        "nothing kept",
        "kept",
        lineterm="",
        n=0,
    )
    return "\n".join(list(lines)[:12])


def test_nothing_stale_without_a_change(
    settings, county, django_capture_on_commit_callbacks
):
    assert (
        stale_pages(settings, county, lambda: None, django_capture_on_commit_callbacks)
        == {}
    )


def _renamed_unit(county):
    unit = Unit.objects.get(pk=county["wenli"].pk)
    unit.name = "新文理村"
    unit.save()


def _reslugged_unit(county):
    unit = Unit.objects.get(pk=county["wenli"].pk)
    unit.name = "文理社区"
    unit.slug = "wenli"  # kept: the URLs stay
    unit.kind = Unit.Kind.COMMUNITY
    unit.save()


def _new_slug(county):
    unit = Unit.objects.get(pk=county["wenli"].pk)
    unit.slug = "wenli2"
    unit.save()


def _renamed_town(county):
    town = Unit.objects.get(pk=county["fengming"].pk)
    town.name = "凤鸣街道"
    town.save()


def _moved_village(county):
    unit = Unit.objects.get(pk=county["wenli"].pk)
    unit.parent = county["qingshan"]
    unit.save()


def _reordered_units(county):
    unit = Unit.objects.get(pk=county["maoshan"].pk)
    unit.order = 0
    unit.save()
    unit = Unit.objects.get(pk=county["wenli"].pk)
    unit.order = 9
    unit.save()


def _liaison_point(county):
    unit = Unit.objects.get(pk=county["wenli"].pk)
    unit.is_liaison_point = True
    unit.save()


def _item_not_for_villages(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.for_village = False
    item.save()


def _item_to_other_catalog(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.category = county["government_category"]
    item.save()


def _renamed_department(county):
    department = Department.objects.get(pk=county["item"].department_id)
    department.name = "综合办"
    department.save()


def _renamed_catalog(county):
    catalog = Catalog.objects.get(pk=county["category"].catalog_id)
    catalog.name = "新党务目录"
    catalog.save()


def _schedule_rule(county):
    catalog = Catalog.objects.get(pk=county["category"].catalog_id)
    rule, _ = ScheduleRule.objects.get_or_create(catalog=catalog)
    rule.monthly_due_day = 28 if rule.monthly_due_day != 28 else 5
    rule.save()


def _added_item(county):
    ItemFactory(category=county["category"], name="新增事项")


def _added_tag(county):
    TagFactory(name="新话题")


def _added_unit(county):
    UnitFactory(name="新建村", slug="xinjian", parent=county["fengming"])


def _deleted_board(county):
    NoticeBoard.objects.get(pk=county["board-wenli"].pk).delete()


def _renamed_board(county):
    board = NoticeBoard.objects.get(pk=county["board-wenli"].pk)
    board.location = "文化广场"
    board.save()


def _renamed_item(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.name = "季度收支"
    item.save()


def _renamed_category(county):
    category = Category.objects.get(pk=county["category"].pk)
    category.name = "改名栏目"
    category.save()


def _moved_item(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.category = county["other_category"]
    item.save()


def _inner_party_item(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.scope = Scope.INNER_PARTY
    item.save()


def _renamed_tag(county):
    tag = Tag.objects.get(pk=county["tag"].pk)
    tag.name = "秸秆禁烧"
    tag.save()


def _deleted_tag(county):
    Tag.objects.get(pk=county["unused_tag"].pk).delete()


def _renamed_organisation(county):
    for body in Organisation.objects.all():
        body.name = f"{body.name}（改）"
        body.save()


def _registered_event(county):
    ObligationEvent.objects.create(
        unit=county["maoshan"],
        item=county["event_item"],
        event_date=timezone.localdate(),
        description="集体资产处置",
    )


def _moved_event(county):
    event = ObligationEvent.objects.get(pk=county["event"].pk)
    event.unit = county["shangcun"]
    event.save()


def _deleted_event(county):
    ObligationEvent.objects.get(pk=county["event"].pk).delete()


def _added_inspection(county):
    check_with_notice(county["maoshan"], county["maoshan"])


def _moved_inspection(county):
    for model in (Inspection, Rectification):
        row = model.objects.get(pk=county[model.__name__.lower()].pk)
        row.unit = county["shangcun"]
        row.save()


def _completed_rectification(county):
    notice = Rectification.objects.get(pk=county["rectification"].pk)
    notice.completed_on = timezone.localdate()
    notice.save()


def _deleted_inspection(county):
    Rectification.objects.get(pk=county["rectification"].pk).delete()
    Inspection.objects.get(pk=county["inspection"].pk).delete()


def _added_table(county):
    add_table(county["row-maoshan"])


def _replaced_table(county):
    table = DisclosureTable.objects.get(pk=county["table"].pk)
    table.caption = "更正后的收支明细表"
    table.save()


def _deleted_table(county):
    DisclosureTable.objects.get(pk=county["table"].pk).delete()


def _edited_guide(county):
    DisclosureGuide.objects.update_or_create(
        town=county["fengming"], defaults={"phone": "0830-5551234"}
    )


def _annual_report(county):
    AnnualReport.objects.create(
        town=county["fengming"],
        year=timezone.localdate().year,
        overview="本年度公开工作总体情况。",
    )


def _branch_item(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.scope = Scope.BRANCH
    item.save()


def _renamed_branch(county):
    branch = county["wenli"].organisations.branches().get()
    branch.name = "文理村第一党支部"
    branch.save()


def _obligation_event(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.timing = "event"
    item.save()
    ObligationEvent.objects.create(
        unit=county["wenli"],
        item=item,
        event_date=timezone.localdate() - timedelta(days=60),
        description="村集体土地征收",
    )


def _deleted_unit(county):
    unit = Unit.objects.get(pk=county["empty"].pk)
    for body in unit.organisations.all():  # protected: gone first
        body.delete()
    unit.delete()


def _item_forms(county):
    item = Item.objects.get(pk=county["item"].pk)
    item.forms.add(DisclosureFormFactory(name="微信群"))


def _catalog_kind(county):
    catalog = Catalog.objects.get(pk=county["government_category"].catalog_id)
    catalog.kind = Catalog.Kind.VILLAGE
    catalog.save()


def _editor_added(county):
    county["wenli"].editors.add(UserFactory(username="wenli_editor"))


def _body_member_added(county):
    # The walking member, if any: their audience is worked out again
    # (core.audiences), with no row event (`unshown_links`).
    user = User.objects.filter(username="wenli_member").first()
    branch = Organisation.objects.get(unit=county["wenli"], kind=BodyKind.PARTY_BRANCH)
    branch.members.add(user or UserFactory(username="wenli_member"))


CHANGES = {
    "editor added": _editor_added,
    "body's member added": _body_member_added,
    "obligation event": _obligation_event,
    "deleted unit": _deleted_unit,
    "item's forms": _item_forms,
    "catalog's kind": _catalog_kind,
    "item made a branch's": _branch_item,
    "renamed branch": _renamed_branch,
    "new slug": _new_slug,
    "renamed town": _renamed_town,
    "village moved to another town": _moved_village,
    "units reordered": _reordered_units,
    "unit made a liaison point": _liaison_point,
    "item no longer for villages": _item_not_for_villages,
    "item moved to another catalog": _item_to_other_catalog,
    "renamed department": _renamed_department,
    "renamed catalog": _renamed_catalog,
    "schedule rule": _schedule_rule,
    "added item": _added_item,
    "added tag": _added_tag,
    "renamed unit": _renamed_unit,
    "unit made a community": _reslugged_unit,
    "added unit": _added_unit,
    "deleted notice board": _deleted_board,
    "renamed notice board": _renamed_board,
    "renamed item": _renamed_item,
    "renamed category": _renamed_category,
    "item moved to another category": _moved_item,
    "item made inner-party": _inner_party_item,
    "renamed tag": _renamed_tag,
    "deleted tag": _deleted_tag,
    "renamed organisation": _renamed_organisation,
    "registered event": _registered_event,
    "event moved to another town": _moved_event,
    "deleted event": _deleted_event,
    "added inspection": _added_inspection,
    "inspection moved to another town": _moved_inspection,
    "completed rectification": _completed_rectification,
    "deleted inspection": _deleted_inspection,
    "added table": _added_table,
    "replaced table": _replaced_table,
    "deleted table": _deleted_table,
    "edited guide": _edited_guide,
    "annual report": _annual_report,
}


# A party member's pages go through the audience cache: walked for the
# changes that move what a member reads or which copy they get (the rest
# reach a member's pages as a visitor's: the same kept values and scopes).
FOR_MEMBERS = [
    "item made a branch's",
    "renamed branch",
    "item made inner-party",
    "renamed unit",
    "new slug",
    "village moved to another town",
    "item moved to another catalog",
    "renamed organisation",
    "body's member added",
]
WALKS = [(change, "visitor") for change in CHANGES] + [
    (change, "member") for change in FOR_MEMBERS
]


@pytest.mark.parametrize(("change", "who"), WALKS, ids=[f"{c}-{w}" for c, w in WALKS])
def test_every_page_shows_the_change_at_once(
    settings, county, change, who, django_capture_on_commit_callbacks
):
    user = None
    if who == "member":
        user = PartyMemberFactory(username="wenli_member", branch_of=county["wenli"])
    stale = stale_pages(
        settings,
        county,
        lambda: CHANGES[change](county),
        django_capture_on_commit_callbacks,
        user,
    )
    assert stale == {}, "\n\n".join(f"{u}:\n{d}" for u, d in stale.items())


# What only their unit's or disclosure's pages show or count, or only the
# pages that may show anything (a guide, a report): the pages of other
# units, the 回音壁 and other disclosures stay kept (they named NAMES, so
# every page of the county was made again, before 2026-12-02 evening).
UNIT_ROWS = {
    "registered event": ({"maoshan"}, "row-maoshan"),
    "event moved to another town": ({"wenli", "shangcun"}, "row-wenli"),
    "added inspection": ({"maoshan"}, "row-maoshan"),
    "inspection moved to another town": ({"wenli", "shangcun"}, "row-wenli"),
    "completed rectification": ({"wenli"}, "row-wenli"),
    "deleted inspection": ({"wenli"}, "row-wenli"),
    "added table": ({"maoshan"}, "row-maoshan"),
    "replaced table": ({"wenli"}, "row-wenli"),
    "deleted table": ({"wenli"}, "row-wenli"),
    "edited guide": (set(), None),
    "annual report": (set(), None),
}
# Their own pages, which name no scope ("any").
OWN_PAGES = {"edited guide": ["/guide/"], "annual report": ["/reports/"]}


@pytest.mark.parametrize("change", list(UNIT_ROWS))
def test_a_units_own_rows_leave_the_other_pages_kept(
    county, change, django_capture_on_commit_callbacks
):
    changed_units, changed_row = UNIT_ROWS[change]
    boards = {slug: f"/boards/{slug}/" for slug in ("wenli", "maoshan", "shangcun")}
    elsewhere = [url for slug, url in boards.items() if slug not in changed_units]
    elsewhere += [
        f"/disclosures/{county[row].pk}/"
        for row in ("row-wenli", "row-maoshan", "row-shangcun")
        if row != changed_row
    ]
    elsewhere += ["/feedback/", f"/feedback/{county['case-shangcun'].pk}/"]
    own = [boards[slug] for slug in sorted(changed_units)]
    own += OWN_PAGES.get(change, [])
    visitor = Client()
    for url in elsewhere + own:
        assert visitor.get(url).status_code == 200
    assert {visitor.get(url)["X-Page-Cache"] for url in elsewhere + own} == {"hit"}
    with django_capture_on_commit_callbacks(execute=True):
        CHANGES[change](county)
    kept = {url: visitor.get(url)["X-Page-Cache"] for url in elsewhere}
    assert kept == dict.fromkeys(elsewhere, "hit")
    # Its own pages are made again (the walk above checks what they show).
    assert {visitor.get(url)["X-Page-Cache"] for url in own} == {"miss"}


@pytest.mark.parametrize("change", ["editor added", "body's member added"])
def test_who_may_edit_or_act_for_a_unit_leaves_every_page_kept(
    county, change, django_capture_on_commit_callbacks
):
    """No public page shows a unit's editors or a body's members: adding one
    makes no page again (before 2026-12-03 it made every page and fragment
    of the county stale: NAMES)."""
    pages = [
        "/",
        "/boards/wenli/",
        "/boards/shangcun/",
        "/feedback/",
        f"/disclosures/{county['row-wenli'].pk}/",
        "/compliance/wenli/",
    ]
    visitor = Client()
    for url in pages:
        assert visitor.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        CHANGES[change](county)
    kept = {url: visitor.get(url)["X-Page-Cache"] for url in pages}
    assert kept == dict.fromkeys(pages, "hit")
