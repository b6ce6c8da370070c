"""The monthly 回音壁 sheet (/feedback/print/<unit>/<YYYY-MM>/, its PDF) and a
logged-in member's own cases (/feedback/mine/)."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.pagination import BadPage, paginate
from disclosure.models import Unit
from disclosure.views_print import qr_svg, render_pdf

from . import sheet
from .models import Submission

SHEET_TEMPLATE = "feedback/wall_print.html"


def _unit(slug: str) -> Unit:
    unit = Unit.objects.with_boards().select_related("parent").filter(slug=slug)
    found = unit.first()
    if found is None:
        raise Http404(_("没有这个单位。"))
    return found


def _sheet_context(request, slug: str, month_key: str) -> dict:
    """The sheet's context; raises Http404 (unit) or BadSheet (month, size)."""
    unit = _unit(slug)
    month = sheet.parse_month(month_key)
    size = sheet.parse_size(request.GET.get("size"))
    cases = sheet.month_cases(unit, month)
    for case in cases["received"] + cases["answered_earlier"]:
        url = request.build_absolute_uri(case.get_absolute_url())
        case.qr = qr_svg(url, label=_("扫码查看网上原文"))
        case.absolute_url = url
    feedback_url = request.build_absolute_uri(unit.feedback_url)
    wall_url = request.build_absolute_uri(
        reverse("feedback:wall") + "?" + urlencode({"unit": unit.slug})
    )
    return {
        "unit": unit,
        "month": month,
        "this_month": sheet.Month.current(),
        "size": size,
        "size_label": sheet.SIZES[size],
        "other_size": "a3" if size == "a4" else "a4",
        **cases,
        "printed_on": timezone.localdate(),
        "feedback_url": feedback_url,
        "feedback_qr": qr_svg(feedback_url, label=_("扫码提意见建议")),
        "wall_url": wall_url,
        "wall_qr": qr_svg(wall_url, label=_("扫码查看本单位回音壁")),
    }


def _bad_sheet(request, slug: str, error: sheet.BadSheet):
    context = {
        "unit": _unit(slug),
        "error": str(error),
        "this_month": sheet.Month.current(),
    }
    return render(request, "feedback/wall_print_error.html", context, status=400)


def wall_print(request, slug, month):
    try:
        context = _sheet_context(request, slug, month)
    except sheet.BadSheet as error:
        return _bad_sheet(request, slug, error)
    return render(request, SHEET_TEMPLATE, context)


def wall_print_month(request, slug):
    """The month chosen in the sheet's form (?month=YYYY-MM): to its page."""
    unit = _unit(slug)
    try:
        month = sheet.parse_month(request.GET.get("month", "").strip())
        size = sheet.parse_size(request.GET.get("size"))
    except sheet.BadSheet as error:
        return _bad_sheet(request, slug, error)
    url = reverse("feedback:print", args=[unit.slug, month.key])
    return redirect(url if size == "a4" else f"{url}?size={size}")


def wall_print_pdf(request, slug, month):
    try:
        context = _sheet_context(request, slug, month)
    except sheet.BadSheet as error:
        return _bad_sheet(request, slug, error)
    context["paper"] = True  # no text size step on paper
    html = render_to_string(SHEET_TEMPLATE, context, request=request)
    pdf = render_pdf(html, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"{context['unit'].slug}-huiyinbi-{context['month'].key}-{context['size']}"
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


@login_required
def mine(request):
    """The logged-in submitter's own cases, whatever the wall shows of them."""
    cases = (
        Submission.objects.filter(submitter=request.user)
        .with_related()
        .order_by("-received_at", "-id")
    )
    try:
        page = paginate(request, cases, 20)
    except BadPage:
        context = {"page": None, "bad_page": True}
        return render(request, "feedback/mine.html", context, status=400)
    return render(request, "feedback/mine.html", {"page": page, "bad_page": False})
