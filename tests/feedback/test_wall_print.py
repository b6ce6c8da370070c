"""The monthly 回音壁 sheet (/feedback/print/<unit>/<YYYY-MM>/ and its PDF) and
the 回音壁 column of a board page: the public wall's cases only, in full."""

import io
import re
from datetime import date, datetime, time

import pypdf
import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from catalog.models import BodyKind
from core import caching
from disclosure.models import Organisation, Unit
from feedback import services
from feedback.models import Kind, Submission
from feedback.sheet import Month
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LONG_ANSWER = (
    "经村两委研究，三组送水车自下周起每天上午八点和下午四点各送一次水，"
    "由村委会负责协调，如遇道路维修顺延半小时。" * 4
) + "请群众相互转告。"
NAME, PHONE = "测试员甲乙丙", "13912345678"


def at(month: Month, day: int, hour: int = 10) -> datetime:
    return timezone.make_aware(
        datetime.combine(month.first.replace(day=day), time(hour))
    )


@pytest.fixture
def month():
    # Last month: wholly in the past, so no case of the test lies in the future.
    return Month.current().previous


@pytest.fixture
def world(month):
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    staff = UserFactory(username="staff", is_staff=True)
    office = DepartmentFactory(name="党政办")

    def case(title, *, unit=wenli, received=None, answer=None, answered=None, **kw):
        submission = SubmissionFactory(
            unit=unit,
            title=title,
            received_at=received or at(month, 10),
            name=NAME,
            phone=PHONE,
            **kw,
        )
        if answer:
            services.answer(
                submission,
                by=staff,
                department=office,
                text=answer,
                answered_at=answered or at(month, 12),
            )
        return submission

    village_body, _ = Organisation.objects.get_or_create(
        unit=wenli, name="村两委", defaults={"kind": BodyKind.JOINT_MEETING}
    )
    water = case("三组送水车几点到", answer=LONG_ANSWER)
    water.answering_body = village_body
    water.save()
    pending = case("村道路灯坏了", accepted=True)
    earlier = case(
        "去年的低保名单在哪里看",
        received=at(month.previous, 20),
        answer="已在村务公开栏公布，请查阅。",
        answered=at(month, 5),
    )
    case("不同意公开的来信", consent_to_publish=False, answer="不公开的答复内容")
    case("刚收到未受理的来信")  # status received: not on the wall
    hidden = case("被隐藏的来信", answer="隐藏的答复")
    services.hide(hidden, by=staff, reason="涉及个人隐私")
    case(
        "涉及党内事项的来信",
        accepted=True,
        concerns_inner_party=True,
    )
    case("茅山村的来信", unit=maoshan, answer="茅山村的答复")
    case("上上月的来信", received=at(month.previous, 3), accepted=True)
    return {
        "wenli": wenli,
        "maoshan": maoshan,
        "water": water,
        "pending": pending,
        "earlier": earlier,
        "staff": staff,
        "office": office,
    }


def sheet_url(unit, month, suffix="/") -> str:
    return f"/feedback/print/{unit.slug}/{month.key}{suffix}"


def test_sheet_prints_the_months_public_cases_with_full_answers(client, world, month):
    response = client.get(sheet_url(world["wenli"], month))
    assert response.status_code == 200
    page = response.text
    assert "文理村回音壁" in page
    assert f"{month.first.year}年{month.first.month}月意见建议办理答复公示" in page
    # In full, not cut as on the wall's list; the village body answered it.
    assert LONG_ANSWER in page
    assert "文理村两委 于" in page
    assert "村道路灯坏了" in page and "正在办理，答复期限" in page
    # Received the month before, answered in this one: its own section.
    earlier_section = page.split("往月收到、本月答复的意见建议")[1]
    assert "去年的低保名单在哪里看" in earlier_section
    assert "已在村务公开栏公布" in earlier_section
    # Counted (every case received in the month), but only the public printed.
    assert "本月收到意见建议 5 件，其中在此公开 2 件；本月答复 3 件。" in page


@pytest.mark.parametrize(
    "absent",
    [
        "不同意公开的来信",
        "不公开的答复内容",
        "刚收到未受理的来信",
        "被隐藏的来信",
        "涉及党内事项的来信",
        "茅山村的来信",
        "上上月的来信",
        NAME,
        PHONE,
    ],
)
def test_sheet_never_prints_what_the_wall_does_not_show(client, world, month, absent):
    assert absent not in client.get(sheet_url(world["wenli"], month)).text


def test_a_party_member_prints_the_same_public_sheet(party_client, world, month):
    anonymous = Client().get(sheet_url(world["wenli"], month)).text
    member = party_client.get(sheet_url(world["wenli"], month)).text
    assert "涉及党内事项的来信" not in member
    strip = re.compile(r"<header class=\"site-header\">.*?</header>", re.S)
    assert strip.sub("", anonymous).count('sheet-entry"') == strip.sub(
        "", member
    ).count('sheet-entry"')


def test_qr_codes_lead_to_each_case_and_to_the_units_form(client, world, month):
    page = client.get(sheet_url(world["wenli"], month)).text
    urls = re.findall(r'<svg class="qr"[^>]*data-url="([^"]+)"', page)
    water, pending = world["water"], world["pending"]
    assert f"http://testserver/feedback/{water.pk}/" in urls
    assert f"http://testserver/feedback/{pending.pk}/" in urls
    assert "http://testserver/feedback/new/?unit=wenli" in urls
    assert "http://testserver/feedback/?unit=wenli" in urls
    # Each case's page answers the scanned link.
    assert client.get(f"/feedback/{water.pk}/").status_code == 200


def test_sheet_is_valid_plain_print_markup(client, world, month):
    page = client.get(sheet_url(world["wenli"], month)).text
    assert page.startswith("<!doctype html>")
    assert '<html lang="zh-Hans">' in page
    assert 'name="viewport"' in page  # readable on a 360 px phone
    assert " style=" not in page and "<style" not in page and "<script" not in page
    assert "/static/feedback/wall_print.css" in page
    assert "/static/feedback/wall_print_a4.css" in page
    assert page.count("<h1") == 1
    # Every QR code is labelled for screen readers.
    assert page.count('<svg class="qr"') == page.count('role="img" aria-label="')


def test_a3_is_a_choice_and_other_sizes_a_chinese_400(client, world, month):
    a3 = client.get(sheet_url(world["wenli"], month) + "?size=a3")
    assert a3.status_code == 200
    assert "/static/feedback/wall_print_a3.css" in a3.text
    assert "wall-sheet-a3" in a3.text
    bad = client.get(sheet_url(world["wenli"], month) + "?size=letter")
    assert bad.status_code == 400
    assert "纸张规格只能是 A4 或 A3" in bad.text


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("2026-13", "无效"),
        ("2026-00", "无效"),
        ("november", "无效"),
        ("2026-1", "无效"),
        ("1900-01", "年份超出范围"),
        ("9999-01", "年份超出范围"),
        ("2100-12", "还没有到"),
    ],
)
def test_bad_month_is_a_chinese_400(client, world, key, message):
    for suffix in ("/", ".pdf"):
        response = client.get(f"/feedback/print/wenli/{key}{suffix}")
        assert response.status_code == 400, (key, suffix)
        assert message in response.text


def test_unknown_unit_or_county_is_404(client, world, month):
    county = UnitFactory(name="合江县", kind=Unit.Kind.COUNTY)
    for slug in ("nowhere", county.slug):
        for suffix in ("/", ".pdf"):
            url = f"/feedback/print/{slug}/{month.key}{suffix}"
            assert client.get(url).status_code == 404, url
    assert client.get(f"/feedback/print/文理/{month.key}/").status_code == 404


def test_a_month_without_public_cases_says_so(client, world, month):
    response = client.get(sheet_url(world["maoshan"], month.previous))
    assert response.status_code == 200
    assert "本月无公开的意见建议" in response.text
    assert 'sheet-entry"' not in response.text


def test_next_month_link_stops_at_the_current_month(client, world):
    current = Month.current()
    page = client.get(sheet_url(world["wenli"], current)).text
    assert current.previous.label in page
    assert current.next.key not in page


def pdf_text(response) -> tuple[pypdf.PdfReader, str]:
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    # CJK text extraction can put spaces or line breaks between glyphs.
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    return reader, text


def test_pdf_holds_the_full_answers_on_a4_or_a3(client, world, month):
    response = client.get(sheet_url(world["wenli"], month, ".pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"wenli-huiyinbi-{month.key}-a4.pdf" in response["Content-Disposition"]
    reader, text = pdf_text(response)
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    assert "文理村回音壁" in text
    assert re.sub(r"\s+", "", LONG_ANSWER) in text
    assert "三组送水车几点到" in text
    assert NAME not in text and PHONE not in text
    assert "不同意公开的来信" not in text

    a3 = client.get(sheet_url(world["wenli"], month, ".pdf") + "?size=a3")
    box = pypdf.PdfReader(io.BytesIO(a3.content)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 1191)


def test_empty_month_pdf(client, world, month):
    response = client.get(sheet_url(world["maoshan"], month.previous, ".pdf"))
    assert response.status_code == 200
    assert "本月无公开的意见建议" in pdf_text(response)[1]


def test_sheet_is_linked_from_the_board_and_the_wall(client, world):
    current = Month.current()
    board = client.get("/boards/wenli/").text
    assert f'href="/feedback/print/wenli/{current.key}/"' in board
    assert f'href="/feedback/print/wenli/{current.previous.key}/"' in board
    wall = client.get("/feedback/?unit=wenli").text
    assert f'href="/feedback/print/wenli/{current.key}/"' in wall
    assert "按单位筛选后可打印" in client.get("/feedback/").text


# The board's 回音壁 column --------------------------------------------------


def column_of(page: str) -> str:
    match = re.search(
        r'<section class="board-column board-feedback".*?</section>', page, re.S
    )
    assert match, "no 回音壁 column"
    return match[0]


def test_board_column_lists_the_latest_answered_public_cases(client, world):
    column = column_of(client.get("/boards/wenli/").text)
    water, earlier = world["water"], world["earlier"]
    assert f'<a href="/feedback/{water.pk}/">三组送水车几点到</a>' in column
    assert f'<a href="/feedback/{earlier.pk}/">去年的低保名单在哪里看</a>' in column
    # Newest answer first.
    assert column.index("三组送水车") < column.index("去年的低保名单")
    for absent in ("村道路灯坏了", "不同意公开的来信", "被隐藏的来信", "茅山村的来信"):
        assert absent not in column
    assert "文理村两委答复于" in column


def test_board_column_shows_five_at_most(client, world):
    office, staff = world["office"], world["staff"]
    for n in range(7):
        case = SubmissionFactory(unit=world["maoshan"], title=f"茅山村问题{n}")
        services.answer(case, by=staff, department=office, text="已答复")
    column = column_of(client.get("/boards/maoshan/").text)
    assert column.count("<li>") == 5
    assert "茅山村问题6" in column and "茅山村问题1" not in column


def test_board_column_is_empty_politely_and_absent_from_past_periods(client):
    unit = UnitFactory(name="石坝村", parent=TownFactory())
    assert "暂无已答复的意见建议" in column_of(client.get(f"/boards/{unit.slug}/").text)
    past = client.get(f"/boards/{unit.slug}/?period=2011-09").text
    assert "board-feedback" not in past


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 60
    # This process's copies of the versions too: of before the flush, they
    # would make the first request read versions of two moments, and keep
    # nothing (core.caching.scope_versions).
    cache.clear()
    caching.reset_local()
    yield
    cache.clear()
    caching.reset_local()


def test_a_new_answer_refreshes_the_cached_board(
    world, page_cache, django_capture_on_commit_callbacks
):
    visitor = Client()
    url = f"/boards/{world['wenli'].slug}/"
    first = visitor.get(url)
    assert visitor.get(url).headers["X-Page-Cache"] == "hit"
    etag = first.headers["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        services.answer(
            world["pending"],
            by=world["staff"],
            department=world["office"],
            text="路灯已修好。",
        )
    response = visitor.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "村道路灯坏了" in column_of(response.text)


def test_the_sheet_is_cached_for_visitors_and_refreshed_by_an_answer(
    # Read twice, a hit: not in a day's last second (kept no longer than midnight).
    away_from_midnight,
    world,
    month,
    page_cache,
    django_capture_on_commit_callbacks,
):
    visitor = Client()
    url = sheet_url(world["wenli"], month)
    visitor.get(url)
    assert visitor.get(url).headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        services.answer(
            world["pending"],
            by=world["staff"],
            department=world["office"],
            text="路灯已修好，感谢反映。",
            answered_at=at(month, 20),
        )
    assert "路灯已修好，感谢反映。" in visitor.get(url).text


def test_a_refused_request_prints_its_reason(client, world, month):
    request = SubmissionFactory(
        unit=world["wenli"],
        kind=Kind.REQUEST,
        title="请公开修路合同",
        received_at=at(month, 8),
    )
    services.refuse_request(
        request,
        by=world["staff"],
        reason="合同涉及商业秘密。",
        department=world["office"],
    )
    Submission.objects.filter(pk=request.pk).update(answered_at=at(month, 9))
    page = client.get(sheet_url(world["wenli"], month)).text
    assert "请公开修路合同" in page
    assert "不予公开，理由如下：" in page and "合同涉及商业秘密。" in page


def test_the_month_form_leads_to_the_months_sheet_without_javascript(
    client, world, month
):
    page = client.get(sheet_url(world["wenli"], month)).text
    assert 'action="/feedback/print/wenli/"' in page and 'name="month"' in page
    response = client.get("/feedback/print/wenli/", {"month": month.key})
    assert response.status_code == 302
    assert response["Location"] == f"/feedback/print/wenli/{month.key}/"
    response = client.get("/feedback/print/wenli/", {"month": "2011-08", "size": "a3"})
    assert response["Location"] == "/feedback/print/wenli/2011-08/?size=a3"
    for bad in ({}, {"month": "八月"}, {"month": "2011-08", "size": "b5"}):
        response = client.get("/feedback/print/wenli/", bad)
        assert response.status_code == 400, bad
        assert 'name="month"' in response.text  # the form again, to correct it
    assert (
        client.get("/feedback/print/nowhere/", {"month": "2011-08"}).status_code == 404
    )


def test_board_links_the_month_of_its_latest_answer(client, world):
    office, staff = world["office"], world["staff"]
    shiba = UnitFactory(name="石坝村", slug="shiba", parent=world["wenli"].parent)
    old = SubmissionFactory(
        unit=shiba,
        title="二〇一一年的问题",
        received_at=at(Month(date(2011, 8, 1)), 3),
    )
    services.answer(
        old,
        by=staff,
        department=office,
        text="已答复",
        answered_at=at(Month(date(2011, 8, 1)), 5),
    )
    column = column_of(client.get("/boards/shiba/").text)
    assert 'href="/feedback/print/shiba/2011-08/"' in column
    assert "2011年8月" in column


def test_sheet_has_a_main_landmark_and_no_english(client, world, month):
    page = client.get(sheet_url(world["wenli"], month)).text
    assert page.count("<main") == 1
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "sheet-title" in main and "三组送水车几点到" in main
    text = re.sub(r"<svg.*?</svg>|<head>.*?</head>|<[^>]+>", " ", page, flags=re.S)
    text = re.sub(r"https?://\S+", " ", text)
    assert set(re.findall(r"[A-Za-z]{2,}", text)) <= {"PDF"}
    assert "纸张：A4" in page


def test_the_demo_shows_a_sheet_a_column_and_a_members_own_cases(demo, client):
    """On the demo town: 文理村's August 2011 sheet with its answers in full,
    the board's column, and party_member's own cases (an answered, an open)."""
    answered = Submission.objects.published().get(title="抽水设备怎么安排")
    response = client.get("/feedback/print/wenli/2011-08/")
    assert response.status_code == 200
    assert answered.answer_text in response.text
    column = column_of(client.get("/boards/wenli/").text)
    assert 'href="/feedback/print/wenli/2011-08/"' in column
    assert client.login(username="party_member", password="fengming-party-2011")
    page = client.get("/feedback/mine/").text
    assert "抽水设备怎么安排" in page and "建议公开栏增加夜间照明" in page
    assert "送水安排" not in page  # maoshan_member's
