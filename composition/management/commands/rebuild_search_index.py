from django.core.management.base import BaseCommand

from composition import search


class Command(BaseCommand):
    help = "Rebuild the search index from every disclosure and 回音壁 submission."

    def handle(self, *args, **options):
        count = search.rebuild()
        self.stdout.write(f"search index rebuilt ({search.backend()}): {count} entries")
