"""The list filters' choices: written quickly, grouped by town, same meaning."""

import pytest
from django import forms

from core.widgets import QuickSelect, grouped
from tests.factories import DisclosureFactory, TownFactory, UnitFactory

pytestmark = pytest.mark.django_db


def test_quick_select_writes_the_markup_djangos_select_would():
    choices = [("", "全部"), ("a", "甲 <b>"), ("组", [("b", "乙 & 丙"), ("c", "丁")])]
    quick = QuickSelect(choices=choices, attrs={"class": "form-select"})
    html = quick.render("unit", "b", attrs={"id": "id_unit"})
    assert html.startswith('<select name="unit" class="form-select" id="id_unit">')
    assert '<option value="a">甲 &lt;b&gt;</option>' in html
    group = '<optgroup label="组"><option value="b" selected>乙 &amp; 丙</option>'
    assert group in html
    assert html.count("selected") == 1
    # The same options and selection as Django's template-rendered select.
    plain = forms.Select(choices=choices).render("unit", "b")
    assert plain.count("<option") == html.count("<option")


def test_quick_select_escapes_a_hostile_value_and_label():
    html = QuickSelect(choices=[('"><script>', "<script>x</script>")]).render(
        "q", '"><script>'
    )
    assert "<script>" not in html
    assert 'value="&quot;&gt;&lt;script&gt;" selected' in html


def test_grouped_is_flat_for_one_group_and_optgroups_for_more():
    assert grouped([("凤鸣镇", "a", "甲"), ("凤鸣镇", "b", "乙")]) == [
        ("a", "甲"),
        ("b", "乙"),
    ]
    assert grouped([("甲镇", "a", "甲村"), ("乙镇", "b", "乙村")]) == [
        ("甲镇", [("a", "甲村")]),
        ("乙镇", [("b", "乙村")]),
    ]


def test_at_county_scale_units_are_grouped_under_their_town(client):
    first, second = TownFactory(name="凤鸣镇"), TownFactory(name="白沙镇")
    UnitFactory(name="文理村", parent=first)
    baisha_village = UnitFactory(name="白沙村", parent=second)
    DisclosureFactory(unit=baisha_village)
    html = client.get("/disclosures/").text
    group = html.split('<optgroup label="白沙镇">')[1].split("</optgroup>")[0]
    assert ">白沙镇</option>" in group and ">白沙村</option>" in group
    assert "文理村" not in group
    wall = client.get("/feedback/").text
    assert '<optgroup label="白沙镇">' in wall


def test_a_chosen_unit_stays_selected_and_filters(client):
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", parent=town)
    DisclosureFactory(unit=wenli, title="文理村财务公开")
    DisclosureFactory(unit=UnitFactory(name="茅山村", parent=town), title="茅山村公开")
    response = client.get(f"/disclosures/?unit={wenli.slug}")
    assert f'<option value="{wenli.slug}" selected>文理村</option>' in response.text
    assert "文理村财务公开" in response.text and "茅山村公开" not in response.text


def test_an_unknown_unit_is_still_a_400_with_a_message(client):
    TownFactory()
    response = client.get("/disclosures/?unit=no-such-village")
    assert response.status_code == 400
    assert "筛选条件有误" in response.text
