"""A town's 政府信息公开工作年度报告 (政府信息公开条例 2019, arts. 49–50), in
the national format in force (国办公开办函〔2021〕30号): its tables, computed
from the records on each view.

- 二、主动公开政府信息情况: a cell the portal has records for counts the
  town's published 政务 disclosures of the matching catalog items in the
  year (`COUNTED`, one disclosure one document or decision); the others are
  the figures staff entered on the `GovernmentReport` (`ENTERED`), shown as
  填报, or as not entered: never a default.
- 三 and 四: the 依申请公开 tables of `govinfo.figures` (national order and
  labels there).

A draft shows them live; publication freezes them on the report
(`snapshot`, `GovernmentReport.figures`), and the page of a published report
shows what was published, whatever the records do later. A change after
publication is a 更正 (`save` with a note): the figures are taken again and
the page says when and why.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import content
from disclosure.models import Disclosure, Unit
from govinfo import figures as govinfo_figures

from . import report
from .models import GovernmentReport

# Which 政务 catalog items' disclosures count for a cell (catalog/data/
# government_catalog.json, migration catalog/0011): 条例 art. 20 (一) the town's
# normative documents, (五) licences (宅基地审批 is one), (六) penalties.
COUNTED = {
    "normative_issued": ("ZW15",),
    "licensing": ("ZW16", "ZW23"),
    "penalties": ("ZW17",),
}
ENTERED = (
    "rules_issued",
    "rules_repealed",
    "rules_in_force",
    "normative_repealed",
    "normative_in_force",
    "coercion_decisions",
    "fees_amount",
)


@dataclass
class Cell:
    value: int | Decimal | None
    entered: bool = False  # typed in by staff, not counted from the records

    @property
    def missing(self) -> bool:
        return self.value is None


@dataclass
class ProactiveTable:
    """One of table 二's four blocks: a heading (the article's item), the
    column labels after 信息内容, and rows of (label, cells)."""

    key: str
    heading: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]


@dataclass
class GovernmentFigures:
    year: int
    proactive: list[ProactiveTable] = field(default_factory=list)
    applications: dict = field(default_factory=dict)  # table 三
    remedies: dict = field(default_factory=dict)  # table 四


def counted(town: Unit, year: int) -> dict[str, int]:
    """The town's published disclosures of each `COUNTED` cell's items in
    the year, every scope (a count reveals nothing), 本期无 filings not."""
    codes = {code for codes in COUNTED.values() for code in codes}
    filed = (
        Disclosure.objects.published()
        .information()
        .filter(unit=town, published_at__year=year, item__code__in=codes)
    )
    counts = filed.aggregate(
        **{
            key: Count("pk", filter=Q(item__code__in=codes))
            for key, codes in COUNTED.items()
        }
    )
    return {key: counts[key] or 0 for key in COUNTED}


def _entered(text: GovernmentReport | None, name: str) -> Cell:
    value = getattr(text, name) if text else None
    field = GovernmentReport._meta.get_field(name)
    if value is not None and field.get_internal_type() == "DecimalField":
        # As stored (an amount typed as 0 is 0.00), even before a reload.
        value = Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
    return Cell(value, entered=True)


def proactive_tables(
    town: Unit, year: int, text: GovernmentReport | None
) -> list[ProactiveTable]:
    n = counted(town, year)
    return [
        ProactiveTable(
            "art20-1",
            str(_("第二十条第（一）项")),
            [str(_("本年制发件数")), str(_("本年废止件数")), str(_("现行有效件数"))],
            [
                (
                    str(_("规章")),
                    [
                        _entered(text, "rules_issued"),
                        _entered(text, "rules_repealed"),
                        _entered(text, "rules_in_force"),
                    ],
                ),
                (
                    str(_("行政规范性文件")),
                    [
                        Cell(n["normative_issued"]),
                        _entered(text, "normative_repealed"),
                        _entered(text, "normative_in_force"),
                    ],
                ),
            ],
        ),
        ProactiveTable(
            "art20-5",
            str(_("第二十条第（五）项")),
            [str(_("本年处理决定数量"))],
            [(str(_("行政许可")), [Cell(n["licensing"])])],
        ),
        ProactiveTable(
            "art20-6",
            str(_("第二十条第（六）项")),
            [str(_("本年处理决定数量"))],
            [
                (str(_("行政处罚")), [Cell(n["penalties"])]),
                (str(_("行政强制")), [_entered(text, "coercion_decisions")]),
            ],
        ),
        ProactiveTable(
            "art20-8",
            str(_("第二十条第（八）项")),
            [str(_("本年收费金额（单位：万元）"))],
            [(str(_("行政事业性收费")), [_entered(text, "fees_amount")])],
        ),
    ]


def application_rows(table: dict) -> list[dict]:
    """Table 三's rows for the template: label, values, indent level and the
    heading (三、本年度办理结果) to put before a row, if any."""
    levels = table.get("levels") or [0] * len(table["rows"])
    headings = {int(k): v for k, v in (table.get("headings") or {}).items()}
    return [
        {
            "label": label,
            "values": list(values),
            "level": level,
            "heading": headings.get(n, ""),
        }
        for n, ((label, values), level) in enumerate(
            zip(table["rows"], levels, strict=True)
        )
    ]


def remedy_groups(table: dict) -> list[tuple[str, list[str]]]:
    """Table 四's three groups of columns: (group, its sub-columns)."""
    groups: list[tuple[str, list[str]]] = []
    for label in table["columns"]:
        group, _sep, sub = label.partition("：")
        if not groups or groups[-1][0] != group:
            groups.append((group, []))
        groups[-1][1].append(sub or group)
    return groups


def figures(town: Unit, year: int, text: GovernmentReport | None) -> GovernmentFigures:
    return GovernmentFigures(
        year=year,
        proactive=proactive_tables(town, year, text),
        applications=govinfo_figures.application_table(town, year),
        remedies=govinfo_figures.review_litigation_table(town, year),
    )


def snapshot(figures: GovernmentFigures) -> dict:
    """The figures as JSON, to keep on a published report."""
    return {
        "taken_at": timezone.now().isoformat(),
        "proactive": [
            {
                "key": block.key,
                "heading": block.heading,
                "columns": block.columns,
                "rows": [
                    [
                        label,
                        [
                            [None if c.value is None else str(c.value), c.entered]
                            for c in cells
                        ],
                    ]
                    for label, cells in block.rows
                ],
            }
            for block in figures.proactive
        ],
        "applications": {
            **figures.applications,
            "rows": [[label, list(v)] for label, v in figures.applications["rows"]],
        },
        "remedies": figures.remedies,
    }


def _value(text: str | None) -> int | Decimal | None:
    if text is None:
        return None
    return Decimal(text) if "." in text else int(text)


def from_snapshot(year: int, data: dict) -> GovernmentFigures:
    return GovernmentFigures(
        year=year,
        proactive=[
            ProactiveTable(
                block["key"],
                block["heading"],
                block["columns"],
                [
                    (label, [Cell(_value(v), entered) for v, entered in cells])
                    for label, cells in block["rows"]
                ],
            )
            for block in data["proactive"]
        ],
        applications=data["applications"],
        remedies=data["remedies"],
    )


def shown_figures(report: GovernmentReport | None, town: Unit, year: int):
    """What the page shows: a published report's frozen figures, else the
    live ones (a draft's, or a year with no report yet)."""
    if report is not None and report.figures is not None:
        return from_snapshot(year, report.figures)
    return figures(town, year, report)


def freeze(report: GovernmentReport) -> None:
    report.figures = snapshot(figures(report.town, report.year, report))


def correction_needed(before: GovernmentReport | None) -> bool:
    """Whether a change to this stored report is a 更正: it is public."""
    return before is not None and before.pk is not None and before.is_published


def save(report: GovernmentReport, *, correction: str = "") -> None:
    """Store the report by the publication rule: a draft keeps no figures;
    setting `published_at` freezes them; once public, a change is saved only
    as a 更正 with a note (its date and note go on the page, the figures are
    taken again), and the publication date stays."""
    before = (
        GovernmentReport.objects.filter(pk=report.pk).first() if report.pk else None
    )
    correction = correction.strip()
    if correction_needed(before):
        if report.published_at != before.published_at:
            raise ValidationError(
                {"published_at": _("已发布的报告不能撤回或改动发布时间。")}
            )
        if not correction:
            raise ValidationError(
                {"correction": _("报告已发布，修改须作为更正，请填写更正说明。")}
            )
        report.corrections = [
            *before.corrections,
            {"on": timezone.localdate().isoformat(), "note": correction},
        ]
        freeze(report)
    elif report.published_at is not None:
        freeze(report)
    else:
        report.figures = None
    report.save()


def corrections(report: GovernmentReport | None) -> list[tuple[date, str]]:
    if report is None:
        return []
    return [(date.fromisoformat(c["on"]), c["note"]) for c in report.corrections]


def deadline(year: int) -> date:
    """条例 art. 49: published by 31 January of the next year."""
    return report.final_from(year)


def report_years(town: Unit, *, staff: bool) -> list[int]:
    """The years a reader may open: published reports; staff also every year
    a report may be drafted for (those with data, and the last one)."""
    published = set(
        GovernmentReport.objects.published()
        .filter(town=town)
        .values_list("year", flat=True)
    )
    if not staff:
        return sorted(published, reverse=True)
    today = timezone.localdate()
    return sorted(
        published | {y for y in report.report_years() if y < today.year},
        reverse=True,
    )


def next_publication(scopes, after):
    """When the next report scheduled for publication shows by itself: a
    cached page's lifetime (core.content.scheduled). Only pages naming no
    scope ("any") show a report (`content.on_any_page`, as its saves name
    them): none for a page or value of a unit, a disclosure or the
    published rows, which asked it (one query) with every next time."""
    if content.ANY not in scopes:
        return None
    found = GovernmentReport.objects.filter(published_at__gt=after)
    return found.aggregate(at=Min("published_at"))["at"]
