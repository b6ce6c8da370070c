"""/county/: the county (合江县) compares its towns for a year — the
compliance figures (the engine of /compliance/), the 回音壁 answered on time
(the wall's rule) and the 督查 records (counts, never names). A fixed number
of queries whatever the number of towns."""

from django import forms
from django.db.models import Q
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.dates import validate_year
from disclosure import compliance, inspections
from disclosure.models import Unit
from feedback.figures import answered_by_unit


class CountyQuery(forms.Form):
    year = forms.IntegerField(
        label=_("年度"),
        required=False,
        validators=[validate_year],
        error_messages={"invalid": _("年份须是数字，如 2011。")},
    )


def county_towns() -> tuple[Unit | None, list[Unit]]:
    """The first county and its towns; without a county, every town."""
    county = Unit.objects.counties().order_by("order", "id").first()
    towns = Unit.objects.ordered_towns()
    if county is not None:
        towns = towns.filter(parent=county)
    return county, list(towns)


def county(request):
    query = CountyQuery(request.GET)
    if not query.is_valid():
        return render(request, "portal/county.html", {"query": query}, status=400)
    as_of = compliance.reference_date()
    year = (
        query.cleaned_data["year"] or compliance.latest_year_with_data() or as_of.year
    )
    county, towns = county_towns()
    town_ids = [t.pk for t in towns]
    units = list(Unit.objects.filter(Q(pk__in=town_ids) | Q(parent_id__in=town_ids)))
    town_of = {u.pk: (u.pk if u.kind == Unit.Kind.TOWN else u.parent_id) for u in units}
    obligations, _items = compliance.load(units=units, year=year, as_of=as_of)
    tallies = compliance.tally(obligations, lambda o: town_of[o.unit_id])
    answered = answered_by_unit(list(town_of), year=year)
    checks = inspections.summary(units, year=year, as_of=as_of)
    rows = []
    for town in towns:
        mine = [pk for pk, t in town_of.items() if t == town.pk]
        wall = {
            key: sum(answered.get(pk, {}).get(key, 0) for pk in mine)
            for key in ("received", "answered", "on_time")
        }
        wall["rate"] = wall["on_time"] / wall["answered"] if wall["answered"] else None
        rows.append(
            {
                "town": town,
                "units": len(mine),
                "compliance": tallies.get(town.pk),
                "feedback": wall,
                "inspections": inspections.add_up(checks[pk] for pk in mine),
            }
        )
    context = {
        "query": query,
        "county": county,
        "year": year,
        "years": compliance.year_choice(year),
        "as_of": as_of,
        "rows": rows,
    }
    return render(request, "portal/county.html", context)
