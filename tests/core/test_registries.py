"""What the apps register with the shared layer holds together: every model is
declared public or private, every table an anonymous cached page reads belongs
to a public model, and every change to a public model is announced (so the
page cache and the search index cannot go stale without anyone noticing)."""

import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from composition import search
from composition.models import SearchEntry
from core import caching, content, documents, events, figures, roles
from disclosure.models import Disclosure, Unit
from feedback.models import Submission
from tests.factories import SubmissionFactory, UnitFactory

OUR_APPS = ("catalog", "disclosure", "feedback", "portal")
# Tables a page may read that are no model's rows: the SQLite full-text copy
# of the search entries (composition/search.py keeps it with SearchEntry).
DERIVED_TABLES = {search.FTS_TABLE: "portal.SearchEntry"}
TABLE = re.compile(r'(?:FROM|JOIN)\s+"?(\w+)"?', re.IGNORECASE)


def our_models():
    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            if not model._meta.proxy:
                yield model


def test_every_model_is_declared_public_or_private():
    undeclared = [
        model._meta.label
        for model in our_models()
        if model._meta.label not in content.public_models
        and model._meta.label not in content.private_models
    ]
    assert not undeclared, f"declare these in their app's ready(): {undeclared}"
    both = set(content.public_models) & content.private_models
    assert not both


def test_every_registry_names_what_exists(db):
    assert content.cached_view_names
    # The statistics page shows the disclosure app's figures, then the 回音壁's.
    assert [p.__module__ for p in figures.providers] == [
        "disclosure.figures",
        "feedback.figures",
    ]
    for name in content.cached_view_names:
        namespace, _, view = name.partition(":")
        assert namespace and view, name
    for label, model in documents.document_models.items():
        assert label in content.public_models, label
        field = SearchEntry._meta.get_field(search.source_field(model))
        assert field.related_model is model
    from django.contrib.auth.models import Permission

    for role, patterns in roles.role_permissions.items():
        assert patterns, role
        for pattern in patterns:
            app_label, codename = pattern.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label)
            if codename != "*":
                found = found.filter(codename=codename)
            assert found.exists(), (role, pattern)


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)


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
    }
    query = {"portal:search": "?q=公开"}
    return {
        name: reverse(name, args=args.get(name, [])) + query.get(name, "")
        for name in sorted(content.cached_view_names)
    }


def tables_read(sql: str) -> set[str]:
    return set(TABLE.findall(sql))


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


def test_a_new_case_leaves_cached_pages_as_they_are_a_changed_one_not(
    db, django_capture_on_commit_callbacks
):
    """The one exception the registry allows (new_rows_wait): a new 回音壁
    case is not public until accepted, and the wall catches up within
    PAGE_CACHE_SECONDS; creating one must not empty the cache of every page
    (its search entry included), while any later change does."""
    unit = UnitFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        submission = SubmissionFactory(unit=unit)
    assert caching._bump not in callbacks
    with django_capture_on_commit_callbacks() as callbacks:
        submission.save()
    assert caching._bump in callbacks
