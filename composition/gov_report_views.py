"""The 政府信息公开工作年度报告 pages: /reports/gov/<year>/ (?town=),
/reports/gov/<town>/<year>/ and its PDF. A report is public once the town
administrator has published it, with the figures frozen then
(composition/gov_report.py); before, a draft with live figures its staff
preview (private, not indexed); to anyone else it does not exist (404)."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from core.dates import FIRST_YEAR
from disclosure.models import Unit
from disclosure.roles import units_for
from disclosure.views_print import render_pdf

from . import gov_report
from .models import GovernmentReport
from .report_views import _town
from .views import home_unit

DRAFT_PERMISSION = "portal.view_governmentreport"


def gov_report_year(request, year: int):
    """A year's report of the town chosen by ?town=<slug> (the home town by
    default)."""
    slug = request.GET.get("town")
    if slug is None:
        town = home_unit()
        if town is None:
            raise Http404(_("没有这个镇。"))
    else:
        town = _town(slug)
    return _render(request, town, year)


def gov_report_town(request, town: str, year: int):
    return _render(request, _town(town), year)


def gov_report_pdf(request, town: str, year: int):
    town_unit = _town(town)
    context = _context(request, town_unit, year)
    html = render_to_string("portal/gov_report_print.html", context, request=request)
    pdf = render_pdf(html, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"{town_unit.slug}-government-report-{year}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _private_if_draft(response, context)


def _context(request, town: Unit, year: int) -> dict:
    if not FIRST_YEAR <= year <= 2100:
        raise Http404(_("没有这一年度的报告。"))
    text = GovernmentReport.objects.filter(town=town, year=year).first()
    published = text is not None and text.is_published
    if not published and not _may_preview(request.user, town):
        raise Http404(_("这一年度的报告尚未发布。"))
    if published and text.figures is None:
        # Published outside gov_report.save (a shell, a fixture): frozen now,
        # so that it does not change from here on.
        gov_report.freeze(text)
        GovernmentReport.objects.filter(pk=text.pk).update(figures=text.figures)
    figures = gov_report.shown_figures(text, town, year)
    return {
        "town": town,
        "year": year,
        "text": text,
        "draft": not published,
        "deadline": gov_report.deadline(year),
        "corrections": gov_report.corrections(text) if published else [],
        "figures": figures,
        "application_rows": gov_report.application_rows(figures.applications),
        "remedy_groups": gov_report.remedy_groups(figures.remedies),
    }


def _may_preview(user, town: Unit) -> bool:
    """A draft is for the staff who write reports, of their towns."""
    return (
        user.has_perm(DRAFT_PERMISSION) and units_for(user).filter(pk=town.pk).exists()
    )


def _private_if_draft(response, context):
    if context["draft"]:
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
    return response


def _render(request, town: Unit, year: int):
    context = _context(request, town, year)
    return _private_if_draft(
        render(request, "portal/gov_report.html", context), context
    )
