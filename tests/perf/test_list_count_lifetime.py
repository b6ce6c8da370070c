"""A list filtered to one unit keeps its count until the unit's next
scheduled change (disclosure.views.count_lifetime), read by the unit's key
in one query, as its board's (views.unit_due)."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import DisclosureFactory, ItemFactory, TownFactory, UnitFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

AT = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)


def count(client, url) -> int:
    response = client.get(url)
    assert response.status_code == 200
    return response.context["page"].paginator.count


@time_machine.travel(AT, tick=False)
def test_the_count_after_a_publication_reads_the_next_change_by_the_units_key(changed):
    wenli = UnitFactory(name="文理村", slug="wenli", parent=TownFactory())
    item = ItemFactory()
    DisclosureFactory(unit=wenli, item=item, published_at=AT - timedelta(days=1))
    url = "/disclosures/?unit=wenli"
    visitor = Client()
    assert count(visitor, url) == 1
    with changed():
        DisclosureFactory(unit=wenli, item=item, published_at=AT + timedelta(hours=1))
    with CaptureQueriesContext(connection) as made:
        assert count(visitor, url) == 1
    nexts = [q["sql"] for q in made if "MIN(" in q["sql"]]
    assert len(nexts) == 1, nexts
    assert "disclosure_unit" not in nexts[0]
    # And the count ends with it: counted again when it comes out.
    with time_machine.travel(AT + timedelta(hours=2), tick=False):
        assert count(visitor, url) == 2
