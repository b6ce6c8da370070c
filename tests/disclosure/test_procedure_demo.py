"""The demo's trails are built as the workflow builds them: from records of
the bodies the catalogs' procedures name (tests/disclosure/test_procedure.py
walks the workflow itself)."""

from catalog.models import Catalog
from disclosure.models import Disclosure, DisclosureEvent
from tests.disclosure.test_procedure import trail_text

# On the demo: the trails read from records -----------------------------------


def test_demo_village_affairs_trail_names_the_village_bodies(demo, client):
    notice = Disclosure.objects.get(title="文理村抗旱救灾物资发放情况公示")
    assert notice.item.category.catalog.kind == Catalog.Kind.VILLAGE
    trail = trail_text(client.get(notice.get_absolute_url()).content.decode())
    assert trail == [
        "村民委员会提出",
        "村务监督委员会审核（含保密审查）",
        "村两委审批",
        "村民委员会发布",
    ]
    assert not any("镇党委" in line for line in trail)


def test_demo_town_party_trail_names_the_discipline_and_party_committees(demo, client):
    town_party = (
        Disclosure.objects.information()
        .filter(unit__kind="town", item__category__catalog__kind="party")
        .first()
    )
    trail = trail_text(client.get(town_party.get_absolute_url()).content.decode())
    assert trail[1] == "镇纪委审核（含保密审查）"
    assert trail[2] == "镇党委审批"
    # Each line is a record with its body, not a stock phrase.
    bodies = list(town_party.events.values_list("body__name", flat=True))
    assert bodies == ["党政办", "镇纪委", "镇党委", "镇党委"]


def test_demo_every_review_carries_its_secrecy_review(demo):
    reviews = DisclosureEvent.objects.filter(action=DisclosureEvent.Action.REVIEWED)
    assert reviews.count() == Disclosure.objects.count()
    assert not reviews.filter(secrecy_reviewed=False).exists()
    assert not reviews.filter(secrecy_conclusion="").exists()
    assert not DisclosureEvent.objects.filter(body__isnull=True).exists()
