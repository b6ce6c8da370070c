"""The role groups are there for every test, after a transactional test's
flush too (tests/conftest.py makes them again): a test that reads one does
not depend on which tests ran before it on its worker."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from disclosure import roles
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_flushes_the_database():
    UserFactory(username="flushed_after")
    assert Group.objects.filter(name=roles.PARTY_MEMBER).exists()


@pytest.mark.django_db(transaction=True)
def test_the_groups_are_there_after_the_flush():
    # Runs after the test above (same module, both transactional): its flush
    # took the user and, without the hook, every group.
    assert not UserFactory._meta.model.objects.filter(username="flushed_after").exists()
    names = set(Group.objects.values_list("name", flat=True))
    assert set(roles.ROLE_NAMES) <= names


def test_a_run_that_ends_on_a_transactional_test_ends_clean(tmp_path):
    # CI failed on PostgreSQL when a worker's last test was transactional: its
    # teardown had destroyed the test database and named the real one again
    # (which CI does not have), and the groups were made there. A run of one
    # transactional test, against a database that does not exist, as CI's.
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        url = (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}"
            f"/fengming_absent_{uuid.uuid4().hex[:8]}"
        )
        absent = None
    else:
        absent = tmp_path / "absent.sqlite3"
        url = f"sqlite:///{absent}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["DATABASE_URL"] = url
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"{__file__}::test_the_groups_are_there_after_the_flush",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "1 passed" in run.stdout
    assert "error" not in run.stdout.splitlines()[-1]
    if absent is not None:
        assert not absent.exists()
