"""Staff management in one form (issue 18): the town administrator adds a
staff member with role, units and bodies; the pickers offer who fits."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from disclosure import procedure, roles
from tests.factories import (
    PartyMemberFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

ADD = "/admin/auth/user/add/"
User = get_user_model()


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    return {
        "town": town,
        "wenli": wenli,
        "maoshan": maoshan,
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "party_member": PartyMemberFactory(),
    }


def new_staff(**changes):
    data = {
        "username": "li_ming",
        "first_name": "李明",
        "email": "",
        "role": roles.UNIT_EDITOR,
        "password1": "Fengming-li-2026",
        "password2": "Fengming-li-2026",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_adding_staff_anonymous_then_no_permission_then_town_admin(client, world):
    response = client.get(ADD)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(world["editor"])
    assert client.get(ADD).status_code == 403
    response = client.post(ADD, new_staff(units=[world["wenli"].pk]))
    assert response.status_code == 403
    assert not User.objects.filter(username="li_ming").exists()
    client.force_login(world["reviewer"])
    assert client.get(ADD).status_code == 403
    client.force_login(world["town_admin"])
    page = client.get(ADD)
    assert page.status_code == 200
    assert "角色和单位" in page.text and "代表的组织" in page.text


def test_a_unit_editor_in_one_step_refused_then_corrected(client, world):
    client.force_login(world["town_admin"])
    response = client.post(ADD, new_staff())
    assert response.status_code == 200
    assert "村务管理员须至少选择一个负责的单位。" in response.text
    assert not User.objects.filter(username="li_ming").exists()
    # What was typed is kept for the correction.
    assert 'value="李明"' in response.text
    response = client.post(ADD, new_staff(units=[world["wenli"].pk]))
    assert response.status_code == 302
    user = User.objects.get(username="li_ming")
    assert user.is_staff and not user.is_superuser
    assert user.check_password("Fengming-li-2026")
    assert [g.name for g in user.groups.all()] == [roles.UNIT_EDITOR]
    assert list(roles.units_for(user)) == [world["wenli"]]


def test_a_village_approver_acts_for_the_bodies_chosen(client, world):
    client.force_login(world["town_admin"])
    branch = world["wenli"].organisations.get(name="村党支部")
    supervision = world["wenli"].organisations.get(name="村务监督委员会")
    data = new_staff(role=roles.VILLAGE_APPROVER)
    response = client.post(ADD, data)
    assert "村级审批人须至少选择一个代表的组织。" in response.text
    response = client.post(ADD, {**data, "bodies": [supervision.pk]})
    assert "村级审批人不能代表：文理村务监督委员会。" in response.text
    response = client.post(ADD, {**data, "units": [world["wenli"].pk]})
    assert "只有村务管理员负责单位" in response.text
    assert not User.objects.filter(username="li_ming").exists()
    assert client.post(ADD, {**data, "bodies": [branch.pk]}).status_code == 302
    user = User.objects.get(username="li_ming")
    assert procedure.acts_for(user, branch)
    assert not procedure.acts_for(user, supervision)


def test_every_field_is_checked_in_chinese(client, world):
    client.force_login(world["town_admin"])
    response = client.post(
        ADD,
        new_staff(
            username="",
            role="",
            email="not-an-address",
            password2="something-else",
        ),
    )
    assert response.status_code == 200
    for message in ("请填写用户名。", "请选择角色。", "请填写有效的电子邮件地址。"):
        assert message in response.text
    response = client.post(ADD, new_staff(password1="", password2=""))
    assert "请设置密码，或勾选“发送邀请”。" in response.text
    response = client.post(ADD, new_staff(role="超级用户"))
    assert "请从列表中选择角色。" in response.text
    assert not User.objects.filter(username="li_ming").exists()


def test_an_invitation_instead_of_a_password(client, world):
    client.force_login(world["town_admin"])
    data = new_staff(units=[world["wenli"].pk], invite="on", password1="", password2="")
    response = client.post(ADD, data)
    assert "发送邀请须填写电子邮件。" in response.text
    response = client.post(ADD, {**data, "email": "li@example.org"})
    assert response.status_code == 302
    user = User.objects.get(username="li_ming")
    assert not user.has_usable_password()
    (message,) = mail.outbox
    assert message.to == ["li@example.org"]
    assert message.subject == "凤鸣镇公开网后台：请设置您的密码"
    link = next(
        line for line in message.body.splitlines() if "/accounts/reset/" in line
    )
    # The link lets the new member set a password (Django's reset view).
    page = client.get(link.split("testserver", 1)[1], follow=True)
    assert page.status_code == 200
    assert "new_password1" in page.text


def test_the_town_administrator_cannot_make_a_town_administrator(client, world):
    client.force_login(world["town_admin"])
    page = client.get(ADD)
    roles_offered = [
        key for key, _ in page.context["adminform"].form.fields["role"].choices
    ]
    assert roles.TOWN_ADMIN not in roles_offered
    response = client.post(ADD, new_staff(role=roles.TOWN_ADMIN))
    assert response.status_code == 200
    assert not User.objects.filter(username="li_ming").exists()
    # Hostile extras are ignored: no superuser status, no other group.
    client.post(
        ADD,
        new_staff(units=[world["wenli"].pk], is_superuser="on", groups=["1", "2"]),
    )
    user = User.objects.get(username="li_ming")
    assert not user.is_superuser
    assert [g.name for g in user.groups.all()] == [roles.UNIT_EDITOR]


def unit_page(client, world, unit):
    client.force_login(world["town_admin"])
    return client.get(f"/admin/disclosure/unit/{unit.pk}/change/")


def test_leader_and_cadre_pickers_offer_the_towns_staff_only(client, world):
    page = unit_page(client, world, world["wenli"])
    form = page.context["adminform"].form
    for name in ("contact_leader", "village_cadre"):
        offered = {u.username for u in form.fields[name].queryset}
        assert offered == {"town_admin", "reviewer"}
    assert "vForeignKeyRawIdAdminField" not in page.text


def test_body_member_pickers_offer_who_fits_the_unit(client, world):
    approver = staff_user(username="wenli_approver", group=roles.VILLAGE_APPROVER)
    UserFactory(username="resident")
    page = unit_page(client, world, world["wenli"])
    formset = page.context["inline_admin_formsets"][0].formset
    offered = {u.username for u in formset.forms[0].fields["members"].queryset}
    assert offered == {"wenli_approver"}
    page = unit_page(client, world, world["town"])
    formset = page.context["inline_admin_formsets"][0].formset
    offered = {u.username for u in formset.forms[0].fields["members"].queryset}
    assert offered == {"town_admin", "reviewer"}
    assert approver.pk  # made before the page


def test_a_member_whose_role_does_not_fit_the_body_is_refused(client, world):
    staff_user(username="wenli_approver", group=roles.VILLAGE_APPROVER)
    supervisor = staff_user(username="wenli_supervisor", group=roles.SUPERVISOR)
    unit = world["wenli"]
    page = unit_page(client, world, unit)
    data = {}
    for fs in page.context["inline_admin_formsets"]:
        formset = fs.formset
        prefix = formset.prefix
        data[f"{prefix}-TOTAL_FORMS"] = formset.total_form_count()
        data[f"{prefix}-INITIAL_FORMS"] = formset.initial_form_count()
        for n, form in enumerate(formset.forms):
            data[f"{prefix}-{n}-id"] = form.instance.pk
            for name in form.fields:
                value = form.initial.get(name)
                if name == "members":
                    value = [u.pk for u in value] if value else []
                if value is not None:
                    data[f"{prefix}-{n}-{name}"] = getattr(value, "pk", value)
    form = page.context["adminform"].form
    data.update(
        {
            name: getattr(form.initial.get(name), "pk", form.initial.get(name))
            for name in form.fields
            if form.initial.get(name) not in (None, [])
        }
    )
    data["editors"] = [u.pk for u in form.initial.get("editors", [])]
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    forms = page.context["inline_admin_formsets"][0].formset.forms
    branch_row = next(n for n, f in enumerate(forms) if f.instance.name == "村党支部")
    data[f"{prefix}-{branch_row}-members"] = [supervisor.pk]
    url = f"/admin/disclosure/unit/{unit.pk}/change/"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "wenli_supervisor的角色不能代表该组织" in response.text
    assert not unit.organisations.get(name="村党支部").members.exists()
    supervision_row = next(
        n for n, f in enumerate(forms) if f.instance.name == "村务监督委员会"
    )
    data[f"{prefix}-{branch_row}-members"] = []
    data[f"{prefix}-{supervision_row}-members"] = [supervisor.pk]
    assert client.post(url, data).status_code == 302
    assert procedure.acts_for(supervisor, unit.organisations.get(name="村务监督委员会"))
