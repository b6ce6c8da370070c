"""Deploy-grade settings: check --deploy, required variables, headers, CSP."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.deployed import SERVER
from tests.factories import SuperuserFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k7#Hq2!vZ9pLm4$Rt8wXy6@Nb3^Jc5&Df1*Gh0(Ks2)Ua9-Ve4+Wi7=Oz",
    "ALLOWED_HOSTS": "gongkai.fengming.example",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    clean.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **SERVER, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    return manage("check", "--deploy", "--fail-level", "WARNING", **env)


def test_check_deploy_is_clean_in_production(collected_static):
    result = check_deploy(**PRODUCTION_ENV, STATIC_ROOT=str(collected_static))
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_on_an_intranet_without_tls(collected_static):
    env = {**PRODUCTION_ENV, "DJANGO_HTTPS": "off"}
    result = check_deploy(**env, STATIC_ROOT=str(collected_static))
    assert result.returncode == 0, result.stderr + result.stdout


def test_check_deploy_fails_when_static_files_were_never_collected(tmp_path):
    result = check_deploy(**PRODUCTION_ENV, STATIC_ROOT=str(tmp_path))
    assert result.returncode != 0
    assert "fengming.E001" in result.stderr
    assert "collectstatic" in result.stderr


def test_check_deploy_fails_when_a_static_file_is_newer_than_collectstatic(
    collected_static, tmp_path
):
    stale = tmp_path / "static"
    shutil.copytree(collected_static, stale)
    manifest = json.loads((stale / "staticfiles.json").read_text())
    del manifest["paths"]["css/portal.css"]
    (stale / "staticfiles.json").write_text(json.dumps(manifest))
    result = check_deploy(**PRODUCTION_ENV, STATIC_ROOT=str(stale))
    assert result.returncode != 0
    assert "fengming.E002" in result.stderr
    assert "css/portal.css" in result.stderr


STORAGE = "from django.conf import settings as s;print(s.STORAGES['staticfiles'])"
SECURITY_EVENT = (
    "from core.security import security_event;"
    "security_event('probe', None, username='甲')"
)


@pytest.fixture(scope="module")
def production_shell() -> subprocess.CompletedProcess:
    """One production process for two tests (a process takes a second): it
    prints the static files storage, then logs a security event."""
    return manage(
        "shell", "-v", "0", "-c", f"{STORAGE};{SECURITY_EVENT}", **PRODUCTION_ENV
    )


def test_production_keeps_hashed_static_names_and_development_needs_none(
    production_shell,
):
    assert "CompressedManifestStaticFilesStorage" in production_shell.stdout
    development = manage("shell", "-v", "0", "-c", STORAGE)
    assert "django.contrib.staticfiles.storage.StaticFilesStorage" in (
        development.stdout
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", **env)
    assert result.returncode != 0
    assert f"DJANGO_ENV=production needs {missing}" in result.stderr


def test_production_settings_values():
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.CSRF_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE,"
        " s.X_FRAME_OPTIONS, s.LOG_FORMAT)"
    )
    result = manage("shell", "-v", "0", "-c", code, DEBUG="1", **PRODUCTION_ENV)
    assert result.stdout.split() == [
        "False", "True", "31536000", "True", "True", "True", "True", "Lax", "Lax",
        "DENY", "json",
    ]  # fmt: skip


def test_production_logs_security_events_as_json_on_stdout(production_shell):
    line = json.loads(production_shell.stdout.strip().splitlines()[-1])
    assert line["event"] == "probe" and line["username"] == "甲"
    assert line["logger"] == "fengming.security" and line["level"] == "WARNING"


def test_security_headers_on_every_page(client, town):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)


def assert_nothing_inline(html: str, url: str) -> None:
    # JSON data blocks (type="application/json") never run, CSP allows them.
    scripts = [
        s for s in INLINE_SCRIPT.findall(html) if "application/json" not in s.lower()
    ]
    assert not scripts, f"inline script on {url}: {scripts[:2]}"
    assert not INLINE_STYLE.findall(html), f"inline style or handler on {url}"


PUBLIC_PAGES = [
    "/",
    "/catalog/",
    "/boards/",
    "/disclosures/",
    "/feedback/",
    "/feedback/new/",
    "/feedback/track/",
    "/accounts/login/",
]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_need_no_inline_script_or_style(client, town, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_nothing_inline(response.text, url)


def test_board_and_detail_pages_need_nothing_inline(client, town):
    for url in (f"/boards/{town.wenli.slug}/", f"/disclosures/{town.public.pk}/"):
        assert_nothing_inline(client.get(url).text, url)


OTHER_PAGES = [
    ("disclosure:board_print", True),
    ("disclosure:compliance", False),
    ("disclosure:compliance_unit", True),
    ("portal:search", False),
    ("portal:stats", False),
    ("portal:follow", False),
]


@pytest.mark.parametrize(("name", "needs_slug"), OTHER_PAGES)
def test_later_pages_need_nothing_inline_either(client, town, name, needs_slug):
    url = reverse(name, args=[town.wenli.slug] if needs_slug else [])
    response = client.get(url)
    assert response.status_code == 200, url
    assert_nothing_inline(response.text, url)


ADMIN_PAGES = [
    "/admin/",
    "/admin/disclosure/disclosure/",
    "/admin/disclosure/disclosure/add/",
    "/admin/feedback/submission/",
    "/admin/auth/user/",
    "/admin/auth/user/add/",
    "/admin/catalog/item/",
    "/admin/axes/accessattempt/",
]


def test_admin_works_under_the_strict_policy(client, town):
    """Django 5.2's admin loads its scripts from files: no CSP exception needed."""
    client.force_login(SuperuserFactory())
    pages = [
        *ADMIN_PAGES,
        f"/admin/disclosure/disclosure/{town.maoshan_draft.pk}/change/",
        f"/admin/feedback/submission/{town.submission.pk}/change/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "unsafe-inline" not in response["Content-Security-Policy"]
        assert_nothing_inline(response.text, url)


def test_admin_login_page_needs_nothing_inline(client):
    response = client.get("/admin/login/")
    assert_nothing_inline(response.text, "/admin/login/")
