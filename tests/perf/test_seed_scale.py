"""seed_scale builds a consistent county and a second run changes nothing."""

import pytest
from django.core.management import call_command

from catalog.models import Scope
from composition import search
from composition.models import SearchEntry
from disclosure.models import Disclosure, Unit
from feedback.models import Submission

pytestmark = pytest.mark.django_db

SMALL = {"towns": 2, "units_per_town": 2, "years": 1, "last_year": 2011}


def test_seed_scale_builds_a_county_once():
    call_command("seed_scale", no_progress=True, **SMALL)
    counts = (Disclosure.objects.count(), Submission.objects.count())
    assert Unit.objects.towns().count() == 2
    # One county above the towns, their villages under them.
    assert Unit.objects.counties().count() == 1
    assert Unit.objects.towns().filter(parent__kind=Unit.Kind.COUNTY).count() == 2
    assert Unit.objects.boards().count() == 4
    assert counts[0] > 100 and counts[1] > 50

    call_command("seed_scale", no_progress=True, **SMALL)
    assert (Disclosure.objects.count(), Submission.objects.count()) == counts


def test_seeded_rows_follow_the_models_rules():
    call_command("seed_scale", no_progress=True, **SMALL)
    inner = Disclosure.objects.filter(item__scope=Scope.INNER_PARTY)
    assert inner.exists()
    assert not inner.exclude(scope=Scope.INNER_PARTY).exists()
    numbers = Disclosure.objects.exclude(index_number=None)
    assert numbers.count() == numbers.values("index_number").distinct().count()
    codes = Submission.objects.values("tracking_code")
    assert codes.distinct().count() == Submission.objects.count()
    assert SearchEntry.objects.count() > Disclosure.objects.count()
    # The bulk-built index answers like one built by the post_save hooks.
    results = search.search("样例01镇", user=None)
    assert results.entries.exists()
    assert not results.entries.filter(disclosure__scope=Scope.INNER_PARTY).exists()
