"""/sitemap.xml: public pages only, built for an anonymous reader (no 党内 URL)."""

from django.contrib.auth.models import AnonymousUser
from django.contrib.sitemaps import Sitemap
from django.http import HttpResponse
from django.urls import reverse

from catalog.models import Item, Scope
from disclosure.models import Disclosure, Unit
from feedback.models import Submission


class PagesSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return [
            "portal:home",
            "catalog:index",
            "disclosure:boards",
            "disclosure:list",
            "feedback:wall",
            "portal:stats",
        ]

    def location(self, item):
        return reverse(item)


class CatalogItemSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Item.objects.filter(scope=Scope.PUBLIC).order_by("code")


class BoardSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return Unit.objects.with_boards().order_by("order", "id")


class DisclosureSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return Disclosure.objects.visible_to(AnonymousUser()).order_by("id")

    def lastmod(self, obj):
        return obj.corrected_at or obj.published_at


class SubmissionSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Submission.objects.published().order_by("id")

    def lastmod(self, obj):
        return obj.answered_at or obj.received_at


SITEMAPS = {
    "pages": PagesSitemap,
    "catalog": CatalogItemSitemap,
    "boards": BoardSitemap,
    "disclosures": DisclosureSitemap,
    "feedback": SubmissionSitemap,
}


def robots_txt(request):
    """Crawlers: everything public, except endless or personal pages."""
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /search/",
        "Disallow: /follow/",
        "Disallow: /feedback/track/",
        "Disallow: /feedback/new/",
        "Disallow: /stats/csv/",
        f"Sitemap: {request.build_absolute_uri(reverse('portal:sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
