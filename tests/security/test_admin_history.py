"""The admin's version history is read-only: posting an old version back must
not bring back its status, scope, item, unit, index number or dates.

Each attack is the one a village editor (or a reviewer, who may only look)
can make with the browser: open a disclosure's history, open a version and
post its form back. The only thing a version may give back is its text
(title and body), by someone who may edit the disclosure now, as a recorded
correction once it is published.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Scope
from disclosure import roles, services
from disclosure.models import ClosedYear, Disclosure, DisclosureEvent
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    review_and_approve,
    staff_user,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/disclosure/disclosure/"
PENDING = "/admin/disclosure/pendingdisclosure/"
Status = Disclosure.Status


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    return {
        "wenli": wenli,
        "maoshan": maoshan,
        "item": ItemFactory(code="A09"),
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "wenli_editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "maoshan_editor": staff_user(
            username="maoshan_editor", group=roles.UNIT_EDITOR, units=[maoshan]
        ),
    }


def draft(world, **kwargs) -> Disclosure:
    return DisclosureFactory(
        unit=world["wenli"],
        item=world["item"],
        status=Status.DRAFT,
        published_at=None,
        **kwargs,
    )


def published(world, **kwargs) -> Disclosure:
    """Through the real workflow, so the history holds every step."""
    disclosure = draft(world, **kwargs)
    services.submit(disclosure, by=world["wenli_editor"])
    review_and_approve(disclosure, reviewer=world["reviewer"])
    services.publish(disclosure, by=world["town_admin"])
    return disclosure


def versions(disclosure):
    return list(disclosure.history.order_by("history_date", "history_id"))


def version_of(disclosure, status):
    return next(v for v in reversed(versions(disclosure)) if v.status == status)


def version_url(disclosure, version, base=ADMIN) -> str:
    return f"{base}{disclosure.pk}/history/{version.history_id}/"


def version_form(version, **changes) -> dict:
    """The version's form as the browser would post it back (the 'Revert' save)."""
    data = {
        "unit": version.unit_id,
        "item": version.item_id,
        "title": version.title,
        "body": version.body,
        "period": version.period,
        "event_date": "",
        "scope": version.scope,
        "display_until": "",
        "notice_outcome": "",
        "notice_outcome_text": "",
        "posted_on": "",
        "taken_down_on": "",
        "_save": "1",
    }
    data.update(changes)
    return data


def edit_form(disclosure, **changes) -> dict:
    data = {
        "unit": disclosure.unit_id,
        "item": disclosure.item_id,
        "title": disclosure.title,
        "body": disclosure.body,
        "period": disclosure.period,
        "scope": disclosure.scope,
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    data.update(changes)
    return data


def workflow_state(disclosure) -> tuple:
    disclosure.refresh_from_db()
    return (
        disclosure.status,
        disclosure.scope,
        disclosure.unit_id,
        disclosure.item_id,
        disclosure.index_number,
        disclosure.published_at,
        disclosure.withdrawn_at,
        disclosure.withdrawal_reason,
        disclosure.period,
        disclosure.corrected_at,
    )


# The holes, exactly as reported ---------------------------------------------------


@pytest.mark.parametrize("who", ["wenli_editor", "reviewer", "town_admin"])
def test_posting_an_old_version_does_not_bring_back_a_withdrawn_disclosure(
    client, world, who
):
    disclosure = published(world)
    services.withdraw(disclosure, by=world["reviewer"], reason="数据有误")
    before = workflow_state(disclosure)
    old = version_of(disclosure, Status.PUBLISHED)
    client.force_login(world[who])
    assert client.get(version_url(disclosure, old)).status_code == 200
    response = client.post(version_url(disclosure, old), version_form(old))
    assert response.status_code == 403
    assert workflow_state(disclosure) == before
    assert disclosure.status == Status.WITHDRAWN
    assert disclosure.withdrawal_reason == "数据有误"
    assert client.get(f"/disclosures/{disclosure.pk}/").status_code == 410


@pytest.mark.parametrize("who", ["wenli_editor", "reviewer", "town_admin"])
def test_posting_a_wider_version_of_a_branch_disclosure_keeps_it_in_the_branch(
    client, world, who
):
    item = world["item"]
    item.scope, item.branch_scope_allowed = Scope.INNER_PARTY, True
    item.save()
    disclosure = published(world, title="曾经党内公开的通知")
    old = version_of(disclosure, Status.PUBLISHED)
    client.force_login(world["town_admin"])
    client.post(
        f"{ADMIN}{disclosure.pk}/change/",
        edit_form(disclosure, scope=Scope.BRANCH),
    )
    disclosure.refresh_from_db()
    assert disclosure.scope == Scope.BRANCH
    before = workflow_state(disclosure)
    client.force_login(world[who])
    client.post(
        version_url(disclosure, old), version_form(old, scope=Scope.INNER_PARTY)
    )
    assert workflow_state(disclosure) == before
    client.logout()
    assert client.get(f"/disclosures/{disclosure.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["wenli_editor", "reviewer"])
def test_posting_a_draft_version_does_not_pull_a_published_disclosure_back(
    client, world, who
):
    disclosure = published(world)
    first = versions(disclosure)[0]
    assert first.status == Status.DRAFT
    before = workflow_state(disclosure)
    client.force_login(world[who])
    response = client.post(
        version_url(disclosure, first), version_form(first, title="悄悄改的")
    )
    assert response.status_code == 403
    assert workflow_state(disclosure) == before
    assert disclosure.title != "悄悄改的"


@pytest.mark.parametrize("who", ["wenli_editor", "reviewer"])
def test_a_sealed_year_cannot_be_edited_through_a_version(client, world, who):
    disclosure = draft(world, title="第一版")
    client.force_login(world["wenli_editor"])
    client.post(
        f"{ADMIN}{disclosure.pk}/change/", edit_form(disclosure, title="第二版")
    )
    disclosure.refresh_from_db()
    assert disclosure.title == "第二版"
    ClosedYear.objects.create(year=2011, closed_by=world["town_admin"])
    first = versions(disclosure)[0]
    before = workflow_state(disclosure)
    client.force_login(world[who])
    response = client.post(version_url(disclosure, first), version_form(first))
    assert response.status_code == 403
    assert workflow_state(disclosure) == before
    assert disclosure.title == "第二版"


def test_a_reviewer_cannot_send_a_submitted_disclosure_back_to_draft(client, world):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    first = versions(disclosure)[0]
    client.force_login(world["reviewer"])
    response = client.post(version_url(disclosure, first), version_form(first))
    assert response.status_code == 403
    disclosure.refresh_from_db()
    assert disclosure.status == Status.SUBMITTED


# Scope: another unit's history is as hidden as its change page ----------------------


def test_another_units_history_and_versions_are_404(client, world):
    disclosure = draft(world, title="文理村草稿甲乙丙")
    version = versions(disclosure)[0]
    client.force_login(world["maoshan_editor"])
    for url in (f"{ADMIN}{disclosure.pk}/history/", version_url(disclosure, version)):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "文理村草稿甲乙丙" not in response.text
    response = client.post(version_url(disclosure, version), version_form(version))
    assert response.status_code == 404
    assert workflow_state(disclosure)[0] == Status.DRAFT


def test_a_version_of_another_disclosure_is_404(client, world):
    mine = draft(world)
    other = draft(world)
    client.force_login(world["wenli_editor"])
    response = client.get(version_url(mine, versions(other)[0]))
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["wenli_editor", "reviewer", "town_admin"])
def test_a_version_page_is_read_only(client, world, who):
    disclosure = draft(world, title="第一版", body="第一版正文")
    client.force_login(world[who])
    response = client.get(version_url(disclosure, versions(disclosure)[0]))
    assert response.status_code == 200
    assert "第一版正文" in response.text
    for field in ("title", "body", "scope", "unit", "item", "period"):
        assert f'name="{field}"' not in response.text, field


# Restoring a version's text: an edit like any other ---------------------------------


def test_editor_restores_the_text_of_an_earlier_version_of_own_draft(client, world):
    item = world["item"]
    item.scope, item.branch_scope_allowed = Scope.INNER_PARTY, True
    item.save()
    disclosure = draft(world, title="第一版", body="第一版正文")
    client.force_login(world["wenli_editor"])
    client.post(
        f"{ADMIN}{disclosure.pk}/change/",
        edit_form(disclosure, title="第二版", body="第二版正文", scope=Scope.BRANCH),
    )
    first = versions(disclosure)[0]
    response = client.post(version_url(disclosure, first), {"_restore": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN}{disclosure.pk}/change/"
    disclosure.refresh_from_db()
    assert (disclosure.title, disclosure.body) == ("第一版", "第一版正文")
    # Only the text comes back; the scope chosen since stays.
    assert disclosure.scope == Scope.BRANCH
    assert disclosure.status == Status.DRAFT
    assert not disclosure.events.filter(action=DisclosureEvent.Action.CORRECTED)
    assert versions(disclosure)[-1].history_user == world["wenli_editor"]


def test_restoring_published_text_is_a_public_correction(client, world):
    disclosure = published(world, title="第一版")
    client.force_login(world["town_admin"])
    client.post(
        f"{ADMIN}{disclosure.pk}/change/", edit_form(disclosure, title="第二版")
    )
    disclosure.refresh_from_db()
    before = workflow_state(disclosure)
    old = next(
        v for v in versions(disclosure) if v.title == "第一版" and v.index_number
    )
    response = client.post(version_url(disclosure, old), {"_restore": "1"})
    assert response.status_code == 302
    after = workflow_state(disclosure)
    assert disclosure.title == "第一版"
    assert after[:-1] == before[:-1]  # everything but corrected_at
    assert disclosure.corrected_at > before[-1]
    correction = disclosure.events.filter(action=DisclosureEvent.Action.CORRECTED)
    assert correction.count() == 2
    assert correction.last().comment == "title"
    assert "更正" in client.get(f"/disclosures/{disclosure.pk}/").text


def test_restoring_a_version_with_the_same_text_changes_nothing(client, world):
    disclosure = published(world)
    client.force_login(world["town_admin"])
    old = version_of(disclosure, Status.APPROVED)
    before = workflow_state(disclosure)
    response = client.post(version_url(disclosure, old), {"_restore": "1"})
    assert response.status_code == 302
    assert workflow_state(disclosure) == before
    assert not disclosure.events.filter(action=DisclosureEvent.Action.CORRECTED)


@pytest.mark.parametrize(
    ("who", "can_restore"),
    [("wenli_editor", True), ("reviewer", False), ("town_admin", True)],
)
def test_the_restore_button_is_offered_only_to_who_may_edit(
    client, world, who, can_restore
):
    disclosure = draft(world)
    client.force_login(world[who])
    response = client.get(version_url(disclosure, versions(disclosure)[0]))
    assert ('name="_restore"' in response.text) is can_restore


def test_a_refused_restore_says_why_in_chinese(client, world):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    client.force_login(world["wenli_editor"])
    response = client.post(
        version_url(disclosure, versions(disclosure)[0]), {"_restore": "1"}
    )
    assert response.status_code == 403
    assert "不能修改" in response.text


def test_restore_service_refuses_a_version_of_another_disclosure(world):
    mine, other = draft(world), draft(world, title="别的")
    with pytest.raises(ValueError):
        services.restore_version(
            mine, version=versions(other)[0], by=world["town_admin"]
        )


# The 待审核 queue's history -----------------------------------------------------


@pytest.mark.parametrize("who", ["wenli_editor", "reviewer", "town_admin"])
def test_pending_queue_history_leads_to_the_disclosures_history(client, world, who):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    version = versions(disclosure)[0]
    client.force_login(world[who])
    response = client.get(f"{PENDING}{disclosure.pk}/history/")
    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN}{disclosure.pk}/history/"
    assert client.get(response["Location"]).status_code == 200
    response = client.get(version_url(disclosure, version, base=PENDING))
    assert response.status_code == 302
    assert response["Location"] == version_url(disclosure, version)


def test_pending_queue_version_post_changes_nothing(client, world):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    version = versions(disclosure)[0]
    before = workflow_state(disclosure)
    client.force_login(world["reviewer"])
    client.post(version_url(disclosure, version, base=PENDING), version_form(version))
    assert workflow_state(disclosure) == before


def test_restore_leaves_published_at_alone_for_a_scheduled_publication(world):
    disclosure = draft(world, title="第一版")
    disclosure.title = "第二版"
    disclosure.save()
    services.submit(disclosure, by=world["wenli_editor"])
    later = timezone.now() + timedelta(days=3)
    review_and_approve(disclosure, reviewer=world["reviewer"], publish_at=later)
    before = workflow_state(disclosure)
    services.restore_version(
        disclosure, version=versions(disclosure)[0], by=world["town_admin"]
    )
    after = workflow_state(disclosure)
    assert disclosure.title == "第一版"
    assert after[:-1] == before[:-1]


def test_a_version_whose_text_the_edit_form_would_refuse_is_not_restored(client, world):
    disclosure = draft(world, title="第一版", body="旧正文<script>x()</script>")
    disclosure.body = "干净的正文"
    disclosure.save()
    client.force_login(world["wenli_editor"])
    response = client.post(
        version_url(disclosure, versions(disclosure)[0]), {"_restore": "1"}
    )
    assert response.status_code == 400
    assert "网页标记" in response.text
    disclosure.refresh_from_db()
    assert disclosure.body == "干净的正文"


def test_staff_without_the_inner_party_permission_do_not_see_inner_party_in_admin(
    client, world
):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    inner = draft(world, title="党内草稿甲乙丙", scope=Scope.INNER_PARTY)
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(
        Permission.objects.get(codename="view_disclosure"),
        Permission.objects.get(codename="change_disclosure"),
    )
    world["wenli"].editors.add(clerk)
    client.force_login(clerk)
    assert "党内草稿甲乙丙" not in client.get(ADMIN).text
    for url in (
        f"{ADMIN}{inner.pk}/change/",
        f"{ADMIN}{inner.pk}/history/",
        version_url(inner, versions(inner)[0]),
    ):
        assert client.get(url).status_code == 404, url
