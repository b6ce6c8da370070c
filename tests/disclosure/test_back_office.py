"""The back office's permission matrix, through the admin's real URLs."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Scope
from disclosure import roles, services
from disclosure.models import Disclosure, DisclosureEvent
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
    review_and_approve,
    staff_user,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/disclosure/disclosure/"


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    users = {
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "wenli_editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "maoshan_editor": staff_user(
            username="maoshan_editor", group=roles.UNIT_EDITOR, units=[maoshan]
        ),
        "party_member": PartyMemberFactory(),
        "branch_approver": staff_user(
            username="branch_approver", group=roles.VILLAGE_APPROVER
        ),
    }
    # A village's 党务: the town's 镇党委 reviews, the village branch approves.
    town.organisations.get(name="镇党委").members.add(users["reviewer"])
    wenli.organisations.get(name="村党支部").members.add(users["branch_approver"])
    item = ItemFactory(code="A09")
    return {"town": town, "wenli": wenli, "maoshan": maoshan, "item": item, **users}


def draft(world, **kwargs):
    return DisclosureFactory(
        unit=world["wenli"],
        item=world["item"],
        status=Disclosure.Status.DRAFT,
        published_at=None,
        **kwargs,
    )


def as_user(client, world, who):
    if who != "anonymous":
        client.force_login(world[who])
    return client


# Viewing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("party_member", 302),
        ("wenli_editor", 200),
        ("reviewer", 200),
        ("town_admin", 200),
    ],
)
def test_changelist_access_by_role(client, world, who, status):
    response = as_user(client, world, who).get(ADMIN)
    assert response.status_code == status
    if status == 302:
        assert "/admin/login/" in response["Location"]


def test_unit_editor_sees_and_searches_only_own_units(client, world):
    draft(world, title="文理村草稿")
    DisclosureFactory(unit=world["maoshan"], item=world["item"], title="茅山村通知")
    client.force_login(world["wenli_editor"])
    titles = [d.title for d in client.get(ADMIN).context["cl"].result_list]
    assert titles == ["文理村草稿"]
    assert not client.get(ADMIN + "?q=茅山村").context["cl"].result_list
    unit_filter_choices = client.get(ADMIN).context["cl"].filter_specs[0].lookup_choices
    assert [name for _, name in unit_filter_choices] == ["文理村"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("wenli_editor", 200),
        ("maoshan_editor", 404),
        ("reviewer", 200),
        ("town_admin", 200),
    ],
)
def test_change_page_by_role_and_unit(client, world, who, status):
    disclosure = draft(world)
    response = as_user(client, world, who).get(f"{ADMIN}{disclosure.pk}/change/")
    assert response.status_code == status


def test_other_units_history_is_404_like_its_change_page(client, world):
    disclosure = draft(world)
    client.force_login(world["maoshan_editor"])
    assert client.get(f"{ADMIN}{disclosure.pk}/history/").status_code == 404


# Adding and changing ---------------------------------------------------------


def add_form(world, unit):
    return {
        "unit": unit.pk,
        "item": world["item"].pk,
        "title": "新起草的通知",
        "body": "正文",
        "period": "2011-09",
        "scope": Scope.PUBLIC,
        "attachments-TOTAL_FORMS": 0,
        "attachments-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }


def test_editor_adds_a_draft_for_own_unit(client, world):
    client.force_login(world["wenli_editor"])
    response = client.post(ADMIN + "add/", add_form(world, world["wenli"]))
    assert response.status_code == 302
    disclosure = Disclosure.objects.get(title="新起草的通知")
    assert disclosure.status == Disclosure.Status.DRAFT
    assert disclosure.created_by == world["wenli_editor"]


def test_editor_cannot_add_for_another_unit(client, world):
    client.force_login(world["wenli_editor"])
    response = client.post(ADMIN + "add/", add_form(world, world["maoshan"]))
    assert response.status_code == 200
    assert not Disclosure.objects.filter(title="新起草的通知").exists()
    assert [
        u.name for u in response.context["adminform"].form.fields["unit"].queryset
    ] == ["文理村"]


def test_reviewer_cannot_add_or_edit_content(client, world):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    client.force_login(world["reviewer"])
    assert client.get(ADMIN + "add/").status_code == 403
    form = {**add_form(world, world["wenli"]), "title": "审核人改的"}
    client.post(f"{ADMIN}{disclosure.pk}/change/", form)
    disclosure.refresh_from_db()
    assert disclosure.title != "审核人改的"


def test_editor_edits_own_draft_but_not_once_submitted(client, world):
    disclosure = draft(world)
    client.force_login(world["wenli_editor"])
    form = {**add_form(world, world["wenli"]), "title": "改过的标题"}
    assert client.post(f"{ADMIN}{disclosure.pk}/change/", form).status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.title == "改过的标题"
    services.submit(disclosure, by=world["wenli_editor"])
    form["title"] = "提交后再改"
    client.post(f"{ADMIN}{disclosure.pk}/change/", form)
    disclosure.refresh_from_db()
    assert disclosure.title == "改过的标题"


def test_maoshan_editor_cannot_change_wenli_draft(client, world):
    disclosure = draft(world)
    client.force_login(world["maoshan_editor"])
    form = {**add_form(world, world["wenli"]), "title": "越权修改"}
    assert client.post(f"{ADMIN}{disclosure.pk}/change/", form).status_code == 404
    disclosure.refresh_from_db()
    assert disclosure.title != "越权修改"


# The workflow through the admin's buttons ----------------------------------------


def transition(client, disclosure, name, **data):
    return client.post(f"{ADMIN}{disclosure.pk}/transition/{name}/", data)


@pytest.mark.parametrize(
    ("who", "status", "result"),
    [
        ("wenli_editor", 302, "submitted"),
        ("town_admin", 302, "submitted"),
        ("maoshan_editor", 404, "draft"),
        ("reviewer", 403, "draft"),
    ],
)
def test_submit_by_role(client, world, who, status, result):
    disclosure = draft(world)
    response = transition(as_user(client, world, who), disclosure, "submit")
    assert response.status_code == status
    disclosure.refresh_from_db()
    assert disclosure.status == result


@pytest.mark.parametrize(
    ("who", "status", "result"),
    [
        ("reviewer", 302, "reviewed"),  # acts for the 镇党委
        ("town_admin", 403, "submitted"),  # not a member of the reviewing body
        ("branch_approver", 403, "submitted"),
        ("wenli_editor", 403, "submitted"),
        ("maoshan_editor", 404, "submitted"),
    ],
)
def test_review_by_role(client, world, who, status, result):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    response = transition(
        as_user(client, world, who),
        disclosure,
        "review",
        secrecy_checked="on",
        secrecy_conclusion="不涉密",
    )
    assert response.status_code == status
    disclosure.refresh_from_db()
    assert disclosure.status == result


@pytest.mark.parametrize(
    ("who", "status", "result"),
    [
        ("branch_approver", 302, "approved"),
        ("reviewer", 403, "reviewed"),  # reviewed it, and not of the branch
        ("town_admin", 403, "reviewed"),
        ("wenli_editor", 403, "reviewed"),
        ("maoshan_editor", 404, "reviewed"),
    ],
)
def test_approve_by_role(client, world, who, status, result):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    services.review(
        disclosure, by=world["reviewer"], secrecy_checked=True, secrecy_conclusion="无"
    )
    response = transition(as_user(client, world, who), disclosure, "approve")
    assert response.status_code == status
    disclosure.refresh_from_db()
    assert disclosure.status == result


def test_reviewer_cannot_review_own_submission(client, world):
    disclosure = draft(world)
    world["town"].organisations.get(name="镇党委").members.add(world["town_admin"])
    services.submit(disclosure, by=world["town_admin"])
    client.force_login(world["town_admin"])
    response = transition(
        client, disclosure, "review", secrecy_checked="on", secrecy_conclusion="无"
    )
    assert response.status_code == 403
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.SUBMITTED


def test_return_for_changes_needs_a_comment_and_goes_back_to_draft(client, world):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    client.force_login(world["reviewer"])
    response = transition(client, disclosure, "return", comment="")
    assert response.status_code == 200
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.SUBMITTED
    transition(client, disclosure, "return", comment="请补充资金明细")
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.DRAFT
    assert disclosure.events.last().comment == "请补充资金明细"


@pytest.mark.parametrize(
    ("who", "status", "result"),
    [
        ("reviewer", 302, "published"),
        ("wenli_editor", 302, "published"),  # the village posts its own
        ("maoshan_editor", 404, "approved"),
    ],
)
def test_publish_by_role(client, world, who, status, result):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    review_and_approve(disclosure, reviewer=world["reviewer"])
    response = transition(as_user(client, world, who), disclosure, "publish")
    assert response.status_code == status
    disclosure.refresh_from_db()
    assert disclosure.status == result


@pytest.mark.parametrize(
    ("who", "status", "result"),
    [
        ("branch_approver", 302, "withdrawn"),
        ("town_admin", 302, "withdrawn"),
        ("reviewer", 403, "published"),  # reviews, does not approve
        ("wenli_editor", 403, "published"),
    ],
)
def test_withdraw_by_role(client, world, who, status, result):
    disclosure = DisclosureFactory(unit=world["wenli"], item=world["item"])
    response = transition(
        as_user(client, world, who), disclosure, "withdraw", comment="数据有误"
    )
    assert response.status_code == status
    disclosure.refresh_from_db()
    assert disclosure.status == result


def test_withdrawal_needs_a_reason_and_keeps_the_record(client, world):
    disclosure = DisclosureFactory(unit=world["wenli"], item=world["item"])
    client.force_login(world["town_admin"])
    assert transition(client, disclosure, "withdraw", comment=" ").status_code == 200
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PUBLISHED
    transition(client, disclosure, "withdraw", comment="数据有误")
    disclosure.refresh_from_db()
    assert (disclosure.status, disclosure.withdrawal_reason) == (
        "withdrawn",
        "数据有误",
    )
    assert disclosure.withdrawn_at is not None


# Deleting -------------------------------------------------------------------


def test_only_town_admin_deletes_and_only_a_never_submitted_draft(client, world):
    fresh = draft(world)
    submitted = draft(world)
    services.submit(submitted, by=world["wenli_editor"])
    client.force_login(world["wenli_editor"])
    assert client.post(f"{ADMIN}{fresh.pk}/delete/", {"post": "yes"}).status_code == 403
    client.force_login(world["town_admin"])
    assert (
        client.post(f"{ADMIN}{submitted.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.post(f"{ADMIN}{fresh.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Disclosure.objects.filter(pk=fresh.pk).exists()
    assert Disclosure.objects.filter(pk=submitted.pk).exists()


def test_published_disclosures_cannot_be_deleted_even_by_superuser(admin_client, world):
    disclosure = DisclosureFactory(unit=world["wenli"], item=world["item"])
    response = admin_client.post(f"{ADMIN}{disclosure.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert (
        "delete_selected"
        not in admin_client.get(ADMIN)
        .context["action_form"]
        .fields["action"]
        .choices.__str__()
    )


# Reviewers' queue, audit and history ------------------------------------------


def test_pending_queue_lists_submitted_only(client, world):
    waiting = draft(world, title="等待审核")
    services.submit(waiting, by=world["wenli_editor"])
    draft(world, title="仍是草稿")
    client.force_login(world["reviewer"])
    response = client.get("/admin/disclosure/pendingdisclosure/")
    assert [d.title for d in response.context["cl"].result_list] == ["等待审核"]


def test_every_transition_is_recorded(world):
    disclosure = draft(world)
    services.submit(disclosure, by=world["wenli_editor"])
    services.return_for_changes(disclosure, by=world["reviewer"], comment="补充")
    services.submit(disclosure, by=world["wenli_editor"])
    services.review(
        disclosure, by=world["reviewer"], secrecy_checked=True, secrecy_conclusion="无"
    )
    services.approve(disclosure, by=world["branch_approver"])
    services.publish(disclosure, by=world["town_admin"])
    services.withdraw(disclosure, by=world["branch_approver"], reason="重复")
    assert disclosure.status == "withdrawn"  # the caller's instance is kept current
    steps = list(disclosure.events.values_list("action", "from_status", "to_status"))
    assert steps == [
        ("submitted", "draft", "submitted"),
        ("returned", "submitted", "draft"),
        ("submitted", "draft", "submitted"),
        ("reviewed", "submitted", "reviewed"),
        ("approved", "reviewed", "approved"),
        ("published", "approved", "published"),
        ("withdrawn", "published", "withdrawn"),
    ]
    assert DisclosureEvent.objects.filter(actor=world["reviewer"]).count() == 2
    bodies = list(disclosure.events.values_list("acting_body", flat=True))
    assert bodies == [
        "村党支部",
        "镇党委",
        "村党支部",
        "镇党委",
        "村党支部",
        "村党支部",
        "村党支部",
    ]


def test_history_keeps_the_earlier_version_after_an_edit(client, world):
    disclosure = draft(world, title="第一版")
    client.force_login(world["wenli_editor"])
    client.post(
        f"{ADMIN}{disclosure.pk}/change/",
        {**add_form(world, world["wenli"]), "title": "第二版"},
    )
    titles = list(
        disclosure.history.order_by("history_date").values_list("title", flat=True)
    )
    assert titles[0] == "第一版" and titles[-1] == "第二版"
    response = client.get(f"{ADMIN}{disclosure.pk}/history/")
    assert response.status_code == 200
    assert "第二版" in response.text or "第一版" in response.text


def test_changelist_queries_do_not_grow_with_rows(
    client, world, django_assert_max_num_queries
):
    client.force_login(world["reviewer"])
    DisclosureFactory.create_batch(3, unit=world["wenli"], item=world["item"])
    with django_assert_max_num_queries(20) as small:
        client.get(ADMIN)
    DisclosureFactory.create_batch(30, unit=world["maoshan"], item=world["item"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(ADMIN)


def test_editor_overview_counts_own_units_by_state(client, world):
    draft(world)
    waiting = draft(world)
    services.submit(waiting, by=world["wenli_editor"])
    DisclosureFactory(unit=world["maoshan"], item=world["item"])
    client.force_login(world["wenli_editor"])
    response = client.get("/admin/disclosure/unit/")
    assert response.status_code == 200
    (unit,) = response.context["cl"].result_list
    assert (unit.name, unit.n_drafts, unit.n_pending, unit.n_published) == (
        "文理村",
        1,
        1,
        0,
    )


def test_markup_in_a_disclosure_is_refused_not_stripped(client, world):
    client.force_login(world["wenli_editor"])
    form = {**add_form(world, world["wenli"]), "body": "通知<script>alert(1)</script>"}
    response = client.post(ADMIN + "add/", form)
    assert response.status_code == 200
    assert "内容中含有网页标记" in response.text
    assert not Disclosure.objects.filter(title="新起草的通知").exists()
    form["body"] = "水费 < 2 元/吨"  # not markup: kept as typed
    assert client.post(ADMIN + "add/", form).status_code == 302
    assert Disclosure.objects.get(title="新起草的通知").body == "水费 < 2 元/吨"


def published_notice(world, **kwargs):
    notice = draft(world, **kwargs)
    services.submit(notice, by=world["wenli_editor"])
    review_and_approve(notice, reviewer=world["reviewer"])
    services.publish(notice, by=world["reviewer"])
    notice.refresh_from_db()
    return notice


def test_a_correction_keeps_the_unit_and_item_it_was_published_under(client, world):
    """A published notice's index number names its unit and item: a
    correction changes its text, never those (moving one is withdrawing it and
    publishing anew)."""
    notice = published_notice(world, title="原标题")
    other_item = ItemFactory(code="A10")
    client.force_login(world["town_admin"])
    form = {
        **add_form(world, world["maoshan"]),
        "item": other_item.pk,
        "title": "更正后的标题",
    }
    response = client.post(f"{ADMIN}{notice.pk}/change/", form)
    assert response.status_code == 302
    moved = Disclosure.objects.get(pk=notice.pk)
    assert moved.title == "更正后的标题"  # the correction itself is made
    assert (moved.unit, moved.item) == (notice.unit, notice.item)
    assert moved.index_number == notice.index_number
    # A draft's unit and item are still the editor's to choose.
    second = draft(world)
    client.force_login(world["wenli_editor"])
    form = {**add_form(world, world["wenli"]), "item": other_item.pk}
    assert client.post(f"{ADMIN}{second.pk}/change/", form).status_code == 302
    second.refresh_from_db()
    assert second.item == other_item


def test_an_editor_cannot_narrow_a_public_items_notice(client, world):
    """Scope comes from the item: a 社会公开 item's notice is public, full stop
    (the old narrowing of a published one to 党内 is gone with it)."""
    notice = published_notice(world, title="公开通知")
    client.force_login(world["town_admin"])
    form = {**add_form(world, world["wenli"]), "title": notice.title}
    inner = {**form, "scope": Scope.INNER_PARTY}
    response = client.post(f"{ADMIN}{notice.pk}/change/", inner)
    assert response.status_code == 200
    assert "不能缩小公开范围" in response.text
    notice.refresh_from_db()
    assert notice.scope == Scope.PUBLIC
    client.force_login(world["wenli_editor"])
    response = client.post(ADMIN + "add/", {**add_form(world, world["wenli"]), **inner})
    assert response.status_code == 200
    assert "不能缩小公开范围" in response.text


def test_a_published_branch_notice_is_never_widened_to_the_party(client, world):
    """Who may read it was reviewed: making a 党组织内部 notice 党内 is a new
    review and publication."""
    world["item"].scope = Scope.INNER_PARTY
    world["item"].branch_scope_allowed = True
    world["item"].save()
    notice = published_notice(world, title="党费收缴情况", scope=Scope.BRANCH)
    assert notice.branch == world["wenli"].organisations.branches().get()
    client.force_login(world["town_admin"])
    form = {**add_form(world, world["wenli"]), "title": notice.title}
    response = client.post(
        f"{ADMIN}{notice.pk}/change/", {**form, "scope": Scope.INNER_PARTY}
    )
    assert response.status_code == 200
    assert "不能扩大公开范围" in response.text
    notice.refresh_from_db()
    assert notice.scope == Scope.BRANCH
    client.logout()
    assert client.get(f"/disclosures/{notice.pk}/").status_code == 404


def test_a_correction_of_the_period_stays_in_the_notices_year(client, world):
    """The year is filed (sealed years, the yearly archive) and named by the
    index number: a correction may fix the month, not move the year."""
    notice = published_notice(world, title="月度通知", period="2011-09")
    client.force_login(world["town_admin"])
    form = {**add_form(world, world["wenli"]), "title": notice.title}
    response = client.post(f"{ADMIN}{notice.pk}/change/", {**form, "period": "2012-09"})
    assert response.status_code == 200
    assert "只能在原年度（2011年）内更正所属期间" in response.text
    notice.refresh_from_db()
    assert notice.period == "2011-09"
    response = client.post(f"{ADMIN}{notice.pk}/change/", {**form, "period": "2011-08"})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.period == "2011-08"


def test_a_malformed_period_on_a_published_notice_is_told_what_is_wrong(client, world):
    """A period that is no period has no year: the editor is told its format
    is wrong (not that it moved to another year) and the notice is unchanged."""
    notice = published_notice(world, title="月度通知", period="2011-09")
    client.force_login(world["town_admin"])
    form = {**add_form(world, world["wenli"]), "title": notice.title}
    response = client.post(f"{ADMIN}{notice.pk}/change/", {**form, "period": "20x1-09"})
    assert response.status_code == 200
    assert "只能在原年度" not in response.text
    assert "期间格式" in response.text
    notice.refresh_from_db()
    assert notice.period == "2011-09"


def test_the_units_editor_picker_offers_only_unit_editors(client, world):
    """Issue 18: the 村务管理员 picker listed every account, the party member
    and the reviewer included."""
    client.force_login(world["town_admin"])
    page = client.get(f"/admin/disclosure/unit/{world['wenli'].pk}/change/")
    assert page.status_code == 200
    offered = {
        u.username for u in page.context["adminform"].form.fields["editors"].queryset
    }
    assert offered == {"wenli_editor", "maoshan_editor"}
    # The choices are the validation too: a reviewer's id posted by hand is
    # not a valid choice.
    field = page.context["adminform"].form.fields["editors"]
    with pytest.raises(ValidationError):
        field.clean([world["reviewer"].pk])
    assert "“村务管理员”角色" in page.text


def test_a_scheduled_publication_shows_its_local_time_in_the_list(client, world):
    """The list said 定时发布 in UTC (eight hours early) beside local times."""
    from datetime import UTC, datetime

    DisclosureFactory(
        unit=world["wenli"],
        item=world["item"],
        title="定时发布的通知",
        status=Disclosure.Status.PUBLISHED,
        published_at=datetime(2099, 1, 1, 1, 30, tzinfo=UTC),
    )
    client.force_login(world["town_admin"])
    page = client.get(ADMIN).text
    assert "定时发布：2099-01-01 09:30" in page


def test_view_on_site_previews_a_draft_for_who_may_open_it(client, world):
    """Issue 18: 在站点上查看 on a draft or a submitted item was a 404."""
    item = draft(world, title="起草中的通知")
    url = f"/disclosures/{item.pk}/"
    client.force_login(world["wenli_editor"])
    admin_page = client.get(f"{ADMIN}{item.pk}/change/").text
    assert "在站点上查看" in admin_page
    page = client.get(url)
    assert page.status_code == 200
    assert "预览：本内容尚未发布（草稿）" in page.text and "起草中的通知" in page.text
    assert page["Cache-Control"] == "private, no-store"
    assert page["X-Robots-Tag"] == "noindex"
    # Submitted: the editor and the town's reviewer preview it.
    services.submit(item, by=world["wenli_editor"])
    assert client.get(url).status_code == 200
    client.force_login(world["reviewer"])
    assert "预览" in client.get(url).text
    # Nobody else: another village's editor, a party member, a visitor.
    for who in ["maoshan_editor", "party_member"]:
        client.force_login(world[who])
        assert client.get(url).status_code == 404, who
    client.logout()
    assert client.get(url).status_code == 404


def test_a_published_disclosure_shows_no_preview_note(client, world):
    item = DisclosureFactory(unit=world["wenli"], item=world["item"])
    client.force_login(world["wenli_editor"])
    page = client.get(f"/disclosures/{item.pk}/")
    assert page.status_code == 200 and "预览" not in page.text


def test_an_editor_of_one_village_finds_it_chosen_and_items_by_name(client, world):
    """Issue 18: 公开事项 was a raw-ID box and 单位 was not preselected."""
    client.force_login(world["wenli_editor"])
    page = client.get(ADMIN + "add/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert form.initial["unit"] == world["wenli"].pk
    assert "vForeignKeyRawIdAdminField" not in page.text
    item = world["item"]
    assert f'<option value="{item.pk}">{item.code} {item.name}</option>' in page.text
    # Posting the chosen item works as before; an unknown one is refused.
    data = add_form(world, world["wenli"])
    assert client.post(ADMIN + "add/", {**data, "item": "999999"}).status_code == 200
    assert client.post(ADMIN + "add/", data).status_code == 302


def test_the_town_administrator_chooses_the_unit(client, world):
    client.force_login(world["town_admin"])
    form = client.get(ADMIN + "add/").context["adminform"].form
    assert "unit" not in form.initial
