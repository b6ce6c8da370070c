"""Pages that combine apps: the home page, a catalog item's page, the health check."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

from catalog.models import Catalog
from core import caching
from disclosure.models import Disclosure, Reader, Unit
from feedback.models import Submission

logger = logging.getLogger(__name__)


def home_unit() -> Unit | None:
    towns = Unit.objects.towns()
    if settings.PORTAL_HOME_UNIT_SLUG:
        return towns.filter(slug=settings.PORTAL_HOME_UNIT_SLUG).first()
    return towns.order_by("parent_id", "order", "id").first()


def home(request):
    town = home_unit()
    if town is None:
        return render(request, "portal/home_empty.html")
    boards = town.children.order_by("order", "id")
    # unit_id IN (…) rather than an OR across the join: it uses the unit index.
    in_town = Q(unit__in=[town.pk, *boards.values_list("pk", flat=True)])
    visible = Disclosure.objects.visible_to(request.user).filter(in_town)
    party_catalog = (
        Catalog.objects.filter(kind=Catalog.Kind.PARTY)
        .prefetch_related("categories")
        .annotate(item_count=Count("categories__items"))
        .first()
    )
    context = {
        "town": town,
        "boards": boards,
        "latest": visible.information().for_listing()[:8],
        "party_catalog": party_catalog,
        "figures": {
            "boards": boards.count(),
            "liaison_points": boards.filter(is_liaison_point=True).count(),
            # Counted over the town's ten years: kept between requests.
            "disclosures": caching.cached(
                f"home-count:{town.pk}:{Reader.of(request.user).key}",
                visible.information().count,
            ),
        },
        "feedback": caching.cached(
            f"home-feedback:{town.pk}",
            Submission.objects.on_record().filter(in_town).summary,
        ),
    }
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
