"""Entering a disclosure in a real browser (issue 18): the script narrows the
period to the item's frequency and fits the photo input to the row's kind."""

import pytest

from catalog.models import Item
from disclosure.models import Unit

from .conftest import DESKTOP
from .test_journeys import log_in_to_admin

pytestmark = pytest.mark.e2e


def test_the_period_follows_the_item_and_the_file_input_the_kind(demo, new_page):
    page = new_page(DESKTOP)
    log_in_to_admin(page, "wenli_editor")
    page.goto("/admin/disclosure/disclosure/add/")
    wenli = Unit.objects.get(name="文理村")
    assert page.locator("#id_unit").input_value() == str(wenli.pk)
    quarterly = (
        Item.objects.filter(frequency=Item.Frequency.QUARTERLY, for_village=True)
        .order_by("code")
        .first()
    )
    page.locator("#id_item").select_option(str(quarterly.pk))
    # Only the quarters are left to choose, and the one just ended is chosen.
    visible = page.locator("#id_period_1 option:not([hidden])")
    assert visible.all_inner_texts() == [
        "选择期间",
        "第一季度",
        "第二季度",
        "第三季度",
        "第四季度",
    ]
    assert page.locator("#id_period_1").input_value().startswith("Q")
    assert page.locator("#id_period_0").input_value() != ""
    # A town-only item is not offered to a village's editor at all.
    town_only = Item.objects.filter(for_village=False).first()
    if town_only is not None:
        assert page.locator(f"#id_item option[value='{town_only.pk}']").count() == 0

    file_input = page.locator("#id_attachments-0-file")
    assert file_input.get_attribute("accept") == "image/*"
    assert file_input.get_attribute("capture") == "environment"
    page.locator("#id_attachments-0-kind").select_option("document")
    assert file_input.get_attribute("accept") == "application/pdf,.pdf"
    assert file_input.get_attribute("capture") is None
