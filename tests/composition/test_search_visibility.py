"""The visibility facts stored on SearchEntry follow their source, and a search
answers exactly what `visible_to` / `published()` would."""

import random
from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from catalog.models import BodyKind, Catalog, Scope
from composition import search
from composition.models import SearchEntry
from disclosure import roles, services
from disclosure.models import Disclosure
from feedback import services as feedback_services
from feedback.models import Submission
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    review_and_approve,
    staff_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wenli():
    return UnitFactory(name="文理村", slug="wenli", parent=TownFactory())


@pytest.fixture
def workflow(wenli):
    editor = staff_user(username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli])
    reviewer = staff_user(username="reviewer", group=roles.REVIEWER)
    draft = DisclosureFactory(
        unit=wenli,
        title="文理村防火物资发放公示",
        status=Disclosure.Status.DRAFT,
        published_at=None,
    )
    services.submit(draft, by=editor)
    return draft, reviewer


def entry_of(source) -> SearchEntry:
    if isinstance(source, Disclosure):
        return SearchEntry.objects.get(disclosure=source)
    return SearchEntry.objects.get(submission=source)


def titles_found(client, query: str = "防火") -> list[str]:
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    return [
        (h["disclosure"] or h["submission"]).title for h in response.context["hits"]
    ]


# The facts follow each change ---------------------------------------------------


def test_publication_makes_the_entry_live(client, workflow):
    draft, reviewer = workflow
    assert not entry_of(draft).live
    review_and_approve(draft, reviewer=reviewer)
    assert not entry_of(draft).live
    assert titles_found(client) == []

    services.publish(draft, by=reviewer)
    entry = entry_of(draft)
    assert entry.live and entry.visible_from == draft.published_at
    assert titles_found(client) == ["文理村防火物资发放公示"]


def test_withdrawal_takes_the_entry_out_of_search(client, workflow):
    draft, reviewer = workflow
    review_and_approve(draft, reviewer=reviewer)
    services.publish(draft, by=reviewer)
    services.withdraw(draft, by=reviewer, reason="数字有误")
    assert not entry_of(draft).live
    assert titles_found(client) == []


def test_scheduled_publication_is_found_from_its_time_on_without_a_save(
    client, workflow
):
    draft, reviewer = workflow
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        review_and_approve(
            draft, reviewer=reviewer, publish_at=start + timedelta(hours=2)
        )
        entry = entry_of(draft)
        assert entry.live and entry.visible_from == start + timedelta(hours=2)
        assert titles_found(client) == []
    with time_machine.travel(start + timedelta(hours=1, minutes=59), tick=False):
        assert titles_found(client) == []
    with time_machine.travel(start + timedelta(hours=2, seconds=1), tick=False):
        assert titles_found(client) == ["文理村防火物资发放公示"]


def test_inner_party_entry_is_found_by_a_party_member_only(client, wenli):
    inner = DisclosureFactory(
        unit=wenli, item=ItemFactory(scope=Scope.INNER_PARTY), title="党内防火通报"
    )
    assert entry_of(inner).inner_party
    assert titles_found(client) == []
    client.force_login(PartyMemberFactory())
    assert titles_found(client) == ["党内防火通报"]
    client.force_login(UserFactory(username="resident"))  # logged in, not 党员
    assert titles_found(client) == []


def test_scope_change_follows_on_save(client, wenli):
    notice = DisclosureFactory(unit=wenli, title="防火工作安排")
    notice.scope = Scope.INNER_PARTY
    notice.save()
    assert entry_of(notice).inner_party
    assert titles_found(client) == []
    notice.scope = Scope.PUBLIC
    notice.save()
    assert not entry_of(notice).inner_party
    assert titles_found(client) == ["防火工作安排"]


def test_a_new_submission_is_found_once_staff_accept_it(client, wenli):
    submission = SubmissionFactory(unit=wenli, title="防火通道被占", text="请处理")
    assert not entry_of(submission).live
    assert titles_found(client) == []
    staff = UserFactory(username="staff", is_staff=True)
    feedback_services.accept(submission, by=staff, department=DepartmentFactory())
    assert entry_of(submission).live
    assert titles_found(client) == ["防火通道被占"]


def test_hidden_submission_leaves_search(client, wenli):
    submission = SubmissionFactory(
        unit=wenli, title="防火通道被占", text="请处理", accepted=True
    )
    assert entry_of(submission).live
    assert titles_found(client) == ["防火通道被占"]
    staff = UserFactory(username="staff", is_staff=True)
    feedback_services.hide(submission, by=staff, reason="涉及个人隐私")
    assert not entry_of(submission).live
    assert titles_found(client) == []


def test_consent_withdrawn_and_given_again(client, wenli):
    submission = SubmissionFactory(
        unit=wenli, title="防火通道被占", text="请处理", accepted=True
    )
    submission.consent_to_publish = False
    submission.save()
    assert not entry_of(submission).live
    assert titles_found(client) == []
    submission.consent_to_publish = True
    submission.save()
    assert titles_found(client) == ["防火通道被占"]


def test_hiding_reason_and_name_are_never_indexed(wenli):
    submission = SubmissionFactory(unit=wenli, title="防火咨询", name="张秘密")
    feedback_services.hide(
        submission, by=UserFactory(username="staff", is_staff=True), reason="防火秘密"
    )
    assert not SearchEntry.objects.filter(body__contains="秘密").exists()


# Search equals the old definition --------------------------------------------


def old_visible(user):
    """The definition before the index kept the facts: visibility decided
    by the apps' querysets."""
    return SearchEntry.objects.filter(
        Q(disclosure__in=Disclosure.objects.visible_to(user))
        | Q(submission__in=Submission.objects.published())
    )


def old_search(query: str, *, user, unit=None, kind: str = "") -> set[int]:
    entries = old_visible(user)
    if unit is not None:
        entries = entries.filter(Q(disclosure__unit=unit) | Q(submission__unit=unit))
    if kind == "feedback":
        entries = entries.filter(submission__isnull=False)
    elif kind:
        entries = entries.filter(disclosure__item__category__catalog__kind=kind)
    for term in search.parse_terms(query):
        entries = entries.filter(Q(title__icontains=term) | Q(body__icontains=term))
    return set(entries.values_list("pk", flat=True))


def mixed_data(rng: random.Random, now) -> dict:
    """Disclosures and submissions in every state, in two units and catalogs."""
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    maoshan = UnitFactory(name="茅山村", parent=wenli.parent)
    village = ItemFactory(
        category=CategoryFactory(catalog=CatalogFactory(kind=Catalog.Kind.VILLAGE))
    )
    items = [
        ItemFactory(party_first_allowed=True),  # 党务, public
        ItemFactory(scope=Scope.INNER_PARTY, branch_scope_allowed=True),
        ItemFactory(scope=Scope.BRANCH),
        village,
    ]
    when = {
        "past": now - timedelta(days=3),
        "long ago": now - timedelta(days=800),
        "soon": now + timedelta(hours=2),
        "later": now + timedelta(days=5),
    }
    for n in range(40):
        status = rng.choice(Disclosure.Status.values)
        published_at = None
        if status in ("published", "withdrawn") or rng.random() < 0.2:
            published_at = when[rng.choice(list(when))]
        # 先党内后党外: public from a moment before, between or after the others.
        public_from = None
        if rng.random() < 0.3:
            public_from = when[rng.choice(list(when))] + timedelta(hours=1)
        DisclosureFactory(
            unit=rng.choice([wenli, maoshan]),
            item=rng.choice(items),
            title=rng.choice(["防火资金公示", "抗旱通知", "村务防火安排"]) + str(n),
            body=rng.choice(["森林防火", "抗旱救灾", ""]) or "无",
            status=status,
            published_at=published_at,
            scope=rng.choice(Scope.values),
            public_from=public_from,
            withdrawal_reason="有误" if status == "withdrawn" else "",
        )
    for n in range(25):
        status = rng.choice(Submission.Status.values)
        answered = status in ("answered", "closed")
        SubmissionFactory(
            unit=rng.choice([wenli, maoshan]),
            title=rng.choice(["防火咨询", "抗旱建议"]) + str(n),
            text=rng.choice(["森林防火怎么做", "抗旱水泵"]),
            status=status,
            consent_to_publish=rng.random() < 0.6,
            hidden_reason="隐私" if status == "not_published" else "",
            concerns_inner_party=rng.random() < 0.3,
            inner_party_cleared_at=now if rng.random() < 0.5 else None,
            answered_at=now - timedelta(days=1) if answered else None,
            answer_text="已处理防火事宜" if answered else "",
        )
    return {"units": [wenli, maoshan]}


def readers(units) -> dict:
    """Every kind of reader of the scopes: the public, members of each branch,
    a member of none, the town party committee's staff."""
    wenli, maoshan = units
    committee = staff_user(username="committee", group=roles.REVIEWER)
    wenli.parent.organisations.get(kind=BodyKind.PARTY_COMMITTEE).members.add(committee)
    return {
        "visitor": AnonymousUser(),
        "resident": UserFactory(username="resident"),
        "party member": PartyMemberFactory(),
        "wenli member": PartyMemberFactory(username="wenli_member", branch_of=wenli),
        "maoshan member": PartyMemberFactory(
            username="maoshan_member", branch_of=maoshan
        ),
        "party committee": committee,
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "town admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_search_answers_exactly_what_the_querysets_allow(seed):
    rng = random.Random(seed)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        data = mixed_data(rng, now)
    users = readers(data["units"])
    filters = [{}, {"kind": "feedback"}, {"kind": "village"}, {"kind": "party"}]
    filters += [{"unit": unit} for unit in data["units"]]
    # Now, then after the first and the second scheduled publications (and
    # public dates) are due.
    for moment in (now, now + timedelta(hours=3), now + timedelta(days=6)):
        with time_machine.travel(moment, tick=False):
            for name, user in users.items():
                user.__dict__.pop("_reader", None)  # a new request
                visible = search.visible_entries(user).values_list("pk", flat=True)
                expected = old_visible(user).values_list("pk", flat=True)
                assert set(visible) == set(expected), name
                for query in ["防火", "森林防火", "抗旱 通知", "防火资金公示"]:
                    for extra in filters:
                        expected = old_search(query, user=user, **extra)
                        got = search.search(query, user=user, **extra)
                        assert set(got.ids) == expected, (name, query, extra)
                        assert not got.capped


def test_migration_backfill_gives_the_same_visibility():
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        data = mixed_data(random.Random(4), now)
    users = list(readers(data["units"]).values())
    # As the migrations' AddFields leave existing rows: every row live, no
    # scope, no time; then their set-based backfills.
    SearchEntry.objects.update(
        live=True, inner_party=False, visible_from=None, branch=None, public_from=None
    )
    migration = import_module("composition.migrations.0003_search_entry_visibility")
    editor = SimpleNamespace(
        connection=connection, execute=lambda sql: connection.cursor().execute(sql)
    )
    later = import_module(
        "composition.migrations.0005_submission_entries_follow_the_wall"
    )
    scopes = import_module(
        "composition.migrations.0006_search_entry_branch_public_from"
    )
    with time_machine.travel(now, tick=False):
        migration.backfill(apps, editor)
        later.hide_unlisted_cases(apps, editor)
        scopes.backfill(apps, editor)
    for moment in (now, now + timedelta(hours=3), now + timedelta(days=6)):
        with time_machine.travel(moment, tick=False):
            for user in users:
                user.__dict__.pop("_reader", None)
                assert set(
                    search.visible_entries(user).values_list("pk", flat=True)
                ) == set(old_visible(user).values_list("pk", flat=True))


def test_seed_scale_writes_the_same_facts_as_the_hooks():
    call_command("seed_scale", no_progress=True, towns=1, units_per_town=2, years=1)
    entries = SearchEntry.objects.select_related("disclosure", "submission")
    assert entries.filter(live=False).exists()  # drafts and the like, hidden
    for entry in entries:
        if entry.disclosure:
            expected = entry.disclosure.search_document()
        else:
            expected = entry.submission.search_document()
        assert {name: getattr(entry, name) for name in expected} == expected


# Capping the work for a frequent word -------------------------------------------


def test_a_frequent_word_ranks_the_newest_matches_and_says_there_are_more(
    client, wenli, monkeypatch
):
    monkeypatch.setattr(search, "MAX_RESULTS", 3)
    now = timezone.now()
    for days, title in [
        (1, "村务工作安排"),  # the word in the body only
        (2, "防火资金公示"),
        (3, "另一项安排"),
        (4, "防火资金使用情况"),
        (400, "防火资金旧账"),  # older than the newest three matches
    ]:
        DisclosureFactory(
            unit=wenli,
            title=title,
            body="其中防火资金十万元。",
            published_at=now - timedelta(days=days),
        )
    results = search.search("防火资金", user=AnonymousUser())
    assert results.capped
    response = client.get("/search/", {"q": "防火资金"})
    assert [h["disclosure"].title for h in response.context["hits"]] == [
        "防火资金公示",
        "村务工作安排",
        "另一项安排",
    ]
    assert "超过 3 条" in response.text
    assert "共找到" not in response.text


def test_old_matches_are_found_when_the_recent_window_has_few(client, wenli):
    now = timezone.now()
    DisclosureFactory(unit=wenli, title="防火资金公示", published_at=now)
    DisclosureFactory(
        unit=wenli, title="防火资金旧账", published_at=now - timedelta(days=900)
    )
    response = client.get("/search/", {"q": "防火资金"})
    assert [h["disclosure"].title for h in response.context["hits"]] == [
        "防火资金公示",
        "防火资金旧账",
    ]
    assert "共找到 2 条结果" in response.text


@pytest.mark.parametrize("window_days", [1, 30, 10_000])
def test_the_window_never_changes_which_matches_are_the_newest(
    wenli, monkeypatch, window_days
):
    monkeypatch.setattr(search, "MAX_RESULTS", 4)
    monkeypatch.setattr(search, "RECENT_WINDOW", timedelta(days=window_days))
    now = timezone.now()
    for days in [0, 3, 10, 50, 200, 400, 900]:
        DisclosureFactory(
            unit=wenli, title=f"防火通知{days}", published_at=now - timedelta(days=days)
        )
    results = search.search("防火通知", user=AnonymousUser())
    found = SearchEntry.objects.filter(pk__in=results.ids)
    assert sorted(found.values_list("title", flat=True)) == [
        "防火通知0",
        "防火通知10",
        "防火通知3",
        "防火通知50",
    ]
    assert results.capped
