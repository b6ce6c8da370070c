"""批量导入 attacked (issue 18): a reviewer, another unit, an item of
another level, a hostile cell, a double submit; nothing saved, Chinese text."""

import pytest

from disclosure import bulk_import, roles
from disclosure.models import Disclosure
from tests.disclosure import test_bulk_import as base
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

URL, sheet = base.URL, base.sheet
world = base.world
ROW = "文理村,CW01,2011-06,六月,正文,否\n"


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


def test_a_double_submit_saves_the_drafts_once(client, world, monkeypatch):
    # Two clicks on 导入 (or two tabs): the other request saves its drafts
    # just after this one checked for repeats. The check runs again in the
    # saving transaction, under a lock on the units' rows.
    checks = []
    original = bulk_import._refuse_repeats

    def then_the_other_request_saves(forms, errors):
        original(forms, errors)
        if not checks:
            form = forms[0][1]
            DisclosureFactory(
                unit=world["wenli"],
                item=world["item"],
                period=form.instance.period,
                title=form.instance.title,
            )
        checks.append(True)

    monkeypatch.setattr(bulk_import, "_refuse_repeats", then_the_other_request_saves)
    client.force_login(world["editor"])
    response = client.post(URL, {"file": sheet(ROW)})
    assert response.status_code == 200
    assert "第2行：“六月”已经在系统中，未重复导入。" in response.text
    assert Disclosure.objects.count() == 1
