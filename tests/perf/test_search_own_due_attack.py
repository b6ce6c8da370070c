"""Attacks on a search page's own next change (composition/search.py
`own_due`, core/caching.py `next_due(..., own=)`).

A search page and its kept matches now live until an entry holding the
page's words comes due, not until the county's next scheduled publication.
Each test keeps pages (and kept matches), moves the clock and changes rows,
and checks every page against the same search worked out with no cache at
all (`truth`): a row holding the words must appear at its time for every
reader who may read it, never before, and a 党内 or 党组织内部 row must
never reach a visitor (nor another branch's member).
"""

import gzip
import random
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from catalog.models import Item, Scope
from composition import search
from composition.models import SearchEntry
from core import caching
from core.content import ANY
from disclosure.models import Disclosure
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db

WORDS = "抗旱物资"
HIT = re.compile(r'<a href="([^"]+)" class="hit-title">')
COUNT = re.compile(r"共找到 (\d+) 条结果")


@pytest.fixture
def county(db):
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    far = UnitFactory(name="远山村", parent=TownFactory(name="青山镇"))
    public = ItemFactory()
    inner = ItemFactory(scope=Scope.INNER_PARTY)
    branch = ItemFactory(scope=Scope.BRANCH)
    DisclosureFactory(unit=wenli, item=public, title="文理村抗旱物资清单")
    return SimpleNamespace(
        wenli=wenli,
        maoshan=maoshan,
        far=far,
        public=public,
        inner=inner,
        branch=branch,
    )


@pytest.fixture
def readers(county):
    """A visitor, a member of 文理村's branch and one of 茅山村's."""
    found = {"visitor": (Client(), AnonymousUser())}
    for name, unit in (("member", county.wenli), ("other", county.maoshan)):
        user = PartyMemberFactory(username=f"{name}_m", branch_of=unit)
        client = Client()
        client.force_login(user)
        # As the request loads it: its branch read from the rows now.
        found[name] = (client, User.objects.get(pk=user.pk))
    return found


@pytest.fixture
def ten():
    """10:00 local today: hours of the day ahead, none across midnight."""
    return timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)


def at(moment):
    return time_machine.travel(moment, tick=False)


def publish(changed, unit, title, *, item=None, **fields):
    with changed():
        return DisclosureFactory(
            unit=unit,
            item=item or Item.objects.filter(scope=Scope.PUBLIC).first(),
            title=title,
            **fields,
        )


def edit(changed, row, **fields):
    with changed():
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()


def state(response) -> str:
    return response.headers.get("X-Page-Cache", "")


def truth(query: str, user, page: int = 1, **filters) -> tuple[list[str], int]:
    """The hits' links of this page of results and their count, worked out
    with nothing kept (what the page must show now)."""
    with override_settings(VALUE_CACHE_SECONDS=0):
        results = search.search(query, user=user, **filters)
    ids = results.ids[(page - 1) * 20 : page * 20]
    entries = SearchEntry.objects.select_related("disclosure", "submission").in_bulk(
        ids
    )
    links = []
    for pk in ids:
        entry = entries[pk]
        links.append((entry.disclosure or entry.submission).get_absolute_url())
    return links, len(results.ids)


def shown(response) -> tuple[list[str], int]:
    assert response.status_code == 200
    count = COUNT.search(response.text)
    return HIT.findall(response.text), int(count[1]) if count else 0


def get(client, query: str, params: dict | None = None):
    return client.get("/search/", {"q": query, **(params or {})})


def check(client, user, query: str, params: dict | None = None, **filters):
    """The page of `query` (and `params`) as served equals the truth now."""
    response = get(client, query, params)
    page = int((params or {}).get("page", 1))
    assert shown(response) == truth(query, user, page, **filters), (
        query,
        params,
        timezone.localtime(),
    )
    return response


def titles(response) -> str:
    """The hits' titles as shown, without search's <mark>."""
    hits = re.findall(r'class="hit-title">(.*?)</a>', response.text)
    return "|".join(hits).replace("<mark>", "").replace("</mark>", "")


# Words split between title, body and the index number ------------------------


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("who", ["visitor", "member"])
def test_every_word_of_a_query_counts_wherever_it_stands(
    county, readers, who, changed, ten
):
    """A scheduled row holding one word in its title, another in its body
    and a third in its index number (索引号, folded case) shows at its time
    on every page whose words it holds all of, in any order, and never on
    one it holds only some of."""
    client, user = readers[who]
    queries = [
        "抗旱物资 发放名单",
        "发放名单 抗旱物资",
        "抗旱物资\u3000发放名单",  # an ideographic space
        "抗旱物资 抗旱物资 发放名单",
        "抗旱物资 yuanshan-2026",
        "YuanShan-2026-A09 发放名单",
        "抗旱物资 森林防火",  # a word it lacks
    ]
    with at(ten):
        publish(
            changed,
            county.far,
            "远山村抗旱物资QA1",
            body="本月发放名单见附件。",
            index_number="YUANSHAN-2026-A09-007",
            published_at=ten + timedelta(hours=1),
        )
        # Another row holding only the first word, due earlier.
        publish(
            changed,
            county.far,
            "远山村抗旱物资调拨QA2",
            published_at=ten + timedelta(minutes=20),
        )
        for query in queries:
            check(client, user, query)
            assert state(get(client, query)) == "hit"
    for moment in (
        ten + timedelta(minutes=20),
        ten + timedelta(minutes=59, seconds=59),
        ten + timedelta(hours=1),
        ten + timedelta(hours=1, seconds=1),
    ):
        with at(moment):
            for query in queries:
                check(client, user, query)
    with at(ten + timedelta(hours=1, seconds=1)):
        for query in queries[:-1]:
            assert "QA1" in titles(get(client, query)), query
        assert "QA1" not in titles(get(client, queries[-1]))


@pytest.mark.usefixtures("page_cache")
def test_a_latin_word_shows_at_its_time_whatever_its_case(
    county, readers, changed, ten
):
    """Pages of ABCD, abcd and AbCd (the search folds case; each keeps its
    own next change) all show a row holding "xAbcDx" at its time, and a
    先党内后党外 one holding "XABCDX" at its public date."""
    client, user = readers["visitor"]
    queries = ["ABCD", "abcd", "AbCd", "aBcD 抗旱物资"]
    with at(ten):
        publish(
            changed,
            county.far,
            "远山村xAbcDx抗旱物资",
            published_at=ten + timedelta(hours=2),
        )
        publish(
            changed,
            county.far,
            "远山村XABCDX",
            published_at=ten - timedelta(hours=1),
            public_from=ten + timedelta(hours=3),
        )
        for query in queries:
            check(client, user, query)
            assert state(get(client, query)) == "hit"
    for hours in (1, 2, 3):
        with at(ten + timedelta(hours=hours, seconds=1)):
            caching.reset_local()
            for query in queries:
                check(client, user, query)
    with at(ten + timedelta(hours=3, seconds=1)):
        assert len(shown(get(client, "abcd"))[0]) == 2


@pytest.mark.usefixtures("page_cache")
def test_accented_latin_words_follow_the_database_folding(
    county, readers, changed, ten
):
    """Words of accented letters (PostgreSQL folds them, SQLite does not):
    whatever the database finds, the page shows at the row's time."""
    client, user = readers["visitor"]
    queries = ["ÉCOLE抗旱", "école抗旱", "Straße", "STRASSE", "straße修缮"]
    with at(ten):
        publish(
            changed, county.far, "école抗旱通知", published_at=ten + timedelta(hours=1)
        )
        publish(
            changed, county.far, "Straße修缮", published_at=ten + timedelta(hours=2)
        )
        for query in queries:
            check(client, user, query)
    for hours in (1, 2):
        with at(ten + timedelta(hours=hours, seconds=1)):
            for query in queries:
                check(client, user, query)


# Filters, pages of results, text size ----------------------------------------


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("who", ["visitor", "member"])
def test_filtered_pages_show_a_row_at_its_time(county, readers, who, changed, ten):
    """With a unit, a catalog kind or the 回音壁 kind: each filtered page
    (and its kept matches, which name the catalog too) follows the row."""
    client, user = readers[who]
    kind = county.public.category.catalog.kind
    variants = [
        ({"unit": county.far.slug}, {"unit": county.far}),
        ({"unit": county.wenli.slug}, {"unit": county.wenli}),
        ({"kind": kind}, {"kind": kind}),
        ({"kind": kind, "unit": county.far.slug}, {"kind": kind, "unit": county.far}),
        ({"kind": "feedback"}, {"kind": "feedback"}),
    ]
    with at(ten):
        publish(
            changed,
            county.far,
            "远山村抗旱物资发放QF1",
            published_at=ten + timedelta(hours=1),
        )
        for params, filters in variants:
            check(client, user, WORDS, params, **filters)
            assert state(get(client, WORDS, params)) == "hit"
    with at(ten + timedelta(hours=1, seconds=1)):
        caching.reset_local()
        for params, filters in variants:
            check(client, user, WORDS, params, **filters)
        assert "QF1" in titles(get(client, WORDS, {"unit": county.far.slug}))
        assert "QF1" in titles(get(client, WORDS, {"kind": kind}))


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("elder", [None, "1", "2"])
def test_the_second_page_of_results_follows_a_row_coming_due(
    county, changed, ten, elder
):
    """22 matches: the second page lists the two oldest. A 23rd coming due
    pushes a third there, at any text size (one copy, its slots)."""
    client = Client()
    if elder:
        client.cookies["elder"] = elder
    visitor = AnonymousUser()
    with at(ten):
        for n in range(21):
            DisclosureFactory(
                unit=county.far,
                item=county.public,
                title=f"抗旱物资第{n}批",
                published_at=ten - timedelta(days=2, minutes=n),
            )
        publish(
            changed,
            county.far,
            "抗旱物资第99批",
            published_at=ten + timedelta(hours=1),
        )
        caching.reset_local()
        check(client, visitor, WORDS, {"page": 2})
        assert state(get(client, WORDS, {"page": 2})) == "hit"
    with at(ten + timedelta(hours=1)):
        response = check(client, visitor, WORDS, {"page": 2})
        assert len(shown(response)[0]) == 3
        assert shown(response)[1] == 23
        if elder:
            assert 'class="elder' in response.text


# The 回音壁 ------------------------------------------------------------------


@pytest.mark.usefixtures("page_cache")
def test_a_wall_case_holding_the_words_shows_beside_scheduled_rows(
    county, readers, changed, ten
):
    """A 回音壁 case has no time of its own (visibility_facts): it shows when
    put on the wall and leaves when taken off, and the pages still follow
    the scheduled rows."""
    client, user = readers["visitor"]
    with at(ten):
        publish(
            changed,
            county.far,
            "远山村抗旱物资发放QW1",
            published_at=ten + timedelta(hours=1),
        )
        with changed():
            case = SubmissionFactory(
                unit=county.far, title="路灯坏了QW2", text="村口路灯不亮。"
            )
        check(client, user, WORDS)
        check(client, user, WORDS, {"kind": "feedback"}, kind="feedback")
    with at(ten + timedelta(minutes=10)):
        with changed():
            case.status = "accepted"
            case.accepted_at = timezone.now()
            case.text = "抗旱物资什么时候发？"
            case.save()
        assert "QW2" in titles(check(client, user, WORDS))
        check(client, user, WORDS, {"kind": "feedback"}, kind="feedback")
        assert state(get(client, WORDS)) == "hit"
    with at(ten + timedelta(hours=1, seconds=1)):
        assert "QW1" in titles(check(client, user, WORDS))
        check(client, user, WORDS, {"kind": "feedback"}, kind="feedback")
    with at(ten + timedelta(hours=1, minutes=5)):
        with changed():
            case.consent_to_publish = False
            case.save()
        assert "QW2" not in titles(check(client, user, WORDS))


# Transactions ------------------------------------------------------------------


@pytest.mark.usefixtures("page_cache")
def test_a_schedule_rolled_back_keeps_nothing_worked_out_from_it(
    county, readers, ten, changed
):
    """Inside a transaction a matching row is moved from 11:00 to 15:00,
    another is scheduled for 10:30, and pages are made (every cache empty:
    their next change is worked out from the uncommitted rows); the
    transaction rolls back. The row still shows at 11:00, the other never:
    nothing worked out inside was kept."""
    client, user = readers["visitor"]
    far = {"unit": county.far.slug}
    with at(ten):
        row = publish(
            changed,
            county.far,
            "远山村抗旱物资发放QT1",
            published_at=ten + timedelta(hours=1),
        )
        check(client, user, WORDS)
    with at(ten + timedelta(minutes=5)):
        with transaction.atomic():
            row.published_at = ten + timedelta(hours=5)
            row.save()
            DisclosureFactory(
                unit=county.far,
                item=county.public,
                title="远山村抗旱物资QT2",
                published_at=ten + timedelta(minutes=30),
            )
            caching.reset_local()
            cache.clear()
            for params in (None, far):
                assert get(client, WORDS, params).status_code == 200
            search.search(WORDS, user=user)
            transaction.set_rollback(True)
        row.refresh_from_db()
        check(client, user, WORDS)
    with at(ten + timedelta(minutes=30, seconds=1)):
        assert "QT2" not in titles(check(client, user, WORDS))
    with at(ten + timedelta(hours=1, seconds=1)):
        assert "QT1" in titles(check(client, user, WORDS))
        check(client, user, WORDS, far, unit=county.far)


# Rescheduled, withdrawn, deleted ---------------------------------------------


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_row_rescheduled_never_shows_at_its_old_time(
    county, readers, who, changed, ten
):
    """One moved from 11:00 to 13:00, one from 12:00 to 10:30: each shows at
    its new time, never at its old one."""
    client, user = readers[who]
    with at(ten):
        later = publish(
            changed,
            county.far,
            "远山村抗旱物资QR1",
            published_at=ten + timedelta(hours=1),
        )
        sooner = publish(
            changed,
            county.far,
            "远山村抗旱物资QR2",
            published_at=ten + timedelta(hours=2),
        )
        check(client, user, WORDS)
    with at(ten + timedelta(minutes=5)):
        edit(changed, later, published_at=ten + timedelta(hours=3))
        edit(changed, sooner, published_at=ten + timedelta(minutes=30))
        check(client, user, WORDS)
    for moment in (
        ten + timedelta(minutes=30, seconds=1),
        ten + timedelta(hours=1, seconds=1),
        ten + timedelta(hours=2, seconds=1),
        ten + timedelta(hours=3, seconds=1),
    ):
        with at(moment):
            found = titles(check(client, user, WORDS))
            assert "QR2" in found
            assert ("QR1" in found) == (moment > ten + timedelta(hours=3))


@pytest.mark.usefixtures("page_cache")
def test_withdrawn_then_republished_with_a_schedule(county, readers, changed, ten):
    """Out, withdrawn, then published again for 12:00: gone at once, back
    at 12:00, not a second before."""
    client, user = readers["visitor"]
    with at(ten):
        row = publish(changed, county.far, "远山村抗旱物资QP1")
        assert "QP1" in titles(check(client, user, WORDS))
    with at(ten + timedelta(minutes=5)):
        edit(
            changed,
            row,
            status=Disclosure.Status.WITHDRAWN,
            withdrawal_reason="有误",
            withdrawn_at=timezone.now(),
        )
        assert "QP1" not in titles(check(client, user, WORDS))
    with at(ten + timedelta(minutes=10)):
        edit(
            changed,
            row,
            status=Disclosure.Status.PUBLISHED,
            withdrawal_reason="",
            withdrawn_at=None,
            published_at=ten + timedelta(hours=2),
        )
        check(client, user, WORDS)
    with at(ten + timedelta(hours=1, minutes=59, seconds=59)):
        assert "QP1" not in titles(check(client, user, WORDS))
    with at(ten + timedelta(hours=2)):
        assert "QP1" in titles(check(client, user, WORDS))


@pytest.mark.usefixtures("page_cache")
def test_a_scheduled_row_deleted_never_shows(county, readers, changed, ten):
    client, user = readers["visitor"]
    with at(ten):
        row = publish(
            changed,
            county.far,
            "远山村抗旱物资QD1",
            published_at=ten + timedelta(hours=1),
        )
        check(client, user, WORDS)
    with at(ten + timedelta(minutes=5)):
        with changed():
            row.delete()
        check(client, user, WORDS)
    with at(ten + timedelta(hours=1, seconds=1)):
        assert "QD1" not in titles(check(client, user, WORDS))


# 党内 and 党组织内部 ---------------------------------------------------------------


@pytest.mark.usefixtures("page_cache")
def test_an_item_made_inner_party_keeps_its_scheduled_rows_from_visitors(
    county, readers, changed, ten
):
    """A scheduled public row and a 先党内后党外 one hold the words; their
    item is made 党内 (follow_item_scope) while the pages are kept. At
    their times members find them, visitors never (made and kept)."""
    item = ItemFactory()
    with at(ten):
        publish(
            changed,
            county.far,
            "远山村抗旱物资QI1",
            item=item,
            published_at=ten + timedelta(hours=1),
        )
        publish(
            changed,
            county.far,
            "远山村抗旱物资QI2",
            item=item,
            published_at=ten - timedelta(hours=1),
            public_from=ten + timedelta(hours=2),
        )
        for client, user in readers.values():
            check(client, user, WORDS)
    with at(ten + timedelta(minutes=5)):
        with changed():
            item.scope = Scope.INNER_PARTY
            item.save()
        for client, user in readers.values():
            check(client, user, WORDS)
    for moment in (
        ten + timedelta(hours=1, seconds=1),
        ten + timedelta(hours=2, seconds=1),
    ):
        with at(moment):
            for _ in range(2):
                for client, user in readers.values():
                    check(client, user, WORDS)
                found = titles(get(readers["visitor"][0], WORDS))
                assert "QI1" not in found and "QI2" not in found
    with at(ten + timedelta(hours=2, seconds=1)):
        found = titles(get(readers["member"][0], WORDS))
        assert "QI1" in found and "QI2" in found


@pytest.mark.usefixtures("page_cache")
def test_a_public_date_moved_shows_the_row_to_visitors_at_the_new_one(
    county, readers, changed, ten
):
    """先党内后党外: one public date moved earlier, one later, one row made
    党内: visitors find each at its new date only (the 党内 one never);
    members all along."""
    with at(ten):
        earlier = publish(
            changed,
            county.far,
            "远山村抗旱物资QM1",
            published_at=ten - timedelta(hours=1),
            public_from=ten + timedelta(hours=3),
        )
        later = publish(
            changed,
            county.far,
            "远山村抗旱物资QM2",
            published_at=ten - timedelta(hours=1),
            public_from=ten + timedelta(hours=1),
        )
        inner = publish(
            changed,
            county.far,
            "远山村抗旱物资QM3",
            published_at=ten - timedelta(hours=1),
            public_from=ten + timedelta(hours=2),
        )
        for client, user in readers.values():
            check(client, user, WORDS)
    with at(ten + timedelta(minutes=5)):
        edit(changed, earlier, public_from=ten + timedelta(minutes=30))
        edit(changed, later, public_from=ten + timedelta(hours=4))
        edit(changed, inner, scope=Scope.INNER_PARTY)
        for client, user in readers.values():
            check(client, user, WORDS)
    for minutes in (31, 61, 121, 181, 241):
        with at(ten + timedelta(minutes=minutes)):
            if minutes % 2:
                caching.reset_local()
            for client, user in readers.values():
                check(client, user, WORDS)
            visitor = titles(get(readers["visitor"][0], WORDS))
            assert "QM1" in visitor and "QM3" not in visitor
            assert ("QM2" in visitor) == (minutes > 240)


@pytest.mark.usefixtures("page_cache")
def test_a_branch_notice_reaches_its_branch_at_its_time_and_no_one_else(
    county, readers, changed, ten
):
    """A 党组织内部 notice of 文理村's branch and one of 茅山村's, scheduled:
    each branch's members find theirs at its time; the other branch's
    members and visitors never, before or after."""
    with at(ten):
        publish(
            changed,
            county.wenli,
            "文理村支部抗旱物资QB1",
            item=county.branch,
            published_at=ten + timedelta(hours=1),
        )
        publish(
            changed,
            county.maoshan,
            "茅山村支部抗旱物资QB2",
            item=county.branch,
            published_at=ten + timedelta(hours=2),
        )
        for client, user in readers.values():
            check(client, user, WORDS)
            assert state(get(client, WORDS)) == "hit"
    for hours in (1, 2):
        with at(ten + timedelta(hours=hours, seconds=1)):
            for _ in range(2):
                for client, user in readers.values():
                    check(client, user, WORDS)
    with at(ten + timedelta(hours=2, seconds=1)):
        found = {who: titles(get(c, WORDS)) for who, (c, _) in readers.items()}
    assert "QB1" in found["member"] and "QB2" not in found["member"]
    assert "QB2" in found["other"] and "QB1" not in found["other"]
    assert "QB" not in found["visitor"]


# The longest lifetime ----------------------------------------------------------


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("beyond", [1, 30, 59, 61, 119, 3600 + 30])
def test_a_row_due_beyond_the_longest_lifetime_shows_at_its_time(
    county, readers, changed, ten, settings, beyond
):
    """PAGE_CACHE_MAX_SECONDS an hour: a row due just past it (and one past
    two of them) is outside the span looked in when the page is made; the
    page and its kept matches still show it at its time."""
    settings.PAGE_CACHE_MAX_SECONDS = 3600
    due = ten + timedelta(seconds=3600 + beyond)
    with at(ten):
        publish(changed, county.far, "远山村抗旱物资QL1", published_at=due)
        for client, user in readers.values():
            check(client, user, WORDS)
    steps = [ten + timedelta(minutes=m) for m in range(10, 180, 10)]
    steps += [due - timedelta(seconds=1), due, due + timedelta(seconds=1)]
    for moment in sorted(steps):
        with at(moment):
            for client, user in readers.values():
                check(client, user, WORDS)


@pytest.mark.usefixtures("values_only")
@pytest.mark.parametrize("beyond", [1, 61, 3600 + 30])
def test_kept_matches_never_outlive_the_span_looked_in(
    county, readers, changed, ten, settings, beyond
):
    """Without the page cache: the kept matches (not bounded by midnight)
    of a plain, a unit and a kind search show a row due past the span."""
    settings.PAGE_CACHE_MAX_SECONDS = 3600
    kind = county.public.category.catalog.kind
    filters = [{}, {"unit": county.far}, {"kind": kind}]
    due = ten + timedelta(seconds=3600 + beyond)
    with at(ten):
        publish(changed, county.far, "远山村抗旱物资QL2", published_at=due)
        for _, user in readers.values():
            for given in filters:
                search.search(WORDS, user=user, **given)
    for moment in (ten + timedelta(minutes=59), due, due + timedelta(seconds=1)):
        with at(moment):
            for _, user in readers.values():
                for given in filters:
                    expected = truth(WORDS, user, **given)[1]
                    found = search.search(WORDS, user=user, **given).ids
                    assert len(found) == expected, (moment, given)


# Many rows, many readers, many changes ------------------------------------------


@pytest.mark.usefixtures("page_cache")
def test_many_scheduled_rows_each_show_at_their_time(county, readers, changed, ten):
    """30 rows holding the words, due every ten minutes, with other words'
    rows between: the page follows every one, read a second before, at
    and a second after its time, in this worker and in another."""
    client, user = readers["visitor"]
    with at(ten):
        for n in range(30):
            publish(
                changed,
                county.far,
                f"远山村抗旱物资第{n}号",
                published_at=ten + timedelta(minutes=10 * (n + 1)),
            )
            publish(
                changed,
                county.far,
                f"远山村森林防火第{n}号",
                published_at=ten + timedelta(minutes=10 * n + 5),
            )
        check(client, user, WORDS)
    for n in range(30):
        due = ten + timedelta(minutes=10 * (n + 1))
        for moment in (due - timedelta(seconds=1), due, due + timedelta(seconds=1)):
            with at(moment):
                if n % 3 == 0:
                    caching.reset_local()
                _, count = shown(check(client, user, WORDS))
        assert count == n + 2


@pytest.mark.usefixtures("page_cache")
def test_random_schedules_and_changes_against_the_uncached_search(
    county, readers, changed, ten
):
    """Seeded rows of several words, scopes and schedules; the clock walks
    through every due time (a second before, at and after), rows are
    changed on the way (rescheduled, retitled, withdrawn, public date
    moved, deleted); every reader's page of every query always equals the
    uncached search."""
    rng = random.Random(20261205)
    words = ["抗旱物资", "发放名单", "ABCD", "森林防火"]
    queries = ["抗旱物资", "抗旱物资 发放名单", "abcd", "森林防火 发放名单"]
    units = [county.wenli, county.maoshan, county.far]
    items = [county.public, county.public, county.inner, county.branch]
    rows = []
    moments: list = []

    def due_at(t):
        if t > ten:
            moments.extend([t - timedelta(seconds=1), t, t + timedelta(seconds=1)])

    with at(ten):
        for n in range(18):
            title = "".join(rng.sample(words, rng.randint(1, 2))) + f"第{n}号"
            due = ten + timedelta(minutes=rng.randint(-30, 300))
            fields = {"published_at": due}
            due_at(due)
            if rng.random() < 0.3:
                fields["public_from"] = due + timedelta(minutes=rng.randint(1, 120))
                due_at(fields["public_from"])
            rows.append(
                publish(
                    changed,
                    rng.choice(units),
                    title,
                    item=rng.choice(items),
                    body=rng.choice(["", "附发放名单。", "abcd"]),
                    **fields,
                )
            )
        for client, user in readers.values():
            for query in queries:
                check(client, user, query)
    now, step = ten, 0
    while later := sorted(t for t in moments if t > now):
        now, step = later[0], step + 1
        with at(now):
            if step % 4 == 0 and rows:
                row = rng.choice(rows)
                change = rng.randrange(5)
                if change == 0:
                    when = now + timedelta(minutes=rng.randint(-20, 120))
                    edit(changed, row, published_at=when, public_from=None)
                    due_at(when)
                elif change == 1:
                    edit(changed, row, title=rng.choice(words) + f"改{step}")
                elif change == 2:
                    edit(
                        changed,
                        row,
                        status=Disclosure.Status.WITHDRAWN,
                        withdrawal_reason="有误",
                    )
                elif change == 3 and row.scope == Scope.PUBLIC:
                    when = now + timedelta(minutes=rng.randint(1, 60))
                    edit(changed, row, public_from=when)
                    due_at(when)
                elif change == 4:
                    with changed():
                        row.delete()
                    rows.remove(row)
            if step % 5 == 0:
                caching.reset_local()
            for client, user in readers.values():
                for query in queries:
                    check(client, user, query)


# Hostile words ------------------------------------------------------------------


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize(
    "query, holding, lacking",
    [
        ("100%达标", "抗旱100%达标", "抗旱1000达标"),
        ("a_b_c", "编号a_b_c", "编号axbyc"),
        ("路径\\\\\\", "路径\\\\\\x", "路径xyz"),
        ("50%_\\", "比例50%_\\号", "比例50ab号"),
    ],
)
def test_like_wildcards_in_the_words_are_plain_characters(
    county, readers, changed, ten, query, holding, lacking
):
    """%, _ and backslash are literal: the row holding them shows at its
    time, the one a wildcard would match never."""
    client, user = readers["visitor"]
    with at(ten):
        publish(changed, county.far, holding, published_at=ten + timedelta(hours=2))
        publish(changed, county.far, lacking, published_at=ten + timedelta(hours=1))
        check(client, user, query)
    for hours in (1, 2):
        with at(ten + timedelta(hours=hours, seconds=1)):
            check(client, user, query)
    with at(ten + timedelta(hours=2, seconds=1)):
        assert len(shown(get(client, query))[0]) == 1


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize(
    "query",
    [
        "抗旱\x00物资",
        "\u202e抗旱物资",
        "抗旱物资\u2066",
        "抗" * 101,
        " " * 60 + "抗旱物资" + " " * 60,
        "抗旱物资 " * 20,
        "一二三 四五六 七八九 抗旱物资 十一二 十三四 十五六 十七八 十九十",
        "\ufeff\ufeff\ufeff",
    ],
)
def test_hostile_queries_keep_nothing_wrong(county, readers, changed, ten, query):
    """NUL, bidi controls, a query too long, one padded with spaces past
    the limit, duplicate and nine words: never an error, and what is served
    equals the uncached search, before and after a matching row comes due."""
    title = "抗旱物资一二三四五六七八九十一二十三四十五六十七八十九十"
    with at(ten):
        publish(changed, county.far, title, published_at=ten + timedelta(hours=1))
    for moment in (ten, ten, ten + timedelta(hours=1, seconds=1)):
        with at(moment):
            for client, user in readers.values():
                response = get(client, query)
                assert response.status_code in (200, 400)
                if response.status_code == 200 and search.parse_terms(query):
                    assert shown(response) == truth(query.strip(), user)


def test_the_own_due_is_asked_only_of_pages_that_name_their_words():
    """A short word, an accented word and an empty query keep the county's
    next change; words with a namable trigram their own, by their words."""
    assert search.own_due("物资") is None
    assert search.own_due("ééé") is None
    assert search.own_due("") is None
    assert search.own_due("   ") is None
    assert search.query_scopes("抗旱物资 物资") == [ANY]
    assert search.own_due("抗旱物资 物资") is None
    assert search.own_due("抗旱物资") is not None
    assert search.own_due("抗旱物资").name != search.own_due("抗旱物资 名单表").name


# The moment a row comes due ------------------------------------------------------


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_page_made_within_the_minute_after_a_row_came_due(
    county, readers, who, changed, ten
):
    """A row came due 20 s before the page was first asked for, others are
    due 40 s and 100 s after: the look back (VALUE_CACHE_SECONDS) and the
    next one both hold."""
    client, user = readers[who]
    with at(ten):
        for name, seconds in (("QN1", -20), ("QN2", 40), ("QN3", 100)):
            publish(
                changed,
                county.far,
                f"远山村抗旱物资{name}",
                published_at=ten + timedelta(seconds=seconds),
            )
        assert "QN1" in titles(check(client, user, WORDS))
    for seconds in (1, 39, 40, 41, 70, 99, 100, 101, 170):
        with at(ten + timedelta(seconds=seconds)):
            check(client, user, WORDS)


@pytest.mark.usefixtures("page_cache")
def test_a_row_given_the_words_in_another_worker_shows_at_its_time(
    county, readers, changed, ten
):
    """A page kept in this worker; another worker (its own copies) gives a
    scheduled row the words in its body and moves it: both show it at its
    time."""
    client, user = readers["visitor"]
    with at(ten):
        row = publish(
            changed,
            county.far,
            "远山村通知QO1",
            body="无关内容。",
            published_at=ten + timedelta(hours=1),
        )
        check(client, user, WORDS)
    with at(ten + timedelta(minutes=5)):
        caching.reset_local()
        edit(changed, row, body="本月发放抗旱物资。")
        check(client, user, WORDS)
    with at(ten + timedelta(minutes=6)):
        caching.reset_local()
        edit(changed, row, published_at=ten + timedelta(minutes=40))
    with at(ten + timedelta(minutes=40)):
        assert "QO1" in titles(check(client, user, WORDS))


def test_the_span_looked_in_ends_at_the_longest_lifetime(
    county, changed, ten, settings
):
    """`next_visible`: a due a second past the span is not seen (the span's
    end is), one a second inside it is."""
    settings.PAGE_CACHE_MAX_SECONDS = 600
    terms = search.parse_terms(WORDS)
    with at(ten):
        assert search.next_visible(terms, ten) == ten + timedelta(seconds=600)
        publish(
            changed, county.far, "抗旱物资末", published_at=ten + timedelta(seconds=601)
        )
        assert search.next_visible(terms, ten) == ten + timedelta(seconds=600)
        publish(
            changed, county.far, "抗旱物资正", published_at=ten + timedelta(seconds=599)
        )
        assert search.next_visible(terms, ten) == ten + timedelta(seconds=599)


@pytest.mark.usefixtures("page_cache")
def test_production_middleware_gzip_and_a_repeated_word_follow_the_row(
    county, readers, changed, ten, settings
):
    """Production's stack (text compressed above the page cache), a browser
    taking gzip at the large text size, and a query string naming `q`
    twice (the last one counts, for the page's next change as for the
    form): the copy served compressed shows the row at its time."""
    from fengming_portal.settings.common import with_compression

    settings.MIDDLEWARE = with_compression(settings.MIDDLEWARE)
    settings.DEBUG = False
    client, user = Client(HTTP_ACCEPT_ENCODING="gzip"), readers["visitor"][1]
    client.cookies["elder"] = "1"
    urls = [f"/search/?q=森林防火&q={WORDS}", f"/search/?q={WORDS}&q=森林防火x"]

    def served(url):
        response = client.get(url)
        assert response.status_code == 200
        if response.get("Content-Encoding") == "gzip":
            response.content = gzip.decompress(response.content)
        return response

    with at(ten):
        publish(
            changed,
            county.far,
            "远山村抗旱物资QG1",
            published_at=ten + timedelta(hours=1),
        )
        publish(
            changed,
            county.far,
            "远山村森林防火xQG2",
            published_at=ten + timedelta(hours=2),
        )
        for url in urls:
            served(url)
            assert state(served(url)) == "hit"
    for hours, expected in ((1, ["QG1", ""]), (2, ["QG1", "QG2"])):
        with at(ten + timedelta(hours=hours, seconds=1)):
            for url, query, marker in zip(
                urls, [WORDS, "森林防火x"], expected, strict=True
            ):
                response = served(url)
                assert shown(response) == truth(query, user)
                assert marker in titles(response)
                assert 'class="elder"' in response.text
