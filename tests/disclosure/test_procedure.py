"""The procedure as the rules define it (党务公开条例 2017 art. 15; for 村务 the
村民委员会组织法): 提出 → 审核 with a recorded 保密审查 → 审批 → 发布, by
different people, each step recorded as the act of the body the catalog's
procedure names for the unit; the public trail is built from those records."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from catalog.models import Catalog, ProcedureRule
from disclosure import services
from disclosure.models import Disclosure, DisclosureEvent, Organisation
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    acting_for,
    review_and_approve,
    staff_user,
)

Status = Disclosure.Status


def trail_text(html: str) -> list[str]:
    """The public trail's lines, without their dates and tags."""
    section = html.split('id="trail-heading"', 1)[1].split("</ol>", 1)[0]
    lines = re.findall(r"<li>(.*?)</li>", section, flags=re.S)
    return [re.sub(r"<[^>]+>|\d+年\d+月\d+日", "", line).strip() for line in lines]


# A village's own affairs, walked through the admin as each person would -------


@pytest.fixture
def village_world(db):
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    catalog = CatalogFactory(kind=Catalog.Kind.VILLAGE)
    item = ItemFactory(category=CategoryFactory(catalog=catalog), for_town=False)
    draft = DisclosureFactory(
        unit=wenli, item=item, status=Status.DRAFT, published_at=None
    )
    editor = staff_user(username="wenli_editor", group="村务管理员", units=[wenli])
    supervisor = staff_user(username="wenli_supervisor", group="村务监督委员")
    approver = staff_user(username="wenli_approver", group="村级审批人")
    town_reviewer = staff_user(username="reviewer", group="审核人")
    wenli.organisations.get(name="村务监督委员会").members.add(supervisor)
    wenli.organisations.get(name="村两委").members.add(approver)
    for name in ("镇纪委", "镇党委", "党政办"):
        town.organisations.get(name=name).members.add(town_reviewer)
    return {
        "draft": draft,
        "editor": editor,
        "supervisor": supervisor,
        "approver": approver,
        "town_reviewer": town_reviewer,
    }


def transition(client, user, disclosure, name, data=None):
    client.force_login(user)
    url = f"/admin/disclosure/disclosure/{disclosure.pk}/transition/{name}/"
    return client.post(url, data or {})


def test_village_affairs_walk_through_the_admin(client, village_world):
    w = village_world
    draft = w["draft"]
    assert transition(client, w["editor"], draft, "submit").status_code == 302

    # The town sees it but does not review or approve a village's own affairs.
    assert transition(client, w["town_reviewer"], draft, "review").status_code == 403

    # The supervisor forgets the secrecy box: told so, nothing changes.
    forgot = transition(
        client,
        w["supervisor"],
        draft,
        "review",
        {"secrecy_conclusion": "不涉密", "comment": ""},
    )
    assert forgot.status_code == 200
    assert "审核须先完成保密审查" in forgot.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED

    # Corrected: ticked, with a conclusion.
    reviewed = transition(
        client,
        w["supervisor"],
        draft,
        "review",
        {"secrecy_checked": "on", "secrecy_conclusion": "经审查不涉密，同意公开。"},
    )
    assert reviewed.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.REVIEWED

    # The supervisor cannot also approve; the 两委 member can.
    assert transition(client, w["supervisor"], draft, "approve").status_code == 403
    assert transition(client, w["approver"], draft, "approve").status_code == 302
    # The village publishes its own affairs.
    assert transition(client, w["editor"], draft, "publish").status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.PUBLISHED

    client.logout()
    trail = trail_text(client.get(draft.get_absolute_url()).content.decode())
    assert trail == [
        "村民委员会提出",
        "村务监督委员会审核（含保密审查）",
        "村两委审批",
        "村民委员会发布",
    ]
    review = draft.events.get(action=DisclosureEvent.Action.REVIEWED)
    assert review.secrecy_reviewed
    assert review.secrecy_conclusion == "经审查不涉密，同意公开。"
    assert review.actor == w["supervisor"]


def test_the_town_may_return_a_village_record_for_a_secrecy_concern(
    client, village_world
):
    w = village_world
    services.submit(w["draft"], by=w["editor"])
    empty = transition(client, w["town_reviewer"], w["draft"], "return", {})
    assert empty.status_code == 200  # a return needs its comment
    response = transition(
        client,
        w["town_reviewer"],
        w["draft"],
        "return",
        {"comment": "含村民身份证号，请删去后再提交。"},
    )
    assert response.status_code == 302
    w["draft"].refresh_from_db()
    assert w["draft"].status == Status.DRAFT
    returned = w["draft"].events.get(action=DisclosureEvent.Action.RETURNED)
    assert returned.comment == "含村民身份证号，请删去后再提交。"


def test_return_from_review_needs_a_new_review_after_resubmission(village_world):
    w = village_world
    draft = w["draft"]
    services.submit(draft, by=w["editor"])
    services.review(
        draft, by=w["supervisor"], secrecy_checked=True, secrecy_conclusion="不涉密"
    )
    services.return_for_changes(draft, by=w["approver"], comment="金额有误")
    services.submit(draft, by=w["editor"])
    with pytest.raises(ValidationError):  # not reviewed again yet
        services.approve(draft, by=w["approver"])
    assert services.allowed_transitions(draft, w["approver"]) == ["return"]


# Separate steps, separate people ------------------------------------------------


def test_the_same_person_never_reviews_and_approves(village_world):
    w = village_world
    draft = w["draft"]
    acting_for(w["supervisor"], draft, "approve")  # a member of both bodies
    services.submit(draft, by=w["editor"])
    services.review(
        draft, by=w["supervisor"], secrecy_checked=True, secrecy_conclusion="不涉密"
    )
    with pytest.raises(PermissionDenied, match="审核和审批须由不同的人进行"):
        services.approve(draft, by=w["supervisor"])


def test_the_submitter_neither_reviews_nor_approves(village_world):
    w = village_world
    draft = w["draft"]
    acting_for(w["editor"], draft, "review", "approve")
    services.submit(draft, by=w["editor"])
    with pytest.raises(PermissionDenied, match="不能审核自己提交"):
        services.review(
            draft, by=w["editor"], secrecy_checked=True, secrecy_conclusion="不涉密"
        )


def test_no_review_without_the_secrecy_review(village_world):
    w = village_world
    services.submit(w["draft"], by=w["editor"])
    with pytest.raises(ValidationError, match="保密审查"):
        services.review(
            w["draft"],
            by=w["supervisor"],
            secrecy_checked=False,
            secrecy_conclusion="x",
        )
    with pytest.raises(ValidationError, match="保密审查意见"):
        services.review(
            w["draft"], by=w["supervisor"], secrecy_checked=True, secrecy_conclusion=" "
        )
    w["draft"].refresh_from_db()
    assert w["draft"].status == Status.SUBMITTED
    assert not w["draft"].events.filter(action="reviewed").exists()


def test_no_bulk_review_in_the_admin(client, village_world):
    client.force_login(village_world["supervisor"])
    page = client.get("/admin/disclosure/disclosure/")
    actions = re.findall(r'<option value="(\w+)"', page.content.decode())
    assert "approve_selected" in actions
    assert not any(a.startswith("review") for a in actions)


# The trail is the record ----------------------------------------------------------


def test_renaming_a_body_later_rewrites_no_trail(client, village_world):
    w = village_world
    draft = w["draft"]
    services.submit(draft, by=w["editor"])
    review_and_approve(draft, reviewer=w["supervisor"], approver=w["approver"])
    services.publish(draft, by=w["editor"])
    Organisation.objects.filter(name="村务监督委员会").update(name="监委会")
    draft.title = "改过的标题"
    draft.save()
    trail = trail_text(client.get(draft.get_absolute_url()).content.decode())
    assert trail[1] == "村务监督委员会审核（含保密审查）"


def test_a_catalog_without_a_procedure_says_so_at_submission(village_world):
    w = village_world
    ProcedureRule.objects.all().delete()
    with pytest.raises(ValidationError, match="尚未设置村（社区）级公开程序"):
        services.submit(w["draft"], by=w["editor"])


def test_a_village_party_record_is_reviewed_by_the_town_and_approved_by_the_branch(
    village_world,
):
    w = village_world
    town = w["draft"].unit.parent
    party = CatalogFactory(kind=Catalog.Kind.PARTY)
    item = ItemFactory(category=CategoryFactory(catalog=party))
    draft = DisclosureFactory(
        unit=w["draft"].unit, item=item, status=Status.DRAFT, published_at=None
    )
    secretary = get_user_model().objects.create(username="branch_secretary")
    w["draft"].unit.organisations.get(name="村党支部").members.add(secretary)
    services.submit(draft, by=w["editor"])
    town.organisations.get(name="镇党委").members.add(w["supervisor"])
    services.review(
        draft, by=w["supervisor"], secrecy_checked=True, secrecy_conclusion="不涉密"
    )
    services.approve(draft, by=secretary)
    names = list(draft.events.values_list("acting_body", "action"))
    assert names == [
        ("村党支部", "submitted"),
        ("镇党委", "reviewed"),
        ("村党支部", "approved"),
    ]
