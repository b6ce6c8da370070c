"""The settings a production server runs with: exactly the variables that
deploy/env.example ships, read by the settings module in a fresh process.

Tests apply them over the test settings (`apply_deployed_settings`) but for
the few that point at machines or files (database, cache, storage, secret), so
that a feature is checked as deployed: behind nginx's headers, over HTTPS,
with the production host name.
"""

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
ENV_EXAMPLE = BASE_DIR / "deploy" / "env.example"
# Where the machine is, not how the portal behaves: the test's own stay.
KEEP = {
    "DATABASES",
    "CACHES",
    "STORAGES",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "BACKUP_DIR",
    "SECRET_KEY",
    "LOGGING",
    "PASSWORD_HASHERS",
    "REDIS_URL",
}
# What a server or `manage.py` runs with (the suite runs with ".test"):
# subprocesses that stand for a server name it.
SERVER = {"DJANGO_SETTINGS_MODULE": "fengming_portal.settings"}
# nginx, as deploy/nginx-fengming.conf configures it, in front of gunicorn.
HOST = "gongkai.fengming.example"


def env_example() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line)]
    return dict(pairs)


@cache
def deployed_settings() -> dict:
    """Every upper-case setting that is plain data, as production computes it."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_ENV"}}
    env.update(env_example())
    env["SECRET_KEY"] = "deployed-settings-" + "x" * 40
    script = (
        "import json, django; django.setup();"
        "from django.conf import settings as s;"
        "out = {};\n"
        "for k in dir(s):\n"
        "    if k.isupper():\n"
        "        try: out[k] = json.loads(json.dumps(getattr(s, k)))\n"
        "        except TypeError: pass\n"
        "print(json.dumps(out))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={**env, **SERVER},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def apply_deployed_settings(settings) -> dict:
    """Override pytest-django's `settings` with production's; returns the
    request headers nginx adds (host, HTTPS)."""
    for name, value in deployed_settings().items():
        if name == "SECURE_PROXY_SSL_HEADER" and value:
            value = tuple(value)
        if name not in KEEP and getattr(settings, name, None) != value:
            setattr(settings, name, value)
    return {"HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https"}


def behind_nginx(client_address: str) -> dict:
    """The headers of a request that came through nginx from this address
    (gunicorn sees nginx's loopback address; nginx sets X-Real-IP)."""
    return {
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_REAL_IP": client_address,
        "HTTP_X_FORWARDED_FOR": client_address,
    }
