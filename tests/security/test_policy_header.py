"""The Content-Security-Policy header, worked out once (core.security.
PolicyMiddleware): the same as django-csp's for every kind of response."""

import re

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from core.security import PolicyMiddleware

REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp/"}}


def headers(middleware_class, prepare=lambda request, response: None, path="/"):
    middleware = middleware_class(lambda request: HttpResponse("页面"))
    request = RequestFactory().get(path)
    middleware.process_request(request)
    response = HttpResponse("页面")
    prepare(request, response)
    response = middleware.process_response(request, response)
    return {h: response.get(h) for h in (HEADER, HEADER_REPORT_ONLY)}


def both(prepare=lambda request, response: None, path="/"):
    """Ours, checked equal to django-csp's (each nonce is the request's)."""
    ours, theirs = (
        {
            h: v and re.sub(r"'nonce-[^']+'", "'nonce-…'", v)
            for h, v in headers(middleware, prepare, path).items()
        }
        for middleware in (PolicyMiddleware, CSPMiddleware)
    )
    assert ours == theirs
    return ours


@pytest.mark.django_db
def test_the_settings_policy_on_every_page(client):
    found = both()
    assert "default-src 'self'" in found[HEADER]
    assert "frame-ancestors 'none'" in found[HEADER]
    assert found[HEADER_REPORT_ONLY] is None
    # Twice: the kept header.
    assert both() == found
    assert client.get("/catalog/")[HEADER] == found[HEADER]


def test_a_changed_setting_is_followed():
    before = both()
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=REPORT_ONLY):
        assert "report-uri /csp/" in both()[HEADER_REPORT_ONLY]
        with override_settings(
            CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}}
        ):
            assert both()[HEADER] == "default-src 'none'"
    assert both() == before


@pytest.mark.parametrize(
    "own",
    [
        ("_csp_update", {"img-src": ["https://example.org"]}),
        ("_csp_replace", {"script-src": ["'none'"]}),
        ("_csp_config", {"default-src": ["'none'"]}),
        ("_csp_update_ro", {"img-src": ["https://example.org"]}),
        ("_csp_exempt", True),
        ("_csp_exempt_ro", True),
    ],
    ids=lambda own: own[0],
)
def test_a_views_own_policy_is_django_csps(own):
    name, value = own
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=REPORT_ONLY):
        found = both(lambda request, response: setattr(response, name, value))
        assert found != both()


def test_a_nonce_used_is_django_csps():
    nonce = {"DIRECTIVES": {"script-src": ["'self'", NONCE]}}

    def use_nonce(request, response):
        str(request.csp_nonce)

    assert both(use_nonce)[HEADER] == both()[HEADER]
    with override_settings(CONTENT_SECURITY_POLICY=nonce):
        assert "'nonce-" in both(use_nonce)[HEADER]
        assert "'nonce-" not in both()[HEADER]


def test_a_nonce_asked_for_after_the_header_is_an_error():
    from csp.exceptions import CSPNonceError

    middleware = PolicyMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    middleware.process_request(request)
    middleware.process_response(request, HttpResponse())
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_an_excluded_prefix_gets_no_header():
    policy = {
        "EXCLUDE_URL_PREFIXES": ["/media/"],
        "DIRECTIVES": {"default-src": ["'self'"]},
    }
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        assert both(path="/media/a.png")[HEADER] is None
        assert both(path="/boards/")[HEADER] == "default-src 'self'"
