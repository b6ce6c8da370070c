"""Chinese error pages that leak nothing; too-large requests get their own page."""

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.test import Client
from django.urls import include, path

pytestmark = pytest.mark.django_db

LEAK = "SECRET-INTERNAL-DETAIL-42"


def raise_403(request):
    raise PermissionDenied(LEAK)


def raise_404(request):
    raise Http404(LEAK)


def raise_400(request):
    raise SuspiciousOperation(LEAK)


def raise_500(request):
    raise RuntimeError(LEAK)


urlpatterns = [
    path("boom/403/", raise_403),
    path("boom/404/", raise_404),
    path("boom/400/", raise_400),
    path("boom/500/", raise_500),
    path("", include("fengming_portal.urls")),
]
handler400 = "core.security.bad_request"
handler403 = "core.security.permission_denied"


@pytest.mark.urls("tests.security.test_error_pages")
@pytest.mark.parametrize(
    ("code", "text"),
    [
        (400, "请求有误"),
        (403, "无权访问"),
        (404, "页面不存在"),
        (500, "服务暂时不可用"),
    ],
)
def test_error_pages_are_chinese_and_leak_nothing(code, text):
    client = Client(raise_request_exception=False)
    response = client.get(f"/boom/{code}/")
    assert response.status_code == code
    body = response.content.decode()
    assert text in body
    assert LEAK not in body
    assert "Traceback" not in body and "settings.py" not in body


@pytest.mark.urls("tests.security.test_error_pages")
def test_permission_refusals_are_logged(client, caplog):
    client.get("/boom/403/")
    record = next(r for r in caplog.records if r.name == "fengming.security")
    assert record.security["event"] == "permission_denied"
    assert record.security["path"] == "/boom/403/"


def test_too_large_post_gets_a_413_page(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    response = client.post(
        "/feedback/new/", {"text": "长" * (1024 * 1024)}, REMOTE_ADDR="127.0.0.5"
    )
    assert response.status_code == 413
    assert "提交的内容过大" in response.text
    assert "1 MB" in response.text


def test_too_many_fields_is_a_413_too(client):
    data = {f"f{i}": "x" for i in range(1200)}
    assert client.post("/feedback/new/", data).status_code == 413


def test_null_byte_in_the_url_is_a_clean_400(client):
    assert client.get("/feedback/track/AB%00CD/").status_code == 400
    assert client.get("/feedback/new/", {"unit": "wen\x00li"}).status_code == 400
