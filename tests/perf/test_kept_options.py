"""A select whose choices are named by what they are kept under (the
statistics page's units and towns: `ListedModelChoiceField(options_key=)`)
writes its options once a process, none selected, and marks the chosen one
in the copy (`QuickSelect.options_of`): the page is the one written option
by option, for every value asked, and a unit renamed is named anew."""

import re

import pytest
from django.test import Client

from core import widgets
from tests.factories import TownFactory, UnitFactory
from tests.perf.kept import nothing_kept

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def town():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    UnitFactory(name="文理村", slug="wenli", parent=town)
    UnitFactory(name="茅山村", slug="maoshan", parent=town)
    return town


def select(client, query: str, name: str) -> str:
    response = client.get(f"/stats/?{query}")
    html = response.content.decode()
    found = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert found, html
    return found.group(0)


@pytest.fixture
def written(monkeypatch) -> list:
    calls = []
    real = widgets.options

    def counting(choices, wanted=()):
        if getattr(choices, "key", None) is not None:  # the units', the towns'
            calls.append(list(wanted))
        return real(choices, wanted)

    monkeypatch.setattr(widgets, "options", counting)
    return calls


@pytest.mark.parametrize(
    ("query", "chosen"),
    [
        ("town=fengming&unit=wenli", "wenli"),
        ("town=fengming&unit=maoshan", "maoshan"),
        ("town=fengming", ""),
        ("town=fengming&unit=", ""),
    ],
)
def test_the_chosen_unit_is_selected_as_written_option_by_option(
    town, settings, query, chosen
):
    visitor = Client()
    select(visitor, "town=fengming&unit=wenli", "unit")  # the copy made
    kept = select(visitor, query, "unit")
    assert kept == nothing_kept(settings, lambda: select(Client(), query, "unit"))
    assert kept.count(" selected") == 1
    assert f'<option value="{chosen}" selected>' in kept


def test_the_options_are_written_once_and_follow_a_rename(
    town, settings, written, changed
):
    visitor = Client()
    select(visitor, "town=fengming&unit=wenli", "unit")
    select(visitor, "town=fengming&unit=maoshan", "unit")
    # Each select's options once, none selected: units and towns.
    assert written == [[], []]
    written.clear()
    wenli = town.children.get(slug="wenli")
    with changed():
        wenli.name = "文理新村"
        wenli.save()
    renamed = select(visitor, "town=fengming&unit=wenli", "unit")
    assert '<option value="wenli" selected>文理新村</option>' in renamed
    assert written == [[], []]
    assert renamed == nothing_kept(
        settings, lambda: select(Client(), "town=fengming&unit=wenli", "unit")
    )


def test_a_value_no_option_has_selects_none(town):
    """A unit slug that is not a choice is refused by the form (its message),
    and the select marks nothing, as written option by option."""
    response = Client().get("/stats/?town=fengming&unit=%3Cb%3E")
    assert response.status_code == 400
    html = response.content.decode()
    unit = re.search(r'<select name="unit".*?</select>', html, re.S).group(0)
    assert " selected" not in unit
    assert "<b>" not in html


def test_options_written_in_a_transaction_are_not_kept(town, written):
    """A unit renamed in a transaction that is rolled back: the select
    written meanwhile (its versions not moved yet) is not kept, so the name
    never committed is never shown."""
    from django.db import transaction

    from composition.forms import StatsForm

    def unit_select() -> str:
        form = StatsForm({"town": "fengming", "unit": "wenli"})
        form.is_valid()
        return str(form["unit"])

    wenli = town.children.get(slug="wenli")
    try:
        with transaction.atomic():
            wenli.name = "未提交村"
            wenli.save()
            assert "未提交村" in unit_select()
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert "未提交村" not in unit_select()
