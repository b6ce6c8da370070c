"""The yearly 党务公开 report: figures from the records, free text from the
town administrator only, as HTML and PDF, hostile parameters refused."""

import io
from datetime import date

import pypdf
import pytest
from django.db.models import Count
from django.utils import timezone

from catalog.models import Scope
from composition import report
from composition.models import AnnualReport
from disclosure.models import Disclosure, Unit
from disclosure.roles import REVIEWER, TOWN_ADMIN, UNIT_EDITOR
from feedback.models import Submission
from tests.factories import staff_user


def town():
    return Unit.objects.get(slug="fengming")


def test_the_demo_report_counts_the_records(demo, client):
    response = client.get("/reports/fengming/2011/")
    assert response.status_code == 200
    figures = response.context["figures"]
    units = [town(), *town().children.all()]
    published = Disclosure.objects.published().filter(
        unit__in=units, published_at__year=2011
    )
    party = figures.party
    assert party.information == 50
    assert party.information == (
        published.information().filter(item__category__catalog__kind="party").count()
    )
    assert figures.nil_returns == published.filter(is_nil_return=True).count() > 0
    assert figures.information == published.information().count()
    by_form = dict(
        published.information()
        .values_list("forms__name")
        .annotate(n=Count("id"))
        .exclude(forms__name=None)
    )
    assert {f["name"]: f["n"] for f in figures.forms} == by_form
    assert sum(c["n"] for c in figures.categories) == figures.information
    on_record = Submission.objects.on_record().filter(
        unit__in=units, received_at__year=2011
    )
    assert figures.feedback["received"] == on_record.count()
    assert figures.feedback["answered"] == on_record.answered().count()
    assert party.due > 0 and party.rate is not None
    # 2011's report is final: today is past 31 January 2012.
    assert figures.final
    assert "（定稿）" in response.content.decode()


def test_inner_party_titles_never_shown_but_counted(demo, client):
    inner = Disclosure.objects.filter(scope=Scope.INNER_PARTY).information()
    notice = inner.filter(item__notice_days__gt=0).first() or inner.first()
    response = client.get("/reports/2011/?town=fengming")
    assert response.status_code == 200
    html = response.content.decode()
    for d in inner:
        assert d.title not in html
    assert notice is not None


def test_draft_before_31_january_final_after():
    assert not report.is_final(2025, date(2026, 1, 30))
    assert report.is_final(2025, date(2026, 1, 31))


def test_the_current_year_is_a_draft(demo, client):
    year = timezone.localdate().year
    response = client.get(f"/reports/fengming/{year}/")
    assert response.status_code == 200
    assert response.context["figures"].final is False
    assert "草稿" in response.content.decode()


def test_list_links_each_towns_years(demo, client):
    response = client.get("/reports/")
    assert response.status_code == 200
    assert "/reports/fengming/2011/" in response.content.decode()


def test_home_and_compliance_link_the_reports(demo, client):
    assert "/reports/" in client.get("/").content.decode()


def test_the_pdf_renders_with_the_figures(demo, client):
    response = client.get("/reports/fengming/2011/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "凤鸣镇2011年度党务公开工作报告" in text.replace(" ", "")
    assert "党务" in text


def test_free_text_shows_and_is_the_town_admins_to_write(demo, client):
    seeded = AnnualReport.objects.get(town=town(), year=2011)
    assert (
        seeded.overview.splitlines()[0]
        in client.get("/reports/fengming/2011/").content.decode()
    )
    admin = staff_user(username="town_admin_r", group=TOWN_ADMIN)
    client.force_login(admin)
    response = client.post(
        f"/admin/portal/annualreport/{seeded.pk}/change/",
        {
            "overview": "全年党务公开工作有序推进。",
            "problems": "个别村公开不及时。",
            "plans": "加强联系点建设。",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    seeded.refresh_from_db()
    assert seeded.overview == "全年党务公开工作有序推进。"
    response = client.post(
        "/admin/portal/annualreport/add/",
        {"town": town().pk, "year": 2010, "overview": "上一年度。"},
    )
    assert response.status_code == 302
    client.logout()
    html = client.get("/reports/fengming/2011/").content.decode()
    assert "全年党务公开工作有序推进。" in html
    assert "加强联系点建设。" in html
    assert "上一年度。" in client.get("/reports/2010/").content.decode()


def test_markup_in_free_text_is_refused(demo, client):
    client.force_login(staff_user(username="town_admin_m", group=TOWN_ADMIN))
    response = client.post(
        "/admin/portal/annualreport/add/",
        {"town": town().pk, "year": 2010, "overview": "<script>x</script>"},
    )
    assert response.status_code == 200
    assert not AnnualReport.objects.filter(year=2010).exists()


@pytest.mark.parametrize("group", [REVIEWER, UNIT_EDITOR])
def test_other_roles_cannot_edit_the_report(demo, client, group):
    AnnualReport.objects.filter(year=2011).update(overview="原文")
    user = staff_user(username=f"u_{len(group)}", group=group, units=[town()])
    client.force_login(user)
    assert client.get("/admin/portal/annualreport/add/").status_code == 403
    report_row = AnnualReport.objects.get()
    url = f"/admin/portal/annualreport/{report_row.pk}/change/"
    assert client.post(url, {"overview": "改写"}).status_code == 403
    assert AnnualReport.objects.get().overview == "原文"
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_the_figures_are_not_editable_fields():
    names = {f.name for f in AnnualReport._meta.get_fields()}
    text = {"overview", "problems", "plans"}
    assert names == {"id", "town", "year", "updated_at", *text}


def test_a_village_is_not_a_town_for_the_report(demo):
    village = Unit.objects.get(slug="wenli")
    row = AnnualReport(town=village, year=2011)
    with pytest.raises(Exception, match="按镇"):
        row.full_clean()


@pytest.mark.parametrize(
    "url",
    [
        "/reports/1900/",
        "/reports/99999999999999999999/",
        "/reports/3000/",
        "/reports/2011/?town=nowhere",
        "/reports/2011/?town=wenli",
        "/reports/2011/?town=%00",
        "/reports/2011/?town=" + "x" * 500,
        "/reports/2011/?town=凤鸣",
        "/reports/wenli/2011/",
        "/reports/nowhere/2011/",
        "/reports/fengming/1800/",
        "/reports/fengming/2011x/",
        "/reports/fengming/-1/",
        "/reports/fengming/3000/pdf/",
        "/reports/nowhere/2011/pdf/",
    ],
)
def test_hostile_parameters_are_404_never_500(demo, client, url):
    assert client.get(url).status_code in (400, 404)


def test_reports_are_cached_for_anonymous_visitors():
    from core.content import cached_view_names

    assert {"portal:reports", "portal:report", "portal:report_town"} <= (
        cached_view_names
    )


# 督查与整改 ----------------------------------------------------------------------


def test_the_demo_report_has_its_inspections_from_the_records(demo, client):
    from disclosure.models import Inspection, Rectification

    response = client.get("/reports/fengming/2011/")
    figures = response.context["figures"].inspections
    units = [town(), *town().children.all()]
    checks = Inspection.objects.filter(unit__in=units, inspected_on__year=2011)
    assert figures["inspections"] == checks.count() == 1
    assert figures["average"] == checks.get().total
    fixes = Rectification.objects.filter(unit__in=units)
    assert figures["issued"] == fixes.count() == 1
    assert figures["completed"] == 1 and figures["open"] == figures["overdue"] == 0
    html = response.content.decode()
    assert "五、督查与整改" in html
    assert f"平均加权得分{checks.get().total}分" in html
    assert "下发整改通知1份，已完成整改1份（其中逾期完成0份）" in html
    # Counts only: no inspector's name, no findings.
    inspector = checks.get().inspector
    assert inspector.username not in html
    assert checks.get().findings[:10] not in html


def test_the_pdf_has_the_inspections_section(demo, client):
    response = client.get("/reports/fengming/2011/pdf/")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "")
    assert "督查与整改" in text
    assert "下发整改通知1份" in text
