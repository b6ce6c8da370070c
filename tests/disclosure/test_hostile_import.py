"""批量导入 attacked (issue 18): a reviewer, another unit, an item of
another level, a hostile cell, a double submit; nothing saved, Chinese text."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure import roles
from disclosure.models import Disclosure
from tests.disclosure.test_bulk_import import URL, sheet, world  # noqa: F401
from tests.factories import ItemFactory, TownFactory, UnitFactory, staff_user

pytestmark = pytest.mark.django_db


def test_a_reviewer_or_approver_may_not_import(client, world):
    for group in (roles.REVIEWER, roles.VILLAGE_APPROVER):
        client.force_login(staff_user(username=f"u_{len(group)}", group=group))
        assert client.get(URL).status_code == 403
        rows = "文理村,CW01,2011-06,六月收支,正文,否\n"
        assert client.post(URL, {"file": sheet(rows)}).status_code == 403
        assert client.get(URL + "?template=1").status_code == 403
    assert not Disclosure.objects.exists()


@pytest.mark.parametrize(
    "unit, message",
    [
        ("茅山村", "第2行“单位”列：“茅山村”不是您负责的单位。"),
        ("maoshan", "第2行“单位”列：“maoshan”不是您负责的单位。"),
        ("别镇别村", "第2行“单位”列：“别镇别村”不是您负责的单位。"),
        ("", "第2行“单位”列：“”不是您负责的单位。"),
    ],
)
def test_an_editor_imports_into_no_other_unit(client, world, unit, message):
    UnitFactory(name="别镇别村", parent=TownFactory(name="别镇"))
    client.force_login(world["editor"])
    text = client.post(URL, {"file": sheet(f"{unit},CW01,2011-06,六月,正文,否\n")})
    assert message in text.text
    assert not Disclosure.objects.exists()


def test_a_town_only_item_cannot_be_imported_for_a_village(client, world):
    ItemFactory(code="ZW01", for_village=False)
    client.force_login(world["editor"])
    response = client.post(URL, {"file": sheet("文理村,ZW01,2011,预算,正文,否\n")})
    assert response.status_code == 200
    assert "第2行" in response.text
    assert not Disclosure.objects.exists()


def test_hostile_cells_are_named_and_nothing_is_saved(client, world):
    client.force_login(world["editor"])
    rows = (
        "文理村,CW01,2011-06,六月\u202e收支,正文,否\n"
        "文理村,CW01,9999-99,七月,<script>x</script>,否\n"
        "文理村,CW01,2011-07,八月,正文,也许\n"
    )
    response = client.post(URL, {"file": sheet(rows)})
    assert response.status_code == 200
    for row in ("第2行", "第3行", "第4行"):
        assert row in response.text
    assert not Disclosure.objects.exists()


def test_the_repeat_check_and_the_saving_hold_the_units_lock(client, world):
    # Two clicks on 导入 (or two tabs) must not both pass the check for
    # repeats before either is saved: the check runs under a row lock.
    client.force_login(world["editor"])
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            URL, {"file": sheet("文理村,CW01,2011-06,六月,正文,否\n")}
        )
    assert response.status_code == 302
    sql = [q["sql"] for q in queries.captured_queries]
    locked = next(i for i, s in enumerate(sql) if "FOR UPDATE" in s)
    # The check for repeats (a query on disclosures) comes after the lock.
    checked = max(
        i
        for i, s in enumerate(sql)
        if s.startswith('SELECT 1 AS "a" FROM "disclosure_disclosure"')
    )
    assert locked < checked
    assert Disclosure.objects.count() == 1
