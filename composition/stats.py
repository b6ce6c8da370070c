"""The statistics page's figures for one year (and optionally one unit).

Counts are aggregated in the database (a handful of GROUP BY queries). The
回音壁's on-time share and median days come from `SubmissionQuerySet.summary()`,
where the on-time rule lives: one call for the year, one per month.
"""

import csv
import io

from django.db.models import Count, F
from django.db.models.functions import ExtractMonth
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from catalog.models import Catalog
from core.charts import Chart
from core.security import spreadsheet_safe
from disclosure import compliance
from disclosure.models import Disclosure, Unit
from feedback.models import ANSWERED_COUNT, ON_TIME_COUNT, Kind, Submission

MONTHS = range(1, 13)


def month_labels() -> list[str]:
    return [_("%(m)d月") % {"m": m} for m in MONTHS]


def disclosures_for(user, *, year: int, unit: Unit | None = None):
    # Information only: 本期无此事项 filings are not notices (as on the home page).
    qs = (
        Disclosure.objects.visible_to(user)
        .information()
        .filter(published_at__year=year)
    )
    return qs.for_unit(unit) if unit else qs


def submissions_for(*, year: int, unit: Unit | None = None):
    # Every case received counts (also those not yet accepted or shown without
    # their text); hidden ones (不予公开) do not.
    qs = Submission.objects.on_record().filter(received_at__year=year)
    return qs.filter(unit=unit) if unit else qs


def disclosures_by_month(disclosures) -> Chart:
    counts = {
        (row["month"], row["kind"]): row["n"]
        for row in disclosures.annotate(month=ExtractMonth("published_at"))
        .values("month", kind=F("item__category__catalog__kind"))
        .annotate(n=Count("id"))
        .order_by()
    }
    return Chart(
        key="disclosures-month",
        title=_("每月发布的公开内容"),
        description=_("按月份和公开类别（党务、政务、村务）统计的公开内容条数。"),
        labels=month_labels(),
        series=[
            (label, [counts.get((m, kind), 0) for m in MONTHS])
            for kind, label in Catalog.Kind.choices
        ],
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


def submissions_by_month(submissions) -> Chart:
    counts = {
        (row["month"], row["kind"]): row["n"]
        for row in submissions.annotate(month=ExtractMonth("received_at"))
        .values("month", "kind")
        .annotate(n=Count("id"))
        .order_by()
    }
    return Chart(
        key="feedback-month",
        title=_("回音壁每月收到的意见"),
        description=_("按收到月份和类型统计的回音壁记录条数。"),
        labels=month_labels(),
        series=[
            (label, [counts.get((m, kind), 0) for m in MONTHS])
            for kind, label in Kind.choices
        ],
    )


def on_time_by_month(submissions) -> tuple[Chart, dict]:
    """The share answered on time per month of receipt, and the year's summary."""
    by_month = {
        row["month"]: row
        for row in submissions.with_local_dates()
        .annotate(month=ExtractMonth("received_at"))
        .values("month")
        .annotate(answered=ANSWERED_COUNT, on_time=ON_TIME_COUNT)
        .order_by()
    }
    empty = {"answered": 0, "on_time": 0}
    shares = [
        round(100 * s["on_time"] / s["answered"]) if s["answered"] else None
        for s in (by_month.get(m, empty) for m in MONTHS)
    ]
    chart = Chart(
        key="feedback-on-time",
        title=_("回音壁按期答复率"),
        description=_(
            "按收到月份统计，已答复的意见中在答复期限内答复的百分比；没有答复的月份不计。"
        ),
        labels=month_labels(),
        series=[(_("按期答复率"), shares)],
        unit="%",
        max_value=100,
    )
    return chart, submissions.summary()


def on_time_disclosure_by_unit(*, year: int, unit: Unit | None = None) -> Chart:
    """Each unit's share of due catalog obligations met on time, from the
    compliance engine (`disclosure/compliance.py`, the same as /compliance/)."""
    if unit is not None:
        units = [unit]
    else:
        town = Unit.objects.towns().order_by("parent_id", "order", "id").first()
        units = [town, *town.children.order_by("order", "id")] if town else []
    as_of = compliance.reference_date()
    obligations, _items = compliance.load(units=units, year=year, as_of=as_of)
    tallies = compliance.tally(obligations, lambda o: o.unit_id)
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
            "截至%(as_of)s已到期的公开事项中按时公开（含按时报“本期无”）的百分比，"
            "括号内为已到期事项数；与“公开情况一览”页面的计算相同。"
        )
        % {"as_of": date_format(as_of, "Y年n月j日")},
        labels=labels,
        series=[(_("按时公开率"), rates)],
        horizontal=True,
        unit="%",
        max_value=100,
    )


def figures(user, *, year: int, unit: Unit | None = None) -> dict:
    disclosures = disclosures_for(user, year=year, unit=unit)
    submissions = submissions_for(year=year, unit=unit)
    on_time, summary = on_time_by_month(submissions)
    charts = [
        disclosures_by_month(disclosures),
        disclosures_by_category(disclosures),
    ]
    if unit is None:
        charts.append(disclosures_by_unit(disclosures))
    charts.append(on_time_disclosure_by_unit(year=year, unit=unit))
    charts += [submissions_by_month(submissions), on_time]
    return {
        "charts": charts,
        "disclosure_total": disclosures.count(),
        "feedback": summary,
    }


def as_csv(data: dict, *, year: int, unit: Unit | None) -> str:
    """The same figures as the page, one value per line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("图表"), _("年份"), _("单位"), _("项目"), _("分组"), _("数值")])
    scope = unit.name if unit else _("全镇")
    summary = data["feedback"]
    rows = [
        (chart.title, label, name, values[i])
        for chart in data["charts"]
        for i, label in enumerate(chart.labels)
        for name, values in chart.series
    ]
    rows += [
        (_("合计"), _("公开内容总数"), "", data["disclosure_total"]),
        (_("合计"), _("回音壁收到"), "", summary["received"]),
        (_("合计"), _("回音壁已答复"), "", summary["answered"]),
        (_("合计"), _("回音壁按期答复"), "", summary["on_time"]),
        (_("合计"), _("答复用时中位数（天）"), "", summary["median_days"]),
    ]
    for title, label, name, value in rows:
        writer.writerow(
            [spreadsheet_safe(v) for v in (title, year, scope, label, name, value)]
        )
    return out.getvalue()
