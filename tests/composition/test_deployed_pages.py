"""The pages this round added, as deployed: the production settings that
deploy/env.example ships (DEBUG off, HTTPS behind nginx, the production host),
on the demo town. A page that works only under DEBUG=1 does not work."""

import pytest

from tests.deployed import apply_deployed_settings

PAGES = {
    # path: content type
    "/": "text/html",
    "/boards/wenli/": "text/html",
    "/compliance/?year=2011": "text/html",
    "/compliance/wenli/?year=2011&as_of=2011-10-01": "text/html",
    "/compliance/export.xlsx?year=2011": "application/vnd.openxmlformats",
    "/compliance/wenli/export.xlsx?year=2011": "application/vnd.openxmlformats",
    "/county/": "text/html",
    "/reports/": "text/html",
    "/reports/fengming/2011/": "text/html",
    "/reports/fengming/2011/pdf/": "application/pdf",
    "/feedback/": "text/html",
    "/feedback/print/wenli/2011-08/": "text/html",
    "/feedback/print/wenli/2011-08.pdf": "application/pdf",
    "/feedback/print/wenli/2011-08/?size=a3": "text/html",
    "/stats/": "text/html",
    # 依申请公开 and the 政府信息公开 pages (issue 21).
    "/yishenqing/": "text/html",
    "/yishenqing/track/": "text/html",
    "/yishenqing/track/SQ2011A002/": "text/html",
    "/yishenqing/track/SQ2011A002/letter/": "text/html",
    "/yishenqing/track/SQ2011A002/letter.pdf": "application/pdf",
    "/guide/": "text/html",
    "/guide/affairs/": "text/html",
    "/reports/gov/2011/": "text/html",
    "/reports/gov/fengming/2011/pdf/": "application/pdf",
}


@pytest.mark.parametrize("path", PAGES)
def test_new_pages_work_as_deployed(demo, client, settings, path):
    headers = apply_deployed_settings(settings)
    assert settings.DEBUG is False
    response = client.get(path, **headers)
    assert response.status_code == 200, path
    assert response["Content-Type"].startswith(PAGES[path])


def test_a_members_own_cases_as_deployed(demo, client, settings):
    headers = apply_deployed_settings(settings)
    mine = client.get("/feedback/mine/", **headers)
    assert mine.status_code == 302 and "/accounts/login/" in mine["Location"]
    assert client.login(username="party_member", password="fengming-party-2011")
    page = client.get("/feedback/mine/", **headers)
    assert page.status_code == 200
    assert "我的意见建议" in page.text


def test_bad_input_on_the_new_pages_is_a_clear_answer_as_deployed(
    demo, client, settings
):
    headers = apply_deployed_settings(settings)
    for path, status in [
        ("/feedback/print/wenli/2011-13/", 400),
        ("/feedback/print/hejiang/2011-08/", 404),
        ("/compliance/wenli/?year=abc", 400),
        ("/county/?year=%00", 400),
        ("/reports/fengming/1800/", 404),
    ]:
        response = client.get(path, **headers)
        assert response.status_code == status, path
        assert "Traceback" not in response.text


def test_an_application_as_deployed_csrf_checked_and_never_cached(demo, settings):
    """Production settings with the page cache on: the form refuses a post
    without its CSRF token (a clear page, not a 500); with it, the resident's
    case is saved, and neither the form's token nor the case reaches another
    visitor through the cache."""
    import re

    from django.core.cache import cache
    from django.test import Client

    from govinfo.models import InfoRequest
    from tests.govinfo.conftest import form_data

    headers = apply_deployed_settings(settings)
    assert settings.PAGE_CACHE_SECONDS > 0
    settings.GOVINFO_MIN_FORM_SECONDS = 0
    cache.clear()
    resident = Client(enforce_csrf_checks=True)
    data = form_data(name="部署测试人", token="")
    refused = resident.post("/yishenqing/", data, **headers)
    assert refused.status_code == 403 and "Traceback" not in refused.text

    page = resident.get("/yishenqing/", **headers)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    sent = resident.post(
        "/yishenqing/",
        {**data, "token": token, "csrfmiddlewaretoken": csrf.group(1)},
        HTTP_REFERER="https://gongkai.fengming.example/yishenqing/",
        **headers,
    )
    assert sent.status_code == 302, sent.text[:500]
    info = InfoRequest.objects.get(name="部署测试人")
    thanks = resident.get(sent["Location"], **headers)
    assert info.code in thanks.text
    assert (
        "no-store" in thanks["Cache-Control"] or "no-cache" in (thanks["Cache-Control"])
    )

    other = Client()
    for path in ["/yishenqing/", "/yishenqing/thanks/", "/", "/guide/"]:
        response = other.get(path, **headers)
        assert "部署测试人" not in response.text and info.code not in response.text
    again = other.get("/yishenqing/", **headers).text
    assert token not in again  # each visitor's form has its own token
