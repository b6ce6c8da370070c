"""A newcomer runs the portal the documented ways and gets working pages."""

import os
import subprocess
import sys
from pathlib import Path

from tests.deployed import SERVER

BASE_DIR = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter, so that the settings module reads the
# environment given (no DEBUG, no DJANGO_ENV) as `manage.py runserver` does.
FETCH_PAGES = """
import re
import django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
client = Client(raise_request_exception=False)
home = client.get("/")
css = re.search(r'href="(/static/[^"]+\\.css)"', home.content.decode())
css_status = client.get(css.group(1)).status_code if css else None
print(home.status_code, css_status, client.get("/search/").status_code)
"""


def test_runserver_without_debug_or_collectstatic_serves_pages(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_ENV"}}
    env.update(
        **SERVER,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "never-collected"),
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    result = subprocess.run(
        [sys.executable, "-c", FETCH_PAGES],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["200", "200", "200"], result.stderr


def test_make_run_takes_a_port():
    def run_command(*args: str) -> str:
        dry_run = subprocess.run(
            ["make", "-n", "run", *args],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert dry_run.returncode == 0, dry_run.stderr
        return next(line for line in dry_run.stdout.splitlines() if "runserver" in line)

    assert "runserver 127.0.0.1:8000" in run_command()
    assert "runserver 127.0.0.1:8001" in run_command("PORT=8001")
