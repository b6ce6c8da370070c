"""A unit's or the catalog's change names its scopes (disclosure.page_scopes.
unit_change_scopes, catalog.page_scopes): every page and fragment shows it
at once (NAMES), the kept figures that read it are recomputed and equal the
straightforward count, and those of other towns (or, for the catalog, the
回音壁's counts) stay kept."""

import pytest
from django.test import Client

from catalog.models import Item
from catalog.page_scopes import CATALOG
from composition import stats
from core import caching
from core import figures as registry
from disclosure import compliance_views, page_scopes
from disclosure.figures import NO_CASE_COUNTS
from disclosure.models import Unit
from feedback import figures as feedback_figures
from feedback.models import CONFIDENTIAL_KINDS, Submission, SubmissionQuerySet
from tests.factories import (
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def county():
    """Two towns of two villages each, a disclosure and two cases a village."""
    found = {"item": ItemFactory()}
    for town_name, slug, villages in (
        ("凤鸣镇", "fengming", ("wenli", "maoshan")),
        ("青山镇", "qingshan", ("shangcun", "xiacun")),
    ):
        town = TownFactory(name=town_name, slug=slug)
        found[slug] = town
        for village in villages:
            unit = UnitFactory(name=f"{village}村", slug=village, parent=town)
            found[village] = unit
            found[f"row-{village}"] = DisclosureFactory(
                unit=unit, item=found["item"], title=f"{village}村务公开"
            )
            SubmissionFactory(unit=unit, accepted=True)
            SubmissionFactory(unit=unit)
    return found


def counted(monkeypatch, owner, name, **only) -> list:
    """The calls of owner.name (those with these keyword arguments)."""
    calls = []
    original = getattr(owner, name)

    def counting(*args, **kwargs):
        if all(kwargs.get(k) == v for k, v in only.items()):
            calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def on_record():
    return Submission.objects.on_record().exclude(kind__in=CONFIDENTIAL_KINDS)


def in_town(town) -> set[int]:
    return set(Unit.objects.of_town(town).values_list("pk", flat=True))


def counted_units(call) -> set[int]:
    rows = call[0][0]  # the queryset summary_parts was called on
    if call[1].get("units") is not None:  # and the units it counted of it
        rows = rows.filter(unit__in=call[1]["units"])
    return set(rows.order_by().values_list("unit", flat=True).distinct())


def renamed(unit, name, capture):
    unit = Unit.objects.get(pk=unit.pk)  # loaded: its old place is known
    with capture(execute=True):
        unit.name = name
        unit.save()
    return unit


def test_a_units_rename_recounts_no_wall(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True)
    visitor = Client()
    assert visitor.get("/feedback/").context["summary"] == on_record().summary()
    assert len(parts) == 1
    renamed(county["maoshan"], "新茅山村", django_capture_on_commit_callbacks)
    response = visitor.get("/feedback/")
    assert response.context["summary"] == on_record().summary()
    # A name is not counted: the towns' counts stay kept.
    assert len(parts) == 1
    # Every page shows the new name at once (the cards, the unit select).
    assert "新茅山村" in response.content.decode()


def test_a_village_moved_recounts_no_part_of_the_wall(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    # The wall's counts are kept per unit: which town holds a village
    # changes none of them (the sum is added up again).
    third = TownFactory(name="白鹿镇", slug="bailu")
    SubmissionFactory(unit=UnitFactory(slug="bailucun", parent=third), accepted=True)
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True)
    visitor = Client()
    assert visitor.get("/feedback/").context["summary"] == on_record().summary()
    wenli = Unit.objects.get(pk=county["wenli"].pk)
    with django_capture_on_commit_callbacks(execute=True):
        wenli.parent = county["qingshan"]
        wenli.save()
    summary = visitor.get("/feedback/").context["summary"]
    assert len(parts) == 1
    assert summary == on_record().summary()
    filtered = visitor.get("/feedback/?unit=wenli").context["summary"]
    assert filtered == on_record().filter(unit=wenli).summary()


def test_a_publication_recounts_no_wall(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True)
    visitor = Client()
    visitor.get("/feedback/")
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=county["wenli"], item=county["item"])
    case = Submission.objects.filter(unit=county["shangcun"]).first()
    with django_capture_on_commit_callbacks(execute=True):
        case.title = "改过的标题"
        case.save()
    assert visitor.get("/feedback/").context["summary"] == on_record().summary()
    # Only the unit whose case changed, not its town's, nor the one with a
    # publication.
    assert len(parts) == 2
    assert counted_units(parts[1]) == {county["shangcun"].pk}


def test_a_village_moved_to_another_town_is_counted_there(
    county, django_capture_on_commit_callbacks
):
    visitor = Client()

    def received(town):
        return visitor.get(f"/stats/?town={town}").context["feedback"]["received"]

    def matrix(town):
        return visitor.get(f"/compliance/?kind=village&town={town}").content.decode()

    assert received("qingshan") == received("fengming") == 4
    assert "wenli村" not in matrix("qingshan") and "wenli村" in matrix("fengming")
    wenli = Unit.objects.get(pk=county["wenli"].pk)
    with django_capture_on_commit_callbacks(execute=True):
        wenli.parent = county["qingshan"]
        wenli.save()
    for town in ("qingshan", "fengming"):
        by_hand = on_record().filter(unit__in=in_town(county[town])).count()
        assert received(town) == by_hand
    assert received("qingshan") == 6 and received("fengming") == 2
    assert "wenli村" in matrix("qingshan") and "wenli村" not in matrix("fengming")
    wall = visitor.get("/feedback/").context["summary"]
    assert wall == on_record().summary()
    one = visitor.get("/feedback/?unit=wenli").context["summary"]
    assert one == on_record().filter(unit=wenli).summary()


def test_a_units_change_keeps_other_towns_figures(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    collected = counted(
        monkeypatch,
        registry,
        "collect_parts",
        by_day=False,
        independent_of=frozenset(NO_CASE_COUNTS),
    )
    matrices = counted(monkeypatch, compliance_views, "matrix_figures")
    visitor = Client()
    for town in ("fengming", "qingshan"):
        visitor.get(f"/stats/?town={town}")
        visitor.get(f"/compliance/?kind=village&town={town}")
    assert len(collected) == len(matrices) == 2
    renamed(county["shangcun"], "新上村", django_capture_on_commit_callbacks)
    visitor.get("/stats/?town=fengming")
    visitor.get("/compliance/?kind=village&town=fengming")
    assert len(collected) == len(matrices) == 2  # another town's unit: kept
    page = visitor.get("/compliance/?kind=village&town=qingshan").content.decode()
    assert "新上村" in page and len(matrices) == 3
    visitor.get("/stats/?town=qingshan")
    assert len(collected) == 3


def test_a_catalog_change_recomputes_compliance_not_the_walls_counts(
    county, monkeypatch, django_capture_on_commit_callbacks, settings
):
    # The wall's counts and the home page's (each per unit or town).
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True)
    matrices = counted(monkeypatch, compliance_views, "matrix_figures")
    # The statistics' counts: the disclosures' read the catalog, the cases'
    # not (nor any row of a unit but its cases).
    assert registry.unread[feedback_figures.figures] >= {CATALOG}
    counts, cases = (
        counted(
            monkeypatch,
            registry,
            "collect_parts",
            by_day=False,
            independent_of=frozenset(unread),
        )
        for unread in (NO_CASE_COUNTS, registry.unread[feedback_figures.figures])
    )
    visitor = Client()
    url = "/compliance/?kind=village&town=fengming"
    visitor.get(url)
    visitor.get("/feedback/")
    visitor.get("/stats/?town=fengming")
    home_figures = visitor.get("/").context["feedback"]
    assert home_figures
    assert len(matrices) == len(counts) == len(cases) == 1
    # The wall's, the home page's, the statistics' year (feedback.figures.
    # year_summary, since 2026-12-07).
    assert len(parts) == 3
    item = county["item"]
    with django_capture_on_commit_callbacks(execute=True):
        ItemFactory(category=item.category, name="新增的村务事项")
    kept = visitor.get(url)
    assert len(matrices) == 2
    assert visitor.get("/feedback/").context["summary"] == on_record().summary()
    # The home page's figures are kept whole since 2026-12-07: an item added
    # moves no item's kind (GROUPED), the only part of the catalog they read.
    home_kept = visitor.get("/")
    assert "feedback" not in home_kept.context
    assert len(parts) == 3  # no count of cases reads the catalog
    # The matrix and statistics kept are those computed with nothing kept.
    stats_kept = visitor.get("/stats/?town=fengming").context["charts"]
    assert len(counts) == 2 and len(cases) == 1  # the cases' figures: kept
    settings.VALUE_CACHE_SECONDS = 0
    plain = visitor.get(url)
    assert kept.context["matrix_table"] == plain.context["matrix_table"]
    assert stats_kept == visitor.get("/stats/?town=fengming").context["charts"]
    # The home page kept is the one made with nothing kept, its figures
    # those read before the item was added.
    home_plain = visitor.get("/")
    assert home_plain.context["feedback"] == home_figures
    assert home_kept.content == home_plain.content


def test_the_lists_count_by_category_follows_an_item_moved(
    county, django_capture_on_commit_callbacks
):
    item = county["item"]
    other = CategoryFactory(catalog=item.category.catalog, code="9", name="别的栏目")
    visitor = Client()

    def count(category) -> int:
        url = f"/disclosures/?unit=wenli&category={category.pk}"
        return visitor.get(url).context["page"].paginator.count

    assert count(item.category) == 1 and count(other) == 0
    item = Item.objects.get(pk=item.pk)
    with django_capture_on_commit_callbacks(execute=True):
        item.category = other
        item.save()
    assert count(other) == 1 and count(county["item"].category) == 0


def test_a_units_new_name_shows_on_cached_pages_of_other_scopes(
    # Read twice, a hit: not in a day's last second (kept no longer than midnight).
    away_from_midnight,
    county,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.PAGE_CACHE_SECONDS = 60
    visitor = Client()
    row = county["row-wenli"]
    urls = [f"/disclosures/{row.pk}/", "/boards/maoshan/", "/disclosures/?unit=xiacun"]
    for url in urls:
        visitor.get(url)
        assert visitor.get(url)["X-Page-Cache"] == "hit"
    renamed(county["wenli"], "文理村新名", django_capture_on_commit_callbacks)
    assert "文理村新名" in visitor.get(urls[0]).content.decode()
    for url in urls[1:]:  # the unit select and the chrome: made again
        assert visitor.get(url).get("X-Page-Cache") != "hit"
    settings.PAGE_CACHE_SECONDS = 0
    item = Item.objects.get(pk=county["item"].pk)
    with django_capture_on_commit_callbacks(execute=True):
        item.name = "改名的事项"
        item.save()
    assert "改名的事项" in visitor.get("/disclosures/?unit=xiacun").content.decode()


def test_the_slugs_known_to_a_process_follow_a_units_change_elsewhere(county):
    wenli = county["wenli"]
    assert page_scopes.unit_scopes([wenli.pk]) == ["unit:wenli", "town:fengming"]
    # Changed through another process: its event named "units" there.
    Unit.objects.filter(pk=wenli.pk).update(slug="wenli2")
    caching._bump_scopes([page_scopes.UNITS])
    assert page_scopes.unit_scopes([wenli.pk]) == ["unit:wenli2", "town:fengming"]


def test_a_units_change_names_where_it_is_and_was(county):
    from core import events

    wenli = Unit.objects.get(pk=county["wenli"].pk)
    wenli.slug, wenli.parent = "wenli-new", county["qingshan"]
    event = events.Event("saved", "disclosure.Unit", (wenli.pk,), instance=wenli)
    where = ["town:fengming", "town:qingshan", "unit:wenli", "unit:wenli-new"]
    assert page_scopes.unit_change_scopes(event) == sorted(
        [
            *where,
            # Which units a town holds changed: the 回音壁's counts.
            *(f"cases-{scope}" for scope in where),
            *names_shown_with(wenli),
            "units",
        ]
    )
    town = Unit.objects.get(pk=county["qingshan"].pk)
    event = events.Event("saved", "disclosure.Unit", (town.pk,), instance=town)
    assert "town:qingshan" in page_scopes.unit_change_scopes(event)
    assert "scopes" in stats.kept(town)
    # Renamed only: its name, its pages and figures, not the counts of cases.
    town.name = "新青山镇"
    assert page_scopes.unit_change_scopes(event) == sorted(
        ["town:qingshan", "unit:qingshan", "units", *names_shown_with(town)]
    )


def names_shown_with(unit) -> list[str]:
    """A unit's name scope, its villages' and its bodies' (a 回音壁 card
    shows a village's town, a body's full name its unit's)."""
    villages = Unit.objects.filter(parent=unit).values_list("pk", flat=True)
    bodies = unit.organisations.values_list("pk", flat=True)
    assert bodies.exists()
    return [
        *(f"names:unit:{pk}" for pk in [unit.pk, *villages]),
        *(f"names:body:{pk}" for pk in bodies),
    ]


def test_a_towns_rename_names_its_villages_and_bodies_names(county):
    from core import events

    town = Unit.objects.get(pk=county["qingshan"].pk)
    town.name = "新青山镇"
    event = events.Event("saved", "disclosure.Unit", (town.pk,), instance=town)
    named = page_scopes.unit_change_scopes(event)
    for village in ("shangcun", "xiacun"):
        assert f"names:unit:{county[village].pk}" in named
    assert f"names:unit:{county['wenli'].pk}" not in named


def test_an_answer_rounds_change_recounts_its_towns_figures_only(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from feedback.models import AnswerRound

    case = Submission.objects.filter(unit=county["wenli"]).first()
    with django_capture_on_commit_callbacks(execute=True):
        earlier = AnswerRound.objects.create(
            submission=case,
            number=1,
            due_date=timezone.localdate() - timedelta(days=3),
            answer_text="第一轮的答复",
            answered_at=timezone.now() - timedelta(days=3),
            rating="unsatisfied",
        )
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True)
    collected = counted(
        monkeypatch,
        registry,
        "collect_parts",
        by_day=False,
        independent_of=frozenset(NO_CASE_COUNTS),
    )
    visitor = Client()
    assert visitor.get("/feedback/").context["summary"]["rated"] == 1
    visitor.get("/stats/?town=qingshan")
    # The wall's and the statistics' year (counted by unit since 2026-12-07).
    assert len(parts) == 2 and len(collected) == 1
    with django_capture_on_commit_callbacks(execute=True):
        earlier.rating = ""
        earlier.save()
    summary = visitor.get("/feedback/").context["summary"]
    assert summary == on_record().summary() and summary["rated"] == 0
    assert len(parts) == 3
    assert counted_units(parts[2]) <= in_town(county["fengming"])
    visitor.get("/stats/?town=qingshan")
    assert len(collected) == 1  # another town's: kept


def test_an_obligation_event_recomputes_its_towns_matrix_only(
    county, monkeypatch, django_capture_on_commit_callbacks, settings
):
    from datetime import date

    from catalog.models import Timing
    from disclosure.models import ObligationEvent

    decisions = ItemFactory(
        frequency=Item.Frequency.IMMEDIATELY, timing=Timing.EVENT, code="CW05"
    )
    matrices = counted(monkeypatch, compliance_views, "matrix_figures")
    visitor = Client()
    url = "/compliance/?town={}&year=2011&as_of=2011-08-01"
    for town in ("fengming", "qingshan"):
        visitor.get(url.format(town))
    assert len(matrices) == 2
    with django_capture_on_commit_callbacks(execute=True):
        event = ObligationEvent.objects.create(
            unit=county["wenli"],
            item=decisions,
            event_date=date(2011, 7, 2),
            description="村道",
        )
    visitor.get(url.format("qingshan"))
    assert len(matrices) == 2  # another town's: kept
    kept = visitor.get(url.format("fengming")).context["matrix_table"]
    assert len(matrices) == 3
    # Moved to the other town's village: both matrices follow.
    event = ObligationEvent.objects.get(pk=event.pk)
    with django_capture_on_commit_callbacks(execute=True):
        event.unit = county["xiacun"]
        event.save()
    moved = {
        t: visitor.get(url.format(t)).context["matrix_table"]
        for t in ("fengming", "qingshan")
    }
    settings.VALUE_CACHE_SECONDS = 0
    for town in ("fengming", "qingshan"):
        plain = visitor.get(url.format(town)).context["matrix_table"]
        assert moved[town] == plain
    assert moved["fengming"] != kept


def test_a_topic_renamed_shows_in_the_choices_and_keeps_the_counts(
    county, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.factories import TagFactory

    tag = TagFactory(name="道路")
    parts = counted(monkeypatch, SubmissionQuerySet, "summary_parts", by_unit=True)
    visitor = Client()
    assert "道路" in visitor.get("/feedback/").content.decode()
    assert "道路" in visitor.get("/feedback/new/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        tag.name = "村道硬化"
        tag.save()
    for url in ("/feedback/", "/feedback/new/"):
        page = visitor.get(url).content.decode()
        assert "村道硬化" in page and "道路" not in page
    assert len(parts) == 1  # no count reads a topic's name


def test_every_public_model_names_its_scopes():
    """The global version (every kept value and fragment dropped) is left for
    what no row tells: a model declared without scopes would bring the
    county-wide recount back on each of its saves."""
    from core import content

    unnamed = [m for m, d in content.public_models.items() if d.scopes is None]
    assert unnamed == []


def test_saving_units_the_catalog_and_topics_keeps_the_global_version(
    county, django_capture_on_commit_callbacks
):
    from tests.factories import TagFactory

    before = caching.version()
    with django_capture_on_commit_callbacks(execute=True):
        renamed(county["wenli"], "文理村", django_capture_on_commit_callbacks)
        item = Item.objects.get(pk=county["item"].pk)
        item.name = "新名字"
        item.save()
        TagFactory(name="新话题")
    assert caching.version() == before
