"""Attacks on the copies every branch's members share since the list
filtered to one unit, a unit's compliance page and the compliance matrix
became one copy for every branch (test_shared_list_and_compliance_copies.py).

The rule under attack: a branch's 党组织内部 rows (their titles, counts and
periods) never reach a member of another branch, a member of no branch, a
logged-in non-member or a visitor through any cached copy, whatever the
query, the order of the requests or what changed in between; and the
branch's own members still read them where they did before (their unit's
list, the unfiltered list, their unit's compliance page).
"""

import io
from datetime import timedelta

import openpyxl
import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from catalog.models import BodyKind
from core import elder
from disclosure.models import Disclosure, PartyMembership, Unit
from tests.factories import (
    DisclosureFactory,
    PartyMemberFactory,
    SuperuserFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.branches import (
    INNER,
    MAOSHAN_BRANCH,
    WENLI_BRANCH,
    make_county,
    member,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

BRANCH_ONLY_PERIOD = 'value="2019-07"'
OF_2011 = "?year=2011"


@pytest.fixture
def county(db):
    return make_county()


def outsiders(other) -> dict[str, Client]:
    """Everyone who must never read 文理村's (or 茅山村's) branch's rows: a
    member of `other`'s branch, of no branch, a resident, a visitor."""
    resident = Client()
    resident.force_login(UserFactory(username="resident"))
    return {
        "other branch": member(f"{other.slug}_a", other),
        "no branch": member("member_nb"),
        "resident": resident,
        "visitor": Client(),
    }


def text_of(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code in (200, 400, 404), (path, response.status_code)
    return response.content.decode()


def never_read(outside: dict[str, Client], path: str, *secrets: str) -> None:
    for who, client in outside.items():
        for _ in range(2):  # a miss, then whatever was kept
            text = text_of(client, path)
            for secret in secrets:
                assert secret not in text, (who, path, secret)


def sheet_text(response) -> str:
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return "\n".join(
        str(value)
        for sheet in book
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def branch_item_code() -> str:
    return Disclosure.objects.get(title=WENLI_BRANCH).item.code


def own_period_only() -> None:
    """文理村's branch row alone holds the period 2019-07."""
    Disclosure.objects.filter(title=WENLI_BRANCH).update(
        period="2019-07", period_start="2019-07-01", period_end="2019-07-31"
    )


# The list: query-string variants ---------------------------------------------

LIST_QUERIES = [
    "?unit={w}",
    "?unit={w}&unit={m}",
    "?unit={m}&unit={w}",
    "?unit={w}&unit=",
    "?unit=&unit={w}",
    "?unit={W}",
    "?unit={w}%20",
    "?unit=%20{w}",
    "?unit={pct}",
    "?unit={w}&period=2011-09",
    "?unit={w}&period=2011-13",
    "?unit={w}&kind=party",
    "?unit={w}&item={code}",
    "?unit={w}&nil=on",
    "?unit={w}&published_after=2000-01-01",
    "?unit={w}&page=1",
    "?unit={w}&page=2",
    "?unit={w}&page=x",
    "?UNIT={w}",
    "?unit[]={w}",
]


def list_path(template: str, wenli, maoshan) -> str:
    query = template.format(
        w=wenli.slug,
        W=wenli.slug.upper(),
        m=maoshan.slug,
        pct="".join(f"%{ord(c):02X}" for c in wenli.slug),
        code=branch_item_code(),
    )
    return "/disclosures/" + query


@pytest.mark.parametrize("own_first", [True, False], ids=["own-first", "own-last"])
def test_list_query_variants_never_carry_the_branch_row(county, own_first):
    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    outside = outsiders(maoshan)
    for template in LIST_QUERIES:
        path = list_path(template, wenli, maoshan)
        if own_first:
            text_of(from_wenli, path)
            text_of(from_wenli, path)
        never_read(outside, path, WENLI_BRANCH)
        text_of(from_wenli, path)
        never_read(outside, path, WENLI_BRANCH)
        assert INNER not in text_of(outside["visitor"], path), path
        assert INNER not in text_of(outside["resident"], path), path


@pytest.mark.parametrize("template", ["?unit={w}", "?unit={pct}", "?unit={m}&unit={w}"])
def test_the_own_branch_reads_its_row_on_every_spelling_of_its_unit(county, template):
    """Made first by another branch, then by the own branch: the own copy."""
    wenli, maoshan, _ = county
    path = list_path(template, wenli, maoshan)
    assert WENLI_BRANCH not in text_of(member("maoshan_a", maoshan), path)
    from_wenli = member("wenli_a", wenli)
    for _ in range(2):
        text = text_of(from_wenli, path)
        assert WENLI_BRANCH in text and "共 3 条" in text


def test_counts_of_the_branch_item_per_reader(county):
    """The count is kept by reader key and selection: the branch's "共 1 条"
    of its item on its unit never becomes another's."""
    wenli, maoshan, dongfeng = county
    path = f"/disclosures/?unit={wenli.slug}&item={branch_item_code()}"
    from_wenli = member("wenli_a", wenli)
    for _ in range(2):
        assert "共 1 条" in text_of(from_wenli, path)
    for client in (
        member("maoshan_a", maoshan),
        member("dongfeng_a", dongfeng),
        member("member_nb"),
    ):
        for _ in range(2):
            response = client.get(path)
            assert response.status_code == 200
            assert "共 1 条" not in response.text
            assert WENLI_BRANCH not in response.text
    # The same selection with the page number: no other count is read.
    text = text_of(member("maoshan_a", maoshan), path + "&page=1")
    assert "共 1 条" not in text and WENLI_BRANCH not in text


def test_a_period_only_the_branch_has_never_reaches_another(county):
    wenli, maoshan, dongfeng = county
    own_period_only()
    from_wenli = member("wenli_a", wenli)
    assert BRANCH_ONLY_PERIOD in text_of(from_wenli, "/disclosures/")
    own = from_wenli.get(f"/disclosures/?unit={wenli.slug}&period=2019-07")
    assert own.status_code == 200 and WENLI_BRANCH in own.text
    # Asked for on another unit's (shared) list: refused, kept nowhere.
    refused = from_wenli.get(f"/disclosures/?unit={maoshan.slug}&period=2019-07")
    assert refused.status_code == 400
    outside = {**outsiders(maoshan), "dongfeng": member("dongfeng_a", dongfeng)}
    for unit in (wenli, maoshan, dongfeng):
        never_read(outside, f"/disclosures/?unit={unit.slug}", BRANCH_ONLY_PERIOD)
        never_read(
            outside,
            f"/disclosures/?unit={unit.slug}&period=2019-07",
            WENLI_BRANCH,
            "共 1 条",
        )
    never_read(outside, "/disclosures/", BRANCH_ONLY_PERIOD, WENLI_BRANCH)


def test_a_unit_without_a_board_and_unknown_slugs_keep_nothing_shared(county):
    wenli, maoshan, _ = county
    county_unit = UnitFactory(name="凤鸣县", kind=Unit.Kind.COUNTY)
    from_wenli = member("wenli_a", wenli)
    outside = outsiders(maoshan)
    for slug in (county_unit.slug, "no-such-unit", "a" * 81, "%E6%96%87"):
        path = f"/disclosures/?unit={slug}"
        response = from_wenli.get(path)
        assert response.status_code == 400, slug
        assert response.headers.get("X-Page-Cache") != "miss"
        never_read(outside, path, WENLI_BRANCH)


def test_head_and_text_sizes_leak_nothing(county):
    wenli, maoshan, _ = county
    path = f"/disclosures/?unit={wenli.slug}"
    from_wenli = member("wenli_a", wenli)
    assert from_wenli.head(path).status_code == 200
    from_wenli.cookies[elder.COOKIE_NAME] = "2"
    assert WENLI_BRANCH in text_of(from_wenli, path)
    outside = outsiders(maoshan)
    for size in ("2", "1", "0"):
        for client in outside.values():
            client.cookies[elder.COOKIE_NAME] = size
            assert WENLI_BRANCH not in client.head(path).content.decode()
        never_read(outside, path, WENLI_BRANCH)
    from_wenli.cookies[elder.COOKIE_NAME] = "0"
    assert WENLI_BRANCH in text_of(from_wenli, path)


# The filter form's "全部单位" --------------------------------------------------


def test_the_forms_all_units_keeps_the_branchs_own_rows(county):
    """The form sends unit= (全部单位) with every search: the unfiltered list,
    the branch's own rows and count (a regression of 47f5654, mended)."""
    wenli, _, _ = county
    from_wenli = member("wenli_a", wenli)
    plain = text_of(from_wenli, "/disclosures/?period=2011-09")
    assert WENLI_BRANCH in plain and "共 3 条" in plain
    submitted = (
        "/disclosures/?unit=&kind=&category=&item=&period=2011-09"
        "&published_after=&published_before="
    )
    text = text_of(from_wenli, submitted)
    assert WENLI_BRANCH in text and "共 3 条" in text


def test_choosing_the_branchs_own_period_in_the_form_finds_its_row(county):
    """The own unfiltered list offers the branch's period; chosen in the form
    (unit=&period=2019-07) it finds the row (was a 400 after 47f5654)."""
    wenli, _, _ = county
    own_period_only()
    from_wenli = member("wenli_a", wenli)
    assert BRANCH_ONLY_PERIOD in text_of(from_wenli, "/disclosures/")
    response = from_wenli.get("/disclosures/?unit=&period=2019-07")
    assert response.status_code == 200
    assert WENLI_BRANCH in response.text


def test_the_forms_all_units_leaks_nothing_either(county):
    """What the form sends, read as the shared copy: no branch's row."""
    wenli, maoshan, dongfeng = county
    own_period_only()
    path = "/disclosures/?unit=&period=2019-07"
    text_of(member("wenli_a", wenli), "/disclosures/?unit=")
    text_of(member("wenli_a", wenli), path)
    outside = {**outsiders(maoshan), "dongfeng": member("dongfeng_a", dongfeng)}
    never_read(outside, "/disclosures/?unit=", WENLI_BRANCH, BRANCH_ONLY_PERIOD)
    never_read(outside, path, WENLI_BRANCH)


# Rendered as the own branch under the shared key ----------------------------


@pytest.mark.parametrize(
    "view, path",
    [
        ("disclosure:list", "/disclosures/?unit={w}"),
        ("disclosure:list", "/disclosures/"),
        ("disclosure:compliance_unit", "/compliance/{w}/" + OF_2011),
    ],
)
def test_the_own_branchs_page_under_the_shared_key_is_not_kept(
    county, monkeypatch, view, path
):
    """A stand-in narrows every key to the shared copy: the views' own flag
    (`page_own_audience_only`) must keep the own branch's rows out of it."""
    from core import content

    wenli, maoshan, _ = county
    path = path.format(w=wenli.slug)
    monkeypatch.setitem(
        content.view_audiences, view, lambda request, kwargs, aud: "member:party:"
    )
    shown = member("wenli_a", wenli).get(path)
    assert WENLI_BRANCH in shown.content.decode()
    assert shown.headers.get("X-Page-Cache") != "miss"
    never_read(outsiders(maoshan), path, WENLI_BRANCH)


@pytest.mark.parametrize(
    "path", ["/disclosures/?unit={slug}", "/compliance/{slug}/" + OF_2011]
)
def test_a_rename_between_the_check_and_the_view_keeps_nothing_shared(
    county, monkeypatch, path
):
    """文理村 takes 茅山村's slug after the key was narrowed (another
    request's rename, not yet seen): 东风村's branch is never served
    文理村's row."""
    from core import audiences

    wenli, maoshan, dongfeng = county
    from_wenli = member("wenli_a", wenli)
    text_of(from_wenli, path.format(slug=wenli.slug))
    confirmed = audiences.confirmed

    def renamed_meanwhile(request, kept):
        answer = confirmed(request, kept)
        Unit.objects.filter(pk=maoshan.pk).update(slug="maoshan-old")
        Unit.objects.filter(pk=wenli.pk).update(slug="maoshan")
        return answer

    monkeypatch.setattr(audiences, "confirmed", renamed_meanwhile)
    shown = text_of(from_wenli, path.format(slug="maoshan"))
    monkeypatch.undo()
    # The list compares slugs (narrowed), a compliance page the unit read.
    assert (WENLI_BRANCH in shown) == path.startswith("/compliance/")
    target = path.format(slug="maoshan")
    for client in (member("dongfeng_a", dongfeng), member("member_nb"), Client()):
        for _ in range(2):
            assert WENLI_BRANCH not in text_of(client, target)


# The compliance pages ----------------------------------------------------------

COMPLIANCE_QUERIES = [
    "",
    "&nil=1",
    "&show=overdue",
    "&show=due",
    "&period=2011-09",
    "&period=2011-Q3",
    "&period=2012-01",
    "&as_of=2011-12-31",
    "&as_of=bad",
    "&year=2012",
    "&kind=party",
    "&slug=maoshan",
]


def test_compliance_variants_never_carry_the_branch_title(county):
    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    outside = outsiders(maoshan)
    for query in COMPLIANCE_QUERIES:
        path = f"/compliance/{wenli.slug}/{OF_2011}{query}"
        for _ in range(2):
            text_of(from_wenli, path)
        never_read(outside, path, WENLI_BRANCH)
    # Made first by the others this time.
    for query in COMPLIANCE_QUERIES:
        path = f"/compliance/{wenli.slug}/{OF_2011}{query}&again=1"
        never_read(outside, path, WENLI_BRANCH)
        text_of(from_wenli, path)
        never_read(outside, path, WENLI_BRANCH)
    for slug in ("WENLI", "no-such-unit", "a" * 81):
        never_read(
            {"wenli": from_wenli, **outside}, f"/compliance/{slug}/", WENLI_BRANCH
        )


def test_the_own_compliance_page_after_every_other_audience(county):
    wenli, maoshan, dongfeng = county
    path = f"/compliance/{wenli.slug}/{OF_2011}"
    outside = {**outsiders(maoshan), "dongfeng": member("dongfeng_a", dongfeng)}
    never_read(outside, path, WENLI_BRANCH)
    from_wenli = member("wenli_a", wenli)
    for _ in range(2):
        assert WENLI_BRANCH in text_of(from_wenli, path)
    # Its own unit under its slug, percent-encoded: the same unit.
    pct = "".join(f"%{ord(c):02X}" for c in wenli.slug)
    assert WENLI_BRANCH in text_of(from_wenli, f"/compliance/{pct}/{OF_2011}")
    never_read(outside, f"/compliance/{pct}/{OF_2011}", WENLI_BRANCH)


def test_the_unit_export_names_the_branch_title_to_its_branch_alone(county):
    wenli, maoshan, _ = county
    path = f"/compliance/{wenli.slug}/export.xlsx{OF_2011}"
    # The page first (its copy kept), then the export.
    text_of(member("maoshan_a", maoshan), f"/compliance/{wenli.slug}/{OF_2011}")
    own = sheet_text(member("wenli_a", wenli).get(path))
    assert WENLI_BRANCH in own and INNER in own
    for who, client in outsiders(maoshan).items():
        sheet = sheet_text(client.get(path))
        assert WENLI_BRANCH not in sheet, who
        assert "党内公开内容（仅党员可见）" in sheet, who


def test_the_matrix_and_its_export_are_the_same_for_every_reader(county):
    """One copy for every party member: no title, and the figures any
    visitor reads (a branch's filing counted for all, as before)."""
    wenli, maoshan, _ = county
    town = wenli.parent
    page = f"/compliance/{OF_2011}&town={town.slug}"
    export = f"/compliance/export.xlsx{OF_2011}&town={town.slug}"
    made = member("wenli_a", wenli).get(page)
    assert made.headers["X-Page-Cache"] == "miss"

    def table(text: str) -> str:
        return text[text.index("<table") : text.rindex("</table>")]

    visitor = Client().get(page).text
    for who, client in outsiders(maoshan).items():
        response = client.get(page)
        assert WENLI_BRANCH not in response.text, who
        assert table(response.text) == table(made.text) == table(visitor), who
    own_sheet = sheet_text(member("wenli_a", wenli).get(export))
    assert WENLI_BRANCH not in own_sheet
    assert own_sheet == sheet_text(Client().get(export))


def test_matrix_query_variants_leak_nothing(county):
    wenli, maoshan, _ = county
    town = wenli.parent.slug
    outside = outsiders(maoshan)
    for query in ("&town=FENGMING", "&town=", f"&town={wenli.slug}", "&kind=party"):
        path = f"/compliance/{OF_2011}&town={town}{query}"
        text_of(member("wenli_a", wenli), path)
        never_read(outside, path, WENLI_BRANCH, MAOSHAN_BRANCH)


# Changes while copies are kept ---------------------------------------------------


def test_a_member_moved_by_a_save_reads_the_new_branch_only(
    county, django_capture_on_commit_callbacks
):
    wenli, maoshan, _ = county
    user = PartyMemberFactory(username="mover", branch_of=wenli)
    client = Client()
    client.force_login(user)
    paths = [
        "/disclosures/",
        f"/disclosures/?unit={wenli.slug}",
        f"/disclosures/?unit={maoshan.slug}",
        f"/compliance/{wenli.slug}/{OF_2011}",
        f"/compliance/{maoshan.slug}/{OF_2011}",
    ]
    for path in paths:
        assert MAOSHAN_BRANCH not in text_of(client, path)
    with django_capture_on_commit_callbacks(execute=True):
        membership = PartyMembership.objects.get(user=user)
        membership.branch = maoshan.organisations.branches().get()
        membership.save()
    for path in paths:
        assert WENLI_BRANCH not in text_of(client, path), path
    assert MAOSHAN_BRANCH in text_of(client, f"/disclosures/?unit={maoshan.slug}")
    assert MAOSHAN_BRANCH in text_of(client, f"/compliance/{maoshan.slug}/{OF_2011}")
    # The branch it left still reads its own rows.
    assert WENLI_BRANCH in text_of(member("wenli_a", wenli), paths[1])


def test_a_membership_moved_by_update_poisons_no_copy(county):
    """Moved with no signal: within the check's window the member may read
    as before; no copy of another audience is spoilt, and past the window
    the member reads the new branch alone."""
    wenli, maoshan, dongfeng = county
    user = PartyMemberFactory(username="mover", branch_of=wenli)
    client = Client()
    client.force_login(user)
    assert WENLI_BRANCH in text_of(client, f"/disclosures/?unit={wenli.slug}")
    PartyMembership.objects.filter(user=user).update(
        branch=maoshan.organisations.branches().get()
    )
    for unit in (wenli, maoshan, dongfeng):
        text_of(client, f"/disclosures/?unit={unit.slug}")
        text_of(client, f"/compliance/{unit.slug}/{OF_2011}")
    from_maoshan = member("maoshan_a", maoshan)
    assert MAOSHAN_BRANCH in text_of(from_maoshan, f"/disclosures/?unit={maoshan.slug}")
    assert WENLI_BRANCH in text_of(
        member("wenli_a", wenli), f"/disclosures/?unit={wenli.slug}"
    )
    never_read(outsiders(maoshan), f"/disclosures/?unit={wenli.slug}", WENLI_BRANCH)
    never_read(
        outsiders(dongfeng), f"/disclosures/?unit={maoshan.slug}", MAOSHAN_BRANCH
    )
    later = timezone.now() + timedelta(seconds=121)
    with time_machine.travel(later, tick=True):
        for path in (
            "/disclosures/",
            f"/disclosures/?unit={wenli.slug}",
            f"/compliance/{wenli.slug}/{OF_2011}",
        ):
            assert WENLI_BRANCH not in text_of(client, path), path
        assert MAOSHAN_BRANCH in text_of(client, f"/disclosures/?unit={maoshan.slug}")


def test_a_unit_renamed_by_update_gives_its_branch_its_rows_again(county):
    """A slug changed with no signal: the branch may miss its rows on the
    new slug for the check's window, never another branch's; then reads
    them again."""
    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in text_of(from_wenli, f"/disclosures/?unit={wenli.slug}")
    Unit.objects.filter(pk=wenli.pk).update(slug="wenli-new")
    new_list = "/disclosures/?unit=wenli-new"
    new_page = f"/compliance/wenli-new/{OF_2011}"
    text_of(from_wenli, new_list)
    text_of(from_wenli, new_page)
    never_read(outsiders(maoshan), new_list, WENLI_BRANCH)
    never_read(outsiders(maoshan), new_page, WENLI_BRANCH)
    later = timezone.now() + timedelta(seconds=121)
    with time_machine.travel(later, tick=True):
        assert WENLI_BRANCH in text_of(from_wenli, new_list)
        assert WENLI_BRANCH in text_of(from_wenli, new_page)
        never_read(outsiders(maoshan), new_list, WENLI_BRANCH)


def test_a_renamed_units_compliance_page_stays_its_branchs(
    county, django_capture_on_commit_callbacks
):
    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in text_of(from_wenli, f"/compliance/{wenli.slug}/{OF_2011}")
    with django_capture_on_commit_callbacks(execute=True):
        wenli.slug = "wenli-renamed"
        wenli.save()
    path = f"/compliance/wenli-renamed/{OF_2011}"
    never_read(outsiders(maoshan), path, WENLI_BRANCH)
    for _ in range(2):
        assert WENLI_BRANCH in text_of(from_wenli, path)


def test_a_branch_row_published_and_withdrawn_while_copies_are_kept(
    county, django_capture_on_commit_callbacks
):
    wenli, maoshan, dongfeng = county
    path = f"/disclosures/?unit={wenli.slug}"
    compliance = f"/compliance/{wenli.slug}/{OF_2011}"
    from_wenli = member("wenli_a", wenli)
    outside = {**outsiders(maoshan), "dongfeng": member("dongfeng_a", dongfeng)}
    for client in (*outside.values(), from_wenli):
        text_of(client, path)
        text_of(client, compliance)
    branch_row = Disclosure.objects.get(title=WENLI_BRANCH)
    fresh = "文理村党支部新通报丁"
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(
            unit=wenli, item=branch_row.item, title=fresh, period="2011-10"
        )
    assert fresh in text_of(from_wenli, path)
    assert "共 4 条" in text_of(from_wenli, path)
    never_read(outside, path, fresh, WENLI_BRANCH, "共 4 条")
    never_read(outside, compliance, fresh, WENLI_BRANCH)
    with django_capture_on_commit_callbacks(execute=True):
        branch_row.status = Disclosure.Status.WITHDRAWN
        branch_row.withdrawn_at = timezone.now()
        branch_row.withdrawal_reason = "撤回"
        branch_row.save()
    text = text_of(from_wenli, path)
    assert WENLI_BRANCH not in text and fresh in text and "共 3 条" in text
    never_read(outside, path, fresh, WENLI_BRANCH)


def test_a_branch_row_moved_past_the_form_reaches_no_compliance_page(county):
    """茅山村's branch's row written under 文理村 (the admin refuses it):
    文理村's compliance page is read as its board, by no one as 茅山村's."""
    wenli, maoshan, dongfeng = county
    stray = Disclosure.objects.get(title=MAOSHAN_BRANCH)
    Disclosure.objects.filter(pk=stray.pk).update(unit=wenli)
    path = f"/compliance/{wenli.slug}/{OF_2011}"
    readers = {
        "maoshan": member("maoshan_a", maoshan),
        "dongfeng": member("dongfeng_a", dongfeng),
        "wenli": member("wenli_a", wenli),
        "no branch": member("member_nb"),
        "visitor": Client(),
    }
    never_read(readers, path, MAOSHAN_BRANCH)
    export = f"/compliance/{wenli.slug}/export.xlsx{OF_2011}"
    for who, client in readers.items():
        assert MAOSHAN_BRANCH not in sheet_text(client.get(export)), who


# Readers never served from the cache -----------------------------------------


def test_the_town_committee_and_staff_read_every_branch_never_cached(county):
    wenli, maoshan, dongfeng = county
    committee_user = PartyMemberFactory(username="committee")
    wenli.parent.organisations.get(kind=BodyKind.PARTY_COMMITTEE).members.add(
        committee_user
    )
    committee = Client()
    committee.force_login(committee_user)
    staff = Client()
    staff.force_login(SuperuserFactory())
    for client in (committee, staff):
        for unit, title in ((wenli, WENLI_BRANCH), (maoshan, MAOSHAN_BRANCH)):
            for path in (
                f"/disclosures/?unit={unit.slug}",
                f"/compliance/{unit.slug}/{OF_2011}",
            ):
                response = client.get(path)
                assert title in response.text, path
                assert "X-Page-Cache" not in response.headers, path
    outside = {**outsiders(maoshan), "dongfeng": member("dongfeng_a", dongfeng)}
    for path in (
        f"/disclosures/?unit={wenli.slug}",
        f"/compliance/{wenli.slug}/{OF_2011}",
    ):
        never_read(outside, path, WENLI_BRANCH, MAOSHAN_BRANCH)
    never_read(
        outsiders(dongfeng), f"/disclosures/?unit={maoshan.slug}", MAOSHAN_BRANCH
    )
