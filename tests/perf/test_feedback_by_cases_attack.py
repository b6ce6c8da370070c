"""An attack on the statistics' 回音壁 figures kept by the state of their
units' cases (feedback.kept_counts.by_cases, feedback.figures.figures): kept
in the cache under a digest of the name (year, day, language), the rules,
the release, the content settings, TIME_ZONE and each unit's "home" row
(id, generation, whether counted, counted_at), not under the value cache's
versions, so that a flush (`caching._bump()`) leaves them.

Every test compares what `figures` (or /stats/) gives after a change with
the straightforward count (`count_figures` with nothing kept, and
`submissions_for(...).summary()`), and checks that the kept path was really
taken (a read after a flush counts nothing: `count_figures` is not called
and no statement reads feedback_submission).

A change's raise of its units' rows runs once it commits (on_commit): here
inside `with changed():`. Without it (a plain test transaction) the change
is "lost": neither the value cache's scopes nor the rows move, as when a
process stops between a commit and its callbacks.
"""

import io
import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from core import caching
from core.charts import Chart
from core.figures import Figures, plain
from disclosure.models import Unit
from feedback import figures as feedback_figures
from feedback import kept_counts, services
from feedback.figures import count_figures, submissions_for
from feedback.models import AnswerRound, Rating, RatingChannel, Submission, UnitCounts
from tests.factories import (
    DepartmentFactory,
    PartyMemberFactory,
    SubmissionFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
)
from tests.feedback.test_admin import change_data, change_url
from tests.perf.test_wall_summary_compiled import answered
from tests.perf.two_towns import as_a_process_that_read_before, read_now

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "values_only", "no_compiled_plans"),
]

VILLAGES = {"fengming": ("wenli", "maoshan"), "qingshan": ("shangcun", "xiacun")}


def build_county() -> dict:
    """Two towns of two villages each; in each village a case waiting, one
    accepted, one answered (rated, with an earlier round rated 不满意:
    `answered`)."""
    county = {}
    for town_name, slug in (("凤鸣镇", "fengming"), ("青山镇", "qingshan")):
        town = TownFactory(name=town_name, slug=slug)
        county[slug] = town
        for village in VILLAGES[slug]:
            unit = UnitFactory(name=f"{village}村", slug=village, parent=town)
            county[village] = unit
            SubmissionFactory(unit=unit)
            SubmissionFactory(unit=unit, accepted=True)
            answered(unit, days=3, rating=Rating.SATISFIED)
    return county


@pytest.fixture
def county(changed):
    """Committed (the raises ran), every unit's rows counted (the nightly
    check), nothing kept yet."""
    with changed():
        county = build_county()
    kept_counts.refresh()
    caching._bump()
    return county


@pytest.fixture
def clerk():
    return SuperuserFactory(username="by_cases_clerk")


@pytest.fixture
def department():
    return DepartmentFactory(name="社会事务办")


@pytest.fixture
def calls(monkeypatch) -> list:
    """The calls of `count_figures` (the computation by_cases keeps)."""
    made = []
    real = feedback_figures.count_figures

    def counting(**kwargs):
        made.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(feedback_figures, "count_figures", counting)
    return made


# What is true, what is kept ---------------------------------------------------


def year() -> int:
    return timezone.localdate().year


def where(county, name: str) -> dict:
    """`{"town": …}` for a town's slug, `{"unit": …}` for a village's."""
    unit = Unit.objects.get(pk=county[name].pk)
    return {"town": unit} if unit.kind == Unit.Kind.TOWN else {"unit": unit}


def kept(county, name: str, *, of_year: int | None = None) -> Figures:
    return feedback_figures.figures(
        AnonymousUser(), year=of_year or year(), **where(county, name)
    )


def truth(county, name: str, *, of_year: int | None = None) -> Figures:
    """The straightforward figures: nothing of the value cache read."""
    from django.conf import settings

    seconds = settings.VALUE_CACHE_SECONDS
    settings.VALUE_CACHE_SECONDS = 0
    try:
        return plain(count_figures(year=of_year or year(), **where(county, name)))
    finally:
        settings.VALUE_CACHE_SECONDS = seconds


def straight(county, name: str, *, of_year: int | None = None) -> dict:
    return submissions_for(year=of_year or year(), **where(county, name)).summary()


PLACES = ("fengming", "qingshan", "wenli", "maoshan", "shangcun", "xiacun")


def all_true(county, places=PLACES) -> None:
    """Every town's and village's kept figures are the straightforward ones,
    before a flush and after one."""
    for flush in (False, True):
        if flush:
            caching._bump()
        for name in places:
            found = kept(county, name)
            assert found == truth(county, name), (name, flush)
            assert found.values["feedback"] == straight(county, name), (name, flush)


def submission_reads(queries) -> list[str]:
    """The statements among `queries` that read the cases' table."""
    return [q["sql"] for q in queries if Submission._meta.db_table in q["sql"]]


def assert_kept(county, name: str, calls: list) -> Figures:
    """After a flush, the figures come from what by_cases kept: no count,
    no statement on the cases."""
    caching._bump()
    before = len(calls)
    with CaptureQueriesContext(connection) as queries:
        found = kept(county, name)
    assert len(calls) == before, name
    assert submission_reads(queries.captured_queries) == [], name
    return found


class Recording:
    """The cache as kept_counts sees it, recording the keys by_cases
    writes (to tamper with them)."""

    def __init__(self, real):
        self.real = real
        self.written: list[str] = []

    def get(self, key, *args, **kwargs):
        return self.real.get(key, *args, **kwargs)

    def set(self, key, value, *args, **kwargs):
        self.written.append(key)
        return self.real.set(key, value, *args, **kwargs)


@pytest.fixture
def recorded(monkeypatch) -> Recording:
    recording = Recording(kept_counts.cache)
    monkeypatch.setattr(kept_counts, "cache", recording)
    return recording


def submit(unit, key: str, **fields) -> Submission:
    """A resident's case through the service (its events, its raise)."""
    case, created = services.submit(
        data={
            "kind": "suggestion",
            "unit": unit,
            "title": "修路",
            "text": "三组的路坏了。",
            "consent_to_publish": True,
            **fields,
        },
        client_key=key,
        form_token=f"t-{key}",
    )
    assert created
    return case


def fresh(case: Submission) -> Submission:
    return Submission.objects.get(pk=case.pk)


# The kept path ----------------------------------------------------------------


def test_kept_figures_outlive_a_flush_and_are_the_count(county, calls):
    for name in PLACES:
        assert kept(county, name) == truth(county, name)
    assert len(calls) == len(PLACES)
    for name in PLACES:
        found = assert_kept(county, name, calls)
        assert found == truth(county, name)
        assert found.values["feedback"] == straight(county, name)
        assert found.values["feedback"]["received"] > 0
    # Plain values: no lazy text survives in what was kept.
    found = kept(county, "fengming")
    assert all(
        type(chart) is Chart and type(chart.title) is str for chart in found.charts
    )
    assert all(type(label) is str for label, _value in found.totals)


def test_the_statistics_page_reads_them_after_a_flush(county, calls):
    member = Client()
    member.force_login(PartyMemberFactory(username="by_cases_member", branch_of=None))
    queries = [f"year={year()}&town=fengming", f"year={year()}&unit=xiacun"]
    for client in (Client(), member):
        for query in queries:
            response = client.get(f"/stats/?{query}")
            assert response.status_code == 200
            name = query.rpartition("=")[2]
            assert response.context["feedback"] == straight(county, name)
            assert client.get(f"/stats/csv/?{query}").status_code == 200
    # One count each (the member's page read what the visitor's kept).
    assert len(calls) == 2
    caching._bump()
    response = Client().get(f"/stats/?{queries[0]}")
    assert response.status_code == 200
    assert response.context["feedback"] == straight(county, "fengming")
    assert len(calls) == 2


def test_every_service_step_of_a_case_shows_at_once(county, clerk, department, changed):
    wenli = county["wenli"]
    all_true(county)
    with changed():
        case = submit(wenli, "k1")
    all_true(county)
    steps = [
        lambda c: services.accept(c, by=clerk, department=department),
        lambda c: services.escalate(c, why="测试督办", by=clerk),
        lambda c: services.answer(c, by=clerk, department=department, text="修好了"),
        lambda c: services.record_outcome(c, by=clerk, outcome="adopted"),
        lambda c: services.rate(c, rating=Rating.UNSATISFIED, comment="没修好"),
        lambda c: services.answer(c, by=clerk, department=department, text="又修了"),
        lambda c: services.record_follow_up(
            c,
            by=clerk,
            rating=Rating.UNSATISFIED,
            channel=RatingChannel.PHONE,
            on=timezone.localdate(),
        ),
        lambda c: services.answer(c, by=clerk, department=department, text="再修"),
        lambda c: services.rate(c, rating=Rating.SATISFIED),
        lambda c: services.close(c, by=clerk),
    ]
    for step in steps:
        with changed():
            step(fresh(case))
        all_true(county, ("fengming", "wenli", "qingshan"))
    assert AnswerRound.objects.filter(submission=case).count() >= 2


# Lost raises, the nightly check ------------------------------------------------


def test_a_lost_raise_alone_shows_until_the_nightly_check(county, changed, monkeypatch):
    """By design: the value cache's scopes moved at the commit, the rows'
    raise was lost (a process stopped between the two). The kept figures
    stay those of before (their marks did not move) until `refresh` moves
    counted_at; then they are counted again, right."""
    before = kept(county, "fengming")
    monkeypatch.setattr(kept_counts, "_raise", lambda ids: None)
    with changed():
        # A case deleted (a new case's raise commits with it since 2026-12-07,
        # fifth session: kept_counts._came_in; none is lost between the two).
        Submission.objects.filter(unit=county["wenli"]).order_by("pk").first().delete()
    assert kept(county, "fengming") == before != truth(county, "fengming")
    monkeypatch.undo()
    kept_counts.refresh()
    all_true(county)


def test_a_new_cases_raise_is_not_lost_with_the_callbacks(county, changed, monkeypatch):
    """A case coming in raises its unit's rows in its own transaction
    (kept_counts._came_in): a process stopped after the commit, before the
    callbacks (`_raise` lost), leaves no stale figures."""
    kept(county, "fengming")
    monkeypatch.setattr(kept_counts, "_raise", lambda ids: None)
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True)
    monkeypatch.undo()
    all_true(county)


def lose_a_new_case(county) -> None:
    SubmissionFactory(unit=county["wenli"], accepted=True)


def lose_a_bare_update(county) -> None:
    Submission.objects.filter(unit=county["wenli"], status="received").update(
        status="answered", answered_at=timezone.now(), answer_text="批量答复"
    )


def lose_rounds_bulk_created(county) -> None:
    case = Submission.objects.filter(unit=county["wenli"]).order_by("pk").last()
    AnswerRound.objects.bulk_create(
        [
            AnswerRound(
                submission=case,
                number=n,
                due_date=timezone.localdate(),
                answer_text="补录",
                answered_at=timezone.now(),
                rating=Rating.SATISFIED,
            )
            for n in (7, 8)
        ]
    )


# Found by this attack, mended: the nightly check (kept_counts.refresh) moves
# every row's counted_at, so the town's kept figures are computed again; they
# added the year's summary up from each unit's parts kept in the value cache
# (feedback.summary.unit_parts), which the lost event (a process stopped
# between the commit and its callbacks; a bare QuerySet.update(); a
# bulk_create, which sends no signal) left stale too, and kept them under the
# new marks past every flush. by_cases' figures are now counted from the
# cases themselves (`count_figures(fresh=True)`).
@pytest.mark.parametrize(
    "lose",
    [lose_a_new_case, lose_a_bare_update, lose_rounds_bulk_created],
    ids=["no-callbacks", "bare-update", "bulk-create-rounds"],
)
def test_a_lost_event_is_mended_by_the_nightly_check(county, lose):
    kept(county, "fengming")
    kept(county, "wenli")
    lose(county)  # no `changed()`: its on_commit callbacks never run
    kept_counts.refresh()  # the nightly check (warm_pages), then its pages
    kept(county, "fengming")
    kept(county, "wenli")
    caching._bump()  # a deployment the next morning
    for name in ("fengming", "wenli"):
        assert kept(county, name) == truth(county, name), name


# Found by this attack, mended: when the raise itself fails
# (kept_counts._raise: a DatabaseError, e.g. a lock or statement timeout, the
# generation at its limit), it falls back to marking the units' rows not
# counted (counted_generation NULL) "so that no page trusts them". `_marks`
# read only generation and counted_at, which did not move: by_cases served
# the figures of before. A row not counted now names no marks: nothing kept.
def test_a_raise_that_fails_is_not_trusted(county, changed, monkeypatch):
    kept(county, "fengming")

    def refused(ids):
        raise DatabaseError("canceling statement due to lock timeout")

    monkeypatch.setattr(kept_counts, "_upsert", refused)
    with changed():
        # An existing case's change (a new case raises its unit in its own
        # transaction, kept_counts._came_in, not with `_upsert`).
        Submission.objects.filter(unit=county["wenli"]).order_by("pk").first().delete()
    monkeypatch.undo()
    assert not UnitCounts.objects.filter(
        unit=county["wenli"], counted_generation__isnull=False
    ).exists()
    caching._bump()
    assert kept(county, "fengming") == truth(county, "fengming")


# Found by this attack, mended (by_cases' figures counted from the cases
# themselves, `count_figures(fresh=True)`): another process (another gunicorn
# worker) read the scopes of the
# town's cases ("cases-unit:…", "cases-town:fengming", "units") less than
# PAGE_CACHE_VERSION_SECONDS before a case came in through this one. Its next
# statistics page for that town whose outer value it has not kept (another
# audience, here a party member; another year) reads the rows' marks fresh
# from the database (raised: a miss), counts the figures adding up the units'
# parts the value cache keeps under its copies of the versions (a second
# old: the parts of before the case) and keeps them under the new marks:
# every process serves them for BY_CASES_SECONDS (3 days), past every flush,
# until the next case of the town. Before by_cases they were kept under the
# old versions alone (stale for that second). The epoch (core.caching) does
# not catch it: nothing by_cases reads is versioned.
def test_a_process_whose_case_versions_are_a_moment_old(county, changed):
    query = f"/stats/?year={year()}&town=fengming"
    visitor = Client()
    member = Client()
    member.force_login(PartyMemberFactory(username="by_cases_member", branch_of=None))
    assert visitor.get(query).status_code == 200
    # This process's copies of every scope the page read, a moment old.
    old = read_now(list(caching._local.scopes))
    with changed():  # through another process
        SubmissionFactory(unit=county["wenli"], accepted=True)
    as_a_process_that_read_before(old)
    assert member.get(query).status_code == 200  # its first page: a miss
    caching.reset_local()  # a second later, or yet another process
    for client in (visitor, member):
        response = client.get(query)
        assert response.context["feedback"] == straight(county, "fengming")
    caching._bump()
    assert kept(county, "fengming") == truth(county, "fengming")


# Found by this attack, mended, as above: a village's figures (/stats/?unit=…):
# one case in, a worker a second behind, the village's figures of before.
def test_a_process_a_moment_old_on_a_units_figures(county, changed):
    """The same, on a village's figures read directly (no town's units
    read: no scope of "units" to show that the epoch moved)."""
    kept(county, "wenli")
    old = read_now(list(caching._local.scopes))
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True)
    as_a_process_that_read_before(old)
    kept(county, "wenli")
    caching.reset_local()
    assert kept(county, "wenli") == truth(county, "wenli")


# Found by this attack, mended: the marks were (unit, generation,
# counted_at), and a row added by a change's raise (kept_counts._upsert) is
# always (generation 1, counted_at NULL). Once the rows were deleted (an
# operator's reset of the table; kept_counts adds missing rows by design) a
# later change's raise named exactly the marks under which the figures of
# before were kept. A row never counted now names no marks (nothing kept
# until a reader or the nightly check counts it), and the marks name the
# row's id: a row added again is another row.
def test_rows_deleted_and_added_again_by_a_raise(county, changed, calls):
    """Every row deleted (an operator's reset): nothing is kept while a unit
    has none, nor while its row added again by a change's raise is not
    counted; once counted, kept under marks no earlier row had."""
    UnitCounts.objects.all().delete()
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True)
    n = len(calls)
    for _ in range(2):  # a row never counted: counted each time
        assert kept(county, "wenli") == truth(county, "wenli")
    assert len(calls) == n + 2
    kept_counts.refresh(again=False)  # a reader, or the nightly check
    assert kept(county, "wenli") == truth(county, "wenli")
    assert_kept(county, "wenli", calls)
    UnitCounts.objects.all().delete()
    assert kept(county, "wenli") == truth(county, "wenli")  # no row: counted
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True)
    kept_counts.refresh(again=False)
    caching._bump()
    assert kept(county, "wenli") == truth(county, "wenli")


# Cases moved, hidden, deleted, loaded -----------------------------------------


def test_cases_moved_hidden_and_deleted_by_saves(county, clerk, changed):
    all_true(county)
    case = Submission.objects.filter(unit=county["wenli"]).order_by("pk").first()
    moves = [
        lambda c: setattr(c, "unit", county["maoshan"]),  # same town
        lambda c: setattr(c, "unit", county["xiacun"]),  # another town
        lambda c: setattr(c, "unit", county["fengming"]),  # the town itself
    ]
    for move in moves:
        with changed():
            c = fresh(case)
            move(c)
            c.save()
        all_true(county)
    with changed():
        services.hide(fresh(case), by=clerk, reason="涉及个人隐私")
    assert (
        not submissions_for(year=year(), town=county["fengming"])
        .filter(pk=case.pk)
        .exists()
    )
    all_true(county)
    with changed():
        fresh(case).delete()
    all_true(county)
    with changed():
        Submission.objects.filter(unit=county["shangcun"]).delete()
    all_true(county)


def test_a_case_moved_by_the_admin_to_another_town(county, clerk, changed, calls):
    all_true(county)
    admin = Client()
    admin.force_login(clerk)
    case = Submission.objects.filter(unit=county["wenli"], status="accepted").first()
    with changed():
        response = admin.post(
            change_url(case), change_data(case, unit=county["shangcun"].pk)
        )
    assert response.status_code == 302, response.content[:500]
    assert fresh(case).unit_id == county["shangcun"].pk
    all_true(county)
    # The close action of the change list, on the answered cases.
    answered = Submission.objects.filter(status="answered").values_list("pk", flat=True)
    with changed():
        response = admin.post(
            "/admin/feedback/submission/",
            {"action": "close_selected", "_selected_action": list(answered)},
        )
    assert response.status_code == 302
    assert Submission.objects.filter(status="closed").exists()
    all_true(county)
    assert_kept(county, "qingshan", calls)


def test_cases_and_rounds_loaded_raw(county, changed, tmp_path):
    """loaddata (a restore of some rows): a case loaded over another unit's,
    a new 举报 case, a round of another case."""
    all_true(county)
    case = Submission.objects.filter(unit=county["wenli"]).order_by("pk").first()
    out = io.StringIO()
    call_command("dumpdata", "feedback.submission", f"--pks={case.pk}", stdout=out)
    moved = json.loads(out.getvalue())[0]
    moved["fields"]["unit"] = county["xiacun"].pk
    moved["fields"]["rating"] = Rating.FAIRLY
    new = json.loads(json.dumps(moved))
    new["pk"] = case.pk + 1000
    new["fields"]["tracking_code"] = "BYCASES1"
    new["fields"]["form_token"] = None
    new["fields"]["unit"] = county["maoshan"].pk
    new["fields"]["kind"] = "denunciation"
    round_ = {
        "model": "feedback.answerround",
        "pk": 7000,
        "fields": {
            "submission": Submission.objects.filter(unit=county["shangcun"])
            .order_by("pk")
            .first()
            .pk,
            "number": 1,
            "due_date": timezone.localdate().isoformat(),
            "answer_text": "旧答复",
            "answerer": "",
            "answered_at": timezone.now().isoformat(),
            "rating": Rating.SATISFIED,
            "rating_comment": "",
            "rated_at": None,
            "rating_channel": "online",
        },
    }
    fixture = tmp_path / "cases.json"
    fixture.write_text(json.dumps([moved, new, round_]), encoding="utf-8")
    with changed():
        call_command("loaddata", str(fixture), stdout=io.StringIO())
    assert fresh(case).unit_id == county["xiacun"].pk
    all_true(county)


def test_a_round_changed_moved_and_deleted_alone(county, changed):
    all_true(county)
    round_ = AnswerRound.objects.filter(submission__unit=county["wenli"]).first()
    with changed():
        round_.rating = Rating.FAIRLY
        round_.rating_channel = RatingChannel.VISIT
        round_.save()
    all_true(county)
    with changed():
        round_.submission = Submission.objects.filter(unit=county["xiacun"]).first()
        round_.save()
    all_true(county)
    with changed():
        round_.delete()
    all_true(county)


# Units moved, added ----------------------------------------------------------------


def test_a_village_moved_to_another_town_and_back(county, changed):
    all_true(county)
    maoshan = Unit.objects.get(pk=county["maoshan"].pk)
    with changed():
        maoshan.parent = county["qingshan"]
        maoshan.save()
    all_true(county)
    with changed():
        SubmissionFactory(unit=maoshan, accepted=True)
    all_true(county)
    with changed():
        maoshan.parent = county["fengming"]
        maoshan.save()
    all_true(county)


def test_a_new_village_with_cases_in_a_town(county, changed, calls):
    all_true(county)
    with changed():
        village = UnitFactory(name="新村", slug="xincun", parent=county["fengming"])
    # No row yet: the town's figures are counted each time, nothing kept.
    n = len(calls)
    assert kept(county, "fengming") == truth(county, "fengming")
    assert kept(county, "fengming") == truth(county, "fengming")
    assert len(calls) == n + 2
    with changed():
        SubmissionFactory(unit=village, accepted=True)
    county["xincun"] = village
    all_true(county, (*PLACES, "xincun"))
    # Its row added by the raise, not counted yet: nothing kept until it is.
    kept_counts.refresh(again=False)
    all_true(county, (*PLACES, "xincun"))
    assert_kept(county, "fengming", calls)


# The day, the year, the language, the settings ---------------------------------


def due_today(county) -> Submission:
    """A case waiting (not accepted) in 文理村 whose deadline is today: past
    it tomorrow (waiting_overdue)."""
    case = SubmissionFactory(unit=county["wenli"], kind="question")
    Submission.objects.filter(pk=case.pk).update(due_date=timezone.localdate())
    return case


def test_a_case_waiting_past_its_deadline_tomorrow(county, changed, clerk):
    with changed():
        due_today(county)
    all_true(county)
    this_year = year()
    today = kept(county, "wenli").values["feedback"]["waiting_overdue"]
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=True):
        all_true(county)
        tomorrow = kept(county, "wenli", of_year=this_year)
        assert tomorrow == truth(county, "wenli", of_year=this_year)
        assert tomorrow.values["feedback"]["waiting_overdue"] == today + 1
        # The daily 督办 of what is overdue, then the figures again.
        with changed():
            assert services.escalate_overdue()
        all_true(county)
        assert kept(county, "wenli", of_year=this_year) == truth(
            county, "wenli", of_year=this_year
        )


def test_the_statistics_page_the_next_day(county, changed):
    """/stats/ itself (its figures kept apart in the value cache, then by
    by_cases) the day after: the case past its deadline counted."""
    with changed():
        due_today(county)
    this_year = year()
    query = f"year={this_year}&unit=wenli"
    client = Client()
    assert client.get(f"/stats/?{query}").context["feedback"] == straight(
        county, "wenli", of_year=this_year
    )
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=True):
        feedback = client.get(f"/stats/?{query}").context["feedback"]
        assert feedback == straight(county, "wenli", of_year=this_year)
        assert feedback["waiting_overdue"] == 1


def test_last_years_figures_beside_this_years(county, changed, calls):
    this_year = year()
    eve = datetime(
        this_year - 1, 12, 31, 23, 30, tzinfo=timezone.get_current_timezone()
    )
    case = Submission.objects.filter(unit=county["wenli"]).order_by("pk").first()
    with changed():
        c = fresh(case)
        c.received_at = eve
        c.save()
    for of_year in (this_year - 1, this_year):
        for name in ("fengming", "wenli"):
            assert kept(county, name, of_year=of_year) == truth(
                county, name, of_year=of_year
            )
    assert (
        kept(county, "wenli", of_year=this_year - 1).values["feedback"]["received"] == 1
    )
    n = len(calls)
    caching._bump()
    kept(county, "wenli", of_year=this_year - 1)
    kept(county, "wenli", of_year=this_year)
    assert len(calls) == n


def test_another_language_is_kept_apart(county, calls):
    chinese = kept(county, "fengming")
    with translation.override("en"):
        english = kept(county, "fengming")
        assert english == truth(county, "fengming")
    assert len(calls) == 2
    assert kept(county, "fengming") == chinese == truth(county, "fengming")
    assert len(calls) == 2


def test_the_time_zone_and_the_request_item_code_name_other_values(
    county, changed, settings, calls
):
    """A case received at 23:30 in Shanghai on the last day of a month is of
    the next month in UTC: the months' chart moves with TIME_ZONE."""
    today = timezone.localdate()
    first = today.replace(day=1)
    eve = datetime(
        first.year, first.month, 1, 0, 30, tzinfo=timezone.get_current_timezone()
    )
    case = Submission.objects.filter(unit=county["wenli"]).order_by("pk").first()
    with changed():
        c = fresh(case)
        c.received_at = eve
        c.save()
    shanghai = kept(county, "wenli")
    assert shanghai == truth(county, "wenli")
    settings.TIME_ZONE = "UTC"
    utc = kept(county, "wenli")
    assert utc == truth(county, "wenli")
    assert len(calls) == 2
    if first.month != 1:
        assert utc.charts[0] != shanghai.charts[0]
    settings.TIME_ZONE = "Asia/Shanghai"
    assert kept(county, "wenli") == shanghai
    assert len(calls) == 2
    settings.FEEDBACK_REQUEST_ITEM_CODE = "Z99"
    assert kept(county, "wenli") == shanghai
    assert len(calls) == 3


# Transactions, the cache off, rows missing ----------------------------------------


def test_nothing_is_kept_inside_a_transaction(county, changed, recorded):
    kept(county, "fengming")
    with changed():
        with transaction.atomic():
            SubmissionFactory(unit=county["wenli"], accepted=True)
            recorded.written.clear()
            kept(county, "fengming")
            kept(county, "wenli")
            assert recorded.written == []
    all_true(county)
    assert recorded.written  # kept again once committed


def test_a_transaction_rolled_back_leaves_the_kept_figures_right(county, changed):
    before = kept(county, "fengming")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), changed():
        with transaction.atomic():
            case = Submission.objects.filter(unit=county["wenli"]).first()
            case.unit = county["xiacun"]
            case.save()
            SubmissionFactory(unit=county["maoshan"], accepted=True)
            kept(county, "fengming")
            kept(county, "qingshan")
            raise Boom
    assert kept(county, "fengming") == before
    all_true(county)


def test_with_the_value_cache_off_nothing_is_kept(county, settings, recorded, calls):
    settings.VALUE_CACHE_SECONDS = 0
    for _ in range(2):
        assert kept(county, "fengming") == truth(county, "fengming")
    assert len(calls) == 2
    assert recorded.written == []


def test_a_unit_without_its_home_row_is_counted_each_time(
    county, changed, recorded, calls
):
    UnitCounts.objects.filter(unit=county["maoshan"], selection="home").delete()
    for _ in range(2):
        assert kept(county, "fengming") == truth(county, "fengming")
    assert len(calls) == 2
    assert recorded.written == []
    # Its wall row alone is not the home page's: still not kept.
    assert UnitCounts.objects.filter(unit=county["maoshan"]).exists()
    with changed():  # a change's raise adds the row again, not counted
        SubmissionFactory(unit=county["maoshan"], accepted=True)
    all_true(county)
    kept_counts.refresh(again=False)  # a reader counts it
    all_true(county)
    assert_kept(county, "fengming", calls)


def test_the_nightly_check_names_new_marks_and_counts_again(county, calls):
    kept(county, "fengming")
    n = len(calls)
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True):
        kept_counts.refresh()
    assert kept(county, "fengming") == truth(county, "fengming")
    assert len(calls) == n + 1
    assert_kept(county, "fengming", calls)


# Towns and units side by side ------------------------------------------------------


def test_two_towns_with_the_same_figures_and_a_unit_beside_its_town(
    county, changed, calls
):
    """Both towns have the same cases (one of each kind in each village):
    their figures are equal but kept apart; a case in 茅山村 changes its
    town's and its own, not 文理村's, nor the other town's."""
    assert kept(county, "fengming") == kept(county, "qingshan")
    assert len(calls) == 2
    kept(county, "wenli")
    kept(county, "xiacun")
    with changed():
        SubmissionFactory(unit=county["maoshan"], accepted=True)
    n = len(calls)
    assert kept(county, "wenli") == truth(county, "wenli")
    assert kept(county, "qingshan") == truth(county, "qingshan")
    assert len(calls) == n  # neither counted again
    assert kept(county, "fengming") != kept(county, "qingshan")
    all_true(county)


def test_a_town_without_villages_as_a_town_and_as_a_unit(changed, calls):
    with changed():
        town = TownFactory(name="孤镇", slug="guzhen")
        SubmissionFactory(unit=town, accepted=True)
    county = {"guzhen": town}
    as_town = kept(county, "guzhen")
    as_unit = feedback_figures.figures(AnonymousUser(), year=year(), unit=town)
    assert as_town == as_unit == truth(county, "guzhen")
    with changed():
        UnitFactory(name="孤村", slug="gucun", parent=town)
    with changed():
        SubmissionFactory(unit=Unit.objects.get(slug="gucun"), accepted=True)
    assert kept(county, "guzhen") == truth(county, "guzhen")
    unit_only = feedback_figures.figures(AnonymousUser(), year=year(), unit=town)
    assert unit_only.values["feedback"] == (
        submissions_for(year=year(), unit=town).summary()
    )
    assert unit_only != kept(county, "guzhen")


# What else may be under the key -----------------------------------------------------


def tampered(state, value) -> dict:
    return {
        "text": "garbage",
        "none": None,
        "list": [state, value],
        "three": (state, value, "more"),
        "other-state": (("stats-feedback", "other"), value),
        "state-alone": (state,),
        "value-none": (state, None),
        "value-text": (state, "figures"),
        "charts-text": (state, Figures(charts="x", values=value.values, totals=[])),
        "chart-dicts": (state, Figures(charts=[{}], values=value.values, totals=[])),
        "no-feedback": (state, Figures(charts=value.charts, values={}, totals=[])),
        "feedback-list": (
            state,
            Figures(charts=value.charts, values={"feedback": []}, totals=[]),
        ),
        "totals-triples": (
            state,
            Figures(charts=value.charts, values=value.values, totals=[(1, 2, 3)]),
        ),
    }


KINDS = list(tampered(None, Figures()).keys())


@pytest.mark.parametrize("kind", KINDS)
def test_anything_else_under_the_key_is_counted_again(county, recorded, kind):
    kept(county, "fengming")
    (key,) = recorded.written
    state, value = kept_counts.cache.real.get(key)
    assert state[0].startswith("stats-feedback:") and state[-1]  # the marks
    kept_counts.cache.real.set(key, tampered(state, value)[kind], timeout=600)
    caching._bump()
    response = Client().get(f"/stats/?year={year()}&town=fengming")
    assert response.status_code == 200
    assert response.context["feedback"] == straight(county, "fengming")
    assert kept(county, "fengming") == truth(county, "fengming")


def test_the_right_shape_with_wrong_counts_is_served_without_a_500(county, recorded):
    """`valid` checks the shape, not the counts: figures of the right shape
    under the key (only this code writes there, under a state naming the
    release) are served as they are; the page does not fail on them."""
    kept(county, "fengming")
    (key,) = recorded.written
    state, value = kept_counts.cache.real.get(key)
    odd = Figures(
        charts=value.charts,
        values={"feedback": {"received": "many", "outcomes": 5, "ratings": None}},
        totals=[("回音壁收到", None)],
    )
    kept_counts.cache.real.set(key, (state, odd), timeout=600)
    caching._bump()
    for path in ("/stats/", "/stats/csv/"):
        response = Client().get(f"{path}?year={year()}&town=fengming")
        assert response.status_code == 200, path
    assert kept(county, "fengming") == odd


def test_a_flush_before_a_change_and_after_it(county, changed, calls):
    kept(county, "fengming")
    caching._bump()
    with changed():
        SubmissionFactory(unit=county["wenli"], kind="suggestion", accepted=True)
    caching._bump()
    assert kept(county, "fengming") == truth(county, "fengming")
    found = assert_kept(county, "fengming", calls)
    assert found.values["feedback"] == straight(county, "fengming")
