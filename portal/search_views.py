"""The search page: a thin view over portal/search.py."""

from django.shortcuts import render

from fengming_portal.pagination import BadPage, paginate

from . import search
from .forms import SearchForm

HIT_RELATED = (
    "disclosure__unit",
    "disclosure__item__category__catalog",
    "submission__unit",
)


def search_page(request):
    form = SearchForm(request.GET or None)
    context = {"form": form, "page": None, "results": None, "bad_page": False}
    if not form.is_bound:
        return render(request, "portal/search.html", context)
    if not form.is_valid():
        return render(request, "portal/search.html", context, status=400)
    query = form.cleaned_data["q"]
    if not search.parse_terms(query):
        context["empty_query"] = True
        return render(request, "portal/search.html", context)
    results = search.search(
        query,
        user=request.user,
        unit=form.cleaned_data["unit"],
        kind=form.cleaned_data["kind"],
    )
    try:
        page = paginate(request, results.entries.select_related(*HIT_RELATED), 20)
    except BadPage:
        context["bad_page"] = True
        return render(request, "portal/search.html", context, status=400)
    hits = []
    for entry in page.object_list:
        source = entry.disclosure or entry.submission
        hits.append(
            {
                "url": source.get_absolute_url(),
                "title": search.highlight(entry.title, results.terms),
                "snippet": search.snippet(entry.body, results.terms),
                "unit": source.unit,
                "date": entry.date,
                "disclosure": entry.disclosure,
                "submission": entry.submission,
            }
        )
    context.update(
        page=page,
        results=results,
        hits=hits,
        query=query,
        scan_limit=search.SHORT_QUERY_SCAN,
    )
    return render(request, "portal/search.html", context)
