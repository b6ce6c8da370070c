"""The statistics page's figures about disclosures (composition/stats.py
shows them with every app's; registered in DisclosureConfig.ready()).

Counts are aggregated in the database (a handful of GROUP BY queries); the
on-time share per unit comes from the compliance engine, as on /compliance/.
"""

from django.db.models import Count
from django.db.models.functions import ExtractMonth
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from catalog.models import Catalog
from catalog.page_scopes import CATALOG, GROUPED
from core import caching, compiled
from core.charts import MONTHS, Chart, month_labels
from core.figures import Figures, monthly_series

from . import compliance, page_scopes
from .models import Disclosure, Reader, Unit

# What these figures do not read (core.figures.register): the counts of
# cases (feedback.summary's "cases-…", which a new case names alone). An
# accepted 点题 request, which the compliance engine counts, is a change of
# the case, which names its unit's and town's scopes too.
NO_CASE_COUNTS = ("cases-unit", "cases-town")


def figures(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> Figures:
    """The counts of disclosures, kept apart from the names put on them
    (`counted`): a catalog's item, category or rule renamed or changed
    counts none of them again."""
    counts = counted(user, year=year, unit=unit, town=town)
    charts = [
        disclosures_by_month(counts["months"]),
        disclosures_by_category(counts["categories"]),
    ]
    if unit is None:
        charts.append(disclosures_by_unit(counts["units"]))
    total = counts["total"]
    return Figures(
        charts=charts,
        values={"disclosure_total": total},
        totals=[(_("公开内容总数"), total)],
    )


def counted(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> dict:
    """What `figures` counts, for the rows this reader may see (`Reader.key`
    in the name): per month and kind, per category, per unit, in all. Kept
    until a change in the unit or town, the next publication scheduled in
    it, or a change that moves disclosures to another kind or category
    (GROUPED); no catalog name is in it."""
    if unit is None and town is not None:
        return counted_by_unit(user, year=year, town=town)
    where = unit or town
    name = (
        f"disclosure-counts:{year}:{unit.pk if unit else ''}:"
        f"{town.pk if town else ''}:{Reader.of(user).key}"
    )
    return caching.cached(
        name,
        lambda: count(disclosures_for(user, year=year, unit=unit, town=town)),
        **kept(where, midnight=False, independent_of=NO_CASE_COUNTS, catalog=GROUPED),
    )


def counted_by_unit(user, *, year: int, town: Unit) -> dict:
    """`counted` of a town: its units' counts added up, each kept under its
    own scopes (`kept_by_unit`), so that a publication in a village counts
    that village again, not its town (the statistics after a day's
    publications)."""
    # The town's units kept until a unit changes (read once, not a query a
    # request).
    units = sorted(
        compliance.town_units([town]) or Unit.objects.of_town(town),
        key=lambda u: (u.order, u.pk),
    )
    parts = kept_by_unit(
        f"disclosure-counts:{year}:unit",
        units,
        lambda some: count_by_unit(user, year, [u.pk for u in some]),
        empty=EMPTY,
        reader=Reader.of(user).key,
    )
    months = {kind: [0] * len(MONTHS) for kind in Catalog.Kind.values}
    categories: dict[int, int] = {}
    for part in parts.values():
        for kind, series in part["months"].items():
            months[kind] = [a + b for a, b in zip(months[kind], series, strict=True)]
        for category, n in part["categories"].items():
            categories[category] = categories.get(category, 0) + n
    totals = [(u, part["total"]) for u, part in parts.items()]
    return {
        "months": months,
        "categories": categories,
        "units": [(u.name, n) for u, n in totals if n],
        "total": sum(n for _, n in totals),
    }


# A unit with no row of the year (`count_by_unit`).
EMPTY = {"months": {}, "categories": {}, "total": 0}


def count_by_unit(user, year: int, unit_ids: list[int]) -> dict[int, dict]:
    """`count`'s figures of each of these units' rows of the year that this
    user may read (`disclosures_for`; two GROUP BY queries): its months per
    kind, its categories, its total. Their SQL kept per year and audience
    (core.compiled, `Reader.key`: readers with one key read the same rows),
    the units its parameters: after a flush the town's counts were built
    and compiled by the ORM each time, for two queries of 1–3 ms."""
    found: dict[int, dict] = {}
    audience = Reader.of(user).key
    keys = sorted(set(unit_ids))

    def of(unit_id: int) -> dict:
        return found.setdefault(unit_id, {"months": {}, "categories": {}, "total": 0})

    def rows(at, *ids):
        return disclosures_for(user, year=year, at=at).filter(unit_id__in=ids)

    by_month = compiled.rows(
        Disclosure,
        ("stats-unit-months", year, audience),
        lambda at, *ids: (
            rows(at, *ids)
            .annotate(month=ExtractMonth("published_at"))
            .values_list("unit_id", "month", "item__category__catalog__kind")
            .annotate(n=Count("id"))
            .order_by()
        ),
        keys=keys,
    )
    for unit_id, month, kind, n in by_month:
        series = of(unit_id)["months"].setdefault(kind, [0] * len(MONTHS))
        series[MONTHS.index(month)] += n
    by_category = compiled.rows(
        Disclosure,
        ("stats-unit-categories", year, audience),
        lambda at, *ids: (
            rows(at, *ids)
            .values_list("unit_id", "item__category_id")
            .annotate(n=Count("id"))
            .order_by()
        ),
        keys=keys,
    )
    for unit_id, category, n in by_category:
        part = of(unit_id)
        part["categories"][category] = n
        part["total"] += n  # every row is of one category
    return found


def count(disclosures) -> dict:
    by_category = (
        disclosures.values_list("item__category_id").annotate(n=Count("id")).order_by()
    )
    by_unit = (
        disclosures.values_list("unit_id", "unit__name")
        .annotate(n=Count("id"))
        .order_by("unit__order", "unit_id")
    )
    return {
        # Per kind's value, not its label: the counts are the same in any
        # language.
        "months": dict(
            monthly_series(
                disclosures,
                date_field="published_at",
                kind_field="item__category__catalog__kind",
                choices=[(kind, kind) for kind in Catalog.Kind.values],
            )
        ),
        "categories": dict(by_category),
        "units": [(name, n) for _, name, n in by_unit],
        "total": disclosures.count(),
    }


def on_time_figures(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> Figures:
    """The on-time shares as of today: the date changes them (registered
    `by_day`). The same for every reader: the engine counts every scope and
    names no title."""
    return Figures(charts=[on_time_disclosure_by_unit(year=year, unit=unit, town=town)])


def disclosures_for(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None, at=None
):
    """The rows of the year this user may read (now, or at `at`)."""
    # Information only: 本期无此事项 filings are not notices (as on the home page).
    qs = (
        Disclosure.objects.visible_to(user, at)
        .information()
        .filter(published_at__year=year)
    )
    if unit:
        return qs.for_unit(unit)
    return qs.filter(unit__in=Unit.objects.of_town(town)) if town else qs


def disclosures_by_month(months: dict[str, list[int]]) -> Chart:
    return Chart(
        key="disclosures-month",
        title=_("每月发布的公开内容"),
        description=_("按月份和公开类别（党务、政务、村务）统计的公开内容条数。"),
        labels=month_labels(),
        series=[
            (label, months.get(kind, [0] * len(MONTHS)))
            for kind, label in Catalog.Kind.choices
        ],
    )


def disclosures_by_category(counts: dict[int, int]) -> Chart:
    """The categories with disclosures, in the catalog's order, named as
    they are now."""
    kind_labels = dict(Catalog.Kind.choices)
    shown = sorted(
        (c for c in compliance.categories() if c.pk in counts) if counts else [],
        key=lambda c: (c.catalog.order, c.order, c.name),
    )
    rows = [(c.pk, c.name, c.catalog.kind) for c in shown]
    return Chart(
        key="disclosures-category",
        title=_("各公开类别的公开内容"),
        description=_("按公开目录类别统计的公开内容条数。"),
        labels=[f"{kind_labels.get(kind, '')}·{name}" for _, name, kind in rows],
        series=[(_("条数"), [counts[pk] for pk, _, _ in rows])],
        horizontal=True,
    )


def disclosures_by_unit(rows: list[tuple[str, int]]) -> Chart:
    return Chart(
        key="disclosures-unit",
        title=_("各单位的公开内容"),
        description=_("按单位统计的公开内容条数，只是条数，不是排名。"),
        labels=[name for name, _ in rows],
        series=[(_("条数"), [n for _, n in rows])],
        horizontal=True,
    )


def on_time_disclosure_by_unit(
    *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> Chart:
    """Each unit's share of due catalog obligations met on time, from the
    compliance engine (`disclosure/compliance.py`, the same as /compliance/)."""
    if unit is not None:
        units = [unit]
    else:
        town = town or next(iter(compliance.towns()), None)
        units = compliance.units_of_town(town) if town else []
    as_of = compliance.reference_date()
    tallies = compliance.tallies_by_unit(units, year, as_of)
    labels, rates = [], []
    for u in units:
        t = tallies.get(u.pk)
        due = t.due if t else 0
        labels.append(_("%(unit)s（%(n)d项）") % {"unit": u.name, "n": due})
        rates.append(round(100 * t.rate) if t and t.rate is not None else None)
    return Chart(
        key="compliance-unit",
        title=_("各单位按时公开率"),
        description=_(
            "截至%(as_of)s已到期的公开事项按时公开（含按时报“本期无”）的百分比，"
            "按事项计算（每个事项权重相同），括号内为已到期期次数；"
            "与“公开情况一览”页面的计算相同。"
        )
        % {"as_of": date_format(as_of, "Y年n月j日")},
        labels=labels,
        series=[(_("按时公开率"), rates)],
        horizontal=True,
        unit="%",
        max_value=100,
    )


def kept_by_unit(
    name: str,
    units: list[Unit],
    count,
    *,
    empty,
    reader: str = "",
    scope=lambda unit: f"unit:{unit.slug}",
) -> dict[Unit, object]:
    """A figure of each of these units, in their order, each kept under its
    own scopes (`scope(unit)`, "unit:<slug>" by default, and GROUPED: the
    kinds and categories counted by) until a publication or a public date
    scheduled in it comes due: a publication in a village counts that
    village again, not its town. `count(units)` gives {unit id: figure}
    for those not kept, in one query (`empty`: a unit with none); `reader`:
    whose figure it is, in the names."""
    named = {f"{name}:{unit.pk}:{reader}": unit for unit in units}
    started = timezone.now()
    read: list[Unit] = []

    def count_missing(names: list[str]) -> dict:
        some = [named[n] for n in names]
        read.extend(some)
        found = count(some)
        return {n: found.get(named[n].pk, empty) for n in names}

    parts = caching.cached_many(
        {n: [scope(unit), GROUPED] for n, unit in named.items()},
        count_missing,
        seconds=lambda: caching.until(
            compliance.next_scheduled(read, started, public_from=True),
            midnight=False,
        ),
    )
    return {unit: parts[n] for n, unit in named.items()}


def kept(
    where: Unit | None,
    *,
    midnight: bool = True,
    independent_of=frozenset(),
    catalog: str = CATALOG,
    answers: bool = False,
) -> dict:
    """How long a unit's or a town's figures are kept (`caching.cached`'s
    scopes and seconds): until a change in it (a unit's rows name
    "unit:<slug>", a town's villages' "town:<slug>"; a new 回音壁 case
    "cases-unit:<slug>" and "cases-town:<slug>", feedback.summary; a unit's
    change names its own and its town's; the catalog names CATALOG;
    an obligation event names its unit's and town's), the
    next publication scheduled in it (or a 先党内后党外 row coming out) or
    midnight (the day is in the name; `midnight=False` for figures the date
    does not change). Without either: any change, and the next publication
    coming due anywhere (the county's page, kept until then, is made again
    then: not from figures of before). `independent_of`: scopes, or kinds
    of scope, the figures do not read (CATALOG for the 回音壁's; the counts
    of cases, "cases-unit" and "cases-town", for the disclosures'), left
    out. `catalog`: the scope of what the figures read of the catalog
    (GROUPED for counts of disclosures by kind and category that put no
    name on them: catalog/page_scopes.py). `answers`: figures the
    compliance engine counts, which meet a 点题 request when the disclosure
    answering it comes out, another unit's maybe (the town's answer to a
    village's request): kept no longer than that either."""
    if where is None:
        return {"seconds": caching.until_due(None)}
    started = timezone.now()

    def units() -> list[Unit]:
        # Asked only when the figures are made: the town's units kept.
        found = (
            compliance.town_units([where]) or []
            if where.kind == Unit.Kind.TOWN
            else [where]
        )
        if answers:
            # The units answering these units' requests, of another town
            # maybe (a query, when the figures are made).
            ids = {u.pk for u in found}
            others = set(compliance.answering_units(sorted(ids))) - ids
            found = [*found, *Unit.objects.filter(pk__in=others).order_by("pk")]
        return found

    scopes = [
        s
        for s in kept_scopes(where, catalog=catalog)
        if s not in independent_of and s.partition(":")[0] not in independent_of
    ]
    return {
        # A town's figures are added up from values kept per village
        # (`counted_by_unit`, the engine's rows): their scopes too.
        "scopes": page_scopes.read_through(where, scopes),
        "seconds": lambda: caching.until(
            compliance.next_scheduled(units(), started, public_from=True),
            midnight=midnight,
        ),
    }


def kept_scopes(where: Unit, *, catalog: str = CATALOG) -> list[str]:
    """The scopes of a unit's or a town's figures (`kept`): its rows, its
    villages' for a town, the new 回音壁 cases of either, and the catalog
    (`catalog`: what of it they read)."""
    if where.kind == Unit.Kind.TOWN:
        scopes = [f"{kind}:{where.slug}" for kind in ("unit", "town")]
    else:
        scopes = [f"unit:{where.slug}"]
    return [*scopes, *(f"cases-{scope}" for scope in scopes), catalog]
