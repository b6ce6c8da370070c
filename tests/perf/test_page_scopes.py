"""The scopes of the list filtered to a unit, the 回音壁 pages and search.

Each page is kept until a change it shows (and no longer stale after a change
elsewhere): a change shows at once, for a visitor and for a party member.
"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from catalog.models import Item
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [
    pytest.mark.django_db,
    # Pages read twice, the second a hit: not across midnight (a page is kept
    # no longer than midnight; one made in a day's last second is not). The
    # tests that set the clock themselves travel from there.
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]


@pytest.fixture
def units(db):
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    maoshan = UnitFactory(name="茅山村", parent=wenli.parent)
    item = ItemFactory()  # made once: the catalog's changes stale every page
    DisclosureFactory(unit=wenli, item=item, title="文理村财务收支")
    DisclosureFactory(unit=maoshan, item=item, title="茅山村财务收支")
    return wenli, maoshan


def item():
    return Item.objects.get()


@pytest.fixture
def readers(units):
    wenli, _ = units
    member = Client()
    member.force_login(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    return {"visitor": Client(), "member": member}


def cache_state(response) -> str:
    return response.headers.get("X-Page-Cache", "")


def publish(unit, title, *, period="2011-09", capture):
    with capture(execute=True):
        return DisclosureFactory(unit=unit, item=item(), title=title, period=period)


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_list_filtered_to_a_unit_follows_that_unit_only(
    units, readers, who, django_capture_on_commit_callbacks
):
    wenli, maoshan = units
    client = readers[who]
    mine, other = (
        f"/disclosures/?unit={wenli.slug}",
        f"/disclosures/?unit={maoshan.slug}",
    )
    for url in (mine, other, "/disclosures/"):
        assert cache_state(client.get(url)) == "miss"
        assert cache_state(client.get(url)) == "hit"
    row = publish(wenli, "文理村新公开", capture=django_capture_on_commit_callbacks)
    response = client.get(mine)
    assert cache_state(response) == "miss"
    assert "文理村新公开" in response.text
    assert "文理村新公开" in client.get("/disclosures/").text
    assert cache_state(client.get(other)) == "hit"  # an existing period: kept
    with django_capture_on_commit_callbacks(execute=True):
        row.status, row.withdrawal_reason = Disclosure.Status.WITHDRAWN, "有误"
        row.save()
    assert "文理村新公开" not in client.get(mine).text
    assert "文理村新公开" not in client.get("/disclosures/").text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_new_period_elsewhere_reaches_every_units_filter(
    units, readers, who, django_capture_on_commit_callbacks
):
    wenli, maoshan = units
    client = readers[who]
    mine = f"/disclosures/?unit={wenli.slug}"
    assert 'value="2019-Q3"' not in client.get(mine).text
    row = publish(
        maoshan,
        "茅山村季度公开",
        period="2019-Q3",
        capture=django_capture_on_commit_callbacks,
    )
    response = client.get(mine)
    assert cache_state(response) == "miss"
    assert 'value="2019-Q3"' in response.text
    with django_capture_on_commit_callbacks(execute=True):
        row.delete()  # the period's only row: no longer offered
    assert 'value="2019-Q3"' not in client.get(mine).text


def test_a_list_with_two_units_or_none_follows_every_change(
    units, django_capture_on_commit_callbacks
):
    wenli, maoshan = units
    client = Client()
    both = f"/disclosures/?unit={wenli.slug}&unit={maoshan.slug}"
    client.get(both)
    publish(wenli, "文理村又一公开", capture=django_capture_on_commit_callbacks)
    assert cache_state(client.get(both)) == "miss"


def answered(case, disclosure=None):
    case.status = "answered"
    case.answer_text = "已答复：下月发放。"
    case.answered_at = timezone.now()
    case.fulfilled_by = disclosure
    case.save()


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_the_wall_and_a_case_follow_their_cases(
    units, readers, who, django_capture_on_commit_callbacks
):
    wenli, maoshan = units
    client = readers[who]
    case = SubmissionFactory(unit=wenli, accepted=True, title="村道何时修")
    other = SubmissionFactory(unit=maoshan, accepted=True, title="路灯坏了")
    pages = ["/feedback/", f"/feedback/{case.pk}/", f"/feedback/{other.pk}/"]
    for url in pages:
        assert cache_state(client.get(url)) == "miss"
    publish(wenli, "与回音壁无关的公开", capture=django_capture_on_commit_callbacks)
    for url in pages:  # a disclosure no case links: the wall is kept
        assert cache_state(client.get(url)) == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        answered(case)
    for url in pages[:2]:
        response = client.get(url)
        assert cache_state(response) == "miss"
        assert "已答复：下月发放。" in response.text
    assert cache_state(client.get(pages[2])) == "hit"


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_new_case_is_counted_on_the_wall_at_once(
    units, readers, who, django_capture_on_commit_callbacks
):
    wenli, _ = units
    client = readers[who]
    listed = SubmissionFactory(unit=wenli, accepted=True)
    before = client.get("/feedback/")
    assert "<dt>收到</dt><dd>1</dd>" in before.text
    client.get(f"/feedback/{listed.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        SubmissionFactory(unit=wenli)  # received, not yet accepted
    response = client.get("/feedback/")
    assert "<dt>收到</dt><dd>2</dd>" in response.text
    assert cache_state(client.get(f"/feedback/{listed.pk}/")) == "hit"


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_linked_disclosures_change_shows_on_the_wall_and_its_case(
    units, readers, who, django_capture_on_commit_callbacks
):
    wenli, _ = units
    client = readers[who]
    answer = DisclosureFactory(unit=wenli, item=item(), title="村道维修计划")
    case = SubmissionFactory(unit=wenli, accepted=True, kind="request")
    answered(case, answer)
    pages = ["/feedback/", f"/feedback/{case.pk}/"]
    for url in pages:
        assert "村道维修计划" in client.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        answer.title = "村道维修计划（更正）"
        answer.save()
    for url in pages:
        assert "村道维修计划（更正）" in client.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        answer.status, answer.withdrawal_reason = Disclosure.Status.WITHDRAWN, "有误"
        answer.save()
    for url in pages:
        assert "村道维修计划" not in client.get(url).text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_search_lives_until_a_change(
    units, readers, who, django_capture_on_commit_callbacks
):
    wenli, _ = units
    client = readers[who]
    url = "/search/?q=抗旱物资"
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    with time_machine.travel(at, tick=False):
        assert "发放名单" not in client.get(url).text
    with time_machine.travel(at + timedelta(minutes=30), tick=False):
        assert cache_state(client.get(url)) == "hit"  # past 60 s: kept
        publish(wenli, "抗旱物资发放名单", capture=django_capture_on_commit_callbacks)
        response = client.get(url)
        assert cache_state(response) == "miss"
        assert "发放名单" in response.text


def test_a_draft_saved_twice_stales_no_list_wall_case_or_search(
    units, django_capture_on_commit_callbacks
):
    wenli, _ = units
    client = Client()
    case = SubmissionFactory(unit=wenli, accepted=True)
    pages = [
        f"/disclosures/?unit={wenli.slug}",
        "/feedback/",
        f"/feedback/{case.pk}/",
        "/search/?q=财务",
    ]
    for url in pages:
        client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        draft = DisclosureFactory(
            unit=wenli,
            item=item(),
            status=Disclosure.Status.DRAFT,
            published_at=None,
            period="2030-01",
        )
        draft.title = "草稿改了标题"
        draft.save()
    for url in pages:
        assert cache_state(client.get(url)) == "hit", url


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_cases_page_lives_until_its_answers_scheduled_publication(
    units, readers, who
):
    wenli, _ = units
    client = readers[who]
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    answer = DisclosureFactory(
        unit=wenli,
        item=item(),
        title="十二点发布的答复",
        published_at=at + timedelta(hours=2),
    )
    DisclosureFactory(  # another unit's, earlier: no concern of the case
        unit=units[1], item=item(), published_at=at + timedelta(hours=1)
    )
    case = SubmissionFactory(unit=wenli, accepted=True, kind="request")
    answered(case, answer)
    pages = ["/feedback/", f"/feedback/{case.pk}/"]
    with time_machine.travel(at, tick=False):
        for url in pages:
            assert "十二点发布的答复" not in client.get(url).text
    with time_machine.travel(at + timedelta(minutes=90), tick=False):
        for url in pages:
            assert cache_state(client.get(url)) == "hit"
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        for url in pages:
            assert "十二点发布的答复" in client.get(url).text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_list_lives_until_a_scheduled_row_brings_a_new_period(units, readers, who):
    wenli, maoshan = units
    client = readers[who]
    url = f"/disclosures/?unit={wenli.slug}"
    at = timezone.now().replace(hour=10, minute=0)  # far from midnight
    DisclosureFactory(  # a period already on offer
        unit=maoshan, item=item(), published_at=at + timedelta(hours=1)
    )
    DisclosureFactory(
        unit=maoshan,
        item=item(),
        period="2019-Q4",
        published_at=at + timedelta(hours=2),
    )
    with time_machine.travel(at, tick=False):
        assert 'value="2019-Q4"' not in client.get(url).text
    with time_machine.travel(at + timedelta(minutes=90), tick=False):
        assert cache_state(client.get(url)) == "hit"
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        assert 'value="2019-Q4"' in client.get(url).text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_the_compliance_pages_follow_their_town_or_unit(
    units, readers, who, django_capture_on_commit_callbacks
):
    wenli, maoshan = units
    client = readers[who]
    elsewhere = UnitFactory(name="石桥村", parent=TownFactory(name="石桥镇"))
    pages = {
        "town": f"/compliance/?town={wenli.parent.slug}",
        "unit": f"/compliance/{wenli.slug}/",
        "other town": f"/compliance/?town={elsewhere.parent.slug}",
        "other unit": f"/compliance/{maoshan.slug}/",
    }
    before = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        before[name] = response.text
        assert cache_state(client.get(url)) == "hit"
    publish(wenli, "文理村本年公开", capture=django_capture_on_commit_callbacks)
    for name in ("town", "unit"):
        response = client.get(pages[name])
        assert cache_state(response) == "miss", name
    for name in ("other town", "other unit"):
        assert cache_state(client.get(pages[name])) == "hit", name
    with django_capture_on_commit_callbacks(execute=True):
        SubmissionFactory(unit=elsewhere, accepted=True).save()
    assert cache_state(client.get(pages["other town"])) == "miss"
    assert cache_state(client.get(pages["unit"])) == "hit"


def test_a_publication_in_a_new_year_reaches_every_compliance_page(
    units, django_capture_on_commit_callbacks
):
    wenli, maoshan = units
    client = Client()
    url = f"/compliance/{maoshan.slug}/"
    client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(  # a year before any other: the choice of years grows
            unit=wenli, item=item(), published_at=timezone.now().replace(year=2009)
        )
    response = client.get(url)
    assert cache_state(response) == "miss"
    assert "2009" in response.text
