"""Hostile and odd spreadsheets (issue 18's attack): each is read as the
editor meant it, or refused with a Chinese message naming the cell."""

from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from disclosure import tables

HEADER = "日期,摘要,收入（元）\n"


def upload(text: str, encoding="utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile("明细.csv", text.encode(encoding))


def one_row(summary="收到拨款", amount="10", total="10", sep=","):
    lines = ["日期", "摘要", "收入（元）"], ["2011-06-03", summary, amount]
    lines = [*lines, ["", "合计", total]]
    return "\n".join(sep.join(line) for line in lines) + "\n"


def messages(content) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        tables.parse_table(content)
    return caught.value.messages


def test_a_semicolon_csv_is_read_like_a_comma_one():
    # A spreadsheet set to a European locale saves ";" between cells.
    text = "文理村收支表\n" + one_row(summary="办公用品,纸张", sep=";")
    table = tables.parse_table(upload(text, "gbk"))
    assert table.rows == [["2011-06-03", "办公用品,纸张", "10.00"]]
    assert table.title_lines == ["文理村收支表"]


def test_excels_unicode_text_utf16_tab_file_is_read():
    table = tables.parse_table(upload(one_row(sep="\t"), "utf-16"))
    assert table.totals == ["", "合计", "10.00"]


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("１２．５０", "12.50"),  # 全角 digits and point
        ("１，２００元", "1200.00"),
        ("￥1 200", "1200.00"),  # a space between thousands
        ("\u221210", "-10.00"),  # the minus sign, not a hyphen
        ("-0", "0.00"),  # never shown as -0.00
    ],
)
def test_amounts_as_a_chinese_input_method_types_them(typed, stored):
    assert str(tables.parse_amount(typed)) == stored


def test_digits_of_other_scripts_are_not_amounts():
    with pytest.raises(ValueError):
        tables.parse_amount("١٢")


@pytest.mark.parametrize("char", ["\u200b", "\u200f", "\u2060", "\ufeff", "\u061c"])
def test_invisible_characters_in_a_cell_are_refused(char):
    text = one_row(summary=f"收到{char}拨款")
    assert messages(upload(text)) == [
        f"第2行“摘要”列含有看不见的字符（U+{ord(char):04X}），请删除后再上传。"
    ]


def test_text_starting_with_equals_in_an_xlsx_is_refused_not_dropped():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["日期", "摘要", "收入（元）"])
    sheet.append(["2011-06-03", "x", 10])
    sheet.append(["", "合计", 10])
    # A text cell (not a formula) that reads =HYPERLINK(…): before, it was
    # silently stored as an empty cell.
    sheet["B2"].value = '=HYPERLINK("http://evil.example","点此")'
    sheet["B2"].data_type = "s"
    import io

    out = io.BytesIO()
    book.save(out)
    assert messages(SimpleUploadedFile("明细.xlsx", out.getvalue())) == [
        "第2行第2列以“=”开头，表格软件会把它当作公式：请删去“=”，或在前面加上文字后再上传。"
    ]


def test_negative_amounts_add_up_and_a_mismatch_names_both_figures():
    table = tables.parse_table(upload(one_row(amount="-10", total="-10")))
    assert table.rows[0][2] == "-10.00"
    assert messages(upload(one_row(amount="-10", total="10"))) == [
        "第3行“收入（元）”列：合计为 10.00 元，但各行相加为 -10.00 元，请核对。"
    ]


def test_a_nul_byte_or_a_huge_cell_or_ten_thousand_columns():
    assert messages(upload(one_row(summary="a\x00b"))) == [
        "无法识别该文件：请上传 .xlsx 或 CSV 表格文件。"
    ]
    assert "一格最多 200 字" in messages(upload(one_row(summary="长" * 100000)))[0]
    wide = ",".join(f"列{i}" for i in range(10000)) + "\n"
    assert messages(upload(wide)) == [
        "表格列数过多：第1行有 10000 列，一张表最多 12 列。"
    ]


def test_amounts_keep_their_value_to_the_cent():
    assert tables.parse_amount("1,234.5元") == Decimal("1234.50")


def test_an_xlsx_declaring_16384_columns_is_read_quickly():
    import io
    import time

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["日期", "摘要", "收入（元）"])
    for _ in range(500):
        sheet.append(["2011-06-03", "收到拨款", 1])
    sheet.append(["", "合计", 500])
    # One cell in the last column: every row was padded to 16,384 cells.
    sheet.cell(row=1, column=16384, value="x")
    out = io.BytesIO()
    book.save(out)
    started = time.monotonic()
    table = tables.parse_table(SimpleUploadedFile("明细.xlsx", out.getvalue()))
    assert time.monotonic() - started < 2
    assert len(table.rows) == 500 and table.totals[2] == "500.00"


def test_a_csv_line_of_a_hundred_thousand_cells_is_cut_and_named():
    far = ",".join(["日期", "摘要", "收入（元）"] + [""] * 100000 + ["x"])
    text = far + "\n2011-06-03,收到,1\n,合计,1\n"
    assert messages(upload(text)) == [
        "表格列数过多：第1行有 100004 列，一张表最多 12 列。"
    ]


@pytest.mark.django_db
def test_a_tables_caption_with_markup_is_refused():
    from disclosure.forms import DisclosureTableForm

    form = DisclosureTableForm(
        data={"caption": "<script>alert(1)</script>收支表"},
        files={"file": upload(one_row())},
    )
    assert not form.is_valid()
    assert form.errors["caption"] == [
        "内容中含有网页标记（如 <script>、<a>），请删除后再提交。"
    ]
