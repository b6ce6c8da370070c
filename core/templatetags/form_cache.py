"""`{{ form|crispy_kept }}`: a GET filter form rendered by crispy-forms once
and kept in the value cache (core.caching.cached), not through some hundred
field templates on every request (20–50 ms at county scale).

The key is everything the markup is made of: the form's class and prefix,
the values asked for, and each field's label, help text, attributes and
choices (so a form whose choices depend on the reader, such as the list's
for a party member, is kept apart per set of choices). A form with errors
is rendered each time. Only for GET forms: a POST form carries a CSRF token.
"""

import hashlib

from django import template
from django.conf import settings
from django.utils.translation import get_language

from core import caching

register = template.Library()


def _choices(field) -> str:
    """The choices as text: a group's options (kept lists of plain strings)
    written by `repr` at once, not one by one (some 700 at county scale)."""
    widget = field.widget
    choices = getattr(widget, "choices", None)
    if choices is None:
        return "[]"
    if getattr(choices, "key", None) is not None:
        return "key:" + choices.key()  # named by what they are kept under
    inner = getattr(choices, "choices", None)  # django-filter's, around ours
    if getattr(inner, "key", None) is not None:
        field = choices.field
        return f"key:{field.empty_label}|{field.null_label}|{inner.key()}"
    return repr(
        [
            (str(key), label if isinstance(label, (list, tuple)) else str(label))
            for key, label in choices
        ]
    )


def form_key(form) -> str:
    parts = [type(form).__module__, type(form).__qualname__, str(form.prefix)]
    data = form.data if form.is_bound else form.initial
    # Every value of a repeated parameter (a QueryDict's lists).
    pairs = data.lists() if hasattr(data, "lists") else data.items()
    parts += sorted(f"{k}={v!r}" for k, v in pairs)
    for name, field in form.fields.items():
        parts += [
            name,
            str(field.label),
            str(field.help_text),
            str(field.required),
            str(field.initial),
            type(field.widget).__qualname__,
            repr(sorted((str(k), str(v)) for k, v in field.widget.attrs.items())),
            _choices(field),
        ]
    raw = "\x1f".join(parts)
    return hashlib.sha256(raw.encode()).hexdigest()


@register.filter
def crispy_kept(form):
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form

    if settings.VALUE_CACHE_SECONDS <= 0 or (form.is_bound and form.errors):
        return as_crispy_form(form)
    # The key holds everything the markup shows (the choices by the versions
    # they are kept under) and every key the release (a deployment's
    # templates): kept until the global version moves, a day at most.
    return caching.cached(
        f"form:{get_language()}:{form_key(form)}",
        lambda: as_crispy_form(form),
        scopes=[],
        seconds=settings.PAGE_CACHE_MAX_SECONDS,
    )
