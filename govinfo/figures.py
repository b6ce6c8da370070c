"""The application statistics of the 政府信息公开工作年度报告 (national format,
国办公开办函〔2021〕30号): table 三 (收到和处理政府信息公开申请情况) and table
四 (政府信息公开行政复议、行政诉讼情况). Counts only, computed from the records
on each call; no applicant's particulars leave this module.

Counting rules (each application of the town: `InfoRequest.unit == town`):
- 一、本年新收: received (`received_on`) in the year;
- 二、上年结转: received before the year and not concluded before it;
- 三、本年度办理结果: concluded (`answered_on`, the answer sent or the
  application closed as 视为放弃) in the year, by result and ground;
  部分公开 counts only as 部分公开; 非本机关负责 (art. 36(五)) in the row
  1.本机关不掌握相关政府信息 (models.COUNTED_AS);
- 四、结转下年度继续办理: received by 31 December, not concluded by then.
So 一 + 二 = 三(七)总计 + 四, column by column.

Table 四 counts a case filed in the year, or filed earlier and decided in
it, with its outcome as of 31 December (decided later: 尚未审结).
"""

from datetime import date

from django.db.models import Count, Q

from .models import (
    COUNTED_AS,
    GROUNDS,
    ApplicantKind,
    Ground,
    InfoRequest,
    Remedy,
    Result,
)

COLUMNS = [
    "自然人",
    "商业企业",
    "科研机构",
    "社会公益组织",
    "法律服务机构",
    "其他",
    "总计",
]
KINDS = [
    ApplicantKind.CITIZEN,
    ApplicantKind.BUSINESS,
    ApplicantKind.RESEARCH,
    ApplicantKind.WELFARE,
    ApplicantKind.LEGAL,
    ApplicantKind.OTHER,
]

RESULT_LABELS = [
    (Result.DISCLOSED, "（一）予以公开"),
    (Result.PARTLY, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    (Result.REFUSED, "（三）不予公开"),
    (Result.UNAVAILABLE, "（四）无法提供"),
    (Result.NOT_PROCESSED, "（五）不予处理"),
    (Result.OTHER, "（六）其他处理"),
]
GROUND_LABELS = {
    Ground.SECRET: "1.属于国家秘密",
    Ground.LAW_FORBIDS: "2.其他法律行政法规禁止公开",
    Ground.SECURITY: "3.危及“三安全一稳定”",
    Ground.THIRD_PARTY: "4.保护第三方合法权益",
    Ground.INTERNAL: "5.属于三类内部事务信息",
    Ground.PROCESS: "6.属于四类过程性信息",
    Ground.ENFORCEMENT: "7.属于行政执法案卷",
    Ground.QUERY: "8.属于行政查询事项",
    Ground.NOT_HELD: "1.本机关不掌握相关政府信息",
    Ground.NEEDS_MAKING: "2.没有现成信息需要另行制作",
    Ground.STILL_UNCLEAR: "3.补正后申请内容仍不明确",
    Ground.PETITION: "1.信访举报投诉类申请",
    Ground.REPEATED: "2.重复申请",
    Ground.PUBLICATION: "3.要求提供公开出版物",
    Ground.MASS: "4.无正当理由大量反复申请",
    Ground.CONFIRM: "5.要求行政机关确认或重新出具已获取信息",
    Ground.NO_CORRECTION: (
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"
    ),
    Ground.NO_FEE: (
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"
    ),
    Ground.OTHER: "3.其他",
}

NEW = "一、本年新收政府信息公开申请数量"
CARRIED = "二、上年结转政府信息公开申请数量"
RESULTS = "三、本年度办理结果"
TOTAL = "（七）总计"
FORWARD = "四、结转下年度继续办理"

REMEDY_GROUPS = ["行政复议", "行政诉讼（未经复议直接起诉）", "行政诉讼（复议后起诉）"]
REMEDY_SUBCOLUMNS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]


def table_grounds(result: Result) -> list[Ground]:
    """The numbered rows under a result: its grounds but those the national
    table counts in another row (COUNTED_AS)."""
    return [g for g in GROUNDS[result] if g not in COUNTED_AS]


def _by_kind(queryset, *groupings: tuple[str, Q]) -> dict[str, list[int]]:
    """For each (key, condition): the count per applicant column and the total,
    all in one query."""
    aggregates = {
        f"{key}__{kind}": Count("pk", filter=cond & Q(applicant_kind=kind))
        for key, cond in groupings
        for kind in KINDS
    }
    counts = queryset.aggregate(**aggregates) if aggregates else {}
    result = {}
    for key, _cond in groupings:
        values = [counts[f"{key}__{kind}"] for kind in KINDS]
        result[key] = [*values, sum(values)]
    return result


def application_table(town, year: int) -> dict:
    """Table 三: {"columns": COLUMNS, "rows": [(label, [7 ints]), …],
    "levels": [0|1|2 per row], "headings": {row index: heading}}.

    The rows, in the national order: 一, 二, then under the heading
    三、本年度办理结果 (placed before the row index given in "headings", with
    no numbers of its own) (一)–(六) with their numbered subtypes and
    (七)总计, then 四. "levels" gives each row's indent (0 一/二/四, 1 (一)…,
    2 a numbered subtype)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    requests = InfoRequest.objects.filter(unit=town)
    concluded = Q(answered_on__gte=start, answered_on__lte=end)
    groupings = [
        ("new", Q(received_on__gte=start, received_on__lte=end)),
        (
            "carried",
            Q(received_on__lt=start)
            & (Q(answered_on__isnull=True) | Q(answered_on__gte=start)),
        ),
        (
            "forward",
            Q(received_on__lte=end)
            & (Q(answered_on__isnull=True) | Q(answered_on__gt=end)),
        ),
    ]
    for result, _label in RESULT_LABELS:
        groupings.append((result.value, concluded & Q(result=result)))
        for ground in table_grounds(result):
            key = f"{result.value}.{ground.value}"
            counted = [ground, *(g for g, row in COUNTED_AS.items() if row == ground)]
            groupings.append((key, concluded & Q(result=result, ground__in=counted)))
    counts = _by_kind(requests, *groupings)

    rows = [(NEW, counts["new"]), (CARRIED, counts["carried"])]
    levels = [0, 0]
    headings = {len(rows): RESULTS}
    total = [0] * len(COLUMNS)
    for result, label in RESULT_LABELS:
        values = counts[result.value]
        total = [a + b for a, b in zip(total, values, strict=True)]
        rows.append((label, values))
        levels.append(1)
        for ground in table_grounds(result):
            key = f"{result.value}.{ground.value}"
            rows.append((GROUND_LABELS[ground], counts[key]))
            levels.append(2)
    rows.append((TOTAL, total))
    levels.append(1)
    rows.append((FORWARD, counts["forward"]))
    levels.append(0)
    return {
        "columns": list(COLUMNS),
        "rows": rows,
        "levels": levels,
        "headings": headings,
    }


def review_litigation_table(town, year: int) -> dict:
    """Table 四: {"columns": [15 labels], "values": [15 ints], "groups":
    REMEDY_GROUPS (3 headings of 5 columns each), "subcolumns":
    REMEDY_SUBCOLUMNS}. A column's label is "<group>：<subcolumn>"."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    cases = Remedy.objects.filter(unit=town).filter(
        Q(filed_on__gte=start, filed_on__lte=end)
        | Q(filed_on__lt=start, decided_on__gte=start, decided_on__lte=end)
    )
    decided_by_end = Q(decided_on__isnull=False, decided_on__lte=end)
    outcomes = [
        Q(outcome=Remedy.Outcome.UPHELD) & decided_by_end,
        Q(outcome=Remedy.Outcome.CORRECTED) & decided_by_end,
        Q(outcome=Remedy.Outcome.OTHER) & decided_by_end,
        ~decided_by_end,
    ]
    kinds = [Remedy.Kind.REVIEW, Remedy.Kind.SUIT, Remedy.Kind.SUIT_AFTER_REVIEW]
    aggregates = {
        f"c{k}_{o}": Count("pk", filter=Q(kind=kind) & cond)
        for k, kind in enumerate(kinds)
        for o, cond in enumerate(outcomes)
    }
    counts = cases.aggregate(**aggregates)
    values = []
    for k in range(len(kinds)):
        group = [counts[f"c{k}_{o}"] for o in range(len(outcomes))]
        values.extend([*group, sum(group)])
    columns = [f"{g}：{s}" for g in REMEDY_GROUPS for s in REMEDY_SUBCOLUMNS]
    return {
        "columns": columns,
        "values": values,
        "groups": list(REMEDY_GROUPS),
        "subcolumns": list(REMEDY_SUBCOLUMNS),
    }
