"""The public compliance pages: /compliance/ and /compliance/<unit>/, and
the same tables as Excel (compliance_export.py). `?town=<slug>` chooses the
town on every one (default: the first town, as the home page)."""

import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from catalog import periods
from catalog.models import Catalog, Category
from catalog.page_scopes import CATALOG, COUNTED
from core import caching
from core.dates import validate_date, validate_year

from . import compliance, inspections, page_scopes
from .models import Disclosure, Reader, Unit


class ComplianceQuery(forms.Form):
    year = forms.IntegerField(
        label=_("年度"),
        required=False,
        validators=[validate_year],
        error_messages={"invalid": _("年份须是数字，如 2011。")},
    )
    as_of = forms.DateField(
        label=_("截至日期"),
        required=False,
        validators=[validate_date],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("按这一天已发布的内容计算。"),
    )
    kind = forms.ChoiceField(
        label=_("公开类别"), choices=Catalog.Kind.choices, required=False
    )
    # Choices filled in __init__ from one query (also the default town).
    town = forms.ChoiceField(
        label=_("乡镇"),
        required=False,
        error_messages={"invalid_choice": _("没有这个乡镇。")},
    )
    period = forms.CharField(
        label=_("期间"),
        required=False,
        max_length=7,
        help_text=_("可选，如 2011-Q3、2011-H2、2011-09。"),
    )
    nil = forms.BooleanField(
        label=_("只看“本期无此事项”说明"),
        required=False,
        help_text=_("督查时核对各单位报送的“本期无此事项”及其理由。"),
    )

    show = forms.ChoiceField(
        label=_("只看"),
        choices=[("", _("全部事项")), *compliance.SHOW_CHOICES],
        required=False,
        help_text=_("逾期未办：逾期未公开、长期事项未在栏、公示结果逾期未公布。"),
    )

    def __init__(self, *args, with_town: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.towns: dict[str, Unit] = {}
        if not with_town:  # a unit's page: the unit decides the town
            del self.fields["town"]
            return
        del self.fields["show"]  # a unit's page lists obligations; the matrix counts
        self.towns = {town.slug: town for town in compliance.towns()}
        self.fields["town"].choices = [
            (slug, town.name) for slug, town in self.towns.items()
        ]

    def clean(self):
        data = super().clean()
        if "town" in self.fields:
            chosen = self.towns.get(data.get("town") or "")
            data["town"] = chosen or next(iter(self.towns.values()), None)
        # By default the latest year with data, as of today (or, for an
        # archive such as the 2011 demo, as of its last publication).
        if data.get("as_of") and not data.get("year"):
            data["year"] = data["as_of"].year
        data["as_of"] = data.get("as_of") or compliance.reference_date()
        data["year"] = (
            data.get("year") or compliance.latest_year_with_data() or data["as_of"].year
        )
        data["kind"] = data.get("kind") or Catalog.Kind.PARTY
        key = data.get("period")
        data["within"] = None
        if key:
            try:
                data["within"] = periods.Period.parse(key)
            except periods.InvalidPeriod:
                raise ValidationError({"period": _("期间格式不正确。")}) from None
            if data["within"].year != data["year"]:
                raise ValidationError({"period": _("期间须在所选年度内。")})
        return data


def default_town() -> Unit | None:
    return next(iter(compliance.towns()), None)


def home_units(town: Unit | None = None) -> list[Unit]:
    town = town or default_town()
    if town is None:
        return []
    return compliance.units_of_town(town)


def town_of(unit: Unit) -> Unit | None:
    """The town whose matrix lists this unit (the breadcrumb's link)."""
    if unit.kind == Unit.Kind.TOWN:
        return unit
    parent = unit.parent
    return parent if parent and parent.kind == Unit.Kind.TOWN else None


# Stands for the day in the links of a kept table (`matrix`); the same for
# every table this process makes, so that their rows are kept too
# (compliance_tags.matrix_rows).
DAY_MARK = f"day{secrets.token_hex(8)}"


def matrix(request):
    query = ComplianceQuery(request.GET)
    if not query.is_valid():
        return render(
            request, "disclosure/compliance_matrix.html", {"query": query}, status=400
        )
    q = query.cleaned_data
    context = matrix_context(q)
    context["query"] = query
    # The table is a few hundred template nodes a row: rendered once for the
    # figures' run of days and kept beside them, the day in its links
    # written in afterwards (the page's own day, as_of).
    table = "disclosure/includes/compliance_matrix_table.html"
    within = q["within"]

    def of_day(day):
        # The day stands as a token of this process: no data holds it (the
        # table is kept with it, so another process's is written in too).
        mark = DAY_MARK
        link_query = {"year": q["year"], "as_of": mark}
        if within:
            link_query["period"] = within.key
        links = {**context, "unit_link_query": "?" + urlencode(link_query)}
        return (mark, render_to_string(table, links)), context["steady_through"]

    mark, kept_table = caching.cached_through(
        f"{matrix_run_name(q)}:table:{get_language()}",
        q["as_of"],
        of_day,
        **matrix_kept(q, [context["answer_due"]]),
    )
    context["matrix_table"] = mark_safe(  # rendered (escaped); a date put in
        kept_table.replace(mark, q["as_of"].isoformat())
    )
    return render(request, "disclosure/compliance_matrix.html", context)


def matrix_key(q: dict) -> str:
    """What the matrix's figures depend on: town, year, day, kind, period."""
    town, within = q["town"], q["within"]
    return ":".join(
        str(part)
        for part in (
            "compliance:matrix",
            town.pk if town else "",
            q["year"],
            q["as_of"].isoformat() if q["as_of"] else "",
            q["kind"],
            within.key if within else "",
        )
    )


def matrix_run_name(q: dict) -> str:
    """The name of the matrix's kept values without the day: kept per run of
    days (`caching.cached_through`)."""
    return matrix_key({**q, "as_of": None})


def matrix_kept(
    q: dict, answers: list | None = None, *, catalog: str = CATALOG
) -> dict:
    """How long the matrix of q["town"] is kept (`caching.cached`'s scopes and
    seconds): until a change in the town (its own rows name "unit:<town>",
    its villages' "town:<town>": disclosures, 回音壁 requests, a unit's own
    change; the catalog and its rules name CATALOG; an obligation event its
    unit's and town's), the next
    publication scheduled in it (what counts as filed is a matter of the
    clock) or an answer to one of its 点题 requests scheduled by another
    unit (`answers`: the figures' `answer_due`, filled in when they are
    counted); not past midnight: kept for the run of days the figures hold
    through (`caching.cached_through`). `catalog`: the catalog's scope the
    value reads (COUNTED for the engine's counts, which read no name)."""
    town = q["town"]
    if town is None:
        return {}
    started = timezone.now()
    return {
        # Counted from the engine's rows kept per unit (compliance.load_inputs).
        "scopes": page_scopes.read_through(
            town, [f"town:{town.slug}", f"unit:{town.slug}", catalog]
        ),
        "seconds": lambda: caching.until(
            compliance.changes_at(
                compliance.next_scheduled(compliance.town_units([town]), started),
                *(answers or []),
            ),
            midnight=False,
        ),
    }


def matrix_context(q: dict) -> dict:
    """The matrix of q["town"]: one row per unit, one column per category.

    Kept in the value cache per town, year, kind and period until the
    town's data changes (`matrix_kept`), for the run of days its states
    hold through (most midnights change no state: a period begins or
    something falls due on a few days a month). The same for every reader:
    the engine counts filings of every scope and the matrix shows no title."""

    answers = []

    def of_day(day):
        figures = matrix_figures({**q, "as_of": day})
        answers.append(figures["answer_due"])
        return figures, figures["steady_through"]

    figures = caching.cached_through(
        # Towns counted together (the warm-up) are not all counted again
        # together a day later.
        matrix_run_name(q),
        q["as_of"],
        of_day,
        spread=0.5,
        **matrix_kept(q, answers),
    )
    return {
        "q": q,
        "town": q["town"],
        "years": compliance.year_choice(q["year"]),
        **figures,
        "states": [
            (state, compliance.LABELS[state]) for state in compliance.PRECEDENCE
        ],
    }


def matrix_figures(q: dict) -> dict:
    """The matrix's rows and columns: the engine's counts (`matrix_counts`)
    under the catalog's categories and the town's units as they are named
    now (a category or a unit renamed: the counts stay kept)."""
    units = home_units(q["town"])
    counts = matrix_counts(q, units)
    cells = counts["cells"]
    categories = matrix_categories(q["kind"])
    rows = [
        {
            "unit": unit,
            "cells": [
                (category, cells.get((unit.pk, category.pk))) for category in categories
            ],
            "total": counts["by_unit"].get(unit.pk),
        }
        for unit in units
    ]
    return {
        "categories": categories,
        "rows": rows,
        # (category, tally): the footer names each total's column.
        "column_totals": [(c, counts["by_category"].get(c.pk)) for c in categories],
        "overall": counts["overall"],
        # The last day these states hold through, the data unchanged, and
        # a request's answer coming out before then (another unit's).
        "steady_through": counts["steady_through"],
        "answer_due": counts["answer_due"],
    }


def matrix_categories(kind: str) -> list[Category]:
    """The matrix's columns: the categories of the catalog of this kind."""
    return sorted(
        (c for c in compliance.categories() if c.catalog.kind == kind),
        key=lambda c: (c.order, c.code),
    )


def matrix_counts(q: dict, units: list[Unit]) -> dict:
    """The engine's tallies of these units (q["town"]'s) by unit and
    category: ids and numbers, no name. Kept as the matrix is
    (`matrix_kept`) but for the catalog: only a change in what the engine
    reads of it (COUNTED) counts them again, not a name."""
    answers = []

    def of_day(day):
        counts = count_matrix(q, units, day)
        answers.append(counts["answer_due"])
        return counts, counts["steady_through"]

    return caching.cached_through(
        f"{matrix_run_name(q)}:counts",
        q["as_of"],
        of_day,
        spread=0.5,
        **matrix_kept(q, answers, catalog=COUNTED),
    )


def count_matrix(q: dict, units: list[Unit], as_of) -> dict:
    counts = compliance.counts_by_unit(
        units, year=q["year"], as_of=as_of, kind=q["kind"], within=q["within"]
    )
    cells = {
        (pk, category): tally
        for pk, unit_counts in counts.items()
        for category, tally in unit_counts.by_category.items()
    }
    through, answer_due = compliance.counted_through(counts.values())
    # Settled, as each unit's counts are kept: what the page shows, kept.
    return {
        "cells": cells,
        "by_unit": compliance.roll_up(cells, lambda cell: cell[0]),
        "by_category": compliance.roll_up(cells, lambda cell: cell[1]),
        "overall": compliance.roll_up(cells, lambda cell: "all").get("all"),
        "steady_through": through,
        "answer_due": answer_due,
    }


def unit_query(request, slug):
    """The unit of a compliance URL and its checked query; with a 400 page
    (the form's messages) when the query is bad, shared by the page and its
    Excel export."""
    unit = get_object_or_404(
        Unit.objects.with_boards().select_related("parent"), slug=slug
    )
    query = ComplianceQuery(request.GET, with_town=False)
    if not query.is_valid():
        context = {"query": query, "unit": unit}
        refusal = render(
            request, "disclosure/compliance_unit.html", context, status=400
        )
        return unit, query, refusal
    return unit, query, None


def unit_obligations(request, slug):
    unit, query, refusal = unit_query(request, slug)
    if refusal:
        return refusal
    context = unit_context(request, unit, query.cleaned_data)
    context["query"] = query
    return render(request, "disclosure/compliance_unit.html", context)


def unit_context(request, unit: Unit, q: dict) -> dict:
    """A unit's obligations of the year, most urgent first."""
    obligations, items = compliance.load(
        units=[unit], year=q["year"], as_of=q["as_of"], within=q["within"]
    )
    item_by_id = {item.pk: item for item in items}
    nil_count = sum(1 for o in obligations if o.filing and o.filing.nil)
    total = compliance.tally(obligations, lambda o: "all").get("all")
    if q["nil"]:  # an inspector's list of the unit's 本期无 filings
        obligations = [o for o in obligations if o.filing and o.filing.nil]
    if q.get("show"):  # the start page's counts (disclosure/worklist.py)
        obligations = compliance.waiting(obligations, q["show"], q["as_of"])
    titles = filing_titles(request, obligations, unit)
    state_order = {state: n for n, state in enumerate(compliance.PRECEDENCE)}
    rows = sorted(
        (
            {
                "obligation": o,
                "item": item_by_id[o.item_id],
                "title": titles.get(o.filing.id) if o.filing else None,
            }
            for o in obligations
        ),
        key=lambda r: (
            state_order[r["obligation"].state],
            r["obligation"].due,
            r["item"].code,
        ),
    )
    town = town_of(unit)
    return {
        "q": q,
        "years": compliance.year_choice(q["year"]),
        "unit": unit,
        "town": town,
        "rows": rows,
        "nil_count": nil_count,
        "total": total,
        "inspections": inspections.summary([unit], year=q["year"], as_of=q["as_of"])[
            unit.pk
        ],
    }


def filing_titles(request, obligations, unit: Unit) -> dict[int, str | None]:
    """Titles of the unit's filings the reader may read; None hides a 党内
    title. Read as on the unit's board (`Reader.on_board_of`): another
    unit's page is the same for every branch's members, who share its copy
    (page_scopes.board_audience)."""
    reader = Reader.of(request.user).on_board_of(unit)
    if reader.branch_id:
        # The own branch's 党组织内部 titles: never in the copy branches share.
        request.page_own_audience_only = True
    ids = [o.filing.id for o in obligations if o.filing]
    visible = dict(
        Disclosure.objects.published()
        .for_reader(reader)
        .filter(pk__in=ids)
        .values_list("pk", "title")
    )
    return {pk: visible.get(pk) for pk in ids}
