"""The county layer (issue 16): a county above the towns, /county/ comparing
them, a town choice on the compliance and statistics pages, the 督查 role and
records, and the Excel exports read back with openpyxl."""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from catalog.models import Catalog, Item
from disclosure import compliance, inspections, roles, services
from disclosure.models import Disclosure, Inspection, Rectification, Unit
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    UnitFactory,
    role_group,
    staff_user,
)

pytestmark = pytest.mark.django_db
AS_OF = "as_of=2011-12-31"


def at(day):
    return datetime(day.year, day.month, day.day, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def county(db):
    hejiang = UnitFactory(name="合江县", kind=Unit.Kind.COUNTY)
    fengming = UnitFactory(name="凤鸣镇", kind=Unit.Kind.TOWN, parent=hejiang)
    other = UnitFactory(name="白米镇", kind=Unit.Kind.TOWN, parent=hejiang)
    wenli = UnitFactory(name="文理村", parent=fengming)
    baimi = UnitFactory(name="白米村", parent=other)
    category = CategoryFactory(
        catalog=CatalogFactory(kind=Catalog.Kind.PARTY), name="民主决策"
    )
    monthly = ItemFactory(
        category=category, code="A06", frequency=Item.Frequency.MONTHLY, for_town=False
    )
    for month in range(1, 13):
        DisclosureFactory(
            unit=wenli,
            item=monthly,
            period=f"2011-{month:02d}",
            title=f"文理{month}月",
            published_at=at(date(2011, month, 28)),
        )
    DisclosureFactory(
        unit=baimi,
        item=monthly,
        period="2011-03",
        title="白米三月",
        published_at=at(date(2011, 5, 20)),
    )
    return {
        "county": hejiang,
        "fengming": fengming,
        "other": other,
        "wenli": wenli,
        "baimi": baimi,
        "item": monthly,
    }


def town_rate(town, year=2011):
    units = list(Unit.objects.of_town(town))
    obligations, _ = compliance.load(units=units, year=year, as_of=date(2011, 12, 31))
    return compliance.tally(obligations, lambda o: "all")["all"]


# The county unit -------------------------------------------------------------


def test_a_county_has_its_bodies_and_no_board(client, county):
    hejiang = county["county"]
    assert set(hejiang.organisations.values_list("name", flat=True)) == {
        "县委",
        "县纪委",
    }
    assert hejiang.organisations.get(name="县纪委").full_name == "合江县纪委"
    assert client.get(f"/boards/{hejiang.slug}/").status_code == 404
    assert client.get(f"/compliance/{hejiang.slug}/").status_code == 404
    assert "合江县" not in client.get("/boards/").text
    assert hejiang.slug not in client.get("/sitemap.xml").text
    assert hejiang not in Unit.objects.boards()
    assert list(Unit.objects.of_town(county["fengming"])) == [
        county["fengming"],
        county["wenli"],
    ]


def test_nothing_is_disclosed_in_a_countys_name(client, county):
    from django.core.exceptions import ValidationError

    disclosure = DisclosureFactory.build(unit=county["county"], item=county["item"])
    with pytest.raises(ValidationError) as error:
        disclosure.full_clean()
    assert "unit" in error.value.message_dict
    page = client.get("/disclosures/").text
    assert f'value="{county["county"].slug}"' not in page
    assert f'value="{county["wenli"].slug}"' in page


def test_the_home_page_is_still_the_first_towns(client, county):
    page = client.get("/").text
    assert "凤鸣镇" in page


# /county/ ----------------------------------------------------------------------


def test_county_page_compares_its_towns_with_the_engines_figures(client, county):
    SubmissionFactory(unit=county["wenli"], received_at=at(date(2011, 6, 1)))
    response = client.get("/county/?year=2011")
    assert response.status_code == 200
    rows = {row["town"].name: row for row in response.context["rows"]}
    assert list(rows) == ["凤鸣镇", "白米镇"]
    for name, town in (("凤鸣镇", county["fengming"]), ("白米镇", county["other"])):
        expected = town_rate(town)
        assert rows[name]["compliance"].due == expected.due
        assert rows[name]["compliance"].rate == expected.rate
    assert rows["白米镇"]["compliance"]["missing"] > 0
    assert rows["凤鸣镇"]["feedback"]["received"] == 1
    text = response.text
    assert "合江县" in text and "按时公开率" in text
    assert f"?town={county['other'].slug}" in text


@pytest.mark.parametrize("query", ["year=abc", "year=1800", "year=99999999999"])
def test_county_page_refuses_a_bad_year_with_a_message(client, county, query):
    response = client.get(f"/county/?{query}")
    assert response.status_code == 400
    assert "年" in response.text


def test_county_page_without_a_county_compares_every_town(client, db):
    UnitFactory(name="甲镇", kind=Unit.Kind.TOWN)
    UnitFactory(name="乙镇", kind=Unit.Kind.TOWN)
    response = client.get("/county/")
    assert response.status_code == 200
    assert [r["town"].name for r in response.context["rows"]] == ["甲镇", "乙镇"]


# The town choice --------------------------------------------------------------


def test_compliance_defaults_to_the_first_town_and_offers_the_others(client, county):
    page = client.get(f"/compliance/?year=2011&{AS_OF}")
    names = [row["unit"].name for row in page.context["rows"]]
    assert names == ["凤鸣镇", "文理村"]
    other = client.get(f"/compliance/?year=2011&{AS_OF}&town={county['other'].slug}")
    assert [row["unit"].name for row in other.context["rows"]] == ["白米镇", "白米村"]
    assert other.context["overall"].rate == town_rate(county["other"]).rate
    assert 'name="town"' in other.text


@pytest.mark.parametrize(
    "town", ["atlantis", "%27%3B--", "x" * 500, "wenli", "<script>"]
)
def test_an_unknown_town_is_a_400_with_a_message(client, county, town):
    for url in ("/compliance/", "/compliance/export.xlsx", "/stats/", "/stats/csv/"):
        response = client.get(url, {"town": town, "year": "2011"})
        assert response.status_code == 400, url
        assert "乡镇" in response.text or "无效" in response.text, url


def test_a_units_page_links_back_to_its_towns_matrix(client, county):
    page = client.get(f"/compliance/{county['baimi'].slug}/?year=2011").text
    assert f"/compliance/?town={county['other'].slug}" in page
    assert "白米镇" in page


def test_stats_has_a_town_choice(client, county):
    first = client.get("/stats/?year=2011")
    assert first.status_code == 200
    assert first.context["town"] == county["fengming"]
    assert first.context["disclosure_total"] == 12
    other = client.get(f"/stats/?year=2011&town={county['other'].slug}")
    assert other.context["disclosure_total"] == 1
    assert "白米镇" in other.text
    mismatch = client.get(
        f"/stats/?year=2011&town={county['other'].slug}&unit={county['wenli'].slug}"
    )
    assert mismatch.status_code == 400
    csv = client.get(f"/stats/csv/?year=2011&town={county['other'].slug}")
    assert csv.status_code == 200 and "白米镇" in csv.content.decode()


# The inspector ----------------------------------------------------------------


@pytest.fixture
def inspector(county):
    return staff_user(username="inspector", group=roles.INSPECTOR)


def test_the_inspector_reads_every_unit_and_changes_nothing(client, county, inspector):
    draft = DisclosureFactory(
        unit=county["baimi"],
        item=county["item"],
        status=Disclosure.Status.DRAFT,
        published_at=None,
        title="白米草稿",
    )
    assert roles.INSPECTOR in roles.ROLE_NAMES
    assert set(roles.units_overseen(inspector)) == set(Unit.objects.all())
    assert not roles.units_for(inspector).exists()
    assert services.allowed_transitions(draft, inspector) == []
    assert not services.can_edit_content(draft, inspector)
    client.force_login(inspector)
    listing = client.get("/admin/disclosure/disclosure/")
    assert listing.status_code == 200 and "白米草稿" in listing.text
    change = client.get(f"/admin/disclosure/disclosure/{draft.pk}/change/")
    assert change.status_code == 200
    assert client.post(
        f"/admin/disclosure/disclosure/{draft.pk}/change/", {"title": "改了"}
    ).status_code in (302, 403)
    draft.refresh_from_db()
    assert draft.title == "白米草稿"


def test_an_inspection_is_recorded_and_prefilled_from_the_data(
    client, county, inspector
):
    client.force_login(inspector)
    wenli = county["wenli"]
    add = client.get("/admin/disclosure/inspection/add/")
    assert add.status_code == 200
    response = client.post(
        "/admin/disclosure/inspection/add/",
        {
            "unit": wenli.pk,
            "inspected_on": "2011-12-31",
            "findings": "栏目统一，内容更新及时。",
            "score_complete": "90",
            "score_form": "80",
            "score_procedure": "70",
            "score_timeliness": "",
            "score_feedback": "",
            "photos-TOTAL_FORMS": "0",
            "photos-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    inspection = Inspection.objects.get()
    assert inspection.inspector == inspector
    expected = inspections.timeliness_rate([wenli], 2011, date(2011, 12, 31))
    assert inspection.score_timeliness == round(100 * expected)
    assert inspection.score_feedback is None  # no 回音壁 case answered
    assert inspection.total is not None


def test_weighted_total_follows_the_settings(settings):
    settings.COMPLIANCE_CRITERIA_WEIGHTS = {
        "complete": 1,
        "form": 1,
        "procedure": 0,
        "timeliness": 2,
        "feedback": 0,
    }
    inspection = Inspection(
        score_complete=90, score_form=60, score_procedure=10, score_timeliness=50
    )
    assert inspection.total == round((90 + 60 + 2 * 50) / 4, 1)
    assert Inspection().total is None


def make_check(county, inspector, **fix):
    inspection = Inspection.objects.create(
        unit=county["wenli"],
        inspected_on=date(2011, 11, 15),
        inspector=inspector,
        findings="十月收支未上墙",
    )
    Rectification.objects.create(
        unit=county["wenli"],
        inspection=inspection,
        issue="补公开十月收支明细",
        deadline=date(2011, 11, 30),
        **fix,
    )
    return inspection


def test_checks_are_summarised_publicly_without_names(client, county, inspector):
    inspector.first_name, inspector.last_name = "督", "查甲"
    inspector.save()
    make_check(county, inspector)
    page = client.get(f"/compliance/{county['wenli'].slug}/?year=2011&{AS_OF}")
    assert (
        "本年度督查 1 次，下发整改通知 1 份，未完成 1 份（其中逾期 1 份）" in page.text
    )
    assert "inspector" not in page.text and "查甲" not in page.text
    rows = client.get("/county/?year=2011").context["rows"]
    fengming = next(r for r in rows if r["town"].name == "凤鸣镇")
    assert fengming["inspections"]["inspections"] == 1
    assert fengming["inspections"]["open"] == 1
    assert fengming["inspections"]["overdue"] == 1


def test_the_town_sees_and_completes_a_rectification(client, county, inspector):
    make_check(county, inspector)
    fix = Rectification.objects.get()
    town_admin = staff_user(username="town_admin", group=roles.TOWN_ADMIN)
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    editor = staff_user(
        username="editor", group=roles.UNIT_EDITOR, units=[county["wenli"]]
    )
    url = f"/admin/disclosure/rectification/{fix.pk}/change/"
    client.force_login(reviewer)
    assert client.get(url).status_code == 200
    assert client.get("/admin/disclosure/inspection/").status_code == 200
    # The unit's editor reads it too, and records completion only
    # (tests/disclosure/test_inspections.py).
    client.force_login(editor)
    assert client.get(url).status_code == 200
    client.force_login(town_admin)
    response = client.post(
        url,
        {
            "inspection": fix.inspection_id,
            "unit": county["wenli"].pk,
            "issue": fix.issue,
            "deadline": "2011-11-30",
            "completed_on": "2011-11-25",
            "completion_note": "已补贴",
        },
    )
    assert response.status_code == 302
    fix.refresh_from_db()
    assert fix.completed_on == date(2011, 11, 25)
    assert not fix.is_overdue(date(2012, 1, 1))


def test_a_rectification_goes_to_the_unit_checked_or_below(county, inspector):
    from django.core.exceptions import ValidationError

    inspection = make_check(county, inspector)
    wrong = Rectification(
        unit=county["baimi"],
        inspection=inspection,
        issue="x",
        deadline=date(2011, 12, 1),
    )
    with pytest.raises(ValidationError):
        wrong.full_clean()


def test_the_inspector_group_has_the_role_permissions(county):
    group = role_group(roles.INSPECTOR)
    perms = set(group.permissions.values_list("codename", flat=True))
    assert {"view_disclosure", "add_inspection", "change_rectification"} <= perms
    assert not perms & {"change_disclosure", "add_disclosure", "delete_inspection"}


# Excel --------------------------------------------------------------------------


def workbook(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return load_workbook(io.BytesIO(response.content))


def test_matrix_export_has_the_figures_of_the_page(client, county):
    query = f"year=2011&{AS_OF}&town={county['other'].slug}"
    page = client.get(f"/compliance/?{query}")
    assert f"/compliance/export.xlsx?{query.replace('&', '&amp;')}" in page.text
    book = workbook(client.get(f"/compliance/export.xlsx?{query}"))
    sheet = book["各单位"]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["单位", "已到期"]
    assert header[-2:] == ["按时公开率（按事项）", "按时公开率（按期次）"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    for row in page.context["rows"]:
        t = row["total"]
        got = rows[row["unit"].name]
        assert got[1] == (t.due if t else 0)
        for got_rate, rate in zip(
            got[-2:], [t.rate, t.count_rate] if t else [None] * 2, strict=True
        ):
            assert got_rate == (None if rate is None else round(rate, 4))
    overall = page.context["overall"]
    assert rows["合计"][1] == overall.due
    cells = book["各栏目"]
    category = page.context["categories"][0]
    assert [c.value for c in cells[1]][1] == f"{category.code} {category.name}"
    labels = {r[0]: r[1] for r in cells.iter_rows(min_row=2, values_only=True)}
    for row in page.context["rows"]:
        cell = row["cells"][0][1]
        assert labels[row["unit"].name] == (str(cell.label) if cell else "—")


def test_unit_export_lists_the_obligations_of_the_page(client, county, party_client):
    wenli = county["wenli"]
    query = f"year=2011&{AS_OF}"
    page = client.get(f"/compliance/{wenli.slug}/?{query}")
    book = workbook(client.get(f"/compliance/{wenli.slug}/export.xlsx?{query}"))
    sheet = book["应公开事项"]
    assert [c.value for c in sheet[1]][:5] == [
        "编号",
        "公开事项",
        "期间",
        "应公开日期",
        "情况",
    ]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(page.context["rows"])
    for got, row in zip(rows, page.context["rows"], strict=True):
        o = row["obligation"]
        assert got[0] == row["item"].code
        assert got[3].date() == o.due
        assert got[4] == str(o.label)
    total = list(book["合计"].iter_rows(min_row=2, values_only=True))[0]
    assert total[1] == page.context["total"].due


@pytest.mark.parametrize(
    "query",
    [
        "year=abc",
        "as_of=2011-13-45",
        "period=2012-01&year=2011",
        "kind=evil",
        "town=nope",
    ],
)
def test_exports_refuse_bad_filters_with_a_message(client, county, query):
    urls = [
        "/compliance/export.xlsx",
        f"/compliance/{county['wenli'].slug}/export.xlsx",
    ]
    if query.startswith("town="):  # a unit's page: the unit decides the town
        urls = urls[:1]
    for url in urls:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
        assert "查询条件有误" in response.text
    assert client.get("/compliance/atlantis/export.xlsx").status_code == 404


def test_export_cells_cannot_start_a_formula(client, county):
    DisclosureFactory(
        unit=county["wenli"],
        item=ItemFactory(
            category=county["item"].category,
            code="A07",
            frequency=Item.Frequency.YEARLY,
            for_town=False,
        ),
        period="2011",
        title='=HYPERLINK("http://evil")',
        published_at=at(date(2011, 12, 1)),
    )
    book = workbook(
        client.get(f"/compliance/{county['wenli'].slug}/export.xlsx?year=2011&{AS_OF}")
    )
    titles = [r[6] for r in book["应公开事项"].iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://evil")' in titles


def test_unit_export_hides_inner_party_titles_as_the_page_does(party_client, county):
    from django.test import Client

    from catalog.models import Scope

    inner = ItemFactory(
        category=county["item"].category,
        code="C05",
        frequency=Item.Frequency.QUARTERLY,
        scope=Scope.INNER_PARTY,
        for_town=False,
    )
    DisclosureFactory(
        unit=county["wenli"],
        item=inner,
        period="2011-Q2",
        title="党内季度通报甲乙",
        published_at=at(date(2011, 7, 5)),
    )
    url = f"/compliance/{county['wenli'].slug}/export.xlsx?year=2011&{AS_OF}"

    def titles(c):
        sheet = workbook(c.get(url))["应公开事项"]
        return [r[6] for r in sheet.iter_rows(min_row=2, values_only=True)]

    anonymous = Client()
    assert "党内季度通报甲乙" not in titles(anonymous)
    assert "党内公开内容（仅党员可见）" in titles(anonymous)
    assert "党内季度通报甲乙" in titles(party_client)


def test_every_page_links_to_the_county_comparison_and_the_reports(client, county):
    """The county comparison and the yearly reports are reached from any page
    (the footer), not only from the matrix."""
    for path in [
        "/",
        "/feedback/",
        "/disclosures/",
        f"/boards/{county['wenli'].slug}/",
    ]:
        text = client.get(path).text
        assert 'href="/county/"' in text and 'href="/reports/"' in text, path
    assert client.get("/county/").status_code == 200
    assert client.get("/reports/").status_code == 200
