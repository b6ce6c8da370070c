"""Attacks on the 回音壁's counts kept per unit (2b0cec2): each unit's parts
under "cases-unit:<slug>" (named by a unit's change only when it is new,
deleted or given another slug), added up per town under its units' scopes,
then for the wall; the home page's from the same parts. Each page is read
once (its kept values filled), a change is committed, and the figures
served are compared with a fresh count (the wall's context) or with the
page rendered with nothing kept (the home page, the statistics)."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.utils import timezone

from disclosure.models import Unit
from feedback import services
from feedback.models import CONFIDENTIAL_KINDS, AnswerRound, Submission
from tests.factories import (
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.kept import a_round_of
from tests.perf.test_merged_staleness_attack import (
    rendered_afresh,
    served,
    stale_among,
)
from tests.perf.test_names_attack import not_loaded, restored
from tests.perf.test_scoped_values import two_towns

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

UNITS = ("fengming", "wenli", "maoshan", "qingshan", "shangcun", "xiacun")
PAGES = ("/", "/stats/?town=fengming", "/stats/?town=qingshan")


@pytest.fixture
def county():
    """test_scoped_values's: two towns of two villages each, each village
    with a disclosure, a case accepted and one waiting."""
    return two_towns()


def on_record():
    return Submission.objects.on_record().exclude(kind__in=CONFIDENTIAL_KINDS)


def wall_urls() -> dict:
    """The wall's URLs and the cases each counts, as the view filters them."""
    urls = {
        "/feedback/": on_record(),
        "/feedback/?kind=suggestion": on_record().filter(kind="suggestion"),
        "/feedback/?status=accepted": on_record().filter(status="accepted"),
    }
    for unit in Unit.objects.exclude(kind=Unit.Kind.COUNTY):
        urls[f"/feedback/?unit={unit.slug}"] = on_record().filter(unit=unit)
    return urls


def read_all(client):
    for url in wall_urls():
        assert client.get(url).status_code == 200, url
    return {url: served(client, url) for url in PAGES}


def wrong(client, settings) -> dict:
    """url -> (served, fresh) of each page whose 回音壁 figures are not a
    fresh count."""
    found = {}
    for url, cases in wall_urls().items():
        response = client.get(url)
        assert response.status_code == 200, url
        fresh = cases.summary()
        if response.context["summary"] != fresh:
            shown = response.context["summary"]
            found[url] = {
                k: (shown[k], fresh[k]) for k in fresh if shown.get(k) != fresh[k]
            }
    kept = {url: served(client, url) for url in PAGES}
    found.update(stale_among(kept, rendered_afresh(settings, PAGES)))
    return found


def attack(settings, capture, *changes):
    """Read every page, then each change (committed) followed by a read of
    every page; the last reads must be fresh."""
    visitor = Client()
    read_all(visitor)
    for change in changes:
        with capture(execute=True):
            change()
        read_all(visitor)
    found = wrong(visitor, settings)
    assert found == {}, f"stale: {sorted(found)}"


def loaded(model, pk, **fields):
    row = model.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def deleted(unit):
    for body in unit.organisations.all():
        body.delete()
    Unit.objects.get(pk=unit.pk).delete()


def a_case_of(county, slug, **filters):
    return Submission.objects.filter(unit=county[slug], **filters).first()


def accepted(case):
    case.status = "accepted"
    case.accepted_at = timezone.now()
    case.save()


# What held ---------------------------------------------------------------


def test_a_village_moved_then_a_case_in_it_changed(
    settings, county, django_capture_on_commit_callbacks
):
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(Unit, county["wenli"].pk, parent=county["qingshan"]),
        lambda: accepted(a_case_of(county, "wenli", status="received")),
        lambda: SubmissionFactory(unit=Unit.objects.get(slug="wenli")),
    )


def test_a_village_moved_there_and_back_with_a_case_in_between(
    settings, county, django_capture_on_commit_callbacks
):
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(Unit, county["wenli"].pk, parent=county["qingshan"]),
        lambda: SubmissionFactory(unit=Unit.objects.get(slug="wenli"), accepted=True),
        lambda: loaded(Unit, county["wenli"].pk, parent=county["fengming"]),
    )


def test_a_slug_changed_and_back_with_a_case_changed_in_between(
    settings, county, django_capture_on_commit_callbacks
):
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(Unit, county["wenli"].pk, slug="wenli2"),
        lambda: accepted(a_case_of(county, "wenli", status="received")),
        lambda: SubmissionFactory(unit=Unit.objects.get(pk=county["wenli"].pk)),
        lambda: loaded(Unit, county["wenli"].pk, slug="wenli"),
    )


def test_two_villages_swap_slugs(settings, county, django_capture_on_commit_callbacks):
    wenli, xiacun = county["wenli"].pk, county["xiacun"].pk
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(Unit, wenli, slug="tmp"),
        lambda: loaded(Unit, xiacun, slug="wenli"),
        lambda: loaded(Unit, wenli, slug="xiacun"),
        lambda: SubmissionFactory(unit=Unit.objects.get(pk=xiacun)),
        lambda: loaded(Unit, xiacun, slug="tmp2"),
        lambda: loaded(Unit, wenli, slug="wenli"),
        lambda: loaded(Unit, xiacun, slug="xiacun"),
    )


def test_a_town_made_a_village_and_back(
    settings, county, django_capture_on_commit_callbacks
):
    qingshan = county["qingshan"].pk
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(Unit, qingshan, kind="village", parent=county["fengming"]),
        lambda: SubmissionFactory(unit=Unit.objects.get(slug="shangcun")),
        lambda: SubmissionFactory(unit=Unit.objects.get(slug="qingshan")),
        lambda: loaded(Unit, qingshan, kind="town", parent=None),
    )


def test_a_village_made_a_town(settings, county, django_capture_on_commit_callbacks):
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(Unit, county["maoshan"].pk, kind="town", parent=None),
        lambda: loaded(Unit, county["xiacun"].pk, parent=county["maoshan"]),
        lambda: SubmissionFactory(unit=Unit.objects.get(slug="xiacun")),
    )


def test_a_new_unit_and_a_deleted_one(
    settings, county, django_capture_on_commit_callbacks
):
    made = {}

    def new_unit():
        made["unit"] = UnitFactory(
            name="新村", slug="xincun", parent=county["fengming"]
        )

    attack(
        settings,
        django_capture_on_commit_callbacks,
        new_unit,
        lambda: SubmissionFactory(unit=made["unit"], accepted=True),
        lambda: Submission.objects.filter(unit=made["unit"]).get().delete(),
        lambda: deleted(made["unit"]),
        # A new unit with the slug of the one deleted, and a new town.
        lambda: UnitFactory(name="又一新村", slug="xincun", parent=county["qingshan"]),
        lambda: TownFactory(name="白鹿镇", slug="bailu"),
    )


def test_a_case_moved_across_towns_twice_through_one_instance(
    settings, county, django_capture_on_commit_callbacks
):
    case = a_case_of(county, "wenli", status="accepted")

    def move(slug):
        case.unit = county[slug]
        case.save()

    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: move("xiacun"),
        lambda: move("maoshan"),
        lambda: move("qingshan"),
    )


def test_a_case_hidden_and_one_made_a_denunciation(
    settings, county, django_capture_on_commit_callbacks
):
    staff = UserFactory(is_staff=True, is_superuser=True)
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: services.hide(
            a_case_of(county, "shangcun", status="received"), by=staff, reason="重复"
        ),
        lambda: loaded(
            Submission,
            a_case_of(county, "maoshan", status="accepted").pk,
            kind="denunciation",
        ),
    )


def test_answer_rounds_rated_and_changed(
    settings, county, django_capture_on_commit_callbacks
):
    case = a_case_of(county, "xiacun", status="accepted")
    made = {}

    def a_round():
        made["round"] = a_round_of(case, rating_channel="phone")

    attack(
        settings,
        django_capture_on_commit_callbacks,
        a_round,
        lambda: loaded(AnswerRound, made["round"].pk, rating="satisfied"),
        lambda: AnswerRound.objects.get(pk=made["round"].pk).delete(),
    )


def test_a_selection_first_seen_after_changes(
    settings, county, django_capture_on_commit_callbacks
):
    visitor = Client()
    read_all(visitor)
    with django_capture_on_commit_callbacks(execute=True):
        loaded(Unit, county["wenli"].pk, parent=county["qingshan"], slug="wenli3")
    with django_capture_on_commit_callbacks(execute=True):
        SubmissionFactory(unit=county["wenli"], kind="suggestion", accepted=True)
    for url, cases in (
        ("/feedback/?kind=suggestion&unit=wenli3", None),
        ("/feedback/?channel=website", on_record().filter(channel="website")),
    ):
        if cases is None:
            cases = on_record().filter(kind="suggestion", unit=county["wenli"])
        assert visitor.get(url).context["summary"] == cases.summary()
    assert wrong(visitor, settings) == {}


def test_waiting_past_the_deadline_at_midnight(
    settings, county, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        SubmissionFactory(unit=county["wenli"], due_date=today)
    visitor = Client()
    with time_machine.travel(
        timezone.make_aware(
            timezone.datetime.combine(today, timezone.datetime.min.time())
        )
        + timedelta(hours=23, minutes=59, seconds=59),
        tick=False,
    ):
        read_all(visitor)
        assert wrong(visitor, settings) == {}
    with time_machine.travel(
        timezone.make_aware(
            timezone.datetime.combine(today, timezone.datetime.min.time())
        )
        + timedelta(days=1, seconds=1),
        tick=False,
    ):
        summary = visitor.get("/feedback/").context["summary"]
        assert summary["waiting_overdue"] >= 1
        assert wrong(visitor, settings) == {}


# Found -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change", [{"slug": "renamed"}, {"parent": "qingshan"}], ids=["renamed", "moved"]
)
def test_a_unit_changed_then_rolled_back_then_a_new_case(
    settings, county, django_capture_on_commit_callbacks, change
):
    """An admin save whose later step fails: a unit renamed or moved and a
    change of a case of that unit in the same transaction, rolled back;
    then the POST of a new case (the busiest write) in that unit."""
    visitor = Client()
    read_all(visitor)

    class Failed(Exception):
        pass

    fields = {k: county[v] if k == "parent" else v for k, v in change.items()}
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                loaded(Unit, county["wenli"].pk, **fields)
                accepted(a_case_of(county, "wenli", status="received"))
                raise Failed
        except Failed:
            pass
    unit = Unit.objects.get(pk=county["wenli"].pk)
    assert (unit.slug, unit.parent) == ("wenli", county["fengming"])
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(
            data={
                "kind": "question",
                "unit": unit,
                "title": "新的问题",
                "text": "请问什么时候修路？",
            },
            client_key="test",
            form_token="token-1",
            by=None,
        )
    found = wrong(visitor, settings)
    assert found == {}, f"stale: {sorted(found)}"


# Cases saved over rows they were not loaded from ------------------------------


@pytest.mark.parametrize("saved", [restored, not_loaded], ids=lambda f: f.__name__)
def test_a_case_moved_to_another_town_saved_over_a_row_it_was_not_loaded_from(
    settings, county, django_capture_on_commit_callbacks, saved
):
    case = a_case_of(county, "wenli", status="accepted")
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: saved(Submission, case.pk, unit=county["xiacun"]),
    )


def test_an_answer_round_moved_to_a_case_of_another_town(
    settings, county, django_capture_on_commit_callbacks
):
    case = a_case_of(county, "wenli", status="accepted")
    other = a_case_of(county, "xiacun", status="accepted")
    made = {}

    def a_round():
        made["round"] = a_round_of(case)

    attack(
        settings,
        django_capture_on_commit_callbacks,
        a_round,
        lambda: loaded(AnswerRound, made["round"].pk, submission=other),
    )


def test_cases_deleted_in_bulk_with_their_rounds(
    settings, county, django_capture_on_commit_callbacks
):
    case = a_case_of(county, "maoshan", status="accepted")
    a_round_of(case)
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: Submission.objects.filter(
            unit__in=[case.unit, county["xiacun"]]
        ).delete(),
    )


def test_the_home_town_made_a_village_of_the_other(
    settings, county, django_capture_on_commit_callbacks
):
    fengming = county["fengming"].pk
    attack(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(Unit, fengming, kind="village", parent=county["qingshan"]),
        lambda: SubmissionFactory(unit=Unit.objects.get(slug="wenli")),
        lambda: loaded(Unit, county["wenli"].pk, parent=county["qingshan"]),
        lambda: SubmissionFactory(unit=Unit.objects.get(slug="wenli"), accepted=True),
    )


# The same with the pages kept too (a visitor's copies) ------------------------


def kept_pages_stale(settings, capture, *changes) -> dict:
    settings.PAGE_CACHE_SECONDS = 60
    urls = [*wall_urls(), *PAGES]
    visitor = Client()
    for url in urls:
        served(visitor, url)
    for change in changes:
        with capture(execute=True):
            change()
        for url in urls:
            served(visitor, url)
    urls = [*wall_urls(), *PAGES]  # the units' slugs as they are now
    kept = {url: served(visitor, url) for url in urls}
    return stale_among(kept, rendered_afresh(settings, urls))


def test_pages_kept_a_village_moved_renamed_and_back(
    settings, county, django_capture_on_commit_callbacks
):
    wenli = county["wenli"].pk
    stale = kept_pages_stale(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(Unit, wenli, parent=county["qingshan"], slug="wenli2"),
        lambda: SubmissionFactory(unit=Unit.objects.get(pk=wenli), accepted=True),
        lambda: accepted(a_case_of(county, "wenli", status="received")),
        lambda: loaded(Unit, wenli, parent=county["fengming"], slug="wenli"),
    )
    assert stale == {}, sorted(stale)


def test_pages_kept_a_town_made_a_village(
    settings, county, django_capture_on_commit_callbacks
):
    stale = kept_pages_stale(
        settings,
        django_capture_on_commit_callbacks,
        lambda: loaded(
            Unit, county["qingshan"].pk, kind="village", parent=county["fengming"]
        ),
        lambda: SubmissionFactory(unit=Unit.objects.get(slug="shangcun")),
    )
    assert stale == {}, sorted(stale)


def test_answered_then_closed_through_the_admins_action(
    settings, county, django_capture_on_commit_callbacks
):
    from tests.factories import DepartmentFactory, SuperuserFactory

    admin_user = SuperuserFactory()
    admin = Client()
    admin.force_login(admin_user)
    office = DepartmentFactory()
    cases = [a_case_of(county, slug, status="accepted") for slug in ("wenli", "xiacun")]

    def answered():
        for case in cases:
            services.answer(
                Submission.objects.get(pk=case.pk),
                by=admin_user,
                department=office,
                text="已答复",
            )

    def closed():
        response = admin.post(
            "/admin/feedback/submission/",
            {"action": "close_selected", "_selected_action": [c.pk for c in cases]},
        )
        assert response.status_code == 302
        assert Submission.objects.filter(status="closed").count() == 2

    attack(settings, django_capture_on_commit_callbacks, answered, closed)
