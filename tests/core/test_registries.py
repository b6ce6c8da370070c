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
        "disclosure.figures",
        "feedback.figures",
    ]
    assert [p.__name__ for p in figures.daily] == ["on_time_figures"]
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
    case is not public until accepted, only counted; creating one stales the
    pages that may show anything (the wall's and home page's counts, scope
    "any"), not the global version nor its unit's board (its search entry
    included), while any later change stales those too."""
    unit = UnitFactory()
    board = [f"unit:{unit.slug}"]
    before = caching.version(), caching.scope_versions(board)
    anything = caching.scope_versions([caching.ANY])
    with django_capture_on_commit_callbacks(execute=True):
        submission = SubmissionFactory(unit=unit)
    assert (caching.version(), caching.scope_versions(board)) == before
    assert caching.scope_versions([caching.ANY]) != anything
    with django_capture_on_commit_callbacks(execute=True):
        submission.save()
    # Its unit's board (the 回音壁 column) too.
    assert caching.scope_versions(board) != before[1]


def test_a_case_created_already_on_the_wall_stales_its_board_at_once(
    db, django_capture_on_commit_callbacks
):
    """A case entered already answered (a loader, an import, the shell) is
    public from its creation: it does not wait (its unit's board lists it in
    the 回音壁 column); one received, or accepted but held back as 党内, does."""
    from django.utils import timezone

    from feedback.models import Status

    unit = UnitFactory()
    board = [f"unit:{unit.slug}"]
    now = timezone.now()
    for waits, fields in (
        (True, {}),
        (True, {"status": Status.ACCEPTED, "concerns_inner_party": True}),
        (False, {"status": Status.ANSWERED, "accepted_at": now, "answered_at": now}),
    ):
        before = caching.scope_versions(board)
        with django_capture_on_commit_callbacks(execute=True):
            SubmissionFactory(unit=unit, **fields)
        assert (caching.scope_versions(board) == before) is waits, fields
