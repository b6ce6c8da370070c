"""Attacks on the copies every branch's members share (another unit's board,
a disclosure's page that is not 党组织内部: test_shared_member_copies.py).

The rule under attack: a 党组织内部 notice's title never reaches a member of
another branch, a member of no branch, a logged-in non-member or a
visitor, through a cached page or fragment, whatever the order of the
requests and whatever changed in between; and its own branch's members go
on reading it on their unit's board and on its page.
"""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from catalog.models import Scope
from core import elder
from disclosure.models import Disclosure, Organisation, PartyMembership, Unit
from tests.factories import (
    PartyMemberFactory,
    TownFactory,
    UserFactory,
)
from tests.perf.branches import (
    INNER,
    MAOSHAN_BRANCH,
    WENLI_BRANCH,
    make_county,
    member,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("page_cache")]


@pytest.fixture
def county(db):
    return make_county()


def outsiders(maoshan) -> dict[str, Client]:
    """Everyone who must never read 文理村's branch's notice."""
    resident = Client()
    resident.force_login(UserFactory(username="resident"))
    return {
        "other branch": member("maoshan_a", maoshan),
        "no branch": member("member_nb"),
        "resident": resident,
        "visitor": Client(),
    }


def board_text(client: Client, slug: str, **extra) -> str:
    response = client.get(f"/boards/{slug}/", **extra)
    assert response.status_code in (200, 304, 400, 404), response.status_code
    return response.content.decode()


def page(client: Client, disclosure, **extra):
    return client.get(f"/disclosures/{disclosure.pk}/", **extra)


def never_read_by_outsiders(outside: dict[str, Client], wenli) -> None:
    notice = Disclosure.objects.get(title=WENLI_BRANCH)
    for who, client in outside.items():
        for _ in range(2):  # a miss, then whatever was kept
            assert WENLI_BRANCH not in board_text(client, wenli.slug), who
            response = page(client, notice)
            assert response.status_code in (404, 410), who
            assert WENLI_BRANCH not in response.content.decode(), who


def test_a_board_rendered_as_its_own_branch_under_the_shared_key_is_not_kept(
    county, monkeypatch
):
    """The page's key is narrowed from the session's audience before the
    view reads the unit (a rename committed in between, another process's
    slugs of a second ago); the view then reads the board as the unit's
    own branch. The detail view stops such a page from being kept in the
    copy every branch reads (`page_own_audience_only`); the board must too,
    or 文理村's branch's notice is served to every other branch."""
    from core import content

    wenli, maoshan, _ = county
    monkeypatch.setitem(
        content.view_audiences,
        "disclosure:board",
        lambda request, kwargs, audience: "member:party:",
    )
    shown = member("wenli_a", wenli).get(f"/boards/{wenli.slug}/")
    assert WENLI_BRANCH in shown.content.decode()
    assert shown.headers.get("X-Page-Cache") != "miss"
    assert WENLI_BRANCH not in board_text(member("maoshan_a", maoshan), wenli.slug)


def test_a_rename_between_the_check_and_the_view_keeps_nothing_shared(
    county, monkeypatch
):
    """The same without a stand-in: 文理村 takes 茅山村's slug (another
    request's rename, not yet seen by this one) after the session's audience
    was checked and the key narrowed to the shared copy, before the view
    reads the unit. 东风村's branch must not be served 文理村's notice."""
    from core import audiences

    wenli, maoshan, dongfeng = county
    from_wenli = member("wenli_a", wenli)
    board_text(from_wenli, wenli.slug)  # the session keeps "@<文理村's slug>"
    confirmed = audiences.confirmed

    def renamed_meanwhile(request, kept):
        answer = confirmed(request, kept)
        Unit.objects.filter(pk=maoshan.pk).update(slug="maoshan-old")
        Unit.objects.filter(pk=wenli.pk).update(slug="maoshan")
        return answer

    monkeypatch.setattr(audiences, "confirmed", renamed_meanwhile)
    assert WENLI_BRANCH in board_text(from_wenli, "maoshan")
    monkeypatch.undo()
    assert WENLI_BRANCH not in board_text(member("dongfeng_a", dongfeng), "maoshan")


def test_a_notice_narrowed_with_its_item_leaves_every_shared_copy(
    county, django_capture_on_commit_callbacks
):
    """An item made 党组织内部: its disclosures follow with a queryset
    update() and the `made_inner_party` event (no row signal). The shared
    board and page copies holding the 党内 notice are not read any more."""
    wenli, maoshan, dongfeng = county
    notice = Disclosure.objects.get(title=INNER)
    outside = {"other branch": member("maoshan_a", maoshan), "none": member("nb")}
    for client in outside.values():
        assert INNER in board_text(client, wenli.slug)
        assert INNER in page(client, notice).content.decode()
    item = notice.item
    item.scope = Scope.BRANCH
    with django_capture_on_commit_callbacks(execute=True):
        item.save()
    notice.refresh_from_db()
    assert notice.scope == Scope.BRANCH
    for who, client in outside.items():
        assert INNER not in board_text(client, wenli.slug), who
        assert INNER not in board_text(client, dongfeng.slug), who
        assert page(client, notice).status_code == 404, who
    from_wenli = member("wenli_a", wenli)
    for _ in range(2):
        assert INNER in board_text(from_wenli, wenli.slug)
        assert INNER in page(from_wenli, notice).content.decode()


def test_a_unit_renamed_by_update_leaks_nothing_and_under_shows_within_the_bound(
    county, settings
):
    """A queryset update() of a slug sends no signal: the session keeps the
    old slug in its audience, so the renamed board is the shared copy's
    key for the unit's own branch. Rendered as the branch (its rows), it is
    not kept there; the shared copy may under-show for that member until
    the session's entry and the kept Reader are worked out again
    (PAGE_AUDIENCE_CHECK_SECONDS, VALUE_CACHE_SECONDS)."""
    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    outside = outsiders(maoshan)
    assert WENLI_BRANCH in board_text(from_wenli, wenli.slug)
    Unit.objects.filter(pk=wenli.pk).update(slug="wenli-new")
    wenli.slug = "wenli-new"
    # The branch's member first: rendered with its notice, not kept.
    assert WENLI_BRANCH in board_text(from_wenli, wenli.slug)
    never_read_by_outsiders(outside, wenli)
    # Once checked again, the branch reads its own copy of the renamed board.
    settings.PAGE_AUDIENCE_CHECK_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 0  # the kept Reader's time is up
    assert WENLI_BRANCH in board_text(from_wenli, wenli.slug)
    assert WENLI_BRANCH in board_text(from_wenli, wenli.slug)
    never_read_by_outsiders(outside, wenli)


def test_a_membership_moved_by_save_follows_at_once(
    county, django_capture_on_commit_callbacks
):
    wenli, maoshan, _ = county
    user = PartyMemberFactory(username="moving", branch_of=wenli)
    client = Client()
    client.force_login(user)
    wenli_notice = Disclosure.objects.get(title=WENLI_BRANCH)
    maoshan_notice = Disclosure.objects.get(title=MAOSHAN_BRANCH)
    assert WENLI_BRANCH in board_text(client, wenli.slug)
    assert WENLI_BRANCH in page(client, wenli_notice).content.decode()
    assert MAOSHAN_BRANCH not in board_text(client, maoshan.slug)
    with django_capture_on_commit_callbacks(execute=True):
        membership = PartyMembership.objects.get(user=user)
        membership.branch = maoshan.organisations.branches().get()
        membership.save()
    assert WENLI_BRANCH not in board_text(client, wenli.slug)
    assert page(client, wenli_notice).status_code == 404
    assert MAOSHAN_BRANCH in board_text(client, maoshan.slug)
    assert MAOSHAN_BRANCH in page(client, maoshan_notice).content.decode()
    # The one who stayed keeps reading the branch's notice.
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in board_text(from_wenli, wenli.slug)
    never_read_by_outsiders(outsiders(maoshan), wenli)


def test_a_membership_moved_by_update_keeps_nothing_in_the_shared_page_copy(county):
    """The board's case is in test_shared_member_copies; the disclosure's
    page too: a member moved by update() into 文理村's branch, whose session
    says 茅山村's, renders the notice's page: never kept."""
    wenli, maoshan, _ = county
    moved = PartyMemberFactory(username="moved", branch_of=maoshan)
    client = Client()
    client.force_login(moved)
    board_text(client, maoshan.slug)  # the session keeps 茅山村's branch
    PartyMembership.objects.filter(user=moved).update(
        branch=wenli.organisations.branches().get()
    )
    notice = Disclosure.objects.get(title=WENLI_BRANCH)
    response = page(client, notice)
    assert response.headers.get("X-Page-Cache") != "miss"
    never_read_by_outsiders(outsiders(maoshan), wenli)


def test_a_branch_reassigned_to_another_unit(
    county, django_capture_on_commit_callbacks
):
    """文理村's branch organisation given to 东风村 (by save): its sessions
    work their audience out again; its notice (filed on 文理村's board)
    stays on its own page for the branch, and reaches nobody else."""
    wenli, maoshan, dongfeng = county
    from_wenli = member("wenli_a", wenli)
    notice = Disclosure.objects.get(title=WENLI_BRANCH)
    assert WENLI_BRANCH in board_text(from_wenli, wenli.slug)
    board_text(member("dongfeng_a", dongfeng), wenli.slug)  # the shared copy
    branch = wenli.organisations.branches().get()
    with django_capture_on_commit_callbacks(execute=True):
        Organisation.objects.filter(unit=dongfeng).exclude(pk=branch.pk).filter(
            name=branch.name
        ).update(name=branch.name + "旧")
        branch.unit = dongfeng
        branch.save()
    assert WENLI_BRANCH in page(from_wenli, notice).content.decode()
    assert WENLI_BRANCH in page(from_wenli, notice).content.decode()
    never_read_by_outsiders(outsiders(maoshan), wenli)
    for who, client in outsiders(maoshan).items():
        assert WENLI_BRANCH not in board_text(client, dongfeng.slug), who


def test_a_member_made_staff_or_losing_the_party_group(
    county, django_capture_on_commit_callbacks
):
    wenli, maoshan, _ = county
    user = PartyMemberFactory(username="wenli_b", branch_of=wenli)
    client = Client()
    client.force_login(user)
    notice = Disclosure.objects.get(title=WENLI_BRANCH)
    assert WENLI_BRANCH in board_text(client, wenli.slug)
    assert WENLI_BRANCH not in board_text(client, maoshan.slug)
    # Made staff without a signal: its pages rendered now are not kept.
    type(user).objects.filter(pk=user.pk).update(is_staff=True)
    board_text(client, maoshan.slug)
    page(client, notice)
    never_read_by_outsiders(outsiders(maoshan), wenli)
    type(user).objects.filter(pk=user.pk).update(is_staff=False)
    # No longer a party member (a signal): no 党内 row, no branch row.
    with django_capture_on_commit_callbacks(execute=True):
        user.groups.remove(Group.objects.get(name="党员"))
    text = board_text(client, wenli.slug)
    assert WENLI_BRANCH not in text and INNER not in text
    assert page(client, notice).status_code == 404


def test_period_text_size_head_and_conditional_get_leak_nothing(county):
    """The branch's own copies made first (each query, the largest text
    size); then every outsider asks the same URLs, with the branch's ETags
    (a 304 would say their copy is the branch's), with HEAD."""
    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    from_wenli.cookies[elder.COOKIE_NAME] = "2"
    notice = Disclosure.objects.get(title=WENLI_BRANCH)
    queries = ("?period=2011-09", "?period=%00", "?period=2011-13", "")
    etags = {}
    for query in queries:
        own = from_wenli.get(f"/boards/{wenli.slug}/{query}")
        if query != "?period=%00":  # refused before the view (a NUL byte)
            assert WENLI_BRANCH in own.content.decode(), query
        etags[query] = own.headers.get("ETag")
    assert WENLI_BRANCH in page(from_wenli, notice).content.decode()
    for who, client in outsiders(maoshan).items():
        client.cookies[elder.COOKIE_NAME] = "2"
        for query in queries:
            url = f"/boards/{wenli.slug}/{query}"
            for _ in range(2):
                response = client.get(url)
                assert response.status_code in (200, 400), (who, query)
                assert WENLI_BRANCH not in response.content.decode(), (who, query)
            if etags[query]:
                response = client.get(url, HTTP_IF_NONE_MATCH=etags[query])
                assert response.status_code != 304, (who, query)
                assert WENLI_BRANCH not in response.content.decode(), (who, query)
            assert WENLI_BRANCH not in client.head(url).content.decode()
        assert page(client, notice).status_code == 404
        assert client.head(f"/disclosures/{notice.pk}/").status_code == 404


def test_a_withdrawn_branch_notice_says_so_to_its_branch_alone(
    county, django_capture_on_commit_callbacks
):
    wenli, maoshan, _ = county
    notice = Disclosure.objects.get(title=WENLI_BRANCH)
    from_wenli = member("wenli_a", wenli)
    assert WENLI_BRANCH in page(from_wenli, notice).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        notice.status = Disclosure.Status.WITHDRAWN
        notice.withdrawn_at = timezone.now()
        notice.withdrawal_reason = "撤回"
        notice.save()
    for _ in range(2):
        response = page(from_wenli, notice)
        assert response.status_code == 410
        assert WENLI_BRANCH in response.content.decode()
    never_read_by_outsiders(outsiders(maoshan), wenli)


@pytest.mark.parametrize(
    "path",
    [
        "/disclosures/99999999999999999999999/",
        "/disclosures/0/",
        "/boards/" + "a" * 81 + "/",
        "/boards/no-such-unit/",
        "/boards/%E6%96%87/",
    ],
)
def test_hostile_urls_for_a_branch_member(county, path):
    wenli, _, _ = county
    client = member("wenli_a", wenli)
    client.cookies[elder.COOKIE_NAME] = "\x00<script>"
    response = client.get(path)
    assert response.status_code in (400, 404), response.status_code
    assert WENLI_BRANCH not in response.content.decode()


def test_the_own_branch_keeps_its_notices_after_a_move_and_a_narrowing(
    county, django_capture_on_commit_callbacks
):
    """Under-showing: 文理村 moved to another town, then a 党内 notice of
    文理村 narrowed to its branch by a save: the branch reads both on its
    board and their pages at once; the other branches lose the narrowed one."""
    wenli, maoshan, dongfeng = county
    from_wenli = member("wenli_a", wenli)
    from_dongfeng = member("dongfeng_a", dongfeng)
    inner = Disclosure.objects.get(title=INNER)
    for client in (from_wenli, from_dongfeng):
        assert INNER in board_text(client, wenli.slug)
        assert INNER in page(client, inner).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        wenli.parent = TownFactory(name="茅山镇")
        wenli.save()
    assert WENLI_BRANCH in board_text(from_wenli, wenli.slug)
    with django_capture_on_commit_callbacks(execute=True):
        inner.scope = Scope.BRANCH
        inner.branch = wenli.organisations.branches().get()
        inner.save()
    for _ in range(2):
        text = board_text(from_wenli, wenli.slug)
        assert WENLI_BRANCH in text and INNER in text
        assert INNER in page(from_wenli, inner).content.decode()
        assert INNER not in board_text(from_dongfeng, wenli.slug)
        assert page(from_dongfeng, inner).status_code == 404
    never_read_by_outsiders(outsiders(maoshan), wenli)


def test_a_village_branch_made_a_committee_reads_no_other_branch(
    county, django_capture_on_commit_callbacks
):
    """A big village's 党支部 becomes a 村党委 (its kind, edited in the unit's
    admin inline): its members are not the town party committee, and read
    no other branch's 党组织内部 notice."""
    from catalog.models import BodyKind

    wenli, maoshan, _ = county
    from_wenli = member("wenli_a", wenli)
    branch = wenli.organisations.branches().get()
    with django_capture_on_commit_callbacks(execute=True):
        branch.kind = BodyKind.PARTY_COMMITTEE
        branch.save()
    notice = Disclosure.objects.get(title=MAOSHAN_BRANCH)
    assert MAOSHAN_BRANCH not in board_text(from_wenli, maoshan.slug)
    assert page(from_wenli, notice).status_code == 404
