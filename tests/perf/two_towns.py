"""Two towns, their readers, and another process, as the attack tests of
kept values play them (test_home_fragments_attack, test_stats_counts_attack).

`two_towns()` makes 凤鸣镇 (文理村, 茅山村) and 青山镇 (上村) with a 党务
item, a 村务 one, a 党内 one and a 党组织内部 one; each module adds its rows
and cases. `readers()` logs in one of each audience. The `as_a_process_…`
functions put this process in the state of another whose copies are a
moment old (a copy of the slugs, disclosure.page_scopes._fresh_slugs; of
versions, with their epoch, core.caching.scope_versions). Also used by
test_version_epochs.
"""

import time
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from catalog.models import Catalog, Scope
from core import caching
from disclosure import page_scopes
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    ItemFactory,
    PartyMemberFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
)


def at(year, month, day, hour=10, minute=0) -> datetime:
    """A local time (Asia/Shanghai): 10:00 unless told."""
    return datetime(
        year, month, day, hour, minute, tzinfo=timezone.get_current_timezone()
    )


def fresh(model, pk):
    return model.objects.get(pk=pk)


def two_towns(*, liaison_points: bool = False) -> dict:
    """The units and items (`liaison_points`: 文理村 and 上村 are 联系点)."""
    town = TownFactory(name="凤鸣镇", slug="fengming", order=1)
    other = TownFactory(name="青山镇", slug="qingshan", order=2)
    party = ItemFactory(code="A01")
    village_catalog = CatalogFactory(kind=Catalog.Kind.VILLAGE)
    return {
        "town": town,
        "wenli": UnitFactory(
            name="文理村",
            slug="wenli",
            parent=town,
            order=1,
            is_liaison_point=liaison_points,
        ),
        "maoshan": UnitFactory(name="茅山村", slug="maoshan", parent=town, order=2),
        "other": other,
        "shangcun": UnitFactory(
            name="上村",
            slug="shangcun",
            parent=other,
            order=1,
            is_liaison_point=liaison_points,
        ),
        "party": party,
        "village": ItemFactory(
            code="C01", category=CategoryFactory(catalog=village_catalog)
        ),
        "inner": ItemFactory(
            code="B01", scope=Scope.INNER_PARTY, category=party.category
        ),
        "branch": ItemFactory(code="B02", scope=Scope.BRANCH, category=party.category),
    }


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def readers(t) -> dict[str, tuple[Client, object]]:
    """Each kind of reader, its client and its user: a visitor, members of
    文理村's and 茅山村's branches and of none, an administrator."""
    found = {"visitor": (Client(), AnonymousUser())}
    for name, unit in (
        ("wenli", t["wenli"]),
        ("maoshan", t["maoshan"]),
        ("none", None),
    ):
        user = PartyMemberFactory(username=f"member_{name}", branch_of=unit)
        found[f"member_{name}"] = (logged_in(user), user)
    admin = SuperuserFactory()
    found["admin"] = (logged_in(admin), admin)
    return found


def as_a_process_that_has_not_seen(pk, slug, town_slug) -> None:
    """This process read the units' versions a moment before another
    process's change of unit `pk` and still holds it as it was (as within
    PAGE_CACHE_VERSION_SECONDS: tests/perf/test_names_attack.py)."""
    page_scopes.forget_slugs()
    page_scopes._slugs[pk] = (slug, town_slug)
    page_scopes._slugs_since[:] = [
        time.monotonic(),
        (caching.version(), *caching.scope_versions([page_scopes.UNITS])),
    ]


def read_now(scopes: list[str]) -> dict:
    """What a process reads of these scopes' versions now, and the epoch
    its copies are of (core.caching.scope_versions)."""
    versions = dict(zip(scopes, caching.scope_versions(scopes), strict=True))
    return {"versions": versions, "epoch": caching._local.epoch}


def as_a_process_that_read_before(before: dict) -> None:
    """Another process: nothing of this one's copies but the versions read
    a moment before the change (`read_now`; as within
    PAGE_CACHE_VERSION_SECONDS: a wall or a board page of the unit read
    "cases-unit:<slug>" then), of that moment's epoch, and the global
    version as it is now."""
    current = caching.version()
    caching.reset_local()
    caching.version()  # the global version: read now
    now = time.monotonic()
    caching._local.epoch = before["epoch"]
    for scope, version in before["versions"].items():
        caching._local.scopes[scope] = (version, now)
    assert caching.version() == current
