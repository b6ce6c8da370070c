"""python manage.py backup: the database and MEDIA_ROOT in one timestamped .tar.gz.

PostgreSQL is dumped with pg_dump from an exported snapshot, so the dump and
the manifest's row counts and hashes describe the same moment; SQLite is copied
with its online backup API. Media files are added after the database: a file
uploaded meanwhile is an unreferenced extra, never a missing attachment.
`restore` checks the restored data against the manifest.
"""

import hashlib
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

FORMAT = 1
DUMP_NAMES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}


def _digest_rows(rows) -> dict:
    lines = sorted(
        repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
        for row in rows
    )
    return {
        "rows": len(lines),
        "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
    }


def postgres_fingerprint() -> dict[str, dict]:
    """Row count and content hash of every table, read through Django's cursor."""
    with connection.cursor() as cursor:
        tables = sorted(connection.introspection.table_names(cursor))
        result = {}
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            result[table] = _digest_rows(cursor.fetchall())
    return result


def sqlite_fingerprint(path: Path) -> dict[str, dict]:
    """The same for an SQLite file, read with plain sqlite3 (no type converters)."""
    db = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            t: _digest_rows(db.execute(f'SELECT * FROM "{t}"').fetchall())
            for t in tables
        }
    finally:
        db.close()


def media_fingerprint(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    result = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        result[path.relative_to(root).as_posix()] = hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
    return result


def pg_args(program: str) -> tuple[list[str], dict]:
    """A pg_dump/pg_restore command line and environment for the default database."""
    db = connection.settings_dict
    args = [program, "--no-owner", "--no-privileges", "--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


class Command(BaseCommand):
    help = "Back up the database and uploaded files into one timestamped .tar.gz."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir",
            default=settings.BACKUP_DIR,
            help="where to write the archive (default: BACKUP_DIR)",
        )

    def handle(self, *args, output_dir, **options):
        vendor = connection.vendor
        if vendor not in DUMP_NAMES:
            raise CommandError(f"backup supports PostgreSQL and SQLite, not {vendor}")
        out_dir = Path(output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        target = out_dir / f"fengming-{stamp}.tar.gz"
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(tmp) / DUMP_NAMES[vendor]
            tables = (
                self._dump_postgres(dump)
                if vendor == "postgresql"
                else self._dump_sqlite(dump)
            )
            media_root = Path(settings.MEDIA_ROOT)
            manifest = {
                "format": FORMAT,
                "created": timezone.now().isoformat(),
                "vendor": vendor,
                "tables": tables,
                "media": media_fingerprint(media_root),
            }
            partial = target.with_suffix(".partial")
            # The archive holds names and phone numbers: owner-only.
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with (
                os.fdopen(fd, "wb") as raw,
                tarfile.open(fileobj=raw, mode="w:gz") as tar,
            ):
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                manifest_file = Path(tmp) / "manifest.json"
                manifest_file.write_bytes(data)
                tar.add(manifest_file, arcname="manifest.json")
                tar.add(dump, arcname=dump.name)
                for name in manifest["media"]:
                    tar.add(media_root / name, arcname=f"media/{name}")
            os.replace(partial, target)
        rows = sum(t["rows"] for t in tables.values())
        self.stdout.write(
            f"{target} ({len(tables)} tables, {rows} rows, "
            f"{len(manifest['media'])} media files)"
        )
        return None

    def _dump_sqlite(self, dump: Path) -> dict:
        connection.ensure_connection()
        copy = sqlite3.connect(dump)
        try:
            connection.connection.backup(copy)
        finally:
            copy.close()
        return sqlite_fingerprint(dump)

    def _dump_postgres(self, dump: Path) -> dict:
        args, env = pg_args("pg_dump")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            tables = postgres_fingerprint()
            result = subprocess.run(
                [*args, "--format=custom", f"--snapshot={snapshot}", "--file", dump],
                env=env,
                capture_output=True,
                text=True,
            )
        if result.returncode != 0:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        return tables
