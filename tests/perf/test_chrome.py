"""The header and footer kept per process (core/templatetags/chrome.py): a
page made with the kept copy is the same bytes as the page rendered whole,
for a visitor, a party member and staff; what differs per request (the
address, the name, the CSRF token, the text size) follows each request; a
copy made for one kind of reader never shows another's header."""

import re

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils.html import escape

from core.slots import slot
from core.templatetags import chrome
from disclosure.models import Unit
from tests.core.test_registries_on_the_demo import cached_pages
from tests.factories import PartyMemberFactory, UserFactory, staff_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("values_only")]

_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]*)"')
HOSTILE = (
    "?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&x=%22%27%26amp%3B"
    "&bidi=%E2%80%AEevil&zh=%E5%85%AC%E5%BC%80"
)


@pytest.fixture(autouse=True)
def _fresh_copies():
    chrome.forget()
    yield
    chrome.forget()


# The 回音壁 form's own token, new each render.
_FORM_TOKEN = re.compile(rb'name="token" value="[^"]*"')


def body(response) -> bytes:
    masked = _CSRF.sub(b'name="csrfmiddlewaretoken" value=""', response.content)
    return _FORM_TOKEN.sub(b'name="token" value=""', masked)


def urls() -> list[str]:
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    return [
        *cached_pages().values(),
        f"/disclosures/?unit={unit.slug}",
        "/disclosures/" + HOSTILE,
        "/disclosures/999999999/",  # a 404 page has the chrome too
        "/accounts/login/?next=/boards/",
    ]


def clients() -> dict[str, Client]:
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    member, staff = Client(), Client()
    member.force_login(PartyMemberFactory(username="chrome<b>&member", branch_of=unit))
    staff.force_login(staff_user(username="chrome_staff", group="审核人"))
    return {"visitor": Client(), "member": member, "staff": staff}


@pytest.mark.parametrize("who", ["visitor", "member", "staff"])
@pytest.mark.parametrize("size", ["0", "2"])
def test_a_page_with_the_kept_chrome_is_the_page_rendered_whole(
    # The pages read whole, then with the chrome kept: on one day (a board
    # names the year).
    away_from_midnight,
    demo,
    settings,
    who,
    size,
):
    client = clients()[who]
    if size != "0":
        client.cookies["elder"] = size
    pages = urls()
    settings.PORTAL_CHROME_KEPT = False
    whole = {url: body(client.get(url)) for url in pages}
    assert len(set(whole.values())) == len(pages)
    settings.PORTAL_CHROME_KEPT = True
    for _ in range(2):  # the copy made, then read
        for url in pages:
            assert body(client.get(url)) == whole[url], url
    assert chrome._kept  # the copies were used


def test_each_request_gets_its_own_address_name_and_token(demo):
    clients_ = clients()
    member = clients_["member"]
    for url in ("/", "/disclosures/" + HOSTILE):
        first = member.get(url).content.decode()
        # This address, escaped, in the size form; no log-in link.
        assert f'name="next" value="{escape(url)}"' in first
        assert escape("chrome<b>&member") in first
        assert "党员登录" not in first
    token_a = _CSRF.search(member.get("/").content).group(1)
    token_b = _CSRF.search(member.get("/").content).group(1)
    assert token_a and token_b and token_a != token_b  # a new mask each time
    # The token is the session's: it is accepted by the log-out form.
    out = member.post("/accounts/logout/", {"csrfmiddlewaretoken": token_a})
    assert out.status_code in (200, 302)


def test_a_copy_never_shows_one_readers_header_to_another(demo):
    c = clients()
    staff_page = c["staff"].get("/").content.decode()
    member_page = c["member"].get("/").content.decode()
    visitor_page = c["visitor"].get("/").content.decode()
    assert "chrome_staff" in staff_page and "/admin/" in staff_page
    assert "chrome_staff" not in member_page and 'href="/admin/"' not in member_page
    assert escape("chrome<b>&member") in member_page
    for name in ("chrome_staff", escape("chrome<b>&member"), "退出"):
        assert name not in visitor_page
    assert "csrfmiddlewaretoken" not in visitor_page
    assert "党员登录" in visitor_page
    # A visitor's page sets no CSRF cookie (it may be kept for everyone).
    assert "csrftoken" not in c["visitor"].get("/").cookies


def test_two_members_share_a_copy_each_with_their_own_name(demo):
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    one, two = Client(), Client()
    one.force_login(PartyMemberFactory(username="member_one", branch_of=unit))
    two.force_login(PartyMemberFactory(username="member_two", branch_of=unit))
    page_one = one.get("/boards/").content.decode()
    page_two = two.get("/boards/").content.decode()
    assert "member_one" in page_one and "member_two" not in page_one
    assert "member_two" in page_two and "member_one" not in page_two


def test_a_renamed_user_is_shown_by_the_new_name_at_once(demo):
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    user = PartyMemberFactory(username="old_name", branch_of=unit)
    client = Client()
    client.force_login(user)
    assert "old_name" in client.get("/").content.decode()
    user.username = "new_name"
    user.save()
    page = client.get("/").content.decode()
    assert "new_name" in page and "old_name" not in page


def test_a_slot_in_the_address_is_shown_as_written(demo):
    """The address is filled in after the copy is read, in one pass: a slot's
    text in it (were the secret known) is not filled in again."""
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    client = Client()
    client.force_login(PartyMemberFactory(username="slot_member", branch_of=unit))
    marker = slot("chrome-user_name")
    # Sent as it is ("@" unencoded), as a browser may.
    page = client.get("/disclosures/", QUERY_STRING=f"q={marker}").content.decode()
    assert page.count("slot_member") == 1  # the header's name only
    assert f'name="next" value="/disclosures/?q={marker}"' in page


def test_the_copy_follows_the_site_name_and_staff_flag(demo, settings):
    settings.PORTAL_SITE_NAME = "甲镇公开网"
    assert "甲镇公开网" in Client().get("/").content.decode()
    settings.PORTAL_SITE_NAME = "乙镇公开网"
    page = Client().get("/").content.decode()
    assert "乙镇公开网" in page and "甲镇公开网" not in page

    user = UserFactory(username="soon_staff")
    client = Client()
    client.force_login(user)
    assert 'href="/admin/"' not in client.get("/feedback/mine/").content.decode()
    user.is_staff = True
    user.save()
    assert 'href="/admin/"' in client.get("/feedback/mine/").content.decode()


def test_the_copy_follows_the_url_prefix(demo, settings):
    """A copy made under one script prefix (a site served under a path) is
    not served under another."""
    from django.urls import set_script_prefix

    request = RequestFactory().get("/")
    page = Template('{% load chrome %}{% chrome "includes/footer.html" %}')
    try:
        set_script_prefix("/one/")
        first = page.render(Context({"request": request}))
        set_script_prefix("/two/")
        second = page.render(Context({"request": request}))
    finally:
        set_script_prefix("/")
    assert 'href="/one/' in first and 'href="/two/' in second
    assert "/one/" not in second


def test_nothing_is_kept_under_debug(demo, settings):
    settings.DEBUG = True
    request = RequestFactory().get("/")
    Template('{% load chrome %}{% chrome "includes/footer.html" %}').render(
        Context({"request": request})
    )
    assert not chrome._kept


def test_a_changed_setting_makes_the_copies_again(settings, _demo_town):
    """The style sheet links follow the static files' settings (a test's
    override, as tests/e2e/test_as_deployed.py makes of the collected,
    hashed files): the copies made before are dropped."""
    settings.PORTAL_CHROME_KEPT = True
    assert 'href="/static/css/portal.css"' in Client().get("/").text
    settings.STATIC_URL = "/assets/"
    page = Client().get("/").text
    assert 'href="/assets/css/portal.css"' in page
    assert "/static/css/portal.css" not in page


def test_a_script_in_a_name_or_an_address_comes_out_inert(demo):
    """What a request brings (the user's name, the page's address) is filled
    into the kept chrome escaped: a <script> in either is text."""
    unit = Unit.objects.filter(parent__isnull=False).order_by("pk").first()
    client = Client()
    client.force_login(
        PartyMemberFactory(username="<script>alert(1)</script>", branch_of=unit)
    )
    for _ in range(2):  # the copy made, then read
        page = client.get(
            "/disclosures/", QUERY_STRING="q=<script>alert(2)</script>"
        ).content.decode()
        assert "<script>alert(" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        next_value = re.search(r'name="next" value="([^"]*)"', page)[1]
        assert next_value.startswith("/disclosures/?q=")
        assert "<" not in next_value and "alert(2)" in next_value
