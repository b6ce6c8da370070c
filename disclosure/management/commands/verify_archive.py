from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure.archives import verify_archive


class Command(BaseCommand):
    help = (
        "Check a yearly archive ZIP: every file against MANIFEST.sha256, and the "
        "manifest's own checksum against the one recorded at export."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--manifest-sha256",
            default="",
            help="compare with this checksum (printed at export) instead of the "
            "database's record",
        )

    def handle(self, *args, file, manifest_sha256="", **options):
        file = Path(file)
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        result = verify_archive(file, expected_manifest_sha256=manifest_sha256)
        if not result.ok:
            raise CommandError(
                f"{file} FAILED verification:\n  " + "\n  ".join(result.problems)
            )
        recorded = ""
        if result.export is not None:
            recorded = (
                f", recorded for {result.export.filename}"
                f" on {result.export.created_at:%Y-%m-%d %H:%M}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{file}: OK, {result.checked} files match MANIFEST.sha256; "
                f"manifest SHA-256 {result.manifest_sha256}{recorded}."
            )
        )
