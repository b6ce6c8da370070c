"""An attack on each unit's counts of its cases kept in the database
(feedback.kept_counts, 1ad01d0): every path that changes a case or an answer
round, rolled-back transactions, hostile rows, the wall's filters, the value
cache switched off, and (on PostgreSQL) a reader interleaved with writers in
other connections.

After each change the value cache is flushed (as a deployment or a Redis
restart does) and the wall's figures (unfiltered and per unit), the home
page's town figures and every row that says it is counted are compared with
a fresh count of the cases.

A change's raise of its units' rows runs once it commits
(kept_counts.changed_units: transaction.on_commit): in a test that runs in
a transaction, inside `with changed():`, or after a real commit in a
`transaction=True` test."""

import contextlib
import io
import json
import logging
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import F, JSONField, Value
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Scope
from composition.views import town_feedback
from disclosure.models import Organisation, Unit
from feedback import kept_counts, services
from feedback.models import (
    AnswerRound,
    Kind,
    Rating,
    RatingChannel,
    Status,
    Submission,
    SubmissionQuerySet,
    UnitCounts,
)
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.feedback.test_admin import change_data, change_url
from tests.perf.kept import a_round_of, flushed, recounted, wall_counts
from tests.perf.test_unit_and_catalog_scopes import counted
from tests.perf.test_wall_summary_compiled import varied

POSTGRES = connection.vendor == "postgresql"
only_postgres = pytest.mark.skipif(
    not POSTGRES, reason="row locks and SKIP LOCKED: PostgreSQL's"
)

VILLAGES = ("wenli", "maoshan", "shangcun", "xiacun")


def build_county() -> dict:
    """Two towns of two villages each, a case waiting and one accepted in
    each village (as tests.perf.test_scoped_values.two_towns, without its
    disclosures)."""
    county = {}
    for town_name, slug, villages in (
        ("凤鸣镇", "fengming", ("wenli", "maoshan")),
        ("青山镇", "qingshan", ("shangcun", "xiacun")),
    ):
        town = TownFactory(name=town_name, slug=slug)
        county[slug] = town
        for village in villages:
            unit = UnitFactory(name=f"{village}村", slug=village, parent=town)
            county[village] = unit
            SubmissionFactory(unit=unit, accepted=True)
            SubmissionFactory(unit=unit)
    return county


@pytest.fixture
def county(values_only, changed):
    # Committed: a page outside the test's transaction would meet it so (the
    # units changed in a transaction are counted in it, not read from their
    # rows: kept_counts._pending).
    with changed():
        return build_county()


@pytest.fixture
def clerk():
    return SuperuserFactory()


@pytest.fixture
def department():
    return DepartmentFactory(name="社会事务办")


# What is true, and what the pages say ---------------------------------------------


def submit(
    unit, *, kind=Kind.SUGGESTION, title="修路", text="三组的路坏了。", key="k1"
):
    """A resident's case about `unit` through the service (its row events and
    its raise after the commit): (case, created)."""
    return services.submit(
        data={
            "kind": kind,
            "unit": unit,
            "title": title,
            "text": text,
            "consent_to_publish": True,
        },
        client_key=key,
        form_token=key.replace("k", "t"),
    )


def wrong_rows(selection: str) -> list[tuple]:
    """The rows that say they are counted (at their generation, by these
    rules) and hold other counts than the cases'."""
    fresh = recounted(selection)
    wrong = []
    for row in UnitCounts.objects.filter(selection=selection):
        if row.counted_generation != row.generation or row.rules != kept_counts.RULES:
            continue
        try:
            part = kept_counts._part(row.parts)
        except (KeyError, AttributeError, TypeError, ValueError):
            continue  # read as not written: counted again
        if part != fresh.get(row.unit_id, kept_counts.empty_part()):
            wrong.append((row.unit_id, selection, row.generation))
    return wrong


def rows_true() -> None:
    assert wrong_rows("wall") == []
    assert wrong_rows("home") == []


def town_truth(town: Unit) -> tuple[dict, dict]:
    """The home page's figures of this town's cases, as kept and afresh."""
    units = {u.pk: u.slug for u in Unit.objects.of_town(town)}
    fresh = Submission.objects.on_record().filter(unit__in=list(units)).summary()
    return town_feedback(units), fresh


def wall_says(query: str = "", client=None) -> dict:
    response = (client or Client()).get(f"/feedback/?{query}")
    assert response.status_code == 200, (query, response.status_code)
    return response.context["summary"]


def check(*, flush: bool = True) -> None:
    """The rows, a flushed wall (every unit alone too) and home page, and the
    rows again once the pages wrote them. Then once more from rows all
    uncounted, each unit's first (so that both the county's count and a unit's
    alone write rows)."""
    rows_true()
    units = [f"unit={u.slug}" for u in Unit.objects.with_boards()]
    # What a visitor gets at once, from what the cache kept.
    for query in ["", *units]:
        assert wall_says(query) == wall_counts(query), ("not flushed", query)
    if flush:
        flushed()
    for query in ["", *units]:
        assert wall_says(query) == wall_counts(query), query
    for town in Unit.objects.towns():
        kept, fresh = town_truth(town)
        assert kept == fresh, town.slug
    assert Client().get("/").status_code == 200
    rows_true()
    if not flush:
        return
    UnitCounts.objects.update(counted_generation=None)
    flushed()
    for query in [*units, ""]:
        assert wall_says(query) == wall_counts(query), query
    for town in Unit.objects.towns():
        kept, fresh = town_truth(town)
        assert kept == fresh, town.slug
    rows_true()


def row(unit, selection: str = "wall") -> UnitCounts:
    return UnitCounts.objects.get(unit=unit, selection=selection)


def generations(selection: str = "wall") -> dict[int, int]:
    return dict(
        UnitCounts.objects.filter(selection=selection).values_list(
            "unit_id", "generation"
        )
    )


def raised_units(before: dict[int, int], selection: str = "wall") -> set[int]:
    after = generations(selection)
    return {unit for unit, gen in after.items() if before.get(unit) != gen}


# Every service -----------------------------------------------------------------


@pytest.mark.django_db
def test_every_service_of_a_case_keeps_the_rows_true(
    county, clerk, department, changed
):
    """submit, accept, assign, escalate, answer with an outcome, rate 不满意
    (a round), record_follow_up 不满意 (a third round, escalated), answer,
    rate, close, withdraw consent; each followed by a flushed wall and home
    page."""
    kept_counts.refresh()
    check()
    wenli = county["wenli"]
    wenli.village_cadre = UserFactory(username="cadre")
    wenli.save()
    with changed():
        case, created = submit(wenli)
    assert created
    check()
    steps = [
        lambda: services.accept(case, by=clerk, department=department),
        lambda: services.assign(case, by=clerk, to_cadre=True, workdays=3),
        lambda: services.escalate(case, why="测试督办", by=clerk),
        lambda: services.answer(case, by=clerk, department=department, text="修好了"),
        lambda: services.record_outcome(case, by=clerk, outcome="adopted"),
        lambda: services.rate(case, rating=Rating.UNSATISFIED, comment="没修好"),
        lambda: services.answer(case, by=clerk, department=department, text="又修了"),
        lambda: services.record_follow_up(
            case,
            by=clerk,
            rating=Rating.UNSATISFIED,
            channel=RatingChannel.PHONE,
            on=timezone.localdate(),
        ),
        lambda: services.answer(case, by=clerk, department=department, text="再修"),
        lambda: services.rate(case, rating=Rating.SATISFIED),
        lambda: services.close(case, by=clerk),
        lambda: services.withdraw_consent(case, by=clerk),
    ]
    for number, step in enumerate(steps):
        before = generations()
        with changed():
            step()
        case.refresh_from_db()
        assert wenli.pk in raised_units(before), number
        check()
    assert AnswerRound.objects.filter(submission=case).count() == 2
    assert case.round == 3 and case.escalated_round == 3


@pytest.mark.django_db
def test_a_request_entered_extended_and_refused(county, clerk, department, changed):
    kept_counts.refresh()
    request = Submission(
        kind=Kind.REQUEST,
        channel="phone",
        unit=county["xiacun"],
        title="公开低保名单",
        text="请公开",
        consent_to_publish=True,
    )
    with changed():
        services.record_offline(request, by=clerk)
    check()
    with changed():
        services.extend_decision(request, by=clerk, reason="需请示")
    check()
    with changed():
        services.refuse_request(request, by=clerk, reason="涉及隐私")
    check()
    with changed():
        services.hide(request, by=clerk, reason="重复")
    check()


@pytest.mark.django_db
def test_a_case_held_back_by_its_item_and_cleared(county, clerk, department, changed):
    """A party member's case about an item made 党内 (the item's save holds it
    back, services.on_item_saved): it leaves the listed count; cleared, it
    comes back."""
    item = ItemFactory(scope=Scope.PUBLIC)
    case = SubmissionFactory(
        unit=county["maoshan"], item=item, is_party_member=True, accepted=True
    )
    kept_counts.refresh()
    check()
    listed = wall_says()["listed"]
    with changed():
        item.scope = Scope.INNER_PARTY
        item.save()
    case.refresh_from_db()
    assert case.is_held_back
    check()
    assert wall_says()["listed"] == listed - 1
    with changed():
        services.clear_for_wall(case, by=clerk)
    check()
    assert wall_says()["listed"] == listed


@pytest.mark.django_db
def test_a_case_held_back_by_its_disclosure(county, changed):
    item = ItemFactory(scope=Scope.PUBLIC)
    disclosure = DisclosureFactory(unit=county["shangcun"], item=item)
    SubmissionFactory(unit=county["shangcun"], disclosure=disclosure, accepted=True)
    kept_counts.refresh()
    check()
    with changed():
        disclosure.scope = Scope.INNER_PARTY
        disclosure.save()
    assert Submission.objects.filter(concerns_inner_party=True).count() == 1
    check()


@pytest.mark.django_db
def test_escalate_overdue_command(county, changed):
    late = SubmissionFactory(unit=county["wenli"], accepted=True)
    Submission.objects.filter(pk=late.pk).update(
        due_date=timezone.localdate() - timedelta(days=3)
    )
    kept_counts.refresh()  # the bare update above is in the count
    check()
    escalating = wall_says()["escalating"]
    with changed():
        call_command("escalate_overdue", stdout=io.StringIO())
    check()
    assert wall_says()["escalating"] == escalating + 1


# The admin ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_change_form_and_its_steps(county, clerk, department, changed):
    """Moved to another town's village, made a 举报 (the wall leaves it out,
    the home page counts it), accepted and answered by the buttons, entered
    offline by the add form, closed by the bulk action."""
    kept_counts.refresh()
    admin = Client()
    admin.force_login(clerk)
    case = Submission.objects.filter(unit=county["wenli"], status="received").get()

    def post(**extra):
        case.refresh_from_db()
        with changed():
            response = admin.post(change_url(case), change_data(case, **extra))
        assert response.status_code == 302, response.content[:2000]
        case.refresh_from_db()

    post(unit=county["xiacun"].pk)
    assert case.unit == county["xiacun"]
    check()
    post(unit=county["xiacun"].pk, kind=Kind.DENUNCIATION)
    assert case.kind == Kind.DENUNCIATION
    check()
    post(unit=county["xiacun"].pk, kind=Kind.QUESTION)
    post(unit=county["maoshan"].pk, department=department.pk, _accept="1")
    assert case.status == Status.ACCEPTED and case.unit == county["maoshan"]
    check()
    post(
        unit=county["maoshan"].pk,
        department=department.pk,
        answer_text="答复了",
        _answer="1",
    )
    assert case.status == Status.ANSWERED
    check()
    post(
        unit=county["maoshan"].pk,
        department=department.pk,
        follow_up_rating=Rating.UNSATISFIED,
        follow_up_channel=RatingChannel.VISIT,
        follow_up_on=timezone.localdate().isoformat(),
        _follow_up="1",
    )
    assert case.round == 2
    check()
    post(unit=county["maoshan"].pk, department=department.pk, _hide="1", reason="重复")
    assert case.status == Status.NOT_PUBLISHED
    check()
    # Added offline through the add form (services.record_offline).
    added = change_data(
        SubmissionFactory.build(unit=county["shangcun"], channel="phone"),
        unit=county["shangcun"].pk,
    )
    added.pop("received_at_0"), added.pop("received_at_1")
    added["received_at_0"] = timezone.localdate().isoformat()
    added["received_at_1"] = "09:00:00"
    with changed():
        response = admin.post("/admin/feedback/submission/add/", added)
    assert response.status_code == 302, response.content[:2000]
    check()
    # The bulk action: every answered case closed.
    answered = SubmissionFactory(unit=county["qingshan"], accepted=True)
    services.answer(answered, by=clerk, department=department, text="好")
    kept_counts.refresh()
    with changed():
        response = admin.post(
            "/admin/feedback/submission/",
            {
                "action": "close_selected",
                "_selected_action": [answered.pk],
                "index": 0,
            },
        )
    assert response.status_code == 302
    answered.refresh_from_db()
    assert answered.status == Status.CLOSED
    check()


@pytest.mark.django_db
def test_a_case_and_a_round_deleted(county, clerk, department, changed):
    """The admin deletes no case (hidden instead); the ORM does: a case, a
    round alone, a queryset of cases."""
    case = SubmissionFactory(unit=county["shangcun"], accepted=True)
    services.answer(case, by=clerk, department=department, text="答")
    services.rate(case, rating=Rating.UNSATISFIED)
    kept_counts.refresh()
    check()
    with changed():
        AnswerRound.objects.get(submission=case).delete()
    check()
    with changed():
        Submission.objects.filter(unit=county["wenli"]).delete()
    check()
    with changed():
        Submission.objects.get(pk=case.pk).delete()
    check()
    assert Client().get("/admin/feedback/submission/").status_code == 302


@pytest.mark.django_db
def test_a_round_moved_to_another_case(county, clerk, department, changed):
    case = SubmissionFactory(unit=county["shangcun"], accepted=True)
    services.answer(case, by=clerk, department=department, text="答")
    services.rate(case, rating=Rating.UNSATISFIED)
    other = SubmissionFactory(unit=county["wenli"], accepted=True)
    kept_counts.refresh()
    check()
    moved = AnswerRound.objects.get(submission=case)
    with changed():
        moved.submission = other
        moved.save()
    check()
    # Built by hand over the row (a restore, a script): where it was is read.
    copy = AnswerRound(
        **{f.attname: getattr(moved, f.attname) for f in moved._meta.concrete_fields}
    )
    copy.submission = case
    with changed():
        copy.save()
    check()


@pytest.mark.django_db
def test_units_renamed_moved_between_towns_and_deleted(county, clerk, changed):
    kept_counts.refresh()
    check()
    wenli = Unit.objects.get(slug="wenli")
    with changed():
        wenli.slug = "wenli-new"
        wenli.save()
    check()
    with changed():
        wenli.parent = county["qingshan"]
        wenli.save()
    check()
    assert wall_says("unit=wenli-new") == wall_counts("unit=wenli-new")
    # A unit without cases, counted once (its rows there), then deleted.
    empty = UnitFactory(name="空村", slug="kongcun", parent=county["fengming"])
    check()
    assert UnitCounts.objects.filter(unit=empty).count() == 2
    with changed():
        # Its bodies made with it (PROTECT) go first.
        Organisation.objects.filter(unit=empty).delete()
        Unit.objects.get(pk=empty.pk).delete()
    assert not UnitCounts.objects.filter(unit_id=empty.pk).exists()
    check()
    # Through the admin too.
    another = UnitFactory(name="又一村", slug="youyicun", parent=county["qingshan"])
    check()
    Organisation.objects.filter(unit=another).delete()
    admin = Client()
    admin.force_login(clerk)
    with changed():
        response = admin.post(
            f"/admin/disclosure/unit/{another.pk}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Unit.objects.filter(pk=another.pk).exists()
    check()


@pytest.mark.django_db
def test_a_unit_with_cases_refuses_deletion_and_keeps_its_rows(county, changed):
    from django.db.models import ProtectedError

    kept_counts.refresh()
    with pytest.raises(ProtectedError):
        with transaction.atomic():
            Unit.objects.get(slug="wenli").delete()
    assert UnitCounts.objects.filter(unit=county["wenli"]).count() == 2
    check()


# Loaders, bare updates ---------------------------------------------------------------


@pytest.mark.django_db
def test_loaddata_of_cases_and_rounds(county, clerk, department, changed, tmp_path):
    """A fixture loaded (raw saves): an existing case changed in it, a new case
    and a new round of an existing case."""
    case = SubmissionFactory(unit=county["wenli"], accepted=True)
    services.answer(case, by=clerk, department=department, text="答")
    kept_counts.refresh()
    check()
    out = io.StringIO()
    call_command("dumpdata", "feedback.submission", f"--pks={case.pk}", stdout=out)
    data = json.loads(out.getvalue())
    data[0]["fields"]["unit"] = county["xiacun"].pk
    data[0]["fields"]["rating"] = "satisfied"
    new = json.loads(json.dumps(data[0]))
    new["pk"] = case.pk + 1000
    new["fields"]["tracking_code"] = "ZZZZZZZZ"
    new["fields"]["form_token"] = None
    new["fields"]["unit"] = county["shangcun"].pk
    new["fields"]["kind"] = Kind.DENUNCIATION
    new["fields"]["rating"] = ""
    round_ = {
        "model": "feedback.answerround",
        "pk": 5000,
        "fields": {
            "submission": county_case(county["maoshan"]).pk,
            "number": 1,
            "due_date": timezone.localdate().isoformat(),
            "answer_text": "旧答复",
            "answerer": "",
            "answered_at": timezone.now().isoformat(),
            "rating": "unsatisfied",
            "rating_comment": "",
            "rated_at": None,
            "rating_channel": "online",
        },
    }
    fixture = tmp_path / "cases.json"
    fixture.write_text(json.dumps([*data, new, round_]))
    with changed():
        call_command("loaddata", str(fixture), stdout=io.StringIO())
    assert Submission.objects.get(pk=case.pk).unit == county["xiacun"]
    check()


def county_case(unit) -> Submission:
    return Submission.objects.filter(unit=unit).order_by("pk").first()


@pytest.mark.django_db
def test_a_bare_update_is_not_followed_until_the_nightly_check(county, changed):
    """Known (core.events): `QuerySet.update()` sends no event, and no service
    does one. The row says it is counted, and is not, until warm_pages counts
    every row again. Documented here, not a bug of the feature."""
    kept_counts.refresh()
    Submission.objects.filter(unit=county["wenli"]).update(
        status="answered", answered_at=timezone.now()
    )
    assert wrong_rows("wall") == [
        (county["wenli"].pk, "wall", row(county["wenli"]).generation)
    ]
    kept_counts.refresh()
    check()


@pytest.mark.django_db
def test_seed_scale_style_bulk_load_raises_every_unit(county, changed):
    kept_counts.refresh()
    Submission.objects.bulk_create(
        [
            Submission(
                kind="question",
                unit=county[slug],
                title="批量",
                text="批量",
                tracking_code=f"BULK{n:04d}",
                due_date=timezone.localdate(),
            )
            for n, slug in enumerate(VILLAGES)
        ]
    )
    with changed():  # committed: the raise runs after the commit
        kept_counts.changed_units(None)  # what seed_scale does after its inserts
    assert not UnitCounts.objects.filter(counted_generation=F("generation")).exists()
    check()


# Transactions rolled back --------------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_a_change_rolled_back_leaves_the_rows_as_they_were(county, clerk, changed):
    kept_counts.refresh()
    before = list(UnitCounts.objects.order_by("pk").values())
    case = county_case(county["wenli"])
    with pytest.raises(Boom), changed():
        with transaction.atomic():
            case.unit = county["xiacun"]
            case.status = "answered"
            case.answered_at = timezone.now()
            case.save()
            SubmissionFactory(unit=county["maoshan"])
            raise Boom
    assert list(UnitCounts.objects.order_by("pk").values()) == before
    check()
    # The instance still thinks it moved: its next save reads where it is.
    case.unit = county["shangcun"]
    with changed():
        case.save()
    check()


# FAILS (latent: no page is made inside a change's transaction today, no
# ATOMIC_REQUESTS): a change's raise of its unit's rows waits for the commit
# (kept_counts.changed_units: transaction.on_commit), and kept_counts.read
# trusts a row counted at its generation. A page read in the transaction that
# changed a case adds up the unit's rows as they were before the change: its
# own change is not in its figures. Nothing is kept (caching.may_keep: not in
# a transaction) and the raise after the commit makes the rows stale: the
# next page is right. (Counting the units a transaction's raises wait for,
# tried on 2026-12-07, made every test's factory-made units count as
# uncommitted: left.)
@pytest.mark.xfail(
    strict=True,
    reason="FAILS: a page read in the transaction of a change adds up its unit's "
    "rows not yet raised (the raise waits for the commit): its own change missing",
)
@pytest.mark.django_db
def test_a_page_read_inside_a_savepoint_rolled_back(county, clerk, changed):
    """A page (the wall's counts) read inside a transaction after a change,
    which is then rolled back: its figures should have the change, it
    writes no row of it, and no value read then is kept."""
    kept_counts.refresh()
    flushed()
    before = list(UnitCounts.objects.order_by("pk").values())
    with pytest.raises(Boom), changed():
        with transaction.atomic():
            SubmissionFactory(unit=county["wenli"], accepted=True)
            inside = wall_says()
            assert inside["received"] == wall_counts()["received"]
            assert list(UnitCounts.objects.order_by("pk").values()) == before
            raise Boom
    check(flush=False)
    check()


@pytest.mark.django_db
def test_rows_written_inside_a_savepoint_rolled_back_go_with_it(county, changed):
    """The rollback of the test above, another unit's rows stale before the
    change (as the nightly check or a raise leaves them): the page inside
    counts them again and writes them in the transaction (not the changed
    unit's, counted at its generation still); rolled back, they go with it,
    and no value read then is kept."""
    kept_counts.refresh()
    UnitCounts.objects.filter(unit=county["maoshan"]).update(counted_generation=None)
    wenli = row(county["wenli"]).parts
    flushed()
    with pytest.raises(Boom), changed():
        with transaction.atomic():
            SubmissionFactory(unit=county["wenli"], accepted=True)
            wall_says()
            assert row(county["maoshan"]).counted_generation is not None  # written
            # A case coming in raises its unit in its transaction
            # (kept_counts._came_in, 2026-12-07, fifth session): the page
            # inside adds it to its unit's counts and writes them, in the
            # transaction too (before, not written: counted at the generation
            # of before).
            assert row(county["wenli"]).parts != wenli
            assert row(county["wenli"]).added == ""
            raise Boom
    assert row(county["maoshan"]).counted_generation is None  # rolled back
    assert row(county["wenli"]).parts == wenli
    check(flush=False)
    check()


@pytest.mark.django_db
def test_a_page_read_in_an_outer_transaction_then_a_nested_change_rolled_back(
    county, changed
):
    kept_counts.refresh()
    with changed():
        with transaction.atomic():
            flushed()
            wall_says()  # the rows read, in the transaction
            try:
                with transaction.atomic():
                    SubmissionFactory(unit=county["wenli"], accepted=True)
                    # Its raise waits for the commit: the rows made stale by
                    # hand, so that the page counts them again and writes
                    # them in the savepoint.
                    UnitCounts.objects.filter(unit=county["wenli"]).update(
                        counted_generation=None
                    )
                    wall_says()
                    raise Boom
            except Boom:
                pass
            rows_true()
            wall_says()
    check(flush=False)
    check()


# Hostile rows ------------------------------------------------------------------------


TAMPERED = [
    None,
    [],
    "text",
    {},
    {"totals": {}},
    {"totals": 1, "days": {}, "ratings": {}, "by_staff": 0},
    {"totals": {}, "days": {"x": 1}, "ratings": {}, "by_staff": 0},
    {"totals": {}, "days": {}, "ratings": {}, "by_staff": "many"},
    {"totals": {}, "days": [], "ratings": {}, "by_staff": 0},
]


@pytest.mark.django_db
@pytest.mark.parametrize("parts", TAMPERED, ids=[repr(p)[:30] for p in TAMPERED])
def test_a_row_not_as_written_is_counted_again(county, parts, changed):
    with changed():
        varied(county)
    kept_counts.refresh()
    # JSON's null, not SQL's NULL (the column is NOT NULL).
    UnitCounts.objects.filter(unit=county["wenli"]).update(
        parts=Value(parts, output_field=JSONField())
    )
    check()
    assert row(county["wenli"]).parts != parts


BAD_VALUES = [
    {"totals": {"received": "3"}, "days": {}, "ratings": {}, "by_staff": 0},
    {"totals": {"received": None}, "days": {}, "ratings": {}, "by_staff": 0},
    {"totals": {}, "days": {"2": "1"}, "ratings": {}, "by_staff": 0},
    {"totals": {}, "days": {}, "ratings": {"satisfied": [1]}, "by_staff": 0},
    {"totals": {"received": True}, "days": {}, "ratings": {}, "by_staff": True},
]


@pytest.mark.django_db
@pytest.mark.parametrize("parts", BAD_VALUES, ids=[repr(p)[:40] for p in BAD_VALUES])
def test_a_row_whose_counts_are_not_numbers_is_counted_again(county, parts, changed):
    """Was a strict xfail until 2026-12-07: a count stored as text or null was
    taken as written, and adding the units up raised TypeError (a 500).
    kept_counts._part now takes every count as an int alone (text, null,
    bool, a list: counted again)."""
    with changed():
        varied(county)
    kept_counts.refresh()
    UnitCounts.objects.filter(unit=county["wenli"]).update(parts=parts)
    flushed()
    assert Client().get("/feedback/").status_code == 200
    check()


@pytest.mark.django_db
def test_rules_and_generations_of_any_value(county, changed):
    with changed():
        varied(county)
    kept_counts.refresh()
    wenli, xiacun, shangcun = county["wenli"], county["xiacun"], county["shangcun"]
    UnitCounts.objects.filter(unit=wenli).update(rules="999")
    UnitCounts.objects.filter(unit=xiacun).update(generation=-5, counted_generation=-5)
    UnitCounts.objects.filter(unit=shangcun).update(
        generation=2**62, counted_generation=2**62 + 1
    )
    check()
    assert row(wenli).rules == kept_counts.RULES
    assert row(shangcun).counted_generation == 2**62  # counted again
    with changed():
        SubmissionFactory(unit=xiacun, accepted=True)
        SubmissionFactory(unit=shangcun, accepted=True)
    assert row(xiacun).generation == -4
    check()


@pytest.mark.django_db
def test_the_largest_generation_a_change_can_raise(county, changed):
    """One below the largest BigIntegerField: raised to the largest, counted
    again, right (at the largest itself: the next test)."""
    kept_counts.refresh()
    wenli = county["wenli"]
    UnitCounts.objects.filter(unit=wenli).update(generation=2**63 - 2)
    with changed():
        SubmissionFactory(unit=wenli, accepted=True)
    assert row(wenli).generation == 2**63 - 1
    check()


@pytest.mark.django_db(transaction=True)
def test_a_generation_at_the_bigint_limit(emptied_caches, caplog):
    """Unreachable but by hand (2**63 raises). The raise runs after the
    change commits (transaction=True: committed as in production), so a
    change of the unit's cases is saved whatever the raise does: no 500.

    PostgreSQL: the upsert's `generation + 1` is out of range; _raise logs
    it and marks the unit's rows not counted (counted_generation NULL, the
    generation back to 0): the figures after a flush are right, after each
    change. SQLite: the sum is
    stored as a REAL (9.223372036854776e18), no error. It differs from the
    counted generation (an int), so the first change's figures are right;
    but the REAL never moves again (+ 1 is lost in its precision): once the
    rows are counted at it, the next change of an existing case leaves them
    fresh and wrong until the nightly check (`refresh`) counts them again; a
    case coming in takes them back to 0 (`_came_in`), as observed below."""
    county = build_county()
    wenli = county["wenli"]
    kept_counts.refresh()
    top = 2**63 - 1
    UnitCounts.objects.filter(unit=wenli).update(generation=top, counted_generation=top)
    clerk = SuperuserFactory()
    admin = Client()
    admin.force_login(clerk)
    case = county_case(wenli)
    assert case.status == Status.ACCEPTED  # on the wall
    with caplog.at_level(logging.ERROR, logger="feedback.kept_counts"):
        response = admin.post(
            change_url(case), change_data(case, kind=Kind.DENUNCIATION)
        )
    assert response.status_code == 302, response.content[:2000]
    case.refresh_from_db()
    assert case.kind == Kind.DENUNCIATION  # saved
    for selection in ("wall", "home"):
        counts = row(wenli, selection)
        # The request that changed the case counted its rows after its view
        # (kept_counts.recount_acted_on), at the generation it found.
        if POSTGRES:
            # Not raised: marked not counted, the generation moved back to 0
            # (a count under way writes nothing), then counted.
            assert counts.generation == 0
            assert counts.counted_generation == 0
        else:
            assert isinstance(counts.generation, float)
            assert counts.generation == float(2**63)
            assert counts.counted_generation == counts.generation
    logged = [r for r in caplog.records if r.name == "feedback.kept_counts"]
    assert bool(logged) == POSTGRES
    check()
    # Counted at the limit (check() counted every row again): another change.
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="feedback.kept_counts"):
        submitted, created = submit(Unit.objects.get(pk=wenli.pk))
        services.accept(submitted, by=clerk, department=DepartmentFactory())
    assert created
    # The case coming in raised its unit in its transaction, back to 0 from
    # the limit (SQLite's REAL too: kept_counts._came_in), since 2026-12-07
    # (fifth session); before, SQLite stayed at the REAL, fresh and wrong,
    # until the nightly check.
    assert row(wenli).counted_generation != row(wenli).generation  # stale
    assert type(row(wenli).generation) is int
    check()


@pytest.mark.django_db
def test_rows_of_other_selections_and_of_no_unit_are_left_alone(county, changed):
    kept_counts.refresh()
    wenli = county["wenli"]
    UnitCounts.objects.create(
        unit=wenli,
        selection="legacy",
        generation=3,
        counted_generation=3,
        rules=kept_counts.RULES,
        parts={"totals": {"received": 999}, "days": {}, "ratings": {}, "by_staff": 0},
    )
    check()
    with changed():
        SubmissionFactory(unit=wenli)
    check()
    with pytest.raises(KeyError):
        kept_counts.cases("nowhere")


@pytest.mark.django_db
def test_a_selection_not_registered_is_refused_or_never_kept(county):
    """Was a strict xfail until 2026-12-07: kept_counts.read took any selection
    name, and kept rows of a name not in SELECTIONS, which no change raises
    (a caller's typo, kept="Wall", would show the counts of the day it was
    first read, forever). read() now refuses it (ValueError), and adds and
    writes no row of it."""
    wenli = county["wenli"]

    def count(ids):
        return recounted_of("wall", ids)

    for name in ("Wall", "nowhere", ""):
        with pytest.raises(ValueError):
            kept_counts.read(name, [wenli.pk], count)
    assert set(UnitCounts.objects.values_list("selection", flat=True)) <= set(
        kept_counts.SELECTIONS
    )


def recounted_of(selection: str, ids) -> dict:
    return kept_counts.cases(selection).summary_parts(
        by_unit=True, today=False, units=tuple(ids)
    )


# The wall's filters ---------------------------------------------------------------


WALL_QUERIES = [
    # (query, whether the rows are read: no filter but the unit)
    ("unit=wenli", True),
    ("unit=fengming", True),
    ("unit=", True),
    ("unit=wenli&kind=suggestion", False),
    ("unit=wenli&status=answered", False),
    ("unit=xiacun&escalated=1", False),
    ("unit=wenli&received_after=2000-01-01", False),
    ("unit=wenli&received_after=&received_before=", True),
    ("unit=wenli&tag=", True),
    ("unit=wenli&page=1", True),
    ("unit=wenli&foo=bar&utm_source=x", True),
    ("foo=bar", True),
    ("unit=maoshan&unit=wenli", True),
    ("unit=wenli&outcome=adopted", False),
    ("unit=wenli&kind=&status=&channel=&outcome=&escalated=", True),
]


@pytest.mark.django_db
@pytest.mark.parametrize("query,reads_rows", WALL_QUERIES)
def test_the_wall_by_unit_alone_or_with_other_filters(
    county, changed, query, reads_rows
):
    with changed():
        varied(county)
    kept_counts.refresh()
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True, kind="suggestion")
    flushed()
    assert wall_says(query) == wall_counts(query)
    rows_true()
    # The rows hold other counts than the cases: a page that reads them
    # says so.
    for unit in Unit.objects.all():
        UnitCounts.objects.filter(unit=unit).update(
            parts={
                "totals": {"received": 1000 + unit.pk},
                "days": {},
                "ratings": {},
                "by_staff": 0,
            }
        )
    flushed()
    assert (wall_says(query)["received"] >= 1000) == reads_rows


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "unit=nowhere",
        "unit=%00",
        "unit=wenli&kind=denunciation",
        "unit=wenli&escalated=2",
        "unit=wenli&received_after=yesterday",
        "unit=" + "x" * 5000,
    ],
)
def test_a_bad_filter_is_refused_not_a_500(county, query):
    kept_counts.refresh()
    flushed()
    response = Client().get(f"/feedback/?{query}")
    assert response.status_code == 400


@pytest.mark.django_db
def test_unknown_parameters_count_right(county, changed):
    with changed():
        varied(county)
    kept_counts.refresh()
    with changed():
        SubmissionFactory(unit=county["wenli"], accepted=True)
    flushed()
    for query in ("foo=1", "unit=wenli&x=y", "page=1", "unit=wenli&page=1"):
        kept = query.replace("foo=1", "").replace("&x=y", "").replace("page=1", "")
        assert wall_says(query) == wall_counts(kept.strip("&")), query


# The value cache switched off, and the cost of a read ---------------------------------


@pytest.mark.django_db
def test_no_value_cache_no_rows(settings, changed):
    build_county()
    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 0
    flushed()
    with CaptureQueriesContext(connection) as queries:
        assert wall_says() == wall_counts()
        assert wall_says("unit=wenli") == wall_counts("unit=wenli")
        for town in Unit.objects.towns():
            kept, fresh = town_truth(town)
            assert kept == fresh
    # Not read, nor written (the changes add and raise them all the same).
    assert not any(
        UnitCounts._meta.db_table in q["sql"] for q in queries.captured_queries
    )
    assert not UnitCounts.objects.exclude(counted_generation=None).exists()


@pytest.mark.django_db
def test_a_read_of_fresh_rows_is_one_query(county, monkeypatch, changed):
    with changed():
        varied(county)
    kept_counts.refresh()
    units = list(Unit.objects.values_list("pk", flat=True))
    calls = counted(monkeypatch, SubmissionQuerySet, "summary_parts")

    def count(ids):
        raise AssertionError(f"counted {ids}")

    for every in (False, True):
        with CaptureQueriesContext(connection) as queries:
            kept_counts.read("wall", units, count, every=every)
        assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    flushed()
    with CaptureQueriesContext(connection) as queries:
        wall_says()
    reads = [
        q for q in queries.captured_queries if UnitCounts._meta.db_table in q["sql"]
    ]
    assert len(reads) == 1
    assert calls == []


# Many units at once ---------------------------------------------------------------


@pytest.fixture
def emptied_caches(settings):
    """values_only's, for a transactional test (its rows made in the test)."""
    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 60
    flushed()
    yield
    flushed()


def many_units(count: int) -> Unit:
    town = TownFactory(name="大镇", slug="dazhen")
    Unit.objects.bulk_create(
        [
            Unit(name=f"村{n}", slug=f"cun{n}", kind=Unit.Kind.VILLAGE, parent=town)
            for n in range(count)
        ]
    )
    SubmissionFactory(unit=Unit.objects.get(slug="cun7"), accepted=True)
    return town


@pytest.mark.django_db(transaction=True)
def test_every_unit_raised_at_once_with_a_thousand_units(emptied_caches):
    """Was a strict xfail until 2026-12-07 (SQLite): kept_counts._keep chose the
    rows to write by one OR of (unit_id, generation) per unit, deeper than
    SQLite's SQLITE_MAX_EXPR_DEPTH (1000) past about a thousand units: the
    rows of a county raised at once (seed_scale, changed_units(None)) were
    never written by a page. _keep now writes KEEP_BATCH rows a statement,
    by `unit_id IN`, the generations compared in Python: a thousand stale
    units are counted once and kept, on both databases."""
    many_units(1200)
    kept_counts.refresh()
    kept_counts.changed_units(None)  # as seed_scale after a bulk load (committed)
    assert UnitCounts.objects.count() == 2 * 1201
    assert not UnitCounts.objects.filter(counted_generation=F("generation")).exists()
    flushed()
    assert wall_says() == wall_counts()  # counted, right
    # and kept: the next flush reads the rows.
    stale = UnitCounts.objects.filter(selection="wall").exclude(
        counted_generation=F("generation")
    )
    assert stale.count() == 0


@pytest.mark.django_db
def test_the_wall_of_a_thousand_stale_units_inside_a_transaction(values_only, changed):
    """Was a strict xfail until 2026-12-07 (SQLite): the same OR chain, inside a
    transaction, raised its error (a 500). Now batched, and an error of
    _keep's is swallowed in its own savepoint: the wall is right."""
    many_units(1200)
    with changed():
        kept_counts.changed_units(None)
    assert UnitCounts.objects.count() == 2 * 1201
    flushed()
    assert wall_says() == wall_counts()
    assert (
        not UnitCounts.objects.filter(selection="wall")
        .exclude(counted_generation=F("generation"))
        .exists()
    )


@pytest.mark.django_db(transaction=True)
def test_a_unit_deleted_between_the_list_and_the_rows(emptied_caches):
    """read() for a unit that is no more (deleted since the page listed the
    town's units): counted (nothing), no row left for it, no error."""
    county = build_county()
    gone = 10**9
    found = kept_counts.read(
        "wall", [county["wenli"].pk, gone], lambda ids: recounted_of("wall", ids)
    )
    assert found[gone]["totals"] == {}
    assert not UnitCounts.objects.filter(unit_id=gone).exists()
    assert wrong_rows("wall") == []


# A page between a change's commit and its raise ----------------------------------


def page_before_the_raise(monkeypatch) -> list:
    """kept_counts._raise wrapped: once a change has committed (the page
    cache's versions moved), before its units' rows are raised, a page is
    made (another request, just then): the wall and every town's home page
    figures, kept under the new versions. The pages made, in the list
    returned."""
    real = kept_counts._raise
    pages = []

    def page_first(ids):
        if not pages:
            pages.append(wall_says())
            for town in Unit.objects.towns():
                town_truth(town)
        return real(ids)

    monkeypatch.setattr(kept_counts, "_raise", page_first)
    return pages


def all_right() -> None:
    """Not flushed: what a visitor gets, from what the cache kept."""
    assert wrong_rows("wall") == []
    assert wall_says() == wall_counts()
    for town in Unit.objects.towns():
        kept, fresh = town_truth(town)
        assert kept == fresh, town.slug


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("atomic", [False, True], ids=["autocommit", "atomic"])
def test_a_round_created_outside_a_transaction_with_a_page_in_between(
    emptied_caches, monkeypatch, atomic
):
    """Was a strict xfail until 2026-12-07: a round saved outside a transaction
    bumped the page cache's versions before its unit's rows were raised, and
    a page made between the two kept the old counts under the new versions.
    The raise now runs after the commit in every case, and bumps the unit's
    case scopes again (kept_counts._raise): a page made between the commit
    and the raise is not kept past it. Saved alone (autocommit) or in a
    transaction."""
    build_county()
    case = SubmissionFactory(unit=Unit.objects.get(slug="wenli"), accepted=True)
    kept_counts.refresh()
    all_right()
    pages = page_before_the_raise(monkeypatch)
    with transaction.atomic() if atomic else contextlib.nullcontext():
        a_round_of(case)
    assert pages
    all_right()


@pytest.mark.django_db(transaction=True)
def test_a_case_created_answered_outside_a_transaction_with_a_page_in_between(
    emptied_caches, monkeypatch
):
    """Its rows raised after the cache's bump, a page in between: right (the
    raise bumps its unit's case scopes again; summary.on_new_case too)."""
    build_county()
    kept_counts.refresh()
    all_right()
    pages = page_before_the_raise(monkeypatch)
    # Entered already accepted (a loader's, a script's): on the wall at once.
    SubmissionFactory(unit=Unit.objects.get(slug="wenli"), accepted=True)
    assert pages
    all_right()


@pytest.mark.django_db(transaction=True)
def test_a_case_received_outside_a_transaction_with_a_page_in_between(
    emptied_caches, monkeypatch
):
    """A new case not yet on the wall, a page between its commit and its
    raise: right."""
    build_county()
    kept_counts.refresh()
    all_right()
    pages = page_before_the_raise(monkeypatch)
    SubmissionFactory(unit=Unit.objects.get(slug="wenli"))
    assert pages
    all_right()


@pytest.mark.django_db(transaction=True)
def test_a_case_moved_in_a_transaction_with_a_page_in_between(
    emptied_caches, monkeypatch
):
    """A case moved to another town's village and answered in one
    transaction, a page between the commit and the raise of both units:
    right."""
    county = build_county()
    kept_counts.refresh()
    all_right()
    pages = page_before_the_raise(monkeypatch)
    with transaction.atomic():
        case = county_case(county["wenli"])
        case.unit = county["xiacun"]
        answered_now(case)
        case.save()
    assert pages
    all_right()


# Concurrency (PostgreSQL) ---------------------------------------------------------


def backend_pid() -> int | None:
    if not POSTGRES:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def blocked(pid: int) -> bool:
    """Whether this backend waits for another's lock."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT cardinality(pg_blocking_pids(%s))", [pid])
        return cursor.fetchone()[0] > 0


def wait_until(condition, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False


class Worker(threading.Thread):
    """A thread with its own connection; what it raised kept in `error`."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.work = target
        self.error = None
        self.result = None
        self.pid = None
        self.started_db = threading.Event()

    def run(self):
        try:
            self.pid = backend_pid()
            self.started_db.set()
            self.result = self.work()
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            self.started_db.set()
            connection.close()


class Writer:
    """A change of a case in a transaction of another connection, in steps
    the test orders: `save()` (the case saved, not committed: its rows are
    raised only once it commits), then `commit()` (committed, its rows
    raised) or `roll_back()`; or `let_go()` and the test waits for the
    commit itself (its raise held: `RaiseHeld`)."""

    def __init__(self, case_pk: int, change):
        self.saved = threading.Event()
        self.go = threading.Event()
        self.rollback = False
        self.case_pk = case_pk
        self.change = change
        self.thread = Worker(self._run)

    def _run(self):
        with transaction.atomic():
            case = Submission.objects.get(pk=self.case_pk)
            self.change(case)
            case.save()
            self.saved.set()
            assert self.go.wait(20)
            if self.rollback:
                raise Boom

    def save(self):
        self.thread.start()
        assert self.saved.wait(10), self.thread.error

    def let_go(self):
        self.go.set()

    def commit(self):
        self.go.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.thread.error is None, self.thread.error

    def roll_back(self):
        self.rollback = True
        self.go.set()
        self.thread.join(10)
        assert isinstance(self.thread.error, Boom), self.thread.error


class Reader:
    """kept_counts.read of the wall's rows of `units` in another connection,
    its count (of the cases, as the wall's) held until `release()`."""

    def __init__(self, units: list[int]):
        self.counting = threading.Event()
        self.release_count = threading.Event()
        self.counted = 0
        self.thread = Worker(self._run)
        self.units = units

    def _count(self, ids):
        self.counted += 1
        self.counting.set()
        assert self.release_count.wait(20)
        return recounted_of("wall", ids)

    def _run(self):
        return kept_counts.read("wall", self.units, self._count)

    def start(self):
        self.thread.start()

    def release(self):
        self.release_count.set()

    def finish(self, seconds: float = 10):
        self.release_count.set()
        self.thread.join(seconds)
        assert not self.thread.is_alive(), "the reader waits"
        assert self.thread.error is None, self.thread.error
        return self.thread.result


def answered_now(case) -> None:
    case.status = "answered"
    case.answered_at = timezone.now()
    case.answer_text = "答复"


def moved_to(slug: str):
    def move(case):
        case.unit = Unit.objects.get(slug=slug)

    return move


class RaiseHeld:
    """kept_counts._raise wrapped: in this thread, once its change has
    committed, the raise waits (`raising` set) until `go`."""

    def __init__(self, monkeypatch, thread):
        self.real = kept_counts._raise
        self.thread = thread
        self.raising, self.go = threading.Event(), threading.Event()
        monkeypatch.setattr(kept_counts, "_raise", self._raise)

    def _raise(self, ids):
        if threading.current_thread() is self.thread:
            self.raising.set()
            assert self.go.wait(20)
        return self.real(ids)


@pytest.fixture
def stale_county(emptied_caches):
    """The county committed, every row counted, then raised (stale): a read
    counts them again."""
    county = build_county()
    kept_counts.refresh()
    kept_counts.changed_units(None)  # autocommit: raised at once
    return county


def settled() -> None:
    """Whatever the order: no row fresh and wrong; a flushed wall right and
    its rows (written now) right."""
    rows_true()
    flushed()
    assert wall_says() == wall_counts()
    rows_true()


ORDERS = [
    "committed before the read",
    "saved before the read, committed during the count",
    "saved before the read, committed after the write",
    "begun and committed during the count",
    "saved during the count, committed after the write",
    "committed before the read, raised during the count",
    "committed before the read, raised after the write",
    "saved during the count, rolled back after the write",
    "saved before the read, rolled back during the count",
]
# Where the page's write is kept fresh: the change committed and raised
# before the read, or rolled back.
FRESH = {ORDERS[0], ORDERS[-2], ORDERS[-1]}


@only_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("change", ["answered", "moved"])
def test_a_reader_and_a_writer_in_every_order(stale_county, monkeypatch, order, change):
    """A page's read (kept_counts.read of every unit) and a change of a case
    of wenli in another connection, in every order; the change's raise runs
    after its commit (kept_counts.changed_units), held apart from it in two
    orders (the window its second bump of the page cache covers)."""
    wenli = stale_county["wenli"]
    case = county_case(wenli)
    units = list(Unit.objects.values_list("pk", flat=True))
    writer = Writer(
        case.pk, answered_now if change == "answered" else moved_to("xiacun")
    )
    reader = Reader(units)
    if order == "committed before the read":
        writer.save()
        writer.commit()
        reader.start()
        reader.finish()
    elif order.startswith("committed before the read, raised"):
        held = RaiseHeld(monkeypatch, writer.thread)
        writer.save()
        writer.let_go()
        assert held.raising.wait(10)  # committed, not raised yet
        reader.start()
        assert reader.counting.wait(10)
        if order.endswith("raised during the count"):
            held.go.set()
            writer.thread.join(10)
            reader.finish()
        else:  # its count, with the change in it, written at the old generation
            reader.finish(5)
            held.go.set()
            writer.thread.join(10)
        assert not writer.thread.is_alive()
        assert writer.thread.error is None, writer.thread.error
    elif order.startswith("saved before the read"):
        writer.save()
        reader.start()
        assert reader.counting.wait(10)
        if order.endswith("committed during the count"):
            writer.commit()
            reader.finish()
        elif order.endswith("rolled back during the count"):
            writer.roll_back()
            reader.finish()
        else:  # the writer holds no row of the counts: the reader writes
            reader.finish(5)
            writer.commit()
    elif order == "begun and committed during the count":
        reader.start()
        assert reader.counting.wait(10)
        writer.save()
        writer.commit()
        reader.finish()
    else:  # saved during the count
        reader.start()
        assert reader.counting.wait(10)
        writer.save()
        reader.finish(5)  # the page does not wait
        if order.endswith("committed after the write"):
            writer.commit()
        else:
            writer.roll_back()
    # The page counted, and its count is fresh only where no change committed
    # after its read of the generation (dropped, or made stale by the raise).
    assert reader.counted == 1
    wenli_row = row(wenli)
    fresh = wenli_row.counted_generation == wenli_row.generation
    assert fresh == (order in FRESH), wenli_row.__dict__
    settled()


@only_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["wenli", "xiacun"])
def test_a_writer_of_two_units_beside_a_readers_batch_write(
    stale_county, monkeypatch, first
):
    """A transaction changes a case of one unit, then one of another, while a
    page writes the counts of both: the page holds the rows' locks (FOR
    UPDATE) when the writer, committed, raises them (after its commit: its
    transaction held no lock on them); the page waits for nothing, the raise
    waits for the page's short write. No deadlock, no error, nothing
    wrong."""
    second = "xiacun" if first == "wenli" else "wenli"
    cases = {slug: county_case(stale_county[slug]).pk for slug in (first, second)}
    holding, go_on = threading.Event(), threading.Event()
    first_saved, second_go = threading.Event(), threading.Event()
    from django.utils import timezone as real_timezone

    class PausingClock:
        """kept_counts._keep reads the time after locking its rows and
        before writing them: the page pauses there."""

        def now(self):
            if threading.current_thread() is reader.thread:
                holding.set()
                assert go_on.wait(20)
            return real_timezone.now()

    monkeypatch.setattr(kept_counts, "timezone", PausingClock())

    def write():
        with transaction.atomic():
            one = Submission.objects.get(pk=cases[first])
            answered_now(one)
            one.save()
            first_saved.set()
            assert second_go.wait(20)
            other = Submission.objects.get(pk=cases[second])
            answered_now(other)
            other.save()

    writer = Worker(write)
    writer.start()
    assert first_saved.wait(10)
    units = [stale_county[s].pk for s in VILLAGES]
    reader = Reader(units)
    reader.release()
    reader.start()
    assert holding.wait(10)  # the page holds the free rows' locks
    second_go.set()
    writer.started_db.wait(5)
    # The writer has committed; its raise of the first unit's rows waits for
    # the page's lock on them.
    assert wait_until(lambda: blocked(writer.pid), 5)
    go_on.set()
    reader.finish(10)
    writer.join(15)
    assert not writer.is_alive() and writer.error is None, writer.error
    settled()


def inner_party_county():
    """Two villages of one town, each with two cases of party members about a
    public item (held back when the item becomes 党内)."""
    town = TownFactory(name="凤鸣镇", slug="fengming")
    units = {
        slug: UnitFactory(name=f"{slug}村", slug=slug, parent=town)
        for slug in ("wenli", "maoshan")
    }
    return town, units


def case_about(item, unit, minutes_ago: int) -> Submission:
    return SubmissionFactory(
        unit=unit,
        item=item,
        is_party_member=True,
        accepted=True,
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


class HeldBackPause:
    """services._log wrapped: the thread named holds after its first case
    held back (the case locked; its unit's rows raised only after the
    commit), until `go`."""

    def __init__(self, monkeypatch):
        self.real = services._log
        self.paused = {}
        monkeypatch.setattr(services, "_log", self._log)

    def pause(self, thread) -> tuple[threading.Event, threading.Event]:
        events = (threading.Event(), threading.Event())
        self.paused[thread] = [events, False]
        return events

    def _log(self, submission, kind, **kwargs):
        self.real(submission, kind, **kwargs)
        entry = self.paused.get(threading.current_thread())
        if entry and kind == "held_back" and not entry[1]:
            entry[1] = True
            holding, go = entry[0]
            holding.set()
            assert go.wait(20)


def item_made_inner_party(item_pk: int):
    from catalog.models import Item

    def save():
        with transaction.atomic():  # as the admin's change form
            item = Item.objects.get(pk=item_pk)
            item.scope = Scope.INNER_PARTY
            item.save()

    return save


@only_postgres
@pytest.mark.django_db(transaction=True)
def test_an_item_made_inner_party_beside_a_step_on_one_of_its_cases(
    emptied_caches, monkeypatch
):
    """Was a strict xfail until 2026-12-07: an item's save held back each of
    its cases in turn and raised each case's unit's rows in its transaction,
    so a clerk's step on the item's second case (its lock, then the unit's
    rows) and the item's save (the unit's rows, then that case's lock)
    deadlocked. The raise now runs after the commit: the two share no lock
    but the case's, and one waits for the other at most."""
    _town, units = inner_party_county()
    item = ItemFactory(scope=Scope.PUBLIC)
    older = case_about(item, units["wenli"], 60)  # held back second
    case_about(item, units["wenli"], 1)  # held back first (newest first)
    clerk, department = SuperuserFactory(), DepartmentFactory()
    kept_counts.refresh()
    pause = HeldBackPause(monkeypatch)
    item_save = Worker(item_made_inner_party(item.pk))
    holding, go = pause.pause(item_save)
    item_save.start()
    assert holding.wait(10)  # the newer case held back, not committed

    def step():
        case = Submission.objects.get(pk=older.pk)
        services.answer(case, by=clerk, department=department, text="已答复")

    clerk_step = Worker(step)
    clerk_step.start()
    clerk_step.started_db.wait(5)
    # The step done (no lock of the item's save in its way), or waiting.
    assert wait_until(lambda: not clerk_step.is_alive() or blocked(clerk_step.pid), 5)
    go.set()  # the item's save goes on to the older case
    item_save.join(20)
    clerk_step.join(20)
    errors = [w.error for w in (item_save, clerk_step) if w.error is not None]
    assert errors == []
    settled()


@only_postgres
@pytest.mark.django_db(transaction=True)
def test_two_items_made_inner_party_at_once(emptied_caches, monkeypatch):
    """Item X's cases: wenli's (newer), maoshan's; item Y's (of another
    catalog): maoshan's (newer), wenli's. Both saved at once. Was a strict
    xfail until 2026-12-07: each held its first unit's counts rows (raised in
    its transaction) and waited for the other's: a deadlock. The raises now
    run after each commit, one statement each, in order of unit: no
    deadlock, no error, nothing wrong."""
    _town, units = inner_party_county()
    # Of two catalogs: an item's save locks its catalog's row too (its read
    # before the save joins it), and two items of one catalog never overlap.
    x = ItemFactory(scope=Scope.PUBLIC)
    y = ItemFactory(scope=Scope.PUBLIC, category__catalog__kind="government")
    case_about(x, units["wenli"], 1)
    case_about(x, units["maoshan"], 60)
    case_about(y, units["maoshan"], 2)
    case_about(y, units["wenli"], 61)
    kept_counts.refresh()
    pause = HeldBackPause(monkeypatch)
    saves = [Worker(item_made_inner_party(item.pk)) for item in (x, y)]
    gates = [pause.pause(save) for save in saves]
    for save, (holding, _go) in zip(saves, gates, strict=True):
        save.start()
        assert holding.wait(10)
    for _holding, go in gates:
        go.set()
    for save in saves:
        save.join(20)
    assert [save.error for save in saves] == [None, None]
    settled()


@only_postgres
@pytest.mark.django_db(transaction=True)
def test_a_page_adding_rows_beside_a_change_adding_them_in_the_other_order(
    emptied_caches,
):
    """Was a strict xfail until 2026-12-07: a change added its units' rows in
    its transaction (changed_units' upsert), and a page's first read adding
    the same rows (kept_counts._add_rows) waited for it; a change of two
    units in the other order then deadlocked with the page (a 500, or the
    change lost). The change now adds them after its commit: the page adds
    them while the change is open without waiting, and the change's raise
    after its commit makes them stale."""
    county = build_county()
    UnitCounts.objects.all().delete()  # as right after the migration
    low, high = sorted([county["wenli"], county["xiacun"]], key=lambda u: u.pk)
    first_saved, second_go = threading.Event(), threading.Event()

    def write():
        with transaction.atomic():
            one = county_case(high)  # the later unit first
            answered_now(one)
            one.save()
            first_saved.set()
            assert second_go.wait(20)
            other = county_case(low)
            answered_now(other)
            other.save()

    writer = Worker(write)
    writer.start()
    assert first_saved.wait(10)
    reader = Reader([low.pk, high.pk])
    reader.release()
    reader.start()
    reader.finish(5)  # the rows added and written: the page waits for nothing
    assert (
        UnitCounts.objects.filter(unit__in=[low, high], selection="wall")
        .filter(counted_generation=F("generation"))
        .count()
        == 2
    )
    second_go.set()
    writer.join(20)
    assert not writer.is_alive() and writer.error is None, writer.error
    # Committed: both units' rows raised, the page's counts stale.
    assert not UnitCounts.objects.filter(
        unit__in=[low, high], counted_generation=F("generation")
    ).exists()
    settled()


@only_postgres
@pytest.mark.django_db(transaction=True)
def test_a_page_never_waits_for_a_long_change_of_counted_rows(stale_county):
    """The rows there: a change not committed (an item's save, a long
    transaction) leaves a page's read and write free."""
    writer = Writer(county_case(stale_county["wenli"]).pk, answered_now)
    writer.save()
    reader = Reader(list(Unit.objects.values_list("pk", flat=True)))
    reader.release()
    reader.start()
    reader.finish(5)
    writer.commit()
    settled()


@only_postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_case_does_not_wait_for_the_escalation_mail_of_another(
    emptied_caches, monkeypatch
):
    """Was a strict xfail until 2026-12-07: escalate_overdue sends the 督办 mail
    inside the case's transaction, which held the unit's counts rows (raised
    in it) until it committed: a resident's case about the same unit waited
    for the mail server. The raise now runs after the commit: the submit
    shares no lock with the escalation, and does not wait."""
    county = build_county()
    wenli = county["wenli"]
    wenli.contact_leader = UserFactory(username="leader", email="leader@example.org")
    wenli.save()
    late = county_case(wenli)
    Submission.objects.filter(pk=late.pk).update(
        status="accepted", due_date=timezone.localdate() - timedelta(days=3)
    )
    kept_counts.refresh()
    mailing, mailed = threading.Event(), threading.Event()

    def slow_mail(**kwargs):
        mailing.set()
        assert mailed.wait(20)  # the mail server, slow to answer
        return 1

    monkeypatch.setattr(services, "send_mail", slow_mail)
    escalation = Worker(lambda: services.escalate_overdue())
    escalation.start()
    try:
        assert mailing.wait(10)

        def resident():
            return submit(
                Unit.objects.get(pk=wenli.pk),
                kind=Kind.QUESTION,
                title="送水车",
                text="几点到？",
                key="k",
            )

        post = Worker(resident)
        post.start()
        post.join(3)
        waited = post.is_alive()
    finally:
        mailed.set()
        escalation.join(20)
    post.join(20)
    assert post.error is None and escalation.error is None
    assert not waited, "the resident's case waited for the mail server"
    settled()


@pytest.mark.skipif(POSTGRES, reason="SQLite's one write lock (PostgreSQL: above)")
@pytest.mark.django_db(transaction=True)
def test_a_page_adding_rows_while_another_connection_writes(emptied_caches):
    """Was a strict xfail until 2026-12-07 (SQLite): a page adding rows needs
    the database's write lock (transaction_mode IMMEDIATE), and "database is
    locked" (OperationalError) escaped _add_rows, which caught IntegrityError
    alone: a 500. _add_rows and _keep now give up on any DatabaseError (in
    their own transaction): the page has its counts, kept next time. (The
    test database, SQLite's shared in-memory one, refuses at once; a file
    waits up to the busy timeout first.)"""
    county = build_county()
    UnitCounts.objects.all().delete()  # as right after the migration
    case = county_case(county["wenli"])
    holding, done = threading.Event(), threading.Event()

    def write():
        from feedback.models import SubmissionEvent

        with transaction.atomic():  # a step's trail written, not committed
            SubmissionEvent.objects.create(submission_id=case.pk, kind="accepted")
            holding.set()
            assert done.wait(20)

    writer = Worker(write)
    writer.start()
    try:
        assert holding.wait(10), writer.error
        reader = Reader(list(Unit.objects.values_list("pk", flat=True)))
        reader.release()
        reader.start()
        reader.thread.join(30)
        error = reader.thread.error
        added = UnitCounts.objects.count()
    finally:
        done.set()
        writer.join(20)
    assert writer.error is None, writer.error
    # Was raised at _add_rows' transaction.atomic() (BEGIN IMMEDIATE).
    assert error is None, error
    fresh = recounted("wall")
    assert reader.thread.result == {
        unit: fresh.get(unit, kept_counts.empty_part()) for unit in reader.units
    }
    assert added == 0  # nothing written while the file was locked
    settled()
