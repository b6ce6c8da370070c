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
