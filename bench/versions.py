"""What reading the page cache's scope versions costs a request.

    .venv/bin/python bench/versions.py [--scopes 12] [--number 200000]

Prints microseconds per `caching.scope_versions` call in a request: with
every copy fresh (a hit's case: no round trip), and with one copy due (one
read of the shared cache, LocMem here: the round trip to Redis is not in
it). No database.
"""

import argparse
import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengming_portal.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scopes", type=int, default=12)
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from core import caching

    scopes = [f"unit:bench{i}" for i in range(args.scopes)]
    caching.request_began()
    settings.PAGE_CACHE_VERSION_SECONDS = 3600
    caching.scope_versions(scopes)
    best = min(
        timeit.repeat(lambda: caching.scope_versions(scopes), number=args.number)
    )
    fresh = best / args.number * 1e6
    print(f"{args.scopes} copies, all fresh: {fresh:.2f} µs a call")  # noqa: T201

    def one_due():
        caching._local.scopes[scopes[0]] = (0, -1e9)
        caching.scope_versions(scopes)

    number = args.number // 10
    best = min(timeit.repeat(one_due, number=number))
    due = best / number * 1e6
    print(f"{args.scopes} copies, one due: {due:.2f} µs a call")  # noqa: T201
    caching.request_ended()


if __name__ == "__main__":
    main()
