"""The compliance tables as Excel workbooks (openpyxl): the matrix of a town
and a unit's obligations, with the same filters and figures as the pages
(both are built by compliance_views' *_context functions)."""

import io

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.security import spreadsheet_safe

from . import compliance
from .compliance_views import ComplianceQuery, matrix_context, unit_context, unit_query

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATES = compliance.PRECEDENCE


def _cell(value):
    # Text (lazy translations too) never starts a formula; numbers and dates
    # stay numbers and dates.
    if isinstance(value, str | Promise):
        return spreadsheet_safe(value)
    return value


def _sheet(workbook, title: str, header: list, rows: list[list]) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append([str(h) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    for n, _h in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = 16
    sheet.freeze_panes = "B2"


def _rate_row(t) -> list:
    counts = [t[s] if t else 0 for s in STATES]
    rates = [t.rate, t.count_rate] if t else [None, None]
    return [
        t.due if t else 0,
        *counts,
        *[None if rate is None else round(rate, 4) for rate in rates],
    ]


def _rate_header() -> list:
    return [
        _("已到期"),
        *[compliance.LABELS[s] for s in STATES],
        _("按时公开率（按事项）"),
        _("按时公开率（按期次）"),
    ]


def _percent(sheet, column: int) -> None:
    for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
        cell.number_format = "0%"


def _response(workbook, name: str) -> HttpResponse:
    del workbook[workbook.sheetnames[0]]  # the empty default sheet
    out = io.BytesIO()
    workbook.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _filters(q: dict) -> str:
    parts = [f"{q['year']}", f"as_of-{q['as_of']:%Y%m%d}"]
    if q["within"]:
        parts.append(q["within"].key)
    return "-".join(parts)


def matrix_xlsx(request):
    query = ComplianceQuery(request.GET)
    if not query.is_valid():
        return render(
            request, "disclosure/compliance_matrix.html", {"query": query}, status=400
        )
    q = query.cleaned_data
    context = matrix_context(q)
    workbook = Workbook()
    _sheet(
        workbook,
        _("各单位"),
        [_("单位"), *_rate_header()],
        [[row["unit"].name, *_rate_row(row["total"])] for row in context["rows"]]
        + [[_("合计"), *_rate_row(context["overall"])]],
    )
    for column in (3 + len(STATES), 4 + len(STATES)):
        _percent(workbook[_("各单位")], column)
    categories = context["categories"]
    _sheet(
        workbook,
        _("各栏目"),
        [_("单位"), *[f"{c.code} {c.name}" for c in categories]],
        [
            [
                row["unit"].name,
                *[cell.label if cell else "—" for _c, cell in row["cells"]],
            ]
            for row in context["rows"]
        ],
    )
    town = context["town"]
    slug = town.slug if town else "none"
    return _response(workbook, f"compliance-{slug}-{q['kind']}-{_filters(q)}.xlsx")


def unit_xlsx(request, slug):
    unit, query, refusal = unit_query(request, slug)
    if refusal:
        return refusal
    q = query.cleaned_data
    context = unit_context(request, unit, q)
    rows = []
    for row in context["rows"]:
        o = row["obligation"]
        filing = o.filing
        title = ""
        if filing:
            title = row["title"] or _("党内公开内容（仅党员可见）")
        period = o.period.label if o.period else _("随时")
        if o.request:  # the public title only, as on the page
            period = _("点题公开：%(title)s") % {
                "title": o.request.title or _("点题公开申请")
            }
        rows.append(
            [
                row["item"].code,
                row["item"].name,
                str(period),
                o.due,
                str(o.label),
                o.days_late or None,
                title,
                filing.published_on if filing else None,
            ]
        )
    workbook = Workbook()
    _sheet(
        workbook,
        _("应公开事项"),
        [
            _("编号"),
            _("公开事项"),
            _("期间"),
            _("应公开日期"),
            _("情况"),
            _("逾期天数"),
            _("公开内容"),
            _("发布日期"),
        ],
        rows,
    )
    sheet = workbook[_("应公开事项")]
    for column in (4, 8):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = "yyyy-mm-dd"
    _sheet(
        workbook,
        _("合计"),
        [_("单位"), *_rate_header()],
        [[unit.name, *_rate_row(context["total"])]],
    )
    for column in (3 + len(STATES), 4 + len(STATES)):
        _percent(workbook[_("合计")], column)
    return _response(workbook, f"compliance-{unit.slug}-{_filters(q)}.xlsx")
