"""Each unit's counts of its cases kept in the database (feedback.kept_counts):
after the value cache is flushed (a deployment, Redis restarted, a bulk
load's global bump) the wall and the home page read the units' rows instead
of counting the county's cases, and the rows stay those of the cases through
every change: a service's, a row's save, a round's, a case's move."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.db.models import F
from django.test import Client
from django.utils import timezone

from composition.views import town_feedback
from core import caching, events
from feedback import kept_counts, services
from feedback.models import (
    AnswerRound,
    Rating,
    Submission,
    SubmissionQuerySet,
    UnitCounts,
)
from tests.factories import (
    DepartmentFactory,
    SubmissionFactory,
    SuperuserFactory,
    UnitFactory,
)
from tests.feedback.test_admin import change_data, change_url
from tests.feedback.test_views import form_data
from tests.perf.kept import a_round_of, flushed, recounted, wall_counts
from tests.perf.test_scoped_values import two_towns
from tests.perf.test_unit_and_catalog_scopes import counted
from tests.perf.test_wall_summary_compiled import varied

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]


@pytest.fixture
def county(changed):
    # Committed, as a page outside the change's transaction meets it: the
    # units changed in this (the test's) transaction are counted, not read
    # (kept_counts._pending).
    with changed():
        return two_towns()


def rows_true(selection: str) -> None:
    """Every row counted at its generation holds the counts of the cases."""
    fresh = recounted(selection)
    for row in UnitCounts.objects.filter(selection=selection):
        if row.counted_generation == row.generation:
            part = kept_counts._part(row.parts)
            assert part == fresh.get(row.unit_id, kept_counts.empty_part()), (
                row.unit_id,
                selection,
            )


class ByUnit(list):
    """The by-unit counts of cases made from here on: their keyword
    arguments (the straightforward counts of `expected` left out)."""

    def __init__(self, calls: list):
        super().__init__()
        self.calls = calls

    def __iter__(self):
        return iter([kw for _args, kw in self.calls if kw.get("by_unit")])

    def __eq__(self, other):
        return list(iter(self)) == other

    def __bool__(self):
        return bool(list(iter(self)))

    def clear(self):
        self.calls.clear()


def by_unit_counts(monkeypatch) -> ByUnit:
    return ByUnit(counted(monkeypatch, SubmissionQuerySet, "summary_parts"))


def test_after_a_flush_the_wall_reads_the_rows_not_the_cases(
    county, changed, monkeypatch
):
    with changed():
        varied(county)
    assert kept_counts.refresh() == 2 * len(recounted("home")) + 2 * 2  # and the towns
    calls = by_unit_counts(monkeypatch)
    for query in ("", "unit=wenli"):
        flushed()
        response = Client().get(f"/feedback/?{query}")
        assert response.status_code == 200
        assert response.context["summary"] == wall_counts(query)
    assert calls == []  # nothing counted: every unit's row was fresh
    flushed()
    caching._bump()  # a bulk load's bump: the rows are not the cache
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    assert calls == []


def test_a_filter_other_than_the_unit_counts_the_cases(county, monkeypatch, changed):
    with changed():
        varied(county)
    kept_counts.refresh()
    calls = by_unit_counts(monkeypatch)
    flushed()
    response = Client().get("/feedback/?kind=suggestion")
    assert response.context["summary"] == wall_counts("kind=suggestion")
    assert calls  # not a kept selection: counted
    assert set(UnitCounts.objects.values_list("selection", flat=True)) == {
        "wall",
        "home",
    }


def test_only_the_unit_whose_case_changed_is_counted_again(
    county, changed, monkeypatch
):
    with changed():
        varied(county)
    kept_counts.refresh()
    case = Submission.objects.filter(unit=county["wenli"]).order_by("pk").first()
    with changed():
        case.delete()
    calls = by_unit_counts(monkeypatch)
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    assert [call["units"] for call in calls] == [(county["wenli"].pk,)]
    rows_true("wall")
    # Kept: the next flush counts nothing.
    calls.clear()
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    assert calls == []


# Cases coming in (kept_counts._came_in, 2026-12-07, fifth session) ---------


def came_in_rows(unit) -> list[tuple]:
    return list(
        UnitCounts.objects.filter(unit=unit)
        .order_by("selection")
        .values_list("selection", "generation", "counted_generation", "added")
    )


def test_cases_coming_in_are_counted_alone_and_added(county, changed, monkeypatch):
    """Two cases come in (a resident's POST, the back office's add): their
    unit's rows list them; a flushed wall counts those two cases alone and
    adds them to the unit's counts, which are then the cases'."""
    with changed():
        varied(county)
    kept_counts.refresh()
    wenli = county["wenli"]
    resident = Client()
    with changed():
        assert (
            resident.post(
                "/feedback/new/", form_data(wenli, title="路灯坏了")
            ).status_code
            == 302
        )
        SubmissionFactory(unit=wenli, accepted=True)
    new = list(
        Submission.objects.filter(unit=wenli)
        .order_by("-pk")
        .values_list("pk", flat=True)[:2]
    )
    listed = "".join(f",{pk}" for pk in sorted(new))
    for selection, generation, at, added in came_in_rows(wenli):
        assert (generation - at, added) == (2, listed), selection
    calls = by_unit_counts(monkeypatch)
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    assert [(call["cases"], call.get("units")) for call in calls] == [
        (tuple(sorted(new)), None)
    ]
    rows_true("wall")
    home = Submission.objects.on_record().filter(unit=wenli)
    assert town_feedback({wenli.pk: wenli.slug}) == home.summary()
    rows_true("home")
    for _selection, generation, at, added in came_in_rows(wenli):
        assert (at, added) == (generation, "")


def test_a_case_come_in_then_acted_on_counts_its_unit_whole(
    county, changed, monkeypatch
):
    kept_counts.refresh()
    wenli = county["wenli"]
    with changed():
        case = SubmissionFactory(unit=wenli)
    with changed():
        services.accept(case, by=SuperuserFactory(), department=DepartmentFactory())
    assert {added for *_rest, added in came_in_rows(wenli)} == {None}
    calls = by_unit_counts(monkeypatch)
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    assert [(call["units"], call.get("cases")) for call in calls] == [
        ((wenli.pk,), None)
    ]
    rows_true("wall")


@pytest.mark.parametrize("change", ["moved", "deleted", "hidden by hand"])
def test_a_case_come_in_then_changed_is_counted_as_it_is(county, changed, change):
    """Moved to another town (its move raises both units: counted whole),
    deleted, or hidden by a bare update (no event: the unit's rows still
    list it, and it is counted as it is now, not on record)."""
    kept_counts.refresh()
    wenli, shangcun = county["wenli"], county["shangcun"]
    with changed():
        case = SubmissionFactory(unit=wenli, accepted=True)
    with changed():
        if change == "moved":
            case.unit = shangcun
            case.save()
        elif change == "deleted":
            case.delete()
        else:
            Submission.objects.filter(pk=case.pk).update(
                status="not_published", hidden_reason="重复"
            )
    for query in ("", "unit=wenli", "unit=shangcun"):
        flushed()
        assert Client().get(f"/feedback/?{query}").context["summary"] == wall_counts(
            query
        )
    rows_true("wall")
    rows_true("home")


def test_a_denunciation_coming_in_counts_on_the_home_page_not_the_wall(county, changed):
    kept_counts.refresh()
    wenli = county["wenli"]
    with changed():
        SubmissionFactory(unit=wenli, kind="denunciation")
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    home = Submission.objects.on_record().filter(unit=wenli)
    assert town_feedback({wenli.pk: wenli.slug}) == home.summary()
    rows_true("wall")
    rows_true("home")


def test_a_count_begun_before_a_case_came_in_writes_nothing(county, changed):
    """The generation read, the case comes in (raised with its commit), the
    count of before written at the generation read: refused; the next page
    adds the case alone to the counts of before."""
    kept_counts.refresh()
    wenli = county["wenli"]
    generation = UnitCounts.objects.get(unit=wenli, selection="wall").generation
    old = recounted("wall")[wenli.pk]
    with changed():
        case = SubmissionFactory(unit=wenli, accepted=True)
    kept_counts._keep("wall", {wenli.pk: generation}, {wenli.pk: old})
    row = UnitCounts.objects.get(unit=wenli, selection="wall")
    assert (row.generation, row.counted_generation) == (generation + 1, generation)
    assert row.added == f",{case.pk}"
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    rows_true("wall")


def test_more_cases_than_a_row_lists_count_their_unit_whole(
    county, changed, monkeypatch
):
    kept_counts.refresh()
    wenli = county["wenli"]
    with changed():
        for _ in range(kept_counts.ADDED_LIMIT):
            SubmissionFactory(unit=wenli)
    listed = came_in_rows(wenli)[0][3]
    assert listed is not None and listed.count(",") == kept_counts.ADDED_LIMIT
    # Listed up to the limit (ids of 10 digits), then one more.
    UnitCounts.objects.filter(unit=wenli).update(
        added=",1234567890" * kept_counts.ADDED_LIMIT
    )
    with changed():
        SubmissionFactory(unit=wenli)
    assert {added for *_rest, added in came_in_rows(wenli)} == {None}
    calls = by_unit_counts(monkeypatch)
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    assert [call["units"] for call in calls] == [(wenli.pk,)]
    rows_true("wall")


# "{pk}": the id of the one case come in since the counts.
@pytest.mark.parametrize(
    "added",
    [
        "",
        ",x",
        "{pk}",
        ",{pk},",
        ", {pk}",
        ",+{pk}",
        ",0{pk}",
        ",-{pk}",
        ",0",
        ",{pk},{pk}",
        ",{pk}\x1f",  # a control character (PostgreSQL keeps no NUL)
        ",99999999999999999999",
        ",1,2,3",
        ",\u202e{pk}",
        "," + "9" * 5000,
    ],
)
def test_a_list_not_as_written_counts_the_unit_whole(county, changed, added):
    """One case come in since the counts, its row's list of them not as
    written (by hand, or another version's): counted whole, right."""
    kept_counts.refresh()
    wenli = county["wenli"]
    with changed():
        case = SubmissionFactory(unit=wenli, accepted=True)
    UnitCounts.objects.filter(unit=wenli).update(
        added=added.replace("{pk}", str(case.pk))
    )
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    rows_true("wall")
    # The wall's row counted again (the home page's left as it was).
    assert {row[0]: row[3] for row in came_in_rows(wenli)}["wall"] == ""


@pytest.mark.django_db(transaction=True)
def test_a_case_saved_outside_a_transaction_is_raised_after_it(county, changed):
    """The shell's `create()` commits the row before any raise: a count in
    between would have it, and a list would add it twice. Raised after its
    commit as any change: its unit counted whole."""
    kept_counts.refresh()
    wenli = county["wenli"]
    SubmissionFactory(unit=wenli)  # autocommit: raised at once, after its commit
    assert {added for *_rest, added in came_in_rows(wenli)} == {None}
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    rows_true("wall")


def test_the_rows_follow_every_step_of_a_case(county, changed):
    """Received, accepted, answered, rated 不满意 (a round kept), answered
    again, moved to another town's village (saved, as the admin does), hidden,
    deleted:
    after each, a flushed wall and home page show the counts of the cases."""
    kept_counts.refresh()
    clerk = SuperuserFactory()
    department = DepartmentFactory()
    wenli, shangcun = county["wenli"], county["shangcun"]
    town = {u.pk: u.slug for u in (county["fengming"], wenli, county["maoshan"])}
    visitor = Client()

    def check() -> None:
        for selection in ("wall", "home"):
            rows_true(selection)
        flushed()
        assert visitor.get("/feedback/").context["summary"] == wall_counts()
        home = Submission.objects.on_record().filter(unit__in=list(town))
        assert town_feedback(town) == home.summary()

    with changed():
        case = SubmissionFactory(unit=wenli, title="路灯坏了")
    check()
    with changed():
        services.accept(case, by=clerk, department=department)
    check()
    with changed():
        services.answer(case, by=clerk, department=department, text="已修好。")
    check()
    with changed():
        services.rate(case, rating=Rating.UNSATISFIED, comment="还是不亮")
    assert AnswerRound.objects.filter(submission=case).exists()
    check()
    case.refresh_from_db()
    with changed():
        services.answer(case, by=clerk, department=department, text="换了灯泡。")
        services.rate(case, rating=Rating.SATISFIED)
    check()
    with changed():
        case.unit = shangcun
        case.save()
    check()
    with changed():
        services.hide(case, by=clerk, reason="重复提交")
    check()
    with changed():
        Submission.objects.get(pk=case.pk).delete()
    check()


def test_a_round_changed_alone_raises_its_cases_unit(county, changed):
    case = SubmissionFactory(unit=county["xiacun"], accepted=True)
    kept_counts.refresh()
    before = dict(
        UnitCounts.objects.filter(selection="wall").values_list("unit_id", "generation")
    )
    with changed():
        a_round_of(case)
    after = dict(
        UnitCounts.objects.filter(selection="wall").values_list("unit_id", "generation")
    )
    raised = {unit for unit in after if after[unit] != before[unit]}
    assert raised == {county["xiacun"].pk}
    flushed()
    summary = Client().get("/feedback/").context["summary"]
    assert summary == wall_counts()
    assert {r["label"]: r["count"] for r in summary["ratings"]}["不满意"] == 1


def test_a_case_saved_over_one_built_by_hand_raises_where_it_was(county, changed):
    case = SubmissionFactory(unit=county["wenli"], accepted=True)
    kept_counts.refresh()
    loaded = Submission.objects.get(pk=case.pk)
    # Built by hand over the row (a restore, a script): where it was is read
    # before the save (core.loaded.KeepsLoaded).
    copy = Submission(
        **{f.attname: getattr(loaded, f.attname) for f in loaded._meta.concrete_fields}
    )
    copy.unit = county["xiacun"]
    with changed():
        copy.save()
    stale = UnitCounts.objects.exclude(counted_generation=F("generation"))
    assert set(stale.values_list("unit_id", flat=True)) == {
        county["wenli"].pk,
        county["xiacun"].pk,
    }
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    rows_true("wall")


def test_an_event_with_no_row_raises_every_unit(county, changed):
    kept_counts.refresh()
    with changed():
        events.announce("imported", Submission)
    stale = UnitCounts.objects.exclude(counted_generation=F("generation"))
    assert stale.count() == UnitCounts.objects.count() > 0


def test_cases_moved_at_once_and_announced_by_id_raise_every_unit(county, changed):
    """An update() moved the case before its event: where it was is unknown
    (not where it is now), so every unit's counts are counted again."""
    case = Submission.objects.filter(unit=county["wenli"]).first()
    kept_counts.refresh()
    with changed():
        Submission.objects.filter(pk=case.pk).update(unit=county["xiacun"])
        events.announce("moved", Submission, [case.pk])
    stale = UnitCounts.objects.exclude(counted_generation=F("generation"))
    assert stale.count() == UnitCounts.objects.count()
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    rows_true("wall")


def test_a_write_counted_before_a_change_is_dropped(county, changed):
    """A count that read the generation before a change committed never
    overwrites the change's raise: the row stays stale, counted again."""
    wenli = county["wenli"]
    kept_counts.refresh()
    generation = UnitCounts.objects.get(unit=wenli, selection="wall").generation
    old = recounted("wall")[wenli.pk]
    with changed():
        SubmissionFactory(unit=wenli, accepted=True)
    kept_counts._keep("wall", {wenli.pk: generation}, {wenli.pk: old})
    row = UnitCounts.objects.get(unit=wenli, selection="wall")
    assert row.generation == generation + 1
    assert row.counted_generation == generation  # not the raised one
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    rows_true("wall")


def test_rows_of_other_rules_or_not_as_written_are_counted_again(
    county, monkeypatch, changed
):
    with changed():
        varied(county)
    kept_counts.refresh()
    wenli, xiacun = county["wenli"], county["xiacun"]
    UnitCounts.objects.filter(unit=wenli, selection="wall").update(rules="0")
    UnitCounts.objects.filter(unit=xiacun, selection="wall").update(parts={"totals": 1})
    calls = by_unit_counts(monkeypatch)
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    assert [sorted(call["units"]) for call in calls] == [sorted([wenli.pk, xiacun.pk])]
    rows_true("wall")


def test_a_new_unit_is_counted_kept_and_raised_by_its_first_case(county, changed):
    kept_counts.refresh()
    village = UnitFactory(name="新村", slug="xincun", parent=county["fengming"])
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    # Its rows added by the page, counted (no case yet) and kept.
    row = UnitCounts.objects.get(unit=village, selection="wall")
    assert row.counted_generation == row.generation
    assert kept_counts._part(row.parts)["totals"] == {}
    with changed():
        SubmissionFactory(unit=village, accepted=True)
    row.refresh_from_db()
    assert row.counted_generation != row.generation
    flushed()
    assert Client().get("/feedback/?unit=xincun").context["summary"] == wall_counts(
        "unit=xincun"
    )
    row.refresh_from_db()
    assert row.counted_generation == row.generation
    assert kept_counts._part(row.parts)["totals"]["received"] == 1


def test_the_nightly_check_mends_a_row_a_lost_event_left(county, changed):
    """A process stopped between a commit and its raise: the row says it is
    counted, and is not. warm_pages counts every row again."""
    with changed():
        varied(county)
    kept_counts.refresh()
    wenli = county["wenli"]
    # A case saved with no event (a bare update: the services never do).
    waiting = Submission.objects.filter(unit=wenli, status="received")
    assert waiting.update(status="accepted", accepted_at=timezone.now())
    flushed()
    call_command("warm_pages", stdout=open("/dev/null", "w"))
    rows_true("wall")
    rows_true("home")
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()


def test_the_overdue_count_stays_the_days(county, changed):
    """The one count the date changes is never kept in the rows."""
    late = SubmissionFactory(unit=county["wenli"])
    Submission.objects.filter(pk=late.pk).update(
        due_date=timezone.localdate() + timedelta(days=1)
    )
    kept_counts.refresh()
    flushed()
    assert Client().get("/feedback/").context["summary"]["waiting_overdue"] == 0
    import time_machine

    with time_machine.travel(timezone.now() + timedelta(days=3)):
        flushed()
        summary = Client().get("/feedback/").context["summary"]
        assert summary["waiting_overdue"] == 1
        assert summary == wall_counts()


# A case acted on counts its unit's rows once its request's view returned
# (kept_counts.recount_acted_on): the wall's next miss reads them counted.


def rows_counted(unit) -> bool:
    """Whether every kept selection's row of the unit is counted at its
    generation."""
    rows = UnitCounts.objects.filter(unit=unit)
    return rows.count() == len(kept_counts.SELECTIONS) and all(
        row.counted_generation == row.generation for row in rows
    )


def wall_counts_nothing(monkeypatch) -> None:
    """A flushed wall shows the cases' counts and counts no unit's."""
    calls = by_unit_counts(monkeypatch)
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    assert calls == []
    monkeypatch.undo()


# Committed for real, as in production: a service's change is raised at its
# commit, inside the view, before the middleware counts (the `changed()`
# fixture would run the raise after the request).
@pytest.mark.django_db(transaction=True)
def test_a_case_acted_on_counts_its_units_rows_after_the_request(
    county, changed, monkeypatch
):
    """Accepted, answered and closed in the back office, rated 不满意 (the
    case reopened: saved again after its verb) and then 满意 by the resident
    on the tracking page: after each request its unit's rows are raised and
    counted, and a flushed wall counts nothing."""
    kept_counts.refresh()
    wenli = county["wenli"]
    case = SubmissionFactory(unit=wenli)
    staff = Client()
    staff.force_login(SuperuserFactory())
    department = DepartmentFactory()
    resident = Client()

    def by_staff(**step):
        case.refresh_from_db()
        data = change_data(case, department=department.pk, **step)
        return staff.post(change_url(case), data)

    def by_resident(rating):
        return resident.post(case.get_tracking_url(), {"rating": rating})

    steps = [
        lambda: by_staff(_accept="1"),
        lambda: by_staff(answer_text="已修好。", _answer="1"),
        lambda: by_resident("unsatisfied"),
        lambda: by_staff(answer_text="换了灯泡。", _answer="1"),
        lambda: by_resident("satisfied"),
        lambda: by_staff(_close="1"),
    ]
    for n, step in enumerate(steps):
        generation = UnitCounts.objects.get(unit=wenli, selection="wall").generation
        with changed():
            assert step().status_code == 302, n
        row = UnitCounts.objects.get(unit=wenli, selection="wall")
        assert row.generation > generation, n  # raised, then counted
        assert rows_counted(wenli), n
        rows_true("wall")
        rows_true("home")
        wall_counts_nothing(monkeypatch)
    case.refresh_from_db()
    assert case.status == "closed" and case.rating == "satisfied"


@pytest.mark.django_db(transaction=True)
def test_a_case_coming_in_is_left_to_the_readers(county, changed):
    """A resident's case coming in adds nothing to its POST: its unit's rows
    are raised, counted by the next page that reads them."""
    kept_counts.refresh()
    resident = Client()
    data = form_data(county["wenli"], title="路灯坏了")
    with changed():
        response = resident.post("/feedback/new/", data)
    assert response.status_code == 302
    assert Submission.objects.filter(title="路灯坏了").exists()
    assert not rows_counted(county["wenli"])
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    row = UnitCounts.objects.get(unit=county["wenli"], selection="wall")
    assert row.counted_generation == row.generation  # counted by the wall


@pytest.mark.django_db(transaction=True)
def test_a_count_that_fails_after_the_view_is_left_to_the_readers(
    county, changed, monkeypatch, caplog
):
    kept_counts.refresh()
    case = SubmissionFactory(unit=county["wenli"])
    staff = Client()
    staff.force_login(SuperuserFactory())
    department = DepartmentFactory()

    def refused(*args, **kwargs):
        raise DatabaseError("canceling statement due to statement timeout")

    monkeypatch.setattr(kept_counts, "read", refused)
    with changed():
        response = staff.post(
            change_url(case), change_data(case, department=department.pk, _accept="1")
        )
    monkeypatch.undo()
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "accepted"
    assert "not counted again" in caplog.text
    assert not rows_counted(county["wenli"])
    flushed()
    assert Client().get("/feedback/").context["summary"] == wall_counts()
    rows_true("wall")


def test_cases_acted_on_outside_a_request_are_left_to_the_readers(county, changed):
    """A command or the shell (the daily 督办) acts on cases outside any
    request: nothing counted then; the next request forgets them."""
    kept_counts.refresh()
    clerk = SuperuserFactory()
    case = SubmissionFactory(unit=county["maoshan"])
    with changed():
        services.accept(case, by=clerk, department=DepartmentFactory())
    assert not rows_counted(county["maoshan"])
    assert Client().get("/").status_code == 200
    row = UnitCounts.objects.get(unit=county["maoshan"], selection="wall")
    assert row.counted_generation != row.generation  # the wall counts it


def test_a_row_nested_deeper_than_the_decoder_goes_is_counted_again(county, changed):
    """A row not as written (a tampered table: counts nested 5,000 deep)
    is counted again, never a 500. SQLite refuses to store it."""
    from django.db import connection

    with changed():
        varied(county)
    kept_counts.refresh()
    deep = "[" * 5000 + "]" * 5000
    row = UnitCounts.objects.get(unit=county["wenli"], selection="wall")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {UnitCounts._meta.db_table} SET parts = %s WHERE id = %s",
                [deep, row.pk],
            )
    except DatabaseError:
        pytest.skip("this database refuses such a row")
    flushed()
    response = Client().get("/feedback/")
    assert response.status_code == 200
    assert response.context["summary"] == wall_counts()
    rows_true("wall")
