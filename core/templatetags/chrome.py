"""`{% chrome "includes/header.html" %}`: the header, footer and style sheet
links every page shares, rendered once per process and kind of request
instead of on every page (about 20 `{% url %}`, four `{% static %}` and a
dozen translations: 1–4 ms a page miss).

A chrome template reads only what this tag gives it (`_values`): the
per-request bits (the page's own address, the user's name, the CSRF token,
the text size buttons' aria-pressed) and what the rest of its markup is made
of, which is the copy's key: the template, the language, the URL prefix and
urlconf (`{% url %}`, `{% static %}`), the site's name, signed in or not,
staff or not, the state of the CSRF token, the size steps' labels. A copy holds a slot
(core/slots.py) for each per-request bit, filled in for each request in one
pass over the copy alone (never over the page: nothing a resident wrote goes
through it), escaped as the template escapes it. So the page is the same
bytes as the template rendered with the real values
(`PORTAL_CHROME_KEPT = False`; tests/perf/test_chrome.py).

Nothing in a copy comes from the data: no scope, no version. Templates and
translations change with a deployment (a new process); under DEBUG a
template may change while the process runs, so nothing is kept then.
"""

import re

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.template.defaultfilters import urlencode
from django.urls import get_script_prefix, get_urlconf
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from core.slots import slot

register = template.Library()

_LIMIT = 256  # copies a process keeps (a handful in practice)
_kept: dict[tuple, tuple[str, re.Pattern | None, dict[str, str]]] = {}


def forget(**kwargs) -> None:
    """Drop this process's copies: when a setting changes (a test's
    override of the static files' storage, STATIC_URL, the site's name),
    as Django resets its own storages then; a served process keeps its
    settings for its life."""
    _kept.clear()


setting_changed.connect(forget, dispatch_uid="core.chrome.forget")


def _values(context) -> tuple[dict, dict]:
    """(what the copy's key holds, the per-request values) of this page.

    The CSRF token is read only for a signed-in user (the log-out form), as
    the template did: reading it for a visitor would set a cookie."""
    request = context.get("request")
    user = context.get("user")
    signed_in = bool(user is not None and user.is_authenticated)
    path = request.get_full_path() if request is not None else ""
    fixed = {
        "portal_site_name": str(context.get("portal_site_name", "")),
        "signed_in": signed_in,
        "staff": bool(signed_in and user.is_staff),
        "csrf": "",
        "steps": [],
    }
    per_request = {"next_path": path, "login_next": urlencode(path)}
    if signed_in:
        # An audience's copy holds the page cache's own slot for the name.
        if getattr(request, "page_audience", None):
            per_request["user_name"] = request.page_name_slot
        else:
            per_request["user_name"] = user.get_username()
        token = context.get("csrf_token")
        if not token:
            fixed["csrf"] = "none"
        elif str(token) == "NOTPROVIDED":
            fixed["csrf"] = "NOTPROVIDED"
        else:
            fixed["csrf"] = "token"
            per_request["csrf_token"] = str(token)
    for step, label, pressed in context.get("text_size_steps") or []:
        fixed["steps"].append((step, str(label)))
        per_request[f"pressed-{step}"] = pressed
    return fixed, per_request


def _render(name: str, fixed: dict, per_request: dict) -> str:
    """The template with these per-request values (slots, or the real ones)."""
    context = {
        "portal_site_name": fixed["portal_site_name"],
        "signed_in": fixed["signed_in"],
        "staff": fixed["staff"],
        "text_size_steps": [
            (step, label, per_request[f"pressed-{step}"])
            for step, label in fixed["steps"]
        ],
        "next_path": per_request["next_path"],
        "login_next": per_request["login_next"],  # already percent-encoded
        "user_name": per_request.get("user_name", ""),
    }
    if fixed["csrf"]:
        context["csrf_token"] = {"none": "", "NOTPROVIDED": "NOTPROVIDED"}.get(
            fixed["csrf"], per_request.get("csrf_token", "")
        )
    return template.loader.get_template(name).render(context)


def _copy(name: str, fixed: dict, wanted: list[str]):
    """The template rendered with a slot for each per-request value: (HTML,
    a pattern matching the slots it holds, slot -> value name)."""
    slots = {n: slot(f"chrome-{n}") for n in wanted}
    html = _render(name, fixed, slots)
    found = {s: n for n, s in slots.items() if s in html}
    pattern = re.compile("|".join(map(re.escape, found))) if found else None
    return html, pattern, found


@register.simple_tag(takes_context=True)
def chrome(context, name: str) -> SafeString:
    fixed, per_request = _values(context)
    if settings.DEBUG or not settings.PORTAL_CHROME_KEPT:
        return mark_safe(_render(name, fixed, per_request))
    key = (
        name,
        get_language(),
        get_script_prefix(),
        str(get_urlconf() or settings.ROOT_URLCONF),
        repr(sorted(fixed.items())),
        tuple(sorted(per_request)),
    )
    copy = _kept.get(key)
    if copy is None:
        if len(_kept) >= _LIMIT:
            _kept.clear()
        copy = _kept[key] = _copy(name, fixed, sorted(per_request))
    html, pattern, names = copy
    if pattern is None:
        return mark_safe(html)
    # One pass: a value filled in is never searched for another slot.
    return mark_safe(
        pattern.sub(
            lambda m: str(conditional_escape(per_request[names[m.group(0)]])), html
        )
    )
