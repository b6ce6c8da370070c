"""The yearly 党务公开 report pages: /reports/ (with the published
政府信息公开 reports, composition/gov_report_views.py), /reports/<year>/ (?town=),
/reports/<town>/<year>/ and its PDF (rendered as the printed boards are)."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from core.dates import FIRST_YEAR
from disclosure.models import Unit
from disclosure.views_print import render_pdf

from . import report
from .models import AnnualReport, GovernmentReport
from .views import home_unit


def report_list(request):
    towns = list(Unit.objects.towns().order_by("parent_id", "order", "id"))
    years = report.report_years()
    return render(
        request,
        "portal/report_list.html",
        {
            "towns": towns,
            "years": years,
            "final": {y: report.is_final(y) for y in years},
            # Published 政府信息公开 reports only (a draft is staff's).
            "gov_reports": list(
                GovernmentReport.objects.published()
                .select_related("town")
                .order_by("-year")
            ),
        },
    )


def report_year(request, year: int):
    """A year's report of the town chosen by ?town=<slug> (the home town by default)."""
    slug = request.GET.get("town")
    if slug is None:
        town = home_unit()
        if town is None:
            raise Http404(_("没有这个镇。"))
    else:
        town = _town(slug)
    return _render(request, town, year)


def report_town(request, town: str, year: int):
    return _render(request, _town(town), year)


def report_pdf(request, town: str, year: int):
    town_unit = _town(town)
    context = _context(town_unit, year)
    html = render_to_string("portal/report_print.html", context, request=request)
    pdf = render_pdf(html, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"{town_unit.slug}-report-{year}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _town(slug: str) -> Unit:
    # A slug is short ASCII; anything else names no town (404, never a 500).
    if not (0 < len(slug) <= 60 and slug.isascii()):
        raise Http404(_("没有这个镇。"))
    town = Unit.objects.towns().filter(slug=slug).first()
    if town is None:
        raise Http404(_("没有这个镇。"))
    return town


def _year(year: int) -> int:
    # Nothing before the first year a record may have, nothing not yet begun.
    if not FIRST_YEAR <= year <= max(report.report_years(), default=FIRST_YEAR):
        raise Http404(_("没有这一年度的报告。"))
    return year


def _context(town: Unit, year: int) -> dict:
    year = _year(year)
    text = AnnualReport.objects.filter(town=town, year=year).first()
    return {
        "town": town,
        "year": year,
        "text": text,
        "figures": report.figures(town, year),
        "final_from": report.final_from(year),
    }


def _render(request, town: Unit, year: int):
    return render(request, "portal/report.html", _context(town, year))
