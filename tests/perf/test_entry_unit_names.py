"""The entries that show their unit (a list's, the home page's latest:
`kept_entries(show_unit=True)`) follow that unit's name scope, read with the
page's keys (`only("id", "unit_id")`), not every name of the county: a unit,
a body or a catalog row renamed elsewhere leave them kept; their own unit or
its town renamed make them again, with the new name. Each page compared with
the page rendered with nothing kept, for a visitor and a party member."""

import pytest
from django.test import Client

from catalog.models import BodyKind, Item
from disclosure.models import Organisation, Unit
from disclosure.templatetags import disclosure_tags
from tests.factories import DisclosureFactory, PartyMemberFactory
from tests.perf.kept import nothing_kept
from tests.perf.test_fragments import counting, logged_in, page
from tests.perf.two_towns import two_towns

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

PAGES = ["/disclosures/?unit=wenli", "/disclosures/", "/"]


@pytest.fixture
def units(monkeypatch):
    units = two_towns()
    for unit in ("town", "wenli", "maoshan", "shangcun"):
        DisclosureFactory(
            unit=units[unit], item=units["party"], title=f"{units[unit].name}党务公开"
        )
    Organisation.objects.get_or_create(
        unit=units["shangcun"], name="村两委", defaults={"kind": BodyKind.JOINT_MEETING}
    )
    return {
        **units,
        "written": counting(monkeypatch, disclosure_tags, "disclosure_entry"),
    }


def renamed(changed, row, name: str) -> None:
    with changed():
        row.name = name
        row.save()


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_names_elsewhere_leave_the_entries_kept(units, changed, settings, who):
    if who == "member":
        client = logged_in(PartyMemberFactory(username="m", branch_of=units["wenli"]))
    else:
        client = Client()
    for url in PAGES:
        page(client, url)
    written = len(units["written"])
    shangcun = Organisation.objects.get(unit=units["shangcun"], name="村两委")
    renamed(changed, Unit.objects.get(pk=units["shangcun"].pk), "上村社区")
    renamed(changed, shangcun, "两委会")
    renamed(changed, Item.objects.get(pk=units["party"].pk), "党务事项（修订）")
    # The unfiltered list shows 上村's entry: written again, with the new name.
    assert "上村社区" in page(client, "/disclosures/").decode()
    assert len(units["written"]) == written + 1
    # The others, made again (the filters list every unit and item), with
    # their entries kept.
    for url in ("/disclosures/?unit=wenli", "/"):
        assert "文理村党务公开" in page(client, url).decode()
    assert len(units["written"]) == written + 1, "entries written again"
    for url in PAGES:
        kept = page(client, url)
        assert kept == nothing_kept(settings, lambda u=url: page(client, u)), url


def test_their_own_unit_or_town_renamed_writes_them_again(units, changed, settings):
    visitor = Client()
    for url in PAGES:
        page(visitor, url)
    for row, name in (
        (Unit.objects.get(pk=units["wenli"].pk), "文理社区"),
        (Unit.objects.get(pk=units["town"].pk), "凤鸣街道"),
    ):
        renamed(changed, row, name)
        for url in PAGES:
            kept = page(visitor, url).decode()
            assert name in kept, (name, url)
            assert (
                kept == nothing_kept(settings, lambda u=url: page(visitor, u)).decode()
            )
