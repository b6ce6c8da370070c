"""The 政府信息公开工作年度报告: the national format's tables, counted from
the records or entered by staff (marked), published by staff (a draft is
theirs only), on time or not, as HTML and PDF, listed under /reports/."""

import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import Item
from composition import gov_report
from composition.models import GovernmentReport
from disclosure.models import Disclosure, Unit
from disclosure.roles import TOWN_ADMIN
from tests.factories import staff_user

pytestmark = pytest.mark.django_db


def town():
    return Unit.objects.get(slug="fengming")


def at(year, month, day):
    return datetime(year, month, day, 10, tzinfo=timezone.get_current_timezone())


def cells(html: str, table_id: str) -> list[str]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, table_id
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", table.group(0), re.S)
    ]


def test_the_demo_report_is_published_on_time_in_the_national_format(demo, client):
    response = client.get("/reports/gov/fengming/2011/")
    assert response.status_code == 200
    html = response.content.decode()
    for heading in (
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
    ):
        assert heading in html
    assert "2012年1月20日发布，在法定期限（2012年1月31日前）内按时发布" in html
    for key in ("art20-1", "art20-5", "art20-6", "art20-8"):
        assert f'id="gov-{key}"' in html
    assert "<caption>第二十条第（一）项</caption>" in html
    # Entered figures say so; counted ones do not.
    assert cells(html, "gov-art20-8") == ["0.00 填报"]
    assert cells(html, "gov-art20-5") == ["0"]
    assert client.get("/reports/gov/2011/").status_code == 200


def test_counted_cells_are_the_towns_published_disclosures_of_the_items(demo, client):
    fengming = town()
    wenli = Unit.objects.get(slug="wenli")
    item = {code: Item.objects.get(code=code) for code in ("ZW15", "ZW16", "ZW23")}
    ZW17 = Item.objects.get(code="ZW17")

    def filed(item, *, unit=fengming, when=None, **fields):
        when = when or at(2011, 6, 1)
        fields = {"status": Disclosure.Status.PUBLISHED, "published_at": when} | fields
        return Disclosure.objects.create(
            unit=unit, item=item, title="公开", body="正文", period="2011-06", **fields
        )

    filed(item["ZW15"])
    filed(item["ZW16"])
    filed(item["ZW23"])
    filed(item["ZW23"])
    filed(ZW17)
    filed(ZW17, when=at(2012, 1, 5))  # another year
    filed(item["ZW16"], status=Disclosure.Status.DRAFT, published_at=None)
    filed(item["ZW16"], unit=wenli)  # a village's is not the town government's
    assert gov_report.counted(fengming, 2011) == {
        "normative_issued": 1,
        "licensing": 3,
        "penalties": 1,
    }
    html = client.get("/reports/gov/fengming/2011/").content.decode()
    assert cells(html, "gov-art20-5") == ["3"]
    assert cells(html, "gov-art20-6") == ["1", "0 填报"]


def test_a_figure_not_entered_is_shown_as_such_never_as_zero(demo, client):
    report = GovernmentReport.objects.get(town=town(), year=2011)
    report.fees_amount = None
    report.coercion_decisions = None
    report.save()
    html = client.get(report.get_absolute_url()).content.decode()
    assert cells(html, "gov-art20-8") == ["未填报"]
    assert cells(html, "gov-art20-6")[1] == "未填报"
    report.fees_amount = Decimal("1.50")
    report.save()
    html = client.get(report.get_absolute_url()).content.decode()
    assert cells(html, "gov-art20-8") == ["1.50 填报"]


def test_a_draft_is_for_staff_only(demo, client):
    GovernmentReport.objects.create(town=town(), year=2010, overview="草拟中的概述")
    assert client.get("/reports/gov/fengming/2010/").status_code == 404
    assert client.get("/reports/gov/fengming/2010/pdf/").status_code == 404
    assert client.get("/reports/gov/fengming/2009/").status_code == 404
    assert "/reports/gov/fengming/2010/" not in client.get("/reports/").text
    client.force_login(staff_user(username="town_admin_x", group=TOWN_ADMIN))
    response = client.get("/reports/gov/fengming/2010/")
    assert response.status_code == 200
    assert "草稿" in response.text and "草拟中的概述" in response.text
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"


def test_a_scheduled_publication_is_a_draft_until_then(demo, client):
    report = GovernmentReport.objects.get(town=town(), year=2011)
    report.published_at = timezone.now() + timezone.timedelta(days=1)
    report.save()
    assert client.get(report.get_absolute_url()).status_code == 404


def test_a_late_publication_says_so(demo, client):
    report = GovernmentReport.objects.get(town=town(), year=2011)
    report.published_at = at(2012, 2, 1)
    report.save()
    assert report.on_time is False
    html = client.get(report.get_absolute_url()).content.decode()
    assert "晚于法定期限（2012年1月31日前）" in html
    assert "（逾期发布）" in client.get("/reports/").text


def test_published_on_31_january_is_on_time(demo):
    report = GovernmentReport(year=2011, published_at=at(2012, 1, 31))
    assert report.on_time is True
    assert GovernmentReport(year=2011).on_time is None


def test_publication_within_the_year_itself_is_refused(demo):
    report = GovernmentReport(town=town(), year=2012, published_at=at(2012, 12, 1))
    with pytest.raises(ValidationError, match="该年度结束后发布"):
        report.full_clean()


def test_the_reports_page_lists_the_published_report(demo, client):
    html = client.get("/reports/").text
    assert 'href="/reports/gov/fengming/2011/"' in html
    assert "政府信息公开工作年度报告" in html


def test_the_pdf(demo, client):
    response = client.get("/reports/gov/fengming/2011/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def some_applications(town_unit):
    """A handful of 2011 applications of several outcomes, one from 2010 and
    one carried into 2012; a 行政复议 decided and a suit pending."""
    from datetime import date

    from govinfo.models import ApplicantKind, Ground, InfoRequest, Remedy, Result

    rows = [
        (date(2010, 12, 20), date(2011, 1, 10), Result.DISCLOSED, "", "citizen"),
        (date(2011, 3, 1), date(2011, 3, 20), Result.DISCLOSED, "", "citizen"),
        (date(2011, 4, 1), date(2011, 4, 25), Result.PARTLY, "", "business"),
        (date(2011, 5, 1), date(2011, 5, 20), Result.REFUSED, Ground.SECRET, "citizen"),
        (date(2011, 12, 28), None, "", "", "citizen"),
    ]
    for n, (received, answered, result, ground, kind) in enumerate(rows):
        request = InfoRequest.objects.create(
            unit=town_unit,
            code=f"T{n:07d}",
            name="申请人",
            description="所需信息",
            applicant_kind=ApplicantKind(kind),
            received_on=received,
            result=result,
            ground=ground,
        )
        # The answer date is the workflow's (not editable): set as stored.
        InfoRequest.objects.filter(pk=request.pk).update(answered_on=answered)
    Remedy.objects.create(
        unit=town_unit,
        kind=Remedy.Kind.REVIEW,
        filed_on=date(2011, 6, 1),
        outcome=Remedy.Outcome.UPHELD,
        decided_on=date(2011, 7, 1),
    )
    Remedy.objects.create(
        unit=town_unit, kind=Remedy.Kind.SUIT, filed_on=date(2011, 8, 1)
    )


def test_application_and_remedy_tables_add_up(demo, client):
    some_applications(town())
    figures = gov_report.figures(town(), 2011, None)
    table = figures.applications
    assert table["columns"][6] == "总计"
    assert table["rows"][0][1] == [3, 1, 0, 0, 0, 0, 4]  # 一、本年新收
    assert table["rows"][1][1][6] == 1  # 二、上年结转
    rows = gov_report.application_rows(table)
    for row in rows:
        assert len(row["values"]) == 7
        assert row["values"][6] == sum(row["values"][:6]), row["label"]
    by_label = {row["label"]: row["values"] for row in rows}
    new, carried = rows[0]["values"], rows[1]["values"]
    total = by_label["（七）总计"]
    forward = rows[-1]["values"]
    assert rows[-1]["label"].startswith("四、")
    # 一 + 二 = 三(七) + 四, column by column.
    assert [a + b for a, b in zip(new, carried, strict=True)] == [
        a + b for a, b in zip(total, forward, strict=True)
    ]
    # (七) is the sum of (一)–(六).
    results = [
        r["values"] for r in rows if r["level"] == 1 and r["label"] != "（七）总计"
    ]
    assert [sum(col) for col in zip(*results, strict=True)] == total
    # Table 四: each group's 总计 is its four outcomes.
    values = figures.remedies["values"]
    assert len(values) == 15
    assert values[0] == values[4] == 1 and values[8] == values[9] == 1
    for g in range(3):
        assert values[g * 5 + 4] == sum(values[g * 5 : g * 5 + 4])
    html = client.get("/reports/gov/fengming/2011/").content.decode()
    assert 'id="gov-applications"' in html and 'id="gov-remedies"' in html
    assert cells(html, "gov-remedies")[1:] == [str(v) for v in values]
