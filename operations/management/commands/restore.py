"""python manage.py restore FILE: a `backup` archive into an empty database.

Refuses a database that has tables or a MEDIA_ROOT that has files, restores,
then checks every table's row count and content hash and every file's hash
against the archive's manifest.
"""

import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .backup import (
    DUMP_NAMES,
    FORMAT,
    media_fingerprint,
    pg_args,
    postgres_fingerprint,
    sqlite_fingerprint,
)


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database and MEDIA_ROOT."

    def add_arguments(self, parser):
        parser.add_argument("archive", help="a fengming-*.tar.gz made by `backup`")

    def handle(self, *args, archive, **options):
        path = Path(archive)
        if not path.is_file():
            raise CommandError(f"{path} does not exist")
        if connection.introspection.table_names():
            raise CommandError(
                "the database is not empty: restore only into a new, empty database"
            )
        media_root = Path(settings.MEDIA_ROOT)
        if media_root.is_dir() and any(media_root.iterdir()):
            raise CommandError(f"MEDIA_ROOT {media_root} is not empty")
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(path, "r:gz") as tar:
            # "data" refuses absolute paths, links out of the folder and devices.
            tar.extractall(tmp, filter="data")
            work = Path(tmp)
            manifest = json.loads((work / "manifest.json").read_text())
            if manifest.get("format") != FORMAT:
                raise CommandError("unknown backup format")
            if manifest["vendor"] != connection.vendor:
                raise CommandError(
                    f"a {manifest['vendor']} backup cannot be restored into "
                    f"{connection.vendor}"
                )
            dump = work / DUMP_NAMES[manifest["vendor"]]
            if connection.vendor == "postgresql":
                tables = self._restore_postgres(dump)
            else:
                tables = self._restore_sqlite(dump)
            if (work / "media").is_dir():
                shutil.copytree(work / "media", media_root, dirs_exist_ok=True)
        problems = [
            table
            for table in sorted(set(tables) | set(manifest["tables"]))
            if tables.get(table) != manifest["tables"].get(table)
        ]
        if problems:
            raise CommandError(f"restored tables differ from the backup: {problems}")
        if media_fingerprint(media_root) != manifest["media"]:
            raise CommandError("restored media files differ from the backup")
        rows = sum(t["rows"] for t in tables.values())
        self.stdout.write(
            f"restored {len(tables)} tables, {rows} rows and "
            f"{len(manifest['media'])} media files from {path.name} "
            f"(made {manifest['created']}); all checked against the manifest"
        )

    def _restore_sqlite(self, dump: Path) -> dict:
        name = str(connection.settings_dict["NAME"])
        if connection.is_in_memory_db():
            raise CommandError(
                "restore needs an SQLite file, not an in-memory database"
            )
        connection.ensure_connection()
        source = sqlite3.connect(dump)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
        connection.close()
        return sqlite_fingerprint(Path(name))

    def _restore_postgres(self, dump: Path) -> dict:
        args, env = pg_args("pg_restore")
        result = subprocess.run(
            [*args, "--single-transaction", "--exit-on-error", str(dump)],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()}")
        return postgres_fingerprint()
