import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from disclosure.archives import archive_filename, write_archive
from disclosure.models import Unit


class Command(BaseCommand):
    help = (
        "Write a year's archive ZIP (every disclosure, all scopes, with its trail, "
        "history and attachments; index.html; MANIFEST.sha256) and record the "
        "manifest's checksum."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--unit", help="a unit's slug (default: the whole town)")
        parser.add_argument(
            "--output",
            type=Path,
            help="a file, or a folder to write into (default: the current folder)",
        )

    def handle(self, *args, year, unit=None, output=None, verbosity=1, **options):
        if unit:
            found = Unit.objects.filter(slug=unit).first()
            if found is None:
                raise CommandError(f"No unit with slug {unit!r}.")
            unit = found
        filename = archive_filename(year, unit, timezone.now())
        path = Path(output) if output else Path.cwd()
        if path.is_dir():
            path = path / filename
        if not path.parent.is_dir():
            raise CommandError(f"Folder {path.parent} does not exist.")

        def progress(items, total):
            return tqdm(
                items,
                total=total,
                desc=f"{year}",
                unit="条",
                file=sys.stderr,
                disable=verbosity == 0,
            )

        try:
            with path.open("wb") as target:
                record, warnings = write_archive(
                    target,
                    year=year,
                    unit=unit,
                    filename=path.name,
                    progress=progress,
                )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        for warning in warnings:
            self.stderr.write(self.style.WARNING(warning))
        self.stdout.write(
            f"{path} ({record.disclosure_count} disclosures)\n"
            f"manifest SHA-256: {record.manifest_sha256}"
        )
