"""What a crawler making up filter selections costs the pages' misses: the
pages' first miss after a crawl, beside their first miss after no crawl.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fengming_scale \\
        .venv/bin/python bench/crawl.py [--rounds 3] [--plans 4096] [--cpu]

A round: the crawler asks for made-up selections of the list and the 回音壁
(a village and a one-day range of dates, a new day each time) until they
have compiled `--plans` plans (core.compiled: as many as its LIMIT, so that
a crawl, before the crawler's plans were kept apart, dropped every older
plan); then each page misses once after a day's publications ("day
elsewhere" of bench/misses.py), for a visitor and a party member. The same
without the crawl first. Prints, a page and reader: the milliseconds of
that miss (median of the rounds) and the plans it compiled (mean), with and
without the crawl, and a line `CRAWL_JSON {...}`.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import misses

PAGES = ("home", "board", "list by unit", "disclosure", "回音壁")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plans", type=int, default=4096)
    parser.add_argument("--cpu", action="store_true", help="CPU time, not wall")
    args = parser.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter

    import django

    django.setup()
    from core.runtime import tune_gc

    tune_gc()
    from django.conf import settings
    from django.contrib.auth import user_logged_in
    from django.contrib.auth.models import update_last_login
    from django.core.cache import caches
    from django.test import Client
    from django.test.utils import override_settings
    from django.utils import timezone

    from core import compiled
    from disclosure.models import Unit

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
    caches["default"]._max_entries = 10**7
    paths = {name: misses.pages()[name] for name in PAGES}
    visitor, member, crawler = Client(), Client(), Client()
    member.force_login(misses.party_member())
    readers = {"visitor": visitor, "member": member}
    changes = misses.elsewhere()
    slugs = list(
        Unit.objects.exclude(parent=None).order_by("pk").values_list("slug", flat=True)
    )
    made = []
    real_compile = compiled._compile

    def counted(*args, **kwargs):
        made.append(1)
        return real_compile(*args, **kwargs)

    compiled._compile = counted
    day = [timezone.localdate()]
    crawled = [0]

    def crawl() -> None:
        start = len(made)
        while len(made) - start < args.plans:
            day[0] -= datetime.timedelta(days=1)
            slug = slugs[crawled[0] % len(slugs)]
            crawled[0] += 1
            on = day[0].isoformat()
            for path in (
                f"/disclosures/?unit={slug}&published_after={on}&published_before={on}",
                f"/feedback/?unit={slug}&received_after={on}&received_before={on}",
            ):
                assert crawler.get(path).status_code == 200, path

    samples = {}
    with override_settings(PAGE_CACHE_SECONDS=0, VALUE_CACHE_SECONDS=60):
        # Every plan a page's miss after a day's publications uses, made.
        for _ in range(2):
            for client in readers.values():
                for path in paths.values():
                    misses.change("day elsewhere", changes)
                    client.get(path)
        for n in range(args.rounds):
            for crawling in (False, True):
                if crawling:
                    crawl()
                for who, client in readers.items():
                    for name, path in paths.items():
                        misses.change("day elsewhere", changes)
                        before = len(made)
                        start = clock()
                        response = client.get(path)
                        took = (clock() - start) * 1000
                        assert response.status_code == 200, (path, n)
                        cell = samples.setdefault((name, who, crawling), ([], []))
                        cell[0].append(took)
                        cell[1].append(len(made) - before)
    rows = []
    for name in PAGES:
        for who in readers:
            row = {"page": name, "reader": who}
            for crawling, label in ((False, "no crawl"), (True, "after a crawl")):
                ms, compiles = samples[(name, who, crawling)]
                row[f"{label} ms"] = round(statistics.median(ms), 1)
                row[f"{label} compiles"] = round(statistics.mean(compiles), 1)
            rows.append(row)
            print(  # noqa: T201
                f"{name:<14} {who:<8} "
                + "  ".join(f"{k} {v:>6}" for k, v in row.items() if k[0] in "na"),
                flush=True,
            )
    print(  # noqa: T201
        "CRAWL_JSON "
        + json.dumps(
            {
                "date": time.strftime("%Y-%m-%d", time.gmtime()),
                "database": django.db.connection.vendor,
                "loadavg": [round(x, 2) for x in os.getloadavg()],
                "rounds": args.rounds,
                "plans a crawl": args.plans,
                "selections crawled": crawled[0],
                "clock": "cpu" if args.cpu else "wall",
                "plans kept": len(compiled._plans),
                "rows": rows,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
