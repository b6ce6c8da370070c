"""Table-driven hostile input against every public form and query parameter.

Every answer must be a clean 2xx, 3xx or 4xx (never a 500), and no payload
with markup in it may come back unescaped.
"""

import re
from urllib.parse import quote

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from feedback import services
from feedback.models import Submission
from tests.factories import DepartmentFactory, UserFactory
from tests.feedback.test_views import form_data, token
from tests.module_db import fresh, rows_for_the_module

from .conftest import Town, build_town
from .payloads import (
    ALL,
    CONTROL,
    DATE_EXTREMES,
    FTS,
    INVALID_UTF8,
    XSS,
    YEAR_EXTREMES,
    label,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _town(request, django_db_setup, django_db_blocker, tmp_path_factory):
    # Some 150 tests attack the same small town: built once for the module.
    media = tmp_path_factory.mktemp("town-media")

    def build():
        with override_settings(MEDIA_ROOT=media):
            return build_town(), media

    yield from rows_for_the_module(request, django_db_blocker, build)


@pytest.fixture
def town(_town, db, settings) -> Town:
    town, settings.MEDIA_ROOT = _town
    return fresh(town)


MARKUP = set("<>\"'")


def assert_clean(response, payload: str) -> None:
    assert response.status_code < 500, (response.status_code, label(payload))
    body = response.content.decode("utf-8", "replace")
    if MARKUP & set(payload):
        assert payload not in body, f"{label(payload)} reflected raw"
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", body, re.I)
    assert "Traceback" not in body


GET_PARAMS = [
    *[
        ("/disclosures/", p)
        for p in ("unit", "kind", "category", "item", "period", "page")
    ],
    ("/disclosures/", "published_after"),
    ("/disclosures/", "published_before"),
    ("/boards/{slug}/", "period"),
    *[("/feedback/", p) for p in ("kind", "unit", "tag", "status", "channel", "page")],
    ("/feedback/", "received_after"),
    ("/feedback/", "received_before"),
    *[("/compliance/", p) for p in ("town", "year", "as_of", "kind", "period")],
    ("/compliance/export.xlsx", "town"),
    ("/compliance/export.xlsx", "as_of"),
    ("/compliance/{slug}/export.xlsx", "year"),
    ("/compliance/{slug}/export.xlsx", "period"),
    ("/county/", "year"),
    ("/stats/", "town"),
    ("/stats/csv/", "town"),
    ("/feedback/new/", "unit"),
    ("/feedback/new/", "disclosure"),
    ("/feedback/track/", "code"),
    ("/reports/2011/", "town"),
    ("/accounts/login/", "next"),
    ("/admin/login/", "next"),
]


@pytest.mark.parametrize(("path", "param"), GET_PARAMS)
def test_query_parameters_survive_hostile_values(client, town, path, param):
    url = path.format(slug=town.wenli.slug)
    for payload in ALL:
        assert_clean(client.get(url, {param: payload}), payload)


@pytest.mark.parametrize("param", ["q", "page", "unit", "kind"])
def test_search_survives_hostile_values(client, town, param):
    search = reverse("portal:search")
    for payload in [*ALL, *FTS]:
        assert_clean(client.get(search, {param: payload}), payload)


def test_search_never_finds_inner_party_text_anonymously(client, town):
    for query in ("密件", "党内密件标题", town.inner.item.code):
        response = client.get(reverse("portal:search"), {"q": query})
        assert response.status_code < 500
        assert town.inner.title not in response.text
        assert f"/disclosures/{town.inner.pk}/" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/boards/{}/",
        "/boards/{}/print/",
        "/feedback/track/{}/",
        "/catalog/{}/",
        "/disclosures/{}/",
        "/attachments/{}/",
        "/feedback/{}/",
        "/compliance/{}/",
        "/compliance/{}/export.xlsx",
        "/feeds/boards/{}/",
        "/reports/{}/2011/",
        "/reports/{}/2011/pdf/",
    ],
)
def test_path_segments_survive_hostile_values(client, town, path):
    for payload in ALL:
        assert_clean(client.get(path.format(quote(payload, safe=""))), payload)


@pytest.mark.parametrize("path", ["/disclosures/", "/feedback/", "/feedback/track/"])
def test_invalid_utf8_in_the_query_string(client, town, path):
    for raw in INVALID_UTF8:
        query = f"unit={raw}&period={raw}&page={raw}&code={raw}&q={raw}"
        response = client.get(path, QUERY_STRING=query)
        assert response.status_code < 500, raw


def test_null_bytes_are_refused_everywhere(client, town):
    for path, param in GET_PARAMS:
        url = path.format(slug=town.wenli.slug)
        assert client.get(url, {param: "a\x00b"}).status_code == 400, url
    assert client.get("/feedback/track/AB%00/").status_code == 400


# Dates and years -----------------------------------------------------------------

DATE_PARAMS = [
    ("/disclosures/", "published_after"),
    ("/disclosures/", "published_before"),
    ("/feedback/", "received_after"),
    ("/feedback/", "received_before"),
    ("/compliance/", "as_of"),
    ("/compliance/{slug}/", "as_of"),
]
YEAR_PARAMS = [
    ("/compliance/", "year"),
    ("/compliance/{slug}/", "year"),
    ("/stats/", "year"),
    ("/stats/csv/", "year"),
]


@pytest.mark.parametrize(("path", "param"), DATE_PARAMS)
def test_date_filters_refuse_dates_out_of_range_with_a_message(
    client, town, path, param
):
    url = path.format(slug=town.wenli.slug)
    for value in DATE_EXTREMES:
        response = client.get(url, {param: value})
        assert response.status_code == 400, (url, value)
        assert "日期" in response.text, (url, value)
    for value in ("0001-01-01", "9999-12-31"):
        assert "超出范围" in client.get(url, {param: value}).text
    for value in ("1949-01-01", "2011-09-01", "2100-12-31"):
        assert client.get(url, {param: value}).status_code == 200, (url, value)


@pytest.mark.parametrize(("path", "param"), YEAR_PARAMS)
def test_year_filters_refuse_years_out_of_range_with_a_message(
    client, town, path, param
):
    url = path.format(slug=town.wenli.slug)
    for value in YEAR_EXTREMES:
        response = client.get(url, {param: value})
        assert response.status_code == 400, (url, value)
        assert "年份" in response.text, (url, value)
    assert client.get(url, {param: "2011"}).status_code == 200


@pytest.mark.parametrize(
    "changelist",
    ["/admin/disclosure/disclosure/", "/admin/feedback/submission/"],
)
def test_admin_date_drill_down_refuses_years_out_of_range(
    admin_client, town, changelist
):
    field = "published_at" if "disclosure" in changelist else "received_at"
    for year in YEAR_EXTREMES:
        for extra in ("", f"&{field}__month=12", f"&{field}__month=12&{field}__day=31"):
            response = admin_client.get(f"{changelist}?{field}__year={year}{extra}")
            assert response.status_code == 302, (year, extra)
            assert response["Location"].endswith("?e=1")
    assert admin_client.get(f"{changelist}?{field}__year=2011").status_code == 200


def admin_date_fields():
    """Every date field of every model listed in the admin, third parties' too."""
    from django.contrib import admin
    from django.db import models

    for model in admin.site._registry:
        for field in model._meta.concrete_fields:
            if isinstance(field, models.DateField):
                yield pytest.param(
                    model, field.name, id=f"{model._meta.label}.{field.name}"
                )


@pytest.mark.parametrize(("model", "field"), list(admin_date_fields()))
def test_every_admin_list_refuses_a_year_lookup_out_of_range(
    admin_client, town, model, field
):
    """The admin takes a lookup on any field of the model from the query, not
    only the date hierarchy's: `?date_joined__year=0` was a 500."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    for year in ("0", "-1", "99999"):
        for lookup in ("__year", "__year__gte", "__iso_year"):
            response = admin_client.get(f"{url}?{field}{lookup}={year}")
            assert response.status_code == 302, (lookup, year)
            assert response["Location"].endswith("?e=1")
    assert admin_client.get(f"{url}?{field}__year=2011").status_code == 200


def admin_lists():
    from django.contrib import admin

    for model in admin.site._registry:
        opts = model._meta
        yield pytest.param(
            f"admin:{opts.app_label}_{opts.model_name}_changelist", id=opts.label
        )


@pytest.mark.parametrize("changelist", list(admin_lists()))
def test_every_admin_list_filter_survives_hostile_values(
    admin_client, town, changelist
):
    """Each parameter the list's filters offer (read from its filter links),
    sent with what a vandal types: the list with a note, never a 500."""
    from urllib.parse import parse_qsl, urlsplit

    url = reverse(changelist)
    page = admin_client.get(url).text
    sidebar = page.split('id="changelist-filter"', 1)[-1]
    names = {
        name
        for href in re.findall(r'href="(\?[^"]*)"', sidebar)
        for name, _value in parse_qsl(urlsplit(href.replace("&amp;", "&")).query)
    }
    for name in names:
        for value in ("abc", "1e9", "-1", "99999999999999999999", "甲\x01乙"):
            response = admin_client.get(url, {name: value})
            assert response.status_code in (200, 302), (name, value)


def test_scheduled_publication_time_out_of_range_is_a_form_error(client, town):
    from disclosure import services
    from tests.factories import SuperuserFactory, acting_for

    draft = town.maoshan_draft
    services.submit(draft, by=SuperuserFactory(username="someone"))
    services.review(
        draft,
        by=acting_for(SuperuserFactory(username="reviewing"), draft, "review"),
        secrecy_checked=True,
        secrecy_conclusion="不涉密",
    )
    client.force_login(acting_for(SuperuserFactory(), draft, "approve"))
    url = f"/admin/disclosure/disclosure/{draft.pk}/transition/approve/"
    for value in ("0001-01-01T00:00", "9999-12-31T23:59"):
        response = client.post(url, {"publish_at": value, "comment": ""})
        assert response.status_code == 200, value
        assert "超出范围" in response.text
    draft.refresh_from_db()
    assert draft.status == "reviewed"


# Cookies and headers -------------------------------------------------------------

# What a browser holding a damaged cookie sends: the value quoted, NUL in
# octal, which Django's cookie parser turns back into a NUL byte.
BROKEN_COOKIES = [
    'sessionid="aaaa\\000bbbb"',
    'csrftoken="abc\\000def"',
    'elder="1\\000"',
    'messages="x\\000y"',
    'feedback_thanks="a\\000b"',
    'other="\\000"',
]
COOKIE_PAGES = ["/", "/disclosures/", "/feedback/", "/feedback/new/", "/admin/login/"]


@pytest.mark.parametrize("cookie", BROKEN_COOKIES)
def test_a_cookie_with_a_null_byte_is_dropped_not_a_500(client, town, cookie):
    # PostgreSQL refuses NUL in a query parameter (the session look-up was a
    # 500). A damaged cookie must not lock a resident out of the site: it is
    # ignored and the browser told to forget it.
    name = cookie.split("=")[0]
    for url in COOKIE_PAGES:
        response = client.get(url, HTTP_COOKIE=cookie)
        assert response.status_code == 200, (url, cookie)
        # Forgotten, or replaced by a good one (a form page's new CSRF token).
        replaced = response.cookies[name]
        assert replaced["max-age"] == 0 or replaced.value, (url, cookie)
        assert "\x00" not in replaced.value


def test_a_broken_cookie_does_not_log_a_member_out(client, town, member):
    client.force_login(member)
    session = client.cookies["sessionid"].value
    response = client.get(
        f"/disclosures/{town.inner.pk}/",
        HTTP_COOKIE=f'sessionid={session}; elder="1\\000"',
    )
    assert response.status_code == 200
    assert "elder" not in response.text.split("<body", 1)[0]
    assert response.cookies["elder"]["max-age"] == 0


def test_a_post_with_a_broken_session_cookie_is_answered(client, town):
    response = client.post(
        "/accounts/login/",
        {"username": "nobody", "password": "x"},
        HTTP_COOKIE='sessionid="a\\000b"',
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "HTTP_USER_AGENT",
        "HTTP_REFERER",
        "HTTP_X_REAL_IP",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_ACCEPT_LANGUAGE",
        "HTTP_IF_NONE_MATCH",
    ],
)
def test_a_header_with_a_null_byte_is_refused(client, town, settings, header):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    for url in ("/", "/feedback/new/", "/accounts/login/"):
        response = client.get(url, **{header: "a\x00b"})
        assert response.status_code == 400, (url, header)
        assert "请求" in response.text
    response = client.post(
        "/accounts/login/", {"username": "a", "password": "b"}, **{header: "1\x00"}
    )
    assert response.status_code == 400


def test_repeated_and_array_parameters(client, town):
    query = "unit=a&unit=b&unit[]=c&page=1&page=2&period[]=2011-09"
    for path in ("/disclosures/", "/feedback/", f"/boards/{town.wenli.slug}/"):
        assert client.get(path, QUERY_STRING=query).status_code < 500


# Forms --------------------------------------------------------------------------

FEEDBACK_FIELDS = [
    "kind",
    "unit",
    "item",
    "disclosure",
    "tag",
    "title",
    "text",
    "name",
    "phone",
    "challenge",
    "token",
    "website",
    "consent_to_publish",
]


@pytest.fixture
def no_rate_limit(settings):
    settings.FEEDBACK_RATE_LIMIT = 100_000


@pytest.mark.parametrize("field", FEEDBACK_FIELDS)
def test_feedback_form_fields_survive_hostile_values(
    client, town, field, no_rate_limit
):
    for payload in ALL:
        data = form_data(town.wenli, **{field: payload})
        assert_clean(client.post("/feedback/new/", data), payload)


def test_markup_sent_to_the_wall_is_refused_with_a_message_and_kept_in_the_form(
    client, town, no_rate_limit
):
    # Refused, not stripped: nothing a resident typed is silently changed.
    # ("javascript:…" without a tag is plain text: stored, and shown escaped.)
    for n, payload in enumerate(p for p in XSS if "<" in p):
        data = form_data(
            town.wenli,
            title=f"标题{n}",
            text=f"内容{n}{payload}",
            consent_to_publish="on",
            token=token(nonce=f"{n:032d}"),
        )
        response = client.post("/feedback/new/", data)
        assert response.status_code == 200
        assert "内容中含有网页标记" in response.text
        assert_clean(response, payload)
    assert not Submission.objects.filter(title__startswith="标题").exists()


def test_angle_brackets_that_are_not_markup_are_kept_as_typed(
    client, town, no_rate_limit
):
    data = form_data(
        town.wenli,
        title="水价是否 < 2 元",
        text="听说水价 < 2 元/吨，而且 3>2，是真的吗？",
        consent_to_publish="on",
    )
    assert client.post("/feedback/new/", data).status_code == 302
    stored = Submission.objects.get(title="水价是否 < 2 元")
    assert stored.text == "听说水价 < 2 元/吨，而且 3>2，是真的吗？"


def test_tracking_rating_form_survives_hostile_values(client, town):
    staff = UserFactory(username="answerer", is_staff=True)
    answered = services.answer(
        town.submission, by=staff, department=DepartmentFactory(), text="已答复。"
    )
    url = answered.get_tracking_url()
    for payload in ALL:
        response = client.post(url, {"rating": payload, "comment": payload})
        assert_clean(response, payload)
    response = client.post(url, {"rating": "satisfied", "comment": XSS[0]})
    assert response.status_code == 302
    assert_clean(client.get(url), XSS[0])


# Control characters -------------------------------------------------------------
# Refused with a message naming the place, never stored, never stripped.

REFUSED = "控制字符"


@pytest.mark.parametrize("field", ["title", "text", "name"])
def test_feedback_form_refuses_control_characters(client, town, field, no_rate_limit):
    for n, payload in enumerate(CONTROL):
        data = form_data(
            town.wenli,
            title=f"标题{n}",
            consent_to_publish="on",
            token=token(nonce=f"{n:032d}"),
        )
        data[field] = f"{data[field] or '张三'}{payload}"
        response = client.post("/feedback/new/", data)
        assert response.status_code == 200, (field, label(payload))
        assert REFUSED in response.text, (field, label(payload))
    assert not Submission.objects.filter(title__startswith="标题").exists()


def test_feedback_form_phone_with_control_characters_is_refused(
    client, town, no_rate_limit
):
    data = form_data(town.wenli, phone="139\x011234\x1b5678")
    response = client.post("/feedback/new/", data)
    assert response.status_code == 200
    assert "电话号码格式不正确" in response.text


def test_rating_comment_refuses_control_characters(client, town):
    staff = UserFactory(username="answerer", is_staff=True)
    answered = services.answer(
        town.submission, by=staff, department=DepartmentFactory(), text="已答复。"
    )
    url = answered.get_tracking_url()
    for payload in CONTROL:
        response = client.post(url, {"rating": "unsatisfied", "comment": payload})
        assert response.status_code == 200, label(payload)
        assert REFUSED in response.text
    answered.refresh_from_db()
    assert answered.rating == ""


def test_search_refuses_control_characters_with_a_message(client, town):
    for payload in CONTROL:
        response = client.get("/search/", {"q": payload})
        assert response.status_code == 400, label(payload)
        assert REFUSED in response.text


def test_following_refuses_control_characters_in_the_address(client, town):
    from composition.models import Subscription

    for address in ('"\x01"@example.org', "a\x7fb@example.org", "\u202eab@example.org"):
        response = client.post("/follow/", {"email": address, "unit": ""})
        # (Django's address check lets a quoted "\x01" through.)
        assert response.status_code == 400, repr(address)
        assert REFUSED in response.text
    assert not Subscription.objects.exists()


def test_workflow_comments_refuse_control_characters(client, town):
    from disclosure import services as workflow
    from tests.factories import SuperuserFactory

    admin = SuperuserFactory()
    workflow.submit(town.maoshan_draft, by=SuperuserFactory(username="editor"))
    client.force_login(admin)
    base = "/admin/disclosure/disclosure/"
    for name, target in (("return", town.maoshan_draft), ("withdraw", town.public)):
        url = f"{base}{target.pk}/transition/{name}/"
        for payload in CONTROL:
            response = client.post(url, {"comment": f"原因{payload}"})
            assert response.status_code == 200, (name, label(payload))
            assert REFUSED in response.text
    town.maoshan_draft.refresh_from_db()
    town.public.refresh_from_db()
    assert (town.maoshan_draft.status, town.public.status) == ("submitted", "published")


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_login_forms_survive_hostile_values(client, town, url):
    for n, payload in enumerate(ALL):
        # A different address per attempt: the lock-out is tested on its own.
        ip = f"127.0.{n // 200}.{n % 200 + 1}"
        response = client.post(
            url, {"username": payload, "password": payload}, REMOTE_ADDR=ip
        )
        assert_clean(response, payload)
        assert "_auth_user_id" not in client.session


# CSRF -------------------------------------------------------------------------

CSRF_POSTS = [
    "/feedback/new/",
    "/accounts/login/",
    "/admin/login/",
    "/accounts/logout/",
]


def test_posts_without_a_csrf_token_are_refused(town):
    client = Client(enforce_csrf_checks=True)
    targets = [*CSRF_POSTS, reverse("portal:follow")]
    targets.append(town.submission.get_tracking_url())
    before = Submission.objects.count()
    for url in targets:
        response = client.post(url, form_data(town.wenli) | {"rating": "satisfied"})
        assert response.status_code == 403, url
        assert "无权访问" in response.text
    assert Submission.objects.count() == before
