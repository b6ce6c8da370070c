"""Figures and choices kept in the value cache (core.caching.cached): never
handed to another audience, made stale by the changes that alter them, and
the selects written from them the same markup as Django's."""

import re

import pytest
from django import forms
from django.test import Client

from catalog.models import Scope
from core import figures as registry
from core.charts import Chart
from disclosure import compliance_views, services
from disclosure.figures import NO_CASE_COUNTS
from disclosure.models import Disclosure
from feedback.forms import SubmissionForm
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
    acting_for,
    staff_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

INNER = "党内通报会议纪要乙"
OWN_BRANCH = "文理村党支部党费收缴情况"


@pytest.fixture
def town():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    DisclosureFactory(unit=wenli, title="村务公开财务收支")
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title=INNER
    )
    dues = ItemFactory(scope=Scope.INNER_PARTY, branch_scope_allowed=True)
    DisclosureFactory(unit=wenli, item=dues, title=OWN_BRANCH, scope=Scope.BRANCH)
    return {"town": town, "wenli": wenli, "maoshan": maoshan}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def counting_collect(monkeypatch) -> list:
    """The statistics' counts of disclosures collected (the figures midnight
    does not change; the 回音壁's are kept apart)."""
    calls = []
    collect = registry.collect_parts

    def counted(user, **selection):
        if not selection.get("by_day") and selection.get("independent_of") == set(
            NO_CASE_COUNTS
        ):
            calls.append(selection)
        return collect(user, **selection)

    monkeypatch.setattr(registry, "collect_parts", counted)
    return calls


def test_stats_figures_are_kept_per_audience(town, party_client, monkeypatch):
    calls = counting_collect(monkeypatch)
    visitor = Client()
    # The party member first: their count must not be what the visitor gets.
    assert party_client.get("/stats/").context["disclosure_total"] == 2
    assert visitor.get("/stats/").context["disclosure_total"] == 1
    assert visitor.get("/stats/").context["disclosure_total"] == 1
    assert party_client.get("/stats/").context["disclosure_total"] == 2
    wenli_member = logged_in(PartyMemberFactory(username="w", branch_of=town["wenli"]))
    maoshan_member = logged_in(
        PartyMemberFactory(username="m", branch_of=town["maoshan"])
    )
    # Each branch's members see their own 党组织内部 rows, not another's.
    assert maoshan_member.get("/stats/").context["disclosure_total"] == 2
    assert wenli_member.get("/stats/").context["disclosure_total"] == 3
    assert maoshan_member.get("/stats/").context["disclosure_total"] == 2
    # Computed once per audience and selection, then read from the cache;
    # 茅山村's branch has no 党组织内部 row of its own: it reads, and shares,
    # a member of no branch's figures (Reader._has_own_rows).
    assert len(calls) == 3


def test_the_kept_statistics_hold_no_lazy_text(town):
    """Translated as collected (kept per language): a lazy text in a kept
    value is unpickled as a new class on every page (core.figures.plain)."""
    import pickle

    from django.utils.functional import Promise

    from tests.factories import SubmissionFactory

    SubmissionFactory(unit=town["wenli"])
    parts = registry.collect_parts(None, year=2011, unit=None, town=town["town"])
    assert parts
    assert b"_lazy_proxy_unpickle" not in pickle.dumps(parts)

    def lazy_in(value) -> bool:
        if isinstance(value, Promise):
            return True
        if isinstance(value, dict):
            return any(lazy_in(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(lazy_in(v) for v in value)
        if isinstance(value, Chart):
            return lazy_in(vars(value))
        return False

    for _, found in parts:
        assert not lazy_in([found.charts, found.values, found.totals])
    page = Client().get("/stats/?year=2011")
    assert page.status_code == 200
    # A chart's series named by the catalog kinds' (lazy) labels, translated.
    assert "每月发布的公开内容" in page.text and "村务公开" in page.text


def test_stats_figures_follow_a_publication(town, django_capture_on_commit_callbacks):
    visitor = Client()
    assert visitor.get("/stats/").context["disclosure_total"] == 1
    reviewer = staff_user(username="reviewer", group="审核人")
    draft = DisclosureFactory(
        unit=town["wenli"],
        status=Disclosure.Status.APPROVED,
        published_at=None,
    )
    acting_for(reviewer, draft, "approve")
    assert visitor.get("/stats/").context["disclosure_total"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(draft, by=reviewer)
    assert visitor.get("/stats/").context["disclosure_total"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(draft, by=reviewer, reason="有误")
    assert visitor.get("/stats/").context["disclosure_total"] == 1


def test_the_compliance_matrix_is_kept_and_follows_a_publication(
    town, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []
    figures = compliance_views.matrix_figures

    def counted(q):
        calls.append(q)
        return figures(q)

    monkeypatch.setattr(compliance_views, "matrix_figures", counted)
    url = "/compliance/?kind=village"
    overall = Client().get(url).context["overall"]
    Client().get(url)
    assert len(calls) == 1
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=town["maoshan"], title="茅山村新的公开")
    assert Client().get(url).status_code == 200
    assert len(calls) == 2  # the new filing made the kept matrix stale
    assert overall is None or isinstance(overall, compliance_views.compliance.Shown)


def test_a_members_form_choices_never_reach_a_visitor(town):
    wenli_member = logged_in(PartyMemberFactory(username="w", branch_of=town["wenli"]))
    maoshan_member = logged_in(
        PartyMemberFactory(username="m", branch_of=town["maoshan"])
    )
    own = wenli_member.get("/feedback/new/").text
    assert INNER in own and OWN_BRANCH in own
    other = maoshan_member.get("/feedback/new/").text
    assert INNER in other and OWN_BRANCH not in other
    for _ in range(2):
        page = Client().get("/feedback/new/").text
        assert "村务公开财务收支" in page
        assert INNER not in page and OWN_BRANCH not in page


def test_the_forms_choices_follow_new_units_and_tags(
    town, django_capture_on_commit_callbacks
):
    visitor = Client()
    assert "新建村" not in visitor.get("/feedback/new/").text
    assert "新建村" not in visitor.get("/stats/").text
    with django_capture_on_commit_callbacks(execute=True):
        UnitFactory(name="新建村", parent=town["town"])
        TagFactory(name="新话题")
        DisclosureFactory(unit=town["maoshan"], title="最新的村务公开")
    page = visitor.get("/feedback/new/").text
    assert "新建村" in page and "新话题" in page and "最新的村务公开" in page
    assert "新建村" in visitor.get("/stats/").text


def _selects(html: str) -> dict[str, str]:
    found = re.findall(r'(<select name="(\w+)".*?</select>)', html, flags=re.S)
    return {name: re.sub(r">\s+<", "><", markup) for markup, name in found}


@pytest.mark.parametrize("bound", [False, True])
def test_the_forms_selects_are_djangos_markup(town, bound):
    preset = Disclosure.objects.get(title="村务公开财务收支")
    data = {"unit": "maoshan", "kind": "question", "disclosure": str(preset.pk)}
    form = SubmissionForm(data if bound else None, initial={"unit": "wenli"})
    if bound:
        form.is_valid()
    quick = _selects("".join(str(form[name]) for name in form.fields))
    # The same fields with Django's own widget and choices.
    plain = SubmissionForm(data if bound else None, initial={"unit": "wenli"})
    if bound:
        plain.is_valid()
    for name, field in plain.fields.items():
        if isinstance(field.widget, forms.Select):
            choices = list(field.widget.choices)
            field.widget = forms.Select(attrs=field.widget.attrs)
            field.widget.is_required = field.required
            field.widget.choices = choices
            if isinstance(field, forms.ModelChoiceField) and name != "disclosure":
                field.widget.choices = field.choices
    django = _selects("".join(str(plain[name]) for name in plain.fields))
    assert set(quick) == {"kind", "unit", "item", "disclosure", "tag"}
    assert quick == django


def test_chart_totals_are_worked_out_once():
    chart = Chart(
        key="k",
        title="t",
        description="d",
        labels=["甲", "乙"],
        series=[("a", [1, None]), ("b", [2, None])],
    )
    assert chart.totals == [3, None]
    assert chart.totals is chart.totals
    assert [row["total"] for row in chart.rows] == [3, None]


def test_kept_filter_forms_never_cross_audiences(town, party_client):
    ItemFactory(code="Z99", name="党内专项事项", scope=Scope.INNER_PARTY)
    assert "党内专项事项" in party_client.get("/disclosures/").text
    for _ in range(2):
        assert "党内专项事项" not in Client().get("/disclosures/").text
    assert "党内专项事项" in party_client.get("/disclosures/").text


def _steady(html: str) -> str:
    """Without the 回音壁 form's one-time tokens and its question."""
    html = re.sub(r'name="(token|csrfmiddlewaretoken)" value="[^"]*"', "", html)
    return re.sub(r"验证：[^<]*？", "", html)


@pytest.mark.parametrize(
    "url",
    [
        "/compliance/?kind=village",
        "/compliance/?kind=party&town=fengming",
        "/stats/",
        "/stats/?unit=wenli",
        "/feedback/",
        "/feedback/?kind=question&unit=wenli",
        "/feedback/new/?unit=maoshan",
        "/disclosures/?unit=wenli",
    ],
)
def test_pages_are_the_same_from_kept_values(town, settings, url):
    settings.VALUE_CACHE_SECONDS = 0
    fresh = Client().get(url)
    assert fresh.status_code == 200
    settings.VALUE_CACHE_SECONDS = 60
    Client().get(url)
    kept = Client().get(url)
    assert _steady(kept.text) == _steady(fresh.text)
