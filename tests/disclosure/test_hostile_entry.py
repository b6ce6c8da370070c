"""The entry form with forged values (issue 18's attack): one clear Chinese
message each, nothing saved."""

import pytest

from disclosure.models import Disclosure
from tests.disclosure import test_entry_form as base
from tests.factories import TownFactory, UnitFactory

pytestmark = pytest.mark.django_db

world = base.world


def errors(client, world, **changes):
    response = client.post(base.ADD, base.entry(world, **changes))
    assert response.status_code == 200
    assert not Disclosure.objects.exists()
    return dict(response.context["adminform"].form.errors)


@pytest.mark.parametrize(
    "year, part, message",
    [
        ("2" * 5000, "09", "期间格式不正确：请从列表中选择年份。"),
        ("<b>", "09", "期间格式不正确：请从列表中选择年份。"),
        ("-201", "09", "期间格式不正确：请从列表中选择年份。"),
        ("2011", "Q5", "期间格式不正确：请从列表中选择期间。"),
        ("2011", "\u202e9", "期间格式不正确：请从列表中选择期间。"),
        ("2011", "09" * 100, "期间格式不正确：请从列表中选择期间。"),
    ],
)
def test_a_forged_period_gets_one_message(client, world, year, part, message):
    client.force_login(world["editor"])
    assert errors(client, world, period_0=year, period_1=part) == {"period": [message]}


def test_a_year_out_of_range_is_refused(client, world):
    client.force_login(world["editor"])
    assert "period" in errors(client, world, period_0="9999", period_1="09")


def test_forged_forms_items_and_units_are_refused(client, world):
    client.force_login(world["editor"])
    maoshan = UnitFactory(name="茅山村", parent=world["town"])
    elsewhere = UnitFactory(name="别村", parent=TownFactory(name="别镇"))
    assert (
        "不能采用“村民会议”公开"
        in errors(client, world, forms=[world["meeting"].pk])["forms"][0]
    )
    for forged in (
        {"item": world["town_only"].pk},
        {"item": "<x>"},
        {"unit": maoshan.pk},
        {"unit": elsewhere.pk},
        {"unit": world["town"].pk},
    ):
        (field,) = forged
        assert "选择一个有效的选项" in errors(client, world, **forged)[field][0]


def test_a_form_with_errors_has_a_chinese_page_title(client, world):
    # Django's zh_Hans catalog lacks "Error:": the tab read "Error: 增加 公开内容".
    client.force_login(world["editor"])
    response = client.post(base.ADD, base.entry(world, title=""))
    assert response.status_code == 200
    title = response.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("错误：") and "Error" not in title
    client.logout()
    login = client.post("/admin/login/", {"username": "x", "password": "y"})
    assert "<title>错误：" in login.text
