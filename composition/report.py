"""A town's yearly 党务公开 report (年度报告), computed from the records.

Every figure is counted here on each view, never stored: the stored
AnnualReport holds only the town administrator's free text. Counts cover
every scope (a count reveals no 党内 content); titles shown are only those an
anonymous visitor may read (`visible_to(None)`).

A year's report is final from 31 January of the next year (the customary
deadline of yearly reports); before that it is a draft, "figures as of today".
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, F, Q
from django.utils import timezone

from catalog.models import Catalog
from disclosure import compliance, inspections
from disclosure.models import Disclosure, NoticeOutcome, Unit
from feedback.models import Kind, Submission


def final_from(year: int) -> date:
    return date(year + 1, 1, 31)


def is_final(year: int, today: date | None = None) -> bool:
    return (today or timezone.localdate()) >= final_from(year)


def report_years(today: date | None = None) -> list[int]:
    """The years a report can be read for, newest first: those with data, and
    the current one (its draft)."""
    today = today or timezone.localdate()
    years = set(compliance.years_with_data())
    years.add(today.year)
    return sorted((y for y in years if y <= today.year), reverse=True)


def as_of_date(year: int) -> date:
    """The day the figures are counted for: the end of the report's window,
    or earlier when the data stop earlier (today, or an archive's last day)."""
    return min(final_from(year), compliance.reference_date())


@dataclass
class KindFigures:
    kind: str
    label: str
    information: int = 0
    nil_returns: int = 0
    due: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    rate: int | None = None  # 按事项 (each item weighs the same)
    count_rate: int | None = None  # 按期次


@dataclass
class ReportFigures:
    year: int
    as_of: date
    final: bool
    kinds: list[KindFigures] = field(default_factory=list)
    categories: list[dict] = field(default_factory=list)
    forms: list[dict] = field(default_factory=list)
    nil_returns: int = 0
    information: int = 0
    notices: dict = field(default_factory=dict)
    public_notices: list = field(default_factory=list)
    feedback: dict = field(default_factory=dict)
    feedback_kinds: list[dict] = field(default_factory=list)
    inspections: dict = field(default_factory=dict)
    units: int = 0

    @property
    def party(self) -> KindFigures:
        return next(k for k in self.kinds if k.kind == Catalog.Kind.PARTY)


def town_units(town: Unit) -> list[Unit]:
    return [town, *town.children.order_by("order", "id")]


def figures(town: Unit, year: int) -> ReportFigures:
    units = town_units(town)
    unit_ids = [u.pk for u in units]
    as_of = as_of_date(year)
    report = ReportFigures(
        year=year, as_of=as_of, final=is_final(year), units=len(units)
    )
    # Published within the year, every scope: counts only.
    filed = Disclosure.objects.published().filter(
        unit_id__in=unit_ids, published_at__year=year
    )
    information = filed.information()
    kinds = {
        value: KindFigures(kind=value, label=label)
        for value, label in Catalog.Kind.choices
    }
    for row in (
        filed.values(kind=F("item__category__catalog__kind"))
        .annotate(
            information=Count("id", filter=Q(is_nil_return=False)),
            nil=Count("id", filter=Q(is_nil_return=True)),
        )
        .order_by()
    ):
        kinds[row["kind"]].information = row["information"]
        kinds[row["kind"]].nil_returns = row["nil"]
    _on_time(kinds, units, year, as_of)
    report.kinds = list(kinds.values())
    report.information = sum(k.information for k in report.kinds)
    report.nil_returns = sum(k.nil_returns for k in report.kinds)
    kind_labels = dict(Catalog.Kind.choices)
    report.categories = [
        {**row, "kind_label": kind_labels.get(row["kind"], "")}
        for row in information.values(
            "item__category_id",
            name=F("item__category__name"),
            code=F("item__category__code"),
            kind=F("item__category__catalog__kind"),
        )
        .annotate(n=Count("id"))
        .order_by("item__category__catalog__order", "item__category__order", "name")
    ]
    report.forms = list(
        information.filter(forms__isnull=False)
        .values(name=F("forms__name"))
        .annotate(n=Count("id"))
        .order_by("-n", "name")
    )
    notices = information.filter(item__notice_days__gt=0)
    report.notices = notices.aggregate(
        total=Count("id"),
        no_objection=Count("id", filter=Q(notice_outcome=NoticeOutcome.NO_OBJECTION)),
        objections=Count("id", filter=Q(notice_outcome=NoticeOutcome.HANDLED)),
        pending=Count("id", filter=Q(notice_outcome="")),
    )
    report.public_notices = list(
        Disclosure.objects.visible_to(None)
        .filter(pk__in=notices.values("pk"))
        .select_related("unit")
        .only("pk", "title", "unit__name", "notice_outcome", "published_at")
        .order_by("published_at", "pk")
    )
    submissions = Submission.objects.on_record().filter(
        unit_id__in=unit_ids, received_at__year=year
    )
    report.feedback = submissions.summary()
    by_kind = dict(submissions.values_list("kind").annotate(n=Count("id")).order_by())
    report.feedback_kinds = [
        {"kind": value, "label": label, "n": by_kind.get(value, 0)}
        for value, label in Kind.choices
    ]
    report.inspections = inspections.year_figures(units, year=year, as_of=as_of)
    return report


def _on_time(kinds: dict, units: list[Unit], year: int, as_of: date) -> None:
    """The compliance engine's tally per catalog kind, as on /compliance/."""
    obligations, items = compliance.load(units=units, year=year, as_of=as_of)
    kind_of = {item.pk: item.category.catalog.kind for item in items}
    for kind, t in compliance.tally(obligations, lambda o: kind_of[o.item_id]).items():
        figures = kinds[kind]
        figures.due = t.due
        figures.on_time = t.met
        figures.late = _count(t, "late")
        figures.missing = _count(t, "missing")
        figures.rate = round(100 * t.rate) if t.rate is not None else None
        figures.count_rate = (
            round(100 * t.count_rate) if t.count_rate is not None else None
        )


def _count(tally, state: str) -> int:
    # A state the engine does not (or no longer) know counts as none.
    try:
        return tally[state]
    except (KeyError, ValueError):
        return 0
