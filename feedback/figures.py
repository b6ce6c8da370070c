"""The statistics page's figures about the 回音壁 (composition/stats.py shows
them with every app's; registered in FeedbackConfig.ready()).

The on-time share and median days come from `SubmissionQuerySet.summary()`
and the rules beside it (ANSWERED_COUNT, ON_TIME_COUNT): the year's summary,
and one grouped query for the months.
"""

from django.db.models import Count, F
from django.db.models.functions import ExtractMonth
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.charts import MONTHS, Chart, month_labels
from core.figures import Figures, plain
from disclosure import compliance
from disclosure.models import Unit
from disclosure.page_scopes import unit_scopes

from . import kept_counts
from .models import ANSWERED_COUNT, ESCALATED, ON_TIME_COUNT, Kind, Submission
from .summary import summary_by_unit, summary_counted_now


def figures(
    user, *, year: int, unit: Unit | None = None, town: Unit | None = None
) -> Figures:
    """The year's 回音壁 figures of the unit, or the town (its units' cases;
    no reader sees other counts than another's), kept by the state of its
    units' cases (`kept_counts.by_cases`): a flush of the value cache leaves
    them. For the day: the one count the date changes (cases waiting past
    their deadline) is among them. The county's (no town yet) as they are."""
    units = units_of(unit, town)
    if units is None:
        return count_figures(year=year)
    # What else they are a function of: the year, the day, the language.
    name = f"stats-feedback:{year}:{timezone.localdate()}:{get_language()}"
    # Counted afresh, from no value kept under the value cache's versions:
    # those may be older than the rows they are now kept under (a process
    # whose copy of the versions is a moment old, an event lost before the
    # nightly check), and would be kept past every flush.
    return kept_counts.by_cases(
        name,
        [u.pk for u in units],
        lambda: plain(count_figures(year=year, unit=unit, town=town, fresh=True)),
        valid=_as_counted,
    )


def units_of(unit: Unit | None, town: Unit | None) -> list[Unit] | None:
    """The units whose cases the figures count: the unit, or the town's
    units (kept); None: the county's (no town yet)."""
    if unit is not None:
        return [unit]
    if town is not None:
        return compliance.town_units([town]) or list(Unit.objects.of_town(town))
    return None


def _as_counted(found) -> bool:
    """Whether kept figures are as `count_figures` gives them, made plain."""
    return (
        type(found) is Figures
        and type(found.charts) is list
        and all(type(chart) is Chart for chart in found.charts)
        and type(found.values) is dict
        and type(found.values.get("feedback")) is dict
        and type(found.totals) is list
        and all(type(total) is tuple and len(total) == 2 for total in found.totals)
    )


def count_figures(
    *,
    year: int,
    unit: Unit | None = None,
    town: Unit | None = None,
    fresh: bool = False,
) -> Figures:
    """The figures counted now; `fresh`: the year's summary too, not added
    up from each unit's counts kept in the value cache (`year_summary`)."""
    submissions = submissions_for(year=year, unit=unit, town=town)
    received, on_time = by_month(submissions)
    summary = year_summary(year=year, unit=unit, town=town, fresh=fresh)
    return Figures(
        charts=[received, on_time],
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


def year_summary(
    *,
    year: int,
    unit: Unit | None = None,
    town: Unit | None = None,
    fresh: bool = False,
) -> dict:
    """`summary()` of the year's cases of the unit or the town, added up from
    each unit's counts (feedback.summary: kept per unit under its cases'
    scope, from SQL kept per year; the one count the date changes apart):
    after a flush the town's cases are counted by three statements made
    once, not built again by the ORM (9.6 -> 4.6 ms at county scale), and
    a case's change recounts its unit alone. The county (no town yet: a
    fresh install) is counted at once."""
    units = units_of(unit, town)
    if units is None:
        return submissions_for(year=year).summary()
    # `submissions_for`'s cases, by unit: the year is in the SQL's shape.
    cases = Submission.objects.on_record().filter(received_at__year=year)
    if fresh:
        return summary_counted_now(cases, [u.pk for u in units], ("stats-year", year))
    return summary_by_unit(
        cases,
        f"stats-feedback:{year}",
        {u.pk: u.slug for u in units},
        ("stats-year", year),
        # And under their town's cases: a new case names its unit by the
        # slug this process knows, which another may have changed within
        # the second (a case there would be missed for a day); its town's
        # name stays. A case recounts the town's units, as it did when the
        # town's cases were counted at once.
        also=tuple(
            f"cases-{scope}"
            for scope in unit_scopes([u.pk for u in units])
            if scope.startswith("town:")
        ),
    )


def by_month(submissions) -> tuple[Chart, Chart]:
    """The cases received per month of receipt and kind, and the share
    answered on time per month: one GROUP BY for both (the year's cases of a
    town read once, not once a chart)."""
    rows = (
        submissions.with_local_dates()
        .annotate(month=ExtractMonth("received_at"))
        # An alias no model field has: an annotation may not shadow a field.
        .values("month", of_kind=F("kind"))
        .annotate(n=Count("id"), answered=ANSWERED_COUNT, on_time=ON_TIME_COUNT)
        .order_by()
    )
    received: dict[tuple[int, str], int] = {}
    answered = dict.fromkeys(MONTHS, 0)
    on_time = dict.fromkeys(MONTHS, 0)
    for row in rows:
        received[row["month"], row["of_kind"]] = row["n"]
        answered[row["month"]] += row["answered"]
        on_time[row["month"]] += row["on_time"]
    by_kind = Chart(
        key="feedback-month",
        title=_("回音壁每月收到的意见"),
        description=_("按收到月份和类型统计的回音壁记录条数。"),
        labels=month_labels(),
        series=[
            (label, [received.get((m, kind), 0) for m in MONTHS])
            for kind, label in Kind.choices
        ],
    )
    shares = [
        round(100 * on_time[m] / answered[m]) if answered[m] else None for m in MONTHS
    ]
    on_time_chart = Chart(
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
    return by_kind, on_time_chart


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
