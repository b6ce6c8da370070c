"""Page weight: what a first visit to the home page, a board and a disclosure
transfers, with HTML compressed as in production.

    .venv/bin/python bench/pageweight.py [--budget-kb 100] [--lighthouse]

Production-like: DEBUG off, `collectstatic` into a temporary STATIC_ROOT with
whitenoise's compressed manifest storage (hashed names, gzip), production's
HTML compression (core/compression.py), a temporary SQLite database with the
demo town, served by Django's threaded WSGI server.
Each page is loaded in Debian's chromium (Playwright) in a new browser context,
so with an empty cache; the bytes on the wire (headers and encoded bodies) are
summed per page and by kind; the HTML's size before compression is given
beside it. Fails (exit 1) when a page is over the budget or
asks any host but the portal's own. `make pageweight` runs it.
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from itertools import product
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = {"home": "/", "board (文理村)": "/boards/wenli/", "disclosure": None}
KINDS = {"document": "HTML", "stylesheet": "CSS", "script": "JS", "font": "fonts"}


def start_portal(workdir: Path) -> str:
    """Set up a demo portal in `workdir` and serve it; returns its address."""
    os.environ.pop("DEBUG", None)
    os.environ.pop("DJANGO_ENV", None)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'db.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ["DJANGO_SETTINGS_MODULE"] = "fengming_portal.settings"
    sys.path.insert(0, str(BASE_DIR))

    import django
    from django.conf import settings

    django.setup()
    # Production's static files (hashed names, gzip and brotli), outside
    # production settings: the demo needs no SECRET_KEY, HTTPS or Redis.
    settings.STATIC_ROOT = workdir / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        },
    }
    settings.WHITENOISE_USE_FINDERS = False
    from fengming_portal.settings.common import with_compression

    settings.MIDDLEWARE = with_compression(settings.MIDDLEWARE)
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    PAGES["disclosure"] = latest_disclosure()

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def latest_disclosure() -> str:
    """The page of 文理村's latest public disclosure (the board's first)."""
    from django.contrib.auth.models import AnonymousUser

    from disclosure.models import Disclosure

    latest = (
        Disclosure.objects.visible_to(AnonymousUser())
        .filter(unit__slug="wenli")
        .latest("published_at")
    )
    return latest.get_absolute_url()


def measure(base_url: str) -> dict[str, dict]:
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        for (name, path), gzip_only in product(PAGES.items(), (False, True)):
            # Chromium asks for brotli; an older phone browser gets gzip.
            headers = {"Accept-Encoding": "gzip, deflate"} if gzip_only else {}
            if gzip_only:
                name += ", gzip only"
            context = browser.new_context(
                viewport={"width": 360, "height": 740}, extra_http_headers=headers
            )
            page = context.new_page()
            finished = []
            for event in ("requestfinished", "requestfailed"):
                page.on(event, lambda request, into=finished: into.append(request))
            status = page.goto(base_url + path, wait_until="load").status
            page.wait_for_load_state("networkidle")
            by_kind, hosts, files, html_plain = Counter(), set(), [], 0
            for request in finished:
                sizes = request.sizes()
                transferred = sizes["responseHeadersSize"] + sizes["responseBodySize"]
                kind = KINDS.get(request.resource_type, request.resource_type)
                by_kind[kind] += transferred
                hosts.add(urlsplit(request.url).netloc)
                response = request.response()
                encoding = (
                    response.headers.get("content-encoding", "") if response else ""
                )
                if kind == "HTML" and response:
                    html_plain += len(response.body())
                files.append(
                    (urlsplit(request.url).path, kind, transferred, encoding or "-")
                )
            results[name] = {
                "total": sum(by_kind.values()),
                "by_kind": dict(by_kind),
                "requests": len(finished),
                "html_plain": html_plain,
                "status": status,
                "other_hosts": sorted(hosts - {urlsplit(base_url).netloc}),
                "files": files,
            }
            context.close()
        browser.close()
    return results


def lighthouse(base_url: str) -> dict[str, int] | None:
    """Lighthouse's performance and accessibility scores for the home page,
    when the npm package is installed (LIGHTHOUSE, or `lighthouse` on PATH)."""
    command = os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse")
    if not command:
        return None
    flags = " ".join(CHROMIUM_ARGS)
    result = subprocess.run(
        [
            command,
            base_url + "/",
            "--quiet",
            "--output=json",
            "--only-categories=performance,accessibility",
            "--form-factor=mobile",
            f"--chrome-flags={flags}",
        ],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-2000:])
        return None
    categories = json.loads(result.stdout)["categories"]
    return {name: round(c["score"] * 100) for name, c in categories.items()}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-kb", type=float, default=100)
    parser.add_argument("--lighthouse", action="store_true")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.stderr.write(f"No browser at {CHROMIUM}: apt-get install chromium\n")
        return 2

    with tempfile.TemporaryDirectory(prefix="fengming-pageweight-") as tmp:
        base_url = start_portal(Path(tmp))
        results = measure(base_url)
        scores = lighthouse(base_url) if args.lighthouse else None

    failed = False
    for name, result in results.items():
        kb = result["total"] / 1024
        over = kb > args.budget_kb
        parts = ", ".join(
            f"{k} {v / 1024:.1f} KB" for k, v in result["by_kind"].items()
        )
        say(f"{name}: {kb:.1f} KB in {result['requests']} requests ({parts})")
        html = result["by_kind"].get("HTML", 0) / 1024
        plain = result["html_plain"] / 1024
        say(f"    HTML {html:.1f} KB compressed, {plain:.1f} KB uncompressed")
        for path, kind, size, encoding in result["files"]:
            say(f"    {size / 1024:6.1f} KB  {kind:5} {encoding:5} {path}")
        if over:
            say(f"  OVER the budget of {args.budget_kb:.0f} KB")
        if result["other_hosts"]:
            say(f"  requests to other hosts: {result['other_hosts']}")
        if result["status"] != 200:
            say(f"  answered {result['status']}, not 200")
        failed |= over or bool(result["other_hosts"]) or result["status"] != 200
    if args.lighthouse:
        if scores:
            say(
                "lighthouse (home, mobile): "
                + ", ".join(f"{k} {v}" for k, v in scores.items())
            )
        else:
            say("lighthouse: not available or did not run (see README)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
