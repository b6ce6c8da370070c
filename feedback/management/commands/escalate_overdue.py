from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.dates import FIRST_YEAR
from feedback.services import escalate_overdue


class Command(BaseCommand):
    help = (
        "督办: escalate every open 回音壁 case past its deadline to its village's "
        "联系领导 (and 镇纪委 for a 反映 about conduct). Idempotent: a case is "
        "escalated once per round; run daily from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="the day to check (YYYY-MM-DD)")

    def handle(self, *args, as_of=None, **options):
        today = timezone.localdate()
        try:
            day = date.fromisoformat(as_of) if as_of else today
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {as_of!r}") from exc
        # A day to come would record 督办 (public, counted) of cases whose
        # deadline has not passed; before 1949 no case was received.
        if not FIRST_YEAR <= day.year or day > today:
            raise CommandError(f"--as-of must be a day up to today, not {as_of!r}")
        done = escalate_overdue(day)
        codes = ", ".join(s.tracking_code for s in done) or "-"
        self.stdout.write(f"{day}: {len(done)} case(s) escalated: {codes}")
