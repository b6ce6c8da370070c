"""A party member's page miss loads the user, not their permissions.

Whether a member's page may be kept in their audience's copy is confirmed
on every miss (core.caching, `audiences.confirmed`); the audience and what
the member reads are kept with the Reader under the memberships version
(disclosure.models.kept_for_user), and the pages ask the Reader, not the
permissions, whether 党内 items are theirs. Loading a user's permissions
took 2-3 ms at county scale on every such miss.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import PartyMemberFactory
from tests.perf.builders import build_county
from tests.perf.test_query_budgets import public_pages

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("page_cache", "away_from_midnight"),
]

PERMISSION_TABLES = ("auth_permission", "auth_user_groups", "auth_group_permissions")


def test_no_members_page_miss_loads_their_permissions():
    county = build_county(villages=2, per_unit=3)
    member = PartyMemberFactory(username="miss_a", branch_of=county.village)
    member.set_password("pw-for-tests")
    member.save()
    client = Client()
    assert client.login(username="miss_a", password="pw-for-tests")
    pages = public_pages(county)
    pages["inner detail"] = (f"/disclosures/{county.inner_disclosure.pk}/", 0)
    loaded = {}
    for name, (url, _budget) in pages.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        read = " ".join(q["sql"] for q in queries.captured_queries)
        if any(table in read for table in PERMISSION_TABLES):
            loaded[name] = response.headers.get("X-Page-Cache")
    assert not loaded, loaded
