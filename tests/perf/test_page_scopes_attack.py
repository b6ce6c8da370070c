"""Attacks on the page scopes (tests/perf/test_page_scopes.py): a change that
does not show on a page kept under a precise scope, and keys a visitor can
make up.

Each test reads a page as a visitor or a party member of a branch, makes a
change the page shows, and reads it again through the cache.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from catalog.models import Item
from core import caching
from disclosure import page_scopes
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache")]


@pytest.fixture
def units(db):
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    maoshan = UnitFactory(name="茅山村", parent=wenli.parent)
    item = ItemFactory()
    DisclosureFactory(unit=wenli, item=item, title="文理村财务收支")
    DisclosureFactory(unit=maoshan, item=item, title="茅山村财务收支")
    return wenli, maoshan


@pytest.fixture
def readers(units):
    wenli, _ = units
    member = Client()
    member.force_login(PartyMemberFactory(username="wenli_a", branch_of=wenli))
    return {"visitor": Client(), "member": member}


def item():
    return Item.objects.get()


def cache_state(response) -> str:
    return response.headers.get("X-Page-Cache", "")


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_scheduled_new_period_shows_though_its_choices_were_kept_just_before(
    units, readers, who
):
    """The period choices are a kept value (VALUE_CACHE_SECONDS): read a few
    seconds before a row brings a new period, they must not be stored again
    in a page that outlives the row's publication."""
    wenli, maoshan = units
    client = readers[who]
    url = f"/disclosures/?unit={wenli.slug}"
    due = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    DisclosureFactory(unit=maoshan, item=item(), period="2019-Q4", published_at=due)
    with time_machine.travel(due - timedelta(seconds=10), tick=False):
        assert 'value="2019-Q4"' not in client.get(url).text
    with time_machine.travel(due + timedelta(seconds=5), tick=False):
        client.get(url)
    with time_machine.travel(due + timedelta(minutes=5), tick=False):
        assert 'value="2019-Q4"' in client.get(url).text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_scheduled_publication_in_a_new_year_shows_on_compliance(units, readers, who):
    """The compliance pages' years come from a kept value too."""
    wenli, maoshan = units
    client = readers[who]
    url = f"/compliance/{maoshan.slug}/"
    now = timezone.now()
    due = now.replace(
        year=now.year + 1, month=1, day=1, hour=10, minute=0, second=0, microsecond=0
    )
    DisclosureFactory(unit=wenli, item=item(), published_at=due)
    with time_machine.travel(due - timedelta(seconds=10), tick=False):
        assert f">{due.year}</a>" not in client.get(url).text
    with time_machine.travel(due + timedelta(seconds=5), tick=False):
        client.get(url)
    with time_machine.travel(due + timedelta(minutes=5), tick=False):
        assert f">{due.year}</a>" in client.get(url).text


def test_a_renamed_units_list_follows_a_change_made_by_another_process(
    units, django_capture_on_commit_callbacks
):
    """A process that read the unit's slug before another process renamed it
    must not bump the old name's pages only (the new name's list would keep
    showing the unit as it was)."""
    wenli, _ = units
    client = Client()
    page_scopes.unit_scopes([wenli.pk])  # this "other" process knows the slug
    kept = {
        name: value.copy() if hasattr(value, "copy") else value
        for name, value in vars(page_scopes).items()
        if name.startswith("_slugs")
    }
    with django_capture_on_commit_callbacks(execute=True):
        wenli.slug = "wenli-new"
        wenli.save()
    for name, value in kept.items():  # the other process: no unit event seen
        current = getattr(page_scopes, name)
        if isinstance(current, list):
            current[:] = value
        else:
            current.clear()
            current.update(value)
    url = "/disclosures/?unit=wenli-new"
    assert "改名后公开" not in client.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=wenli, item=item(), title="改名后公开")
    assert "改名后公开" in client.get(url).text


def test_a_deleted_answer_leaves_its_case_page_and_the_wall(
    units, django_capture_on_commit_callbacks
):
    """Deleting a disclosure (the shell: the admin deletes drafts only) sets
    its cases' answer to none by an UPDATE, which sends no event."""
    wenli, _ = units
    client = Client()
    answer = DisclosureFactory(unit=wenli, item=item(), title="村道维修计划")
    case = SubmissionFactory(unit=wenli, accepted=True, kind="request")
    case.status = "answered"
    case.answer_text = "已答复。"
    case.answered_at = timezone.now()
    case.fulfilled_by = answer
    case.save()
    pages = ["/feedback/", f"/feedback/{case.pk}/"]
    for url in pages:
        assert "村道维修计划" in client.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        answer.delete()
    for url in pages:
        assert "村道维修计划" not in client.get(url).text, url


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/disclosures/?unit=no-such-unit", 400),
        ("/compliance/?town=no-such-unit", 400),
        ("/compliance/no-such-unit/", 404),
        ("/boards/no-such-unit/", 404),
    ],
)
def test_a_made_up_unit_name_keeps_no_version(units, url, status):
    """A visitor's made-up slug must not leave a scope version behind in the
    shared cache (one per request, for ever)."""
    assert Client().get(url).status_code == status
    for kind in ("unit", "town"):
        assert cache.get(f"{caching.SCOPE_KEY}{kind}:no-such-unit") is None


@pytest.mark.parametrize(
    "value",
    [
        "x" * 10_000,
        "wenli\u202e",
        "%00",
        "WENLI",
        "文理村",
        "wenli&unit=maoshan",
        "../wenli",
    ],
)
def test_a_hostile_unit_filter_is_refused_not_failed(units, value):
    wenli, maoshan = units
    value = value.replace("wenli", wenli.slug).replace("maoshan", maoshan.slug)
    for page in ("/disclosures/", "/compliance/"):
        key = "unit" if page == "/disclosures/" else "town"
        response = Client().get(f"{page}?{key}={value}")
        assert response.status_code in (200, 400), (page, value)


def test_a_page_made_just_after_midnight_is_kept_a_minute_only(units, rf):
    """Its figures kept from before midnight (the wall's overdue count, a
    kept value named without the day) must not stay until the next one."""
    from django.urls import resolve

    wenli, _ = units
    midnight = timezone.localtime().replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    request = rf.get(f"/disclosures/?unit={wenli.slug}")
    with time_machine.travel(midnight + timedelta(seconds=5), tick=False):
        page = caching.Page(request, resolve(request.path_info))
        assert 0 < page.lifetime() <= 60
    with time_machine.travel(midnight + timedelta(minutes=5), tick=False):
        page = caching.Page(request, resolve(request.path_info))
        assert page.lifetime() > 3600


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_periods_last_rows_withdrawn_at_the_same_time_leave_its_choice(
    units, readers, who, django_capture_on_commit_callbacks
):
    """Two transactions withdraw the last two rows of a period: each one's
    check saw the other's row still there. The other transaction is played
    here by an UPDATE committed with the first (its own event saw this row)."""
    wenli, maoshan = units
    client = readers[who]
    third = UnitFactory(name="石桥村", parent=wenli.parent)
    mine = DisclosureFactory(unit=wenli, item=item(), period="2019-Q3")
    theirs = DisclosureFactory(unit=maoshan, item=item(), period="2019-Q3")
    url = f"/disclosures/?unit={third.slug}"
    assert 'value="2019-Q3"' in client.get(url).text
    with django_capture_on_commit_callbacks(execute=True):
        mine.status, mine.withdrawal_reason = "withdrawn", "有误"
        mine.save()
        type(theirs).objects.filter(pk=theirs.pk).update(
            status="withdrawn", withdrawal_reason="有误"
        )
    assert 'value="2019-Q3"' not in client.get(url).text


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_case_hidden_made_private_or_moved_shows_at_once(
    units, readers, who, django_capture_on_commit_callbacks
):
    from feedback import services
    from tests.factories import SuperuserFactory

    wenli, maoshan = units
    client = readers[who]
    staff = SuperuserFactory()
    hidden = SubmissionFactory(unit=wenli, accepted=True, title="张三家门口积水")
    private = SubmissionFactory(unit=wenli, accepted=True, text="我的电话13800000000")
    moved = SubmissionFactory(unit=wenli, accepted=True, title="移交茅山村")
    pages = {
        "wall": "/feedback/",
        "hidden": f"/feedback/{hidden.pk}/",
        "private": f"/feedback/{private.pk}/",
        "board": f"/boards/{maoshan.slug}/",
    }
    for url in pages.values():
        client.get(url)
    assert "13800000000" in client.get(pages["private"]).text
    assert "张三家门口积水" in client.get(pages["wall"]).text
    with django_capture_on_commit_callbacks(execute=True):
        services.hide(hidden, by=staff, reason="涉及个人隐私")
        services.withdraw_consent(private, by=staff)
        moved.unit = maoshan
        moved.save()
    assert "张三家门口积水" not in client.get(pages["wall"]).text
    assert client.get(pages["hidden"]).status_code == 404
    assert "13800000000" not in client.get(pages["private"]).text
    assert "13800000000" not in client.get(pages["wall"]).text


def test_a_made_up_case_number_leaves_a_version_that_goes(units, settings):
    """/feedback/<any number>/ names the scope of that case before the view
    answers 404: its version, first read there, is not kept for ever, and a
    new one after it never repeats a number pages were kept under."""
    settings.PAGE_CACHE_MAX_SECONDS = 600
    assert Client().get("/feedback/987654/").status_code == 404
    key = f"{caching.SCOPE_KEY}submission:987654"
    first = cache.get(key)
    assert first is not None
    with time_machine.travel(timezone.now() + timedelta(seconds=1201), tick=False):
        assert cache.get(key) is None  # gone after twice the longest page life
        caching.reset_local()
        assert caching.scope_versions(["submission:987654"])[0] > first
