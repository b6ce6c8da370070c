"""The statistics page's figures about the 回音壁 (composition/stats.py shows
them with every app's; registered in FeedbackConfig.ready()).

The on-time share and median days come from `SubmissionQuerySet.summary()`,
where the on-time rule lives: one call for the year, one per month.
"""

from django.db.models import Count
from django.db.models.functions import ExtractMonth
from django.utils.translation import gettext as _

from core.charts import MONTHS, Chart, month_labels
from core.figures import Figures, monthly_series
from disclosure.models import Unit

from .models import ANSWERED_COUNT, ESCALATED, ON_TIME_COUNT, Kind, Submission


def figures(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> Figures:
    submissions = submissions_for(year=year, unit=unit, town=town)
    on_time, summary = on_time_by_month(submissions)
    return Figures(
        charts=[submissions_by_month(submissions), on_time],
        values={"feedback": summary},
        totals=[
            (_("回音壁收到"), summary["received"]),
            (_("回音壁已答复"), summary["answered"]),
            (_("回音壁按期答复"), summary["on_time"]),
            (_("答复用时中位数（天）"), summary["median_days"]),
            *(
                (_("意见建议%(outcome)s") % {"outcome": o["label"]}, o["count"])
                for o in summary["outcomes"]
            ),
            (_("回音壁评价（各轮合计）"), summary["rated"]),
            (_("其中电话、上门回访评价"), summary["rated_by_staff"]),
            (_("回音壁督办"), summary["escalated"]),
            (_("回音壁督办中"), summary["escalating"]),
        ],
    )


def submissions_for(*, year: int, unit: Unit | None = None, town: Unit | None = None):
    # Every case received counts (also those not yet accepted or shown without
    # their text); hidden ones (不予公开) do not.
    qs = Submission.objects.on_record().filter(received_at__year=year)
    if unit:
        return qs.filter(unit=unit)
    return qs.filter(unit__in=Unit.objects.of_town(town)) if town else qs


def submissions_by_month(submissions) -> Chart:
    return Chart(
        key="feedback-month",
        title=_("回音壁每月收到的意见"),
        description=_("按收到月份和类型统计的回音壁记录条数。"),
        labels=month_labels(),
        series=monthly_series(
            submissions,
            date_field="received_at",
            kind_field="kind",
            choices=Kind.choices,
        ),
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


def answered_by_unit(unit_ids, *, year: int) -> dict[int, dict]:
    """Per unit: cases received in `year` and answered, and answered within the
    deadline (the wall's rule, ON_TIME_COUNT). One grouped query."""
    return {
        row["unit_id"]: row
        for row in Submission.objects.on_record()
        .filter(unit_id__in=list(unit_ids), received_at__year=year)
        .with_local_dates()
        .values("unit_id")
        .annotate(
            received=Count("id"),
            answered=ANSWERED_COUNT,
            on_time=ON_TIME_COUNT,
            escalating=Count("id", filter=ESCALATED),
        )
        .order_by()
    }


def answered_on_time_rate(unit_ids, year: int, as_of) -> float | None:
    """The share of cases answered on time (the 督查 criterion 意见处理,
    pre-filled on an inspection: disclosure/inspections.py): of those
    answered and those still open under 督办 (past their deadline, or not
    satisfied twice), which count as not on time."""
    rows = answered_by_unit(unit_ids, year=year).values()
    counted = sum(r["answered"] + r["escalating"] for r in rows)
    return sum(r["on_time"] for r in rows) / counted if counted else None
