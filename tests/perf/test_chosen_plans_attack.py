"""Attacking the pools of kept SQL (core.compiled.CHOSEN, CHOSEN_LIMIT): what
a request chose (a filter selection, a board's past period) kept apart from
the pages' own plans. Whatever pool a plan lands in, every page is the bytes
Django's own queries give and no audience reads another's rows; the pools
never grow past LIMIT + CHOSEN_LIMIT, `_chosen` always names plans of
`_plans` (two threads interleaving, forget()); and a crawler's odd spellings,
repeated parameters, control characters and made-up values never reach the
pages' own pool but through the linked fields (a unit, 督办)."""

import re
import sys
import threading
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client

from catalog.models import Scope
from core import compiled
from disclosure.filters import DisclosureFilter
from disclosure.models import Disclosure
from feedback.filters import SubmissionFilter
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.test_fragments import page
from tests.perf.test_rows_by_key_compiled import (
    AT,
    MAY_READ,
    djangos_own,
    readers,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("values_only", "no_compiled_plans"),
]

TITLES = {
    "public": "村务公开财务收支",
    "branch": "文理村党支部内部通报",
    "inner": "党内通报",
}
# The forms' fields, as the filters declare them.
LIST_FIELDS = set(DisclosureFilter.base_filters)
WALL_FIELDS = set(SubmissionFilter.base_filters)
LINKED = {"list": {"unit"}, "wall": {"unit", "escalated"}}


@pytest.fixture
def town(settings):
    settings.VALUE_CACHE_SECONDS = 0  # every request runs its queries
    found = {"town": TownFactory(name="凤鸣镇")}
    for slug in ("wenli", "maoshan"):
        found[slug] = UnitFactory(name=f"{slug}村", slug=slug, parent=found["town"])
    wenli = found["wenli"]
    found["public"] = DisclosureFactory(unit=wenli, title=TITLES["public"])
    found["branch"] = DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.BRANCH), title=TITLES["branch"]
    )
    found["inner"] = DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title=TITLES["inner"]
    )
    found["last_year"] = DisclosureFactory(
        unit=wenli, title="上年度工作计划", period="2025"
    )
    SubmissionFactory(unit=wenli, accepted=True, title="路灯坏了")
    return found


def empty(value) -> bool:
    if isinstance(value, tuple):
        return all(map(empty, value))
    return value in (None, "", False)


def selection(shape: tuple) -> tuple[str | None, dict]:
    """The form's source ("list", "wall") of a kept shape and its cleaned
    values, by field name; (None, {}) for a shape of no form."""
    for source, fields in (("list", LIST_FIELDS), ("wall", WALL_FIELDS)):
        if source in shape:
            values = {
                part[0]: part[1]
                for part in shape
                if isinstance(part, tuple)
                and len(part) == 2
                and isinstance(part[0], str)
                and part[0] in fields
            }
            if values:
                return source, values
    return None, {}


def own_keys() -> set:
    return {key for key in compiled._plans if key not in compiled._chosen}


def assert_accounting():
    with compiled._lock:
        plans, chosen = dict(compiled._plans), dict(compiled._chosen)
    assert set(chosen) <= set(plans)
    assert all(compiled.CHOSEN in key[3] for key in chosen)
    assert not any(compiled.CHOSEN in key[3] for key in set(plans) - set(chosen))
    assert len(chosen) <= compiled.CHOSEN_LIMIT
    assert len(plans) - len(chosen) <= compiled.LIMIT
    assert len(plans) <= compiled.LIMIT + compiled.CHOSEN_LIMIT


def assert_own_pool_holds_only_linked_selections():
    """A plan of the own pool made from a form: every value given is of a
    linked field (a unit, 督办)."""
    for key in own_keys():
        source, values = selection(key[3])
        if source is None:
            continue
        given = {name for name, value in values.items() if not empty(value)}
        assert given <= LINKED[source], key[3]


# What the site's own links choose: the pages' own plans.
CANONICAL = [
    "/boards/wenli/",
    "/disclosures/",
    "/disclosures/?unit=wenli",
    "/disclosures/?unit=maoshan",
    "/feedback/",
    "/feedback/?unit=wenli",
    "/feedback/?escalated=1",
    "/feedback/?unit=wenli&escalated=1",
]

# Odd spellings of those same selections: each cleans to one of them.
SAME_AS_LINKED = [
    "/disclosures/?unit=wenli&kind=&category=&item=&period="
    "&published_after=&published_before=",
    "/disclosures/?unit=wenli&nil=false",
    "/disclosures/?unit=wenli&nil=",
    "/disclosures/?unit=wenli&nil=False",
    "/disclosures/?unit=wenli&page=1",
    "/disclosures/?unit=wenli&utm=%E2%80%AE%E2%80%8F" + "a" * 3000,
    "/disclosures/?kind=&unit=maoshan&junk=%01%1F",
    "/disclosures/?unit=&kind=&published_after=",
    "/feedback/?unit=wenli&escalated=1&kind=&status=&channel=&outcome=&tag="
    "&received_after=&received_before=",
    "/feedback/?unit=wenli&escalated=1&page=1",
    "/feedback/?unit=&escalated=1&x=%E2%80%AE",
]


def made_up(n: int) -> list[str]:
    """A crawler's n-th round of selections nobody links to: all chosen."""
    day = (date(2015, 1, 1) + timedelta(days=n)).isoformat()
    return [
        f"/disclosures/?unit=wenli&published_after={day}",
        f"/disclosures/?unit=wenli&nil=on&published_before={day}",
        f"/feedback/?unit=wenli&escalated=1&received_after={day}",
        f"/feedback/?escalated=1&received_before={day}",
        f"/boards/wenli/?period={2010 + n % 16}",
    ]


# Values that clean to something given: chosen however they are spelled.
CHOSEN_SPELLINGS = [
    "/disclosures/?unit=wenli&nil=0",
    "/disclosures/?unit=wenli&nil=on",
    "/disclosures/?unit=wenli&nil=%20",
    "/disclosures/?unit=wenli&kind=party",
    "/disclosures/?unit=wenli&unit=wenli&kind=village",
    "/feedback/?unit=wenli&escalated=1&status=accepted",
    "/feedback/?unit=wenli&escalated=1&channel=phone",
    # A linked field repeated: no link writes it (compiled.linked).
    "/feedback/?escalated=&escalated=1",
    "/feedback/?unit=maoshan&unit=wenli&escalated=1",
    "/feedback/?escalated=1&escalated=",
    "/feedback/?escalated=1&kind=",  # empty: the own
    "/feedback/?unit=wenli&escalated=1&outcome=",  # empty: the own
]


@pytest.mark.parametrize("who", ["visitor", "wenli member"])
def test_odd_spellings_and_made_up_values_never_reach_the_own_pool(
    town, who, monkeypatch
):
    monkeypatch.setattr(compiled, "LIMIT", 256)  # room for every own plan
    monkeypatch.setattr(compiled, "CHOSEN_LIMIT", 6)
    client = readers(town)[who]
    with time_machine.travel(AT, tick=False):
        first = {url: page(client, url) for url in CANONICAL}
        own = own_keys()
        assert own and not compiled._chosen
        for url in SAME_AS_LINKED:
            response = client.get(url)
            assert response.status_code == 200, url
        # Cleaned to the linked selections: not a plan more of the own.
        assert own_keys() == own
        assert not compiled._chosen
        for url in CHOSEN_SPELLINGS:
            assert client.get(url).status_code == 200, url
            assert_accounting()
        assert compiled._chosen
        for n in range(12):
            for url in made_up(n):
                assert client.get(url).status_code == 200, url
            assert_accounting()
        # Made up: churned in the chosen pool alone.
        assert own_keys() == own
        assert 0 < len(compiled._chosen) <= 6
        assert_own_pool_holds_only_linked_selections()
        again = {url: page(client, url) for url in CANONICAL}
        djangos_own(monkeypatch)
        theirs = {url: page(client, url) for url in CANONICAL}
    assert first == again == theirs


def test_a_repeated_unit_is_a_made_up_selection(town, monkeypatch):
    """`?unit=a&unit=b` lists b (the form reads the last) as the unnarrowed
    reader (page_scopes.listed_unit reads two as none): a selection no link
    makes, so kept with the chosen (compiled.linked: a linked field given
    twice is not linked); each page still Django's own, the branch's rows
    on its own unit's list alone."""
    monkeypatch.setattr(compiled, "LIMIT", 512)
    clients = readers(town)
    slugs = ["wenli", "maoshan", town["town"].slug]
    urls = [f"/disclosures/?unit={a}&unit={b}" for a in slugs for b in slugs] + [
        f"/disclosures/?unit=&unit={b}" for b in slugs
    ]
    with time_machine.travel(AT, tick=False):
        kept = {(who, u): page(c, u) for who, c in clients.items() for u in urls}
        assert compiled._chosen
        assert_own_pool_holds_only_linked_selections()
        # No list selection of a unit in the pages' own pool: each is chosen.
        assert not [
            key
            for key in own_keys()
            if key[3][0] == "list-page" and selection(key[3])[1].get("unit")
        ]
        djangos_own(monkeypatch)
        own = {(who, u): page(c, u) for who, c in clients.items() for u in urls}
    assert kept == own
    for (who, url), body in kept.items():
        text = body.decode()
        for name, title in TITLES.items():
            if title in text:
                assert name in MAY_READ[who], (who, url, name)
        if url.endswith("unit=wenli"):
            assert (TITLES["branch"] in text) is ("branch" in MAY_READ[who])


NUL = "请求的内容无法识别"  # a NUL anywhere: refused before the view

# Nonsense a crawler sends: a 400 in Chinese, never a 500, and no plan kept
# of it (the form refuses it before any query is built).
REFUSED = [
    ("/disclosures/?published_after=2024-13-45", "筛选条件有误"),
    ("/disclosures/?published_after=2024-02-30", "筛选条件有误"),
    ("/disclosures/?published_after=0001-01-01", "筛选条件有误"),
    ("/disclosures/?published_before=0001-01-01", "筛选条件有误"),
    ("/disclosures/?published_after=9999-12-31", "筛选条件有误"),
    ("/disclosures/?published_before=9999-12-31", "筛选条件有误"),
    ("/disclosures/?published_after=" + "1" * 5000, "筛选条件有误"),
    ("/disclosures/?published_after=%E2%80%AE2024-01-01", "筛选条件有误"),
    ("/disclosures/?published_after=%00", NUL),
    ("/disclosures/?unit=wen%00li", NUL),
    ("/disclosures/?unit=%E2%80%AEwenli", "筛选条件有误"),
    ("/disclosures/?unit=wenli%20", "筛选条件有误"),
    ("/disclosures/?unit=%20wenli", "筛选条件有误"),
    ("/disclosures/?unit=WENLI", "筛选条件有误"),
    ("/disclosures/?unit=wenli%0A", "筛选条件有误"),
    ("/disclosures/?unit=" + "x" * 5000, "筛选条件有误"),
    ("/disclosures/?unit=wenli&kind=%20", "筛选条件有误"),
    ("/disclosures/?unit=wenli&kind=PARTY", "筛选条件有误"),
    ("/disclosures/?unit=wenli&period=%00", NUL),
    ("/disclosures/?unit=wenli&category=99999999999999999999", "筛选条件有误"),
    ("/disclosures/?unit=wenli&page=0", "页码无效"),
    ("/disclosures/?unit=wenli&page=-1", "页码无效"),
    ("/disclosures/?unit=wenli&page=99999999999999999999", "页码无效"),
    ("/disclosures/?unit=wenli&page=%E2%80%AE1", "页码无效"),
    ("/disclosures/?page=1e3", "页码无效"),
    ("/feedback/?received_after=0001-01-01", "筛选条件有误"),
    ("/feedback/?received_before=9999-12-31", "筛选条件有误"),
    ("/feedback/?received_after=2024-02-30", "筛选条件有误"),
    ("/feedback/?received_after=%00", NUL),
    ("/feedback/?unit=wenli&escalated=true", "筛选条件有误"),
    ("/feedback/?unit=wenli&escalated=2", "筛选条件有误"),
    ("/feedback/?unit=wenli&escalated=%201", "筛选条件有误"),
    ("/feedback/?unit=wenli&escalated=1%00", NUL),
    ("/feedback/?unit=wenli&escalated=%EF%BC%91", "筛选条件有误"),  # a wide 1
    ("/feedback/?unit=wenli&tag=0", "筛选条件有误"),
    ("/feedback/?unit=wenli&tag=99999999999999999999", "筛选条件有误"),
    ("/feedback/?unit=%01", "筛选条件有误"),
    ("/feedback/?unit=wenli&escalated=1&page=%00", NUL),
    ("/feedback/?escalated=1&page=999999", "页码无效"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_nonsense_is_a_400_in_chinese_and_keeps_no_plan(town, url, message):
    with time_machine.travel(AT, tick=False):
        response = Client().get(url)
    assert response.status_code == 400, url
    assert message in response.content.decode()
    assert not compiled._chosen
    # A page number refused after the selection's count: at most the
    # linked selection's own plans (its summary), never a made-up one.
    assert_own_pool_holds_only_linked_selections()
    if message != "页码无效":
        assert not compiled._plans


@pytest.mark.parametrize(
    "period", ["0001", "2024-13", "9" * 5000, "%E2%80%AE2025", "2025-1%00"]
)
def test_a_boards_nonsense_period_is_a_400_showing_the_current_board(town, period):
    with time_machine.travel(AT, tick=False):
        response = Client().get(f"/boards/wenli/?period={period}")
        current = page(Client(), "/boards/wenli/")
    assert response.status_code == 400
    text = response.content.decode()
    assert ("期间“" in text and "无效" in text) or NUL in text
    assert TITLES["public"] in current.decode()
    # The current board's own plans: no plan of the nonsense period.
    assert not compiled._chosen and compiled._plans
    assert_accounting()


def test_every_audience_under_eviction_of_both_pools_reads_djangos_bytes(
    town, monkeypatch
):
    """Pools of three and two plans: own and chosen shapes drop each other's
    neighbours all the way; every page, each audience, is Django's own."""
    monkeypatch.setattr(compiled, "LIMIT", 3)
    monkeypatch.setattr(compiled, "CHOSEN_LIMIT", 2)
    clients = readers(town)
    urls = [
        "/boards/wenli/",
        "/boards/wenli/?period=2025",
        "/disclosures/?unit=wenli",
        "/disclosures/?unit=wenli&nil=on",
        "/disclosures/?unit=maoshan&unit=wenli",
        "/disclosures/?published_after=2000-01-01",
        "/disclosures/",
        "/feedback/?unit=wenli&escalated=1",
        "/feedback/?unit=wenli&received_after=2000-01-01",
        town["public"].get_absolute_url(),
        town["inner"].get_absolute_url(),
    ]
    with time_machine.travel(AT, tick=False):
        kept = {}
        for _ in range(2):
            for who, client in clients.items():
                for url in urls:
                    kept[(who, url)] = page(client, url)
                    assert_accounting()
        djangos_own(monkeypatch)
        own = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
    assert kept == own
    for (who, url), body in kept.items():
        text = body.decode()
        for name in ("branch", "inner"):
            if TITLES[name] in text:
                assert name in MAY_READ[who], (who, url, name)
    # Each audience's own rows reached it through the chosen selections too.
    chosen_list = "/disclosures/?unit=wenli&nil=on"
    for who in clients:
        text = kept[(who, chosen_list)].decode()
        assert (TITLES["inner"] in text) is ("inner" in MAY_READ[who]), who
        assert (TITLES["branch"] in text) is ("branch" in MAY_READ[who]), who


def test_two_threads_interleaving_chosen_and_own_shapes_keep_the_accounting(
    monkeypatch,
):
    """Two threads keep plans, one chosen and own shapes in turns, the other
    the other way round, a third forgets now and then; read under the lock,
    the pools are always within their limits and `_chosen` within `_plans`."""
    monkeypatch.setattr(compiled, "LIMIT", 8)
    monkeypatch.setattr(compiled, "CHOSEN_LIMIT", 4)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    seen = {"both": 0, "checks": 0}
    errors = []
    done = threading.Event()

    def keep(thread: int):
        try:
            for n in range(3000):
                chosen = (n + thread) % 2 == 0
                # Shared shapes too: both threads miss one and keep it.
                shape = ("t", n % 50) if n % 3 == 0 else ("t", thread, n)
                if chosen:
                    shape = (*shape[:1], compiled.CHOSEN, *shape[1:])
                compiled._keep(("default", "sqlite", "UTC", shape), None, chosen)
        except Exception as error:
            errors.append(error)

    def watch():
        while not done.is_set():
            try:
                assert_accounting()
            except AssertionError as error:
                errors.append(error)
                return
            seen["checks"] += 1
            with compiled._lock:
                if compiled._chosen and len(compiled._plans) > len(compiled._chosen):
                    seen["both"] += 1

    def forget():
        for _ in range(20):
            done.wait(0.002)
            compiled.forget()

    try:
        threads = [threading.Thread(target=keep, args=(t,)) for t in (0, 1)]
        others = [threading.Thread(target=watch), threading.Thread(target=forget)]
        for each in threads + others:
            each.start()
        for each in threads:
            each.join()
        done.set()
        for each in others:
            each.join()
    finally:
        sys.setswitchinterval(switch)
    assert errors == []
    assert seen["checks"] > 0 and seen["both"] > 0  # the pools were both filled
    assert_accounting()


def test_forget_empties_both_pools_and_pages_refill_them_as_djangos(town, monkeypatch):
    monkeypatch.setattr(compiled, "CHOSEN_LIMIT", 4)
    visitor = Client()
    urls = CANONICAL + made_up(0) + made_up(1)
    with time_machine.travel(AT, tick=False):
        before = {url: page(visitor, url) for url in urls}
        assert compiled._chosen and own_keys()
        compiled.forget()
        assert compiled._plans == {} and compiled._chosen == {}
        after = {url: page(visitor, url) for url in urls}
        assert_accounting()
        assert compiled._chosen and own_keys()
        djangos_own(monkeypatch)
        own = {url: page(visitor, url) for url in urls}
    assert before == after == own


@pytest.mark.parametrize("pool", ["LIMIT", "CHOSEN_LIMIT"])
def test_a_pool_of_one_plan_stays_within_its_limit(pool, monkeypatch):
    """A limit of one: the older half of one plan is none (1 // 2), so
    nothing would be dropped and the pool would grow a plan a miss."""
    monkeypatch.setattr(compiled, pool, 1)
    chosen = pool == "CHOSEN_LIMIT"

    def none(at, *keys):
        return Disclosure.objects.none()

    for n in range(5):
        shape = ("one", compiled.CHOSEN, n) if chosen else ("one", n)
        compiled.rows(Disclosure, shape, none)
    assert_accounting()


@pytest.mark.parametrize(
    ("cleaned", "linked", "chosen"),
    [
        # Empties of every kind, with or without a linked value.
        ({"unit": None, "published": slice(None, None), "nil": False}, (), False),
        ({"unit": ("u", 1), "published": slice(None, None)}, ("unit",), False),
        ({"unit": ("u", 1), "kind": "", "tag": None}, ("unit",), False),
        ({"unit": ("u", 1), "escalated": "1"}, ("unit", "escalated"), False),
        ({"items": [], "tags": ()}, (), False),
        # A linked field's value given alone is not chosen; any other is.
        ({"unit": ("u", 1)}, (), True),
        ({"escalated": "1"}, ("unit",), True),
        (
            {"unit": ("u", 1), "published": slice(None, date(2020, 1, 1))},
            ("unit",),
            True,
        ),
        ({"unit": None, "kind": " "}, ("unit",), True),
        ({"unit": None, "kind": "\x00"}, ("unit",), True),
        ({"unit": None, "kind": "\u202e"}, ("unit",), True),
        ({"unit": None, "nil": True}, ("unit",), True),
        ({"unit": None, "items": ["a"]}, ("unit",), True),
        ({"unit": None, "period": "2025"}, ("unit",), True),
    ],
)
def test_form_shape_chooses_whatever_is_given_outside_the_linked(
    cleaned, linked, chosen
):
    shape = compiled.form_shape("list", cleaned, linked=linked)
    assert (compiled.CHOSEN in shape) is chosen
    hash(shape)
    # The same values in another order: the same shape.
    again = compiled.form_shape("list", dict(reversed(cleaned.items())), linked)
    assert again == shape


def test_a_past_periods_spellings_share_one_chosen_plan_and_djangos_bytes(
    town, monkeypatch
):
    """Period.parse strips what surrounds the key: ` 2025\\n`, `2025` and a
    repeated parameter (the last read) are one chosen plan, one page."""
    client = readers(town)["wenli member"]
    urls = [
        "/boards/wenli/?period=2025",
        "/boards/wenli/?period=%202025%0A",
        "/boards/wenli/?period=%092025%20",
        "/boards/wenli/?period=2010&period=2025",
    ]
    with time_machine.travel(AT, tick=False):
        kept = [page(client, url) for url in urls]
        boards = [k for k in compiled._chosen if k[3][0] == "board"]
        djangos_own(monkeypatch)
        own = [page(client, url) for url in urls]
    assert len(boards) == 1 and boards[0][3][3:5] == (compiled.CHOSEN, "2025")
    assert kept == own
    # The same page but the URL it echoes (the language form's `next`).
    assert len({re.sub(rb'name="next" value="[^"]*"', b"", k) for k in kept}) == 1
    assert TITLES["public"].encode() not in kept[0]  # of 2026-11, not 2025
    assert "上年度工作计划".encode() in kept[0]
