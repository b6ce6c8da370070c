"""A 回音壁 card follows the names it shows, not every unit's and the
catalog's (core.fragments `names_listed`, wall_tags.names_shown): its
unit's, its town's, its answering body's and that body's unit's, its
topic's and the answering office's. Each change of one of them shows on
the wall at once, exactly as a render with nothing kept would; a change
of a name no card shows leaves the cards kept."""

import pytest
from django.test import Client

from catalog.models import BodyKind, Department
from disclosure.models import Organisation, Unit
from feedback import services
from feedback.models import Submission, Tag
from feedback.templatetags import wall_tags
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.test_merged_staleness_attack import (
    rendered_afresh,
    served,
    stale_among,
)
from tests.perf.test_unit_and_catalog_scopes import counted

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def wall(db):
    return answered_cases()


def answered_cases(more_towns=()) -> dict:
    """Two towns of a village each (and `more_towns`: (name, slug, village
    slug)); four answered cases of wenli, by its 村委会, by the town's 党委,
    by the town's 包村干部 and by the office alone, and an open one of
    shangcun with a topic."""
    found = {"staff": UserFactory(username="office", is_staff=True)}
    found["office"] = DepartmentFactory(name="党政办")
    found["tag"] = TagFactory(name="道路维修")
    for town_name, slug, village in (
        ("凤鸣镇", "fengming", "wenli"),
        ("青山镇", "qingshan", "shangcun"),
        *more_towns,
    ):
        town = found[slug] = TownFactory(name=town_name, slug=slug)
        found[village] = UnitFactory(name=f"{village}村", slug=village, parent=town)
    wenli, fengming = found["wenli"], found["fengming"]
    found["committee"] = Organisation.objects.get(
        unit=wenli, kind=BodyKind.VILLAGE_COMMITTEE
    )
    found["party_committee"] = Organisation.objects.get(
        unit=fengming, kind=BodyKind.PARTY_COMMITTEE
    )
    cases = {
        # Answered by the village's own 村委会, by the town's 党委, by the
        # town's 包村干部, by the office alone; open with a topic.
        "by its committee": found["committee"],
        "by the town's committee": found["party_committee"],
        "by a cadre": None,
        "by the office": None,
    }
    for title, body in cases.items():
        case = SubmissionFactory(unit=wenli, accepted=True, title=title)
        if title == "by a cadre":
            case.assigned_cadre = UserFactory(username="cadre")
            case.save()
        services.answer(
            case,
            by=found["staff"],
            department=found["office"],
            text="已办理。",
            body=body,
        )
        found[title] = Submission.objects.get(pk=case.pk)
    found["open"] = SubmissionFactory(
        unit=found["shangcun"], accepted=True, title="open", tag=found["tag"]
    )
    return found


URLS = ("/feedback/", "/feedback/?unit=wenli", "/feedback/?unit=shangcun")


def stale_cards(settings, change, capture) -> dict:
    visitor = Client()
    for url in URLS:
        served(visitor, url)
    with capture(execute=True):
        change()
    kept = {url: served(visitor, url) for url in URLS}
    return stale_among(kept, rendered_afresh(settings, URLS))


def saved(model, pk, **fields):
    row = model.objects.get(pk=pk)  # loaded: its old place is known
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()


CHANGES = {
    "the village renamed": lambda w: saved(Unit, w["wenli"].pk, name="新文理村"),
    "the town renamed": lambda w: saved(Unit, w["fengming"].pk, name="新凤鸣镇"),
    "the village moved to another town": lambda w: saved(
        Unit, w["wenli"].pk, parent=w["qingshan"]
    ),
    "the village made a community": lambda w: saved(
        Unit, w["wenli"].pk, kind=Unit.Kind.COMMUNITY
    ),
    "the answering body renamed": lambda w: saved(
        Organisation, w["committee"].pk, name="村民委员会"
    ),
    "the town's body renamed": lambda w: saved(
        Organisation, w["party_committee"].pk, name="党委会"
    ),
    "the answering body moved": lambda w: saved(
        Organisation, w["committee"].pk, unit=w["shangcun"], name="新村委会"
    ),
    "the office renamed": lambda w: saved(Department, w["office"].pk, name="综治办"),
    "the topic renamed": lambda w: saved(Tag, w["tag"].pk, name="道路养护"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_of_a_name_a_card_shows_shows_at_once(
    settings, wall, change, django_capture_on_commit_callbacks
):
    stale = stale_cards(
        settings, lambda: CHANGES[change](wall), django_capture_on_commit_callbacks
    )
    assert stale == {}, "\n\n".join(f"{u}:\n{d}" for u, d in stale.items())


def test_the_cards_read_no_row_when_kept(wall):
    visitor = Client()
    visitor.get("/feedback/")
    # One query for the cards not kept, none once they are.
    renders = []
    original = wall_tags.card_rows
    wall_tags.card_rows = lambda pks: renders.append(pks) or original(pks)
    try:
        visitor.get("/feedback/")
    finally:
        wall_tags.card_rows = original
    assert renders == []


def test_another_towns_unit_renamed_leaves_the_cards_kept(
    wall, monkeypatch, django_capture_on_commit_callbacks
):
    visitor = Client()
    visitor.get("/feedback/")
    rendered = counted(monkeypatch, wall_tags, "card_rows")
    # A unit no card shows: every card stays kept.
    other = UnitFactory(name="别村", slug="biecun", parent=wall["qingshan"])
    with django_capture_on_commit_callbacks(execute=True):
        saved(Unit, other.pk, name="别的村")
    response = visitor.get("/feedback/")
    assert "别的村" in response.content.decode()  # the page itself follows
    assert rendered == []
    # The village with four cards: only those four made again.
    with django_capture_on_commit_callbacks(execute=True):
        saved(Unit, wall["wenli"].pk, name="新文理村")
    response = visitor.get("/feedback/")
    assert [sorted(call[0][0]) for call in rendered] == [
        sorted(
            wall[t].pk
            for t in (
                "by its committee",
                "by the town's committee",
                "by a cadre",
                "by the office",
            )
        )
    ]
    assert response.content.decode().count("新文理村") >= 4


def test_a_body_renamed_makes_only_its_cards_again(
    wall, monkeypatch, django_capture_on_commit_callbacks
):
    visitor = Client()
    visitor.get("/feedback/")
    rendered = counted(monkeypatch, wall_tags, "card_rows")
    with django_capture_on_commit_callbacks(execute=True):
        saved(Organisation, wall["party_committee"].pk, name="党委会")
    assert "凤鸣镇党委会" in visitor.get("/feedback/").content.decode()
    assert [call[0][0] for call in rendered] == [[wall["by the town's committee"].pk]]


def test_a_catalog_change_but_an_office_leaves_the_cards_kept(
    wall, monkeypatch, django_capture_on_commit_callbacks
):
    """A card shows an office's name, nothing else of the catalog: an item
    renamed or its time limit changed makes no card again (every answered
    case's card followed CATALOG before 2026-12-06); the office renamed
    makes again the cards it answered, and they show the new name."""
    from catalog.models import Item
    from tests.factories import ItemFactory

    item = ItemFactory(name="村务公开", frequency=Item.Frequency.MONTHLY)
    visitor = Client()
    visitor.get("/feedback/")
    rendered = counted(monkeypatch, wall_tags, "card_rows")
    with django_capture_on_commit_callbacks(execute=True):
        saved(Item, item.pk, name="村务公开事项", frequency=Item.Frequency.QUARTERLY)
        ItemFactory(name="新增事项")
    assert visitor.get("/feedback/").status_code == 200
    assert rendered == []
    with django_capture_on_commit_callbacks(execute=True):
        saved(Department, wall["office"].pk, name="综治办")
    page = visitor.get("/feedback/").content.decode()
    answered = ("by its committee", "by the town's committee", "by a cadre")
    assert [sorted(call[0][0]) for call in rendered] == [
        sorted(wall[t].pk for t in (*answered, "by the office"))
    ]
    assert "综治办" in page and "党政办" not in page
