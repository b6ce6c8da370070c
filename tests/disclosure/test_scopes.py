"""The scopes (党务公开条例 2017 art. 8): 党组织内部公开 for one branch and the
town party committee, 党内公开 for every party member, 先党内后党外 opening to
the public on a later date; and the scope comes from the catalog item."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import BodyKind, Scope
from disclosure import roles
from disclosure.models import Attachment, Disclosure, PartyMembership
from feedback.models import Submission
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TITLE = "文理村党支部2011年第三季度党费收缴情况"


@pytest.fixture
def town():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    dues = ItemFactory(code="C07", scope=Scope.INNER_PARTY, branch_scope_allowed=True)
    own = DisclosureFactory(
        unit=wenli, item=dues, title=TITLE, period="2011-09", scope=Scope.BRANCH
    )
    attachment = Attachment.objects.create(
        disclosure=own,
        file=SimpleUploadedFile("dues.pdf", PDF),
        content_type="application/pdf",
    )
    committee = staff_user(username="committee", group=roles.REVIEWER)
    town.organisations.get(kind=BodyKind.PARTY_COMMITTEE).members.add(committee)
    return {
        "town": town,
        "wenli": wenli,
        "maoshan": maoshan,
        "dues": dues,
        "own": own,
        "attachment": attachment,
        "wenli_member": PartyMemberFactory(username="wenli_member", branch_of=wenli),
        "maoshan_member": PartyMemberFactory(
            username="maoshan_member", branch_of=maoshan
        ),
        "committee": committee,
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
    }


def shows(response, title: str) -> bool:
    """The title on the page (a search highlights words inside it)."""
    hits = (response.context or {}).get("hits") or []
    found = [(h["disclosure"] or h["submission"]).title for h in hits]
    return title in response.text or title in found


def pages(town) -> list[str]:
    own = town["own"]
    return [
        "/",
        "/boards/wenli/",
        "/boards/wenli/print/",
        "/disclosures/",
        "/disclosures/?unit=wenli",
        f"/disclosures/{own.pk}/",
        "/search/?q=党费收缴",
        f"/catalog/{own.item.code}/",
        "/compliance/wenli/?year=2011",
    ]


def test_a_branch_disclosure_gets_the_units_branch(town):
    assert town["own"].branch == town["wenli"].organisations.branches().get()
    assert town["own"].branch.full_name == "文理村党支部"


def test_member_of_another_branch_sees_none_of_it(client, town):
    client.force_login(town["maoshan_member"])
    for url in pages(town):
        assert not shows(client.get(url), TITLE), url
    assert client.get(f"/disclosures/{town['own'].pk}/").status_code == 404
    assert client.get(f"/attachments/{town['attachment'].pk}/").status_code == 404


@pytest.mark.parametrize("who", ["wenli_member", "committee", "town_admin"])
def test_own_branch_and_town_party_committee_see_it(client, town, who):
    client.force_login(town[who])
    for url in pages(town):
        if "print" in url:
            continue  # the printed board is the public board (WeasyPrint aside)
        response = client.get(url)
        assert response.status_code == 200, url
        assert shows(response, TITLE), url
    assert "党组织内部公开" in client.get(f"/disclosures/{town['own'].pk}/").text
    response = client.get(f"/attachments/{town['attachment'].pk}/")
    assert response.status_code == 200


@pytest.mark.parametrize("who", [None, "resident", "reviewer"])
def test_anonymous_residents_and_other_staff_see_none_of_it(client, town, who):
    if who == "resident":
        client.force_login(UserFactory(username="resident"))
    elif who:
        client.force_login(town[who])
    for url in [*pages(town), "/feeds/latest/", "/feeds/boards/wenli/", "/sitemap.xml"]:
        assert not shows(client.get(url), TITLE), url
    assert client.get(f"/disclosures/{town['own'].pk}/").status_code == 404
    assert client.get(f"/attachments/{town['attachment'].pk}/").status_code == 404


def test_a_party_member_without_a_branch_reads_party_but_no_branch_items(client, town):
    inner = DisclosureFactory(unit=town["maoshan"], item=town["dues"], title="党内通报")
    client.force_login(PartyMemberFactory())
    assert client.get(f"/disclosures/{inner.pk}/").status_code == 200
    assert client.get(f"/disclosures/{town['own'].pk}/").status_code == 404


def test_moving_a_member_moves_what_they_read(client, town):
    member = town["maoshan_member"]
    membership = PartyMembership.objects.get(user=member)
    membership.branch = town["wenli"].organisations.branches().get()
    membership.save()
    client.force_login(member)
    assert client.get(f"/disclosures/{town['own'].pk}/").status_code == 200


def test_home_counts_are_the_same_for_every_branch_titles_are_not(client, town):
    """The home page counts every scope (as the compliance matrix shows every
    filing); what a reader may open stays per branch."""
    client.force_login(town["wenli_member"])
    wenli = client.get("/").context["figures"]["party"]
    assert client.get(f"/disclosures/{town['own'].pk}/").status_code == 200
    client.force_login(town["maoshan_member"])
    assert client.get("/").context["figures"]["party"] == wenli
    assert client.get(f"/disclosures/{town['own'].pk}/").status_code == 404


def test_town_admin_sets_and_moves_a_members_branch_in_the_admin(client, town):
    member = town["maoshan_member"]
    membership = PartyMembership.objects.get(user=member)
    url = f"/admin/disclosure/partymembership/{membership.pk}/change/"
    wenli_branch = town["wenli"].organisations.branches().get()
    client.force_login(town["reviewer"])
    assert client.get(url).status_code == 403
    response = client.post(url, {"user": member.pk, "branch": wenli_branch.pk})
    assert response.status_code == 403
    client.force_login(town["town_admin"])
    response = client.get(url)
    assert response.status_code == 200
    assert "所在党支部" in response.text
    response = client.post(url, {"user": member.pk, "branch": wenli_branch.pk})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.branch == wenli_branch


# 先党内后党外 -----------------------------------------------------------------


def test_party_first_notice_is_for_members_until_its_public_date(client, town):
    now = timezone.now()
    notice = DisclosureFactory(
        unit=town["town"],
        item=ItemFactory(party_first_allowed=True),
        title="镇党委2011年工作要点",
        published_at=now,
        public_from=now + timedelta(days=7),
    )
    notice.full_clean()
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        assert client.get(f"/disclosures/{notice.pk}/").status_code == 404
        assert not shows(client.get("/search/?q=工作要点"), "镇党委2011年工作要点")
        client.force_login(town["maoshan_member"])
        response = client.get(f"/disclosures/{notice.pk}/")
        assert response.status_code == 200
        assert "先党内后党外" in response.text
        client.logout()
    with time_machine.travel(now + timedelta(days=7, minutes=1), tick=False):
        response = client.get(f"/disclosures/{notice.pk}/")
        assert response.status_code == 200
        assert "先党内后党外" not in response.text
        assert shows(client.get("/search/?q=工作要点"), "镇党委2011年工作要点")


def test_a_case_about_a_party_first_notice_stays_off_the_wall(town):
    notice = DisclosureFactory(
        unit=town["town"],
        item=ItemFactory(party_first_allowed=True),
        public_from=timezone.now() + timedelta(days=7),
    )
    from feedback import services

    submission = SubmissionFactory(unit=town["town"], disclosure=notice)
    assert services.concerns_inner_party(submission)
    branch_case = SubmissionFactory(unit=town["wenli"], disclosure=town["own"])
    assert services.concerns_inner_party(branch_case)
    assert Submission.objects.count() == 2


# Scope comes from the item: the checks, in Chinese -----------------------------


def errors_of(disclosure) -> dict:
    with pytest.raises(ValidationError) as raised:
        disclosure.full_clean()
    return raised.value.message_dict


def test_a_public_items_disclosure_cannot_be_narrowed(town):
    notice = Disclosure(
        unit=town["wenli"],
        item=ItemFactory(),
        title="通知",
        body="正文",
        period="2011-09",
        scope=Scope.INNER_PARTY,
    )
    assert errors_of(notice)["scope"] == [
        "该事项的公开范围为“社会公开”，不能缩小公开范围。"
    ]


def test_branch_scope_only_where_the_item_allows_it(town):
    notice = DisclosureFactory.build(
        unit=town["wenli"],
        item=ItemFactory(scope=Scope.INNER_PARTY),
        scope=Scope.BRANCH,
    )
    assert errors_of(notice)["scope"] == [
        "该事项不允许党组织内部公开，公开范围为“党内公开”。"
    ]


def test_a_wider_scope_is_narrowed_to_the_items(town):
    notice = DisclosureFactory(unit=town["wenli"], item=ItemFactory(scope=Scope.BRANCH))
    assert notice.scope == Scope.BRANCH
    assert notice.branch == town["wenli"].organisations.branches().get()


def test_the_branch_must_be_the_units(town):
    notice = town["own"]
    notice.branch = town["maoshan"].organisations.branches().get()
    assert errors_of(notice)["branch"] == ["所属党组织须为本单位的党支部。"]
    notice.branch = town["wenli"].organisations.get(kind=BodyKind.VILLAGE_COMMITTEE)
    assert "branch" in errors_of(notice)


def test_a_nil_return_has_its_items_scope(town):
    nil = DisclosureFactory.build(
        unit=town["wenli"],
        item=town["dues"],
        scope=Scope.BRANCH,
        is_nil_return=True,
    )
    assert errors_of(nil)["scope"] == [
        "本期无此事项说明的公开范围与事项相同（党内公开）。"
    ]


def test_public_from_checks(town):
    now = timezone.now()
    plain = DisclosureFactory.build(
        unit=town["wenli"], item=ItemFactory(), published_at=now
    )
    plain.public_from = now + timedelta(days=1)
    assert errors_of(plain)["public_from"] == [
        "该事项不允许先党内后党外，请留空社会公开时间。"
    ]
    allowed = DisclosureFactory.build(
        unit=town["wenli"], item=ItemFactory(party_first_allowed=True), published_at=now
    )
    allowed.public_from = now - timedelta(hours=1)
    assert errors_of(allowed)["public_from"] == ["社会公开时间须晚于发布时间。"]
    allowed.public_from = now + timedelta(days=1)
    allowed.full_clean()
    allowed.is_nil_return = True
    assert errors_of(allowed)["public_from"] == ["本期无此事项说明不能先党内后党外。"]


def test_item_flags_fit_the_items_scope():
    item = ItemFactory.build(scope=Scope.INNER_PARTY, party_first_allowed=True)
    with pytest.raises(ValidationError) as raised:
        item.clean()
    assert raised.value.message_dict["party_first_allowed"] == [
        "只有社会公开事项可以先党内后党外。"
    ]


def test_an_item_made_branch_only_takes_its_disclosures_into_their_branches(town):
    item = ItemFactory()
    notices = [
        DisclosureFactory(unit=unit, item=item)
        for unit in (town["wenli"], town["maoshan"])
    ]
    item.scope = Scope.BRANCH
    item.save()
    for notice in notices:
        notice.refresh_from_db()
        assert notice.scope == Scope.BRANCH
        assert notice.branch.unit == notice.unit
    from composition.models import SearchEntry

    entry = SearchEntry.objects.get(disclosure=notices[0])
    assert entry.inner_party and entry.branch == notices[0].branch_id


def test_catalog_migration_gives_the_catalogs_exceptions_to_loaded_items():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("catalog.migrations.0007_item_scope_exceptions")
    dues = ItemFactory(code="C07", scope=Scope.INNER_PARTY)
    plan = ItemFactory(code="A02")
    other = ItemFactory(code="A09", scope=Scope.INNER_PARTY)
    migration.set_flags(apps, None)
    for item in (dues, plan, other):
        item.refresh_from_db()
    assert dues.branch_scope_allowed and plan.party_first_allowed
    assert not (other.branch_scope_allowed or other.party_first_allowed)
