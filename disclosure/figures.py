"""The statistics page's figures about disclosures (composition/stats.py
shows them with every app's; registered in DisclosureConfig.ready()).

Counts are aggregated in the database (a handful of GROUP BY queries); the
on-time share per unit comes from the compliance engine, as on /compliance/.
"""

from django.db.models import Count, F
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from catalog.models import Catalog
from core.charts import Chart, month_labels
from core.figures import Figures, monthly_series

from . import compliance
from .models import Disclosure, Unit

# What these figures do not read (core.figures.register): the counts of
# cases (feedback.summary's "cases-…", which a new case names alone). An
# accepted 点题 request, which the compliance engine counts, is a change of
# the case, which names its unit's and town's scopes too.
NO_CASE_COUNTS = ("cases-unit", "cases-town")


def figures(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> Figures:
    disclosures = disclosures_for(user, year=year, unit=unit, town=town)
    charts = [
        disclosures_by_month(disclosures),
        disclosures_by_category(disclosures),
    ]
    if unit is None:
        charts.append(disclosures_by_unit(disclosures))
    total = disclosures.count()
    return Figures(
        charts=charts,
        values={"disclosure_total": total},
        totals=[(_("公开内容总数"), total)],
    )


def on_time_figures(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> Figures:
    """The on-time shares as of today: the date changes them (registered
    `by_day`). The same for every reader: the engine counts every scope and
    names no title."""
    return Figures(charts=[on_time_disclosure_by_unit(year=year, unit=unit, town=town)])


def disclosures_for(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
):
    # Information only: 本期无此事项 filings are not notices (as on the home page).
    qs = (
        Disclosure.objects.visible_to(user)
        .information()
        .filter(published_at__year=year)
    )
    if unit:
        return qs.for_unit(unit)
    return qs.filter(unit__in=Unit.objects.of_town(town)) if town else qs


def disclosures_by_month(disclosures) -> Chart:
    return Chart(
        key="disclosures-month",
        title=_("每月发布的公开内容"),
        description=_("按月份和公开类别（党务、政务、村务）统计的公开内容条数。"),
        labels=month_labels(),
        series=monthly_series(
            disclosures,
            date_field="published_at",
            kind_field="item__category__catalog__kind",
            choices=Catalog.Kind.choices,
        ),
    )


def disclosures_by_category(disclosures) -> Chart:
    rows = (
        disclosures.values(
            "item__category_id",
            name=F("item__category__name"),
            kind=F("item__category__catalog__kind"),
        )
        .annotate(n=Count("id"))
        .order_by("item__category__catalog__order", "item__category__order", "name")
    )
    kind_labels = dict(Catalog.Kind.choices)
    return Chart(
        key="disclosures-category",
        title=_("各公开类别的公开内容"),
        description=_("按公开目录类别统计的公开内容条数。"),
        labels=[f"{kind_labels.get(r['kind'], '')}·{r['name']}" for r in rows],
        series=[(_("条数"), [r["n"] for r in rows])],
        horizontal=True,
    )


def disclosures_by_unit(disclosures) -> Chart:
    rows = (
        disclosures.values("unit_id", name=F("unit__name"))
        .annotate(n=Count("id"))
        .order_by("unit__order", "unit_id")
    )
    return Chart(
        key="disclosures-unit",
        title=_("各单位的公开内容"),
        description=_("按单位统计的公开内容条数，只是条数，不是排名。"),
        labels=[r["name"] for r in rows],
        series=[(_("条数"), [r["n"] for r in rows])],
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
        town = town or Unit.objects.ordered_towns().first()
        units = [town, *town.children.order_by("order", "id")] if town else []
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
