"""The 回音壁 form's markup kept with slots (SubmissionForm.kept_html): the
same bytes as crispy-forms writes for the same form, its selects following
the changes that alter them, never a 党内 title for a visitor, and a rejected
form still showing what the resident typed."""

import re

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form
from django.test import Client

from catalog.models import Scope
from core import caching
from core.slots import slot
from disclosure.models import Disclosure
from feedback import forms as feedback_forms
from feedback.forms import SubmissionForm
from feedback.models import Submission
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

INNER = "党内通报会议纪要乙"
HOSTILE = '<script>alert(1)</script> " & ' + slot("form-token")


@pytest.fixture
def town():
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    DisclosureFactory(unit=wenli, title="村务公开财务收支")
    DisclosureFactory(unit=maoshan, title=HOSTILE)
    DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title=INNER
    )
    TagFactory(name="道路<硬化>")
    return {"town": town, "wenli": wenli, "maoshan": maoshan}


def _both(form) -> tuple[str, str]:
    """The kept markup (made, then read back: crispy-forms not called) and
    crispy's, for one form."""
    from crispy_forms.templatetags import crispy_forms_filters

    form.kept_html()  # the shell and the options made and kept
    real, calls = crispy_forms_filters.as_crispy_form, []

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    crispy_forms_filters.as_crispy_form = counted
    try:
        kept = str(form.kept_html())
    finally:
        crispy_forms_filters.as_crispy_form = real
    assert calls == []  # from the kept shell, not rendered again
    return kept, str(as_crispy_form(form))


def _preset(town) -> list[dict]:
    shown = Disclosure.objects.get(title="村务公开财务收支")
    return [
        {},
        {"unit": "maoshan"},
        {"unit": "no-such-unit"},
        {"disclosure": shown.pk, "unit": "wenli", "item": shown.item_id},
    ]


@pytest.mark.parametrize("case", range(4))
def test_the_kept_markup_is_crispys_byte_for_byte(town, case):
    form = SubmissionForm(initial=_preset(town)[case])
    kept, crispy = _both(form)
    assert kept == crispy
    # No slot left: the one mark there is the hostile title's, as written.
    assert kept.count("@@fm-") == 1 and slot("options-unit") not in kept
    assert form.initial["token"] in kept
    assert form.fields["challenge"].label in kept


def test_an_older_disclosure_preset_is_offered_and_selected(town, monkeypatch):
    monkeypatch.setattr(feedback_forms, "DISCLOSURE_CHOICES", 1)
    older = DisclosureFactory(unit=town["wenli"], title="很早以前的公开")
    Disclosure.objects.filter(pk=older.pk).update(published_at="2001-01-01T00:00Z")
    caching._bump()
    form = SubmissionForm(initial={"disclosure": older.pk, "unit": "wenli"})
    kept, crispy = _both(form)
    assert kept == crispy
    chosen = f'<option value="{older.pk}" selected>文理村 · 很早以前的公开</option>'
    assert chosen in kept


def test_a_party_members_form_is_crispys_and_never_reaches_a_visitor(town):
    member = PartyMemberFactory(branch_of=town["wenli"])
    form = SubmissionForm(user=member)
    kept, crispy = _both(form)
    assert kept == crispy and INNER in kept
    for _ in range(2):
        visitor = SubmissionForm().kept_html()
        assert INNER not in visitor and "村务公开财务收支" in visitor
        assert INNER not in Client().get("/feedback/new/").text
    member_client = Client()
    member_client.force_login(member)
    assert INNER in member_client.get("/feedback/new/").text


def test_a_hostile_title_comes_out_escaped_and_fills_no_slot(town):
    page = Client().get("/feedback/new/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot; &amp; " in page
    # The slot's mark in a title is shown as written, never the token.
    assert page.count(slot("form-token")) == 1
    assert "道路&lt;硬化&gt;" in page


def test_the_selects_follow_a_new_unit_topic_and_publication(
    town, django_capture_on_commit_callbacks
):
    visitor = Client()
    page = visitor.get("/feedback/new/").text
    assert "新建村" not in page and "新话题" not in page
    assert "最新的村务公开" not in page
    with django_capture_on_commit_callbacks(execute=True):
        UnitFactory(name="新建村", parent=town["town"])
    assert "新建村" in visitor.get("/feedback/new/").text
    with django_capture_on_commit_callbacks(execute=True):
        TagFactory(name="新话题")
    assert "新话题" in visitor.get("/feedback/new/").text
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=town["maoshan"], title="最新的村务公开")
    assert "最新的村务公开" in visitor.get("/feedback/new/").text


def test_a_renamed_unit_shows_renamed(town, django_capture_on_commit_callbacks):
    visitor = Client()
    assert ">茅山村</option>" in visitor.get("/feedback/new/").text
    with django_capture_on_commit_callbacks(execute=True):
        town["maoshan"].name = "茅山社区"
        town["maoshan"].save()
    page = visitor.get("/feedback/new/").text
    assert ">茅山社区</option>" in page and ">茅山村</option>" not in page


def _token_and_answer(html: str) -> tuple[str, int]:
    from feedback import antiabuse

    token = re.search(r'name="token" value="([^"]+)"', html)[1]
    nonce = antiabuse.read_form_token(token)["n"]
    return token, antiabuse.challenge_answer(nonce)


def test_rejected_then_corrected_the_form_keeps_what_was_typed(town, monkeypatch):
    from feedback import antiabuse

    monkeypatch.setattr(antiabuse, "form_age", lambda token: 3600.0)
    client = Client()
    first = client.get("/feedback/new/?unit=wenli").text
    assert '<option value="wenli" selected>文理村</option>' in first
    token, answer = _token_and_answer(first)
    typed = {
        "kind": "question",
        "unit": "wenli",
        "title": '路灯不亮 "三个月" & 没人修',
        "text": "村口路灯坏了三个月。",
        "token": token,
        "challenge": str(answer + 1),  # wrong
    }
    rejected = client.post("/feedback/new/", typed)
    assert rejected.status_code == 200
    html = rejected.text
    assert 'value="路灯不亮 &quot;三个月&quot; &amp; 没人修"' in html
    assert "村口路灯坏了三个月。" in html
    assert '<option value="wenli" selected>文理村</option>' in html
    assert '<option value="question" selected>' in html
    token, answer = _token_and_answer(html)
    done = client.post(
        "/feedback/new/", {**typed, "token": token, "challenge": str(answer)}
    )
    assert done.status_code == 302
    assert Submission.objects.filter(title='路灯不亮 "三个月" & 没人修').count() == 1


def test_with_the_value_cache_off_the_form_is_crispys(town, settings):
    settings.VALUE_CACHE_SECONDS = 0
    form = SubmissionForm(initial={"unit": "maoshan"})
    assert str(form.kept_html()) == str(as_crispy_form(form))


# The list's filter ------------------------------------------------------------


def test_a_list_by_unit_reads_no_unit_row_once_kept(
    town, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = "/disclosures/?unit=wenli"
    assert "村务公开财务收支" in Client().get(url).text
    with CaptureQueriesContext(connection) as queries:
        page = Client().get(url).text
    assert "村务公开财务收支" in page and HOSTILE not in page
    assert not any('FROM "disclosure_unit"' in q["sql"] for q in queries)
    # A unit renamed: the kept row and the select follow (the global version).
    with django_capture_on_commit_callbacks(execute=True):
        town["wenli"].name = "文理社区"
        town["wenli"].save()
    page = Client().get(url).text
    assert '<option value="wenli" selected>文理社区</option>' in page
    assert "村务公开财务收支" in page


def test_a_new_unit_and_its_publication_are_listed(
    town, django_capture_on_commit_callbacks
):
    assert Client().get("/disclosures/?unit=xinjian").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        new = UnitFactory(name="新建村", slug="xinjian", parent=town["town"])
    page = Client().get("/disclosures/?unit=xinjian")
    assert page.status_code == 200
    assert '<option value="xinjian" selected>新建村</option>' in page.text
    with django_capture_on_commit_callbacks(execute=True):
        DisclosureFactory(unit=new, title="新建村第一次公开")
    page = Client().get("/disclosures/?unit=xinjian").text
    assert "新建村第一次公开" in page and "共 1 条" in page


@pytest.mark.parametrize(
    "slug", ["no-such-unit", "x" * 5000, "wenli\x00", "‮wenli", ["wenli", "maoshan"]]
)
def test_a_unit_not_offered_is_a_400_and_keeps_nothing(town, slug):
    from django.core.cache import cache

    Client().get("/disclosures/?unit=wenli")  # the options kept
    before = set(caching._local.entries)
    response = Client().get("/disclosures/", {"unit": slug})
    if isinstance(slug, list):  # the last one counts, as Django's QueryDict
        assert response.status_code == 200
        return
    assert response.status_code == 400
    # A NUL is refused before the view (core.security): the standard page.
    assert "筛选条件有误" in response.text or "\x00" in slug
    made = set(caching._local.entries) - before
    assert not any(cache.get(key) and "list-unit" in key for key in made)
    assert len(made) <= 2  # the page's own kept values, no unit row


def test_each_filter_set_has_its_own_filters(town):
    from disclosure.filters import DisclosureFilter

    visible = Disclosure.objects.visible_to(None)
    first = DisclosureFilter({"nil": "on"}, queryset=visible)
    second = DisclosureFilter({}, queryset=visible)
    first.filters["item"].extra["options"] = lambda: [("X", "只给第一个")]
    assert "只给第一个" not in str(second.form["item"])
    assert "只给第一个" not in str(DisclosureFilter({}, queryset=visible).form["item"])
    assert first.filters["nil"].parent is first
    assert second.filters["nil"].parent is second
    assert first.is_valid() and second.is_valid()
    assert list(first.qs) and list(second.qs) is not None
    for each in DisclosureFilter.base_filters.values():
        assert not hasattr(each, "_field") and not hasattr(each, "parent")


def test_the_lists_kept_filter_follows_a_new_item(
    town, party_client, django_capture_on_commit_callbacks
):
    assert "Z98 新设公开事项" not in Client().get("/disclosures/").text
    party_client.get("/disclosures/")
    with django_capture_on_commit_callbacks(execute=True):
        ItemFactory(code="Z98", name="新设公开事项")
        ItemFactory(code="Z99", name="党内专项事项", scope=Scope.INNER_PARTY)
    page = Client().get("/disclosures/").text
    assert "Z98 新设公开事项" in page and "党内专项事项" not in page
    assert "党内专项事项" in party_client.get("/disclosures/").text
    assert "党内专项事项" not in Client().get("/disclosures/").text


def test_the_walls_kept_filter_follows_a_unit_and_a_topic(
    town, settings, django_capture_on_commit_callbacks
):
    """The 回音壁's filter form is kept as the list's is (its options named
    by the lists they are kept under): a renamed unit, a new topic and a
    renamed one show at once."""
    from tests.factories import TagFactory

    visitor = Client()
    first = visitor.get("/feedback/").text
    assert ">茅山村</option>" in first
    with django_capture_on_commit_callbacks(execute=True):
        town["maoshan"].name = "茅山社区"
        town["maoshan"].save()
        tag = TagFactory(name="村道维护")
    page = visitor.get("/feedback/").text
    assert ">茅山社区</option>" in page and ">茅山村</option>" not in page
    assert ">村道维护</option>" in page
    with django_capture_on_commit_callbacks(execute=True):
        tag.name = "道路养护"
        tag.save()
    page = visitor.get("/feedback/").text
    assert ">道路养护</option>" in page and ">村道维护</option>" not in page
    settings.VALUE_CACHE_SECONDS = 0  # nothing kept: the same page
    assert visitor.get("/feedback/").text == page


def test_the_lists_kept_filter_outlives_a_quiet_hour_and_midnight(town):
    """Its key names everything it shows (the choices by the versions they
    are kept under, the release in every key): kept a day, not a minute."""
    from datetime import timedelta

    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    url = "/disclosures/?unit=wenli"
    zone = timezone.get_current_timezone()
    morning = timezone.now().astimezone(zone).replace(hour=10, minute=0, second=0)
    with time_machine.travel(morning, tick=False):
        first = Client().get(url).text
    options = (
        'FROM "catalog_item"',
        'FROM "catalog_category"',
        'FROM "disclosure_unit"',
    )
    for later in (timedelta(hours=2), timedelta(hours=14, minutes=30)):
        with time_machine.travel(morning + later, tick=False):
            caching.reset_local()  # another worker: the shared cache only
            with CaptureQueriesContext(connection) as queries:
                page = Client().get(url).text
        assert not [q for q in queries if any(o in q["sql"] for o in options)]
        assert '<option value="wenli" selected>文理村</option>' in page
        assert page.count("<option") == first.count("<option")


# Filter forms kept as shells (core/templatetags/form_cache.py) -----------------

FILTER_PAGES = [
    "/disclosures/",
    "/disclosures/?unit=wenli",
    "/disclosures/?unit=maoshan&kind=party",
    "/disclosures/?unit=&period=",
    "/feedback/?unit=maoshan",
    "/feedback/?tag=",
    "/compliance/?town=fengming",
    "/search/",
    "/search/?q=村务",
    "/search/?q=村务&unit=wenli",
    "/search/?q=",
    '/search/?q=<b>"村务"</b>%26%27',
    f"/search/?q={slot('value-q')}",
    f"/search/?q={slot('options-unit')}&unit=maoshan",
    "/search/?q=<script>alert(1)</script>&unit=wenli",
]


@pytest.mark.parametrize("member", [False, True], ids=["visitor", "member"])
def test_the_kept_filter_forms_are_crispys_byte_for_byte(
    town, settings, party_member, member
):
    """Each page as crispy-forms writes it: first made, then from the shell
    (another unit, another word), then with nothing kept. A typed slot is
    shown as typed, never filled."""
    town["town"].slug = "fengming"
    town["town"].save()
    client = Client()
    if member:
        client.force_login(party_member)
    kept = {}

    def page(url: str) -> str:
        response = client.get(url)
        assert response.status_code == 200, url
        return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", response.text)

    for _round in range(2):
        for url in FILTER_PAGES:
            assert page(url) == kept.setdefault(url, page(url)), url
    settings.VALUE_CACHE_SECONDS = 0
    for url in FILTER_PAGES:
        assert page(url) == kept[url], url
    typed = kept[f"/search/?q={slot('value-q')}"]
    assert f'name="q" value="{slot("value-q")}"' in typed
    typed = kept[f"/search/?q={slot('options-unit')}&unit=maoshan"]
    assert f'name="q" value="{slot("options-unit")}"' in typed
    assert '<option value="maoshan" selected>茅山村</option>' in typed
    assert (
        'value="&lt;b&gt;&quot;村务&quot;&lt;/b&gt;&amp;&#x27;"'
        in kept['/search/?q=<b>"村务"</b>%26%27']
    )
    script = kept["/search/?q=<script>alert(1)</script>&unit=wenli"]
    assert "<script>alert(1)" not in script
    assert 'name="q" value="&lt;script&gt;alert(1)&lt;/script&gt;"' in script


def test_one_shell_serves_every_unit_and_every_word(town, monkeypatch):
    """A list filtered by another unit, or a search for another word, fills
    the kept shell: crispy-forms writes each form once (a unit's first list
    cost 14 ms at county scale, 10 with the shell)."""
    from crispy_forms.templatetags import crispy_forms_filters

    real, made = crispy_forms_filters.as_crispy_form, []

    def counted(form, *args, **kwargs):
        made.append(type(form).__name__)
        return real(form, *args, **kwargs)

    monkeypatch.setattr(crispy_forms_filters, "as_crispy_form", counted)
    visitor = Client()
    for slug in ("wenli", "maoshan", "wenli"):
        page = visitor.get(f"/disclosures/?unit={slug}").text
        assert f'<option value="{slug}" selected>' in page
    for word in ("村务", "财务", "公开"):
        page = visitor.get("/search/", {"q": word}).text
        assert f'name="q" value="{word}"' in page
    assert sorted(made) == ["DisclosureFilterForm", "SearchForm"]
