from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from catalog.models import Catalog, Scope
from disclosure import services
from disclosure.models import Disclosure
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    return TownFactory()


@pytest.fixture
def wenli(town):
    return UnitFactory(name="文理村", parent=town, is_liaison_point=True)


@pytest.fixture
def inner_disclosure(wenli):
    item = ItemFactory(scope=Scope.INNER_PARTY, name="党员发展")
    return DisclosureFactory(unit=wenli, item=item, title="党内通报：发展对象名单")


# Boards ---------------------------------------------------------------------


def test_board_list_shows_every_unit(client, town, wenli):
    response = client.get("/boards/")
    assert response.status_code == 200
    assert "文理村" in response.text and "凤鸣镇" in response.text
    assert "党务公开联系点" in response.text


def test_board_shows_current_disclosures_under_their_column(client, wenli):
    category = CategoryFactory(name="民主决策")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(category=category), title="第三季度公示"
    )
    response = client.get("/boards/wenli/")
    assert response.status_code == 200
    assert response.context["columns"][0]["category"] == category
    assert [d.title for d in response.context["columns"][0]["disclosures"]] == [
        "第三季度公示"
    ]


def test_every_village_board_has_the_same_columns_in_the_same_order(
    client, town, wenli
):
    maoshan = UnitFactory(name="茅山村", parent=town)
    party = CatalogFactory(kind=Catalog.Kind.PARTY)
    village = CatalogFactory(kind=Catalog.Kind.VILLAGE, order=3)
    for catalog, name in [
        (village, "村级财务"),
        (party, "民主决策"),
        (party, "思想建设"),
    ]:
        ItemFactory(
            category=CategoryFactory(catalog=catalog, name=name), for_town=False
        )
    DisclosureFactory(
        unit=wenli, item=ItemFactory(category=CategoryFactory(catalog=party))
    )

    def column_names(unit):
        response = client.get(f"/boards/{unit.slug}/")
        return [c["category"].name for c in response.context["columns"]]

    assert column_names(wenli) == column_names(maoshan)
    assert column_names(wenli)[-1] == "村级财务"


def test_town_only_columns_are_not_on_village_boards(client, town, wenli):
    ItemFactory(category=CategoryFactory(name="政务专栏"), for_village=False)
    assert "政务专栏" not in client.get("/boards/wenli/").text
    assert "政务专栏" in client.get("/boards/fengming/").text


def test_inner_party_disclosure_is_hidden_from_anonymous_board(
    client, inner_disclosure
):
    response = client.get("/boards/wenli/")
    assert "党内通报" not in response.text


def test_party_member_sees_inner_party_disclosure_on_board(
    party_client, inner_disclosure
):
    assert "党内通报" in party_client.get("/boards/wenli/").text


def test_expired_disclosure_leaves_the_board_but_stays_in_its_period(client, wenli):
    DisclosureFactory(
        unit=wenli,
        title="过期公示",
        period="2011-08",
        display_until=timezone.localdate() - timedelta(days=1),
    )
    assert "过期公示" not in client.get("/boards/wenli/").text
    response = client.get("/boards/wenli/?period=2011-08")
    assert response.status_code == 200
    assert "过期公示" in response.text
    assert "2011年8月" in response.text


def test_board_archive_lists_periods_newest_first(client, wenli):
    DisclosureFactory(unit=wenli, period="2011-07")
    DisclosureFactory(unit=wenli, period="2011-09")
    response = client.get("/boards/wenli/")
    assert [p.key for p in response.context["archive"]] == ["2011-09", "2011-07"]


def test_board_with_invalid_period_is_a_400_with_a_message(client, wenli):
    response = client.get("/boards/wenli/?period=2011-99")
    assert response.status_code == 400
    assert "期间“2011-99”无效" in response.text


def test_unknown_board_is_404(client):
    response = client.get("/boards/no-such-village/")
    assert response.status_code == 404
    assert "页面不存在" in response.text


# Disclosure list --------------------------------------------------------------


def test_list_shows_public_disclosures_only_to_anonymous(
    client, wenli, inner_disclosure
):
    DisclosureFactory(unit=wenli, title="公开通知")
    response = client.get("/disclosures/")
    assert response.status_code == 200
    assert "公开通知" in response.text
    assert "党内通报" not in response.text
    assert response.context["page"].paginator.count == 1


def test_list_filters_by_unit(client, town, wenli):
    DisclosureFactory(unit=wenli, title="文理通知")
    DisclosureFactory(unit=town, item=ItemFactory(for_village=False), title="镇通知")
    response = client.get("/disclosures/?unit=wenli")
    titles = [d.title for d in response.context["page"].object_list]
    assert titles == ["文理通知"]


def test_list_filters_by_catalog_kind_category_and_item(client, wenli):
    village_cat = CategoryFactory(catalog=CatalogFactory(kind=Catalog.Kind.VILLAGE))
    village_item = ItemFactory(category=village_cat, code="CW01")
    DisclosureFactory(unit=wenli, item=village_item, title="财务公开")
    DisclosureFactory(unit=wenli, title="党务公开")

    def titles(query):
        response = client.get(f"/disclosures/?{query}")
        assert response.status_code == 200
        return [d.title for d in response.context["page"].object_list]

    assert titles("kind=village") == ["财务公开"]
    assert titles(f"category={village_cat.pk}") == ["财务公开"]
    assert titles("item=CW01") == ["财务公开"]


def test_list_filters_by_period_and_date_range(client, wenli):
    DisclosureFactory(
        unit=wenli, title="八月", period="2011-08", published_at=_at(2011, 8, 5)
    )
    DisclosureFactory(
        unit=wenli, title="九月", period="2011-09", published_at=_at(2011, 9, 5)
    )
    response = client.get("/disclosures/?period=2011-09")
    assert [d.title for d in response.context["page"].object_list] == ["九月"]
    response = client.get(
        "/disclosures/?published_after=2011-08-01&published_before=2011-08-31"
    )
    assert [d.title for d in response.context["page"].object_list] == ["八月"]


def test_list_is_paginated_by_20(client, wenli):
    DisclosureFactory.create_batch(25, unit=wenli)
    first = client.get("/disclosures/")
    assert len(first.context["page"].object_list) == 20
    second = client.get("/disclosures/?page=2")
    assert len(second.context["page"].object_list) == 5


@pytest.mark.parametrize(
    "query",
    [
        "unit=atlantis",
        "kind=secret",
        "category=abc",
        "item=ZZ99",
        "period=2011-99",
        "published_after=not-a-date",
    ],
)
def test_list_with_invalid_filter_is_a_400_with_a_message(client, wenli, query):
    response = client.get(f"/disclosures/?{query}")
    assert response.status_code == 400
    assert "筛选条件有误" in response.text


@pytest.mark.parametrize("page", ["abc", "999", "-1", "0"])
def test_list_with_invalid_page_is_a_400_with_a_message(client, wenli, page):
    DisclosureFactory(unit=wenli)
    response = client.get(f"/disclosures/?page={page}")
    assert response.status_code == 400
    assert "页码无效" in response.text


def test_inner_party_item_is_not_offered_as_a_filter_to_anonymous(
    client, inner_disclosure
):
    response = client.get("/disclosures/")
    assert inner_disclosure.item.code not in response.context["filter"].form.fields[
        "item"
    ].queryset.values_list("code", flat=True)


# Disclosure detail ------------------------------------------------------------


def test_detail_shows_a_public_disclosure(client, wenli):
    disclosure = DisclosureFactory(
        unit=wenli, title="森林防火通知", body="今年森林防火工作\n\n要点"
    )
    response = client.get(f"/disclosures/{disclosure.pk}/")
    assert response.status_code == 200
    assert "森林防火通知" in response.text
    assert "<p>今年森林防火工作</p>" in response.text


def test_detail_escapes_html_in_the_body(client, wenli):
    disclosure = DisclosureFactory(unit=wenli, body="<script>alert(1)</script>")
    response = client.get(f"/disclosures/{disclosure.pk}/")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_inner_party_disclosure_is_404_for_anonymous(client, inner_disclosure):
    response = client.get(f"/disclosures/{inner_disclosure.pk}/")
    assert response.status_code == 404
    assert "党内通报" not in response.text


def test_inner_party_disclosure_is_shown_to_party_member(
    party_client, inner_disclosure
):
    response = party_client.get(f"/disclosures/{inner_disclosure.pk}/")
    assert response.status_code == 200
    assert "党内公开" in response.text


def test_draft_and_scheduled_disclosures_are_404(client, wenli):
    draft = DisclosureFactory(
        unit=wenli, status=Disclosure.Status.DRAFT, published_at=None
    )
    later = DisclosureFactory(
        unit=wenli, published_at=timezone.now() + timedelta(days=1)
    )
    assert client.get(f"/disclosures/{draft.pk}/").status_code == 404
    assert client.get(f"/disclosures/{later.pk}/").status_code == 404


def test_withdrawn_disclosure_says_so_with_410(client, wenli):
    disclosure = DisclosureFactory(unit=wenli, title="已撤回的通知", body="原文内容")
    services.withdraw(disclosure, by=SuperuserFactory(), reason="重复发布")
    response = client.get(f"/disclosures/{disclosure.pk}/")
    assert response.status_code == 410
    assert "已撤回" in response.text
    assert "原文内容" not in response.text


def test_withdrawn_inner_party_disclosure_is_404_for_anonymous(
    client, inner_disclosure
):
    services.withdraw(inner_disclosure, by=SuperuserFactory(), reason="重复发布")
    assert client.get(f"/disclosures/{inner_disclosure.pk}/").status_code == 404


def never_public(wenli, **fields) -> Disclosure:
    return DisclosureFactory(
        unit=wenli,
        title="拟发放救灾物资名单（未发布）",
        status=Disclosure.Status.WITHDRAWN,
        withdrawal_reason="审核后决定不公开",
        **fields,
    )


def test_approved_then_withdrawn_disclosure_is_404_not_410(client, wenli):
    reviewer = SuperuserFactory()
    disclosure = DisclosureFactory(
        unit=wenli,
        title="拟发放救灾物资名单（未发布）",
        status=Disclosure.Status.APPROVED,
        published_at=None,
    )
    services.withdraw(disclosure, by=reviewer, reason="审核后决定不公开")
    response = client.get(f"/disclosures/{disclosure.pk}/")
    assert response.status_code == 404
    assert "救灾物资" not in response.text


def test_scheduled_then_withdrawn_before_its_time_is_404_not_410(client, wenli):
    now = timezone.now()
    disclosure = never_public(
        wenli,
        published_at=now + timedelta(hours=2),
        withdrawn_at=now + timedelta(hours=1),
    )
    with time_machine.travel(now + timedelta(days=1), tick=False):
        response = client.get(f"/disclosures/{disclosure.pk}/")
    assert response.status_code == 404
    assert "救灾物资" not in response.text


def test_scheduled_then_withdrawn_after_its_time_says_so_with_410(client, wenli):
    now = timezone.now()
    disclosure = never_public(
        wenli,
        published_at=now - timedelta(hours=2),
        withdrawn_at=now - timedelta(hours=1),
    )
    response = client.get(f"/disclosures/{disclosure.pk}/")
    assert response.status_code == 410
    assert "救灾物资" in response.text


def test_only_what_was_public_before_its_withdrawal_counts_as_once_public(wenli):
    now = timezone.now()
    shown = never_public(wenli, published_at=now - timedelta(days=2), withdrawn_at=now)
    never_public(wenli, published_at=None, withdrawn_at=now)
    never_public(wenli, published_at=now + timedelta(days=1), withdrawn_at=now)
    DisclosureFactory(unit=wenli)  # published, still up
    assert list(Disclosure.objects.once_public()) == [shown]


def test_unknown_disclosure_is_404(client):
    assert client.get("/disclosures/999999/").status_code == 404


def _at(year, month, day):
    return datetime(year, month, day, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
