"""What a page costs when the page cache misses: in this process, one request
at a time, Django's test client, median milliseconds a page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fengming_scale \\
        .venv/bin/python bench/misses.py [--repeat 7] [--pages "stats,compliance"]

The data must be there (`manage.py seed_scale`). The page cache is off
(every request renders); the value cache (choice lists, counts, figures) is
on, in this process's memory. Three columns a page, for a visitor and for a
party member of the first village's branch:

- warm: the value cache holds what an earlier request put there (a page
  miss between two changes of the data);
- cold: every cached value is dropped before each request, as after a
  change that names no scope (`caching.bump_version`: now a bulk load or an
  event with no row; a unit and the catalog until 2026-12-02);
- pub elsewhere: before each request, the scopes a publication in another
  town names are bumped (its disclosure, year, unit, town, "published" and
  "any": `content.event_scopes` of its save), as `caching.on_event` does;
  before 2026-12-04 (late) the bench named them by hand, without
  "published" (what reads the county's published rows: the years with
  data, the 回音壁 form's newest disclosures), so its figures were low;
  a publication inside the span's years does not name the span
  ("publication-span", page_scopes.SPAN) since 2026-12-05 (morning);
- case elsewhere: what a 回音壁 case of another town saved names
  (`feedback.page_scopes.submission_scopes`: "wall", the case, its unit and
  town, the counts of its unit's and town's cases, "any");
- day elsewhere: a publication in every town (the newest of a village of
  each, as its save names it), then a case saved in one (what the wall
  meets after a day of work: every town's rows changed, one town's cases);
- new case here: what a 回音壁 case coming in from the home town's first
  village names (not public until accepted: "any", the wall's counts and
  its unit's and town's counts of cases, feedback.summary.on_new_case);
  the three case modes raise their unit's kept counts of cases too
  (feedback.kept_counts, since 2026-12-07: a write to the data's copy);
  the case of "case elsewhere" and "day elsewhere" is one staff acted on
  (answered): the request that acted counts its unit's rows again after
  its view (`kept_counts.recount_acted_on`, since 2026-12-07, fourth
  session), a case coming in does not: since the fifth session its unit's
  rows list it (`kept_counts._came_in`, in its transaction), and the page
  counts it alone and adds it (the village's newest case stands for it;
  the village's rows are counted whole again after the run);
- unit elsewhere: what a village of another town saved (renamed) names
  (`disclosure.page_scopes.unit_change_scopes`: the unit, its town, "units",
  and "names", "any"), as `caching.on_event` bumps them;
- catalog: what a catalog item given another name names ("catalog",
  "names", "any"); catalog rule: what one whose time limit changes names
  (those and "catalog-counted": the engine's counts; before 2026-12-03
  every catalog change named it). Before these were named (2026-12-02),
  both bumped the global version: the cold column.
- made 党内: what an item made 党内 names (the `made_inner_party` event
  of its disclosures: every unit that has one, their years; the search
  pages' "search"); before 2026-12-04 the search index bumped the global
  version for it: the cold column. Since the evening of 2026-12-04 not the
  units' counted twins (`content.uncounted`): the engine's kept rows and
  tallies stay.
- check elsewhere, table elsewhere: what an inspection of a village of
  another town, and a table added to one of its disclosures, name (its
  unit's and town's scopes; the disclosure's), as `caching.on_event` bumps
  them ("names" too until the evening of 2026-12-02: every fragment).
- midnight: the first request of a day, after one the evening before
  (23:00, every value computed afresh; the clock moved with time-machine,
  each sample a day later): what the date changes (overdue, on display, the
  day in fragments' names).

Reads only (but the kept counts' generations, above): the party member is
made once if missing (on a copy of the data, or the first run), and logging
in writes no session row nor last_login.

Prints a table and a line `MISSES_JSON {...}`; with `--min`, each cell is
"minimum/median" (compare two versions by the minimums on a noisy VM).
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengming_portal.settings")
os.environ.pop("REDIS_URL", None)  # the value cache in this process's memory

SEARCH_TERM = "危房改造"


def pages() -> dict[str, str]:
    from composition.views import home_unit
    from disclosure.models import Disclosure

    town = home_unit()
    village = town.children.order_by("order", "id").first()
    disclosure = Disclosure.objects.visible_to(None).filter(unit=village).first()
    return {
        "home": "/",
        "board": f"/boards/{village.slug}/",
        "list by unit": f"/disclosures/?unit={village.slug}",
        "disclosure": f"/disclosures/{disclosure.pk}/",
        "回音壁": "/feedback/",
        "search": "/search/?q=" + urllib.parse.quote(SEARCH_TERM),
        "compliance": f"/compliance/?town={town.slug}",
        "stats": "/stats/",
        "回音壁 form GET": "/feedback/new/",
    }


def party_member():
    """A member of the first village's branch (made once, kept)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from composition.views import home_unit
    from disclosure.models import PartyMembership

    village = home_unit().children.order_by("order", "id").first()
    user = get_user_model().objects.filter(username="bench_party_member").first()
    if user is not None and PartyMembership.objects.filter(user=user).exists():
        return user
    user, _ = get_user_model().objects.get_or_create(username="bench_party_member")
    user.groups.add(Group.objects.get(name="党员"))
    branch = village.organisations.branches().first()
    if branch is not None:
        PartyMembership.objects.update_or_create(user=user, defaults={"branch": branch})
    return user


def elsewhere() -> dict[str, list[str]]:
    """The scopes a publication, an answered case and a unit's change in the
    last town, and a catalog change, name (what `caching.on_event` bumps)."""
    from composition.views import home_unit
    from core import content, events
    from disclosure.models import Disclosure, Unit
    from disclosure.page_scopes import unit_scopes
    from feedback.models import Submission

    town = Unit.objects.ordered_towns().last()
    units = Unit.objects.of_town(town)
    row = Disclosure.objects.published().filter(unit__in=units).first()
    case = Submission.objects.on_wall().filter(unit__in=units).first()
    village = units.exclude(pk=town.pk).first()
    here = home_unit().children.order_by("order", "id").first()

    def named_ids(model: str, ids) -> list[str]:
        event = events.Event(MADE_INNER_PARTY, model, tuple(ids))
        if not content.counts_change(event):
            UNCOUNTED.add("made 党内")
        return [*content.event_scopes(event), content.ANY]

    def named(model: str, instance) -> list[str]:
        event = events.Event("saved", model, (instance.pk,), instance=instance)
        scopes = content.event_scopes(event)
        if scopes is None:  # not named: the global version (main before)
            return []
        if content.shown_everywhere(model):
            scopes = [*scopes, content.NAMES]
        return [*scopes, content.ANY]

    from catalog.models import Item
    from catalog.page_scopes import note_counted_change
    from composition.search import INDEX
    from disclosure.models import DisclosureTable, Inspection
    from disclosure.services import MADE_INNER_PARTY

    def renamed(item):
        item.name = f"{item.name}（修订）"
        note_counted_change(Item, item)  # what a save asks first
        return item

    def relimited(item):
        item.notice_days = (item.notice_days or 0) + 1
        note_counted_change(Item, item)
        return item

    def published_in(unit) -> list[str]:
        # What its publication names: the row's scopes, "published" (every
        # value read from the county's published rows), its year, unit and
        # town, the cases it answers.
        return named(
            "disclosure.Disclosure",
            Disclosure.objects.filter(unit=unit)
            .published()
            .order_by("-published_at")
            .first(),
        )

    day = [
        published_in(Unit.objects.of_town(each).exclude(pk=each.pk).first())
        for each in Unit.objects.ordered_towns()
    ]
    # The units whose kept counts of cases each change raises
    # (feedback.kept_counts), as its save does in its transaction.
    RAISED.update(
        {
            "case elsewhere": [case.unit_id],
            "day elsewhere": [case.unit_id],
        }
    )
    # A case coming in raises its unit's rows in its transaction and lists
    # it there (kept_counts._came_in): the newest case of the village stands
    # for it (counted alone and added by the page: the village's rows are
    # counted whole again once the run is over, `came_in_recounted`).
    newest = Submission.objects.filter(unit=here).order_by("-pk").first()
    CAME_IN.update({"new case here": Submission(pk=newest.pk, unit_id=here.pk)})
    return {
        "pub elsewhere": named("disclosure.Disclosure", row),
        "case elsewhere": named("feedback.Submission", case),
        "day elsewhere": list(
            dict.fromkeys(
                [
                    *(s for scopes in day for s in scopes),
                    *named("feedback.Submission", case),
                ]
            )
        ),
        # A case comes in from the home town's first village (not public
        # until accepted: the pages that may show anything, the wall's
        # counts; feedback.summary.on_new_case): the statistics' town.
        "new case here": [
            content.ANY,
            *content.new_row_scopes("feedback.Submission"),
            "cases",
            *(f"cases-{scope}" for scope in unit_scopes([here.pk])),
        ],
        "unit elsewhere": named("disclosure.Unit", village),
        # An item given another name (what the engine counts unchanged), and
        # one whose time limit changes (what is owed may change).
        "catalog": named("catalog.Item", renamed(Item.objects.first())),
        "catalog rule": named("catalog.Item", relimited(Item.objects.first())),
        # An item made 党内: its disclosures' event (every unit that has one)
        # and the search pages' INDEX; the global version before 2026-12-04.
        "made 党内": [
            *named_ids(
                "disclosure.Disclosure",
                Disclosure.objects.filter(item=Item.objects.first()).values_list(
                    "pk", flat=True
                ),
            ),
            INDEX,
        ],
        # Unsaved rows: what their saving would name.
        "check elsewhere": named("disclosure.Inspection", Inspection(unit=village)),
        "table elsewhere": named(
            "disclosure.DisclosureTable", DisclosureTable(disclosure=row)
        ),
    }


# What a sample measures: wall time (default), or with --cpu this process's
# CPU time (time.process_time: PostgreSQL's own work and the time spent
# waiting for a core on a loaded machine are left out).
CLOCK = time.perf_counter


# Modes whose event changes who may read rows, not what is counted of them
# (`content.uncounted`): their scopes' counted twins stay, as
# `caching.on_event` bumps them (filled in by `elsewhere`).
UNCOUNTED: set[str] = set()

# Modes whose change raises units' kept counts of cases: their ids (filled in
# by `elsewhere`).
RAISED: dict[str, list[int]] = {}


# The modes whose case staff acted on: its request counts the unit's rows.
ACTED_ON = ("case elsewhere", "day elsewhere")

# Modes whose change is a case coming in: the case (filled in by `elsewhere`).
CAME_IN: dict = {}


def change(mode: str, changes: dict) -> None:
    """What `mode` drops before a request (warm: nothing)."""
    from core import caching

    if mode == "cold" or (mode in changes and not changes[mode]):
        caching._bump()  # every cached value is stale
    elif mode in changes:
        caching._bump_scopes(changes[mode], counted=mode not in UNCOUNTED)
    if mode in RAISED:
        from feedback import kept_counts

        kept_counts.changed_units(RAISED[mode])
        if mode in ACTED_ON:
            kept_counts.recount(RAISED[mode])
    if mode in CAME_IN:
        from django.db import transaction

        from feedback import kept_counts

        with transaction.atomic():
            kept_counts._came_in(CAME_IN[mode])


def came_in_recounted() -> None:
    """The units of CAME_IN counted whole again: the case standing for one
    coming in was counted in already, and the pages added it again."""
    from feedback import kept_counts

    units = [case.unit_id for case in CAME_IN.values()]
    for selection in kept_counts.SELECTIONS:
        kept_counts.read(selection, units, kept_counts._counter(selection), again=True)


def days_ahead(days: int):
    """The clock at 23:00 and at 00:00:01 after it, `days` days from now
    (local time), as time-machine travellers."""
    import datetime

    import time_machine
    from django.utils import timezone

    evening = timezone.localtime().replace(hour=23, minute=0, second=0)
    evening += datetime.timedelta(days=days)
    morning = evening + datetime.timedelta(hours=1, seconds=1)
    return time_machine.travel(evening), time_machine.travel(morning)


def forget_versions(caching) -> None:
    # An hour has passed, not a millisecond: a worker reads the versions
    # again (they are kept by the monotonic clock, which does not travel).
    caching._local.version = None
    caching._local.scopes.clear()


@contextlib.contextmanager
def before(client, path: str, mode: str, changes: dict, n: int):
    """What `mode` does before the n-th request, kept around it (midnight:
    the clock moved)."""
    if mode == "midnight":
        from django.core.cache import cache

        from core import caching

        evening, morning = days_ahead(n + 1)
        with evening:
            # Counted afresh the evening before: what the morning recounts is
            # what the date changes, not what expired on the days skipped.
            cache.clear()
            caching.reset_local()
            client.get(path)
        with morning:
            forget_versions(caching)
            yield
        return
    change(mode, changes)
    yield


# With --min, each cell is "minimum/median": on a VM whose medians spread by
# a third between identical runs, the minimums compare two versions better.
WITH_MIN = False


def timed(client, path: str, *, repeat: int, mode: str, changes: dict):
    samples = []
    client.get(path)  # imports, compiled templates, the value cache filled
    for n in range(repeat):
        with before(client, path, mode, changes, n):
            start = CLOCK()
            response = client.get(path)
            samples.append((CLOCK() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    median = round(statistics.median(samples), 1)
    return f"{min(samples):.1f}/{median}" if WITH_MIN else median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pages", default="", help="comma-separated page names")
    parser.add_argument(
        "--modes", default="", help="comma-separated modes (warm, cold, midnight, …)"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="this process's CPU time, not wall time"
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="Python's collector as it starts, not tuned as a worker's",
    )
    parser.add_argument(
        "--min", action="store_true", help='each cell "minimum/median", not the median'
    )
    parser.add_argument(
        "--instrumented",
        action="store_true",
        help="Django's test instrumentation on, as before 2026-12-05 (evening): "
        "every template rendered sends a signal and the test client copies its "
        "context (about 6 %% of a board's miss)",
    )
    args = parser.parse_args()
    global CLOCK, WITH_MIN
    if args.cpu:
        CLOCK = time.process_time
    WITH_MIN = args.min

    import django

    django.setup()
    if not args.default_gc:
        from core.runtime import tune_gc

        tune_gc()  # as a worker does (fengming_portal/wsgi.py)
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    if args.instrumented:
        setup_test_environment()
    else:
        settings.DEBUG = False  # as deployed: no query log
    settings.ALLOWED_HOSTS = ["testserver"]
    chosen = pages()
    if args.pages:
        wanted = {p.strip() for p in args.pages.split(",")}
        chosen = {k: v for k, v in chosen.items() if k in wanted}
    from django.contrib.auth import user_logged_in
    from django.contrib.auth.models import update_last_login

    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    visitor, member = Client(), Client()
    member.force_login(party_member())
    changes = elsewhere()
    modes = ("warm", "cold", *changes, "midnight")
    if args.modes:
        modes = tuple(m for m in modes if m in args.modes.split(","))
    rows = []
    # As Redis: no cap on the number of keys (LocMemCache culls at 300).
    settings.CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = 10**7
    from django.core.cache import caches

    caches["default"]._max_entries = 10**7
    with override_settings(PAGE_CACHE_SECONDS=0, VALUE_CACHE_SECONDS=60):
        for name, path in chosen.items():
            row = {"page": name, "path": path}
            for who, client in (("visitor", visitor), ("member", member)):
                for mode in modes:
                    row[f"{who} {mode}"] = timed(
                        client, path, repeat=args.repeat, mode=mode, changes=changes
                    )
            rows.append(row)
            cells = "  ".join(f"{k} {v:>7}" for k, v in row.items() if k[0] in "vm")
            print(f"{name:<16} {cells}", flush=True)  # noqa: T201
    came_in_recounted()
    print(  # noqa: T201
        "MISSES_JSON "
        + json.dumps(
            {
                "date": time.strftime("%Y-%m-%d", time.gmtime()),
                "database": django.db.connection.vendor,
                "loadavg": [round(x, 2) for x in os.getloadavg()],
                "repeat": args.repeat,
                "clock": "cpu" if args.cpu else "wall",
                "rows": rows,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
