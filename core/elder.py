"""长辈模式 (elder mode): text size steps, higher contrast, one column.

Three steps, as the MIIT 《互联网网站适老化通用设计规范》 asks for adjustable
text: 标准 (0), 大 (1, the first 长辈模式) and 特大 (2). The step is a cookie,
so it is remembered without logging in and works without JavaScript: the
header's form sends a GET to `elder/?next=<page>&size=<step>`, which sets or
clears the cookie and sends the visitor back (the older links,
`elder/?next=<page>&on=1|0`, still work: 大 or 标准).

A GET, not a POST, on purpose: the header is on cached pages, which never
hold a CSRF token (core/caching.py), and the switch changes nothing on the
server; another site linking to it can only change the visitor's own text
size, and `next` never leads off the site (nor comes back longer than
`MAX_NEXT_BYTES`). A cookie value other than a known
step is ignored (标准). A page differs between steps only in the class on
<html> and the size buttons' `aria-pressed` (`html_class`, `pressed`): the
page cache keeps one copy for all steps, rendered with slots in their place
(`page_text_size_slots` on the request) and filled in for each request
(core/caching.py); a template must not read the step otherwise.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.encoding import iri_to_uri
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from .slots import slot

COOKIE_NAME = "elder"
COOKIE_MAX_AGE = 365 * 24 * 3600
STANDARD, LARGE, EXTRA_LARGE = 0, 1, 2
STEPS = {STANDARD: _("标准"), LARGE: _("大"), EXTRA_LARGE: _("特大")}
# The longest `next` sent back, as it goes on the wire (percent-encoded: a
# Chinese character is 9 bytes). nginx's default proxy_buffer_size is 4 KB: a
# longer Location header is its 502, not our redirect. A page's own address
# is far shorter.
MAX_NEXT_BYTES = 2000
# What a page cache's copy holds where the step shows (core/caching.py
# fills them in): the class on <html>, and each button's aria-pressed.
CLASS_SLOT = slot("size-class")
PRESSED_SLOTS = {step: slot(f"size-pressed-{step}") for step in STEPS}


def _step(value: str | None) -> int | None:
    return int(value) if value in ("1", "2", "0") else None


def text_size(request: HttpRequest) -> int:
    """The one place that decides a request's text size step (0, 1 or 2)."""
    return _step(request.COOKIES.get(COOKIE_NAME)) or STANDARD


def is_elder(request: HttpRequest) -> bool:
    """长辈模式: either larger step (one column, darker text, larger targets)."""
    return text_size(request) != STANDARD


def html_class(size: int) -> SafeString:
    """The attribute on <html> (none for 标准); never on paper (the template's
    choice), whose sizes are its own."""
    if size == STANDARD:
        return mark_safe("")
    return mark_safe(
        ' class="elder elder-xl"' if size == EXTRA_LARGE else ' class="elder"'
    )


def pressed(step: int, size: int) -> str:
    """A size button's aria-pressed."""
    return "true" if step == size else "false"


def context_processor(request: HttpRequest) -> dict:
    if getattr(request, "page_text_size_slots", False):
        # A copy for every step: only slots, and no step to branch on.
        return {
            "text_size_class": mark_safe(CLASS_SLOT),
            "text_size_steps": [
                (step, label, PRESSED_SLOTS[step]) for step, label in STEPS.items()
            ],
        }
    size = text_size(request)
    return {
        "elder_mode": size != STANDARD,
        "text_size": size,
        "text_size_class": html_class(size),
        "text_size_steps": [
            (step, label, pressed(step, size)) for step, label in STEPS.items()
        ],
    }


@never_cache
def switch(request: HttpRequest) -> HttpResponseRedirect:
    """Set the text size (?size=0|1|2, or the older ?on=1|0), then go back to
    ?next=."""
    target = request.GET.get("next", "")
    if (
        not url_has_allowed_host_and_scheme(
            target,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        )
        or len(iri_to_uri(target)) > MAX_NEXT_BYTES
    ):
        target = "/"
    size = _step(request.GET.get("size"))
    if size is None:
        size = LARGE if request.GET.get("on") == "1" else STANDARD
    response = HttpResponseRedirect(target)
    if size != STANDARD:
        response.set_cookie(
            COOKIE_NAME,
            str(size),
            max_age=COOKIE_MAX_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(COOKIE_NAME, samesite="Lax")
    return response
