"""Tables in disclosures: a spreadsheet (xlsx or csv) read into a checked table.

Village finances are disclosed as tables (村级财务收支明细表). An editor
uploads the spreadsheet; `parse_table` reads its first sheet into plain data
(`ParsedTable.as_data()`, stored as JSON on `DisclosureTable`) or raises a
ValidationError whose messages name the row and the column, as the editor's
spreadsheet program numbers them. The rules:

- the header row is the first row with two or more cells filled; rows before
  it with one cell are the table's title lines;
- a column whose header says 元 or 金额 holds amounts: Decimal 元 with at
  most two places; a 余额 column is an amount but is not added up;
- a column whose header says 日期 holds dates;
- the row whose text cell says 合计 or 总计 is the totals row: required when
  there are amounts, each added-up column's total equal to its rows' sum;
  rows after it with one cell are notes (制表人, 审核人 …);
- every cell's text passes `core.security`'s checks (no control characters,
  no markup); a formula is read from the value the spreadsheet saved with it,
  and refused if the file holds none.

Types are decided by content, never by file name; size, rows and columns are
limited before anything is parsed.
"""

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.security import CONTROL_CHARACTERS, sanitise

MAX_BYTES = 2 * 1024 * 1024
# An xlsx is a ZIP: what it unpacks to is limited too (a ZIP bomb).
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
MAX_ROWS = 1000
MAX_COLUMNS = 12
# An xlsx may declare 16,384 columns with one cell far out: read-only
# openpyxl pads every row to the declared width (a 16 KB file took 5 s and
# 450 MB). Columns past this one are not read (a table has at most 12).
READ_COLUMNS = 64
MAX_CELL_CHARS = 200
MAX_AMOUNT = Decimal("1000000000000")  # 1 万亿元: more is a typing error
MAX_ERRORS = 10
CENT = Decimal("0.01")

TOTAL_LABELS = ("合计", "总计")
TEMPLATE_HEADERS = [
    "日期",
    "凭证号",
    "摘要",
    "收入（元）",
    "支出（元）",
    "经手人",
    "备注",
]
# Invisible in a cell yet part of its text: zero-width spaces and joiners,
# the bidirectional marks, a byte-order mark pasted in (core.security's
# CONTROL_CHARACTERS holds the C0/C1 controls and the bidi overrides). A
# table is figures checked by eye: what a resident cannot see is refused.
INVISIBLE = re.compile("[\u061c\u200b-\u200f\u2060-\u2064\ufeff]")
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls, .doc: the old binary formats

FORMULA_TEXT = _lazy(
    "第%(row)d行第%(column)d列以“=”开头，表格软件会把它当作公式："
    "请删去“=”，或在前面加上文字后再上传。"
)
AMOUNT = "amount"
DATE = "date"
TEXT = "text"

DATE_PATTERNS = [
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<m>\d{1,2})月(?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$"),
]


@dataclass
class Column:
    label: str
    kind: str = TEXT
    summed: bool = False

    def as_data(self) -> dict:
        return {"label": self.label, "kind": self.kind, "summed": self.summed}


@dataclass
class ParsedTable:
    title_lines: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    totals: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def as_data(self) -> dict:
        return {
            "title_lines": self.title_lines,
            "columns": [c.as_data() for c in self.columns],
            "rows": self.rows,
            "totals": self.totals,
            "notes": self.notes,
        }


class TableErrors(Exception):
    """Collects messages so the editor sees every problem at once."""

    def __init__(self):
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)
        if len(self.messages) >= MAX_ERRORS:
            self.messages.append(_("错误较多，只列出前 %(n)d 条。") % {"n": MAX_ERRORS})
            raise self

    def raise_any(self) -> None:
        if self.messages:
            raise self


def _where(row: int, column: str) -> str:
    return _("第%(row)d行“%(column)s”列") % {"row": row, "column": column}


def _short(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "…"


# Reading the file ---------------------------------------------------------------


def parse_table(upload) -> ParsedTable:
    """Read and check an uploaded spreadsheet, or raise ValidationError."""
    errors = TableErrors()
    try:
        table = _check(read_cells(upload, errors), errors)
        errors.raise_any()
    except TableErrors as exc:
        raise ValidationError(exc.messages) from None
    return table


def read_cells(upload, errors: TableErrors) -> list[tuple[int, list]]:
    """The first sheet's rows, each with its number as the spreadsheet shows
    it; a file that is no spreadsheet, or too large, is a ValidationError,
    a formula without its value a message in `errors`."""
    if upload.size == 0:
        raise ValidationError(_("文件是空的，请选择填好的表格文件。"))
    if upload.size > MAX_BYTES:
        raise ValidationError(
            _("表格文件过大（%(size).1f MB），不能超过 %(max)d MB。")
            % {"size": upload.size / 1024 / 1024, "max": MAX_BYTES // 1024 // 1024}
        )
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if data.startswith(XLSX_MAGIC):
        return _xlsx_rows(data, errors)
    if data.startswith(OLE_MAGIC):
        raise ValidationError(
            _(
                "不支持旧版 Excel（.xls）文件：请在 WPS 或 Excel 中“另存为” "
                ".xlsx 或 CSV 后再上传。"
            )
        )
    return _csv_rows(data, errors)


def _xlsx_rows(data: bytes, errors: TableErrors) -> list[tuple[int, list]]:
    import openpyxl

    not_readable = ValidationError(
        _(
            "无法读取该 Excel 文件：文件已损坏，或不是 .xlsx 表格。"
            "请在 WPS 或 Excel 中“另存为” .xlsx 后再上传。"
        )
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        raise not_readable from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValidationError(_("表格内容过多，请只保留要公开的一张表后再上传。"))
    try:
        # Two readings: the values the spreadsheet saved, and the formulas.
        values = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True
        )
        formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        sheet, formula_sheet = values.worksheets[0], formulas.worksheets[0]
        value_rows = _limited(sheet.iter_rows(values_only=True, max_col=READ_COLUMNS))
        formula_rows = _limited(
            formula_sheet.iter_rows(values_only=True, max_col=READ_COLUMNS)
        )
        values.close()
        formulas.close()
    except ValidationError:
        raise
    except Exception:  # whatever a damaged file makes openpyxl raise
        raise not_readable from None
    rows = []
    for number, (row, written) in enumerate(
        zip(value_rows, formula_rows, strict=False), start=1
    ):
        row = list(row)
        for index, (value, source) in enumerate(zip(row, written, strict=False)):
            if value is None and isinstance(source, str) and source.startswith("="):
                errors.add(
                    _(
                        "第%(row)d行第%(column)d列是公式，但文件中没有保存计算结果："
                        "请在 WPS 或 Excel 中打开后保存一次再上传，或把公式改为数值。"
                    )
                    % {"row": number, "column": index + 1}
                )
            elif isinstance(value, str) and value.strip().startswith("="):
                # Text typed as ="…" (or with a leading apostrophe): it would be
                # a formula again in any spreadsheet made from the table.
                errors.add(FORMULA_TEXT % {"row": number, "column": index + 1})
        rows.append((number, row))
    return rows


def _limited(rows) -> list[tuple]:
    # A sheet may declare a million rows: stop reading past the limit (and a
    # few blank rows after the table).
    out = []
    for row in rows:
        out.append(row)
        if len(out) > MAX_ROWS + 20:
            raise ValidationError(
                _("表格行数过多：一张表最多 %(max)d 行。") % {"max": MAX_ROWS}
            )
    return out


def _csv_rows(data: bytes, errors: TableErrors) -> list[tuple[int, list]]:
    # WPS and Excel on Chinese Windows save CSV as GB18030 (GBK); others UTF-8.
    # Excel's "Unicode 文本" is UTF-16 with its byte-order mark.
    encodings = ("utf-8-sig", "gb18030")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encodings = ("utf-16",)
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(_("无法识别该文件：请上传 .xlsx 或 CSV 表格文件。"))
    if "\x00" in text or not text.strip():
        raise ValidationError(
            _("无法识别该文件：请上传 .xlsx 或 CSV 表格文件。")
            if text.strip()
            else _("文件是空的，请选择填好的表格文件。")
        )
    delimiter = _delimiter(text)
    rows = []
    try:
        for number, row in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1
        ):
            if number > MAX_ROWS + 20:
                raise ValidationError(
                    _("表格行数过多：一张表最多 %(max)d 行。") % {"max": MAX_ROWS}
                )
            if len(row) > READ_COLUMNS:  # a line of a million commas
                if any(row[READ_COLUMNS:]):
                    raise ValidationError(
                        _(
                            "表格列数过多：第%(row)d行有 %(n)d 列，"
                            "一张表最多 %(max)d 列。"
                        )
                        % {"row": number, "n": len(row), "max": MAX_COLUMNS}
                    )
                row = row[:READ_COLUMNS]
            for index, value in enumerate(row):
                if value.strip().startswith("="):
                    errors.add(
                        _(
                            "第%(row)d行第%(column)d列是公式：CSV 文件不保存计算结果，"
                            "请填写数值。"
                        )
                        % {"row": number, "column": index + 1}
                    )
            rows.append((number, row))
    except csv.Error:
        raise ValidationError(
            _("CSV 文件格式不正确（引号不成对等）：请在 WPS 或 Excel 中另存后再上传。")
        ) from None
    return rows


def _delimiter(text: str) -> str:
    """Comma, tab (Excel's Unicode text) or semicolon (a spreadsheet set to a
    European locale): the one the first lines use most; a title line above
    the header holds none."""
    head = text.splitlines()[:5]
    counts = {d: sum(line.count(d) for line in head) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# Checking the cells -----------------------------------------------------------


def filled(row: list) -> list[int]:
    return [i for i, value in enumerate(row) if cell_text(value) != ""]


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if not value.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def checked_text(value, where: str, errors: TableErrors) -> str:
    text = cell_text(value)
    found = CONTROL_CHARACTERS.search(text)
    if found:
        errors.add(
            _("%(where)s含有不可见的控制字符（%(code)s），请删除后再上传。")
            % {"where": where, "code": f"U+{ord(found.group()):04X}"}
        )
        return ""
    found = INVISIBLE.search(text)
    if found:
        errors.add(
            _("%(where)s含有看不见的字符（%(code)s），请删除后再上传。")
            % {"where": where, "code": f"U+{ord(found.group()):04X}"}
        )
        return ""
    if sanitise(text) != text:
        errors.add(
            _("%(where)s含有网页标记（如 <script>），请删除后再上传。")
            % {"where": where}
        )
        return ""
    if len(text) > MAX_CELL_CHARS:
        errors.add(
            _("%(where)s的文字过长（%(n)d 字），一格最多 %(max)d 字。")
            % {"where": where, "n": len(text), "max": MAX_CELL_CHARS}
        )
        return ""
    return text


def _column_kind(label: str) -> Column:
    if "日期" in label:
        return Column(label, DATE)
    if "元" in label or "金额" in label:
        shown = label if "元" in label else f"{label}（元）"
        # A balance is carried forward, never added up.
        return Column(shown, AMOUNT, summed="余额" not in label)
    return Column(label, TEXT)


def parse_amount(value) -> Decimal | None:
    """An amount in 元 as Decimal with two places; None if blank; ValueError
    if it is not an amount or has more than two places."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        # A float from a spreadsheet's calculation (0.1 + 0.2): to the cent,
        # unless it is more than a rounding away from it.
        amount = Decimal(str(value))
        rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
        if abs(amount - rounded) > Decimal("0.000001"):
            raise ValueError
        amount = rounded
    else:
        # 全角 digits and points (１２．５０), the minus sign, spaces as
        # thousands separators: as typed in a Chinese input method.
        text = unicodedata.normalize("NFKC", str(value)).replace("\u2212", "-")
        text = re.sub(r"[,\s]", "", text)
        text = text.removeprefix("¥").removesuffix("元")
        if not re.fullmatch(r"-?\d+(\.\d{1,2})?", text, re.ASCII):
            raise ValueError
        amount = Decimal(text).quantize(CENT)
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError
    return amount + 0  # -0.00 is 0.00


def _parse_date(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and 20000 <= value <= 80000:
        from openpyxl.utils.datetime import from_excel  # an unformatted date cell

        return from_excel(value).date().isoformat()
    text = cell_text(value)
    for pattern in DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            parts = match.groupdict()
            try:
                year = int(parts.get("y") or 2000)  # a leap year: 2月29日
                day = date(year, int(parts["m"]), int(parts["d"]))
            except ValueError:
                break
            return day.isoformat() if parts.get("y") else text
    raise ValueError


def format_amount(text: str) -> str:
    """A stored amount ("1234.50") as shown: 1,234.50."""
    return f"{Decimal(text):,.2f}" if text else ""


def _check(cells: list[tuple[int, list]], errors: TableErrors) -> ParsedTable:
    table = ParsedTable()
    rows = [(number, row) for number, row in cells if filled(row)]
    if not rows:
        raise ValidationError(_("表格中没有内容。"))
    # Title lines, then the header.
    position = 0
    while position < len(rows) and len(filled(rows[position][1])) < 2:
        number, row = rows[position]
        index = filled(row)[0]
        table.title_lines.append(
            checked_text(row[index], _("第%(row)d行") % {"row": number}, errors)
        )
        position += 1
    if position == len(rows):
        raise ValidationError(
            _("没有找到表头：表头行应有两列以上的列名，如“日期、摘要、收入（元）”。")
        )
    header_number, header = rows[position]
    width = max(filled(header)) + 1
    if width > MAX_COLUMNS:
        raise ValidationError(
            _("表格列数过多（%(n)d 列），一张表最多 %(max)d 列。")
            % {"n": width, "max": MAX_COLUMNS}
        )
    reported = len(errors.messages)
    for index in range(width):
        label = checked_text(
            header[index], _("表头第%(column)d列") % {"column": index + 1}, errors
        )
        if not label:
            errors.add(
                _("第%(row)d行（表头）第%(column)d列没有列名。")
                % {"row": header_number, "column": index + 1}
            )
        table.columns.append(_column_kind(label))
    if len(errors.messages) > reported:  # the rows cannot be read without it
        errors.raise_any()
    body = rows[position + 1 :]
    if len(body) > MAX_ROWS:
        raise ValidationError(
            _("表格行数过多（%(n)d 行），一张表最多 %(max)d 行。")
            % {"n": len(body), "max": MAX_ROWS}
        )
    totals_at = None
    parsed_rows: list[tuple[int, list[str]]] = []
    for number, row in body:
        if totals_at is not None:
            # After 合计: notes such as 制表人, 审核人 (their cells joined).
            table.notes.append(
                "  ".join(
                    checked_text(row[i], _("第%(row)d行") % {"row": number}, errors)
                    for i in filled(row)
                )
            )
            continue
        beyond = [i for i in filled(row) if i >= width]
        if beyond:
            errors.add(
                _("第%(row)d行第%(column)d列在表头之外：请删除，或为该列填写列名。")
                % {"row": number, "column": beyond[0] + 1}
            )
            continue
        values = _row_values(number, row, table.columns, errors)
        if any(
            v.replace(" ", "").replace("\u3000", "") in TOTAL_LABELS
            for v, c in zip(values, table.columns, strict=True)
            if c.kind != AMOUNT
        ):
            totals_at = number
            table.totals = values
        else:
            parsed_rows.append((number, values))
    table.rows = [values for _number, values in parsed_rows]
    errors.raise_any()
    if not table.rows:
        raise ValidationError(_("表格只有表头，没有数据行。"))
    _check_totals(table, totals_at, errors)
    return table


def _row_values(number: int, row: list, columns: list[Column], errors) -> list[str]:
    values = []
    for index, column in enumerate(columns):
        value = row[index] if index < len(row) else None
        where = _where(number, column.label)
        if cell_text(value).startswith("="):
            values.append("")  # a formula without its value: reported already
        elif column.kind == AMOUNT and cell_text(value) not in TOTAL_LABELS:
            try:
                amount = parse_amount(value)
            except (ValueError, InvalidOperation):
                errors.add(
                    _("%(where)s：“%(value)s”不是金额（如 1234.50，最多两位小数）")
                    % {"where": where, "value": _short(cell_text(value))}
                )
                values.append("")
                continue
            values.append("" if amount is None else str(amount))
        elif (
            column.kind == DATE
            and cell_text(value)
            and cell_text(value) not in TOTAL_LABELS
        ):
            try:
                values.append(_parse_date(value))
            except ValueError:
                errors.add(
                    _("%(where)s：“%(value)s”不是日期（如 2026-01-05）")
                    % {"where": where, "value": _short(cell_text(value))}
                )
                values.append("")
        else:
            values.append(checked_text(value, where, errors))
    return values


def _check_totals(table: ParsedTable, totals_at: int | None, errors) -> None:
    summed = [i for i, c in enumerate(table.columns) if c.summed]
    if not summed:
        return
    if table.totals is None:
        raise ValidationError(
            _(
                "表格中没有“合计”行：请在最后一行的摘要列填写“合计”，并填写各金额列的合计。"
            )
        )
    for index in summed:
        label = table.columns[index].label
        rows_sum = sum(
            (Decimal(row[index]) for row in table.rows if row[index]), Decimal("0.00")
        )
        stated = table.totals[index]
        if stated == "":
            if rows_sum:
                errors.add(
                    _("%(where)s：合计为空，各行相加为 %(sum)s 元。")
                    % {"where": _where(totals_at, label), "sum": f"{rows_sum:,.2f}"}
                )
            continue
        if Decimal(stated) != rows_sum:
            errors.add(
                _("%(where)s：合计为 %(stated)s 元，但各行相加为 %(sum)s 元，请核对。")
                % {
                    "where": _where(totals_at, label),
                    "stated": f"{Decimal(stated):,.2f}",
                    "sum": f"{rows_sum:,.2f}",
                }
            )


# The template -------------------------------------------------------------------


def _column_sum(rows: list[list], index: int) -> float:
    return float(sum((parse_amount(row[index]) or 0 for row in rows), Decimal(0)))


def template_workbook(
    *, title: str = "", rows: list[list] | None = None, notes: list[str] = ()
) -> bytes:
    """The 村级财务收支明细表 as an .xlsx: a title line, the header, the rows
    (none: a few blank ones to fill) and a 合计 row whose sums are formulas
    saved with their values, so that the file reads back as it shows."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = _("收支明细表")
    sheet.append([title or _("××村××××年×月村级财务收支明细表")])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=7)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(TEMPLATE_HEADERS)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    rows = rows if rows is not None else [["", "", "", None, None, "", ""]] * 3
    for row in rows:
        sheet.append(list(row))
    # Plain values: a formula written here would have no saved result until a
    # spreadsheet program opens the file (and would be refused if uploaded
    # unopened). The editor may type =SUM() once rows are filled in.
    sheet.append(["", "", _("合计"), _column_sum(rows, 3), _column_sum(rows, 4)])
    total_row = sheet.max_row
    for column in ("D", "E"):
        for row in range(3, total_row + 1):
            sheet[f"{column}{row}"].number_format = "#,##0.00"
    sheet[f"C{total_row}"].font = Font(bold=True)
    for note in notes or [_("制表人：          审核人：          村务监督委员会：")]:
        sheet.append([note])
    for column, width in zip("ABCDEFG", (12, 10, 32, 14, 14, 10, 16), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
