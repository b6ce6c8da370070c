"""`{{ form|crispy_kept }}`: a GET filter form rendered by crispy-forms once
and kept in the value cache (core.caching.cached), not through some hundred
field templates on every request (20–50 ms at county scale).

What is kept is a shell (core.slots): the markup with a slot for the options
of each select written in Python (`QuickSelect`) and for the value of each
text box, filled in for each request. The options come from their own kept
copies (`QuickSelect.options_of`), so one shell serves every unit a list is
filtered by, every word searched for and every set of choices (a party
member's list offers 党内 items), and a unit renamed rewrites the options,
not the form. The key is everything else the markup is made of: the form's
class and prefix, the other fields' values, and each field's label, help
text, attributes and, for the other selects, choices. A form with errors is
rendered each time. Only for GET forms: a POST form carries a CSRF token.
"""

import hashlib
import html
import re

from django import forms, template
from django.conf import settings
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from core import caching
from core.slots import slot
from core.widgets import QuickSelect

register = template.Library()


def _slotted(form) -> tuple[dict, dict]:
    """The bound fields filled in for each request, by HTML name: the
    selects whose options are written in Python, and the plain text boxes
    (their value right after their name, as Django's input.html writes
    it)."""
    selects, texts = {}, {}
    for field in form:
        widget = field.field.widget
        if isinstance(widget, QuickSelect):
            selects[field.html_name] = field
        elif type(widget) is forms.TextInput:
            texts[field.html_name] = field
    return selects, texts


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


def form_key(form, slotted=frozenset()) -> str:
    """`slotted`: the HTML names of the fields filled in for each request,
    whose values and options the markup kept does not hold."""
    parts = [type(form).__module__, type(form).__qualname__, str(form.prefix)]
    # A bound form's shell has its text boxes' slots; an unbound one's not.
    parts.append(str(form.is_bound))
    data = form.data if form.is_bound else form.initial
    # Every value of a repeated parameter (a QueryDict's lists).
    pairs = data.lists() if hasattr(data, "lists") else data.items()
    parts += sorted(f"{k}={v!r}" for k, v in pairs if k not in slotted)
    for name, field in form.fields.items():
        if form.add_prefix(name) in slotted:
            # What the shell still shows of the select: whether it is
            # required, from its first option (Select.use_required_attribute).
            choices = "slot:" + "|".join(
                str(getattr(field, attr, None))
                for attr in ("empty_label", "null_label")
            )
        else:
            choices = _choices(field)
        parts += [
            name,
            str(field.label),
            str(field.help_text),
            str(field.required),
            str(field.initial),
            type(field.widget).__qualname__,
            repr(sorted((str(k), str(v)) for k, v in field.widget.attrs.items())),
            choices,
        ]
    raw = "\x1f".join(parts)
    return hashlib.sha256(raw.encode()).hexdigest()


@register.filter
def crispy_kept(form):
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form

    if settings.VALUE_CACHE_SECONDS <= 0 or (form.is_bound and form.errors):
        return as_crispy_form(form)
    selects, texts = _slotted(form)
    # The key holds everything the shell shows (the other selects' choices by
    # the versions they are kept under) and every key the release (a
    # deployment's templates): kept until the global version moves, a day at
    # most.
    shell = caching.cached(
        f"form:{get_language()}:{form_key(form, selects.keys() | texts.keys())}",
        lambda: _shell(form, selects, texts),
        scopes=[],
        seconds=settings.PAGE_CACHE_MAX_SECONDS,
        shared=True,  # text: one copy a process, not unpickled each request
    )
    return mark_safe(_filled(shell, selects, texts))  # crispy's; fills escaped


def _shell(form, selects: dict, texts: dict) -> str:
    """Crispy's markup of `form` with a slot for each select's options and
    each text box's value (the form is left as it was)."""
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form

    widgets = [field.field.widget for field in selects.values()]
    data = form.data
    if texts:
        form.data = data.copy() if hasattr(data, "copy") else dict(data)
        for name in texts:
            form.data[name] = slot(f"value-{name}")
    form._bound_fields_cache.clear()
    for widget in widgets:
        widget.options_slot = True
    try:
        return str(as_crispy_form(form))
    finally:
        for widget in widgets:
            widget.options_slot = False
        form.data = data
        form._bound_fields_cache.clear()


def _filled(shell: str, selects: dict, texts: dict) -> str:
    """The shell with this request's options and values, in one pass over
    it, each put only where crispy wrote its slot: inside its own <select>,
    or as its own text box's value (a slot typed into another box is left
    as typed)."""
    patterns, fills = [], []
    for name, field in selects.items():
        widget = field.field.widget
        fills.append(widget.options_of(widget.format_value(field.value())))
        patterns.append(
            rf'(?P<f{len(patterns)}><select name="{re.escape(html.escape(name))}"'
            rf"[^>]*>){re.escape(slot(f'options-{name}'))}(?=</select>)"
        )
    for name, field in texts.items():
        value = field.field.widget.format_value(field.value())
        fills.append("" if value is None else f' value="{html.escape(str(value))}"')
        patterns.append(
            rf'(?P<f{len(patterns)}>name="{re.escape(html.escape(name))}")'
            rf' value="{re.escape(slot(f"value-{name}"))}"'
        )
    if not patterns:
        return shell
    # The same names each time: compiled once (the re module's cache).
    found = re.compile("|".join(patterns))
    return found.sub(lambda m: m[m.lastgroup] + fills[int(m.lastgroup[1:])], shell)
