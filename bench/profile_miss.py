"""Where a page miss spends its time: cProfile and the queries of misses.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fengming_scale \\
        .venv/bin/python bench/profile_miss.py board [--member] [--repeat 20] \\
        [--top 40] [--mode cold]

The page names are bench/misses.py's, and so are the modes (`--mode`: warm,
the default; cold; "pub elsewhere", "case elsewhere", "unit elsewhere",
"catalog": what is dropped before each request). `--callers as_sql`: who
calls the functions matching a pattern (which queries Django still builds).
`--plans`: each query of the last miss explained again (EXPLAIN ANALYZE,
PostgreSQL; the best of three): the server's planning and execution time,
which the wall time of a query hides together.
Prints the wall time a request
(median), the SQL time from the captured queries, and cProfile's top
functions by cumulative and own time over the repeats.
"""

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import misses


def area_of(file: str) -> str:
    """A profiled function's layer: Django's package (template, db, …),
    psycopg, another library, the portal's app, or Python itself."""
    if "site-packages/" in file:
        parts = file.split("site-packages/", 1)[1].split("/")
        if parts[0] == "django" and len(parts) > 2:
            return f"django/{parts[1]}"
        return parts[0]
    if file.startswith(str(Path(__file__).resolve().parent.parent)):
        return "portal: " + Path(file).resolve().parent.name
    return "python"


def print_plans(connection, captured, width: int) -> None:
    """Planning and execution time of each read, the best of three (the
    first plans with cold catalog caches): what a query's wall time hides."""
    if connection.vendor != "postgresql":
        print("  --plans: PostgreSQL only")  # noqa: T201
        return
    print("  planning / execution ms (server, best of 3):")  # noqa: T201
    total_plan = total_run = 0.0
    for q in captured:
        sql = q["sql"]
        if not sql.lstrip("( ").upper().startswith(("SELECT", "WITH")):
            continue
        best = None
        with connection.cursor() as cursor:
            for _ in range(3):
                cursor.execute("EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0]
                plan = plan[0] if isinstance(plan, list) else plan
                times = (plan["Planning Time"], plan["Execution Time"])
                best = times if best is None or sum(times) < sum(best) else best
        total_plan += best[0]
        total_run += best[1]
        print(f"  {best[0]:6.2f} / {best[1]:6.2f}  {sql[:width]}")  # noqa: T201
    print(f"  {total_plan:6.2f} / {total_run:6.2f}  in all")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("page")
    parser.add_argument("--member", action="store_true")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative,tottime")
    parser.add_argument("--mode", default="warm")
    parser.add_argument("--width", type=int, default=160, help="SQL shown per query")
    parser.add_argument(
        "--plans",
        action="store_true",
        help="the planning and execution time of each query (PostgreSQL)",
    )
    parser.add_argument(
        "--callers",
        default="",
        help="also who calls the functions matching this (a pstats pattern)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import (
        CaptureQueriesContext,
        override_settings,
    )

    settings.DEBUG = False  # as deployed; no test instrumentation (bench/misses.py)
    settings.ALLOWED_HOSTS = ["testserver"]
    path = misses.pages()[args.page]
    # As bench/misses.py: the session in a signed cookie (no session query,
    # as the deployed cached_db reads none from a warm cache).
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    client = Client()
    if args.member:
        client.force_login(misses.party_member())
    # As Redis: no cap on the number of keys (LocMemCache culls at 300).
    from django.core.cache import caches

    caches["default"]._max_entries = 10**7
    changes = misses.elsewhere()
    if args.mode not in ("warm", "cold", "midnight", *changes):
        parser.error(f"--mode: warm, cold, midnight or one of {', '.join(changes)}")
    with override_settings(PAGE_CACHE_SECONDS=0, VALUE_CACHE_SECONDS=60):
        for _ in range(3):
            client.get(path)
        samples, sql = [], []
        for n in range(args.repeat):
            with (
                misses.before(client, path, args.mode, changes, n),
                CaptureQueriesContext(connection) as queries,
            ):
                start = time.perf_counter()
                client.get(path)
                samples.append((time.perf_counter() - start) * 1000)
            sql.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        print(  # noqa: T201
            f"{args.page} {'member' if args.member else 'visitor'} {args.mode}: "
            f"{statistics.median(samples):.1f} ms a request, SQL "
            f"{statistics.median(sql):.1f} ms in {len(queries.captured_queries)} "
            "queries"
        )
        for q in queries.captured_queries:
            print(f"  {float(q['time']) * 1000:6.1f} ms  {q['sql'][: args.width]}")  # noqa: T201
        if args.plans:
            print_plans(connection, queries.captured_queries, args.width)
        profile = cProfile.Profile()
        for n in range(args.repeat):
            # Days later than the samples above: a day not seen yet.
            with misses.before(client, path, args.mode, changes, args.repeat + n):
                profile.enable()
                client.get(path)
                profile.disable()
    stats = pstats.Stats(profile)
    parts = {
        "request (test client)": ("django/test/client.py", "request"),
        "view": ("django/core/handlers/base.py", "_get_response"),
        "template render": ("django/template/backends/django.py", "render"),
        "SQL compile (as_sql)": ("django/db/models/sql/compiler.py", "as_sql"),
        "SQL execute (psycopg)": ("psycopg/cursor.py", "execute"),
        "rows to models": ("django/db/models/query.py", "__iter__"),
    }
    for label, (file, func) in parts.items():
        total = sum(
            row[3]
            for (f, _line, name), row in stats.stats.items()
            if f.endswith(file) and name == func
        )
        print(f"  {label:<24} {total * 1000 / args.repeat:7.1f} ms")  # noqa: T201
    # Own time by where it is spent: which layer a cheaper miss must cut.
    areas: dict[str, float] = {}
    for (file, _line, _name), row in stats.stats.items():
        area = area_of(file)
        areas[area] = areas.get(area, 0.0) + row[2]
    print("  own time by area:")  # noqa: T201
    for area, total in sorted(areas.items(), key=lambda kv: -kv[1]):
        print(f"    {area:<28} {total * 1000 / args.repeat:7.2f} ms")  # noqa: T201
    for key in args.sort.split(","):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(key).print_stats(args.top)
        print(out.getvalue())  # noqa: T201
    if args.callers:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).print_callers(args.callers)
        print(out.getvalue())  # noqa: T201


if __name__ == "__main__":
    main()
