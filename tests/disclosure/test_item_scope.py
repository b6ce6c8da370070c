"""A disclosure of a 党内 item is 党内: also the ones that existed before the
item became 党内, on every page, feed, index, cached page and archive."""

import importlib
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.models import Item, Scope
from composition.models import SearchEntry
from core import caching
from disclosure.archives import write_archive
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

TITLE = "支部换届候选人初步人选"


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", parent=TownFactory())


@pytest.fixture
def item():
    return ItemFactory(code="A07", name="换届选举")


@pytest.fixture
def notice(wenli, item):
    return DisclosureFactory(unit=wenli, item=item, title=TITLE)


def make_inner_party(item: Item) -> None:
    item.scope = Scope.INNER_PARTY
    item.save()


def test_item_becoming_inner_party_makes_every_existing_disclosure_inner_party(
    wenli, item
):
    published = DisclosureFactory(unit=wenli, item=item)
    withdrawn = DisclosureFactory(
        unit=wenli,
        item=item,
        status=Disclosure.Status.WITHDRAWN,
        withdrawal_reason="有误",
    )
    draft = DisclosureFactory(
        unit=wenli, item=item, status=Disclosure.Status.DRAFT, published_at=None
    )
    other = DisclosureFactory(unit=wenli)
    make_inner_party(item)
    for disclosure in (published, withdrawn, draft):
        disclosure.refresh_from_db()
        assert disclosure.scope == Scope.INNER_PARTY
    other.refresh_from_db()
    assert other.scope == Scope.PUBLIC


def test_the_change_is_recorded_in_each_disclosures_history(notice, item):
    make_inner_party(item)
    latest = notice.history.first()
    assert latest.scope == Scope.INNER_PARTY
    assert latest.history_type == "~"
    assert "A07" in latest.history_change_reason
    assert "党内" in latest.history_change_reason
    assert notice.history.count() == 2


def test_an_item_made_public_again_leaves_its_disclosures_inner_party(notice, item):
    make_inner_party(item)
    item.scope = Scope.PUBLIC
    item.save()
    notice.refresh_from_db()
    assert notice.scope == Scope.INNER_PARTY


def test_changing_the_scope_in_the_admin_makes_disclosures_inner_party(
    admin_client, notice, item
):
    response = admin_client.post(
        f"/admin/catalog/item/{item.pk}/change/",
        {
            "category": item.category_id,
            "code": item.code,
            "name": item.name,
            "description": "",
            "frequency": item.frequency,
            "timing": item.timing,
            "nil_allowed": "on",
            "scope": Scope.INNER_PARTY,
            "forms": [f.pk for f in item.forms.all()],
            "department": item.department_id,
            "notice_days": "",
            "for_town": "on",
            "for_village": "on",
            "order": 0,
        },
    )
    assert response.status_code == 302, response.context["errors"]
    notice.refresh_from_db()
    assert notice.scope == Scope.INNER_PARTY
    assert notice.history.first().history_user.username == "admin"


def test_a_queryset_update_of_the_scope_makes_disclosures_inner_party(notice, item):
    assert Item.objects.filter(pk=item.pk).update(scope=Scope.INNER_PARTY) == 1
    notice.refresh_from_db()
    assert notice.scope == Scope.INNER_PARTY


def test_a_bulk_update_of_the_scope_makes_disclosures_inner_party(notice, item):
    item.scope = Scope.INNER_PARTY
    Item.objects.bulk_update([item], ["scope"])
    notice.refresh_from_db()
    assert notice.scope == Scope.INNER_PARTY


def test_search_entries_follow_the_item_becoming_inner_party(client, notice, item):
    assert client.get("/search/", {"q": TITLE}).context["results"].ids
    make_inner_party(item)
    assert SearchEntry.objects.get(disclosure=notice).inner_party
    assert not client.get("/search/", {"q": TITLE}).context["results"].ids
    member = Client()
    member.force_login(PartyMemberFactory())
    assert member.get("/search/", {"q": TITLE}).context["results"].ids


def public_urls(notice) -> list[str]:
    return [
        "/",
        "/disclosures/",
        f"/disclosures/?unit={notice.unit.slug}",
        f"/boards/{notice.unit.slug}/",
        "/feeds/latest/",
        f"/feeds/boards/{notice.unit.slug}/",
        "/sitemap.xml",
    ]


def test_no_public_page_shows_a_disclosure_once_its_item_is_inner_party(
    client, notice, item
):
    detail = f"/disclosures/{notice.pk}/"
    assert client.get(detail).status_code == 200
    assert TITLE in client.get(f"/boards/{notice.unit.slug}/").text
    make_inner_party(item)
    assert client.get(detail).status_code == 404
    for url in public_urls(notice):
        response = client.get(url)
        assert response.status_code == 200, url
        assert TITLE not in response.text, url
        assert detail not in response.text, url


def test_a_cached_page_is_stale_once_the_item_is_inner_party(
    # Read twice, a hit: not in a day's last second (kept no longer than midnight).
    away_from_midnight,
    settings,
    notice,
    item,
    django_capture_on_commit_callbacks,
):
    settings.PAGE_CACHE_SECONDS = 60
    settings.VALUE_CACHE_SECONDS = 60
    # The shared cache and this process's copies of it (an earlier test's
    # version, read again after a second, would key every page anew).
    cache.clear()
    caching.reset_local()
    visitor = Client()
    urls = [*public_urls(notice), f"/disclosures/{notice.pk}/"]
    for url in urls:
        visitor.get(url)
    assert visitor.get("/disclosures/").headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        make_inner_party(item)
    assert visitor.get(f"/disclosures/{notice.pk}/").status_code == 404
    for url in public_urls(notice):
        assert TITLE not in visitor.get(url).text, url
    cache.clear()


def test_a_withdrawn_disclosure_of_an_item_made_inner_party_is_404_for_visitors(
    client, wenli, item
):
    withdrawn = DisclosureFactory(
        unit=wenli,
        item=item,
        title=TITLE,
        status=Disclosure.Status.WITHDRAWN,
        withdrawal_reason="有误",
        withdrawn_at=timezone.now(),
    )
    assert client.get(f"/disclosures/{withdrawn.pk}/").status_code == 410
    make_inner_party(item)
    response = client.get(f"/disclosures/{withdrawn.pk}/")
    assert response.status_code == 404
    assert TITLE not in response.text


def test_the_archive_records_the_disclosure_as_inner_party(notice, item):
    make_inner_party(item)
    target = io.BytesIO()
    write_archive(target, year=2011)
    with zipfile.ZipFile(target) as zf:
        records = json.loads(zf.read("disclosures.json"))["disclosures"]
    (record,) = records
    assert record["scope_code"] == Scope.INNER_PARTY
    assert record["history"][-1]["history_change_reason"]


def make_inner_party_unseen(item: Item) -> None:
    """What no hook sees: data from before the hook, raw SQL, a raw fixture."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_item SET scope = %s WHERE id = %s",
            [Scope.INNER_PARTY, item.pk],
        )


def test_the_migrations_make_rows_from_before_inner_party(notice, item):
    make_inner_party_unseen(item)
    for module, function in [
        ("disclosure.migrations.0008_inner_party_items_disclosures", "narrow"),
        ("composition.migrations.0004_inner_party_disclosure_entries", "mark"),
    ]:
        getattr(importlib.import_module(module), function)(apps, None)
    notice.refresh_from_db()
    assert notice.scope == Scope.INNER_PARTY
    assert "党内" in notice.history.first().history_change_reason
    assert SearchEntry.objects.get(disclosure=notice).inner_party
