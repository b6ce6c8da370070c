"""seed_scale builds a consistent county and a second run changes nothing."""

import pytest
from django.core.management import call_command
from django.db import connection

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


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="CLUSTER: PostgreSQL's bench data"
)
def test_seeded_rows_are_stored_in_order_of_time_every_units_mixed():
    call_command("seed_scale", no_progress=True, **SMALL)
    for model, column in ((Disclosure, "published_at"), (Submission, "received_at")):
        table = model._meta.db_table
        with connection.cursor() as cursor:
            # The rows as stored (physical order), not as an index gives them.
            cursor.execute(f'SELECT unit_id, {column} FROM "{table}" ORDER BY ctid')
            stored = cursor.fetchall()
        times = [at for _, at in stored if at is not None]
        assert times == sorted(times), table
        units = [unit for unit, _ in stored]
        # Not one unit's rows after another's: the units take turns.
        runs = sum(1 for a, b in zip(units, units[1:], strict=False) if a != b)
        assert runs > 4 * len(set(units)), table
    # The seed's temporary index is gone.
    assert not [
        name
        for name in connection.introspection.get_constraints(
            connection.cursor(), Disclosure._meta.db_table
        )
        if name.endswith("_seeded")
    ]
