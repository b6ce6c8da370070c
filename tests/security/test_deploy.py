"""The files in deploy/ agree with the settings and with each other."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.deployed import SERVER

BASE_DIR = Path(__file__).resolve().parents[2]
DEPLOY = BASE_DIR / "deploy"


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line)]
    return dict(pairs)


def test_env_example_passes_the_deploy_checks(collected_static):
    env = {
        **os.environ,
        **env_example(),
        **SERVER,
        "STATIC_ROOT": str(collected_static),
    }
    env.pop("DEBUG", None)
    # The example's database and cache need not exist for the checks.
    env["DATABASE_URL"] = "sqlite:///:memory:"
    env["SECRET_KEY"] = "k7#Hq2!vZ9pLm4$Rt8wXy6@Nb3^Jc5&Df1*Gh0(Ks2)Ua9-Ve4+Wi7=Oz"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_the_deployed_environment_keeps_sessions_in_redis():
    """What a member's cached page without SQL needs (core/sessions.py): the
    example's REDIS_URL gives the Redis backend and the cached session engine;
    without a shared cache, sessions stay in the database."""
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_ENGINE, s.CACHES['default']['BACKEND'])"
    )
    env = {**os.environ, **env_example(), **SERVER}
    env.pop("DEBUG", None)
    env["DATABASE_URL"] = "sqlite:///:memory:"
    env["SECRET_KEY"] = "k7#Hq2!vZ9pLm4$Rt8wXy6@Nb3^Jc5&Df1*Gh0(Ks2)Ua9-Ve4+Wi7=Oz"
    for redis_url, expected in [
        (env["REDIS_URL"], "core.sessions core.redis_cache.RedisCache"),
        (
            "",
            "core.db_sessions django.core.cache.backends.locmem.LocMemCache",
        ),
    ]:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=BASE_DIR,
            env={**env, "REDIS_URL": redis_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        last = result.stdout.strip().splitlines()[-1]  # after shell's own notes
        assert last == expected, result.stderr


def test_the_deployed_site_address_is_the_allowed_host_not_the_dev_server():
    """Mails' links and warm_pages' host (PORTAL_BASE_URL): with the example's
    variables, https and the site's host; as set, when it is set; plain http
    on an intranet without TLS."""
    code = "from django.conf import settings as s; print(s.PORTAL_BASE_URL)"
    env = {**os.environ, **env_example(), **SERVER}
    for name in ("DEBUG", "PORTAL_BASE_URL"):
        env.pop(name, None)
    env["DATABASE_URL"] = "sqlite:///:memory:"
    env["SECRET_KEY"] = "k7#Hq2!vZ9pLm4$Rt8wXy6@Nb3^Jc5&Df1*Gh0(Ks2)Ua9-Ve4+Wi7=Oz"
    for extra, expected in [
        ({}, f"https://{env['ALLOWED_HOSTS'].split(',')[0]}"),
        (
            {"PORTAL_BASE_URL": "https://gk.fengming.gov.cn"},
            "https://gk.fengming.gov.cn",
        ),
        (
            {"DJANGO_HTTPS": "off", "ALLOWED_HOSTS": ".example.org,10.0.0.5"},
            "http://10.0.0.5",
        ),
    ]:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=BASE_DIR,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


def test_nginx_internal_location_matches_the_accel_prefix():
    prefix = env_example()["ATTACHMENT_X_ACCEL_PREFIX"]
    nginx = (DEPLOY / "nginx-fengming.conf").read_text()
    block = re.search(re.escape(f"location {prefix} {{") + r"(.*?)\}", nginx, re.S)
    assert block and "internal;" in block.group(1)
    media = env_example()["MEDIA_ROOT"].rstrip("/") + "/"
    assert f"alias {media};" in block.group(1)


def test_nginx_sends_the_header_the_settings_read():
    assert env_example()["CLIENT_IP_HEADER"] == "HTTP_X_REAL_IP"
    nginx = (DEPLOY / "nginx-fengming.conf").read_text()
    assert "proxy_set_header X-Real-IP $remote_addr;" in nginx


def test_nginx_compresses_text_in_the_portals_server_block():
    nginx = (DEPLOY / "nginx-fengming.conf").read_text()
    server = nginx.split("listen 443 ssl;", 1)[1]
    for line in ["gzip on;", "gzip_vary on;", "gzip_proxied any;"]:
        assert f"\n    {line}" in server, line
    types = re.search(r"^\s*gzip_types([^;]*);", server, re.M).group(1).split()
    assert {"application/atom+xml", "text/csv", "application/json"} <= set(types)


def test_gunicorn_config_is_valid():
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run(
        [str(gunicorn), "-c", "deploy/gunicorn.conf.py", "--check-config",
         "fengming_portal.wsgi"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_cron_runs_commands_that_exist():
    from django.core.management import get_commands

    cron = (DEPLOY / "fengming.cron").read_text()
    used = set(re.findall(r"\$RUN (\w+)", cron))
    assert {"backup", "send_reminders", "send_digests"} <= used
    missing = used - set(get_commands())
    assert not missing, f"cron names commands that do not exist: {missing}"
