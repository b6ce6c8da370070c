"""Attacks on the 回音壁's name scopes and case counts of 2026-12-03
(166ed6b): a card follows "names:unit:<pk>", "names:body:<pk>", "tags",
"catalog"; the wall's and the home page's counts of a town follow
"cases-unit:"/"cases-town:" only; the statistics' disclosure figures are
kept without them. Each change is made after every page was read once (its
kept values and cards filled), and each page is compared with a render
with nothing kept. Five ways a page stayed stale were found and fixed: a
unit saved over a row it was not loaded from (built by hand, a restore)
names every page; a row read again (`refresh_from_db`) remembers where it
is; a change of a case reads its units' places from the database, not
this process's copy; a case's event with no row names every page."""

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import BodyKind, Department
from core import caching
from disclosure import page_scopes
from disclosure.models import Organisation, Unit
from feedback import services
from feedback.models import Kind, Submission, Tag
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    SubmissionFactory,
    TagFactory,
    UnitFactory,
)
from tests.perf.test_merged_staleness_attack import (
    rendered_afresh,
    served,
    stale_among,
)
from tests.perf.test_wall_card_names import answered_cases

pytestmark = [
    pytest.mark.django_db,
    # Pages kept before a change compared with pages rendered afresh after it:
    # in one day, not across midnight (what a page shows follows the date).
    pytest.mark.usefixtures("away_from_midnight", "values_only"),
]


@pytest.fixture
def wall(db):
    found = answered_cases(more_towns=[("白鹿镇", "bailu", "bailucun")])
    found["other_office"] = DepartmentFactory(name="综治办")
    found["committee"] = Organisation.objects.get(
        unit=found["wenli"], kind=BodyKind.VILLAGE_COMMITTEE
    )
    found["party_committee"] = Organisation.objects.get(
        unit=found["fengming"], kind=BodyKind.PARTY_COMMITTEE
    )
    found["waiting"] = SubmissionFactory(unit=found["wenli"], title="waiting")
    return found


URLS = (
    "/",
    "/feedback/",
    "/feedback/?unit=wenli",
    "/feedback/?unit=shangcun",
    "/feedback/?unit=fengming",
    "/stats/?town=fengming",
    "/stats/?town=qingshan",
)


def fresh(settings, who=None) -> dict:
    return rendered_afresh(settings, URLS, who)


def stale_after(settings, change, capture, who=None) -> dict:
    visitor = Client()
    if who is not None:
        visitor.force_login(who)
    for url in URLS:
        served(visitor, url)
    with capture(execute=True):
        change()
    kept = {url: served(visitor, url) for url in URLS}
    if who is not None:
        who.refresh_from_db()
    return stale_among(kept, fresh(settings, who))


def assert_as_fresh(settings, visitor):
    kept = {url: served(visitor, url) for url in URLS}
    stale = stale_among(kept, fresh(settings))
    assert stale == {}, "\n\n".join(f"{u}:\n{d}" for u, d in stale.items())


def check(settings, change, capture, who=None):
    stale = stale_after(settings, change, capture, who)
    assert stale == {}, "\n\n".join(f"{u}:\n{d}" for u, d in stale.items())


def loaded(model, pk, **fields):
    row = model.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def not_loaded(model, pk, **fields):
    """Saved through an instance built from its values, not loaded (a
    deserialised row, a form's `instance=Model(pk=...)`): it knows no old
    place."""
    row = model.objects.get(pk=pk)
    values = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}
    built = model(**values)
    for name, value in fields.items():
        setattr(built, name, value)
    built.save()
    return built


# What held: each a path by which a card's name, a town's count or the
# statistics could change without its scope named.


def _round_then_answer(w):
    case = Submission.objects.get(pk=w["by its committee"].pk)
    services.rate(case, rating=Submission.Rating.UNSATISFIED)


def _round_edited(w):
    services.reopen(Submission.objects.get(pk=w["by the office"].pk))


def _body_case_moved_then_village_renamed(w):
    case = Submission.objects.get(pk=w["by its committee"].pk)
    case.unit = w["bailucun"]
    case.answering_body = None
    case.save()
    loaded(Unit, w["wenli"].pk, name="新文理村")


def _cadre_village_moved_then_towns_renamed(w):
    loaded(Unit, w["wenli"].pk, parent=w["qingshan"])
    loaded(Unit, w["fengming"].pk, name="凤鸣街道")
    loaded(Unit, w["qingshan"].pk, name="青山街道")


def _cadre_village_moved_twice_one_instance(w):
    row = Unit.objects.get(pk=w["wenli"].pk)
    row.parent = w["qingshan"]
    row.save()
    row.parent = w["bailu"]
    row.save()
    loaded(Unit, w["qingshan"].pk, name="青山街道")
    loaded(Unit, w["bailu"].pk, name="白鹿街道")


def _town_body_unit_renamed(w):
    loaded(Unit, w["fengming"].pk, name="凤鸣乡")


def _town_made_a_village(w):
    # Its 党委's full name loses the 镇 prefix rule (LEVEL_PREFIX).
    loaded(Unit, w["fengming"].pk, kind=Unit.Kind.VILLAGE)


def _village_made_a_town(w):
    loaded(Unit, w["wenli"].pk, kind=Unit.Kind.TOWN)


def _department_renamed(w):
    loaded(Department, w["office"].pk, name="党政综合办")


def _answered_by_changed(w):
    loaded(Submission, w["by the office"].pk, answered_by=w["other_office"])


def _answering_body_dropped(w):
    loaded(Submission, w["by its committee"].pk, answering_body=None)


def _tag_renamed(w):
    loaded(Tag, w["tag"].pk, name="道路养护")


def _tag_removed_from_case(w):
    loaded(Submission, w["open"].pk, tag=None)


def _tag_added_then_renamed(w):
    tag = TagFactory(name="新话题")
    loaded(Submission, w["by a cadre"].pk, tag=tag)
    loaded(Tag, tag.pk, name="改名话题")


def _body_moved_then_old_unit_renamed(w):
    loaded(Organisation, w["committee"].pk, unit=w["shangcun"], name="第二村委会")
    loaded(Unit, w["shangcun"].pk, name="新上村")


def _new_unit_in_town(w):
    UnitFactory(name="新建村", slug="xinjian", parent=w["fengming"])


def _deleted_unit(w):
    unit = UnitFactory(name="空村", slug="kong", parent=w["fengming"])
    for body in unit.organisations.all():
        body.delete()
    Unit.objects.get(pk=unit.pk).delete()


def _liaison_point(w):
    loaded(Unit, w["wenli"].pk, is_liaison_point=True)


def _town_liaison_point(w):
    loaded(Unit, w["fengming"].pk, is_liaison_point=True)


def _new_slug(w):
    loaded(Unit, w["wenli"].pk, slug="wenli2")


def _new_case(w):
    SubmissionFactory(unit=w["wenli"], kind=Kind.REQUEST, title="新点题")


def _waiting_accepted(w):
    case = Submission.objects.get(pk=w["waiting"].pk)
    services.accept(case, by=w["staff"], department=w["office"])


def _request_accepted_and_answered(w):
    item = ItemFactory(name="点题事项")
    case = SubmissionFactory(unit=w["wenli"], kind=Kind.REQUEST, item=item)
    case = Submission.objects.get(pk=case.pk)
    services.accept(case, by=w["staff"], department=w["office"])
    answer = DisclosureFactory(unit=w["wenli"], item=item, title="点题答复")
    services.answer(
        Submission.objects.get(pk=case.pk),
        by=w["staff"],
        department=w["office"],
        text="已公开。",
        fulfilled_by=answer,
    )


def _answer_disclosure_renamed(w):
    answer = DisclosureFactory(unit=w["wenli"], title="答复公开")
    loaded(Submission, w["by the office"].pk, fulfilled_by=answer)
    loaded(type(answer), answer.pk, title="更正后的答复公开")


def _case_moved_to_another_town(w):
    loaded(Submission, w["by a cadre"].pk, unit=w["shangcun"])


def _case_hidden(w):
    services.hide(Submission.objects.get(pk=w["open"].pk), by=w["staff"], reason="重复")


def _village_moved_through_queryset_and_event(w):
    # A change announced with no row: every page and value (None).
    from core import events

    Unit.objects.filter(pk=w["wenli"].pk).update(parent=w["qingshan"])
    events.announce("saved", Unit, [w["wenli"].pk])


HELD = {
    "a case rated unsatisfied": _round_then_answer,
    "a case reopened (answer round)": _round_edited,
    "a body's case moved, then the village renamed": (
        _body_case_moved_then_village_renamed
    ),
    "a cadre's village moved, then both towns renamed": (
        _cadre_village_moved_then_towns_renamed
    ),
    "a cadre's village moved twice through one instance": (
        _cadre_village_moved_twice_one_instance
    ),
    "the answering town body's unit renamed": _town_body_unit_renamed,
    "the town made a village": _town_made_a_village,
    "the village made a town": _village_made_a_town,
    "the office renamed": _department_renamed,
    "answered_by changed": _answered_by_changed,
    "answering body dropped": _answering_body_dropped,
    "the topic renamed": _tag_renamed,
    "the topic removed from a case": _tag_removed_from_case,
    "a topic given, then renamed": _tag_added_then_renamed,
    "the body moved, then its new unit renamed": _body_moved_then_old_unit_renamed,
    "a new unit in the town": _new_unit_in_town,
    "a unit deleted": _deleted_unit,
    "a village made a liaison point": _liaison_point,
    "the town made a liaison point": _town_liaison_point,
    "a village's new slug": _new_slug,
    "a new 点题 request": _new_case,
    "a waiting case accepted": _waiting_accepted,
    "a request accepted and answered by a disclosure": (_request_accepted_and_answered),
    "the answering disclosure retitled": _answer_disclosure_renamed,
    "a cadre's case moved to another town": _case_moved_to_another_town,
    "a case hidden": _case_hidden,
    "a village moved by update() and an event with no row": (
        _village_moved_through_queryset_and_event
    ),
}


@pytest.mark.parametrize("change", HELD)
def test_held(settings, wall, change, django_capture_on_commit_callbacks):
    check(settings, lambda: HELD[change](wall), django_capture_on_commit_callbacks)


# The same with the pages kept too (a visitor's copies), for the changes
# that move names and counts the most.
WITH_PAGES = [
    "a cadre's village moved, then both towns renamed",
    "the town made a village",
    "the body moved, then its new unit renamed",
    "a village made a liaison point",
    "a request accepted and answered by a disclosure",
    "a new 点题 request",
    "a unit deleted",
]


@pytest.mark.parametrize("change", WITH_PAGES)
def test_held_with_pages_kept(
    settings, wall, change, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 60
    check(settings, lambda: HELD[change](wall), django_capture_on_commit_callbacks)


def test_the_old_name_was_shown_before(settings, wall):
    """The harness sees what it compares: the cards and counts are there."""
    page = Client().get("/feedback/").content.decode()
    assert "凤鸣镇包村干部" in page and "wenli村民委员会" in page
    assert "党政办" in page and "道路维修" in page


# Found by the attack and fixed (each failed before its fix).


def test_a_village_moved_through_an_instance_not_loaded(
    settings, wall, django_capture_on_commit_callbacks
):
    check(
        settings,
        lambda: not_loaded(Unit, wall["wenli"].pk, parent=wall["qingshan"]),
        django_capture_on_commit_callbacks,
    )


def restored(model, pk, **fields):
    """Saved as loaddata (a restore) saves it: deserialised, raw."""
    from django.core import serializers

    row = model.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(row, name, value)
    data = serializers.serialize("json", [row])
    for obj in serializers.deserialize("json", data):
        obj.save()


def test_a_village_moved_by_a_restore(
    settings, wall, django_capture_on_commit_callbacks
):
    check(
        settings,
        lambda: restored(Unit, wall["wenli"].pk, parent=wall["qingshan"]),
        django_capture_on_commit_callbacks,
    )


def test_a_village_refreshed_then_moved(
    settings, wall, django_capture_on_commit_callbacks
):
    visitor = Client()
    row = Unit.objects.get(pk=wall["wenli"].pk)  # loaded in 凤鸣镇
    with django_capture_on_commit_callbacks(execute=True):
        loaded(Unit, row.pk, parent=wall["qingshan"])  # elsewhere
    for url in URLS:
        served(visitor, url)  # 青山镇 counted with it
    with django_capture_on_commit_callbacks(execute=True):
        row.refresh_from_db()  # now in 青山镇
        row.parent = wall["bailu"]
        row.save()
    assert_as_fresh(settings, visitor)


def test_an_accepted_request_counts_in_the_on_time_figures_at_once(
    settings, wall, django_capture_on_commit_callbacks
):
    """The statistics' disclosure figures (kept without "cases-…") count an
    accepted 点题 request: its acceptance names its unit's and town's scopes."""
    item = ItemFactory(code="F02", name="点题公开")
    settings.FEEDBACK_REQUEST_ITEM_CODE = item.code

    def change():
        case = SubmissionFactory(
            unit=wall["wenli"],
            kind=Kind.REQUEST,
            received_at=timezone.now(),
        )
        services.accept(
            Submission.objects.get(pk=case.pk),
            by=wall["staff"],
            department=wall["office"],
        )

    check(settings, change, django_capture_on_commit_callbacks)


def test_a_case_changed_by_a_process_that_has_not_seen_the_move(
    settings, wall, django_capture_on_commit_callbacks
):
    import time

    with django_capture_on_commit_callbacks(execute=True):
        loaded(Unit, wall["wenli"].pk, parent=wall["qingshan"])  # another process
    visitor = Client()
    for url in URLS:
        served(visitor, url)
    # This process read the units' versions a moment before the move and
    # still holds where wenli was (as within PAGE_CACHE_VERSION_SECONDS).
    page_scopes.forget_slugs()
    page_scopes._slugs[wall["wenli"].pk] = ("wenli", "fengming")
    page_scopes._slugs_since[:] = [
        time.monotonic(),
        (caching.version(), *caching.scope_versions([page_scopes.UNITS])),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        services.hide(
            Submission.objects.get(pk=wall["by the office"].pk),
            by=wall["staff"],
            reason="重复",
        )
    page_scopes.forget_slugs()  # a second later: this process sees the move
    assert_as_fresh(settings, visitor)


def test_held_through_the_admin(settings, wall, django_capture_on_commit_callbacks):
    """The unit's change form (the instance loaded with the list's counts) and
    its bodies' inline in one save: the village moved to another town, renamed,
    and its 村委会 renamed."""
    from tests.factories import SuperuserFactory
    from tests.feedback.test_loop_finish import form_data

    admin = Client()
    admin.force_login(SuperuserFactory())
    url = f"/admin/disclosure/unit/{wall['wenli'].pk}/change/"
    data = form_data(admin.get(url))
    data.update(parent=str(wall["qingshan"].pk), name="新文理村")
    body = next(k for k, v in data.items() if v == wall["committee"].name)
    data[body] = "村委会"

    def change():
        response = admin.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]

    check(settings, change, django_capture_on_commit_callbacks)
    page = Client().get("/feedback/").content.decode()
    assert "新文理村委会" in page and "青山镇包村干部" in page


@pytest.fixture
def member_answer(wall):
    """A 点题 request answered by a 党内 notice: a party member's card links it,
    a visitor's does not."""
    from catalog.models import Scope
    from tests.factories import PartyMemberFactory

    member = PartyMemberFactory(username="wenli_member", branch_of=wall["wenli"])
    notice = DisclosureFactory(
        unit=wall["wenli"], title="党内答复", scope=Scope.INNER_PARTY
    )
    case = SubmissionFactory(unit=wall["wenli"], kind=Kind.REQUEST, accepted=True)
    services.answer(
        Submission.objects.get(pk=case.pk),
        by=wall["staff"],
        department=wall["office"],
        text="已在党内公开。",
        fulfilled_by=notice,
    )
    return member, notice


def left_the_party():
    from disclosure.models import PartyMembership

    PartyMembership.objects.filter(user__username="wenli_member").delete()


MEMBER_CHANGES = {
    "the notice retitled": lambda w, n: loaded(type(n), n.pk, title="党内答复（更正）"),
    "the notice made public": lambda w, n: loaded(type(n), n.pk, scope="public"),
    "the member's village renamed": lambda w, n: loaded(
        Unit, w["wenli"].pk, name="新文理村"
    ),
    "the member left the party": lambda w, n: left_the_party(),
}


@pytest.mark.parametrize("change", MEMBER_CHANGES)
@pytest.mark.parametrize("who", ["member", "visitor"])
def test_held_for_members(
    settings, wall, member_answer, change, who, django_capture_on_commit_callbacks
):
    member, notice = member_answer
    if who == "member":
        page = Client()
        page.force_login(member)
        assert "党内答复" in page.get("/feedback/").content.decode()
    check(
        settings,
        lambda: MEMBER_CHANGES[change](wall, notice),
        django_capture_on_commit_callbacks,
        member if who == "member" else None,
    )


def test_a_case_moved_by_update_and_an_event_with_no_row(
    settings, wall, django_capture_on_commit_callbacks
):
    from core import events

    def change():
        pk = wall["by a cadre"].pk
        Submission.objects.filter(pk=pk).update(unit=wall["shangcun"])
        events.announce("moved", Submission, [pk])

    check(settings, change, django_capture_on_commit_callbacks)
