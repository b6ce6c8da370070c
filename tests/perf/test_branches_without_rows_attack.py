"""Attacks on "a branch with no 党组织内部 row reads as a member of no branch".

A member of such a branch gets the audience `member:party:` and shares those
copies (`Reader._has_own_rows`); a save of a 党组织内部 row, or an item made
党组织内部, moves the memberships version (`services.follow_branch_rows`,
`follow_item_scope`, `audiences.moved`). Walked here, for 东风村, whose
branch files its first notice: (A) the notice never reaches anyone outside
that branch, through any page, copy, count or feed; (B) the branch's members
see it as soon as it is published through the normal paths (the workflow,
the review queue's proxy, loaddata, a scheduled publication coming due, an
item made 党组织内部), whatever copies were made before.
"""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import serializers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from catalog.models import Scope
from core import audiences
from disclosure import services
from disclosure.models import (
    Attachment,
    Disclosure,
    PendingDisclosure,
    Reader,
    page_audience,
)
from feedback import services as feedback_services
from feedback.models import Kind
from tests.disclosure.test_attachments import PDF
from tests.factories import (
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    UserFactory,
    acting_for,
    staff_user,
)
from tests.perf.branches import (
    INNER,
    MAOSHAN_BRANCH,
    WENLI_BRANCH,
    get,
    make_county,
    member,
)
from tests.perf.test_kept_newest_attack import another_process, post_admin, superuser

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]

FIRST = "东风村党支部首份内部通报戊"
LIST = "/disclosures/"
SEARCH = "/search/?q=" + "首份内部通报"
HOME = "/"
STATS = "/stats/"
BOARDS = "/boards/"
WALL = "/feedback/"


@pytest.fixture
def county(db):
    return make_county()


def pages(dongfeng, row: Disclosure | None = None) -> list[str]:
    """Every page that may show a row's title to a party member (with `row`,
    its catalog item's page too)."""
    paths = [
        LIST,
        SEARCH,
        HOME,
        STATS,
        BOARDS,
        WALL,
        "/county/",
        "/compliance/",
        f"/boards/{dongfeng.slug}/",
        f"/boards/{dongfeng.slug}/print/",
        f"/compliance/{dongfeng.slug}/",
        f"{LIST}?unit={dongfeng.slug}",
    ]
    return paths + ([f"/catalog/{row.item.code}/"] if row else [])


def outsiders(maoshan) -> dict[str, Client]:
    """Everyone outside 东风村's branch: a member of no branch, a member of a
    branch with rows of its own, a logged-in user who is no party member and
    an anonymous visitor."""
    plain = Client()
    plain.force_login(UserFactory(username="resident"))
    return {
        "no branch": member("member_nb"),
        "other branch": member("maoshan_a", maoshan),
        "not a member": plain,
        "visitor": Client(),
    }


def never_shown(clients: dict[str, Client], paths, title: str = FIRST) -> None:
    """`title` on none of these pages, read twice (the second a kept copy)."""
    for who, client in clients.items():
        for path in paths:
            for _ in range(2):
                assert title not in get(client, path).found, (who, path)


def loaded(username: str):
    """The user as a request loads it: its own Reader, no save (a factory's
    get_or_create adds the group again, which moves the memberships version)."""
    return get_user_model().objects.get(username=username)


def branch_of(unit):
    return unit.organisations.branches().get()


def first_row(dongfeng, **fields) -> Disclosure:
    """东风村's first 党组织内部 notice (published a day ago unless told)."""
    fields.setdefault("item", ItemFactory(scope=Scope.BRANCH))
    return DisclosureFactory(unit=dongfeng, title=FIRST, **fields)


def count_on_list(client: Client, path: str = LIST) -> int:
    """The list's "共 N 条", 0 for none."""
    text = get(client, path).text
    found = re.search(r"共 (\d+) 条", text)
    # An empty page shows no count (the template's `{% elif page %}`).
    return int(found[1]) if found else 0


# The reader and its key


def test_a_draft_or_a_withdrawn_row_is_the_branchs_own(county):
    """Of any status: a draft has no page yet, but its publication needs no
    other save of the branch, so its members are the branch's already; a
    withdrawn one keeps them so."""
    _, _, dongfeng = county
    user = PartyMemberFactory(username="dongfeng_a", branch_of=dongfeng)
    assert Reader.of(user) == Reader(party_member=True)
    before = audiences.memberships_version(fresh=True)
    row = first_row(dongfeng, status=Disclosure.Status.DRAFT, published_at=None)
    assert audiences.memberships_version(fresh=True) != before
    user = loaded("dongfeng_a")
    assert Reader.of(user).branch_id == branch_of(dongfeng).pk
    assert (
        page_audience(user) == f"member:party:{branch_of(dongfeng).pk}@{dongfeng.slug}"
    )
    row.status = Disclosure.Status.WITHDRAWN
    row.withdrawal_reason = "有误"
    row.withdrawn_at = timezone.now()
    row.save()
    user = loaded("dongfeng_a")
    assert Reader.of(user).branch_id == branch_of(dongfeng).pk


def test_the_keys_of_kept_counts(county):
    """`Reader.key` keys counts: a branch without rows "party:", the same as a
    member of no branch; with its first row "party:<id>"; the town party
    committee "all"; a logged-in non-member "public"."""
    _, _, dongfeng = county
    without = PartyMemberFactory(username="dongfeng_a", branch_of=dongfeng)
    assert (
        Reader.of(without).key
        == Reader.of(PartyMemberFactory(username="member_nb")).key
        == "party:"
    )
    assert Reader.of(UserFactory(username="resident")).key == "public"
    every = PartyMemberFactory(username="town_party", branch_of=dongfeng)
    every.user_permissions.add(Permission.objects.get(codename="view_every_branch"))
    every = loaded("town_party")
    assert Reader.of(every).key == "all"
    assert page_audience(every) is None
    first_row(dongfeng)
    with_row = loaded("dongfeng_a")
    assert Reader.of(with_row).key == f"party:{branch_of(dongfeng).pk}"


# The first row through the normal paths


def test_drafted_then_published_through_the_workflow(
    county, django_capture_on_commit_callbacks
):
    _, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    others = outsiders(maoshan)
    for path in (LIST, SEARCH, HOME):
        get(from_dongfeng, path)
        assert get(others["no branch"], path).headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        draft = first_row(
            dongfeng, status=Disclosure.Status.APPROVED, published_at=None
        )
    for path in (LIST, SEARCH):
        assert FIRST not in get(from_dongfeng, path).found
    publisher = staff_user(username="publisher", group="审核人")
    acting_for(publisher, draft, "approve", "publish")
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(draft, by=publisher)
    for path in (LIST, SEARCH, f"/boards/{dongfeng.slug}/"):
        assert FIRST in get(from_dongfeng, path).found, path
    never_shown(others, pages(dongfeng, draft))


def test_published_through_the_review_queues_proxy(
    county, django_capture_on_commit_callbacks
):
    """Saved as the proxy (PendingDisclosure) all the way: post_save's sender
    is the proxy, the row a Disclosure all the same."""
    _, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    get(member("member_nb"), LIST)
    assert get(from_dongfeng, LIST).headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        pending = PendingDisclosure(
            unit=dongfeng,
            item=ItemFactory(scope=Scope.BRANCH),
            title=FIRST,
            body="正文。",
            period="2011-09",
            status=Disclosure.Status.APPROVED,
        )
        pending.save()
    assert pending.scope == Scope.BRANCH
    publisher = staff_user(username="publisher", group="审核人")
    acting_for(publisher, pending, "approve", "publish")
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(PendingDisclosure.objects.get(pk=pending.pk), by=publisher)
    assert FIRST in get(from_dongfeng, LIST).found
    assert FIRST in get(member("dongfeng_b", dongfeng), LIST).found
    never_shown(outsiders(maoshan), [LIST, SEARCH, f"/boards/{dongfeng.slug}/"])


def test_a_scheduled_first_row_shows_when_due_and_only_to_its_branch(
    county, django_capture_on_commit_callbacks
):
    _, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    others = outsiders(maoshan)
    due = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        first_row(dongfeng, published_at=due)
    for path in (LIST, SEARCH, f"/boards/{dongfeng.slug}/"):
        for _ in range(2):  # kept: a copy made before it is due
            assert FIRST not in get(from_dongfeng, path).found, path
    get(others["no branch"], LIST)
    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        for path in (LIST, SEARCH, f"/boards/{dongfeng.slug}/"):
            assert FIRST in get(from_dongfeng, path).found, path
        assert FIRST in get(member("dongfeng_b", dongfeng), LIST).found
        never_shown(others, [LIST, SEARCH, HOME, f"/boards/{dongfeng.slug}/"])


def test_a_first_row_loaded_by_loaddata(
    county, tmp_path, django_capture_on_commit_callbacks
):
    """A fixture (a restore) loads the row raw: its post_save moves the
    memberships version too."""
    _, maoshan, dongfeng = county
    # The fixture: the row as it would be saved, never committed here.
    item = ItemFactory(scope=Scope.BRANCH)
    with transaction.atomic():
        row = first_row(dongfeng, item=item)
        data = serializers.serialize("json", [Disclosure.objects.get(pk=row.pk)])
        transaction.set_rollback(True)
    assert not Disclosure.objects.filter(title=FIRST).exists()
    fixture = tmp_path / "first_row.json"
    fixture.write_text(data, encoding="utf-8")
    assert json.loads(data)[0]["fields"]["scope"] == Scope.BRANCH
    from_dongfeng = member("dongfeng_a", dongfeng)
    get(member("member_nb"), LIST)
    assert get(from_dongfeng, LIST).headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddata", str(fixture), verbosity=0)
    assert FIRST in get(from_dongfeng, LIST).found
    assert FIRST in get(from_dongfeng, f"/boards/{dongfeng.slug}/").found
    never_shown(outsiders(maoshan), [LIST, f"/boards/{dongfeng.slug}/", HOME])


def test_a_rolled_back_first_row_gives_the_shared_copies_back(county):
    """The version moved at the save, before the rollback: the branch's
    members work their audience out again, and share again."""
    _, _, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    get(member("member_nb"), LIST)
    with transaction.atomic():
        first_row(dongfeng)
        transaction.set_rollback(True)
    response = get(from_dongfeng, LIST)
    assert FIRST not in response.found
    assert response.headers["X-Page-Cache"] == "hit"


# Copies made around the change


def test_copies_made_before_the_commit_callbacks_ran(
    county, django_capture_on_commit_callbacks
):
    """Pages read between the row's save and its commit callbacks (the
    content versions bumped): the branch's member already reads its own
    copy, and no shared copy kept then carries the row."""
    _, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    others = outsiders(maoshan)
    for path in (LIST, SEARCH, HOME):
        get(from_dongfeng, path)
    with django_capture_on_commit_callbacks(execute=True):
        first_row(dongfeng)
        for path in (LIST, SEARCH, HOME):
            for client in (from_dongfeng, *others.values()):
                get(client, path)
    never_shown(others, [LIST, SEARCH, HOME, f"/boards/{dongfeng.slug}/"])
    for path in (LIST, SEARCH):
        assert FIRST in get(from_dongfeng, path).found, path


def test_two_members_one_logged_in_before_the_row(
    county, django_capture_on_commit_callbacks
):
    _, maoshan, dongfeng = county
    early = member("dongfeng_a", dongfeng)
    for path in (LIST, SEARCH, HOME, f"/boards/{dongfeng.slug}/"):
        get(early, path)
        get(early, path)
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng)
    late = member("dongfeng_b", dongfeng)
    for path in (LIST, SEARCH, f"/boards/{dongfeng.slug}/"):
        assert FIRST in get(early, path).found, path
        shared = get(late, path)
        assert FIRST in shared.found, path
        assert shared.headers["X-Page-Cache"] == "hit"  # the early one's copy
    # The item's page lists what the units published under it (the
    # compliance pages name only what a unit owed: not a 2011 filing).
    assert FIRST in get(late, f"/catalog/{row.item.code}/").found
    never_shown(outsiders(maoshan), pages(dongfeng, row))


def test_a_row_moved_to_another_branch_leaves_its_first_branch(
    county, django_capture_on_commit_callbacks
):
    """A draft of 东风村's moved to 茅山村 (its unit, so its branch): 东风村's
    members, who had their own copies while it was theirs, read as a member
    of no branch again and never see it; 茅山村's do once it is published."""
    wenli, maoshan, dongfeng = county
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng, status=Disclosure.Status.APPROVED, published_at=None)
    from_dongfeng = member("dongfeng_a", dongfeng)
    from_maoshan = member("maoshan_a", maoshan)
    for path in (LIST, SEARCH):
        get(from_dongfeng, path)
    row.unit = maoshan
    row.branch = branch_of(maoshan)
    row.full_clean()
    with django_capture_on_commit_callbacks(execute=True):
        row.save()
    publisher = staff_user(username="publisher", group="审核人")
    acting_for(publisher, row, "approve", "publish")
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(row, by=publisher)
    assert Reader.of(loaded("dongfeng_a")) == Reader(party_member=True)
    for path in (LIST, SEARCH, f"/boards/{maoshan.slug}/"):
        assert FIRST in get(from_maoshan, path).found, path
    never_shown(
        {"first branch": from_dongfeng, "no branch": member("member_nb")},
        [LIST, SEARCH, HOME, f"/boards/{maoshan.slug}/", f"/boards/{dongfeng.slug}/"],
    )
    assert WENLI_BRANCH not in get(from_maoshan, LIST).found


def test_the_first_row_deleted(county, django_capture_on_commit_callbacks):
    """Back to no row: gone from every copy, the branch's own ones too; a
    member logging in now shares the copies of a member of no branch."""
    _, maoshan, dongfeng = county
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng)
    from_dongfeng = member("dongfeng_a", dongfeng)
    get(from_dongfeng, HOME)  # its own copy of the home page too
    for path in (LIST, SEARCH):
        assert FIRST in get(from_dongfeng, path).found, path
    with django_capture_on_commit_callbacks(execute=True):
        row.delete()
    get(member("member_nb"), LIST)
    late = member("dongfeng_b", dongfeng)
    assert get(late, LIST).headers["X-Page-Cache"] == "hit"
    never_shown(
        {"own": from_dongfeng, "late": late, **outsiders(maoshan)},
        [LIST, SEARCH, HOME, f"/boards/{dongfeng.slug}/"],
    )


# The 回音壁


def answer_with(disclosure, title: str = "请公开东风村党支部的内部通报"):
    staff = UserFactory(username="office", is_staff=True)
    department = DepartmentFactory()
    case = SubmissionFactory(unit=disclosure.unit, kind=Kind.REQUEST, title=title)
    feedback_services.accept(case, by=staff, department=department)
    feedback_services.answer(
        case, by=staff, department=department, text="已公开。", fulfilled_by=disclosure
    )
    return case


def test_the_wall_answered_by_the_branchs_first_row(
    county, django_capture_on_commit_callbacks
):
    _, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    others = outsiders(maoshan)
    get(from_dongfeng, WALL)
    assert get(others["no branch"], WALL).headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng)
        case = answer_with(row)
    case_page = case.get_absolute_url()
    for path in (WALL, case_page):
        assert FIRST in get(from_dongfeng, path).found, path
        assert FIRST in get(member("dongfeng_b", dongfeng), path).found, path
    never_shown(others, [WALL, case_page])


def test_a_wall_answer_made_branch_with_its_item(
    county, django_capture_on_commit_callbacks
):
    """A 党内 notice answers a case: every party member reads the link from
    the wall, one shared copy. Its item made 党组织内部: 东风村's first row;
    the shared copies of the wall, the case and the notice drop it."""
    _, maoshan, dongfeng = county
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng)
        row.item.scope = Scope.INNER_PARTY
        row.item.save()
        row.scope = Scope.INNER_PARTY
        row.save()
        case = answer_with(row)
    row.refresh_from_db()
    assert row.scope == Scope.INNER_PARTY and row.branch_id is None
    detail = row.get_absolute_url()
    from_dongfeng = member("dongfeng_a", dongfeng)
    others = outsiders(maoshan)
    for path in (WALL, case.get_absolute_url(), detail):
        assert FIRST in get(others["no branch"], path).found, path
        assert FIRST in get(from_dongfeng, path).found, path
    item = row.item
    item.scope = Scope.BRANCH
    with django_capture_on_commit_callbacks(execute=True):
        item.save()
    row.refresh_from_db()
    assert row.scope == Scope.BRANCH
    for path in (WALL, case.get_absolute_url(), detail):
        assert FIRST in get(from_dongfeng, path).found, path
    never_shown(others, [WALL, case.get_absolute_url(), LIST, SEARCH])
    for who in ("no branch", "other branch"):
        get(others[who], detail, status=404)
        get(others[who], detail, status=404)


# Feeds, counts, files


def test_feeds_never_carry_the_branchs_first_row(
    county, django_capture_on_commit_callbacks
):
    _, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    feeds = ["/feeds/latest/", f"/feeds/boards/{dongfeng.slug}/", "/feeds/feedback/"]
    for path in feeds:
        get(from_dongfeng, path)
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng)
        answer_with(row)
    assert FIRST in get(from_dongfeng, LIST).found
    never_shown({"own branch": from_dongfeng, **outsiders(maoshan)}, feeds)
    for path in feeds:
        for title in (FIRST, WENLI_BRANCH, MAOSHAN_BRANCH, INNER):
            assert title not in get(from_dongfeng, path).found, (path, title)


def test_the_lists_count_follows_the_readers_key(
    county, django_capture_on_commit_callbacks
):
    """The count is kept per `Reader.key`: "party:" is shared by members of
    no branch and of a branch without rows; the first row gives the branch
    its own count, one more, and no one else's."""
    _, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    others = outsiders(maoshan)
    before = {who: count_on_list(c) for who, c in others.items()}
    shared = count_on_list(from_dongfeng)
    assert shared == before["no branch"]
    narrowed = f"{LIST}?unit={dongfeng.slug}"
    dongfeng_before = count_on_list(from_dongfeng, narrowed)
    with django_capture_on_commit_callbacks(execute=True):
        first_row(dongfeng)
    assert count_on_list(from_dongfeng) == shared + 1
    assert count_on_list(from_dongfeng, narrowed) == dongfeng_before + 1
    for who, client in others.items():
        assert count_on_list(client) == before[who], who
        assert count_on_list(client, narrowed) == dongfeng_before, who


def test_the_first_rows_attachment_is_its_branchs_alone(
    county, django_capture_on_commit_callbacks
):
    _, maoshan, dongfeng = county
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng)
        attachment = Attachment.objects.create(
            disclosure=row,
            title="东风村党支部内部通报附件",
            file=SimpleUploadedFile("x.pdf", PDF),
            content_type="application/pdf",
        )
    url = f"/attachments/{attachment.pk}/"
    from_dongfeng = member("dongfeng_a", dongfeng)
    assert from_dongfeng.get(url).status_code == 200
    detail = get(from_dongfeng, row.get_absolute_url())
    assert "东风村党支部内部通报附件" in detail.found
    for who, client in outsiders(maoshan).items():
        assert client.get(url).status_code == 404, who
        get(client, row.get_absolute_url(), status=404)


def test_every_branch_and_staff_read_it_and_seed_no_shared_copy(
    county, django_capture_on_commit_callbacks
):
    """The town party committee (view_every_branch) and staff read every
    branch's row; what they render is never kept for an audience."""
    _, maoshan, dongfeng = county
    every_user = PartyMemberFactory(username="town_party")
    every_user.user_permissions.add(
        Permission.objects.get(codename="view_every_branch")
    )
    every = Client()
    every.force_login(every_user)
    superuser = Client()
    superuser.force_login(
        UserFactory(username="root", is_staff=True, is_superuser=True)
    )
    with django_capture_on_commit_callbacks(execute=True):
        first_row(dongfeng)
    for client in (every, superuser):
        for path in (LIST, SEARCH):
            response = get(client, path)
            assert FIRST in response.found, path
            assert "X-Page-Cache" not in response.headers
    never_shown(outsiders(maoshan), [LIST, SEARCH, HOME, STATS])


# A row made 党组织内部 by SQL: the documented bound


def test_a_row_made_branch_by_sql_shows_within_the_documented_bound(county):
    """A log-in within the kept Reader's lifetime works the audience out from
    the rows afresh (audiences.working_out): the two bounds no longer add up
    (they did before this attack's mend)."""
    _, _, dongfeng = county
    row = first_row(dongfeng, item=ItemFactory(scope=Scope.PUBLIC))
    # Not yet published: no copy shows it (a public row would show anyway).
    Disclosure.objects.filter(pk=row.pk).update(
        status=Disclosure.Status.DRAFT, published_at=None
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        early = member("dongfeng_a", dongfeng)  # the Reader kept now
        assert FIRST not in get(early, LIST).found
        clock.shift(1)
        Disclosure.objects.filter(pk=row.pk).update(
            scope=Scope.BRANCH,
            branch=branch_of(dongfeng),
            status=Disclosure.Status.PUBLISHED,
            published_at=start,
        )
        clock.shift(57)  # a second device logs in, within the Reader's 60 s
        late = Client()
        late.force_login(loaded("dongfeng_a"))
        clock.shift(30)  # 87 s after the UPDATE
        # The first log-in's entry is older than 60 s: worked out again.
        assert FIRST in get(early, LIST).found
        # The second's was worked out afresh at its log-in: its own copy.
        late_page = get(late, LIST)
        assert FIRST in late_page.found, late_page.headers.get("X-Page-Cache")


# Through the admin


def test_a_published_party_notice_narrowed_to_the_branch_in_the_admin(
    county, django_capture_on_commit_callbacks
):
    """A 党内 notice every party member read, in shared copies, narrowed to
    its branch in the admin: 东风村's first row, gone from every copy of
    everyone else and shown to its branch at once."""
    _, maoshan, dongfeng = county
    item = ItemFactory(scope=Scope.INNER_PARTY, branch_scope_allowed=True)
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng, item=item)
    assert row.scope == Scope.INNER_PARTY
    detail = row.get_absolute_url()
    from_dongfeng = member("dongfeng_a", dongfeng)
    others = outsiders(maoshan)
    for path in (LIST, SEARCH, detail, f"/boards/{dongfeng.slug}/"):
        assert FIRST in get(others["no branch"], path).found, path
        assert FIRST in get(from_dongfeng, path).found, path
    with django_capture_on_commit_callbacks(execute=True):
        post_admin(
            superuser(),
            f"/admin/disclosure/disclosure/{row.pk}/change/",
            scope="branch",
        )
    row.refresh_from_db()
    assert row.scope == Scope.BRANCH and row.branch == branch_of(dongfeng)
    for path in (LIST, SEARCH, detail, f"/boards/{dongfeng.slug}/"):
        assert FIRST in get(from_dongfeng, path).found, path
    never_shown(
        {k: v for k, v in others.items() if k in ("no branch", "other branch")},
        [LIST, SEARCH, HOME, f"/boards/{dongfeng.slug}/"],
    )
    for client in others.values():
        get(client, detail, status=404)


def test_an_item_made_branch_in_the_catalog_admin(
    county, django_capture_on_commit_callbacks
):
    _, maoshan, dongfeng = county
    with django_capture_on_commit_callbacks(execute=True):
        row = first_row(dongfeng, item=ItemFactory(scope=Scope.INNER_PARTY))
    from_dongfeng = member("dongfeng_a", dongfeng)
    of_no_branch = member("member_nb")
    for path in (LIST, SEARCH):
        assert FIRST in get(of_no_branch, path).found
        assert get(from_dongfeng, path).headers["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        post_admin(
            superuser(), f"/admin/catalog/item/{row.item_id}/change/", scope="branch"
        )
    row.refresh_from_db()
    assert row.scope == Scope.BRANCH
    for path in (LIST, SEARCH, row.get_absolute_url()):
        assert FIRST in get(from_dongfeng, path).found, path
    never_shown(outsiders(maoshan), [LIST, SEARCH, HOME, f"/boards/{dongfeng.slug}/"])


def test_the_first_row_saved_by_another_worker(
    county, django_capture_on_commit_callbacks
):
    """Saved by another worker: this one's copies of the versions (a second)
    are not what its members' audience is read under."""
    _, maoshan, dongfeng = county
    from_dongfeng = member("dongfeng_a", dongfeng)
    get(member("member_nb"), LIST)
    assert get(from_dongfeng, LIST).headers["X-Page-Cache"] == "hit"
    audiences.memberships_version()  # this worker's copy, read just now
    mine = dict(audiences._local)
    with another_process(), django_capture_on_commit_callbacks(execute=True):
        first_row(dongfeng)
    audiences._local.update(mine)  # this worker's copy: the old version
    assert audiences.memberships_version() == mine["version"]
    assert FIRST in get(from_dongfeng, LIST).found
    never_shown(outsiders(maoshan), [LIST, SEARCH])
