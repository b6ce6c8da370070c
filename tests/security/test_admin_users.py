"""Staff accounts: the town administrator gives roles, never more than a role.

The 镇管理员 group may add and change users (to bind editors and reset a
village editor's password). It must not reach beyond the role groups: no
superuser status, no single permissions, no group outside the roles, and no
way into a superuser's account. Editors and reviewers get no user pages.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from disclosure import roles
from tests.factories import (
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    review_and_approve,
    role_group,
    staff_user,
)

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"
GROUPS = "/admin/auth/group/"


@pytest.fixture
def people():
    wenli = UnitFactory(name="文理村", parent=TownFactory())
    return {
        "superuser": SuperuserFactory(),
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "wenli_editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
    }


def user_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on",
        "groups": [g.pk for g in user.groups.all()],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2011-09-01",
        "date_joined_1": "10:00:00",
    }
    data.update(changes)
    return data


def reload(user):
    return get_user_model().objects.get(pk=user.pk)


def test_town_admin_cannot_make_anyone_superuser(client, people):
    town_admin = people["town_admin"]
    client.force_login(town_admin)
    for target in (town_admin, people["wenli_editor"]):
        response = client.post(
            f"{USERS}{target.pk}/change/", user_form(target, is_superuser="on")
        )
        assert response.status_code == 302, target
        assert not reload(target).is_superuser, target


def test_town_admin_cannot_grant_single_permissions(client, people):
    town_admin = people["town_admin"]
    grant = Permission.objects.get(codename="change_group")
    client.force_login(town_admin)
    client.post(
        f"{USERS}{town_admin.pk}/change/",
        user_form(town_admin, user_permissions=[grant.pk]),
    )
    assert not reload(town_admin).user_permissions.exists()
    assert not reload(town_admin).has_perm("auth.change_group")
    page = client.get(f"{USERS}{town_admin.pk}/change/")
    assert 'name="is_superuser"' not in page.text
    assert 'name="user_permissions"' not in page.text


def test_town_admin_gives_only_role_groups(client, people):
    everything = Group.objects.create(name="系统维护")
    everything.permissions.set(Permission.objects.all())
    editor = people["wenli_editor"]
    client.force_login(people["town_admin"])
    response = client.post(
        f"{USERS}{editor.pk}/change/",
        user_form(editor, groups=[everything.pk]),
    )
    assert response.status_code == 200  # the form refuses the choice
    assert not reload(editor).groups.filter(pk=everything.pk).exists()
    reviewer = role_group(roles.REVIEWER)
    response = client.post(
        f"{USERS}{editor.pk}/change/", user_form(editor, groups=[reviewer.pk])
    )
    assert response.status_code == 302
    assert list(reload(editor).groups.values_list("name", flat=True)) == [
        roles.REVIEWER
    ]


def test_town_admin_cannot_touch_a_superusers_account(client, people):
    superuser = people["superuser"]
    client.force_login(people["town_admin"])
    response = client.post(
        f"{USERS}{superuser.pk}/password/",
        {"password1": "taken-over-2011!", "password2": "taken-over-2011!"},
    )
    assert response.status_code == 403
    assert not reload(superuser).check_password("taken-over-2011!")
    response = client.post(
        f"{USERS}{superuser.pk}/change/",
        user_form(superuser, is_staff="", email="x@example.org"),
    )
    assert response.status_code == 403
    assert reload(superuser).is_staff


def test_town_admin_still_resets_an_editors_password(client, people):
    editor = people["wenli_editor"]
    client.force_login(people["town_admin"])
    response = client.post(
        f"{USERS}{editor.pk}/password/",
        {"password1": "new-wenli-2011!", "password2": "new-wenli-2011!"},
    )
    assert response.status_code == 302
    assert reload(editor).check_password("new-wenli-2011!")


def test_superuser_keeps_every_user_field(client, people):
    client.force_login(people["superuser"])
    page = client.get(f"{USERS}{people['town_admin'].pk}/change/")
    assert 'name="is_superuser"' in page.text
    assert 'name="user_permissions"' in page.text


@pytest.mark.parametrize("who", ["reviewer", "wenli_editor"])
def test_editors_and_reviewers_get_no_user_or_group_pages(client, people, who):
    target = people["wenli_editor"]
    client.force_login(people[who])
    for url in (
        USERS,
        f"{USERS}add/",
        f"{USERS}{target.pk}/change/",
        f"{USERS}{target.pk}/password/",
        f"{USERS}{target.pk}/history/",
        GROUPS,
        f"{GROUPS}add/",
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(
        f"{USERS}{target.pk}/change/", user_form(target, is_superuser="on")
    )
    assert response.status_code == 403
    assert not reload(target).is_superuser


def test_users_are_added_with_no_more_than_a_role(client, people):
    client.force_login(people["town_admin"])
    response = client.post(
        f"{USERS}add/",
        {
            "username": "new_clerk",
            "password1": "clerk-pass-2011!",
            "password2": "clerk-pass-2011!",
            "usable_password": "true",
            "role": roles.INSPECTOR,
            "is_superuser": "on",
            "groups": [role_group(roles.TOWN_ADMIN).pk],
        },
    )
    assert response.status_code == 302
    clerk = get_user_model().objects.get(username="new_clerk")
    assert not clerk.is_superuser
    assert [g.name for g in clerk.groups.all()] == [roles.INSPECTOR]


def test_an_account_with_more_than_a_role_is_left_to_superusers(client, people):
    maintainer = staff_user(username="maintainer", group=roles.REVIEWER)
    maintainer.user_permissions.add(Permission.objects.get(codename="view_group"))
    client.force_login(people["town_admin"])
    response = client.post(
        f"{USERS}{maintainer.pk}/change/", user_form(maintainer, is_staff="")
    )
    assert response.status_code == 403
    assert reload(maintainer).user_permissions.exists()
    assert reload(maintainer).is_staff


# Who did what stays on record --------------------------------------------------


def acted_in_every_record(editor, town_admin):
    """An editor who drafted, edited and submitted; a town administrator who
    published, closed a year and handled a 回音壁 case."""
    from disclosure import services as disclosure_services
    from feedback import services as feedback_services
    from tests.factories import DepartmentFactory, DisclosureFactory, SubmissionFactory

    unit = editor.edited_units.get()
    draft = DisclosureFactory(
        unit=unit, status="draft", published_at=None, created_by=editor
    )
    draft._history_user = editor
    draft.title = "改过的标题"
    draft.save()
    disclosure_services.submit(draft, by=editor)
    review_and_approve(draft, reviewer=town_admin)
    disclosure_services.publish(draft, by=town_admin)
    case = SubmissionFactory(unit=unit)
    feedback_services.accept(case, by=town_admin, department=DepartmentFactory())
    return draft, case


def test_a_staff_account_that_acted_cannot_be_deleted(client, people):
    editor, town_admin = people["wenli_editor"], people["town_admin"]
    draft, case = acted_in_every_record(editor, town_admin)
    client.force_login(people["superuser"])
    for user in (editor, town_admin):
        page = client.get(f"{USERS}{user.pk}/delete/")
        assert page.context["protected"], user
        client.post(f"{USERS}{user.pk}/delete/", {"post": "yes"})
        assert get_user_model().objects.filter(pk=user.pk).exists()
    # Also from a shell: the database keeps who did each step.
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        editor.delete()
    actors = set(draft.events.values_list("actor__username", flat=True))
    assert actors == {"wenli_editor", "town_admin", "approver_of_town_admin"}
    assert case.events.get().user == town_admin
    assert {v.history_user for v in draft.history.all()} >= {editor}


def test_an_editor_who_only_edited_a_draft_cannot_be_deleted(client, people):
    from tests.factories import DisclosureFactory

    editor = people["wenli_editor"]
    draft = DisclosureFactory(
        unit=editor.edited_units.get(), status="draft", published_at=None
    )
    draft._history_user = editor
    draft.body = "改过的正文"
    draft.save()
    client.force_login(people["superuser"])
    client.post(f"{USERS}{editor.pk}/delete/", {"post": "yes"})
    assert get_user_model().objects.filter(pk=editor.pk).exists()
    client.post(
        USERS,
        {"action": "delete_selected", "_selected_action": [editor.pk], "post": "yes"},
    )
    assert get_user_model().objects.filter(pk=editor.pk).exists()


def test_an_account_that_never_acted_can_still_be_deleted(client, people):
    client.force_login(people["superuser"])
    reviewer = people["reviewer"]
    client.post(f"{USERS}{reviewer.pk}/delete/", {"post": "yes"})
    assert not get_user_model().objects.filter(pk=reviewer.pk).exists()
