"""长辈模式 (elder mode): larger text, higher contrast, one column.

The choice is a cookie, so it works without JavaScript: a link in the header
goes to `elder/?next=<page>&on=1`, which sets or clears the cookie and sends
the visitor back. A page looks different with the cookie, so anything that
caches whole pages must key on `is_elder(request)` (docs/ARCHITECTURE.md).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

COOKIE_NAME = "elder"
COOKIE_MAX_AGE = 365 * 24 * 3600


def is_elder(request: HttpRequest) -> bool:
    """The one place that decides whether a request is in elder mode."""
    return request.COOKIES.get(COOKIE_NAME) == "1"


def context_processor(request: HttpRequest) -> dict:
    return {"elder_mode": is_elder(request)}


@never_cache
def switch(request: HttpRequest) -> HttpResponseRedirect:
    """Turn elder mode on (?on=1) or off (?on=0), then go back to ?next=."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    if request.GET.get("on") == "1":
        response.set_cookie(
            COOKIE_NAME,
            "1",
            max_age=COOKIE_MAX_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(COOKIE_NAME, samesite="Lax")
    return response
