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
    assert cells(html, "gov-art20-5") == ["2"]  # the demo's licence and 宅基地 approval
    assert client.get("/reports/gov/2011/").status_code == 200


def test_counted_cells_are_the_towns_published_disclosures_of_the_items(demo, client):
    fengming = town()
    wenli = Unit.objects.get(slug="wenli")
    item = {code: Item.objects.get(code=code) for code in ("ZW15", "ZW16", "ZW23")}
    ZW17 = Item.objects.get(code="ZW17")
    demo_counts = gov_report.counted(fengming, 2011)

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
    counts = gov_report.counted(fengming, 2011)
    assert {key: counts[key] - demo_counts[key] for key in counts} == {
        "normative_issued": 1,
        "licensing": 3,
        "penalties": 1,
    }
    # The published report shows them once corrected (a 更正, dated).
    report = GovernmentReport.objects.get(town=fengming, year=2011)
    gov_report.save(report, correction="补录漏统计的政务公开记录。")
    html = client.get("/reports/gov/fengming/2011/").content.decode()
    assert cells(html, "gov-art20-5") == [str(counts["licensing"])]
    assert cells(html, "gov-art20-6") == [str(counts["penalties"]), "0 填报"]


def test_the_demo_report_counts_the_towns_2011_decisions(demo, client):
    """The demo's 政务 records under the counted items: its report shows them
    (as frozen when it was published)."""
    counts = gov_report.counted(town(), 2011)
    assert counts == {"normative_issued": 1, "licensing": 2, "penalties": 1}
    html = client.get("/reports/gov/fengming/2011/").content.decode()
    assert cells(html, "gov-art20-1")[3] == "1"
    assert cells(html, "gov-art20-5") == ["2"]
    assert cells(html, "gov-art20-6") == ["1", "0 填报"]


def test_a_figure_not_entered_is_shown_as_such_never_as_zero(demo, client):
    report = GovernmentReport.objects.get(town=town(), year=2011)
    report.fees_amount = None
    report.coercion_decisions = None
    gov_report.save(report, correction="删除未经核实的填报数字。")
    html = client.get(report.get_absolute_url()).content.decode()
    assert cells(html, "gov-art20-8") == ["未填报"]
    assert cells(html, "gov-art20-6")[1] == "未填报"
    report.fees_amount = Decimal("1.50")
    gov_report.save(report, correction="补填收费金额。")
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

    from govinfo.models import (
        ApplicantKind,
        Ground,
        InfoRequest,
        InfoRequestEvent,
        Remedy,
        Result,
    )

    # Only these: the demo's own applications are counted in tests/govinfo.
    Remedy.objects.filter(unit=town_unit).delete()
    InfoRequestEvent.objects.filter(request__unit=town_unit).delete()
    InfoRequest.objects.filter(unit=town_unit).delete()
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
    report = GovernmentReport.objects.get(town=town(), year=2011)
    gov_report.save(report, correction="补录依申请公开办理情况。")
    html = client.get("/reports/gov/fengming/2011/").content.decode()
    assert 'id="gov-applications"' in html and 'id="gov-remedies"' in html
    assert cells(html, "gov-remedies")[1:] == [str(v) for v in values]


# Publication freezes the figures ------------------------------------------------


def licence(when, *, unit=None):
    return Disclosure.objects.create(
        unit=unit or town(),
        item=Item.objects.get(code="ZW16"),
        title="宅基地审批结果",
        body="正文",
        period=f"{when.year}-{when.month:02d}",
        status=Disclosure.Status.PUBLISHED,
        published_at=when,
    )


def application(received, code):
    from govinfo.models import ApplicantKind, InfoRequest

    return InfoRequest.objects.create(
        unit=town(),
        code=code,
        name="申请人",
        description="所需信息",
        applicant_kind=ApplicantKind.CITIZEN,
        received_on=received,
    )


def test_a_draft_shows_live_figures_a_published_report_what_was_published(demo, client):
    from datetime import date

    client.force_login(staff_user(username="town_admin_f", group=TOWN_ADMIN))
    first = licence(at(2010, 5, 1))
    report = GovernmentReport(town=town(), year=2010, overview="概述")
    gov_report.save(report)
    assert report.figures is None
    url = report.get_absolute_url()
    before = client.get(url).text
    assert cells(before, "gov-art20-5") == ["1"]
    # The demo's own 2010 applications are counted too.
    received = int(cells(before, "gov-applications")[6])
    licence(at(2010, 9, 1))
    application(date(2010, 7, 1), "T2010001")
    html = client.get(url).text
    assert cells(html, "gov-art20-5") == ["2"]  # the draft follows the records
    assert cells(html, "gov-applications")[6] == str(received + 1)

    report.published_at = at(2011, 1, 20)
    gov_report.save(report)
    client.logout()
    published = client.get(url).text
    pdf = client.get(url + "pdf/")
    assert cells(published, "gov-art20-5") == ["2"]
    assert "发布时固定" in published

    # Records change after publication: a withdrawal, a late application.
    Disclosure.objects.filter(pk=first.pk).update(
        status=Disclosure.Status.WITHDRAWN,
        withdrawal_reason="重复公开",
        withdrawn_at=timezone.now(),
    )
    application(date(2010, 8, 1), "T2010002")
    again = client.get(url).text
    assert cells(again, "gov-art20-5") == cells(published, "gov-art20-5")
    assert cells(again, "gov-applications") == cells(published, "gov-applications")
    assert client.get(url + "pdf/").content[:4] == pdf.content[:4] == b"%PDF"
    # The live figures did change: only a 更正 brings them in, dated.
    assert gov_report.counted(town(), 2010)["licensing"] == 1
    gov_report.save(report, correction="撤回一件重复公开的审批结果，补录一件申请。")
    corrected = client.get(url).text
    assert cells(corrected, "gov-art20-5") == ["1"]
    assert cells(corrected, "gov-applications")[6] == str(received + 2)
    today = timezone.localdate()
    assert f"{today.year}年{today.month}月{today.day}日更正" in corrected
    assert "撤回一件重复公开的审批结果" in corrected


def test_a_published_report_changes_only_by_a_dated_correction(demo):
    report = GovernmentReport.objects.get(town=town(), year=2011)
    frozen = report.figures
    assert frozen is not None and report.corrections == []
    report.overview = "悄悄改写的概述"
    with pytest.raises(ValidationError, match="更正说明"):
        gov_report.save(report)
    report.refresh_from_db()
    assert report.overview != "悄悄改写的概述" and report.figures == frozen
    report.published_at = None  # no silent withdrawal either
    with pytest.raises(ValidationError, match="撤回"):
        gov_report.save(report, correction="撤回")
    report.refresh_from_db()
    report.overview = "改写的概述"
    gov_report.save(report, correction="修改总体情况的表述。")
    report.refresh_from_db()
    assert [c["note"] for c in report.corrections] == ["修改总体情况的表述。"]


def post_report(client, pk, **fields):
    data = {
        "overview": "概述",
        "problems": "",
        "other_matters": "",
        "rules_issued": "0",
        "rules_repealed": "0",
        "rules_in_force": "0",
        "normative_repealed": "0",
        "normative_in_force": "0",
        "coercion_decisions": "0",
        "fees_amount": "0.00",
        "correction": "",
    } | fields
    return client.post(f"/admin/portal/governmentreport/{pk}/change/", data)


def test_the_admin_asks_for_a_correction_note_once_published(demo, client):
    report = GovernmentReport.objects.get(town=town(), year=2011)
    client.force_login(staff_user(username="town_admin_c", group=TOWN_ADMIN))
    page = client.get(f"/admin/portal/governmentreport/{report.pk}/change/")
    assert "更正说明" in page.text
    response = post_report(client, report.pk, overview="新的概述")
    assert response.status_code == 200
    assert "请填写更正说明" in response.text
    report.refresh_from_db()
    assert report.overview != "新的概述"
    response = post_report(
        client, report.pk, overview="新的概述", correction="更正总体情况。"
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.overview == "新的概述"
    assert report.corrections[-1]["note"] == "更正总体情况。"
    assert "更正总体情况。" in client.get(report.get_absolute_url()).text


# The admin is per town ---------------------------------------------------------


def test_report_and_guide_admins_are_limited_to_the_staff_members_towns(demo, client):
    from django.contrib.auth.models import Permission

    from composition.models import DisclosureGuide
    from disclosure.roles import UNIT_EDITOR

    qingshan = Unit.objects.create(name="青山镇", kind=Unit.Kind.TOWN)
    theirs = GovernmentReport.objects.create(town=qingshan, year=2011)
    their_draft = GovernmentReport.objects.create(town=qingshan, year=2010)
    their_guide = DisclosureGuide.objects.create(town=qingshan, phone="123")
    ours = GovernmentReport.objects.get(town=town(), year=2011)
    our_guide = DisclosureGuide.objects.get(town=town())
    GovernmentReport.objects.create(town=town(), year=2010)
    # Staff of 凤鸣镇 only, given the report permissions (not a town admin).
    user = staff_user(username="fengming_writer", group=UNIT_EDITOR, units=[town()])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="portal",
            codename__in=[
                f"{action}_{model}"
                for action in ("view", "add", "change")
                for model in ("governmentreport", "disclosureguide")
            ],
        )
    )
    client.force_login(user)

    listing = client.get("/admin/portal/governmentreport/")
    assert listing.status_code == 200
    shown = {r.pk for r in listing.context["cl"].result_list}
    assert ours.pk in shown and theirs.pk not in shown and their_draft.pk not in shown
    for pk in (theirs.pk, their_draft.pk):
        url = f"/admin/portal/governmentreport/{pk}/change/"
        assert client.get(url).status_code == 404
        assert client.post(url, {"overview": "越权"}).status_code == 404
    assert (
        client.get(f"/admin/portal/governmentreport/{ours.pk}/change/").status_code
        == 200
    )
    add = client.get("/admin/portal/governmentreport/add/")
    towns = list(add.context["adminform"].form.fields["town"].queryset)
    assert towns == [town()]
    response = client.post(
        "/admin/portal/governmentreport/add/", {"town": qingshan.pk, "year": 2009}
    )
    assert response.status_code == 200
    assert not GovernmentReport.objects.filter(town=qingshan, year=2009).exists()

    guides = client.get("/admin/portal/disclosureguide/")
    assert {g.pk for g in guides.context["cl"].result_list} == {our_guide.pk}
    url = f"/admin/portal/disclosureguide/{their_guide.pk}/change/"
    assert client.get(url).status_code == 404
    assert (
        client.get(f"/admin/portal/disclosureguide/{our_guide.pk}/change/").status_code
        == 200
    )

    # The draft preview is for its own town's staff too.
    assert client.get("/reports/gov/fengming/2010/").status_code == 200
    assert client.get("/reports/gov/qingshan/2010/").status_code == 404


def test_a_scheduled_report_bounds_the_pages_naming_no_scope_alone(demo):
    """A report shows on its own pages, which name no scope ("any", as its
    saves do): their lifetime ends at its scheduled publication; a page or
    value of a disclosure, a unit or the published rows never asks for it
    (one query less on each of their misses)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core import content

    report = GovernmentReport.objects.get(town=town(), year=2011)
    report.published_at = timezone.now() + timezone.timedelta(hours=2)
    report.save()
    row = Disclosure.objects.published().first()
    now = timezone.now()
    assert content.next_change([content.ANY], now) == report.published_at
    for scopes in (["published"], [f"disclosure:{row.pk}"], ["unit:wenli"]):
        with CaptureQueriesContext(connection) as queries:
            content.next_change(scopes, now)
        assert queries.captured_queries
        assert not any(
            "portal_governmentreport" in q["sql"] for q in queries.captured_queries
        )
