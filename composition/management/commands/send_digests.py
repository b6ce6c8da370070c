from datetime import date

from django.core.management.base import BaseCommand, CommandError

from composition import following


class Command(BaseCommand):
    help = (
        "Send the daily email digests (once per subscription and day) and delete "
        "subscriptions never confirmed. Run daily from cron, e.g. 06:30."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            help="the digest day, YYYY-MM-DD (default today): covers the days before",
        )

    def handle(self, *args, date: str | None = None, **options):
        day = None
        if date:
            try:
                day = _parse_date(date)
            except ValueError as exc:
                raise CommandError(f"invalid --date {date!r}: use YYYY-MM-DD") from exc
        purged = following.purge_unconfirmed()
        sent = following.send_digests(day)
        self.stdout.write(f"digests sent: {sent}; unconfirmed deleted: {purged}")


def _parse_date(value: str) -> date:
    return date.fromisoformat(value)
