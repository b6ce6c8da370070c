"""The mixed run: reads at county traffic with the county's writes between them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fengming_h20c \\
        .venv/bin/python bench/mixed.py --reads 20000 --writes 300 --hours 6

One simulated day (or `--hours` of it, at the same rates), in this process
through Django's test client (the whole middleware stack, the page caches
on, Redis as the shared cache): `--reads` page views a day, evenly spread
(the clock, time-machine's, moves on by 86,400 / reads seconds before
each), and `--writes` changes a day at random moments between them: a
third publications (a new notice of a unit, published), a third answers (a
回音壁 case answered), a third drafts (a draft saved twice); with
`--unit-rows N`, N of them a day are rows only their unit's pages count,
one of three at random: a draft's table (the monthly 收支明细表), an
inspection with its 整改 notice, an event registered (事项登记). Readers: 80 %
anonymous visitors, 20 % logged-in party members of a dozen branches (the
audience cache). Pages drawn with a Zipf-like skew over units and
disclosures (the recent ones, a few boards read most). Needs seed_scale
data in the database.

Reports, per page type, the share served from the cache (`X-Page-Cache:
hit`) and p50/p99 of the time in this process (wall clock, not the
simulated one), and the overall hit ratio; then why each miss happened,
per page type: "first" (this page, size and audience never kept before),
"changed" (kept before, under scope versions that have moved since: a
change), "expired" (its lifetime ran out: midnight, a scheduled change,
PAGE_CACHE_SECONDS) or "not kept" (the response was not storable), and
the scopes each kind of write bumped; `BENCH_MIXED_JSON {...}` last.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

MIX = [  # (page type, share of reads)
    ("home", 0.15),
    ("board", 0.30),
    ("disclosure", 0.20),
    ("list by unit", 0.08),
    ("回音壁", 0.10),
    ("回音壁 case", 0.07),
    ("search", 0.05),
    ("compliance", 0.05),
]
SEARCHES = ["危房改造", "低保", "村道维护", "集体资金", "森林防火"]


def setup(redis_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengming_portal.settings")
    os.environ["REDIS_URL"] = redis_url
    os.environ["PAGE_CACHE_SECONDS"] = "60"
    os.environ["VALUE_CACHE_SECONDS"] = "60"
    import django

    django.setup()


def skewed(rng: random.Random, items: list, s: float = 1.1):
    """An item, the first ones much more often (Zipf-like)."""
    n = len(items)
    rank = min(int(rng.paretovariate(s)) - 1, n - 1)
    return items[rank]


def members(units) -> list:
    """A dozen branches' party members (idempotent)."""
    from django.contrib.auth.models import Group, User

    from disclosure.models import PartyMembership

    party = Group.objects.get(name="党员")
    found = []
    for n, unit in enumerate(units[:12]):
        branch = unit.organisations.branches().first()
        for k in range(2):
            user, _ = User.objects.get_or_create(username=f"bench_member_{n}_{k}")
            user.groups.add(party)
            if branch is not None:
                PartyMembership.objects.update_or_create(
                    user=user, defaults={"branch": branch}
                )
            found.append(user)
    return found


class Writer:
    def __init__(self, rng, units, unit_row_share: float = 0.0):
        from disclosure.models import Disclosure
        from feedback.models import Submission

        self.rng, self.units = rng, units
        self.unit_row_share = unit_row_share
        self.templates = list(
            Disclosure.objects.filter(unit__in=units, status="published")
            .order_by("-published_at")
            .values("unit_id", "item_id", "period", "scope", "branch_id")[:500]
        )
        self.open_cases = list(
            Submission.objects.filter(status="received", unit__in=units).values_list(
                "pk", flat=True
            )[:2000]
        )
        self.counts = defaultdict(int)

    def _new(self, status, published_at=None):
        from disclosure.models import Disclosure

        row = dict(self.rng.choice(self.templates))
        return Disclosure.objects.create(
            **row,
            title=f"压测公开{self.rng.randrange(10**9)}",
            body="压测正文。",
            status=status,
            published_at=published_at,
        )

    def write(self) -> None:
        from django.utils import timezone

        from core import events
        from disclosure.models import Disclosure
        from feedback.models import Submission

        # No draw without unit rows: the same writes as runs before them.
        if self.unit_row_share and self.rng.random() < self.unit_row_share:
            kind = self.rng.choice(["table", "check", "event"])
        else:
            kind = self.rng.choice(["publication", "answer", "draft"])
        if kind == "answer" and not self.open_cases:
            kind = "draft"
        self.kind = kind  # what the page cache's bumps are for (Causes)
        if kind in ("table", "check", "event"):
            self.unit_row(kind)
        elif kind == "publication":
            row = self._new(Disclosure.Status.PUBLISHED, timezone.now())
            # With the row, as the services announce it (services._move).
            events.announce("published", Disclosure, [row.pk], instance=row)
        elif kind == "answer":
            case = Submission.objects.get(pk=self.open_cases.pop())
            case.status = "answered"
            case.answer_text = "已答复。"
            case.answered_at = timezone.now()
            case.save()
            # With the row, as the services announce it (services._log).
            events.announce("answered", Submission, [case.pk], instance=case)
        else:
            row = self._new(Disclosure.Status.DRAFT)
            row.title += "（改）"
            row.save()
        self.counts[kind] += 1

    def unit_row(self, kind: str) -> None:
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from catalog.models import Item
        from disclosure.models import (
            Disclosure,
            DisclosureTable,
            Inspection,
            ObligationEvent,
            Rectification,
        )

        today = timezone.localdate()
        if kind == "table":
            draft = self._new(Disclosure.Status.DRAFT)
            DisclosureTable.objects.create(
                disclosure=draft,
                caption="村级财务收支明细表",
                data={"title_lines": [], "columns": [], "rows": []},
            )
            return
        unit = self.rng.choice(self.units)
        if kind == "check":
            inspector, _ = get_user_model().objects.get_or_create(
                username="bench_inspector"
            )
            check = Inspection.objects.create(
                unit=unit, inspector=inspector, inspected_on=today, score_form=80
            )
            Rectification.objects.create(
                unit=unit, inspection=check, issue="压测整改", deadline=today
            )
            return
        item = Item.objects.filter(frequency=Item.Frequency.IMMEDIATELY).first()
        ObligationEvent.objects.create(
            unit=unit, item=item, event_date=today, description="压测事项"
        )


class Causes:
    """Why each miss happened (see the module docstring), from what the page
    cache looked up and stored."""

    def __init__(self):
        from core import caching

        self.page_of: dict[str, tuple] = {}  # key -> (path, size, audience)
        self.stored: dict[tuple, str] = {}  # page -> the last key stored
        self.looked_up: tuple | None = None
        self.bumped = defaultdict(lambda: defaultdict(int))
        self.writing = None  # the Writer while it writes
        init, store, bump = caching.Page.__init__, caching._store, caching._bump_scopes
        causes = self

        def page_init(page, request, match, audience=""):
            init(page, request, match, audience)
            # One copy for every text size step; the audience the key names
            # (a board's narrowed to the members of every branch).
            who = (request.get_full_path(), page.key.split(":", 2)[2].rsplit(":", 1)[0])
            causes.page_of[page.key] = who
            causes.looked_up = (page.key, causes.stored.get(who))

        def stored(key, page, response, content):
            store(key, page, response, content)
            causes.stored[causes.page_of[key]] = key

        def bumped(scopes, **kwargs):
            bump(scopes, **kwargs)
            for scope in scopes:
                kind = scope.split(":", 1)[0]
                causes.bumped[causes.kind()][kind] += 1

        def global_bump():
            caching._bump_unwrapped()
            causes.bumped[causes.kind()]["GLOBAL"] += 1

        caching.Page.__init__ = page_init
        caching._store = stored
        caching._bump_scopes = bumped
        caching._bump_unwrapped = caching._bump
        caching._bump = global_bump

    def kind(self) -> str:
        return self.writing.kind if self.writing is not None else "other"

    def start(self) -> None:
        self.looked_up = None

    def miss(self) -> str:
        if self.looked_up is None:
            return "not cached"
        key, last = self.looked_up  # the key, the last one stored before
        if last is None:
            cause = "first"
        elif last == key:
            cause = "expired"
        else:
            cause = "changed"
        return cause


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=20000, help="page views a day")
    parser.add_argument("--writes", type=int, default=300, help="changes a day")
    parser.add_argument(
        "--hours", type=float, default=24, help="simulate this part of the day"
    )
    parser.add_argument("--members", type=float, default=0.2, help="logged-in share")
    parser.add_argument(
        "--unit-rows",
        type=int,
        default=0,
        help="of the writes a day, tables, inspections and events registered",
    )
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument(
        "--redis",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    )
    args = parser.parse_args()
    setup(args.redis)

    import time_machine
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from core import caching
    from disclosure.models import Disclosure, Unit
    from feedback.models import Submission

    rng = random.Random(args.seed)
    # The simulated day starts at midnight UTC, 08:00 in the portal's zone:
    # its 24 hours hold a local midnight (16:00 UTC), as any day's traffic
    # does, when every page made the day before expires.
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    units = list(
        Unit.objects.with_boards().filter(disclosures__isnull=False).distinct()[:600]
    )
    rng.shuffle(units)
    recent = list(
        Disclosure.objects.visible_to(None)
        .filter(published_at__lte=start, public_from__isnull=True)
        .order_by("-published_at")
        .values_list("pk", flat=True)[:3000]
    )
    cases = list(
        Submission.objects.published()
        .filter(received_at__lte=start)
        .order_by("-received_at")
        .values_list("pk", flat=True)[:3000]
    )
    readers = [Client() for _ in range(20)]  # visitors: no session
    for user in members(units):
        client = Client()
        client.force_login(user)
        readers.append(client)
    visitors, logged_in = readers[:20], readers[20:]
    writer = Writer(rng, units, args.unit_rows / args.writes if args.writes else 0)
    causes = Causes()
    why = defaultdict(lambda: defaultdict(int))
    cache.clear()
    caching.reset_local()

    def url_of(page: str) -> str:
        unit = skewed(rng, units)
        if page == "home":
            return "/"
        if page == "board":
            return f"/boards/{unit.slug}/"
        if page == "disclosure":
            return f"/disclosures/{skewed(rng, recent)}/"
        if page == "list by unit":
            return f"/disclosures/?unit={unit.slug}"
        if page == "回音壁":
            return "/feedback/"
        if page == "回音壁 case":
            return f"/feedback/{skewed(rng, cases)}/"
        if page == "search":
            return f"/search/?q={rng.choice(SEARCHES)}"
        return "/compliance/"

    names, weights = zip(*MIX, strict=True)
    share = args.hours / 24  # the same rates, over a part of the day
    reads, writes = round(args.reads * share), round(args.writes * share)
    write_at = sorted(rng.sample(range(reads), min(writes, reads)))
    step = 86400 / args.reads
    times, hits = defaultdict(list), defaultdict(lambda: [0, 0])
    by_audience = defaultdict(lambda: [0, 0])
    members_by_page = defaultdict(lambda: [0, 0])
    began = time.perf_counter()
    with time_machine.travel(start, tick=False) as clock:
        w = 0
        for n in range(reads):
            clock.move_to(start + timedelta(seconds=n * step))
            while w < len(write_at) and write_at[w] == n:
                causes.writing = writer
                writer.write()
                causes.writing = None
                w += 1
            page = rng.choices(names, weights)[0]
            member = rng.random() < args.members
            client = rng.choice(logged_in if member else visitors)
            t0 = time.perf_counter()
            causes.start()
            response = client.get(url_of(page))
            times[page].append((time.perf_counter() - t0) * 1000)
            hit = response.headers.get("X-Page-Cache") == "hit"
            if not hit:
                cause = causes.miss()
                if response.headers.get("X-Page-Cache") != "miss":
                    cause = "not kept"
                why[page][cause] += 1
            hits[page][0] += hit
            hits[page][1] += 1
            by_audience["member" if member else "visitor"][0] += hit
            by_audience["member" if member else "visitor"][1] += 1
            if member:
                members_by_page[page][0] += hit
                members_by_page[page][1] += 1
    elapsed = time.perf_counter() - began

    def p(values, q):
        values = sorted(values)
        return values[min(int(len(values) * q), len(values) - 1)]

    rows = []
    for page in names:
        h, total = hits[page]
        rows.append(
            {
                "page": page,
                "reads": total,
                "hit_ratio": round(h / total, 3) if total else None,
                "p50_ms": round(statistics.median(times[page]), 1),
                "p99_ms": round(p(times[page], 0.99), 1),
            }
        )
    every = [t for page in names for t in times[page]]
    total_hits = sum(h for h, _ in hits.values())
    result = {
        "reads_a_day": args.reads,
        "writes_a_day": args.writes,
        "hours": args.hours,
        "reads": reads,
        "writes": dict(writer.counts),
        "members_share": args.members,
        "database": connection.vendor,
        "disclosures": Disclosure.objects.count(),
        "units": len(units),
        "overall_hit_ratio": round(total_hits / reads, 3),
        "by_audience": {k: round(h / t, 3) for k, (h, t) in by_audience.items() if t},
        "members_by_page": {
            page: round(h / t, 3) for page, (h, t) in members_by_page.items() if t
        },
        "p50_ms": round(statistics.median(every), 1),
        "p99_ms": round(p(every, 0.99), 1),
        "seconds": round(elapsed, 1),
        "pages": rows,
        "misses": {page: dict(why[page]) for page in names},
        "bumped": {k: dict(v) for k, v in causes.bumped.items()},
    }
    print("| page | reads | hit ratio | p50 ms | p99 ms |")  # noqa: T201
    print("|---|---:|---:|---:|---:|")  # noqa: T201
    for row in rows:
        print(  # noqa: T201
            f"| {row['page']} | {row['reads']} | {row['hit_ratio']:.1%} | "
            f"{row['p50_ms']} | {row['p99_ms']} |"
        )
    print(  # noqa: T201
        f"| all | {reads} | {result['overall_hit_ratio']:.1%} | "
        f"{result['p50_ms']} | {result['p99_ms']} |"
    )
    kinds = ["first", "changed", "expired", "not kept", "not cached"]
    print()  # noqa: T201
    print("| misses | " + " | ".join(kinds) + " |")  # noqa: T201
    print("|---|" + "---:|" * len(kinds))  # noqa: T201
    for page in names:
        counts = " | ".join(str(why[page][k]) for k in kinds)
        print(f"| {page} | {counts} |")  # noqa: T201
    print()  # noqa: T201
    for kind, scopes in sorted(causes.bumped.items()):
        bumped = ", ".join(f"{s} {n}" for s, n in sorted(scopes.items()))
        print(f"{kind} ({writer.counts.get(kind, 0)}): {bumped}")  # noqa: T201
    print("BENCH_MIXED_JSON " + json.dumps(result, ensure_ascii=False))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
