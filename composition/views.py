"""Pages that combine apps: the home page, a catalog item's page, the health check."""

import functools
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control

from catalog.models import Catalog, Item
from catalog.page_scopes import CATALOG, CATEGORIES, COUNTED, GROUPED
from core import caching, compiled, content, fragments
from disclosure import compliance, page_scopes
from disclosure.figures import NO_CASE_COUNTS, kept_by_unit, kept_scopes
from disclosure.models import Disclosure, Reader, Unit
from disclosure.page_scopes import UNITS
from feedback import kept_counts
from feedback.models import Kind, Submission
from feedback.summary import summary_by_unit

logger = logging.getLogger(__name__)


def home_unit() -> Unit | None:
    # Read on every home page; a unit's change (UNITS) drops it.
    return caching.cached(
        f"home-unit:{settings.PORTAL_HOME_UNIT_SLUG}", _find_home_unit, scopes=[UNITS]
    )


def _find_home_unit() -> Unit | None:
    towns = Unit.objects.towns()
    if settings.PORTAL_HOME_UNIT_SLUG:
        return towns.filter(slug=settings.PORTAL_HOME_UNIT_SLUG).first()
    return towns.order_by("parent_id", "order", "id").first()


# The home page's figures of what was published, by catalog kind.
HOME_KINDS = {
    "party": Catalog.Kind.PARTY,
    "government": Catalog.Kind.GOVERNMENT,
    "village": Catalog.Kind.VILLAGE,
}


def published_figures(units: list[Unit], year: int) -> dict:
    """The article's figures for a year, from the records: information
    published per catalog kind (党务 apart from 政务 and 村务; 本期无 filings are
    not information), of every scope (a count reveals no 党内 content).

    Each unit's counts are kept apart (`disclosure.figures.kept_by_unit`),
    under its rows' counted scope (not an item made 党内, which changes who
    reads rows, not how many there are): a publication in a village counts
    that village again, not its town's 10,000 rows (4 ms of PostgreSQL at
    county scale)."""
    parts = kept_by_unit(
        f"home-published:{year}",
        units,
        lambda some: _published_by_unit([unit.pk for unit in some], year),
        empty={},
        scope=lambda unit: content.counted(f"unit:{unit.slug}"),
    )
    return {
        figure: sum(part.get(kind, 0) for part in parts.values())
        for figure, kind in HOME_KINDS.items()
    }


def _published_by_unit(unit_ids: list[int], year: int) -> dict[int, dict]:
    """Each unit's information published in `year`, by catalog kind (a unit
    with none: absent)."""
    # By item, each item's kind from a kept map: planning the join of the
    # item, its category and its catalog cost PostgreSQL 0.6 ms more (the
    # count of a village 4.1 → 3.1 ms, on every home page miss after one).
    some = tuple(sorted(unit_ids))
    # After a publication, its unit alone: the SQL kept per set of units
    # and year (core.compiled).
    rows = compiled.rows(
        Disclosure,
        ("home-published", some, year),
        lambda at: (
            Disclosure.objects.published(at)
            .information()
            .filter(unit__in=some, published_at__year=year)
            .values_list("unit_id", "item_id")
            .annotate(n=Count("id"))
            .order_by()
        ),
    )
    kinds = _item_kinds()
    if any(item_id not in kinds for _unit, item_id, _n in rows):
        # An item new since this copy was kept (another process's, within
        # the second its versions are read again).
        kinds = _item_kinds(fresh=True)
    found: dict[int, dict] = {}
    for unit_id, item_id, n in rows:
        counts = found.setdefault(unit_id, {})
        kind = kinds[item_id]
        counts[kind] = counts.get(kind, 0) + n
    return found


def _item_kinds(*, fresh: bool = False) -> dict[int, str]:
    """Each catalog item's kind (党务, 政务, 村务: its category's catalog's),
    kept until an item may be in another kind (GROUPED: an item moved to
    another category, a category to another catalog, a catalog's kind; not
    an item renamed). A new item names no GROUPED: a count meeting an item
    not in this copy reads it again (`fresh`)."""
    return caching.cached(
        "item-kinds",
        lambda: dict(Item.objects.values_list("pk", "category__catalog__kind")),
        scopes=[GROUPED],
        fresh=fresh,
    )


def received_figures(units: list[Unit], year: int) -> dict:
    """The 反映 and 咨询 the liaison points' 回音壁 received in a year
    ("收到群众反映5条，党员干部和群众咨询15条") and the 意见建议 of every kind
    the town's `units` received (a 举报 counted, never listed). The counts
    of each unit are a function of its cases alone: kept by the state of
    its cases (feedback.kept_counts.by_cases_each: a case of one village
    counts that village's again, a flush none; not a publication, nor a
    unit made a liaison point: the flags are read with the page)."""
    counts = kept_counts.by_cases_each(
        f"home-received:{year}",
        [unit.pk for unit in units],
        lambda ids: _received_by_unit(ids, year),
        valid=lambda value: (
            type(value) is tuple
            and len(value) == 3
            and all(type(n) is int for n in value)
        ),
    )
    reports = questions = received = 0
    for unit in units:
        unit_reports, unit_questions, unit_received = counts[unit.pk]
        received += unit_received
        if unit.is_liaison_point:
            reports += unit_reports
            questions += unit_questions
    return {
        "liaison_reports": reports,
        "liaison_questions": questions,
        "liaison_feedback": reports + questions,
        "feedback_received": received,
    }


def _received_by_unit(
    unit_ids: list[int], year: int
) -> dict[int, tuple[int, int, int]]:
    """Each unit's (反映, 咨询, every kind) cases on record received in
    `year`, (0, 0, 0) for one with none. Its SQL kept per year
    (core.compiled), the units its parameters: a case coming in counts its
    village alone."""

    def build(_at, *units):
        return (
            Submission.objects.on_record()
            .filter(unit__in=units, received_at__year=year)
            .values_list("unit_id")
            .annotate(
                reports=Count("id", filter=Q(kind=Kind.REPORT)),
                questions=Count("id", filter=Q(kind=Kind.QUESTION)),
                received=Count("id"),
            )
            .order_by()
        )

    ids = tuple(sorted(set(unit_ids)))
    found = {
        unit_id: (reports, questions, received)
        for unit_id, reports, questions, received in compiled.rows(
            Submission, ("home-received", year), build, keys=ids
        )
    }
    return {unit: found.get(unit, (0, 0, 0)) for unit in ids}


def home_latest_context(request, units: list[Unit]) -> dict:
    """The latest notices this reader may see of the town's `units`
    (portal/includes/home_latest.html)."""
    # unit_id IN (…) rather than an OR across the join: it uses the unit index.
    unit_ids = [unit.pk for unit in units]
    reader = Reader.of(request.user)

    def visible(at=None):
        rows = Disclosure.objects.published(at).for_reader(reader, at)
        return rows.filter(unit__in=unit_ids).information()

    # Their keys (and units) only: each entry is kept apart
    # (disclosure_entries), and the rows of those not kept are read by key,
    # from the rows this reader may see. Planning the listing's joins over
    # the town's rows cost PostgreSQL 1.4 ms, more than the rest of the
    # query; by key, 0.4 ms, and only when an entry is new. The keys' SQL
    # kept per town and audience.
    latest = compiled.rows(
        Disclosure,
        ("home-latest", tuple(unit_ids), reader.key),
        # And the unit, whose name its entry follows (kept_entries).
        lambda at: visible(at).only("pk", "unit_id")[:8],
    )
    return {
        "latest": latest,
        "latest_source": compiled.Source(
            ("home-latest", tuple(unit_ids), reader.key), visible
        ),
    }


def home_catalog_context() -> dict:
    """The party catalog's categories (portal/includes/home_catalog.html)."""
    party_catalog = (
        Catalog.objects.filter(kind=Catalog.Kind.PARTY)
        .prefetch_related("categories")
        .annotate(item_count=Count("categories__items"))
        .first()
    )
    return {"party_catalog": party_catalog}


def home_boards_context(town: Unit) -> dict:
    """The town's and its villages' boards (portal/includes/home_boards.html)."""
    return {"town": town, "boards": list(town.children.order_by("order", "id"))}


def home_figures_context(town: Unit, units: list[Unit], year: int) -> dict:
    """The home page's heading and figures of `year` (`home_year`;
    portal/includes/home_figures.html) over the town's `units` (itself and
    its villages): counts of every scope (a count reveals no 党内 content),
    so the article's "50" reads the same for all."""
    boards = [unit for unit in units if unit.pk != town.pk]
    feedback = town_feedback({unit.pk: unit.slug for unit in units})
    return {
        "town": town,
        "figures": {
            "boards": len(boards),
            "liaison_points": sum(1 for unit in boards if unit.is_liaison_point),
            # Kept per unit between requests: what was published until a
            # change in the unit or a publication scheduled in it (reading
            # no count of cases, and of the catalog only the kinds); what
            # was received until a change of one of the town's cases (a
            # publication, or a case elsewhere, leaves it kept). The date
            # changes none of them.
            "year": year,
            **published_figures(units, year),
            # After the 回音壁's figures: those count a unit's new cases into
            # its kept counts, which moves the marks these are kept by.
            **received_figures(units, year),
        },
        "feedback": feedback,
    }


def town_feedback(units: dict[int, str]) -> dict:
    """The 回音壁's figures of the town's cases (its units': id -> slug),
    each unit's kept until one of its cases changes or comes in, and past
    midnight, as the wall's (feedback.summary)."""
    return summary_by_unit(
        kept_counts.cases("home"), "home-feedback", units, ("home",), kept="home"
    )


def home_year() -> int:
    """The year of the home page's figures: the latest with data."""
    return compliance.latest_year_with_data() or timezone.localdate().year


def home_scopes(town: Unit) -> list[str]:
    """What the home page shows of the data, as page-cache scopes: the town's
    rows and its villages' (the latest notices, the figures), the new 回音壁
    cases they count (disclosure.figures.kept_scopes), and the county's years with data
    (the figures' year, `latest_year_with_data`: a publication elsewhere in a
    new year moves it). Its units, boards and the catalog move the global
    version."""
    return [*kept_scopes(town), *page_scopes.span_facts()]


def home_scope(request, kwargs) -> list[str]:
    """The home page's scopes (core.content.cached_views); no town: the
    empty page, which shows no rows."""
    town = home_unit()
    return [] if town is None else home_scopes(town)


def home(request):
    town = home_unit()
    if town is None:
        return render(request, "portal/home_empty.html")
    # The content in four fragments, each kept until a change in what it
    # shows: the heading and figures (the same for every reader) until a
    # change in the town's rows or a 回音壁 case of it, per day and year of
    # the figures (the county's: the page names it as a scope, `home_scopes`);
    # the latest notices, per audience, until a change in the town's rows
    # (not a case); the party catalog until a catalog change; the boards
    # until a unit's.
    year = home_year()
    language = get_language()
    shown = f"{timezone.localdate()}:{language}:{year}"
    scopes = kept_scopes(town)
    started = timezone.now()
    # The fragments depend on every scope the kept values they are made of
    # read too (page_scopes.read_through: the villages' "unit:" and
    # "cases-unit:", the catalog's narrower parts): with those in its key, a
    # fragment made again for one scope from a kept value of before a change
    # under another is one nobody asks for. And the counts by kind (GROUPED).
    # Not UNITS, nor NAMES (`names_listed` below): the units these two show
    # are the town's, whose every change names "town:<slug>" (where a unit
    # is and was, page_scopes.unit_change_scopes), which they read; a unit
    # or a body renamed elsewhere leaves them kept.
    # Of the catalog, the kinds alone (GROUPED): an item renamed, or its
    # forms or time limit changed, leaves them kept.
    figures_scopes = page_scopes.read_through(
        town, [s for s in scopes if s != CATALOG] + [GROUPED]
    )
    latest_scopes = page_scopes.read_through(
        town, [s for s in scopes if s.partition(":")[0] not in NO_CASE_COUNTS]
    )

    @functools.cache
    def units() -> list[Unit]:
        # Kept until a unit changes (UNITS; one of the town's names the two
        # fragments' "town:<slug>" too).
        return compliance.town_units([town])

    made = {
        f"home-figures:{town.pk}:{shown}": (
            sorted(figures_scopes),
            lambda: (
                "portal/includes/home_figures.html",
                home_figures_context(town, units(), year),
            ),
        ),
        f"home-latest:{town.pk}:{Reader.of(request.user).key}:{shown}": (
            sorted(latest_scopes),
            lambda: (
                "portal/includes/home_latest.html",
                home_latest_context(request, units()),
            ),
        ),
        # What it shows of the catalog: its categories (CATEGORIES) and how
        # many items they hold (an item added or deleted: COUNTED; moved to
        # another catalog: GROUPED); not an item's name, nor its forms.
        f"home-catalog:{language}": (
            [CATEGORIES, COUNTED, GROUPED],
            lambda: ("portal/includes/home_catalog.html", home_catalog_context()),
        ),
        f"home-boards:{town.pk}:{language}": (
            [UNITS],
            lambda: ("portal/includes/home_boards.html", home_boards_context(town)),
        ),
    }
    scheduled = set(list(made)[:2])

    def render_parts(names: list[str]) -> dict[str, str]:
        return {name: render_to_string(*made[name][1]()) for name in names}

    def lifetime(names: list[str]) -> float:
        if scheduled.isdisjoint(names):
            return float(settings.PAGE_CACHE_MAX_SECONDS)
        # The figures and the latest notices change with no save at the
        # next publication or public date (先党内后党外) scheduled in the
        # town's units (kept: the figures' own lifetime asks the same), and
        # at midnight (the day is in their names).
        due = compliance.next_scheduled(units(), started, public_from=True)
        return caching.until(due)

    parts = fragments.kept_many(
        {name: scopes for name, (scopes, _) in made.items()},
        render_parts,
        lifetime=lifetime,
        # Each names what it shows names of: the town's units (above), the
        # catalog (CATALOG), every unit's (UNITS: the boards, whose list
        # also follows which town is the home one).
        names_listed=True,
    )
    names = ("home_figures", "home_latest", "home_catalog", "home_boards")
    context = dict(zip(names, parts.values(), strict=True))
    return render(request, "portal/home.html", {"town": town, **context})


@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers and crawlers ask for /favicon.ico whatever the page links: the
    static file's (hashed, in production) address."""
    return redirect(static("favicon.ico"))


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: database unreachable")
        return HttpResponse(
            "database unreachable\n", status=503, content_type="text/plain"
        )
    return HttpResponse("ok\n", content_type="text/plain")
