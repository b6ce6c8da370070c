"""An attack on the recount of a case's unit by the request that acted on it
(fce5321: feedback.kept_counts.acted_on / recount_acted_on / recount).

A service's verb (not "received", not "held_back") puts its case's unit in
a thread-local set; the middleware clears the set when a request starts and,
once the view has returned, counts the stale `UnitCounts` rows of those units
(`read` with `_counter`). Tried here through the real URLs (the admin's change
form and its workflow buttons, its bulk action, the tracking page's rating,
the resident's form), with real commits (`transaction=True`: a service's
raise runs at its commit, inside the view, before the middleware counts),
and with a change of another connection simulated inside the count.

What must hold after every request: no row counted at its generation holds
other counts than the cases' (`wrong_rows`), the acted-on units' rows are
counted, the request's status is the view's, nothing counted when nothing
was acted on, and a flushed wall shows the cases' counts."""

import io
import logging
import threading
from datetime import timedelta

import pytest
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
)
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from disclosure.models import Organisation, Unit
from feedback import admin as feedback_admin
from feedback import kept_counts, services
from feedback.models import (
    Kind,
    Rating,
    RatingChannel,
    Status,
    Submission,
    SubmissionEvent,
    UnitCounts,
)
from tests.factories import DepartmentFactory, SubmissionFactory, SuperuserFactory
from tests.feedback.test_actions import make_case
from tests.feedback.test_admin import change_data, change_url
from tests.feedback.test_views import form_data
from tests.perf.kept import flushed, wall_counts
from tests.perf.test_kept_counts_attack import build_county, wrong_rows

pytestmark = pytest.mark.usefixtures("values_only")

# Committed for real: a service's raise runs at its commit, inside the view.
committed = pytest.mark.django_db(transaction=True)

SELECTIONS = tuple(kept_counts.SELECTIONS)
CHANGELIST = "/admin/feedback/submission/"


def close_selected(staff: Client, cases):
    """The changelist's bulk action 办结 on these cases."""
    return staff.post(
        CHANGELIST,
        {
            "action": "close_selected",
            "_selected_action": [case.pk for case in cases],
            "index": 0,
        },
    )


@pytest.fixture
def county():
    """Four villages, a case waiting and one accepted in each; every row
    counted at its generation."""
    built = build_county()
    kept_counts.refresh()
    return built


@pytest.fixture
def clerk():
    return SuperuserFactory()


@pytest.fixture
def staff(clerk):
    client = Client()
    client.force_login(clerk)
    return client


@pytest.fixture
def department():
    return DepartmentFactory(name="社会事务办")


# What is true -------------------------------------------------------------------


def rows_of(unit) -> dict[str, tuple]:
    """Each selection's row of the unit: (generation, counted generation)."""
    return {
        row.selection: (row.generation, row.counted_generation)
        for row in UnitCounts.objects.filter(unit=unit)
    }


def fresh(unit) -> bool:
    """Every kept selection's row of the unit counted at its generation."""
    rows = UnitCounts.objects.filter(unit=unit)
    return sorted(r.selection for r in rows) == sorted(SELECTIONS) and all(
        r.counted_generation == r.generation and r.rules == kept_counts.RULES
        for r in rows
    )


def no_wrong_rows() -> None:
    for selection in SELECTIONS:
        assert wrong_rows(selection) == [], selection


def counted_alone(spy, unit) -> None:
    """The request counted this unit alone, its rows fresh, nothing wrong."""
    assert spy.recounts == [[unit.pk]]
    assert fresh(unit)
    settled()


def settled() -> None:
    """No row fresh and wrong; a flushed wall right; its rows right."""
    no_wrong_rows()
    flushed()
    response = Client().get("/feedback/")
    assert response.status_code == 200
    assert response.context["summary"] == wall_counts()
    no_wrong_rows()


class Spy:
    """The middleware's recounts and the counts they run (`_counter`'s made
    inside `recount`; not `refresh`'s, nor a page's), recorded."""

    def __init__(self, monkeypatch):
        self.recounts: list[list[int]] = []
        self.counted: list[tuple[str, list[int]]] = []
        self.inside = False
        real_recount, real_counter = kept_counts.recount, kept_counts._counter

        def recount(units):
            self.recounts.append(sorted(units))
            self.inside = True
            try:
                return real_recount(units)
            finally:
                self.inside = False

        def counter(selection, done=None):
            count = real_counter(selection, done)
            if not self.inside:
                return count

            def recorded(ids):
                self.counted.append((selection, sorted(ids)))
                return count(ids)

            return recorded

        monkeypatch.setattr(kept_counts, "recount", recount)
        monkeypatch.setattr(kept_counts, "_counter", counter)


@pytest.fixture
def spy(monkeypatch):
    return Spy(monkeypatch)


def post_step(client, case, **extra):
    case.refresh_from_db()
    return client.post(change_url(case), change_data(case, **extra))


# Every workflow button -----------------------------------------------------------

STEPS = {
    # name: (the case's state (tests.feedback.test_actions.make_case), the
    # form's inputs besides the case's own, the event the step logs)
    "accept": ("received question", {"_accept": "1"}, "accepted"),
    "assign": (
        "received question",
        {"_assign": "1", "assign_cadre": "on", "assign_workdays": "3"},
        "assigned",
    ),
    "extend": ("received request", {"_extend": "1", "reason": "需请示"}, "extended"),
    "refuse": ("accepted request", {"_refuse": "1", "reason": "涉及隐私"}, "refused"),
    "answer": (
        "accepted question",
        {"_answer": "1", "answer_text": "已修好。"},
        "answered",
    ),
    "answer with its outcome": (
        "received question",
        {"_answer": "1", "answer_text": "采纳了。", "kind": Kind.SUGGESTION},
        "answered",
    ),
    "close": ("answered", {"_close": "1"}, "closed"),
    "hide": ("received question", {"_hide": "1", "reason": "广告"}, "hidden"),
    "clear": ("held back received", {"_clear": "1"}, "cleared"),
    "outcome": (
        "answered suggestion",
        {"_outcome": "1", "new_outcome": "adopted"},
        "outcome",
    ),
    "follow_up 不满意 (reopened)": (
        "answered",
        {
            "_follow_up": "1",
            "follow_up_rating": Rating.UNSATISFIED,
            "follow_up_channel": RatingChannel.VISIT,
            "follow_up_on": "today",
        },
        "reopened",
    ),
}


@committed
@pytest.mark.parametrize("step", STEPS)
def test_every_workflow_button_leaves_its_unit_counted(
    county, clerk, staff, department, spy, step
):
    """Each button of the change form: after the request its unit's rows are
    raised and counted, the other units' rows untouched, no row wrong."""
    wenli = county["wenli"]
    wenli.village_cadre = clerk
    wenli.save()
    state, inputs, logged = STEPS[step]
    case = make_case(state, wenli)
    if step == "answer with its outcome":
        inputs = {**inputs, "new_outcome": "adopted"}
        case.kind = Kind.SUGGESTION
        case.save()
    today = timezone.localdate().isoformat()
    inputs = {k: today if v == "today" else v for k, v in inputs.items()}
    kept_counts.refresh()
    before = {slug: rows_of(county[slug]) for slug in ("maoshan", "shangcun")}
    generation = rows_of(wenli)["wall"][0]
    response = post_step(staff, case, department=department.pk, **inputs)
    assert response.status_code == 302, response.content[:3000]
    assert SubmissionEvent.objects.filter(submission=case, kind=logged).exists()
    assert rows_of(wenli)["wall"][0] > generation  # raised, then counted
    assert fresh(wenli), rows_of(wenli)
    assert spy.recounts == [[wenli.pk]]
    assert {s: rows_of(county[s]) for s in before} == before
    settled()


@committed
def test_withdrawn_consent_by_the_change_form_is_counted(county, staff, spy):
    """A verb with a plain save (no button): consent withdrawn at the
    resident's request."""
    maoshan = county["maoshan"]
    case = SubmissionFactory(unit=maoshan, accepted=True, consent_to_publish=True)
    kept_counts.refresh()
    case.refresh_from_db()
    data = change_data(case)
    data.pop("consent_to_publish")
    response = staff.post(change_url(case), data)
    assert response.status_code == 302
    case.refresh_from_db()
    assert not case.consent_to_publish
    counted_alone(spy, maoshan)


@committed
def test_the_bulk_close_of_cases_of_every_unit_counts_them_in_one_go(
    county, clerk, staff, department, spy
):
    """The changelist's bulk action over four villages' cases (one close,
    one commit, one raise each): one recount of the four after the request,
    one count a selection, every row counted and true."""
    units = [county[slug] for slug in ("wenli", "maoshan", "shangcun", "xiacun")]
    cases = []
    for unit in units:
        case = SubmissionFactory(unit=unit, accepted=True)
        services.answer(case, by=clerk, department=department, text="好")
        cases.append(case)
    kept_counts.refresh()
    response = close_selected(staff, cases)
    assert response.status_code == 302
    assert set(
        Submission.objects.filter(pk__in=[c.pk for c in cases]).values_list(
            "status", flat=True
        )
    ) == {Status.CLOSED}
    ids = sorted(unit.pk for unit in units)
    assert spy.recounts == [ids]
    assert sorted(spy.counted) == sorted((s, ids) for s in SELECTIONS)
    assert all(fresh(unit) for unit in units)
    settled()
    # Then one unit alone (another length of the kept SQL's unit list).
    case = SubmissionFactory(unit=units[0], accepted=True)
    services.answer(case, by=clerk, department=department, text="好")
    response = staff.post(
        CHANGELIST,
        {"action": "close_selected", "_selected_action": [case.pk], "index": 0},
    )
    assert response.status_code == 302
    assert fresh(units[0])
    settled()


@committed
def test_ratings_that_reopen_and_then_escalate(county, clerk, staff, department, spy):
    """The resident's 不满意 on the tracking page twice: a second round,
    then a third, escalated (督办, mail), each saved after its verb: the rows
    counted after each request hold the cases' final state."""
    xiacun = county["xiacun"]
    case = SubmissionFactory(unit=xiacun, accepted=True)
    resident = Client()
    for number in (1, 2):
        services.answer(case, by=clerk, department=department, text=f"答{number}")
        kept_counts.refresh()
        spy.recounts.clear()
        response = resident.post(
            case.get_tracking_url(), {"rating": Rating.UNSATISFIED, "comment": "没修"}
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.round == number + 1 and case.status == Status.ACCEPTED
        counted_alone(spy, xiacun)
    assert case.escalated_round == 3
    flushed()
    assert Client().get("/feedback/").context["summary"]["escalating"] >= 1


# A case moved by the request that acts on it -------------------------------------


# Found by this attack, mended: the admin saves the form first (the case
# moved from wenli to shangcun: both units raised at the commit) and then
# runs the step, whose verb named the case's new unit alone. Every change of
# an existing case now names the units where its row is and was.
@committed
def test_a_case_moved_and_answered_in_one_request_counts_both_units(
    county, staff, department, spy
):
    wenli, shangcun = county["wenli"], county["shangcun"]
    case = make_case("accepted question", wenli)
    kept_counts.refresh()
    response = post_step(
        staff,
        case,
        unit=shangcun.pk,
        department=department.pk,
        answer_text="已转上村答复。",
        _answer="1",
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.unit == shangcun and case.status == Status.ANSWERED
    no_wrong_rows()
    assert fresh(shangcun)
    assert fresh(wenli), rows_of(wenli)


@committed
def test_a_plain_save_counts_both_units(county, staff, spy):
    """A case moved by a save with no button (no verb): a change of an
    existing case all the same, both units' rows counted after the view
    (one recount of the two), none wrong."""
    wenli, xiacun = county["wenli"], county["xiacun"]
    case = Submission.objects.filter(unit=wenli).first()
    kept_counts.refresh()
    response = post_step(staff, case, unit=xiacun.pk)
    assert response.status_code == 302
    assert spy.recounts == [sorted([wenli.pk, xiacun.pk])]
    assert fresh(wenli) and fresh(xiacun)
    settled()


@committed
def test_a_step_overtaken_since_the_form_was_checked(
    county, staff, department, spy, monkeypatch
):
    """The step's function refuses (another clerk got there first): the
    form's save committed (a change of the case, no verb): its unit
    counted after the view, nothing wrong."""
    maoshan = county["maoshan"]
    case = make_case("answered", maoshan)
    kept_counts.refresh()

    def overtaken(submission, **kwargs):
        raise ValidationError("已被他人办结。")

    monkeypatch.setitem(feedback_admin.STEP_CALLS, "close", overtaken)
    response = post_step(staff, case, department=department.pk, _close="1")
    assert response.status_code == 302
    counted_alone(spy, maoshan)


# A resident's case coming in, pages that act on nothing ---------------------------


@committed
@pytest.mark.parametrize("kind", [Kind.QUESTION, Kind.DENUNCIATION])
def test_a_residents_new_case_adds_no_counting(county, spy, kind):
    """POST /feedback/new/ (a 举报 too, routed to 纪委), then the same form
    again (a double click): no recount, no count in either request."""
    wenli = county["wenli"]
    data = form_data(wenli, title="路灯坏了", kind=kind)
    resident = Client()
    for _ in range(2):
        response = resident.post("/feedback/new/", data)
        assert response.status_code == 302
    assert Submission.objects.filter(title="路灯坏了").count() == 1
    assert spy.recounts == [] and spy.counted == []
    assert not fresh(wenli)  # raised: left to the next reader
    settled()


PAGES = [
    "/",
    "/feedback/",
    "/feedback/track/",
    "tracking",
    "change form",
    "history",
    CHANGELIST,
]


@committed
@pytest.mark.parametrize("page", PAGES)
def test_a_page_that_acts_on_nothing_runs_no_more_queries(
    county, clerk, settings, spy, page
):
    """The same page, warmed and read again, with and without the
    middleware: the same queries, and no recount."""
    case = Submission.objects.filter(unit=county["wenli"]).first()
    url = {
        "tracking": case.get_tracking_url(),
        "change form": change_url(case),
        "history": f"/admin/feedback/submission/{case.pk}/history/",
    }.get(page, page)
    middleware = list(settings.MIDDLEWARE)
    ours = "feedback.kept_counts.recount_acted_on"
    assert ours in middleware

    def queries(chain) -> list[str]:
        settings.MIDDLEWARE = chain
        client = Client()
        client.force_login(clerk)
        flushed()
        assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    with_it = queries(middleware)
    without = queries([m for m in middleware if m != ours])
    assert len(with_it) == len(without), (with_it, without)
    assert spy.recounts == [] and spy.counted == []


# Another connection's change during the recount ------------------------------------


def acting_on(county, staff, department):
    """A case of wenli answered through the change form (its recount to
    come); the case, and the request as a function."""
    case = make_case("accepted question", county["wenli"])
    kept_counts.refresh()

    def request():
        return post_step(
            staff, case, department=department.pk, answer_text="答", _answer="1"
        )

    return case, request


def during_the_count(monkeypatch, change, *, after: bool):
    """`change()` run once inside the recount's first count (its generation
    read): before the cases are counted, or after (`after`), before the
    count is written."""
    real = kept_counts._counter
    done = []

    def counter(selection, done_=None):
        count = real(selection, done_)

        def counting(ids):
            if not after and not done:
                done.append(change())
            found = count(ids)
            if after and not done:
                done.append(change())
            return found

        return counting

    monkeypatch.setattr(kept_counts, "_counter", counter)
    return done


@committed
@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_a_change_committed_and_raised_during_the_recount(
    county, staff, department, monkeypatch, after
):
    """Another worker's new case of wenli, committed and raised while the
    recount counts: the row it wrote is dropped (the generation moved) or
    holds the new case; never fresh and wrong."""
    _case, request = acting_on(county, staff, department)
    wenli = county["wenli"]
    done = during_the_count(
        monkeypatch, lambda: SubmissionFactory(unit=wenli, accepted=True), after=after
    )
    assert request().status_code == 302
    assert len(done) == 1
    no_wrong_rows()
    if after:  # counted without it, written at a generation raised since
        assert rows_of(wenli)["wall"][0] != rows_of(wenli)["wall"][1]
    settled()


@committed
def test_a_change_committed_during_the_recount_and_raised_after_its_write(
    county, staff, department, monkeypatch
):
    """Committed after the count, its raise held until the recount wrote:
    the row written at the old generation, then raised past it (stale)."""
    _case, request = acting_on(county, staff, department)
    wenli = county["wenli"]
    held: list = []
    real_raise = kept_counts._raise

    def change():
        monkeypatch.setattr(kept_counts, "_raise", held.append)
        try:
            return SubmissionFactory(unit=wenli, accepted=True)
        finally:
            monkeypatch.setattr(kept_counts, "_raise", real_raise)

    during_the_count(monkeypatch, change, after=True)
    assert request().status_code == 302
    assert held  # the change's raise, not run yet
    for ids in held:
        real_raise(ids)
    assert not fresh(wenli)
    settled()


# Found by this attack, mended: `_raise` that cannot raise a generation
# (DatabaseError: a lock timeout) marked the rows not counted
# (counted_generation NULL) and left their generation as it was. A count in
# flight (the recount here, or any reader's) that read that generation
# before the change committed then wrote counted_generation = generation
# over the mark (`_keep_one`: WHERE generation = the one read): the row said
# it was counted and missed the change. The mark now moves the generation
# too (back to 0 at its limit): the count in flight writes nothing.
@committed
def test_a_failed_raise_during_the_recount_is_not_overwritten(
    county, staff, department, monkeypatch, caplog
):
    _case, request = acting_on(county, staff, department)
    wenli = county["wenli"]
    real_upsert = kept_counts._upsert

    def change():
        def refused(ids):
            raise OperationalError("canceling statement due to lock timeout")

        monkeypatch.setattr(kept_counts, "_upsert", refused)
        try:
            return SubmissionFactory(unit=wenli, accepted=True)
        finally:
            monkeypatch.setattr(kept_counts, "_upsert", real_upsert)

    during_the_count(monkeypatch, change, after=True)
    with caplog.at_level(logging.ERROR):
        assert request().status_code == 302
    assert "not raised" in caplog.text
    no_wrong_rows()


# A failing recount, a failing view --------------------------------------------------


@committed
@pytest.mark.parametrize(
    "error",
    [
        DatabaseError("canceling statement due to statement timeout"),
        OperationalError("server closed the connection unexpectedly"),
        IntegrityError("insert or update violates foreign key constraint"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_database_error_of_one_selection_is_logged(
    county, staff, department, monkeypatch, caplog, error
):
    """The wall's count refused: the request is the view's (302), the step
    committed, the home page's rows counted all the same, the wall's left
    stale (a reader counts them)."""
    case, request = acting_on(county, staff, department)
    wenli = county["wenli"]
    real = kept_counts._counter

    def counter(selection, done=None):
        if selection == "wall":

            def refused(ids):
                raise error

            return refused
        return real(selection, done)

    monkeypatch.setattr(kept_counts, "_counter", counter)
    with caplog.at_level(logging.ERROR, logger="feedback.kept_counts"):
        assert request().status_code == 302
    case.refresh_from_db()
    assert case.status == Status.ANSWERED
    assert "not counted again" in caplog.text
    wall, home = rows_of(wenli)["wall"], rows_of(wenli)["home"]
    assert wall[0] != wall[1] and home[0] == home[1]
    monkeypatch.undo()
    settled()


# Found by this attack, mended: `recount` caught DatabaseError alone, and
# the middleware calls it in `finally`: any other exception out of the
# counting replaced the view's response with a 500 after the step had
# committed (the resident's rating saved, an error page shown). Whatever
# fails is now logged.
@committed
@pytest.mark.parametrize("error", [RuntimeError, TypeError, ValueError])
def test_any_failure_of_the_recount_leaves_the_response(
    county, clerk, department, monkeypatch, error
):
    case = SubmissionFactory(unit=county["shangcun"], accepted=True)
    services.answer(case, by=clerk, department=department, text="答")

    def broken(*args, **kwargs):
        raise error("not as written")

    monkeypatch.setattr(kept_counts, "read", broken)
    resident = Client(raise_request_exception=False)
    response = resident.post(case.get_tracking_url(), {"rating": Rating.SATISFIED})
    case.refresh_from_db()
    assert case.rating == Rating.SATISFIED  # committed
    assert response.status_code == 302


@committed
def test_a_view_that_fails_after_its_service_committed(
    county, clerk, department, monkeypatch, spy
):
    """The rating committed, then the view raises (a 500): its unit's rows
    are counted all the same."""
    shangcun = county["shangcun"]
    case = SubmissionFactory(unit=shangcun, accepted=True)
    services.answer(case, by=clerk, department=department, text="答")
    kept_counts.refresh()

    def broken(*args, **kwargs):
        raise RuntimeError("message storage gone")

    monkeypatch.setattr(messages, "success", broken)
    resident = Client(raise_request_exception=False)
    response = resident.post(case.get_tracking_url(), {"rating": Rating.SATISFIED})
    assert response.status_code == 500
    case.refresh_from_db()
    assert case.rating == Rating.SATISFIED
    counted_alone(spy, shangcun)


@committed
def test_a_step_rolled_back_by_its_view_counts_nothing(
    county, staff, department, monkeypatch, spy
):
    """The step's service ran (its verb announced), then the change view
    failed inside its transaction: all rolled back, a 500; the unit's rows
    are not raised, so the recount reads them and counts nothing."""
    wenli = county["wenli"]
    case = make_case("received question", wenli)
    kept_counts.refresh()
    before = rows_of(wenli)

    def accept_then_fail(submission, **kwargs):
        services.accept(submission, **kwargs)
        raise RuntimeError("after the step")

    monkeypatch.setitem(feedback_admin.STEP_CALLS, "accept", accept_then_fail)
    staff.raise_request_exception = False
    response = post_step(staff, case, department=department.pk, _accept="1")
    assert response.status_code == 500
    case.refresh_from_db()
    assert case.status == Status.RECEIVED
    assert spy.recounts == [[wenli.pk]]
    assert spy.counted == []
    assert rows_of(wenli) == before and fresh(wenli)
    settled()


@committed
def test_a_unit_deleted_before_the_recount(
    county, clerk, staff, department, monkeypatch
):
    """Two units' cases closed in bulk; one unit (its cases, its rows) is
    deleted by another connection before the recount: the other counted, no
    error, no row added for the unit gone."""
    xiacun, maoshan = county["xiacun"], county["maoshan"]
    cases = []
    for unit in (xiacun, maoshan):
        case = SubmissionFactory(unit=unit, accepted=True)
        services.answer(case, by=clerk, department=department, text="好")
        cases.append(case)
    kept_counts.refresh()
    real = kept_counts.recount
    gone = xiacun.pk

    def deleted_first(units):
        SubmissionEvent.objects.filter(submission__unit_id=gone).delete()
        Submission.objects.filter(unit_id=gone).delete()
        Organisation.objects.filter(unit_id=gone).delete()  # PROTECT
        Unit.objects.filter(pk=gone).delete()
        return real(units)

    monkeypatch.setattr(kept_counts, "recount", deleted_first)
    response = close_selected(staff, cases)
    assert response.status_code == 302
    assert not UnitCounts.objects.filter(unit_id=gone).exists()
    assert fresh(maoshan)
    settled()


# Outside a request, after the view, other threads -----------------------------------


@committed
def test_escalate_overdue_and_the_next_requests_leave_counting_to_readers(county, spy):
    """The daily 督办 acts on an overdue case outside any request: nothing
    counted then, and a later request (a page that reads no counts, then
    a POST that acts on nothing) does not recount it."""
    late = SubmissionFactory(unit=county["maoshan"], accepted=True)
    Submission.objects.filter(pk=late.pk).update(
        due_date=timezone.localdate() - timedelta(days=3)
    )
    kept_counts.refresh()
    call_command("escalate_overdue", stdout=io.StringIO())
    late.refresh_from_db()
    assert late.escalated_at is not None
    assert spy.recounts == [] and spy.counted == []
    assert not fresh(county["maoshan"])
    assert Client().get("/feedback/track/").status_code == 200
    response = Client().post("/feedback/track/", {"code": "NOPE"})
    assert response.status_code in (200, 302, 404)
    assert spy.counted == []
    assert not fresh(county["maoshan"])
    settled()


@committed
def test_acts_after_the_view_a_streaming_body(county, clerk, spy):
    """A view whose streaming body acts on a case (after the middleware has
    returned): not counted by that request, and not by the next one (its
    set cleared at its start); nothing wrong."""
    shangcun = county["shangcun"]
    case = make_case("answered", shangcun)
    kept_counts.refresh()

    def streaming(request):
        def body():
            services.close(case, by=clerk)
            yield b"done"

        return StreamingHttpResponse(body())

    middleware = kept_counts.recount_acted_on(streaming)
    response = middleware(RequestFactory().get("/stream/"))
    assert spy.recounts == []
    assert b"".join(response.streaming_content) == b"done"
    assert kept_counts._acted.units == {shangcun.pk}  # left for the next
    kept_counts.recount_acted_on(lambda request: HttpResponse("ok"))(
        RequestFactory().get("/")
    )
    assert spy.recounts == [] and kept_counts._acted.units is None
    assert not fresh(shangcun)
    settled()


@committed
def test_a_view_that_acts_then_streams_is_counted_before_its_body(county, clerk, spy):
    maoshan = county["maoshan"]
    case = make_case("answered", maoshan)
    kept_counts.refresh()

    def streaming(request):
        services.close(case, by=clerk)
        return StreamingHttpResponse(iter([b"a", b"b"]))

    response = kept_counts.recount_acted_on(streaming)(RequestFactory().get("/"))
    assert spy.recounts == [[maoshan.pk]] and fresh(maoshan)
    assert b"".join(response.streaming_content) == b"ab"
    settled()


@committed
def test_no_cross_talk_between_threads(county, clerk, department, spy):
    """A shell's leftover units in this thread; a request acting on another
    unit in another thread: that thread recounts its own unit alone, this
    thread's set is untouched, and this thread's next request recounts
    nothing of it."""
    wenli, xiacun = county["wenli"], county["xiacun"]
    shelled = make_case("received question", wenli)
    case = make_case("answered", xiacun)
    kept_counts.refresh()
    # The shell's step in this thread: wenli acted on, raised (stale).
    services.accept(shelled, by=clerk, department=department)
    errors = []

    def other():
        try:
            client = Client()
            client.force_login(clerk)
            response = post_step(client, case, _close="1")
            assert response.status_code == 302
            assert getattr(kept_counts._acted, "units", None) is None
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and errors == [], errors
    assert spy.recounts == [[xiacun.pk]]
    assert fresh(xiacun) and not fresh(wenli)
    assert kept_counts._acted.units == {wenli.pk}
    assert Client().get("/feedback/track/").status_code == 200
    assert spy.recounts == [[xiacun.pk]]
    assert kept_counts._acted.units is None
    settled()
