"""What one cache hit costs in process: a visitor's and a party member's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fengming_scale \\
        .venv/bin/python bench/hits.py [--hits 3000] [--runs 3] [--profile]

Production settings (DJANGO_ENV=production, DJANGO_HTTPS=off, Redis database
9 or BENCH_REDIS_URL as the cache, as bench/run.py's servers), the WSGI
handler called directly with a gunicorn-like environ (no test client, no
socket): what a worker does for a hit but reading and writing the socket.
The member is bench/run.py's (a party member of the first village's branch,
with a session and a CSRF cookie). Each page is made once (a miss), then
`--hits` hits are timed; prints the median and p99 per hit in µs for each
page and reader, `--runs` times. `--profile`: cProfile of the member's board
hits, the top functions by own time. Needs `collectstatic` to have run
(bench/run.py does).
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from run import ACCEPT_ENCODING, REDIS_URL, SECRET_KEY, member_cookie, pages  # noqa: E402


def environ(path: str, cookie: str) -> dict:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path.partition("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "text/html",
        "HTTP_X_REAL_IP": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if cookie:
        env["HTTP_COOKIE"] = cookie
    if ACCEPT_ENCODING:
        env["HTTP_ACCEPT_ENCODING"] = ACCEPT_ENCODING
    return env


def phases(hit, reader, hits: int) -> None:
    """Where a member's hit spends its time, median and p99: the session's
    read from Redis (one MGET with the memberships' version) and the rest."""
    from core import sessions

    read = sessions.SessionStore.load
    spent = []

    def timed(self):
        start = time.perf_counter()
        try:
            return read(self)
        finally:
            spent.append((time.perf_counter() - start) * 1e6)

    sessions.SessionStore.load = timed
    whole = []
    try:
        for _ in range(hits):
            start = time.perf_counter()
            hit(*reader)
            whole.append((time.perf_counter() - start) * 1e6)
    finally:
        sessions.SessionStore.load = read
    rest = sorted(w - r for w, r in zip(whole, spent, strict=True))
    for name, samples in (("whole", sorted(whole)), ("session", sorted(spent)),
                          ("rest", rest)):  # fmt: skip
        p99 = samples[int(len(samples) * 0.99)]
        print(f"board (member) {name}: {statistics.median(samples):.0f} / {p99:.0f} µs")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hits", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="a member's hits again: the session's read (Redis) apart from the rest",
    )
    parser.add_argument(
        "--identity",
        action="store_true",
        help="no Accept-Encoding (wrk's default); else gzip, as browsers",
    )
    args = parser.parse_args()
    global ACCEPT_ENCODING
    if args.identity:
        ACCEPT_ENCODING = ""
    os.environ.update(
        DJANGO_ENV="production",
        DJANGO_HTTPS="off",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", REDIS_URL.rsplit("/", 1)[0] + "/9"),
        LOG_LEVEL="WARNING",
        CLIENT_IP_HEADER="HTTP_X_REAL_IP",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengming_portal.settings")
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    from core.runtime import tune_gc

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    handler = WSGIHandler()
    paths, _slug = pages()
    cookie = member_cookie()
    readers = {
        "home": ("/", ""),
        "board": (paths["board"], ""),
        "home (member)": ("/", cookie),
        "board (member)": (paths["board"], cookie),
    }
    statuses = {}

    def start_response(status, headers, exc_info=None):
        statuses["last"] = (status, dict(headers))

    def hit(path, cookie):
        body = handler(environ(path, cookie), start_response)
        for _chunk in body:
            pass
        body.close()

    for name, (path, cookie_) in readers.items():
        hit(path, cookie_)  # the miss (and a member's audience worked out)
        hit(path, cookie_)
        status, headers = statuses["last"]
        if headers.get("X-Page-Cache") != "hit":
            raise SystemExit(f"{name}: not a hit ({status}, {headers})")
    tune_gc()  # as fengming_portal/wsgi.py does for a worker
    print(  # noqa: T201
        f"{settings.CACHES['default']['BACKEND']} "
        f"load {os.getloadavg()[0]:.2f}; Accept-Encoding: {ACCEPT_ENCODING or '-'}; "
        f"µs a hit, median / p99 of {args.hits}"
    )
    for run in range(args.runs):
        line = []
        for name, (path, cookie_) in readers.items():
            samples = []
            for _ in range(args.hits):
                start = time.perf_counter()
                hit(path, cookie_)
                samples.append((time.perf_counter() - start) * 1e6)
            samples.sort()
            p99 = samples[int(len(samples) * 0.99)]
            line.append(f"{name} {statistics.median(samples):.0f} / {p99:.0f}")
        print(f"run {run + 1}: " + "; ".join(line))  # noqa: T201
    if args.phases:
        phases(hit, readers["board (member)"], args.hits)
    if args.profile:
        path, cookie_ = readers["board (member)"]
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.hits):
            hit(path, cookie_)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(120)
        print(out.getvalue())  # noqa: T201


if __name__ == "__main__":
    main()
