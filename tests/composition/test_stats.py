import csv
import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from catalog.models import Catalog, Scope
from core.charts import Chart, render_svg
from feedback.models import Status
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month, day, hour=10):
    return datetime(2011, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def data():
    """A known year: 3 public disclosures and 1 党内, 3 submissions."""
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    party = CategoryFactory(catalog=CatalogFactory(kind=Catalog.Kind.PARTY))
    village = CategoryFactory(
        catalog=CatalogFactory(kind=Catalog.Kind.VILLAGE, order=3), name="村级财务"
    )
    DisclosureFactory(
        unit=wenli, item=ItemFactory(category=party), published_at=at(3, 5)
    )
    DisclosureFactory(
        unit=wenli, item=ItemFactory(category=party), published_at=at(3, 20)
    )
    DisclosureFactory(
        unit=maoshan, item=ItemFactory(category=village), published_at=at(8, 1)
    )
    # New Year's Eve in Shanghai is still 2011 (UTC says 12-31 16:00 of 2011 too).
    DisclosureFactory(
        unit=wenli,
        item=ItemFactory(category=party, scope=Scope.INNER_PARTY),
        published_at=at(3, 7),
    )
    DisclosureFactory(unit=wenli, published_at=datetime(2010, 12, 31, tzinfo=SHANGHAI))
    # Answered in 2 days (on time), in 30 days (late), and one open.
    SubmissionFactory(
        unit=wenli,
        kind="question",
        received_at=at(8, 1),
        status=Status.ANSWERED,
        answered_at=at(8, 3),
        answer_text="答",
    )
    SubmissionFactory(
        unit=wenli,
        kind="report",
        received_at=at(8, 2),
        status=Status.ANSWERED,
        answered_at=at(9, 1),
        answer_text="答",
    )
    SubmissionFactory(unit=maoshan, kind="question", received_at=at(9, 1))
    return {"wenli": wenli, "maoshan": maoshan}


def chart(response, key) -> Chart:
    return next(c for c in response.context["charts"] if c.key == key)


def series(c: Chart) -> dict:
    return dict(c.series)


def test_figures_on_a_known_data_set(client, data):
    response = client.get("/stats/", {"year": 2011})
    assert response.status_code == 200
    assert response.context["disclosure_total"] == 3
    month = series(chart(response, "disclosures-month"))
    assert month["党务公开"][2] == 2 and sum(month["党务公开"]) == 2
    assert month["村务公开"][7] == 1
    units = chart(response, "disclosures-unit")
    assert dict(zip(units.labels, units.series[0][1], strict=True)) == {
        "文理村": 2,
        "茅山村": 1,
    }
    assert sorted(chart(response, "disclosures-category").series[0][1]) == [1, 2]
    feedback = series(chart(response, "feedback-month"))
    assert feedback["咨询"][7] == 1 and feedback["反映"][7] == 1
    assert feedback["咨询"][8] == 1
    on_time = chart(response, "feedback-on-time").series[0][1]
    assert on_time[7] == 50 and on_time[8] is None
    summary = response.context["feedback"]
    assert (summary["received"], summary["answered"], summary["on_time"]) == (3, 2, 1)
    assert summary["median_days"] == 16


def test_party_member_counts_include_inner_party(party_client, data):
    response = party_client.get("/stats/", {"year": 2011})
    assert response.context["disclosure_total"] == 4


def test_unit_filter_scopes_every_figure(client, data):
    response = client.get("/stats/", {"year": 2011, "unit": "wenli"})
    assert response.context["disclosure_total"] == 2
    assert response.context["feedback"]["received"] == 2
    assert "disclosures-unit" not in [c.key for c in response.context["charts"]]


def test_every_chart_is_svg_with_title_and_its_numbers_in_a_table(client, data):
    response = client.get("/stats/", {"year": 2011})
    html = response.text
    assert "<script" not in html.split("</footer>")[0].split("<main")[1]
    assert 'style="' not in html
    for c in response.context["charts"]:
        svg = re.search(
            rf'<svg[^>]*aria-labelledby="{c.key}-title[^"]*".*?</svg>', html, re.S
        )
        assert svg, c.key
        assert f'<title id="{c.key}-title">{c.title}</title>' in svg.group(0)
        assert "<desc" in svg.group(0)
        table = html.split(f'id="{c.key}-heading"')[1].split("</table>")[0]
        for row in c.rows:
            for value in row["values"]:
                if value:
                    assert f"<td>{value}{c.unit}</td>" in table


def test_csv_has_the_same_figures(client, data):
    response = client.get("/stats/csv/", {"year": 2011})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["图表", "年份", "单位", "项目", "分组", "数值"]
    by_unit = {r[3]: r[5] for r in rows if r[0] == "各单位的公开内容"}
    assert by_unit == {"文理村": "2", "茅山村": "1"}
    totals = {r[3]: r[5] for r in rows if r[0] == "合计"}
    assert totals["公开内容总数"] == "3"
    assert totals["回音壁按期答复"] == "1"


def test_csv_cells_cannot_start_a_formula(client, data):
    data["wenli"].name = "=HYPERLINK(1)"
    data["wenli"].save()
    body = client.get("/stats/csv/", {"year": 2011}).content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in body


def test_bad_year_or_unit_is_400_with_a_message(client, data):
    response = client.get("/stats/", {"year": "abc"})
    assert response.status_code == 400
    assert "年份或单位无效" in response.text
    assert client.get("/stats/", {"unit": "nowhere"}).status_code == 400
    assert client.get("/stats/csv/", {"year": "1800"}).status_code == 400


def test_default_year_is_the_latest_with_disclosures(client, data):
    assert client.get("/stats/").context["year"] == 2011


def test_queries_are_bounded(client, data, django_assert_max_num_queries):
    for n in range(10):
        DisclosureFactory(unit=data["wenli"], published_at=at(5, n + 1))
        SubmissionFactory(unit=data["wenli"], received_at=at(5, n + 1))
    with django_assert_max_num_queries(30):
        client.get("/stats/", {"year": 2011})


def test_svg_escapes_labels():
    svg = render_svg(
        Chart(
            key="k",
            title="<b>标题</b>",
            description="说明",
            labels=["<script>"],
            series=[("条数", [1])],
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "&lt;b&gt;标题" in svg


def test_the_table_beside_a_chart_holds_its_numbers_as_text():
    """Written in Python since 2026-12-06 (`stats_tags.chart_table`): labels
    and series names escaped, a missing value a dash, the total only with
    more than one series, values as the template showed them."""
    from composition.templatetags.stats_tags import chart_table

    table = chart_table(
        Chart(
            key="k",
            title="<b>按时</b>",
            description="说明",
            labels=["文理村<script>", "茅山村\u202e"],
            series=[("党务", [95.5, None]), ("村务&政务", [100, 80])],
            unit="%",
        )
    )
    assert table == (
        '<table class="table table-sm stats-table mt-2">'
        "<caption>数据表：&lt;b&gt;按时&lt;/b&gt;</caption>"
        '<thead><tr><th scope="col">项目</th><th scope="col">党务</th>'
        '<th scope="col">村务&amp;政务</th><th scope="col">合计</th></tr></thead>'
        '<tbody><tr><th scope="row">文理村&lt;script&gt;</th>'
        "<td>95.5%</td><td>100%</td><td>195.5</td></tr>"
        '<tr><th scope="row">茅山村\u202e</th><td>—</td><td>80%</td><td>80</td></tr>'
        "</tbody></table>"
    )
    one = chart_table(
        Chart(
            key="n",
            title="条数",
            description="",
            labels=["1月"],
            series=[("条数", [None])],
        )
    )
    assert "合计" not in one
    assert '<th scope="row">1月</th><td>—</td></tr>' in one


def test_on_time_disclosure_rate_per_unit_comes_from_the_compliance_engine(
    client, data
):
    from disclosure import compliance

    response = client.get("/stats/", {"year": 2011})
    rates = chart(response, "compliance-unit")
    assert [label.split("（")[0] for label in rates.labels] == [
        "凤鸣镇",
        "文理村",
        "茅山村",
    ]
    units = [data["wenli"].parent, data["wenli"], data["maoshan"]]
    # As of the day the data ends (the last publication, years ago), as on
    # the compliance page: not every obligation since as 未公开.
    obligations, _ = compliance.load(units=units, year=2011, as_of=date(2011, 8, 1))
    tallies = compliance.tally(obligations, lambda o: o.unit_id)
    expected = [
        round(100 * tallies[u.pk].rate) if tallies[u.pk].rate is not None else None
        for u in units
    ]
    assert rates.series[0][1] == expected
    assert all(v is None or 0 <= v <= 100 for v in expected)


def test_nil_returns_are_not_counted_as_notices(client, data):
    DisclosureFactory(unit=data["wenli"], published_at=at(4, 1), is_nil_return=True)
    assert client.get("/stats/", {"year": 2011}).context["disclosure_total"] == 3


def test_on_time_rates_are_as_of_the_day_the_data_ends(client, data):
    rates = chart(client.get("/stats/"), "compliance-unit")
    assert "截至2011年8月1日" in rates.description


def test_the_year_choice_offers_the_years_with_data(client, data):
    response = client.get("/stats/", {"unit": "wenli"})
    options = re.findall(r'<option value="(\d{4})"', response.text)
    assert options == ["2011", "2010"]
    choice = response.text[response.text.index('class="year-choice') :]
    assert 'href="?unit=wenli&amp;year=2010"' in choice
    # Another year is still there for whoever asks for it.
    other = client.get("/stats/", {"year": 2005})
    assert other.status_code == 200
    assert re.findall(r'<option value="(\d{4})"', other.text) == [
        "2011",
        "2010",
        "2005",
    ]


@pytest.mark.parametrize("units", [[], ["文理村"]])
def test_a_portal_with_no_town_yet_shows_its_statistics(client, units):
    """A fresh install (no town, or units loaded without one) was a 500: the
    heading's fallback read a missing town's name."""
    for name in units:
        DisclosureFactory(unit=UnitFactory(name=name, slug="wenli"))
    response = client.get("/stats/")
    assert response.status_code == 200
    assert "全镇" in response.text.split("</h1>")[0]
