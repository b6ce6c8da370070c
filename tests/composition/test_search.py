import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from catalog.models import Catalog, Scope
from composition import search
from composition.models import SearchEntry
from disclosure.models import Disclosure
from feedback.models import Kind
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory())


@pytest.fixture
def fire_notice(wenli):
    return DisclosureFactory(
        unit=wenli,
        title="关于做好秋冬季工作的通知",
        body="今年森林防火工作由村党支部牵头，2011年10月起实行24小时值班。",
    )


def hit_titles(response) -> list[str]:
    return [
        (h["disclosure"] or h["submission"]).title for h in response.context["hits"]
    ]


def test_backend_follows_the_database_vendor():
    expected = {"sqlite": "fts5", "postgresql": "pg_trgm"}[connection.vendor]
    assert search.backend() == expected


@pytest.mark.parametrize(
    "query", ["森林防火", "防火工作", "防火", "林", "2011年", "24小时"]
)
def test_cjk_and_mixed_substrings_find_the_notice(client, fire_notice, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert hit_titles(response) == [fire_notice.title]


def test_drought_relief_notice_is_found_by_typing_kanghan(client, wenli):
    DisclosureFactory(unit=wenli, title="文理村抗旱救灾物资发放情况公示")
    DisclosureFactory(unit=wenli, title="村道维护资金公示")
    response = client.get("/search/", {"q": "抗旱"})
    assert hit_titles(response) == ["文理村抗旱救灾物资发放情况公示"]


def test_short_query_scans_recent_items_and_says_so(client, fire_notice, settings):
    response = client.get("/search/", {"q": "防火"})
    assert response.context["results"].limited_scan
    assert "只在最近的" in response.text
    longer = client.get("/search/", {"q": "森林防火"})
    assert not longer.context["results"].limited_scan
    assert "只在最近的" not in longer.text


def test_short_query_scan_is_bounded(client, wenli, monkeypatch):
    monkeypatch.setattr(search, "SHORT_QUERY_SCAN", 2)
    old = DisclosureFactory(
        unit=wenli,
        title="旧的防火通知",
        published_at=timezone.now() - timedelta(days=30),
    )
    for n in range(2):
        DisclosureFactory(unit=wenli, title=f"新通知{n}")
    assert hit_titles(client.get("/search/", {"q": "防火"})) == []
    assert hit_titles(client.get("/search/", {"q": "防火通知"})) == [old.title]


def test_exact_phrase_in_title_ranks_first(client, wenli):
    body_only = DisclosureFactory(
        unit=wenli,
        title="村务工作安排",
        body="抗旱救灾物资已发放",
        published_at=timezone.now() - timedelta(hours=1),
    )
    words_apart = DisclosureFactory(
        unit=wenli,
        title="抗旱和救灾",
        body="救灾和抗旱",
        published_at=timezone.now() - timedelta(days=3),
    )
    in_title = DisclosureFactory(
        unit=wenli,
        title="抗旱救灾资金公示",
        published_at=timezone.now() - timedelta(days=10),
    )
    response = client.get("/search/", {"q": "抗旱救灾"})
    assert hit_titles(response) == [in_title.title, body_only.title]
    both = client.get("/search/", {"q": "抗旱 救灾"})
    assert hit_titles(both) == [
        in_title.title,
        words_apart.title,
        body_only.title,
    ]


def test_highlighting_escapes_html_before_marking(client, wenli):
    DisclosureFactory(
        unit=wenli,
        title="<script>alert(1)</script>防火通知",
        body="<img src=x onerror=alert(1)> 森林防火",
    )
    response = client.get("/search/", {"q": "<script>"})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "<img src=x" not in response.text
    assert "<mark>&lt;script&gt;</mark>alert(1)&lt;/script&gt;" in response.text
    assert "<mark>防火</mark>" in str(search.highlight("森林防火", ["防火"]))


def test_inner_party_disclosure_is_never_a_hit_nor_counted_for_anonymous(
    client, party_client, wenli
):
    DisclosureFactory(unit=wenli, title="公开的防火通知")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title="党内防火通报"
    )
    member = party_client.get("/search/", {"q": "防火通"})
    assert sorted(hit_titles(member)) == ["党内防火通报", "公开的防火通知"]
    assert member.context["page"].paginator.count == 2
    party_client.logout()
    anonymous = client.get("/search/", {"q": "防火通"})
    assert hit_titles(anonymous) == ["公开的防火通知"]
    assert anonymous.context["page"].paginator.count == 1
    assert "党内防火通报" not in anonymous.text
    assert "共找到 1 条" in anonymous.text


def test_drafts_scheduled_and_withdrawn_disclosures_are_not_hits(client, wenli):
    now = timezone.now()
    DisclosureFactory(unit=wenli, title="草稿防火", status=Disclosure.Status.DRAFT)
    DisclosureFactory(
        unit=wenli,
        title="撤回防火",
        status=Disclosure.Status.WITHDRAWN,
        withdrawal_reason="有误",
    )
    DisclosureFactory(
        unit=wenli, title="定时防火", published_at=now + timedelta(hours=2)
    )
    with time_machine.travel(now, tick=False):
        assert hit_titles(client.get("/search/", {"q": "防火"})) == []
    # Publication time passes with no save: the hit appears without re-indexing.
    with time_machine.travel(now + timedelta(hours=2, seconds=1), tick=False):
        assert hit_titles(client.get("/search/", {"q": "防火"})) == ["定时防火"]


def test_published_feedback_is_searchable_but_never_private_fields(client, wenli):
    SubmissionFactory(
        unit=wenli,
        title="抗旱水泵怎么借",
        text="村里的抗旱水泵可以借用吗？",
        name="张秘密",
        phone="13800000000",
        accepted=True,
    )
    SubmissionFactory(
        unit=wenli,
        title="不同意公开的抗旱来信",
        text="抗旱的私事",
        consent_to_publish=False,
        accepted=True,
    )
    response = client.get("/search/", {"q": "抗旱"})
    assert hit_titles(response) == ["抗旱水泵怎么借"]
    assert client.get("/search/", {"q": "张秘密"}).context["hits"] == []
    assert client.get("/search/", {"q": "13800000000"}).context["hits"] == []
    assert not SearchEntry.objects.filter(body__contains="张秘密").exists()


def test_results_filter_by_unit_and_kind(client, wenli):
    maoshan = UnitFactory(name="茅山村")
    village = CatalogFactory(kind=Catalog.Kind.VILLAGE)
    village_item = ItemFactory(category=CategoryFactory(catalog=village))
    DisclosureFactory(unit=wenli, title="文理村防火公示")
    DisclosureFactory(unit=maoshan, title="茅山村防火公示", item=village_item)
    SubmissionFactory(unit=wenli, title="防火咨询", text="问", accepted=True)

    assert sorted(
        hit_titles(client.get("/search/", {"q": "防火", "unit": wenli.slug}))
    ) == ["文理村防火公示", "防火咨询"]
    assert hit_titles(client.get("/search/", {"q": "防火", "kind": "village"})) == [
        "茅山村防火公示"
    ]
    assert hit_titles(client.get("/search/", {"q": "防火", "kind": "feedback"})) == [
        "防火咨询"
    ]


def test_results_are_paginated(client, wenli):
    for n in range(23):
        DisclosureFactory(unit=wenli, title=f"防火通知第{n}号")
    first = client.get("/search/", {"q": "防火通知"})
    assert len(first.context["hits"]) == 20
    assert first.context["page"].paginator.count == 23
    assert (
        len(client.get("/search/", {"q": "防火通知", "page": 2}).context["hits"]) == 3
    )
    assert client.get("/search/", {"q": "防火通知", "page": 9}).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"森林防火',
        "NEAR(森林 防火)",
        "防火*",
        "* OR 1=1",
        "title:防火",
        "'; DROP TABLE portal_searchentry; --",
        "防火 AND NOT 森林",
        "^森林",
        "%_%",
        "\\",
        "()",
    ],
)
def test_hostile_queries_never_fail(client, fire_notice, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert SearchEntry.objects.exists()


def test_empty_query_asks_for_a_word(client):
    response = client.get("/search/", {"q": "   "})
    assert response.status_code == 200
    assert "请输入要查找的字词" in response.text


def test_over_long_and_invalid_queries_are_400_with_a_chinese_message(client, wenli):
    long = client.get("/search/", {"q": "防" * 101})
    assert long.status_code == 400
    assert "检索词太长" in long.text
    assert client.get("/search/", {"q": "防火\x00"}).status_code == 400
    assert client.get("/search/", {"q": "防火", "unit": "nowhere"}).status_code == 400
    assert client.get("/search/", {"q": "防火", "kind": "secret"}).status_code == 400


def test_index_follows_edits_and_deletion(client, fire_notice):
    fire_notice.title = "改过的标题抗旱"
    fire_notice.save()
    assert hit_titles(client.get("/search/", {"q": "抗旱"})) == ["改过的标题抗旱"]
    fire_notice.delete()
    assert not SearchEntry.objects.exists()
    assert client.get("/search/", {"q": "抗旱"}).context["hits"] == []


def test_rebuild_command_restores_the_index(client, fire_notice):
    SearchEntry.objects.all().delete()
    assert client.get("/search/", {"q": "森林防火"}).context["hits"] == []
    call_command("rebuild_search_index", stdout=io.StringIO())
    assert hit_titles(client.get("/search/", {"q": "森林防火"})) == [fire_notice.title]


def test_search_visible_entries_go_through_the_visibility_rule(wenli):
    DisclosureFactory(unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY))
    assert not search.visible_entries(AnonymousUser()).exists()


def test_search_page_is_linked_from_the_header(client):
    assert 'href="/search/"' in client.get("/search/").text


def test_the_trigram_index_exists_for_the_vendor():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE name = %s", [search.FTS_TABLE]
            )
            assert "trigram" in cursor.fetchone()[0]
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'portal_searchentry'"
            )
            indexes = dict(cursor.fetchall())
            assert "gin_trgm_ops" in indexes["portal_search_title_trgm"]
            assert "gin_trgm_ops" in indexes["portal_search_body_trgm"]


def test_index_number_is_searchable(client, wenli):
    DisclosureFactory(
        unit=wenli, title="带索引号的通知", index_number="WENLI-2011-A09-007"
    )
    DisclosureFactory(unit=wenli, title="另一条通知", index_number="WENLI-2011-A09-008")
    response = client.get("/search/", {"q": "WENLI-2011-A09-007"})
    assert hit_titles(response) == ["带索引号的通知"]


def test_a_page_of_hits_runs_a_fixed_number_of_queries(
    client, wenli, django_assert_max_num_queries
):
    for n in range(12):
        DisclosureFactory(unit=wenli, title=f"森林防火通知{n}")
        SubmissionFactory(
            unit=wenli, title=f"森林防火咨询{n}", text="问", accepted=True
        )
    # The unit choices, the newest matches (last half-year, then all), the page.
    with django_assert_max_num_queries(4):
        response = client.get("/search/", {"q": "森林防火"})
    assert len(response.context["hits"]) == 20
    assert "党务公开" in response.text and "回音壁 · 咨询" in response.text
    assert response.text.count("文理村") >= 20


def test_a_search_without_hits_says_so_and_suggests_what_to_try(client, fire_notice):
    response = client.get("/search/", {"q": "水库移民补助"})
    assert response.status_code == 200
    assert response.context["hits"] == []
    text = response.text
    assert "没有找到与“水库移民补助”相关的内容" in text
    # The query stays in the box, to be shortened.
    assert 'value="水库移民补助"' in text
    assert "换一个更短" in text
    assert "三个字" in text  # the trigram note: shorter words scan less
    assert 'href="/feedback/new/"' in text  # ask on the 回音壁 instead


def test_a_search_without_hits_in_a_unit_suggests_dropping_the_filter(
    client, fire_notice, wenli
):
    response = client.get("/search/", {"q": "水库移民补助", "unit": wenli.slug})
    assert "去掉单位或类别" in response.text
    assert f'href="/feedback/new/?unit={wenli.slug}"' in response.text


def test_a_snippet_never_ends_in_the_index_number(client, wenli):
    DisclosureFactory(
        unit=wenli,
        title="村道维护资金公示",
        body="2011年村道维护资金共计三万元，已全部用于修补村道。",
        index_number="WENLI-2011-A09-001",
    )
    response = client.get("/search/", {"q": "维护资金"})
    [hit] = response.context["hits"]
    assert "WENLI" not in hit["snippet"]
    assert str(hit["snippet"]).endswith("修补村道。")
    # The number is still searchable, and shown as itself beside the hit.
    by_number = client.get("/search/", {"q": "WENLI-2011-A09-001"})
    [hit] = by_number.context["hits"]
    assert "WENLI" not in hit["snippet"]
    assert "索引号" in by_number.text
    assert "<mark>WENLI-2011-A09-001</mark>" in by_number.text


# What a hit shows, as a resident reads it: written in Python by
# composition.templatetags.search_tags since 2026-12-06 (the markup the
# template loop wrote, without its stray spaces).

UTC = ZoneInfo("UTC")


def hits(response) -> list[str]:
    [items] = re.findall(
        r'<ol class="list-unstyled search-results">(.*?)</ol>', response.text, re.S
    )
    return re.findall(r"<li>.*?</li>", items.strip(), re.S)


def party_item():
    catalog = CatalogFactory(kind=Catalog.Kind.PARTY)
    return ItemFactory(category=CategoryFactory(catalog=catalog))


def test_a_disclosure_hit_names_its_kind_unit_local_day_and_index_number(client, wenli):
    notice = DisclosureFactory(
        unit=wenli,
        item=party_item(),
        title="森林防火值班公示",
        body="今年森林防火工作由村党支部牵头。",
        index_number="WENLI-2011-A09-001",
        # 01:30 on 8 October in Beijing: the day shown is the local one.
        published_at=datetime(2011, 10, 7, 17, 30, tzinfo=UTC),
    )
    [hit] = hits(client.get("/search/", {"q": "森林防火"}))
    assert hit == (
        f'<li><a href="/disclosures/{notice.pk}/" class="hit-title">'
        "<mark>森林防火</mark>值班公示</a> "
        '<span class="meta">党务公开 · 文理村 · '
        '<time datetime="2011-10-08T01:30:00+08:00">2011年10月8日</time>'
        " · 索引号 WENLI-2011-A09-001</span>"
        '<p class="snippet mb-0">今年<mark>森林防火</mark>工作由村党支部牵头。</p>'
        "</li>"
    )


def test_a_wall_hit_names_the_wall_and_its_kind_not_an_index_number(client, wenli):
    case = SubmissionFactory(
        unit=wenli,
        kind=Kind.SUGGESTION,
        title="建议公开栏每月更新",
        text="公开栏几个月没换。",
        accepted=True,
    )
    [hit] = hits(client.get("/search/", {"q": "公开栏"}))
    local = case.received_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f'<a href="/feedback/{case.pk}/" class="hit-title">' in hit
    assert (
        '<span class="meta">回音壁 · 建议 · 文理村 · '
        f'<time datetime="{local.isoformat(timespec="seconds")}">'
        f"{local.year}年{local.month}月{local.day}日</time></span>"
    ) in hit
    assert "索引号" not in hit


def test_staff_and_resident_text_in_a_hit_stays_text(client):
    unit = UnitFactory(name="文理村<b>\u202e粗</b>", parent=TownFactory())
    DisclosureFactory(
        unit=unit,
        title='防火"通知" <img src=x onerror=alert(1)>',
        body="<script>alert(1)</script> 防火",
        index_number="WENLI-<i>-001",
    )
    SubmissionFactory(
        unit=unit,
        title="防火<svg onload=alert(1)>",
        text="问 & 答",
        accepted=True,
    )
    response = client.get("/search/", {"q": "防火"})
    shown = "".join(hits(response))
    for raw in ("<b>", "<img", "<script>", "<i>", "<svg"):
        assert raw not in shown
    assert "文理村&lt;b&gt;\u202e粗&lt;/b&gt;" in shown
    assert "索引号 WENLI-&lt;i&gt;-001" in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown


def test_a_hit_without_a_date_shows_no_time(client, wenli):
    # The column may be empty (an entry written before its source's date).
    notice = DisclosureFactory(unit=wenli, title="防火公告")
    SearchEntry.objects.filter(disclosure=notice).update(date=None)
    [hit] = hits(client.get("/search/", {"q": "防火公告"}))
    assert "<time" not in hit
    assert '<span class="meta">' in hit
