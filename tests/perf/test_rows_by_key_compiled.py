"""Rows read by their keys from kept SQL (core.compiled, `keys=`, related
objects): a disclosure's page (`disclosure.views._visible_disclosure`, per
audience; its article's forms and trail, `detail_context(kept_sql=True)`)
and the 回音壁's cards (`wall_tags.card_rows`, per number of
cards). The pages are the bytes Django's own queries give; an audience's
plan never shows another audience a row; a row comes out at its time; a
made-up number is a 404."""

from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from catalog.models import Scope
from core import compiled
from disclosure.models import Disclosure, DisclosureEvent
from feedback.models import Submission
from tests.factories import (
    DisclosureFactory,
    DisclosureFormFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
)
from tests.perf.test_fragments import logged_in, page

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("values_only", "no_compiled_plans"),
]

AT = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)


@pytest.fixture
def town():
    town = TownFactory(name="凤鸣镇")
    found = {"town": town}
    for slug in ("wenli", "maoshan"):
        found[slug] = UnitFactory(name=f"{slug}村", slug=slug, parent=town)
    wenli = found["wenli"]
    found["public"] = DisclosureFactory(unit=wenli, title="村务公开财务收支")
    found["branch"] = DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.BRANCH), title="文理村党支部内部通报"
    )
    found["inner"] = DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title="党内通报"
    )
    found["later"] = DisclosureFactory(
        unit=wenli, title="一小时后公开", published_at=AT + timedelta(hours=1)
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


# Who may read which row (党务公开条例 art. 8): the one rule, in
# Disclosure.objects.for_reader; here as each reader finds it.
MAY_READ = {
    "wenli member": {"public", "branch", "inner"},
    "maoshan member": {"public", "inner"},
    "visitor": {"public"},
}


def djangos_own(monkeypatch):
    """core.compiled bypassed: each query built and run by Django."""

    def run(model, shape, build, at=None, keys=(), **options):
        return list(build(at or timezone.now(), *keys))

    monkeypatch.setattr(compiled, "rows", run)


def detail_plans() -> list:
    plans = [plan for key, plan in compiled._plans.items() if key[3][0] == "detail-row"]
    assert None not in plans
    return plans


def test_each_audience_reads_from_its_own_plan_what_it_may(town, settings):
    settings.VALUE_CACHE_SECONDS = 0  # every request reads the row
    clients = readers(town)
    with time_machine.travel(AT, tick=False):
        # Twice round, in turns: each audience's plan made, then kept.
        for _ in range(2):
            for who, client in clients.items():
                for name in ("public", "branch", "inner", "later"):
                    url = town[name].get_absolute_url()
                    status = client.get(url).status_code
                    assert status == (200 if name in MAY_READ[who] else 404), (
                        who,
                        name,
                    )
    # One plan an audience: a branch's, another branch's, the public's.
    assert len(detail_plans()) == 3


def test_a_row_comes_out_at_its_time_from_the_kept_plan(town, settings):
    settings.VALUE_CACHE_SECONDS = 0
    url = town["later"].get_absolute_url()
    visitor = Client()
    with time_machine.travel(AT, tick=False):
        assert visitor.get(url).status_code == 404
        assert visitor.get(town["public"].get_absolute_url()).status_code == 200
    with time_machine.travel(AT + timedelta(hours=1, minutes=30), tick=False):
        response = visitor.get(url)
    assert response.status_code == 200
    assert "一小时后公开" in response.text
    assert len(detail_plans()) == 1


@pytest.mark.parametrize("pk", ["0", "2147483648", "99999999999999999999"])
def test_a_made_up_number_is_not_found(town, pk):
    assert Client().get(f"/disclosures/{pk}/").status_code == 404


def test_pages_from_kept_sql_are_djangos_own(town, settings, monkeypatch):
    SubmissionFactory(unit=town["wenli"], accepted=True, title="路灯坏了")
    answered = SubmissionFactory(unit=town["maoshan"], accepted=True)
    Submission.objects.filter(pk=answered.pk).update(
        status="answered",
        answered_at=timezone.now(),
        answer_text="已答复",
        fulfilled_by=town["public"],
    )
    settings.VALUE_CACHE_SECONDS = 0
    urls = ["/feedback/", *(town[n].get_absolute_url() for n in ("public", "inner"))]
    clients = readers(town)
    with time_machine.travel(AT, tick=False):
        kept = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
        kept_again = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
        assert any(key[3] == ("wall-cards",) for key in compiled._plans)
        djangos_own(monkeypatch)
        own = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
    assert kept == kept_again == own
    assert "路灯坏了".encode() in own[("visitor", "/feedback/")]
    assert Disclosure.objects.count() == 4


def with_forms_and_trail(disclosure, forms: list[str], comment: str):
    Action = DisclosureEvent.Action
    disclosure.forms.set([DisclosureFormFactory(name=name) for name in forms])
    steps = [
        (Action.SUBMITTED, "村党支部", False),
        (Action.RETURNED, "镇党委", False),  # not a public step
        (Action.REVIEWED, "镇党委", True),
        (Action.PUBLISHED, "村党支部", False),
    ]
    for minutes, (action, body, secrecy) in enumerate(steps):
        DisclosureEvent.objects.create(
            disclosure=disclosure,
            action=action,
            from_status="draft",
            to_status="published",
            acting_body=body,
            comment=comment,
            secrecy_reviewed=secrecy,
            at=AT - timedelta(days=1, minutes=-minutes),
        )


def test_an_articles_forms_and_trail_from_kept_sql(town, settings, monkeypatch):
    """Two articles: the second's forms and trail from the first's plans (no
    compile), each page the bytes Django's own queries give; the trail keeps
    its order and shows neither a step kept from the public nor a comment."""
    with_forms_and_trail(town["public"], ["党务公开栏", "公开网站"], "退回：金额有误")
    with_forms_and_trail(town["inner"], ["党员大会"], "内部意见")
    settings.VALUE_CACHE_SECONDS = 0
    member = readers(town)["wenli member"]
    urls = [town[n].get_absolute_url() for n in ("public", "inner")]
    built = []
    real = compiled._compile

    def counted(build, *args):
        built.append(build.__name__)
        return real(build, *args)

    monkeypatch.setattr(compiled, "_compile", counted)
    with time_machine.travel(AT, tick=False):
        kept = [page(member, url) for url in urls]
        djangos_own(monkeypatch)
        own = [page(member, url) for url in urls]
    assert kept == own
    # Compiled once each, for the first article; the second's ran its plans.
    assert built.count("_forms") == built.count("_trail") == 1
    plans = {key[3]: plan for key, plan in compiled._plans.items()}
    assert plans[("article-forms",)] and plans[("article-trail",)]
    first = kept[0].decode()
    assert "党务公开栏、公开网站" in first
    assert "党员大会" in kept[1].decode()
    trail = first[first.index('class="review-trail') :]
    steps = ["村党支部提出", "镇党委审核（含保密审查）", "村党支部发布"]
    assert all(step in trail for step in steps)
    assert [trail.index(step) for step in steps] == sorted(
        trail.index(step) for step in steps
    )
    assert "退回修改" not in trail
    assert "退回：金额有误" not in first and "内部意见" not in kept[1].decode()


def test_the_walls_answers_and_pages_from_kept_sql(town, settings, monkeypatch):
    """The 回音壁's page of cases (kept per filter selection and page) and
    which answers each reader may follow (kept per audience and number): a
    case answered by a 党内 or a branch's notice links it for those who may
    read it alone, as Django's own queries give, on every page."""
    settings.VALUE_CACHE_SECONDS = 0
    for n in range(23):  # two pages
        SubmissionFactory(unit=town["maoshan"], accepted=True, title=f"第{n}件")
    for name in ("public", "branch", "inner"):
        case = SubmissionFactory(unit=town["wenli"], accepted=True)
        Submission.objects.filter(pk=case.pk).update(
            status="answered",
            answered_at=timezone.now(),
            answer_text="已答复",
            fulfilled_by=town[name],
        )
    urls = ["/feedback/", "/feedback/?page=2", "/feedback/?unit=wenli"]
    clients = readers(town)
    with time_machine.travel(AT + timedelta(hours=2), tick=False):
        kept = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
        djangos_own(monkeypatch)
        own = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
    assert kept == own
    for who in clients:
        first = kept[(who, "/feedback/")].decode()
        for name in ("public", "branch", "inner"):
            linked = f'href="{town[name].get_absolute_url()}"' in first
            assert linked is (name in MAY_READ[who]), (who, name)
    assert "第0件" in kept[("visitor", "/feedback/?page=2")].decode()
    shapes = [key[3] for key in compiled._plans]
    assert len([s for s in shapes if s[0] == "wall-answers"]) == 3  # audiences
    assert len([s for s in shapes if s[0] == "wall-page"]) == 3  # pages
    assert None not in compiled._plans.values()


def test_a_page_past_the_kept_offset_runs_as_django(town):
    for _ in range(3):
        SubmissionFactory(unit=town["maoshan"], accepted=True)
    rows = compiled.Sliced(
        Submission, ("sliced-test",), lambda at: Submission.objects.order_by("pk")
    )
    every = list(Submission.objects.order_by("pk"))
    assert rows[0:2] == every[0:2] and rows[1:3] == every[1:3]
    assert list(rows[compiled.MAX_KEPT_OFFSET : compiled.MAX_KEPT_OFFSET + 20]) == []
    assert rows[2] == every[2]  # an index, not a slice
    shapes = {key[3] for key in compiled._plans}
    assert shapes == {("sliced-test", 0, 2), ("sliced-test", 1, 3)}


def test_the_lists_pages_from_kept_sql_are_djangos_own(town, settings, monkeypatch):
    """The list's page of keys (`compiled.Sliced`) and its entries' rows (a
    `compiled.Source`), kept per audience and filter selection: each
    reader's pages, filtered and paged, are the bytes Django's own queries
    give, a row comes out at its time, and no reader lists a row they may
    not read."""
    settings.VALUE_CACHE_SECONDS = 0
    for n in range(22):  # a second page
        DisclosureFactory(
            unit=town["maoshan"],
            title=f"茅山村务第{n}号",
            published_at=AT - timedelta(days=n + 2),
        )
    urls = [
        "/disclosures/",
        "/disclosures/?page=2",
        "/disclosures/?unit=wenli",
        "/disclosures/?unit=maoshan&page=2",
        "/disclosures/?period=2011-09",
        "/disclosures/?kind=party&nil=on",
    ]
    clients = readers(town)
    kept, own = {}, {}
    for moment in (AT, AT + timedelta(hours=1, minutes=30)):
        with time_machine.travel(moment, tick=False):
            for who, client in clients.items():
                for url in urls:
                    kept[(moment, who, url)] = page(client, url)
    djangos_own(monkeypatch)
    for moment in (AT, AT + timedelta(hours=1, minutes=30)):
        with time_machine.travel(moment, tick=False):
            for who, client in clients.items():
                for url in urls:
                    own[(moment, who, url)] = page(client, url)
    assert kept == own
    for who in clients:
        for name, title in (("branch", "文理村党支部内部通报"), ("inner", "党内通报")):
            shown = title.encode() in kept[(AT, who, "/disclosures/?unit=wenli")]
            assert shown is (name in MAY_READ[who]), (who, name)
        later = "一小时后公开".encode()
        assert later not in kept[(AT, who, "/disclosures/?unit=wenli")]
        assert (
            later
            in kept[
                (AT + timedelta(hours=1, minutes=30), who, "/disclosures/?unit=wenli")
            ]
        )
    assert "茅山村务第21号".encode() in kept[(AT, "visitor", "/disclosures/?page=2")]
    shapes = [key[3] for key in compiled._plans]
    assert any(s[0] == "list-page" for s in shapes)
    assert any(s[:2] == ("entry-rows", True) and s[2] == "list" for s in shapes)
    assert None not in compiled._plans.values()


def test_search_hits_from_kept_sql_are_djangos_own(town, settings, monkeypatch):
    """A page of search hits (composition.search_views.hit_rows, per number
    of hits): the bytes Django's own queries give, each reader finding what
    they may read and nothing more."""
    settings.VALUE_CACHE_SECONDS = 0
    words = ("财务收支", "党内通报", "党支部内部通报", "公开")
    urls = [f"/search/?q={quote(word)}" for word in words]
    clients = readers(town)
    with time_machine.travel(AT, tick=False):
        kept = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
        kept_again = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
        plans = [p for k, p in compiled._plans.items() if k[3] == ("search-hits",)]
        assert plans and None not in plans
        djangos_own(monkeypatch)
        own = {(w, u): page(c, u) for w, c in clients.items() for u in urls}
    assert kept == kept_again == own
    for who, may in MAY_READ.items():
        found = {
            name
            for name in ("public", "branch", "inner")
            for url in urls
            if town[name].get_absolute_url().encode() in own[(who, url)]
        }
        assert found == may, who
