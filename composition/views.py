"""Pages that combine apps: the home page, a catalog item's page, the health check."""

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

from catalog.models import Catalog
from catalog.page_scopes import CATALOG, GROUPED
from core import caching, fragments
from disclosure import compliance, page_scopes
from disclosure.figures import NO_CASE_COUNTS, kept, kept_scopes
from disclosure.models import Disclosure, Reader, Unit
from disclosure.page_scopes import UNITS
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


def published_figures(units: list[int], year: int) -> dict:
    """The article's figures for a year, from the records: information
    published per catalog kind (党务 apart from 政务 and 村务; 本期无 filings are
    not information)."""
    published = (
        Disclosure.objects.published()
        .information()
        .filter(unit__in=units, published_at__year=year)
    )
    by_kind = dict(
        published.values_list("item__category__catalog__kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "party": by_kind.get(Catalog.Kind.PARTY, 0),
        "government": by_kind.get(Catalog.Kind.GOVERNMENT, 0),
        "village": by_kind.get(Catalog.Kind.VILLAGE, 0),
    }


def received_figures(units: list[int], year: int) -> dict:
    """The 反映 and 咨询 the liaison points' 回音壁 received in a year
    ("收到群众反映5条，党员干部和群众咨询15条") and the 意见建议 of every kind
    the town's units received (a 举报 counted, never listed): one query."""
    at_liaison = Q(unit__is_liaison_point=True)
    liaison = (
        Submission.objects.on_record()
        .filter(unit__in=units, received_at__year=year)
        .aggregate(
            reports=Count("id", filter=at_liaison & Q(kind=Kind.REPORT)),
            questions=Count("id", filter=at_liaison & Q(kind=Kind.QUESTION)),
            received=Count("id"),
        )
    )
    return {
        "liaison_reports": liaison["reports"],
        "liaison_questions": liaison["questions"],
        "liaison_feedback": liaison["reports"] + liaison["questions"],
        "feedback_received": liaison["received"],
    }


def town_slugs(town: Unit) -> list[str]:
    return [town.slug, *town.children.values_list("slug", flat=True)]


def home_context(request, town: Unit) -> dict:
    """What the home page's content shows below its figures
    (portal/includes/home_body.html): the latest notices this reader may
    see, the party catalog, the boards."""
    boards = list(town.children.order_by("order", "id"))
    # unit_id IN (…) rather than an OR across the join: it uses the unit index.
    unit_ids = [town.pk, *(board.pk for board in boards)]
    visible = Disclosure.objects.visible_to(request.user).filter(unit__in=unit_ids)
    party_catalog = (
        Catalog.objects.filter(kind=Catalog.Kind.PARTY)
        .prefetch_related("categories")
        .annotate(item_count=Count("categories__items"))
        .first()
    )
    return {
        "town": town,
        "boards": boards,
        "latest": visible.information().for_listing()[:8],
        "party_catalog": party_catalog,
    }


def home_figures_context(town: Unit, year: int) -> dict:
    """The home page's heading and figures of `year` (`home_year`;
    portal/includes/home_figures.html): counts of every scope (a count
    reveals no 党内 content), so the article's "50" reads the same for
    all."""
    boards = list(town.children.values_list("pk", "slug", "is_liaison_point"))
    slugs = {town.pk: town.slug, **{pk: slug for pk, slug, _ in boards}}
    unit_ids = list(slugs)
    return {
        "town": town,
        "figures": {
            "boards": len(boards),
            "liaison_points": sum(1 for *_, liaison in boards if liaison),
            # Kept between requests until a change in the town or a
            # publication scheduled in it (disclosure.figures.kept); the
            # date changes none of them. Apart: what was published reads no
            # count of cases (a case coming in leaves it kept) and of the
            # catalog only the kinds (GROUPED), what was received no catalog
            # row.
            "year": year,
            **caching.cached(
                f"home-published:{town.pk}:{year}",
                lambda: published_figures(unit_ids, year),
                **kept(
                    town,
                    midnight=False,
                    independent_of=NO_CASE_COUNTS,
                    catalog=GROUPED,
                ),
            ),
            **caching.cached(
                f"home-received:{town.pk}:{year}",
                lambda: received_figures(unit_ids, year),
                **kept(town, midnight=False, independent_of=(CATALOG,)),
            ),
        },
        "feedback": town_feedback(slugs),
    }


def town_feedback(units: dict[int, str]) -> dict:
    """The 回音壁's figures of the town's cases (its units': id -> slug),
    each unit's kept until one of its cases changes or comes in, and past
    midnight, as the wall's (feedback.summary)."""
    return summary_by_unit(Submission.objects.on_record(), "home-feedback", units)


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
    return [*kept_scopes(town), page_scopes.span_fact()]


def home_scope(request, kwargs) -> list[str]:
    """The home page's scopes (core.content.cached_views); no town: the
    empty page, which shows no rows."""
    town = home_unit()
    return [] if town is None else home_scopes(town)


def home(request):
    town = home_unit()
    if town is None:
        return render(request, "portal/home_empty.html")
    # The content, kept until a change in the town (its rows) or the next
    # scheduled one in its units (all it lists and counts), per day and
    # year of the figures (the county's: the page names it as a scope,
    # `home_scopes`), in two fragments: the heading and figures, the same
    # for every reader, which a 回音壁 case of the town changes too; the
    # rest, per audience (the latest notices), which no case changes.
    year = home_year()
    shown = f"{timezone.localdate()}:{get_language()}:{year}"
    scopes = kept_scopes(town)

    def lifetime() -> float:
        return fragments.until_due([f"unit:{slug}" for slug in town_slugs(town)])

    home_figures = fragments.kept(
        f"home-figures:{town.pk}:{shown}",
        scopes,
        lambda: render_to_string(
            "portal/includes/home_figures.html", home_figures_context(town, year)
        ),
        lifetime=lifetime,
    )
    home_body = fragments.kept(
        f"home:{town.pk}:{Reader.of(request.user).key}:{shown}",
        [s for s in scopes if s.partition(":")[0] not in NO_CASE_COUNTS],
        lambda: render_to_string(
            "portal/includes/home_body.html", home_context(request, town)
        ),
        lifetime=lifetime,
    )
    context = {"town": town, "home_figures": home_figures, "home_body": home_body}
    return render(request, "portal/home.html", context)


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
