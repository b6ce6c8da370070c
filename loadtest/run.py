"""Load and fault test of the 回音壁 on PostgreSQL behind gunicorn.

    .venv/bin/python loadtest/run.py          # 2,000 submissions, 50 clients
    .venv/bin/python loadtest/run.py --fault  # + kill a worker, restart PostgreSQL
    make loadtest                             # both, as CI runs them

Everything runs on this machine and talks over 127.0.0.1 only: a private
PostgreSQL cluster started for the run (initdb in a temporary folder, a free
port; so that restarting it disturbs no other database), gunicorn with
deploy/gunicorn.conf.py and production settings (DJANGO_ENV=production,
DJANGO_HTTPS=off), Redis database 15 for the shared rate limit. Every loop is
bounded in count and in time.

Clients are threads with their own cookies. Each fetches its forms first, waits
out the form's real 3-second minimum, solves the Chinese arithmetic challenge
and posts; the rate limit is set to exactly its share, so one extra post per
client must be refused with 429. Meanwhile a staff thread answers submissions
and takes disclosures through submit → approve → publish via the services.

Afterwards: every acknowledged submission (302 to the thanks page) is in the
database exactly once, tracking codes are unique, and every answer was 2xx,
302 or the intended 429. The fault run instead allows errors while the
database is down, requires /healthz to have reported 503, and requires that
nothing acknowledged is missing. Exit status 0 only if all checks hold.
"""

import argparse
import glob
import http.client
import http.cookiejar
import os
import re
import secrets
import shutil
import signal
import socket
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
PYTHON = sys.executable
NUMERALS = "零一二三四五六七八九"
CHALLENGE_RE = re.compile(
    r"验证：([零一二三四五六七八九])加([零一二三四五六七八九])等于几"
)
INPUT_RE = r'name="{}"[^>]*?value="([^"]*)"'
CODE_RE = re.compile(r'class="tracking-code">([0-9A-Z]{8})<')
REQUEST_TIMEOUT = 30
RETRIES = 8
T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[loadtest {time.monotonic() - T0:6.1f}s] {message}", flush=True)  # noqa: T201


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A private PostgreSQL cluster -------------------------------------------------


class Cluster:
    """initdb + pg_ctl in a temporary folder, as the postgres user when root."""

    def __init__(self, root: Path):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise SystemExit("initdb not found (install PostgreSQL server binaries)")
        self.bin = Path(bins[-1]).parent
        self.dir = root / "pgdata"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.dir), "-A", "trust",
            "-U", "postgres", "-E", "UTF8", "--no-instructions",
        )  # fmt: skip
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.dir} -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.dir), "-o", options,
            "-l", str(self.dir / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self, check: bool = True) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop",
            check=check,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/fengming_load"


# HTTP clients ------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.acknowledged: dict[str, str | None] = {}  # text -> tracking code
        self.refused_429 = 0
        self.retried_saved = 0  # a retry found its first post saved
        self.acknowledged_at: list[float] = []
        self.database_back_at: float | None = None
        self.requests = 0

    def count(self, status: int | None, error: str | None = None) -> None:
        with self.lock:
            self.requests += 1
            if status is not None:
                self.statuses[status] += 1
            if error:
                self.errors[error] += 1


class Client(threading.Thread):
    def __init__(self, n: int, base: str, unit: str, posts: int, results: Results,
                 deadline: float, run_id: str):  # fmt: skip
        super().__init__(name=f"client-{n}", daemon=True)
        self.n, self.base, self.unit, self.posts = n, base, unit, posts
        self.results, self.deadline, self.run_id = results, deadline, run_id
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), NoRedirect
        )
        # The address the rate limit counts (CLIENT_IP_HEADER): one per
        # client, all in the loopback range like the traffic itself.
        self.address = f"127.0.1.{n + 1}"

    def request(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body)
        req.add_header("X-Real-IP", self.address)
        try:
            try:
                with self.opener.open(req, timeout=REQUEST_TIMEOUT) as response:
                    status, text, location = response.status, response.read(), None
            except urllib.error.HTTPError as exc:
                status, text = exc.code, exc.read()
                location = exc.headers.get("Location")
        except (OSError, http.client.HTTPException) as exc:
            # Refused, reset, or cut short (IncompleteRead) by a killed worker.
            self.results.count(None, type(exc).__name__)
            return None, "", None
        self.results.count(status)
        return status, text.decode("utf-8", "replace"), location

    def fetch_form(self) -> dict | None:
        status, html, _ = self.request("/feedback/new/")
        if status != 200:
            return None
        match = CHALLENGE_RE.search(html)
        csrf = re.search(INPUT_RE.format("csrfmiddlewaretoken"), html)
        token = re.search(INPUT_RE.format("token"), html)
        if not (match and csrf and token):
            self.results.count(None, "unparsable form")
            return None
        a, b = (NUMERALS.index(c) for c in match.groups())
        return {
            "csrfmiddlewaretoken": csrf.group(1),
            "token": token.group(1),
            "challenge": str(a + b),
            "fetched": time.monotonic(),
        }

    def run(self) -> None:
        try:
            self.submit_all()
        except Exception as exc:
            self.results.count(None, f"client crashed: {exc!r}")
            raise

    def submit_all(self) -> None:
        forms = []
        for _ in range(self.posts + 1):  # one more than the rate limit allows
            if time.monotonic() > self.deadline:
                return
            form = self.fetch_form()
            if form:
                forms.append(form)
        for i, form in enumerate(forms):
            wait = form["fetched"] + 3.2 - time.monotonic()  # the form's real minimum
            if wait > 0:
                time.sleep(wait)
            if time.monotonic() > self.deadline:
                return
            text = (
                f"负载测试 {self.run_id} 客户{self.n:03d} 第{i:03d}条：送水车几点到？"
            )
            data = {
                "csrfmiddlewaretoken": form["csrfmiddlewaretoken"],
                "token": form["token"],
                "challenge": form["challenge"],
                "kind": "question",
                "unit": self.unit,
                "title": f"负载测试 {self.n}-{i}",
                "text": text,
                "name": "",
                "phone": "",
                "website": "",
                "consent_to_publish": "on",
            }
            # Like a person whose page failed: press submit again (same form,
            # same one-time token) a few times, a second apart. A 400 counts as
            # a failure too (the thanks page's code travels in a signed cookie,
            # so no session is saved after the submission; a 400 here would be
            # a form the server refused); the normal run never sees a 400.
            for _attempt in range(RETRIES):
                status, _html, location = self.request("/feedback/new/", data)
                if status is not None and status < 500 and status != 400:
                    break
                time.sleep(1)
            if status == 302 and location and location.endswith("/feedback/thanks/"):
                code = None
                status, html, _ = self.request("/feedback/thanks/")
                if status == 200 and (found := CODE_RE.search(html)):
                    code = found.group(1)
                self.acknowledge(text, code)
            elif status == 302 and location and "/feedback/track/" in location:
                # A retry of a post that had been saved: its tracking page.
                self.acknowledge(text, location.rstrip("/").rsplit("/", 1)[1])
                with self.results.lock:
                    self.results.retried_saved += 1
            elif status == 429:
                with self.results.lock:
                    self.results.refused_429 += 1

    def acknowledge(self, text: str, code: str | None) -> None:
        with self.results.lock:
            self.results.acknowledged[text] = code
            self.results.acknowledged_at.append(time.monotonic())


# Staff side (ORM, in this process) --------------------------------------------


def staff_loop(stop: threading.Event, counts: Counter, deadline: float) -> None:
    from django.db import close_old_connections

    from disclosure import services as disclosure_services
    from disclosure.models import Disclosure
    from feedback import services as feedback_services
    from feedback.models import Status, Submission
    from tests.factories import DepartmentFactory, DisclosureFactory

    def objects():
        from django.contrib.auth import get_user_model

        users = get_user_model().objects
        return (
            users.get(username="load_editor"),
            users.get(username="load_reviewer"),
            users.get(username="load_approver"),
        )

    n = 0
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            close_old_connections()
            editor, reviewer, approver = objects()
            department = DepartmentFactory(name="综治办")
            for submission in Submission.objects.filter(status=Status.RECEIVED)[:10]:
                feedback_services.answer(
                    submission,
                    by=reviewer,
                    department=department,
                    text="已收到，已答复。",
                )
                counts["answered"] += 1
            draft = DisclosureFactory(
                unit=Disclosure.objects.first().unit,
                item=Disclosure.objects.first().item,
                status=Disclosure.Status.DRAFT,
                published_at=None,
                title=f"负载测试公开 {n}",
            )
            disclosure_services.submit(draft, by=editor)
            disclosure_services.review(
                draft,
                by=reviewer,
                secrecy_checked=True,
                secrecy_conclusion="不涉密，同意公开。",
            )
            disclosure_services.approve(draft, by=approver)
            disclosure_services.publish(draft, by=approver)
            counts["published"] += 1
            n += 1
        except Exception as exc:  # the database may be down in the fault run
            counts[f"error {type(exc).__name__}"] += 1
            from django.db import connection

            connection.close()
        time.sleep(0.2)


# The run -------------------------------------------------------------------------


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengming_portal.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def seed() -> str:
    """A town, a village, a catalog item, an editor and a reviewer."""
    from disclosure import roles
    from tests.factories import (
        DisclosureFactory,
        ItemFactory,
        TownFactory,
        UnitFactory,
        acting_for,
        staff_user,
    )

    town = TownFactory()
    village = UnitFactory(name="文理村", parent=town)
    first = DisclosureFactory(
        unit=village, item=ItemFactory(), title="负载测试起始公开"
    )
    staff_user(username="load_editor", group=roles.TOWN_ADMIN, units=[village])
    reviewer = staff_user(username="load_reviewer", group=roles.REVIEWER)
    approver = staff_user(username="load_approver", group=roles.REVIEWER)
    acting_for(reviewer, first, "review")
    acting_for(approver, first, "approve")
    return village.slug


def worker_pids(master: int) -> list[int]:
    pids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(Path(stat).parent.name))
    return pids


def run(args) -> bool:
    tmp = Path(tempfile.mkdtemp(prefix="fengming-load-"))
    cluster = Cluster(tmp)
    server = None
    try:
        log(f"PostgreSQL: private cluster on 127.0.0.1:{cluster.port} ({cluster.bin})")
        cluster.init()
        cluster._run(
            str(cluster.bin / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port),
            "-U", "postgres", "fengming_load",
        )  # fmt: skip
        port = free_port()
        share = args.submissions // args.clients
        redis_url = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        env = {
            **os.environ,
            "DJANGO_ENV": "production",
            "DJANGO_HTTPS": "off",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": cluster.url,
            "CONN_MAX_AGE": "600",
            "REDIS_URL": redis_url,
            "FEEDBACK_RATE_LIMIT": str(share),
            "CLIENT_IP_HEADER": "HTTP_X_REAL_IP",
            "MEDIA_ROOT": str(tmp / "media"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(args.workers),
            "GUNICORN_ACCESS_LOG": str(tmp / "access.log"),
            "LOG_LEVEL": "WARNING",
        }
        env.pop("DEBUG", None)
        manage = [PYTHON, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        setup_django(cluster.url)
        unit = seed()

        server_log = open(tmp / "gunicorn.log", "w")
        server = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
             "fengming_portal.wsgi"],
            cwd=BASE_DIR, env=env, stdout=server_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start: see " + str(tmp / "gunicorn.log"))
        log(f"gunicorn: {args.workers} workers on {base}")

        results = Results()
        deadline = time.monotonic() + args.time_limit
        run_id = secrets.token_hex(3)
        clients = [
            Client(n, base, unit, share, results, deadline, run_id)
            for n in range(args.clients)
        ]
        stop = threading.Event()
        staff_counts: Counter = Counter()
        staff = threading.Thread(
            target=staff_loop, args=(stop, staff_counts, deadline), daemon=True
        )
        health: Counter = Counter()
        started = time.monotonic()
        for client in clients:
            client.start()
        staff.start()
        if args.fault:
            fault(server.pid, cluster, base, health, results, args.submissions // 5)
        for client in clients:
            client.join(max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT)
        stop.set()
        staff.join(60)
        elapsed = time.monotonic() - started
        return verify(args, results, staff_counts, health, elapsed, share, run_id)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may never have been set up
            pass
        cluster.stop(check=False)
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def fault(master, cluster, base, health: Counter, results: Results, after: int):
    """Once `after` submissions are in: kill -9 a worker, then stop PostgreSQL 3 s."""
    watching = threading.Event()

    def watch():
        while not watching.is_set():
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                    health[r.status] += 1
            except urllib.error.HTTPError as exc:
                health[exc.code] += 1
            except OSError:
                health["no answer"] += 1
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for _ in range(1200):  # at most 2 minutes
        if len(results.acknowledged) >= after:
            break
        time.sleep(0.1)
    victims = worker_pids(master)
    if victims:
        os.kill(victims[0], signal.SIGKILL)
        log(f"fault: killed gunicorn worker {victims[0]} (of {len(victims)})")
    time.sleep(2)
    log("fault: stopping PostgreSQL")
    cluster.stop()
    time.sleep(3)
    outage = health[503]
    cluster.start()
    results.database_back_at = time.monotonic()
    log(f"fault: PostgreSQL back after 3 s; /healthz said 503 {outage} times meanwhile")
    time.sleep(5)
    watching.set()
    watcher.join(10)


def verify(args, results, staff_counts, health, elapsed, share, run_id) -> bool:
    from django.db import connection

    from feedback.models import Submission

    connection.close()  # opened before a fault run restarted the server

    rows = list(
        Submission.objects.filter(text__contains=f"负载测试 {run_id} ").values_list(
            "text", "tracking_code"
        )
    )
    texts = Counter(text for text, _code in rows)
    codes = dict(rows)
    acknowledged = results.acknowledged
    missing = [t for t in acknowledged if t not in texts]
    duplicated = [t for t, n in texts.items() if n > 1]
    wrong_code = [
        t for t, code in acknowledged.items() if code and codes.get(t) not in (code,)
    ]
    unique_codes = len({code for _text, code in rows}) == len(rows)
    unexpected = {s: n for s, n in results.statuses.items() if s not in (200, 302, 429)}
    log(
        f"{results.requests} requests in {elapsed:.1f} s "
        f"({results.requests / elapsed:.0f} requests/s); "
        f"{len(acknowledged)} submissions acknowledged "
        f"({len(acknowledged) / elapsed:.1f}/s), {results.refused_429} refused with 429"
    )
    statuses = dict(sorted(results.statuses.items()))
    log(f"statuses {statuses}; errors {dict(results.errors)}")
    log(f"staff side: {dict(staff_counts)}")
    log(
        f"database: {len(rows)} rows of this run; missing {len(missing)}, "
        f"duplicated {len(duplicated)}, wrong code {len(wrong_code)}, "
        f"codes unique {unique_codes}"
    )
    ok = not missing and not duplicated and not wrong_code and unique_codes
    if args.fault:
        log(f"/healthz during the run: {dict(health)}")
        ok = ok and health[503] > 0
        saved_unacknowledged = len(rows) - len(acknowledged)
        log(
            f"saved but not acknowledged (lost answers): {saved_unacknowledged}; "
            f"retries that found their first post saved: {results.retried_saved}"
        )
        # The portal serves again after the outage, and with retries every
        # form got in (a saved-but-unacknowledged one is reported, not lost).
        back = results.database_back_at or float("inf")
        after = sum(1 for t in results.acknowledged_at if t > back)
        log(f"acknowledged after PostgreSQL came back: {after}")
        ok = ok and after > 0 and len(rows) >= share * args.clients
    else:
        expected = share * args.clients
        ok = (
            ok
            and not unexpected
            and not results.errors
            and len(acknowledged) == expected
            and results.refused_429 == args.clients
            and len(rows) == expected
            and staff_counts["published"] > 0
            and not any(k.startswith("error") for k in staff_counts)
        )
    log("PASS" if ok else "FAIL")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=300, help="seconds")
    parser.add_argument("--fault", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.submissions % args.clients:
        parser.error("--submissions must be a multiple of --clients")
    sys.exit(0 if run(args) else 1)


if __name__ == "__main__":
    main()
