"""What the apps register with the shared layer holds together: every model is
declared public or private, every table an anonymous cached page reads belongs
to a public model, and every change to a public model is announced (so the
page cache and the search index cannot go stale without anyone noticing).
The two checks made on the demo town are in test_registries_on_the_demo.py."""

from django.apps import apps

from composition import search
from composition.models import SearchEntry
from core import caching, content, documents, figures, roles
from tests.factories import SubmissionFactory, UnitFactory

OUR_APPS = ("catalog", "disclosure", "feedback", "portal")


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


def test_a_new_case_leaves_cached_pages_as_they_are_a_changed_one_not(
    db, django_capture_on_commit_callbacks
):
    """The one exception the registry allows (new_rows_wait): a new 回音壁
    case is not public until accepted, and the wall catches up within
    PAGE_CACHE_SECONDS; creating one must not empty the cache of every page
    (its search entry included), while any later change does."""
    unit = UnitFactory()
    before = caching.content_version()
    board = caching.scope_versions([f"unit:{unit.slug}"])
    with django_capture_on_commit_callbacks(execute=True):
        submission = SubmissionFactory(unit=unit)
    assert caching.content_version() == before
    assert caching.scope_versions([f"unit:{unit.slug}"]) == board
    with django_capture_on_commit_callbacks(execute=True):
        submission.save()
    # Every page naming no scope, and its unit's board (the 回音壁 column).
    assert caching.content_version() != before
    assert caching.scope_versions([f"unit:{unit.slug}"]) != board
