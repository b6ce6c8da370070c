"""The printable unified board: the same structure for every unit, QR codes,
the visibility rule on the page and in its PDF."""

import io
import re
from datetime import timedelta

import pypdf
import pytest
import qrcode
from django.test import Client
from django.utils import timezone

from catalog.models import Catalog, Item, Scope, Timing
from disclosure.models import Disclosure
from disclosure.views import COLUMN_SIZE, board_columns
from disclosure.views_print import SHEET_CHARS, split_body
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

HEADING_RE = re.compile(r'<h2 class="board-column-title">([^<]+)<span')
SECTION_RE = re.compile(r'<section class="print-column (board-\w+)">')


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    party = CatalogFactory(kind=Catalog.Kind.PARTY, order=1)
    village = CatalogFactory(kind=Catalog.Kind.VILLAGE, order=3)
    organisation = CategoryFactory(catalog=party, name="组织建设", order=2)
    affairs = CategoryFactory(catalog=party, name="党内事务", order=1)
    finance = CategoryFactory(catalog=village, name="村级财务", order=1)
    public_item = ItemFactory(category=organisation, code="A09")
    inner_item = ItemFactory(category=affairs, code="B01", scope=Scope.INNER_PARTY)
    finance_item = ItemFactory(category=finance, code="C01")
    DisclosureFactory(unit=wenli, item=public_item, title="文理村党员发展公示")
    DisclosureFactory(unit=wenli, item=inner_item, title="文理村党内情况通报")
    DisclosureFactory(
        unit=wenli, item=finance_item, title="文理村九月财务收支", period="2011-09"
    )
    DisclosureFactory(
        unit=wenli,
        item=finance_item,
        title="文理村未发布草稿",
        status=Disclosure.Status.DRAFT,
        published_at=None,
    )
    DisclosureFactory(unit=maoshan, item=finance_item, title="茅山村财务收支")
    return {"wenli": wenli, "maoshan": maoshan}


def print_page(client, unit):
    return client.get(f"/boards/{unit.slug}/print/")


def test_every_unit_prints_the_same_columns_in_the_same_order(client, world):
    pages = [print_page(client, world[name]) for name in ("wenli", "maoshan")]
    assert [page.status_code for page in pages] == [200, 200]
    headings = [HEADING_RE.findall(page.content.decode()) for page in pages]
    sections = [SECTION_RE.findall(page.content.decode()) for page in pages]
    assert headings[0] == headings[1] == ["党内事务", "组织建设", "村级财务"]
    assert sections[0] == sections[1] == ["board-party", "board-party", "board-village"]
    # The order is the board page's: board_columns, not a copy of it.
    expected = [c["category"].name for c in board_columns(world["wenli"], [])]
    assert headings[0] == expected


def test_print_page_shows_unit_period_and_date_printed(client, world):
    page = print_page(client, world["wenli"]).content.decode()
    today = timezone.localdate()
    assert "文理村党务村务公开栏" in page
    assert "2011年9月" in page  # the period of what is on the board
    assert f"{today.year}年{today.month}月{today.day}日" in page  # date printed
    assert "文理村九月财务收支" in page
    assert "茅山村财务收支" not in page


def modules(svg: str) -> set[tuple[int, int]]:
    return {(int(x), int(y)) for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", svg)}


def expected_modules(url: str) -> set[tuple[int, int]]:
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    return {
        (x, y)
        for y, row in enumerate(code.get_matrix())
        for x, dark in enumerate(row)
        if dark
    }


def test_qr_codes_encode_the_online_board_and_the_feedback_form(client, world):
    page = print_page(client, world["wenli"]).content.decode()
    svgs = re.findall(r'<svg class="qr".*?</svg>', page, flags=re.S)
    assert len(svgs) == 2
    board_url = "http://testserver/boards/wenli/"
    feedback_url = "http://testserver/feedback/new/?unit=wenli"
    assert modules(svgs[0]) == expected_modules(board_url)
    assert modules(svgs[1]) == expected_modules(feedback_url)
    # Printed beside the codes too, for whoever cannot scan.
    assert board_url in page
    assert feedback_url.replace("&", "&amp;") in page


def test_feedback_form_answers_the_printed_link(client, world):
    response = client.get("/feedback/new/?unit=wenli")
    assert response.status_code == 200


def test_print_page_has_no_inline_style_or_script(client, world):
    page = print_page(client, world["wenli"]).content.decode()
    assert " style=" not in page
    assert "<style" not in page
    assert "<script" not in page
    assert "/static/css/print.css" in page


def test_inner_party_item_is_absent_for_anonymous_and_shown_to_party_members(
    party_client, world
):
    anonymous = Client()
    assert "文理村党内情况通报" not in print_page(anonymous, world["wenli"]).text
    response = print_page(party_client, world["wenli"])
    assert "文理村党内情况通报" in response.text
    assert response["Cache-Control"] == "private, no-store"


def test_drafts_are_never_printed(party_client, world):
    page = print_page(party_client, world["wenli"]).content.decode()
    assert "文理村未发布草稿" not in page


def test_unknown_unit_is_404(client, world):
    assert client.get("/boards/nowhere/print/").status_code == 404
    assert client.get("/boards/nowhere/print.pdf").status_code == 404


def test_page_size_comes_from_settings(client, settings):
    settings.BOARD_PRINT_PAGE_SIZE = "A4 portrait"
    response = client.get("/board-print-page.css")
    assert response["Content-Type"].startswith("text/css")
    assert "size: A4 portrait;" in response.content.decode()


def test_board_page_links_to_print_and_pdf(client, world):
    page = client.get("/boards/wenli/").content.decode()
    assert 'href="/boards/wenli/print/"' in page
    assert 'href="/boards/wenli/print.pdf"' in page


# The PDF (WeasyPrint) -------------------------------------------------------------


def pdf_of(client, unit):
    response = client.get(f"/boards/{unit.slug}/print.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    return pypdf.PdfReader(io.BytesIO(response.content))


def text_of(reader) -> str:
    # CJK text extraction can put spaces or line breaks between glyphs.
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def test_pdf_is_the_board_on_a3_landscape_without_inner_party_items(client, world):
    reader = pdf_of(client, world["wenli"])
    box = reader.pages[0].mediabox
    # A3 landscape: 420 mm × 297 mm in points.
    assert (round(float(box.width)), round(float(box.height))) == (1191, 842)
    text = text_of(reader)
    assert "文理村党务村务公开栏" in text
    assert "党内事务" in text  # the column is always there …
    assert "文理村九月财务收支" in text
    assert "文理村党内情况通报" not in text  # … its 党内 items are not


def test_party_member_pdf_has_inner_party_items(party_client, world):
    text = text_of(pdf_of(party_client, world["wenli"]))
    assert "文理村党内情况通报" in text


# The full text, 续页, Chinese only, landmarks (issue 19) ----------------------------

LONG_BODY = "\n\n".join(
    f"第{n}段：本村按照有关规定公开第{n}项内容，村民可在公开之日起十日内提出意见。"
    for n in range(1, 13)
)


def visible_text(page: str) -> str:
    """The words a reader sees: tags, URLs and index numbers left out."""
    page = re.sub(r"<svg.*?</svg>|<head>.*?</head>", " ", page, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", page)
    text = re.sub(r"https?://\S+", " ", text)
    return re.sub(r"\b[A-Z]+-\d{4}-[A-Z0-9]+-\d+\b", " ", text)


def test_long_body_is_printed_in_full_with_its_rest_on_a_continuation_sheet(
    client, world
):
    DisclosureFactory(
        unit=world["wenli"],
        item=ItemFactory(category=CategoryFactory(name="村务管理")),
        title="文理村长篇公告",
        body=LONG_BODY,
    )
    page = print_page(client, world["wenli"]).content.decode()
    assert "…" not in page
    for n in range(1, 13):
        assert f"第{n}段：本村按照有关规定公开第{n}项内容" in page
    sheet, continued = page.split('<section class="print-continuation"')
    assert "第1段" in sheet and "第12段" not in sheet
    assert "（下转续页第1条）" in sheet
    assert "续页第1条" in continued and "第12段" in continued
    assert "上接公开栏正页" in continued


def test_entries_beyond_the_boards_column_are_printed_on_continuation_sheets(
    client, world
):
    item = ItemFactory(category=CategoryFactory(name="村务管理"))
    for n in range(COLUMN_SIZE + 2):
        DisclosureFactory(
            unit=world["wenli"],
            item=item,
            title=f"村务通知{n:02d}",
            body=f"正文{n:02d}",
        )
    page = print_page(client, world["wenli"]).content.decode()
    for n in range(COLUMN_SIZE + 2):
        assert f"村务通知{n:02d}" in page and f"正文{n:02d}" in page
    assert "本栏另有 2 条，全文见续页第1至2条。" in page
    assert "本栏更多内容请扫码" not in page


def test_print_page_says_nothing_in_english(client, world, settings):
    for size, label in [
        ("A3 landscape", "纸张：A3 横向"),
        ("A4 portrait", "纸张：A4 纵向"),
        ("420mm 297mm", "纸张：420×297 毫米"),
    ]:
        settings.BOARD_PRINT_PAGE_SIZE = size
        page = print_page(client, world["wenli"]).content.decode()
        assert label in page
        words = set(re.findall(r"[A-Za-z]{2,}", visible_text(page)))
        assert words <= {"PDF"}, words


def test_print_page_has_a_main_landmark(client, world):
    page = print_page(client, world["wenli"]).content.decode()
    assert page.count("<main") == 1
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "print-title" in main and "print-columns" in main


def test_earlier_years_items_without_a_display_end_are_not_on_the_print(client, world):
    wenli, now = world["wenli"], timezone.now()
    monthly = ItemFactory(category=CategoryFactory(name="村务管理"))
    standing = ItemFactory(
        category=CategoryFactory(name="村务制度"),
        frequency=Item.Frequency.YEARLY,
        timing=Timing.STANDING,
    )
    old = now - timedelta(days=400)
    DisclosureFactory(unit=wenli, item=monthly, title="前年的月报", published_at=old)
    DisclosureFactory(
        unit=wenli,
        item=monthly,
        title="仍在展示期的旧通知",
        published_at=old,
        display_until=timezone.localdate() + timedelta(days=3),
    )
    DisclosureFactory(unit=wenli, item=standing, title="村务公开制度", published_at=old)
    for url in [f"/boards/{wenli.slug}/print/", f"/boards/{wenli.slug}/"]:
        page = client.get(url).content.decode()
        assert "前年的月报" not in page
        assert "仍在展示期的旧通知" in page
        assert "村务公开制度" in page  # a 长期 item stays on the board


def test_split_body_keeps_every_character():
    head, rest = split_body(LONG_BODY)
    assert len(head) <= SHEET_CHARS and head.endswith("。")
    assert re.sub(r"\s", "", head + rest) == re.sub(r"\s", "", LONG_BODY)
    assert split_body("短文。") == ("短文。", "")
    # No sentence end early enough: cut at the limit.
    head, rest = split_body("字" * 300)
    assert (len(head), len(rest)) == (SHEET_CHARS, 300 - SHEET_CHARS)


def test_pdf_carries_the_full_text_on_a_continuation_page(client, world):
    DisclosureFactory(
        unit=world["wenli"],
        item=ItemFactory(category=CategoryFactory(name="村务管理")),
        title="文理村长篇公告",
        body=LONG_BODY,
    )
    reader = pdf_of(client, world["wenli"])
    assert len(reader.pages) >= 2
    assert "第1段" in text_of(reader)
    later = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages[1:]))
    assert "续页" in later and "第12段" in later
