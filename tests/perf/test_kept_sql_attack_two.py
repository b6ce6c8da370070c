"""An attack on the second round of kept SQL (core.compiled): the article's
forms and trail, the board's and the home page's entries (posting photos by
key, a `compiled.Source`), the 回音壁's pages (`compiled.Sliced`) and the
answers a reader may follow, the cases waiting past their deadline kept per
day, and the session's user (core.auth.ModelBackend, core.sessions).

Each page is compared with what Django's own queries give (core.compiled
bypassed: `djangos_own`), audiences in turns so that one makes a plan and
another runs it, across the moment a row comes out, midnight and time zones.
Three defects it found, mended since (each test below failed before):

- a session logged in under Django's backend was logged out where
  SESSION_ENGINE was Django's db engine (settings without REDIS_URL): now
  `core.db_sessions`, which reads it as core.sessions does;
- core.sessions rewrote Django's backend path whatever the settings list: a
  log-in under settings listing Django's ModelBackend was logged out at once;
- kept_entries(thumbnails=True) from a queryset source wrote no photos."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from catalog.models import Scope
from core import auth, caching, compiled
from disclosure.models import Attachment, Disclosure, DisclosureEvent, Reader
from disclosure.templatetags import disclosure_tags
from disclosure.views import detail_context
from feedback.models import Submission, SubmissionQuerySet
from tests.factories import (
    DisclosureFactory,
    DisclosureFormFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    SuperuserFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
)
from tests.perf.test_fragments import logged_in, page
from tests.perf.test_rows_by_key_compiled import MAY_READ, djangos_own

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("values_only", "no_compiled_plans"),
]

AT = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory


def shapes(name: str) -> list[tuple]:
    return [key[3] for key in compiled._plans if key[3][0] == name]


@pytest.fixture
def town():
    town = TownFactory(name="凤鸣镇", slug="fengming")
    found = {"town": town}
    for slug in ("wenli", "maoshan"):
        found[slug] = UnitFactory(name=f"{slug}村", slug=slug, parent=town)
    wenli = found["wenli"]
    day = AT - timedelta(days=1)
    found["public"] = DisclosureFactory(
        unit=wenli, title="村务公开财务收支", published_at=day
    )
    found["branch"] = DisclosureFactory(
        unit=wenli,
        item=ItemFactory(scope=Scope.BRANCH),
        title="文理村党支部内部通报",
        published_at=day + timedelta(minutes=1),
    )
    found["inner"] = DisclosureFactory(
        unit=wenli,
        item=ItemFactory(scope=Scope.INNER_PARTY),
        title="党内通报",
        published_at=day + timedelta(minutes=2),
    )
    return found


def readers(town) -> dict[str, Client]:
    return {
        "wenli member": logged_in(
            PartyMemberFactory(username="wenli_a", branch_of=town["wenli"])
        ),
        "maoshan member": logged_in(
            PartyMemberFactory(username="maoshan_a", branch_of=town["maoshan"])
        ),
        "visitor": Client(),
    }


def answered_by(case, disclosure, at=None):
    Submission.objects.filter(pk=case.pk).update(
        status="answered",
        answered_at=at or AT - timedelta(hours=1),
        answer_text="已答复",
        fulfilled_by=disclosure,
    )


# The session's user ---------------------------------------------------------


def user_of(client: Client):
    return client.get("/").wsgi_request.user


def test_a_session_from_before_stays_logged_in_with_the_database_engine(settings):
    # settings/common.py: SESSION_ENGINE = "core.sessions" if REDIS_URL else
    # "core.db_sessions" (a one-worker site, README).
    settings.SESSION_ENGINE = "core.db_sessions"
    member = PartyMemberFactory(username="before_the_change")
    client = Client()
    client.force_login(member, backend=auth.LEGACY_PATH)
    stored = Session.objects.get().get_decoded()
    assert stored[BACKEND_SESSION_KEY] == auth.LEGACY_PATH
    user = user_of(client)
    assert user.is_authenticated and user.pk == member.pk


def test_a_session_from_before_read_from_the_database_after_a_cache_flush():
    """core.sessions' own read of the database (the cache flushed) is
    rewritten too: the member stays logged in."""
    member = PartyMemberFactory(username="flushed")
    client = Client()
    client.force_login(member, backend=auth.LEGACY_PATH)
    stored = Session.objects.get().get_decoded()
    assert stored[BACKEND_SESSION_KEY] == auth.LEGACY_PATH
    cache.clear()
    caching.reset_local()
    user = user_of(client)
    assert user.is_authenticated and user.pk == member.pk
    # And a session naming a backend nobody lists is still a visitor.
    session = client.session
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.RemoteUserBackend"
    session.save()
    cache.clear()
    assert not user_of(client).is_authenticated


def test_the_log_in_form_wrong_then_right_password_reads_the_user_from_kept_sql():
    member = PartyMemberFactory(username="form_member")
    client = Client()
    wrong = client.post(
        "/accounts/login/", {"username": "form_member", "password": "wrong"}
    )
    assert wrong.status_code == 200
    assert not user_of(client).is_authenticated
    right = client.post(
        "/accounts/login/", {"username": "form_member", "password": PASSWORD}
    )
    assert right.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == auth.PATH
    for _ in range(2):
        user = user_of(client)
        assert user.is_authenticated and user.pk == member.pk
    assert shapes("session-user") == [("session-user",)]
    assert None not in compiled._plans.values()


def test_users_in_turns_never_get_each_others_row():
    """One plan for every user: the key a parameter. A superuser, a staff
    member, a member and a plain user, in turns, each their own, with their
    own flags (a superuser's rights never go to the next one)."""
    users = [
        SuperuserFactory(username="root"),
        UserFactory(username="clerk", is_staff=True),
        PartyMemberFactory(username="turns_member"),
        UserFactory(username="plain"),
    ]
    clients = [logged_in(user) for user in users]
    for _ in range(3):
        for user, client in zip(users, clients, strict=True):
            seen = user_of(client)
            assert (seen.pk, seen.username) == (user.pk, user.username)
            assert (seen.is_staff, seen.is_superuser) == (
                user.is_staff,
                user.is_superuser,
            )
    assert len(shapes("session-user")) == 1


def test_a_user_deleted_deactivated_or_with_a_new_password_is_a_visitor():
    gone, off, moved, kept = (
        UserFactory(username=name) for name in ("gone", "off", "moved", "kept")
    )
    clients = {user.username: logged_in(user) for user in (gone, off, moved, kept)}
    for client in clients.values():
        assert user_of(client).is_authenticated  # the plan made and run
    gone.delete()
    get_user_model().objects.filter(pk=off.pk).update(is_active=False)
    moved.set_password("another-password-2026")
    moved.save()
    assert not user_of(clients["gone"]).is_authenticated
    assert not user_of(clients["off"]).is_authenticated
    assert not user_of(clients["moved"]).is_authenticated
    assert user_of(clients["kept"]).pk == kept.pk


def test_the_user_row_read_under_another_time_zone_is_the_same(settings):
    member = PartyMemberFactory(username="zones")
    client = logged_in(member)
    with timezone.override(ZoneInfo("America/New_York")):
        assert user_of(client).pk == member.pk
    assert user_of(client).pk == member.pk


# The 回音壁: its pages and the answers a reader may follow -------------------


@pytest.fixture
def wall(town):
    """45 listed cases of two villages, of every kind, channel, status,
    topic, outcome, escalation and day, some answered by a public, a 党内
    and a branch's notice; and cases not listed (new, not published)."""
    tags = [TagFactory(name="森林防火"), TagFactory(name="道路维修")]
    kinds = ["question", "opinion", "suggestion", "report", "request"]
    channels = ["website", "phone", "letter"]
    answers = [town["public"], town["inner"], town["branch"], None]
    cases = []
    for n in range(45):
        unit = town["wenli"] if n % 2 else town["maoshan"]
        case = SubmissionFactory(
            unit=unit,
            accepted=True,
            kind=kinds[n % len(kinds)],
            channel=channels[n % len(channels)],
            tag=tags[n % 2] if n % 3 else None,
            title=f"第{n}件",
            received_at=AT - timedelta(days=n % 9, hours=n),
            outcome=["adopted", "partly", ""][n % 3]
            if kinds[n % len(kinds)] in ("opinion", "suggestion")
            else "",
            outcome_reason="部分可行",
        )
        if n % 4 == 1:
            answered_by(case, answers[n % 3], at=AT - timedelta(hours=n))
        if n % 7 == 3:
            Submission.objects.filter(pk=case.pk).update(
                status="accepted", escalated_round=1, round=1
            )
        if n % 11 == 5:
            Submission.objects.filter(pk=case.pk).update(
                status="closed", answered_at=AT - timedelta(days=2)
            )
        cases.append(case)
    SubmissionFactory(unit=town["wenli"], title="新来的件")  # received: counted
    hidden = SubmissionFactory(unit=town["wenli"], accepted=True, title="不予公开件")
    Submission.objects.filter(pk=hidden.pk).update(
        status="not_published", hidden_reason="涉及个人隐私"
    )
    return {"tags": tags, "cases": cases}


def wall_urls(wall) -> list[str]:
    tag = wall["tags"][0].pk
    day = (AT - timedelta(days=3)).date().isoformat()
    other = (AT - timedelta(days=1)).date().isoformat()
    return [
        "/feedback/",
        "/feedback/?page=2",
        "/feedback/?page=3",
        "/feedback/?unit=wenli",
        "/feedback/?unit=wenli&page=2",
        "/feedback/?unit=maoshan",
        "/feedback/?kind=question",
        "/feedback/?kind=opinion",
        "/feedback/?status=answered",
        "/feedback/?status=accepted",
        "/feedback/?status=closed",
        f"/feedback/?tag={tag}",
        f"/feedback/?tag={wall['tags'][1].pk}&unit=wenli",
        "/feedback/?channel=phone",
        "/feedback/?outcome=adopted",
        "/feedback/?outcome=partly",
        "/feedback/?escalated=1",
        f"/feedback/?received_after={day}",
        f"/feedback/?received_before={day}",
        f"/feedback/?received_after={day}&received_before={other}",
        f"/feedback/?received_after={day}&received_before={day}",
        f"/feedback/?kind=question&status=answered&unit=wenli&received_after={day}",
    ]


def test_every_filter_and_page_of_the_wall_is_djangos_own(town, wall, monkeypatch):
    """Each filter value its own plan: 22 selections, three audiences in
    turns (each run twice: the plan made, then kept), the bytes Django's
    own queries give."""
    clients = readers(town)
    urls = wall_urls(wall)
    with time_machine.travel(AT, tick=False):
        kept = {(w, u): page(c, u) for u in urls for w, c in clients.items()}
        again = {(w, u): page(c, u) for u in reversed(urls) for w, c in clients.items()}
        djangos_own(monkeypatch)
        own = {(w, u): page(c, u) for u in urls for w, c in clients.items()}
    assert kept == again
    for key in own:
        assert kept[key] == own[key], key
    assert len(set(kept.values())) > len(urls)  # the filters chose
    # Run as Django: an empty selection's slice [0:0] alone (no SQL).
    assert all(
        key[3][-2] == key[3][-1] == 0
        for key, plan in compiled._plans.items()
        if key[3][0] == "wall-page" and plan is None
    )
    assert len(shapes("wall-page")) >= len(urls) - 1
    # A page of many answers: those of each audience.
    listed = kept[("visitor", "/feedback/")].decode()
    assert town["public"].get_absolute_url() in listed
    for who in clients:
        first = kept[(who, "/feedback/")].decode()
        for name in ("public", "branch", "inner"):
            linked = f'href="{town[name].get_absolute_url()}"' in first
            assert linked is (name in MAY_READ[who]), (who, name)


def test_a_units_slug_given_to_another_unit_lists_that_units_cases(
    town, wall, monkeypatch, changed
):
    """The selection's text names a unit by slug; the plan by its key: the
    slug moved to another village lists that village's cases, never the
    plan of the one it named before."""
    visitor = Client()
    url = "/feedback/?unit=wenli"
    with time_machine.travel(AT, tick=False):
        before = visitor.get(url).text
        assert "第1件" in before and "第0件" not in before
        with changed():
            town["wenli"].slug = "wenli-old"
            town["wenli"].save()
        with changed():
            town["maoshan"].slug = "wenli"
            town["maoshan"].save()
        after = page(visitor, url)
        djangos_own(monkeypatch)
        own = page(visitor, url)
    assert after == own
    assert "第0件" in after.decode() and "第1件" not in after.decode()


CLEAR_400 = ("页码无效", "筛选条件有误", "请求的内容无法识别")
HOSTILE_PAGES = [
    "0",
    "-1",
    "1e3",
    "1.0",
    "99999",
    "%00",
    "9" * 5000,
    "3",
    "1" + "0" * 30,
    "%E4%B8%80",
    "",
    "nan",
    "inf",
]


@pytest.mark.parametrize("value", HOSTILE_PAGES)
def test_a_hostile_page_number_is_a_clear_answer_never_a_server_error(
    town, wall, value
):
    client = Client()
    client.raise_request_exception = False
    with time_machine.travel(AT, tick=False):
        for unit in ("", "wenli"):
            response = client.get(f"/feedback/?unit={unit}&page={value}")
            assert response.status_code in (200, 400), (value, unit)
            if response.status_code == 400:
                # The wall's own answer, or the null byte's (core middleware).
                assert any(t in response.text for t in CLEAR_400), value


@pytest.mark.parametrize(
    "query",
    [
        "unit=nowhere",
        "tag=abc",
        "tag=99999999999999999999",
        "tag=-1",
        "kind=denunciation",
        "status=received",
        "status=not_published",
        "escalated=2",
        "outcome=%00",
        "received_after=2024-13-01",
        "received_after=0001-01-01",
        "received_before=9999-12-31",
        "received_after=9999-12-31&received_before=0001-01-01",
        "unit=" + "x" * 5000,
        "unit=wenli&unit=maoshan",
    ],
)
def test_a_hostile_filter_is_a_clear_answer_never_a_server_error(
    town, wall, query, monkeypatch
):
    client = Client()
    client.raise_request_exception = False
    with time_machine.travel(AT, tick=False):
        kept = client.get(f"/feedback/?{query}")
        assert kept.status_code in (200, 400), query
        if kept.status_code == 400:
            assert any(t in kept.text for t in CLEAR_400), query
        djangos_own(monkeypatch)
        own = client.get(f"/feedback/?{query}")
    assert own.status_code == kept.status_code


def test_the_answers_plan_made_by_one_audience_never_shows_another_a_link(
    town, wall, monkeypatch
):
    """Audiences in every order, each first to make the plan of its number
    of answers: a visitor never follows a 党内 or branch notice, another
    branch's member never a branch's."""
    clients = readers(town)
    orders = [
        ["visitor", "maoshan member", "wenli member"],
        ["wenli member", "maoshan member", "visitor"],
        ["maoshan member", "wenli member", "visitor"],
    ]
    urls = ["/feedback/", "/feedback/?page=2", "/feedback/?unit=wenli"]
    with time_machine.travel(AT, tick=False):
        for order in orders:
            compiled.forget()
            for who in order:
                for url in urls:
                    text = clients[who].get(url).text
                    for name in ("branch", "inner"):
                        linked = f'href="{town[name].get_absolute_url()}"' in text
                        if name not in MAY_READ[who]:
                            assert not linked, (order, who, url)
                            assert town[name].title not in text, (order, who)
                        elif url == "/feedback/":  # a page answered by each
                            assert linked, (order, who, url)
        kept = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
        djangos_own(monkeypatch)
        own = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
    assert kept == own


def test_an_answer_scheduled_for_later_is_followed_from_its_time(town, monkeypatch):
    """A case answered by a notice published an hour from now, and one by a
    先党内后党外 notice reaching the public then: from the kept plan, the
    visitor follows neither until that hour, a member the second at once."""
    later = DisclosureFactory(
        unit=town["wenli"], title="一小时后发布", published_at=AT + timedelta(hours=1)
    )
    staged = DisclosureFactory(
        unit=town["wenli"],
        title="先党内后党外",
        published_at=AT - timedelta(days=1),
        public_from=AT + timedelta(hours=1),
    )
    for disclosure in (later, staged, town["public"]):
        answered_by(SubmissionFactory(unit=town["wenli"], accepted=True), disclosure)
    clients = readers(town)
    links = {d: f'href="{d.get_absolute_url()}"' for d in (later, staged)}
    with time_machine.travel(AT, tick=False):
        for who, client in clients.items():
            text = client.get("/feedback/").text
            assert links[later] not in text, who
            assert (links[staged] in text) is (who != "visitor"), who
    made = len(compiled._plans)
    with time_machine.travel(AT + timedelta(hours=1, minutes=1), tick=False):
        for who, client in clients.items():
            text = client.get("/feedback/").text
            assert links[later] in text and links[staged] in text, who
        kept = {w: page(c, "/feedback/") for w, c in clients.items()}
        djangos_own(monkeypatch)
        own = {w: page(c, "/feedback/") for w, c in clients.items()}
    assert kept == own
    assert len(compiled._plans) == made  # the same plans, a later moment


def test_a_page_past_the_kept_offset_is_djangos_own(town, monkeypatch):
    """Pages past MAX_KEPT_OFFSET (the 11th of 20) run as Django; those
    before it are kept: both the bytes Django's own queries give."""
    for n in range(230):
        SubmissionFactory(unit=town["maoshan"], accepted=True, title=f"件{n:03d}")
    visitor = Client()
    urls = ["/feedback/?page=10", "/feedback/?page=11", "/feedback/?page=12"]
    with time_machine.travel(AT, tick=False):
        kept = [page(visitor, u) for u in urls]
        djangos_own(monkeypatch)
        own = [page(visitor, u) for u in urls]
    assert kept == own
    starts = {s[-2] for s in shapes("wall-page")}
    assert starts == {180}
    assert "件000".encode() in kept[-1]


# The cases waiting past their deadline, kept per day -------------------------


def djangos_overdue(units=None) -> int:
    rows = Submission.objects.on_record()
    if units is not None:
        rows = rows.filter(unit__in=units)
    return rows.filter(SubmissionQuerySet._waiting_overdue_q()).count()


@pytest.fixture
def waiting(town):
    """Cases not yet accepted (received), due yesterday, today and
    tomorrow (local), in both villages, and accepted ones past their
    deadline (not waiting: not counted)."""
    today = timezone.localdate(AT)
    for unit in (town["wenli"], town["maoshan"]):
        for days in (-1, 0, 1):
            case = SubmissionFactory(unit=unit, title=f"待受理{days}")
            Submission.objects.filter(pk=case.pk).update(
                due_date=today + timedelta(days=days)
            )
        late = SubmissionFactory(unit=unit, accepted=True)
        Submission.objects.filter(pk=late.pk).update(due_date=today - timedelta(days=5))
    return today


def overdue(units=None, shape=("attack",)) -> int:
    rows = Submission.objects.on_record()
    part = rows.overdue_waiting_part(shape=shape, units=units)
    return part["totals"]["waiting_overdue"]


def test_the_overdue_count_moves_at_midnight_from_a_new_days_plan(town, waiting):
    ids = [town["wenli"].pk, town["maoshan"].pk]
    zone = timezone.get_current_timezone()
    evening = datetime.combine(waiting, datetime.min.time(), zone) + timedelta(
        hours=23, minutes=59, seconds=59
    )
    counted = {}
    for moment in (evening, evening + timedelta(seconds=2)):
        with time_machine.travel(moment, tick=False):
            for units in (None, ids, ids[:1]):
                for _ in range(2):  # the plan made, then run
                    found = overdue(units)
                    assert found == djangos_overdue(units), (moment, units)
                counted[(moment, units and tuple(units))] = found
    assert counted[(evening, None)] == 2  # due yesterday, each village
    assert counted[(evening + timedelta(seconds=2), None)] == 4  # and today
    assert counted[(evening + timedelta(seconds=2), (town["wenli"].pk,))] == 2
    # The shape: (*shape, "overdue", every unit's, the day).
    days = {key[3][3] for key in compiled._plans if key[3][:2] == ("attack", "overdue")}
    assert days == {waiting, waiting + timedelta(days=1)}


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Pacific/Kiritimati", "UTC", "Asia/Shanghai"]
)
def test_the_overdue_count_in_another_time_zone_is_djangos(town, waiting, zone):
    """Counted against the local day of the zone in force: each zone's own
    plan, never one made in another zone's day."""
    ids = [town["wenli"].pk]
    with time_machine.travel(AT.replace(hour=23, minute=30), tick=False):
        first = overdue(ids), overdue()
        with timezone.override(ZoneInfo(zone)):
            assert overdue(ids) == djangos_overdue(ids)
            assert overdue() == djangos_overdue()
        assert (overdue(ids), overdue()) == first


def test_the_walls_overdue_figure_after_midnight(town, waiting, monkeypatch):
    """The wall's and a unit's figure of cases waiting past their deadline,
    read before and after midnight (the kept plan of the day before not
    used): the bytes Django's own queries give."""
    zone = timezone.get_current_timezone()
    midnight = datetime.combine(waiting + timedelta(days=1), datetime.min.time(), zone)
    visitor = Client()
    urls = ["/feedback/", "/feedback/?unit=wenli", "/"]
    figures = {}
    for moment in (midnight - timedelta(minutes=1), midnight + timedelta(minutes=1)):
        with time_machine.travel(moment, tick=False):
            figures[moment] = [visitor.get(u).text for u in urls]
    before, after = figures.values()
    assert "待受理的来信中有 2 条已超过答复期限" in before[0]
    assert "待受理的来信中有 4 条已超过答复期限" in after[0]
    assert "待受理的来信中有 1 条已超过答复期限" in before[1]
    assert "待受理的来信中有 2 条已超过答复期限" in after[1]
    with time_machine.travel(midnight + timedelta(minutes=2), tick=False):
        compiled.forget()
        cache.clear()
        caching.reset_local()
        kept = [page(visitor, u) for u in urls]
        cache.clear()
        caching.reset_local()
        djangos_own(monkeypatch)
        own = [page(visitor, u) for u in urls]
    assert kept == own


# The home page's latest notices -----------------------------------------------


def latest_of(text: str) -> str:
    start = text.index('id="latest-heading"')
    return text[start : text.index("</section>", start)]


@pytest.mark.parametrize("values", [0, 60])
def test_the_home_pages_latest_for_each_audience_in_every_order(
    town, settings, monkeypatch, values
):
    settings.VALUE_CACHE_SECONDS = values
    clients = readers(town)
    orders = [
        ["visitor", "maoshan member", "wenli member"],
        ["wenli member", "visitor", "maoshan member"],
        ["maoshan member", "wenli member", "visitor"],
    ]
    with time_machine.travel(AT, tick=False):
        for order in orders:
            compiled.forget()
            cache.clear()
            caching.reset_local()
            for who in order:
                for _ in range(2):
                    latest = latest_of(clients[who].get("/").text)
                    for name in ("public", "branch", "inner"):
                        shown = town[name].title in latest
                        assert shown is (name in MAY_READ[who]), (order, who, name)
        kept = {w: page(c, "/") for w, c in clients.items()}
        cache.clear()
        caching.reset_local()
        djangos_own(monkeypatch)
        own = {w: page(c, "/") for w, c in clients.items()}
    assert kept == own
    if values:
        assert shapes("entry-rows")


def test_a_notice_scheduled_for_later_comes_out_on_the_home_page_at_its_time(
    town, monkeypatch
):
    later = DisclosureFactory(
        unit=town["maoshan"],
        title="一小时后公开的通知",
        published_at=AT + timedelta(hours=1),
    )
    staged = DisclosureFactory(
        unit=town["wenli"],
        title="先党内后党外的通知",
        published_at=AT - timedelta(minutes=30),
        public_from=AT + timedelta(hours=1),
    )
    clients = readers(town)
    with time_machine.travel(AT, tick=False):
        for who, client in clients.items():
            latest = latest_of(client.get("/").text)
            assert later.title not in latest, who
            assert (staged.title in latest) is (who != "visitor"), who
    with time_machine.travel(AT + timedelta(hours=1, seconds=1), tick=False):
        for who, client in clients.items():
            latest = latest_of(client.get("/").text)
            assert later.title in latest and staged.title in latest, who
        kept = {w: page(c, "/") for w, c in clients.items()}
        cache.clear()
        caching.reset_local()
        djangos_own(monkeypatch)
        own = {w: page(c, "/") for w, c in clients.items()}
    assert kept == own


def test_a_notice_made_inner_party_between_the_two_reads_is_left_out(town):
    """The entry's row read by key from the kept source of this reader: a
    row chosen by the keys' read, made 党内 before its entry is written, is
    not written for a visitor (the source asks who reads)."""
    visitor_reader = Reader.of(None)
    unit_ids = [town["wenli"].pk]

    def visible(at=None):
        return (
            Disclosure.objects.published(at)
            .for_reader(visitor_reader, at)
            .filter(unit__in=unit_ids)
        )

    source = compiled.Source(("attack-source", tuple(unit_ids), "public"), visible)
    rows = list(visible(AT).only("pk"))
    assert [r.pk for r in rows] == [town["public"].pk]
    Disclosure.objects.filter(pk=town["public"].pk).update(scope=Scope.INNER_PARTY)
    with time_machine.travel(AT, tick=False):
        entries = disclosure_tags.kept_entries(rows, show_unit=True, source=source)
    assert entries == [""]


# A board's posting photos by key ----------------------------------------------


def photos_by_django(keys) -> dict[int, list[int]]:
    """As an entry read them before: each row's attachments, in order, the
    posting photos with a thumbnail."""
    return {
        key: [
            a.pk
            for a in Disclosure.objects.get(pk=key).attachments.all()
            if a.thumbnail and a.kind == "posting"
        ]
        for key in keys
    }


@pytest.fixture
def many(town):
    """130 notices of a village (a board's worth), photos of every kind on
    some, in an order unlike their keys'."""
    rows = [
        DisclosureFactory(unit=town["maoshan"], title=f"第{n}号公告")
        for n in range(130)
    ]
    for n, row in enumerate(rows):
        if n % 3 == 0:
            for kind, thumbnail in [
                ("posting", f"t/{n}-b.jpg"),
                ("document", f"t/{n}-doc.jpg"),
                ("photo", f"t/{n}-photo.jpg"),
                ("posting", ""),
                ("posting", f"t/{n}-a.jpg"),
            ]:
                Attachment.objects.create(
                    disclosure=row, kind=kind, file="a/x.jpg", thumbnail=thumbnail
                )
    return rows


@pytest.mark.parametrize("count", [1, 2, 99, 100, 101, 130])
def test_posting_photos_by_key_of_any_number_of_entries(many, count):
    keys = [row.pk for row in reversed(many[:count])]
    for _ in range(2):  # the plan made, then run
        found = disclosure_tags.posting_photos(keys)
        assert list(found) == keys
        assert {k: [a.pk for a in v] for k, v in found.items()} == photos_by_django(
            keys
        )
    kept = [key for key in compiled._plans if key[3] == ("posting-photos",)]
    assert len(kept) == (1 if count <= compiled.MAX_KEYS else 0)


def test_a_photo_deleted_or_its_thumbnail_made_after_the_plan(many):
    keys = [row.pk for row in many[:4]]
    first = disclosure_tags.posting_photos(keys)[keys[0]]
    assert len(first) == 2
    first[0].delete()
    pending = Attachment.objects.filter(disclosure=many[0], thumbnail="").get()
    Attachment.objects.filter(pk=pending.pk).update(thumbnail="t/late.jpg")
    again = disclosure_tags.posting_photos(keys)
    assert [a.pk for a in again[keys[0]]] == photos_by_django(keys)[keys[0]]
    assert pending.pk in [a.pk for a in again[keys[0]]]
    assert first[0].pk not in [a.pk for a in again[keys[0]]]


def test_a_boards_entries_with_many_photos_are_as_each_rows_attachments(many):
    """kept_entries of a board's rows (loaded), 130 of them (past MAX_KEYS:
    run as Django) then 3 (kept): each entry as written from its own
    attachments, photos in order."""
    fields = disclosure_tags.ENTRY_FIELDS
    for rows in (many, many[:3]):
        cache.clear()
        caching.reset_local()
        loaded = list(
            Disclosure.objects.only(*fields).filter(pk__in=[r.pk for r in rows])
        )
        entries = disclosure_tags.kept_entries(loaded, thumbnails=True, loaded=True)
        for row, entry in zip(loaded, entries, strict=True):
            whole = Disclosure.objects.only(*fields).get(pk=row.pk)
            assert entry == disclosure_tags.disclosure_entry(whole, thumbnails=True)
    assert any("board-thumb" in e for e in entries)


def test_entries_from_a_queryset_source_with_thumbnails_show_their_photos(many):
    fields = disclosure_tags.ENTRY_FIELDS
    rows = [Disclosure.objects.only("pk").get(pk=many[0].pk)]
    source = Disclosure.objects.filter(unit=many[0].unit)
    entries = disclosure_tags.kept_entries(rows, thumbnails=True, source=source)
    whole = Disclosure.objects.only(*fields).get(pk=many[0].pk)
    expected = disclosure_tags.disclosure_entry(whole, thumbnails=True)
    assert expected.count("board-thumb") == 2
    assert entries == [expected]


def test_a_boards_body_for_each_audience_is_djangos_own(town, many, monkeypatch):
    """The board (130 rows ranked, photos past MAX_KEYS) and a village's
    board of a branch's row, audiences in turns, each entry one string a
    column: the bytes Django's own queries give."""
    clients = readers(town)
    urls = [f"/boards/{slug}/" for slug in ("maoshan", "wenli")]
    with time_machine.travel(AT, tick=False):
        kept = {(w, u): page(c, u) for u in urls for w, c in clients.items()}
        cache.clear()
        caching.reset_local()
        djangos_own(monkeypatch)
        own = {(w, u): page(c, u) for u in urls for w, c in clients.items()}
    assert kept == own
    for who in clients:
        board = kept[(who, "/boards/wenli/")].decode()
        for name in ("public", "branch", "inner"):
            assert (town[name].title in board) is (name in MAY_READ[who]), who


# A disclosure's article: its forms and trail by key ---------------------------


def trail_of(disclosure, steps, comment="内部意见"):
    for minutes, action in enumerate(steps):
        DisclosureEvent.objects.create(
            disclosure=disclosure,
            action=action,
            from_status="draft",
            to_status="published",
            acting_body=f"经办{minutes}",
            comment=comment,
            at=AT - timedelta(days=1, minutes=-minutes),
        )


def article(disclosure, kept_sql: bool) -> str:
    from django.template.loader import render_to_string

    row = Disclosure.objects.with_article_flags().get(pk=disclosure.pk)
    return render_to_string(
        "disclosure/includes/disclosure_article.html",
        detail_context(row, kept_sql=kept_sql),
    )


def test_articles_in_turns_each_read_its_own_forms_and_trail(town):
    """Three articles (one without forms or trail), read in turns from the
    same two plans: each its own rows, never the article before's; a form
    or a step added since is shown, one removed is not."""
    Action = DisclosureEvent.Action
    first, second, bare = town["public"], town["inner"], town["branch"]
    first.forms.set([DisclosureFormFactory(name=n) for n in ("公开栏", "网站")])
    second.forms.set([DisclosureFormFactory(name="党员大会")])
    trail_of(first, [Action.SUBMITTED, Action.RETURNED, Action.REVIEWED])
    trail_of(second, [Action.APPROVED, Action.PUBLISHED, Action.WITHDRAWN])
    for _ in range(2):
        for row in (first, bare, second, first):
            assert article(row, True) == article(row, False), row.title
    second.forms.add(DisclosureFormFactory(name="会议"))
    first.forms.remove(*first.forms.filter(name="网站"))
    DisclosureEvent.objects.filter(disclosure=second, action=Action.PUBLISHED).delete()
    trail_of(bare, [Action.CORRECTED])
    for row in (first, bare, second):
        kept = article(row, True)
        assert kept == article(row, False), row.title
        assert "内部意见" not in kept
    assert "会议" in article(second, True) and "网站" not in article(first, True)
    assert len(shapes("article-forms")) == len(shapes("article-trail")) == 1


# Plans: LIMIT and threads -----------------------------------------------------


def test_plans_evicted_at_the_limit_are_made_again_and_give_djangos_answer(
    town, wall, monkeypatch
):
    """With room for four plans and four of selections, the wall's pages,
    answers, counts and the session's user churn them: every page is still
    Django's own."""
    monkeypatch.setattr(compiled, "LIMIT", 4)
    monkeypatch.setattr(compiled, "CHOSEN_LIMIT", 4)
    clients = readers(town)
    urls = wall_urls(wall)[:8]
    with time_machine.travel(AT, tick=False):
        kept = {(w, u): page(c, u) for u in urls for w, c in clients.items()}
        assert len(compiled._plans) <= 8 and len(compiled._chosen) <= 4
        djangos_own(monkeypatch)
        own = {(w, u): page(c, u) for u in urls for w, c in clients.items()}
    assert kept == own


def test_two_threads_churning_the_plans_each_get_their_own_rows(monkeypatch):
    """Shapes made and evicted by two threads at once (LIMIT 8): no error,
    and each call's rows are its own query's. The queries read no table
    (`none()`, plans run as Django), so the threads need no test database."""
    monkeypatch.setattr(compiled, "LIMIT", 8)
    errors = []

    def work(name: str):
        try:
            for n in range(400):
                shape = (f"thread-{name}", n % 37)
                found = compiled.rows(
                    Disclosure,
                    shape,
                    lambda at, *keys: Disclosure.objects.none(),
                    keys=(n % 5,),
                )
                assert found == []
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(compiled._plans) <= 8


def test_a_log_in_under_settings_listing_djangos_backend_stays_logged_in(settings):
    settings.AUTHENTICATION_BACKENDS = [
        "core.security.AxesBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    member = PartyMemberFactory(username="own_settings")
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "own_settings", "password": PASSWORD}
    )
    assert response.status_code == 302
    stored = Session.objects.get().get_decoded()
    assert stored[BACKEND_SESSION_KEY] == auth.LEGACY_PATH
    user = user_of(client)
    assert user.is_authenticated and user.pk == member.pk
