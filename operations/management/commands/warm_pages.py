"""python manage.py warm_pages: make the public pages a visitor reads first
each day, so that the first visitor after midnight (or after a deployment)
does not wait for what the date changed.

At midnight the figures and fragments that follow the date are made again on
their first request: a town's compliance matrix and statistics, the home page,
a unit's list take 50–90 ms at county scale instead of 1–11 ms
(docs/PERFORMANCE.md). This command asks for those pages as an anonymous
visitor, through the whole middleware stack (Django's test client, in this
process): the pages and the values they read are kept in the shared cache
(Redis) for every worker, exactly as a visitor's request would keep them.
Values shared with party members (figures, fragments) are warmed with them.

Run by cron just after midnight (deploy/fengming.cron) and after a
deployment. Prints what it asked for and how long it took; exits with an
error if a page did not answer 200.
"""

import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.urls import reverse

from disclosure.models import Unit
from feedback import kept_counts


def warm_paths() -> list[str]:
    """The county's and each town's first pages, and each unit's board and
    list: what visitors open first (docs/PERFORMANCE.md, the mixed run)."""
    paths = [
        reverse("portal:home"),
        reverse("portal:county"),
        reverse("portal:stats"),
        reverse("feedback:wall"),
        reverse("disclosure:boards"),
        reverse("disclosure:list"),
    ]
    compliance = reverse("disclosure:compliance")
    for slug in Unit.objects.ordered_towns().values_list("slug", flat=True):
        paths.append(f"{compliance}?{urlencode({'town': slug})}")
    units = Unit.objects.with_boards().order_by("parent_id", "order", "id")
    listing = reverse("disclosure:list")
    for slug in units.values_list("slug", flat=True):
        paths.append(reverse("disclosure:board", args=[slug]))
        paths.append(f"{listing}?{urlencode({'unit': slug})}")
    return paths


DEFAULT_PORTS = {"http": 80, "https": 443}


def host_and_scheme() -> tuple[str, bool]:
    """The Host header visitors send (a page is kept under it): the site's
    address (PORTAL_BASE_URL) if ALLOWED_HOSTS admits it, else the first of
    them that names one host; https as the site is served. As a browser
    writes it: lower case, an IPv6 address in brackets, no default port."""
    allowed = [
        h.lower()
        for h in settings.ALLOWED_HOSTS
        if h and "*" not in h and not h.startswith(".")
    ]
    base = urlsplit(settings.PORTAL_BASE_URL)
    name = base.hostname or ""  # lower case, brackets taken off
    if ":" in name:
        name = f"[{name}]"
    if name and name in allowed:
        secure = base.scheme == "https"
        try:
            port = base.port
        except ValueError:  # not a port: the host alone
            port = None
        if port is not None and port != DEFAULT_PORTS.get(base.scheme):
            return f"{name}:{port}", secure
        return name, secure
    if not allowed:
        raise CommandError(
            "ALLOWED_HOSTS names no single host to warm the pages under "
            "(set PORTAL_BASE_URL to the site's address)."
        )
    return allowed[0], bool(getattr(settings, "SECURE_SSL_REDIRECT", False))


class Command(BaseCommand):
    help = "Make the pages visitors read first, after midnight or a deployment."

    def handle(self, *args, **options):
        host, secure = host_and_scheme()
        # As nginx forwards a visitor's request (deploy/nginx-fengming.conf).
        headers = {"X-Forwarded-Proto": "https"} if secure else {}
        # A page that fails is reported at the end, the others still made.
        client = Client(HTTP_HOST=host, headers=headers, raise_request_exception=False)
        started = time.monotonic()
        # Each unit's kept counts of its cases whose cases changed since they
        # were counted (feedback.kept_counts): counted again here, not by the
        # first visitor after a flush; any a lost event left stale, too.
        counted = kept_counts.refresh()
        self.stdout.write(
            f"{counted} units' counts of cases counted again "
            f"in {time.monotonic() - started:.1f} s"
        )
        paths = warm_paths()
        started = time.monotonic()
        slowest, failed = [], []
        for path in paths:
            start = time.monotonic()
            response = client.get(path, secure=secure)
            took = time.monotonic() - start
            slowest.append((took, path))
            if response.status_code != 200:
                failed.append(f"{path} ({response.status_code})")
        slowest.sort(reverse=True)
        self.stdout.write(
            f"{len(paths)} pages for {host} in {time.monotonic() - started:.1f} s; "
            "slowest: "
            + ", ".join(f"{path} {took * 1000:.0f} ms" for took, path in slowest[:3])
        )
        if failed:
            raise CommandError("not 200: " + ", ".join(failed))
