"""The session's user read from kept SQL (core.auth.ModelBackend): the same
user Django's backend gives, with its checks (a deactivated account, a
changed password); a session logged in under Django's backend stays logged
in (core.sessions); a session naming no real user is a visitor."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.test import Client

from core import auth, compiled
from tests.factories import PartyMemberFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_compiled_plans")]


def user_of(client: Client):
    return client.get("/").wsgi_request.user


def test_the_session_user_is_read_from_kept_sql():
    members = [PartyMemberFactory(username=f"member{n}") for n in range(3)]
    clients = []
    for member in members:
        client = Client()
        client.force_login(member)
        clients.append(client)
    for _ in range(2):
        for member, client in zip(members, clients, strict=True):
            user = user_of(client)
            assert user.is_authenticated and user.pk == member.pk
            assert user.username == member.username
    plans = [p for k, p in compiled._plans.items() if k[3] == ("session-user",)]
    assert len(plans) == 1 and plans[0] is not None  # one plan, every user


def test_a_deactivated_account_is_logged_out_at_its_next_request():
    member = PartyMemberFactory(username="leaving")
    client = Client()
    client.force_login(member)
    assert user_of(client).is_authenticated
    member.is_active = False
    member.save()
    assert not user_of(client).is_authenticated


def test_a_changed_password_logs_the_other_sessions_out():
    member = PartyMemberFactory(username="changing")
    client = Client()
    client.force_login(member)
    assert user_of(client).is_authenticated
    member.set_password("a-new-password-2026")
    member.save()
    assert not user_of(client).is_authenticated


def test_a_session_from_before_names_djangos_backend_and_stays_logged_in():
    member = PartyMemberFactory(username="earlier")
    client = Client()
    client.force_login(member, backend=auth.LEGACY_PATH)
    assert client.session[BACKEND_SESSION_KEY] == auth.PATH  # read as ours
    user = user_of(client)
    assert user.is_authenticated and user.pk == member.pk


# A session is kept on the server (its key alone in the cookie): what it
# names is what a log-in wrote, an id; a user since deleted, or a number no
# user has (those past the column's range run as Django runs them).
@pytest.mark.parametrize(
    "user_id", ["deleted", "-1", "0", "2147483648", "99999999999999999999"]
)
def test_a_session_naming_no_real_user_is_a_visitor(user_id):
    UserFactory(username="someone")
    client = Client()
    client.force_login(UserFactory(username="real"))
    if user_id == "deleted":
        gone = UserFactory(username="gone")
        user_id = str(gone.pk)
        gone.delete()
    session = client.session
    session[SESSION_KEY] = user_id
    session.save()
    response = client.get("/")
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
