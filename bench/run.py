"""The benchmark: the portal at county scale under gunicorn, beside hello world.

    .venv/bin/python bench/run.py            # SQLite (bench/.data/scale.sqlite3)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fengming_scale \\
        .venv/bin/python bench/run.py        # PostgreSQL
    .venv/bin/python bench/run.py --smoke    # a small data set, 1 s a page (CI)
    make bench                               # both databases, as in PERFORMANCE.md

Builds the data set with `seed_scale` (skipped when it is there), starts
gunicorn with deploy/gunicorn.conf.py and production settings (DJANGO_ENV=
production, DJANGO_HTTPS=off, 2 sync workers, Redis database 14 as the cache)
three times on free ports of 127.0.0.1: hello world (bench/hello_wsgi.py),
the portal with the page cache off, and with it on. Each page is loaded with
wrk (8 connections, a bounded duration) after a short warm-up; the 回音壁 POST
is driven by threads that fetch real forms, wait out the 3-second minimum,
solve the challenge and post (as loadtest/run.py does), then every
acknowledged submission is looked up in the database: 0 lost, 0 duplicated.
SQL queries per request come from Django's test client with
CaptureQueriesContext in this process (0 on a cache hit). Hello world is
loaded first and again last; the ratios are to the mean of the two.
--pages and --modes run a subset (e.g. --pages "home,board" --modes cached).

With --scale-out, two portal instances share the database and Redis: a
reviewer publishes a disclosure through one (admin log-in, CSRF, the publish
step) while a visitor reads the board through the other, whose copy of the
board is cached; the check is that the visitor sees it within the cache bound.

Every request but the POST's says `Accept-Encoding: gzip, deflate, br`, as
browsers do (the portal compresses text: core/compression.py); `--identity`
leaves it out (the figures before 2026-12-03 were taken so).

Prints a table and one line `BENCH_JSON {...}`. Exit status 0 unless a check
failed (a lost submission, a server that did not start, the scale-out).
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from loadtest.run import (  # noqa: E402
    CHALLENGE_RE,
    INPUT_RE,
    NUMERALS,
    NoRedirect,
    free_port,
    setup_django,
)

PYTHON = sys.executable
DATA_DIR = BASE_DIR / "bench" / ".data"
SEARCH_TERM = "危房改造"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
T0 = time.monotonic()
SECRET_KEY = "bench-" + "k" * 50  # the servers': a member's session is signed by it


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - T0:6.1f}s] {message}", flush=True)  # noqa: T201


# Set-up ------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        log("installing wrk (Debian package)")
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, capture_output=True).returncode:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(install, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed: apt-get install wrk")
    return found


def server_env(database_url: str, port: int, *, cache_seconds: int) -> dict:
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_HTTPS": "off",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "PAGE_CACHE_SECONDS": str(cache_seconds),
        "FEEDBACK_RATE_LIMIT": "1000000",
        "CLIENT_IP_HEADER": "HTTP_X_REAL_IP",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": os.environ.get("BENCH_WORKERS", "2"),
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "GUNICORN_LOG_LEVEL": "warning",
        "GUNICORN_MAX_REQUESTS": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DEBUG", None)
    return env


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database of the scale set when it is missing."""
    if not database_url.startswith("postgres"):
        return
    import psycopg

    parts = urllib.parse.urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not found.fetchone():
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(database_url: str, seed_args: list[str]) -> None:
    ensure_database(database_url)
    env = server_env(database_url, 0, cache_seconds=0)
    manage = [PYTHON, "manage.py"]
    for args in (
        ["migrate", "--noinput", "-v", "0"],
        ["seed_scale", "--no-progress", *seed_args],
        ["collectstatic", "--noinput", "-v", "0"],
    ):
        log("manage.py " + " ".join(args))
        subprocess.run([*manage, *args], cwd=BASE_DIR, env=env, check=True)


class Server:
    """One gunicorn with deploy/gunicorn.conf.py on a free loopback port."""

    def __init__(self, name: str, app: str, env: dict, port: int, logdir: Path):
        self.name, self.port = name, port
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(logdir / f"{name}.log", "w")
        gunicorn = str(Path(PYTHON).parent / "gunicorn")
        self.process = subprocess.Popen(
            [gunicorn, "-c", "deploy/gunicorn.conf.py", app],
            cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        for _ in range(150):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"{name} did not start: see {self.log.name}")

    def drain(self) -> None:
        """Wait until the requests wrk left queued are done (a slow page)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=60)
            except OSError:
                continue
            if time.monotonic() - started < 0.2:
                return

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# Loading a page with wrk ---------------------------------------------------------

LATENCY_RE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


# What every browser sends (wrk sends none): the portal compresses text for
# it (core/compression.py). --identity leaves it out, as before 2026-12-03.
ACCEPT_ENCODING = "gzip, deflate, br"


def wrk(
    binary: str,
    url: str,
    *,
    seconds: float,
    connections: int,
    cookie: str = "",
    encoding: str = ACCEPT_ENCODING,
) -> dict:
    cmd = [
        binary, "-t", "2", "-c", str(connections), "-d", f"{seconds:g}s",
        "--timeout", "60s", "--latency", url,
    ]  # fmt: skip
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    if encoding:
        cmd[1:1] = ["-H", f"Accept-Encoding: {encoding}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    text = out.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    latency = {m[0]: float(m[1]) * UNITS[m[2]] for m in LATENCY_RE.findall(text)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


# The 回音壁 POST -------------------------------------------------------------------


def post_feedback(base: str, unit: str, *, count: int, clients: int) -> dict:
    """Fetch `count` forms, wait out their minimum, post them all; time the posts."""
    run_id = secrets.token_hex(3)
    forms: list[dict] = []
    lock = threading.Lock()
    statuses: Counter = Counter()
    acknowledged: list[str] = []

    def opener():
        import http.cookiejar

        jar = http.cookiejar.CookieJar()
        return urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), NoRedirect
        )

    def fetch(n: int) -> None:
        client = opener()
        for i in range(n, count, clients):
            req = urllib.request.Request(base + "/feedback/new/")
            req.add_header("X-Real-IP", f"127.0.2.{i % 250 + 1}")
            try:
                html = client.open(req, timeout=60).read().decode()
            except OSError as exc:
                with lock:
                    statuses[f"form: {type(exc).__name__}"] += 1
                continue
            a, b = (NUMERALS.index(c) for c in CHALLENGE_RE.search(html).groups())
            form = {
                "csrfmiddlewaretoken": re.search(
                    INPUT_RE.format("csrfmiddlewaretoken"), html
                ).group(1),
                "token": re.search(INPUT_RE.format("token"), html).group(1),
                "challenge": str(a + b),
                "kind": "question",
                "unit": unit,
                "title": f"压测 {run_id} {i}",
                "text": f"压测 {run_id} 第{i:05d}条：自来水几点恢复？",
                "name": "",
                "phone": "",
                "website": "",
                "consent_to_publish": "on",
            }
            with lock:
                forms.append((client, i, form))

    def post(mine: list) -> None:
        for client, i, form in mine:
            req = urllib.request.Request(
                base + "/feedback/new/", data=urllib.parse.urlencode(form).encode()
            )
            req.add_header("X-Real-IP", f"127.0.2.{i % 250 + 1}")
            try:
                with client.open(req, timeout=30) as response:
                    status, location = response.status, ""
            except urllib.error.HTTPError as exc:
                status, location = exc.code, exc.headers.get("Location", "")
            except OSError:
                status, location = None, ""
            with lock:
                statuses[status] += 1
                if status == 302 and location.endswith("/feedback/thanks/"):
                    acknowledged.append(form["text"])

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    time.sleep(3.3)  # the newest form's 3-second minimum
    shares = [forms[n::clients] for n in range(clients)]
    threads = [threading.Thread(target=post, args=(share,)) for share in shares]
    started, cpu = time.monotonic(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu  # this process's, all threads: the client's

    from feedback.models import Submission

    rows = Counter(
        Submission.objects.filter(text__startswith=f"压测 {run_id} ").values_list(
            "text", flat=True
        )
    )
    lost = sum(1 for text in acknowledged if text not in rows)
    duplicated = sum(n - 1 for n in rows.values() if n > 1)
    return {
        "rps": round(len(acknowledged) / elapsed, 1) if elapsed else 0.0,
        "posted": len(forms),
        "acknowledged": len(acknowledged),
        "saved": sum(rows.values()),
        "lost": lost,
        "duplicated": duplicated,
        "statuses": {str(k): v for k, v in statuses.items()},
        "client_cpu": round(cpu / elapsed, 2) if elapsed else None,
    }


# Queries per request (test client, in this process) -------------------------------


def count_queries(
    paths: dict[str, str], unit_slug: str, cookie: str = "", *, post: bool = True
) -> dict[str, dict]:
    from django.core import signing
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from feedback.antiabuse import TOKEN_SALT, challenge_answer

    def measure(path: str, client) -> int:
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        return len(queries)  # now: the next request clears the query log

    counts: dict[str, dict] = {}
    client = Client()
    member = Client()
    for pair in cookie.split("; ") if cookie else ():
        name, value = pair.split("=", 1)
        member.cookies[name] = value
    # The servers' session engine (they have Redis; this process has its own
    # memory cache, which one process may share with itself).
    sessions = override_settings(SESSION_ENGINE="core.sessions")
    # The value cache as the servers run it (production settings: 60 s; the
    # default settings keep nothing). Before 2026-12-04 it was off here: a
    # hit counted the span of publications its page's key reads (3
    # queries) that a server reads from the value cache.
    values = override_settings(VALUE_CACHE_SECONDS=60)
    for name, path in paths.items():
        who = member if name.endswith("(member)") else client
        with sessions, values, override_settings(PAGE_CACHE_SECONDS=0):
            uncached = measure(path, who)
        with sessions, values, override_settings(PAGE_CACHE_SECONDS=60):
            cached = measure(path, who)
        counts[name] = {"uncached": uncached, "cached": cached}
    if not post:  # writes a submission: only when the POST is measured
        return counts
    nonce = secrets.token_hex(16)
    token = signing.dumps({"t": time.time() - 10, "n": nonce}, salt=TOKEN_SALT)
    data = {
        "token": token,
        "challenge": str(challenge_answer(nonce)),
        "kind": "question",
        "unit": unit_slug,
        "title": "压测查询计数",
        "text": f"压测查询计数 {secrets.token_hex(4)}",
        "consent_to_publish": "on",
    }
    with CaptureQueriesContext(connection) as queries:
        response = Client().post("/feedback/new/", data)
        posted = len(queries)
    assert response.status_code == 302, response.status_code
    counts["feedback POST"] = {"uncached": posted, "cached": posted}
    return counts


# Scale-out ---------------------------------------------------------------------------


def scale_out(database_url: str, logdir: Path, bound: int) -> dict:
    """Publish through instance A, read the cached board through instance B."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from core.roles import sync_role_groups
    from disclosure import procedure, roles
    from disclosure.models import Disclosure, Unit

    sync_role_groups()
    password = secrets.token_urlsafe(12)
    users = get_user_model().objects
    reviewer, _ = users.get_or_create(username="bench_reviewer", is_staff=True)
    reviewer.set_password(password)
    reviewer.save()
    reviewer.groups.add(Group.objects.get(name=roles.REVIEWER))
    village = Unit.objects.boards().order_by("id").first()
    template = Disclosure.objects.visible_to(None).filter(unit=village).first()
    title = f"扩展测试公开 {secrets.token_hex(3)}"
    draft = Disclosure.objects.create(
        unit=village,
        item=template.item,
        title=title,
        body="两台应用服务器共用一个数据库和一个 Redis。",
        period=template.period,
        status=Disclosure.Status.APPROVED,
    )
    # Publishing is the act of the body the procedure names for it.
    procedure.bodies_for(draft).publish.members.add(reviewer)
    ports = free_port(), free_port()
    a, b = (
        Server(
            f"scale-{n}",
            "fengming_portal.wsgi",
            server_env(database_url, port, cache_seconds=bound),
            port,
            logdir,
        )
        for n, port in enumerate(ports)
    )
    try:
        board = f"{b.base}/boards/{village.slug}/"
        before = [urllib.request.urlopen(board, timeout=30) for _ in range(2)][-1]
        cached_before = before.headers.get("X-Page-Cache") == "hit"
        assert title not in before.read().decode()
        publish_over_http(a.base, draft.pk, "bench_reviewer", password)
        published_at = time.monotonic()
        seen_after = None
        while time.monotonic() - published_at < bound + 5:
            if title in urllib.request.urlopen(board, timeout=30).read().decode():
                seen_after = time.monotonic() - published_at
                break
            time.sleep(0.5)
        draft.refresh_from_db()
        return {
            "board_was_cached": cached_before,
            "published": draft.status == Disclosure.Status.PUBLISHED,
            "seen_after_s": round(seen_after, 2) if seen_after is not None else None,
            "bound_s": bound,
            "published_on": str(timezone.localdate()),
            "ok": cached_before and seen_after is not None and seen_after <= bound,
        }
    finally:
        a.stop()
        b.stop()


def publish_over_http(base: str, pk: int, username: str, password: str) -> None:
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def csrf(html: str) -> str:
        return re.search(INPUT_RE.format("csrfmiddlewaretoken"), html).group(1)

    html = browser.open(base + "/admin/login/", timeout=30).read().decode()
    login = {"csrfmiddlewaretoken": csrf(html), "username": username}
    login["password"] = password
    body = urllib.parse.urlencode(login).encode()
    browser.open(base + "/admin/login/", data=body, timeout=30)
    url = f"{base}/admin/disclosure/disclosure/{pk}/transition/publish/"
    html = browser.open(url, timeout=30).read().decode()
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf(html)}).encode()
    browser.open(urllib.request.Request(url, data=body, headers={"Referer": url}))


# The run -----------------------------------------------------------------------------


def pages() -> tuple[dict[str, str], str]:
    from composition.views import home_unit
    from disclosure.models import Disclosure, Unit

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
        # Every town's units through the compliance engine in one request.
        "county": "/county/",
        "compliance": f"/compliance/?town={town.slug}",
        # A party member of the village's branch, logged in: the audience cache.
        "home (member)": "/",
        "board (member)": f"/boards/{village.slug}/",
    }, Unit.objects.filter(pk=village.pk).values_list("slug", flat=True)[0]


def member_cookie() -> str:
    """The cookies of a party member of the first village's branch, as a
    log-in leaves them: the session (the audience is worked out on the first
    page) and the CSRF cookie."""

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string

    from composition.views import home_unit
    from disclosure.models import PartyMembership

    village = home_unit().children.order_by("order", "id").first()
    user, _ = User.objects.get_or_create(username="bench_member")
    user.groups.add(Group.objects.get(name="党员"))
    branch = village.organisations.branches().first()
    if branch is not None:
        PartyMembership.objects.update_or_create(user=user, defaults={"branch": branch})
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "core.auth.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    # A browser that logged in also carries the CSRF cookie the log-in form set.
    csrf = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    return (
        f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
        f"{settings.CSRF_COOKIE_NAME}={csrf}"
    )


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }


def run(args) -> int:
    database_url = (
        args.database
        or os.environ.get("DATABASE_URL")
        or (f"sqlite:///{DATA_DIR / ('smoke' if args.smoke else 'scale')}.sqlite3")
    )
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    seed_args = (
        ["--towns", "2", "--units-per-town", "4", "--years", "2"]
        if args.smoke
        else ["--towns", str(args.towns), "--units-per-town", str(args.units),
              "--years", str(args.years)]
    )  # fmt: skip
    wrk_bin = ensure_wrk()
    if not args.no_prepare:
        prepare(database_url, seed_args)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    os.environ["SECRET_KEY"] = SECRET_KEY  # a member's session as the servers check it
    setup_django(database_url)
    from disclosure.models import Disclosure
    from feedback.models import Submission

    paths, unit_slug = pages()
    vendor = "postgresql" if database_url.startswith("postgres") else "sqlite"
    log(
        f"{vendor}: {Disclosure.objects.count()} disclosures, "
        f"{Submission.objects.count()} submissions"
    )
    cookie = member_cookie()
    posting = not args.pages or "feedback POST" in args.pages.split(",")
    queries = count_queries(paths, unit_slug, cookie, post=posting)

    logdir = Path(tempfile.mkdtemp(prefix="fengming-bench-"))
    ports = [free_port() for _ in range(3)]
    servers: dict[str, Server] = {}
    servers_to_start = {
        "hello": ("bench.hello_wsgi",
                  server_env(database_url, ports[0], cache_seconds=0), ports[0]),
        "uncached": ("fengming_portal.wsgi",
                     server_env(database_url, ports[1], cache_seconds=0), ports[1]),
        "cached": ("fengming_portal.wsgi",
                   server_env(database_url, ports[2], cache_seconds=600), ports[2]),
    }  # fmt: skip
    rows = []
    failed = False
    try:
        for name, (app, env, port) in servers_to_start.items():
            servers[name] = Server(name, app, env, port, logdir)
        seconds, conns = args.duration, args.connections

        workers = int(os.environ.get("BENCH_WORKERS", "2"))

        def load(
            server: Server, path: str, connections: int = conns, cookie: str = ""
        ) -> dict:
            url = server.base + path
            timing = {"connections": connections, "cookie": cookie}
            timing["encoding"] = "" if args.identity else ACCEPT_ENCODING
            wrk(wrk_bin, url, seconds=min(2, seconds), **timing)
            result = wrk(wrk_bin, url, seconds=seconds, **timing)
            server.drain()
            return result

        hello = load(servers["hello"], "/")
        log(f"hello world: {hello['rps']:.0f} requests/s")
        rows.append({"page": "hello world", "mode": "-", **hello, "queries": 0})
        for mode in args.modes.split(","):
            for name, path in paths.items():
                if args.pages and name not in args.pages.split(","):
                    continue
                member = cookie if name.endswith("(member)") else ""
                result = load(servers[mode], path, cookie=member)
                failed |= bool(result["non_2xx"])
                rows.append(
                    {"page": name, "mode": mode, "path": path, **result,
                     "queries": queries[name][mode]}
                )  # fmt: skip
                log(f"{mode} {name}: {result['rps']:.0f} requests/s")
                if name == "search" and mode == "uncached" and conns > workers:
                    # The same searches with one client a worker: the p99 of a
                    # search itself, without 8 clients queueing for 2 workers.
                    few = load(servers[mode], path, connections=workers)
                    rows.append(
                        {"page": f"search ({workers} clients)", "mode": mode,
                         "path": path, **few, "queries": queries[name][mode]}
                    )  # fmt: skip
            if args.pages and "feedback POST" not in args.pages.split(","):
                continue
            posted = post_feedback(
                servers[mode].base, unit_slug, count=args.posts, clients=conns
            )
            failed |= bool(posted["lost"] or posted["duplicated"])
            failed |= posted["acknowledged"] != posted["posted"]
            failed |= posted["posted"] != args.posts
            rows.append(
                {"page": "feedback POST", "mode": mode, **posted,
                 "p50_ms": None, "p99_ms": None,
                 "queries": queries["feedback POST"][mode]}
            )  # fmt: skip
            log(f"{mode} feedback POST: {posted}")
        # Hello world again at the end: the ratios are to the mean of both, so
        # a machine that slowed down (or sped up) during the run shows.
        hello_end = load(servers["hello"], "/")
        log(f"hello world at the end: {hello_end['rps']:.0f} requests/s")
        rows.append(
            {"page": "hello world (end)", "mode": "-", **hello_end, "queries": 0}
        )
        baseline = (hello["rps"] + hello_end["rps"]) / 2
    finally:
        for server in servers.values():
            server.stop()
    for row in rows:
        row["ratio"] = round(row["rps"] / baseline, 3) if baseline else None
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "database": vendor,
        "machine": machine(),
        "workers": int(os.environ.get("BENCH_WORKERS", "2")),
        "connections": args.connections,
        "duration_s": args.duration,
        "accept_encoding": "" if args.identity else ACCEPT_ENCODING,
        "search_term": SEARCH_TERM,
        "rows": rows,
    }
    if args.scale_out:
        result["scale_out"] = scale_out(database_url, logdir, bound=args.bound)
        failed |= not result["scale_out"]["ok"]
        log(f"scale-out: {result['scale_out']}")
    print_table(result)
    print("BENCH_JSON " + json.dumps(result, ensure_ascii=False))  # noqa: T201
    if failed:
        log(f"FAIL: server logs kept in {logdir}")
        return 1
    shutil.rmtree(logdir, ignore_errors=True)
    return 0


def print_table(result: dict) -> None:
    m = result["machine"]
    lines = [
        f"{result['database']} · {result['date']} · {m['nproc']} × {m['cpu']} · "
        f"{result['workers']} sync workers · {result['connections']} connections · "
        f"{result['duration_s']} s a page",
        "| page | mode | req/s | p50 ms | p99 ms | × hello | SQL/req |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:

        def ms(value):
            return f"{value:.1f}" if value is not None else "–"

        ratio = f"{row['ratio']:.2f}" if row.get("ratio") is not None else "–"
        lines.append(
            f"| {row['page']} | {row['mode']} | {row['rps']:.0f} | {ms(row['p50_ms'])} "
            f"| {ms(row['p99_ms'])} | {ratio} | {row['queries']} |"
        )
    print("\n".join(lines))  # noqa: T201


def main() -> None:
    # Stopped from outside (a time limit): still stop the servers (finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a DATABASE_URL (default: env, or SQLite)")
    parser.add_argument("--towns", type=int, default=30)
    parser.add_argument("--units", type=int, default=16, help="units per town")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--duration", type=float, default=10, help="seconds a page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--posts", type=int, default=600, help="feedback POSTs")
    parser.add_argument("--smoke", action="store_true", help="small data, 1 s a page")
    parser.add_argument("--scale-out", action="store_true")
    parser.add_argument(
        "--pages", default="", help='only these pages, e.g. "home,board,feedback POST"'
    )
    parser.add_argument("--modes", default="uncached,cached", help="uncached,cached")
    parser.add_argument("--bound", type=int, default=60, help="page cache seconds")
    parser.add_argument(
        "--identity",
        action="store_true",
        help="send no Accept-Encoding (text uncompressed; figures before 2026-12-03)",
    )
    parser.add_argument(
        "--no-prepare",
        action="store_true",
        help="skip migrate, seed_scale and collectstatic (a database in use)",
    )
    args = parser.parse_args()
    if args.smoke:
        # A check that every page answers and no post is lost, not a figure:
        # 1 s a page after a 1 s warm-up.
        args.duration, args.posts = min(args.duration, 1), min(args.posts, 100)
    sys.exit(run(args))


if __name__ == "__main__":
    main()
