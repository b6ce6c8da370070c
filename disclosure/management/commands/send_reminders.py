from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from disclosure.reminders import send_reminders


class Command(BaseCommand):
    help = (
        "Email unit editors their overdue and soon-due obligations and town "
        "administrators a summary. Idempotent per day; run daily from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="the day to remind for (YYYY-MM-DD)")

    def handle(self, *args, as_of=None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {as_of!r}") from exc
        sent = send_reminders(as_of=day)
        self.stdout.write(
            f"{day}: {len(sent)} reminder(s) sent: {', '.join(sent) or '-'}"
        )
