"""批量导入: a period's routine disclosures from one spreadsheet, as drafts,
every row checked as the admin form checks one, all or nothing."""

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Item
from disclosure import roles
from disclosure.models import ClosedYear, Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

URL = "/admin/disclosure/disclosure/import/"
HEADER = "单位,事项编号,所属期间,标题,正文,本期无此事项\n"


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    item = ItemFactory(code="CW01", frequency=Item.Frequency.MONTHLY)
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    town_admin = staff_user(username="town_admin", group=roles.TOWN_ADMIN)
    return {
        "wenli": wenli,
        "maoshan": maoshan,
        "item": item,
        "editor": editor,
        "town_admin": town_admin,
    }


def sheet(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("导入.csv", (HEADER + text).encode("gb18030"))


def test_the_town_imports_a_months_finance_notices_as_drafts(client, world):
    client.force_login(world["town_admin"])
    rows = (
        "文理村,CW01,2011-06,文理村2011年6月村级财务收支情况公开,正文一,否\n"
        "maoshan,cw01,2011-06,茅山村2011年6月村级财务收支情况公开,正文二,\n"
    )
    response = client.post(URL, {"file": sheet(rows)})
    assert response.status_code == 302
    assert response["Location"].endswith("?status=draft")
    made = Disclosure.objects.order_by("id")
    assert [(d.unit.slug, d.period, d.status) for d in made] == [
        ("wenli", "2011-06", "draft"),
        ("maoshan", "2011-06", "draft"),
    ]
    assert made[0].created_by == world["town_admin"]
    assert made[0].period_start.isoformat() == "2011-06-01"


def test_every_bad_row_is_named_and_nothing_is_saved(client, world):
    client.force_login(world["editor"])
    rows = (
        "文理村,CW01,2011-06,好的一行,正文,否\n"
        "茅山村,CW01,2011-06,别村的,正文,否\n"
        "文理村,XX99,2011-06,没有的事项,正文,否\n"
        "文理村,CW01,2011-Q2,季度不对,正文,否\n"
        "文理村,CW01,2011-07,<b>标记</b>,正文,否\n"
        "文理村,CW01,2011-06,好的一行,正文,否\n"
    )
    text = client.post(URL, {"file": sheet(rows)}).text
    assert "第3行“单位”列：“茅山村”不是您负责的单位。" in text
    assert "第4行“事项编号”列：没有编号为“XX99”的公开事项。" in text
    assert "第5行“所属期间”列：该事项公开时限为" in text
    assert "第6行“标题”列：内容中含有网页标记" in text
    assert "第7行与第2行重复。" in text
    assert not Disclosure.objects.exists()


def test_a_file_imported_twice_is_refused_the_second_time(client, world):
    client.force_login(world["editor"])
    rows = "文理村,CW01,2011-06,六月收支,正文,否\n"
    assert client.post(URL, {"file": sheet(rows)}).status_code == 302
    text = client.post(URL, {"file": sheet(rows)}).text
    assert "第2行：“六月收支”已经在系统中，未重复导入。" in text
    assert Disclosure.objects.count() == 1


def test_a_closed_year_takes_no_import(client, world):
    ClosedYear.objects.create(year=2011)
    client.force_login(world["editor"])
    text = client.post(URL, {"file": sheet("文理村,CW01,2011-06,六月,正文,否\n")}).text
    assert "第2行：该年度已归档" in text
    assert not Disclosure.objects.exists()


def test_a_wrong_header_is_named(client, world):
    client.force_login(world["editor"])
    upload = SimpleUploadedFile(
        "x.csv", "单位,事项,期间\n文理村,CW01,2011-06\n".encode()
    )
    text = client.post(URL, {"file": upload}).text
    assert "第1行（表头）第2列“事项”不是导入表的列名。" in text
    assert "表头缺少列：事项编号、所属期间、标题、正文。" in text


def test_the_import_template_reads_back_and_a_date_cell_is_a_month(client, world):
    client.force_login(world["editor"])
    response = client.get(f"{URL}?template=1")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.getvalue()))
    book.active["C2"] = datetime.date(2011, 6, 1)  # as a spreadsheet keeps 2011-06
    out = io.BytesIO()
    book.save(out)
    upload = SimpleUploadedFile("导入.xlsx", out.getvalue())
    assert client.post(URL, {"file": upload}).status_code == 302
    assert Disclosure.objects.get().period == "2011-06"


def test_the_changelist_links_the_import_for_those_who_may_add(client, world):
    client.force_login(world["editor"])
    assert URL in client.get("/admin/disclosure/disclosure/").text
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    client.force_login(reviewer)
    assert URL not in client.get("/admin/disclosure/disclosure/").text
    assert client.get(URL).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 302


def test_an_existing_notice_of_another_title_does_not_block(client, world):
    DisclosureFactory(unit=world["wenli"], item=world["item"], period="2011-06")
    client.force_login(world["editor"])
    rows = "文理村,CW01,2011-06,六月收支（补充）,正文,否\n"
    assert client.post(URL, {"file": sheet(rows)}).status_code == 302
