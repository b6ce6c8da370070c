"""The search page: a thin view over composition/search.py."""

from django.shortcuts import render

from core import compiled
from core.pagination import BadPage, paginate

from . import search
from .forms import SearchForm
from .models import SearchEntry

HIT_RELATED = (
    "disclosure__unit",
    "disclosure__item__category__catalog",
    "submission__unit",
)
# What a hit shows (search.html): the rest of seven joined rows doubled the
# cost of fetching a page of hits. A template using more must add it here.
HIT_FIELDS = (
    "title",
    "body",
    "date",
    "disclosure__unit__name",
    "disclosure__index_number",
    "disclosure__item__category__catalog__kind",
    "submission__kind",
    "submission__unit__name",
)


def hit_rows(ids) -> dict:
    """The rows of a page of hits by id, from SQL kept per number of hits
    (core.compiled: four tables joined took longer to build, compile and
    plan than to read)."""

    def build(_at, *keys):
        return (
            SearchEntry.objects.select_related(*HIT_RELATED)
            .only(*HIT_FIELDS)
            .filter(pk__in=keys)
            .order_by()
        )

    keys = tuple(dict.fromkeys(ids))
    if not keys:
        return {}
    found = compiled.rows(SearchEntry, ("search-hits",), build, keys=keys)
    return {row.pk: row for row in found}


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
        page = paginate(request, results.ids, 20)
    except BadPage:
        context["bad_page"] = True
        return render(request, "portal/search.html", context, status=400)
    rows = hit_rows(page.object_list)
    hits = []
    for pk in page.object_list:
        entry = rows.get(pk)
        if entry is None:  # deleted since its id was read
            continue
        source = entry.disclosure or entry.submission
        hits.append(
            {
                "url": source.get_absolute_url(),
                "title": search.highlight(entry.title, results.terms),
                "snippet": search.snippet(search.shown_body(entry), results.terms),
                "index_number": search.highlight(
                    (entry.disclosure and entry.disclosure.index_number) or "",
                    results.terms,
                ),
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
        filtered=bool(form.cleaned_data["unit"] or form.cleaned_data["kind"]),
        scan_limit=search.SHORT_QUERY_SCAN,
        max_results=search.MAX_RESULTS,
    )
    return render(request, "portal/search.html", context)
