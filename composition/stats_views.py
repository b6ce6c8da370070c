"""The statistics page and its CSV: thin views over composition/stats.py."""

from django.http import HttpResponse
from django.shortcuts import render

from disclosure import compliance

from . import stats
from .forms import StatsForm


def _parse(request) -> StatsForm:
    return StatsForm(request.GET, default_year=compliance.latest_year_with_data())


def stats_page(request):
    form = _parse(request)
    if not form.is_valid():
        return render(request, "portal/stats.html", {"form": form}, status=400)
    year, unit = form.cleaned_data["year"], form.cleaned_data["unit"]
    town = form.cleaned_data["town"]
    context = {
        "form": form,
        "year": year,
        "years": compliance.year_choice(year),
        "unit": unit,
        "town": town,
        # What the heading names: none on a portal with no town yet (a fresh
        # install), "全镇".
        "where": unit or town,
        **stats.figures(request.user, year=year, unit=unit, town=town),
    }
    return render(request, "portal/stats.html", context)


def stats_csv(request):
    form = _parse(request)
    if not form.is_valid():
        # The page with the form's message: a person clicked the link.
        return render(request, "portal/stats.html", {"form": form}, status=400)
    year, unit = form.cleaned_data["year"], form.cleaned_data["unit"]
    town = form.cleaned_data["town"]
    data = stats.figures(request.user, year=year, unit=unit, town=town)
    where = unit or town
    name = f"fengming-stats-{year}{'-' + where.slug if where else ''}.csv"
    # A byte-order mark so that spreadsheet programs read the Chinese as UTF-8.
    response = HttpResponse(
        "\ufeff" + stats.as_csv(data, year=year, unit=unit or town),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
