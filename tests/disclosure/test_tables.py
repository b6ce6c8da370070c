"""Tables in disclosures: a spreadsheet read and checked (disclosure.tables),
uploaded in the admin under the workflow's rules, shown on the public page,
the printed board and in the archive."""

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from catalog.models import Scope
from disclosure import roles, tables
from disclosure.forms import DisclosureTableForm
from disclosure.models import Disclosure, DisclosureEvent, DisclosureTable
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/disclosure/disclosure/"
ROWS = [
    ["2011-06-03", "记01", "收到镇财政所拨付运转经费", "18000.00", "", "村会计", ""],
    ["2011-06-10", "记02", "支付村干部误工补贴", "", "7200.00", "村会计", ""],
    ["2011-06-15", "记03", "购买办公用品", "", "486.50", "报账员", "附发票2张"],
]


def xlsx(rows=ROWS, title="文理村2011年6月村级财务收支明细表") -> bytes:
    return tables.template_workbook(title=title, rows=rows)


def csv_file(text: str, encoding="utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile("明细.csv", text.encode(encoding))


def parse(content) -> tables.ParsedTable:
    if isinstance(content, bytes):
        content = SimpleUploadedFile("明细.xlsx", content)
    return tables.parse_table(content)


def messages(content) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse(content)
    return caught.value.messages


HEADER = "日期,凭证号,摘要,收入（元）,支出（元）,经手人\n"


# Reading and checking ----------------------------------------------------------


def test_the_template_filled_in_reads_back_as_a_table():
    table = parse(xlsx()).as_data()
    assert table["title_lines"] == ["文理村2011年6月村级财务收支明细表"]
    assert [c["label"] for c in table["columns"]] == tables.TEMPLATE_HEADERS
    assert [c["kind"] for c in table["columns"]][:5] == [
        "date",
        "text",
        "text",
        "amount",
        "amount",
    ]
    assert table["rows"][0] == ROWS[0]
    assert table["rows"][2][4] == "486.50"
    assert table["totals"][2:5] == ["合计", "18000.00", "7686.50"]
    assert table["notes"] == ["制表人：          审核人：          村务监督委员会："]


def test_a_chinese_excel_csv_reads_with_thousands_separators_and_yuan():
    text = (
        "茅山村2011年7月收支明细表\n"
        + HEADER
        + '2011/7/3,记01,收入,"1,200.5",,村会计\n'
        + "7月9日,记02,支出,,￥300元,报账员\n"
        + ",,合计,1200.50,300,\n"
        + "制表人：村会计\n"
    )
    table = parse(csv_file(text, "gb18030")).as_data()
    assert table["rows"][0][0] == "2011-07-03"
    assert table["rows"][1][0] == "7月9日"
    assert table["rows"][0][3] == "1200.50"
    assert table["rows"][1][4] == "300.00"
    assert table["notes"] == ["制表人：村会计"]


def test_a_bad_amount_names_the_row_and_the_column():
    text = HEADER + "2011-06-03,记01,收入,abc,,村会计\n,,合计,0,0,\n"
    assert messages(csv_file(text)) == [
        "第2行“收入（元）”列：“abc”不是金额（如 1234.50，最多两位小数）"
    ]


def test_more_than_two_decimal_places_is_not_an_amount():
    text = HEADER + "2011-06-03,记01,收入,12.345,,村会计\n,,合计,12.345,0,\n"
    assert "第2行“收入（元）”列" in messages(csv_file(text))[0]


def test_a_bad_date_names_the_row_and_the_column():
    text = HEADER + "2011-13-03,记01,收入,1,,村会计\n,,合计,1,,\n"
    assert messages(csv_file(text)) == [
        "第2行“日期”列：“2011-13-03”不是日期（如 2026-01-05）"
    ]


def test_totals_that_do_not_add_up_are_refused_with_both_figures():
    rows = [*ROWS]
    content = tables.template_workbook(rows=rows)
    book = openpyxl.load_workbook(io.BytesIO(content))
    book.active["E6"] = 7000  # the 支出 total: the rows make 7,686.50
    out = io.BytesIO()
    book.save(out)
    assert messages(out.getvalue()) == [
        "第6行“支出（元）”列：合计为 7,000.00 元，但各行相加为 7,686.50 元，请核对。"
    ]


def test_a_table_of_amounts_without_a_totals_row_is_refused():
    text = HEADER + "2011-06-03,记01,收入,1,,村会计\n"
    assert "没有“合计”行" in messages(csv_file(text))[0]


def test_a_balance_column_is_an_amount_not_added_up():
    text = "摘要,收入（元）,余额（元）\n收入,100,600\n收入,50,650\n合计,150,650\n"
    table = parse(csv_file(text)).as_data()
    assert [c["summed"] for c in table["columns"]] == [False, True, False]


def test_an_amount_column_named_without_yuan_says_yuan():
    text = "摘要,金额\n收入,100\n合计,100\n"
    assert parse(csv_file(text)).columns[1].label == "金额（元）"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "文件是空的"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "不支持旧版 Excel（.xls）"),
        (b"PK\x03\x04broken", "无法读取该 Excel 文件"),
        (b"\x89PNG\r\n\x1a\n\0\0\0", "无法识别该文件"),
        (b"\n\n", "文件是空的"),
        (HEADER.encode(), "只有表头"),
        ("只有一行标题\n".encode(), "没有找到表头"),
    ],
)
def test_files_that_are_no_table_get_a_clear_message(content, message):
    assert message in messages(SimpleUploadedFile("x.xlsx", content))[0]


def test_a_file_too_large_or_too_long_is_refused(monkeypatch):
    monkeypatch.setattr(tables, "MAX_BYTES", 100)
    assert "表格文件过大" in messages(xlsx())[0]
    monkeypatch.setattr(tables, "MAX_BYTES", 2 * 1024 * 1024)
    monkeypatch.setattr(tables, "MAX_ROWS", 2)
    assert "行数过多" in messages(xlsx(rows=ROWS * 10))[0]
    text = HEADER + "2011-06-03,记01,收入,1,,村会计\n" * 40
    assert "行数过多" in messages(csv_file(text))[0]


def test_too_many_columns_are_refused():
    text = ",".join(f"列{n}" for n in range(20)) + "\n" + ",".join("1" * 20) + "\n"
    assert "列数过多" in messages(csv_file(text))[0]


def test_a_formula_without_a_saved_value_is_refused_clearly():
    book = openpyxl.load_workbook(io.BytesIO(xlsx()))
    book.active["D6"] = "=SUM(D3:D5)"  # openpyxl saves no computed value
    out = io.BytesIO()
    book.save(out)
    assert "第6行第4列是公式，但文件中没有保存计算结果" in messages(out.getvalue())[0]


def test_a_formula_in_a_csv_is_refused():
    text = HEADER + "2011-06-03,记01,收入,1,,村会计\n,,合计,=SUM(D2),,\n"
    assert messages(csv_file(text)) == [
        "第3行第4列是公式：CSV 文件不保存计算结果，请填写数值。"
    ]


def test_hostile_text_is_refused_by_row_and_column():
    text = (
        HEADER
        + "2011-06-03,记01,<script>alert(1)</script>,1,,村会计\n"
        + "2011-06-04,记02,支出\u202e,,1,村会计\n"
        + ",,合计,1,1,\n"
    )
    assert messages(csv_file(text)) == [
        "第2行“摘要”列含有网页标记（如 <script>），请删除后再上传。",
        "第3行“摘要”列含有不可见的控制字符（U+202E），请删除后再上传。",
    ]


def test_a_computed_float_is_taken_to_the_cent():
    assert tables.parse_amount(0.1 + 0.2) == Decimal("0.30")
    with pytest.raises(ValueError):
        tables.parse_amount(0.123)
    with pytest.raises(ValueError):
        tables.parse_amount("1e12")


# The admin -------------------------------------------------------------------


@pytest.fixture
def setup():
    wenli = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    draft = DisclosureFactory(
        unit=wenli,
        status=Disclosure.Status.DRAFT,
        published_at=None,
        title="文理村2011年6月村级财务收支情况公开",
    )
    return wenli, editor, draft


def change_form(disclosure, content=None, *, existing=None, name="明细.xlsx"):
    form = {
        "unit": disclosure.unit_id,
        "item": disclosure.item_id,
        "title": disclosure.title,
        "body": disclosure.body,
        "period": disclosure.period,
        "scope": disclosure.scope,
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
        "tables-TOTAL_FORMS": 1,
        "tables-INITIAL_FORMS": 1 if existing else 0,
        "tables-0-caption": "",
    }
    if existing:
        form["tables-0-id"] = existing.pk
        form["tables-0-disclosure"] = disclosure.pk
    if content is not None:
        form["tables-0-file"] = SimpleUploadedFile(name, content)
    return form


def post(client, disclosure, form):
    return client.post(f"{ADMIN}{disclosure.pk}/change/", form)


def test_an_editor_uploads_a_table_to_a_draft(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    assert post(client, draft, change_form(draft, xlsx())).status_code == 302
    table = draft.tables.get()
    assert table.uploaded_by == editor
    assert table.caption_text == "文理村2011年6月村级财务收支明细表"
    assert table.row_count == 3
    assert table.file.name.startswith("tables/") and table.file.name.endswith(".xlsx")
    draft.refresh_from_db()
    assert draft.corrected_at is None


def test_a_bad_spreadsheet_is_a_form_error_naming_the_cell(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    bad = HEADER + "2011-06-03,记01,收入,abc,,村会计\n,,合计,0,0,\n"
    response = post(client, draft, change_form(draft, bad.encode(), name="a.csv"))
    assert response.status_code == 200
    assert "第2行“收入（元）”列：“abc”不是金额" in response.text
    assert not DisclosureTable.objects.exists()


def test_a_change_form_without_the_tables_part_still_saves(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    form = change_form(draft)
    for key in [k for k in form if k.startswith("tables-")]:
        del form[key]
    form["title"] = "新标题"
    assert post(client, draft, form).status_code == 302
    draft.refresh_from_db()
    assert draft.title == "新标题"


def test_the_admin_form_links_the_template_which_reads_back(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    page = client.get(f"{ADMIN}{draft.pk}/change/").text
    url = f"{ADMIN}table-template/"
    assert f'href="{url}"' in page
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    assert "filename*=utf-8''%E6%9D%91" in response["Content-Disposition"]
    with pytest.raises(ValidationError, match="只有表头"):
        parse(response.getvalue())
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_an_editor_removes_a_drafts_table(client, setup):
    _, editor, draft = setup
    table = add_table(draft)
    client.force_login(editor)
    form = change_form(draft, existing=table)
    form["tables-0-DELETE"] = "on"
    assert post(client, draft, form).status_code == 302
    assert not draft.tables.exists()


def test_a_blank_table_form_is_there_without_javascript(client, setup):
    _, editor, draft = setup
    client.force_login(editor)
    page = client.get(f"{ADMIN}{draft.pk}/change/").text
    assert 'name="tables-0-file"' in page


def test_the_original_file_is_never_linked(client, setup):
    wenli, editor, _ = setup
    published = DisclosureFactory(unit=wenli)
    add_table(published)
    client.force_login(editor)
    page = client.get(f"{ADMIN}{published.pk}/change/").text
    inline = page.split('id="tables-group"', 1)[1].split("</fieldset>", 1)[0]
    assert "3 行；收入（元） 18,000.00；支出（元） 7,686.50" in page
    assert "/media/" not in inline and "tables/" not in inline


def test_after_publication_an_editor_cannot_add_a_table(client, setup):
    wenli, editor, _ = setup
    published = DisclosureFactory(unit=wenli)
    client.force_login(editor)
    assert post(client, published, change_form(published, xlsx())).status_code == 403
    assert not published.tables.exists()


def test_a_table_added_or_replaced_after_publication_is_a_correction(client, setup):
    wenli, _, _ = setup
    published = DisclosureFactory(unit=wenli)
    town_admin = staff_user(username="town_admin", group=roles.TOWN_ADMIN)
    client.force_login(town_admin)
    assert post(client, published, change_form(published, xlsx())).status_code == 302
    published.refresh_from_db()
    assert published.corrected_at is not None
    event = published.events.get(action=DisclosureEvent.Action.CORRECTED)
    assert event.comment == "tables"
    table = published.tables.get()
    first_file = table.file.name
    fixed = [*ROWS[:2], [*ROWS[2][:4], "468.50", *ROWS[2][5:]]]
    form = change_form(published, xlsx(rows=fixed), existing=table)
    assert post(client, published, form).status_code == 302
    table.refresh_from_db()
    assert table.data["rows"][2][4] == "468.50"
    assert published.events.filter(action=DisclosureEvent.Action.CORRECTED).count() == 2
    # The table first published is kept, with its file.
    versions = list(table.history.order_by("history_date"))
    assert versions[0].data["rows"][2][4] == "486.50"
    assert versions[0].file == first_file
    assert table.file.storage.exists(first_file)
    # A published table is replaced, never removed.
    form = change_form(published, existing=table)
    form["tables-0-DELETE"] = "on"
    assert post(client, published, form).status_code == 302
    assert published.tables.exists()


# Where a table is shown -------------------------------------------------------


def add_table(disclosure, content=None) -> DisclosureTable:
    form = DisclosureTableForm(
        data={"caption": ""},
        files={"file": SimpleUploadedFile("明细.xlsx", content or xlsx())},
        instance=DisclosureTable(disclosure=disclosure),
    )
    assert form.is_valid(), form.errors
    return form.save()


def test_the_public_page_shows_an_accessible_table(client, setup):
    wenli, _, _ = setup
    published = DisclosureFactory(unit=wenli, title="收支情况公开")
    table = add_table(published)
    text = client.get(f"/disclosures/{published.pk}/").text
    assert (
        f'<div class="table-scroll" role="region" tabindex="0" '
        f'aria-labelledby="table-{table.pk}-caption">' in text
    )
    assert f'<caption id="table-{table.pk}-caption">文理村2011年6月' in text
    assert '<th scope="col" class="amount">收入（元）</th>' in text
    assert '<td class="amount">18,000.00</td>' in text
    assert '<tfoot><tr><td></td><td></td><th scope="row">合计</th>' in text
    assert '<td class="amount">7,686.50</td>' in text
    assert "style=" not in text


def test_an_inner_party_table_is_not_shown_to_the_public(client, setup):
    wenli, _, _ = setup
    inner = DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), scope=Scope.INNER_PARTY
    )
    add_table(inner)
    assert client.get(f"/disclosures/{inner.pk}/").status_code == 404
    assert "18,000.00" not in client.get("/boards/wenli/print/").text


def test_the_printed_board_shows_the_table_below_the_columns(client, setup):
    wenli, _, _ = setup
    published = DisclosureFactory(unit=wenli, title="收支情况公开")
    add_table(published)
    text = client.get("/boards/wenli/print/").text
    assert "明细表见下方。" in text
    section = text.split('<section class="print-tables"', 1)[1]
    assert "<caption" in section and "18,000.00" in section
    assert "收支情况公开" in section


def test_the_archive_holds_the_table_and_its_original_file(tmp_path, setup):
    wenli, _, _ = setup
    published = DisclosureFactory(unit=wenli, period="2011-06")
    table = add_table(published)
    out = io.StringIO()
    call_command(
        "export_archive", year=2011, output=tmp_path, stdout=out, stderr=io.StringIO()
    )
    path = Path(out.getvalue().split(" (")[0])
    with zipfile.ZipFile(path) as zf:
        name = f"tables/wenli/{published.pk}/{table.pk}.xlsx"
        with table.file.open("rb") as original:
            assert zf.read(name) == original.read()
        assert f"  {name}\n" in zf.read("MANIFEST.sha256").decode()
        record = json.loads(zf.read("disclosures.json"))["disclosures"][0]
        assert record["tables"][0]["data"]["totals"][3] == "18000.00"
        assert record["tables"][0]["path"] == name
        index = zf.read("index.html").decode()
        assert '<td class="amount">18,000.00</td>' in index
        assert f'href="{name}"' in index
