"""Pages that combine apps: the home page, a catalog item's page, the health check."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

from catalog.models import Catalog, Item
from core import caching
from disclosure.models import Disclosure, Unit, can_see_inner_party
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
                f"home-count:{town.pk}:{can_see_inner_party(request.user)}",
                visible.information().count,
            ),
        },
        "feedback": caching.cached(
            f"home-feedback:{town.pk}",
            Submission.objects.on_record().filter(in_town).summary,
        ),
    }
    return render(request, "portal/home.html", context)


def catalog_item(request, code):
    item = get_object_or_404(Item.objects.with_related(), code=code)
    hidden = item.is_inner_party and not can_see_inner_party(request.user)
    units = Unit.objects.none()
    if item.for_town:
        units = units | Unit.objects.towns()
    if item.for_village:
        units = units | Unit.objects.boards()
    rows = {
        unit.pk: {"unit": unit, "disclosures": []}
        for unit in units.order_by("order", "id")
    }
    if not hidden:
        for disclosure in Disclosure.objects.visible_to(request.user).filter(item=item):
            if disclosure.unit_id in rows:
                rows[disclosure.unit_id]["disclosures"].append(disclosure)
    context = {
        "item": item,
        "hidden": hidden,
        "rows": list(rows.values()),
        "forms": item.forms.all(),
    }
    return render(request, "catalog/item_detail.html", context)


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
