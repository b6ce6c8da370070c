"""Checked on the demo town (seeded once for this module, tests/conftest.py):
every table an anonymous cached page reads belongs to a public model, and every
change to a public model is announced (test_registries.py has the rest)."""

import re

from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from composition import search
from core import content, events
from disclosure.models import Disclosure, Unit
from feedback.models import Submission

# Tables a page may read that are no model's rows: the SQLite full-text copy
# of the search entries (composition/search.py keeps it with SearchEntry).
DERIVED_TABLES = {search.FTS_TABLE: "portal.SearchEntry"}
TABLE = re.compile(r'(?:FROM|JOIN)\s+"?(\w+)"?', re.IGNORECASE)
# A common table expression's name (the period choices' loose index scan).
CTE = re.compile(r'WITH\s+(?:RECURSIVE\s+)?"?(\w+)"?', re.IGNORECASE)


def cached_pages() -> dict[str, str]:
    """A URL for every view name the apps let the page cache keep."""
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    disclosure = Disclosure.objects.published().order_by("pk").first()
    submission = Submission.objects.on_wall().order_by("pk").first()
    args = {
        "portal:feed_board": [unit.slug],
        "portal:search": [],
        "disclosure:board": [unit.slug],
        "disclosure:compliance_unit": [unit.slug],
        "disclosure:detail": [disclosure.pk],
        "disclosure:catalog_item": [disclosure.item.code],
        "feedback:detail": [submission.pk],
        "feedback:print": [
            submission.unit.slug,
            f"{timezone.localtime(submission.received_at):%Y-%m}",
        ],
        "portal:report": [2011],
        "portal:report_town": ["fengming", 2011],
        "portal:gov_report": [2011],
        "portal:gov_report_town": ["fengming", 2011],
    }
    query = {"portal:search": "?q=公开"}
    return {
        name: reverse(name, args=args.get(name, [])) + query.get(name, "")
        for name in sorted(content.cached_view_names)
    }


def tables_read(sql: str) -> set[str]:
    return set(TABLE.findall(sql)) - set(CTE.findall(sql))


def owner(table: str) -> str | None:
    if table in DERIVED_TABLES:
        return DERIVED_TABLES[table]
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            if model._meta.auto_created:  # a many-to-many link table
                return model._meta.auto_created._meta.label
            return model._meta.label
    return None


def test_every_table_a_cached_page_reads_is_a_public_models(demo):
    """A model shown on a cached page but not declared public could change
    without making the page stale."""
    client = Client()
    for name, url in cached_pages().items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (name, url)
        read = set().union(*(tables_read(q["sql"]) for q in queries.captured_queries))
        assert read, (name, "read nothing: is the test reading the right page?")
        stale = {
            table
            for table in read
            if owner(table) not in content.public_models
            # Django's own rows that no content change touches.
            and not table.startswith(("django_", "sqlite_"))
        }
        assert not stale, f"{name} reads {stale}: declare their models public"


def test_every_change_to_a_public_model_is_announced(demo):
    seen: list[events.Event] = []

    def record(sender, event, **kwargs):
        seen.append(event)

    events.changed.connect(record)
    try:
        missing = []
        for label in content.public_models:
            model = apps.get_model(label)
            row = model.objects.order_by("pk").first()
            if row is None:
                missing.append(label)
                continue
            seen.clear()
            row.save()
            assert any(e.model == label and e.name == "saved" for e in seen), label
    finally:
        events.changed.disconnect(record)
    # Every public model has rows in the demo town, so none went untested.
    assert not missing, f"the demo town has no {missing}"
