"""backup → restore into an empty database: counts, history and files identical.

Runs on whichever database the suite uses (SQLite by default, PostgreSQL in
CI's second pass); the restore runs in a subprocess against a new database.
"""

import json
import os
import stat
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from disclosure import services
from feedback import services as feedback_services
from tests.deployed import SERVER
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    SuperuserFactory,
    review_and_approve,
)

BASE_DIR = Path(__file__).resolve().parents[2]

# Executed here and in the restored copy: what "identical" means.
SUMMARY = """
import hashlib, json
from django.contrib.auth import get_user_model
from disclosure.models import Attachment, Disclosure, DisclosureEvent, Unit
from feedback.models import Submission, SubmissionEvent
summary = {
    "users": get_user_model().objects.count(),
    "units": Unit.objects.count(),
    "disclosures": sorted(Disclosure.objects.values_list("pk", "title", "status")),
    "history": sorted(
        Disclosure.history.values_list("history_id", "id", "title", "history_type")
    ),
    "events": DisclosureEvent.objects.count(),
    "submissions": sorted(Submission.objects.values_list("tracking_code", "status")),
    "submission_events": SubmissionEvent.objects.count(),
    "attachments": sorted(
        (a.pk, a.file.name, hashlib.sha256(a.file.read()).hexdigest())
        for a in Attachment.objects.all()
    ),
}
"""


def summary() -> dict:
    scope = {}
    exec(SUMMARY, scope)  # our own constant, run here and in the copy
    return json.loads(json.dumps(scope["summary"], default=str))


def restored_summary(env: dict) -> dict:
    code = SUMMARY + "\nprint(json.dumps(summary, default=str))"
    result = run(["shell", "-v", "0", "-c", code], env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, **SERVER, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture
def portal_data(town):
    admin = SuperuserFactory()
    notice = DisclosureFactory(
        unit=town.wenli, status="draft", published_at=None, title="备份测试通知"
    )
    services.submit(notice, by=admin)
    review_and_approve(notice, reviewer=SuperuserFactory(username="admin2"))
    services.publish(notice, by=admin)
    notice.title = "备份测试通知（更正）"
    notice.save()
    feedback_services.answer(
        town.submission, by=admin, department=DepartmentFactory(), text="已答复。"
    )
    return town


@pytest.fixture
def empty_database(tmp_path):
    """A DATABASE_URL for a new, empty database of the suite's own kind."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    db = connection.settings_dict
    name = f"fengming_restore_{uuid.uuid4().hex[:8]}"
    server = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    yield f"postgres://{auth}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(**server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_backup_restores_to_an_identical_portal(portal_data, tmp_path, empty_database):
    before = summary()
    assert before["history"] and before["attachments"] and before["events"]
    call_command(
        "backup", output_dir=tmp_path / "backups", stdout=open(os.devnull, "w")
    )
    (archive,) = (tmp_path / "backups").glob("fengming-*.tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names
    assert any(
        n.startswith("media/attachments/") or n.startswith("media/") for n in names
    )
    assert not any(n.startswith("/") or ".." in n for n in names)

    env = {"DATABASE_URL": empty_database, "MEDIA_ROOT": str(tmp_path / "restored")}
    result = run(["restore", str(archive)], env)
    assert "all checked against the manifest" in result.stdout
    assert restored_summary(env) == before


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_is_not_empty(portal_data, tmp_path):
    call_command("backup", output_dir=tmp_path, stdout=open(os.devnull, "w"))
    (archive,) = tmp_path.glob("fengming-*.tar.gz")
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive))
