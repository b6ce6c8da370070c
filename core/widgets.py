import copy
from html import escape as quote

import django_filters
from django import forms
from django.conf import settings
from django.utils.choices import BaseChoiceIterator
from django.utils.safestring import mark_safe
from django_filters.fields import ModelChoiceField
from django_filters.filters import ModelChoiceFilter
from django_filters.widgets import DateRangeWidget

from .slots import slot


def labelled_date_range(start: str, end: str) -> DateRangeWidget:
    """A from–to pair of date inputs, each with its own accessible name.

    The field's label becomes the fieldset's legend; without a name of their
    own the two inputs would be unlabelled for a screen reader (WCAG 1.3.1).
    """
    widget = DateRangeWidget(attrs={"type": "date"})
    widget.widgets[0].attrs["aria-label"] = start
    widget.widgets[1].attrs["aria-label"] = end
    return widget


class QuickSelect(forms.Select):
    """A <select> whose options are written in Python, not one template each.

    Django renders every <option> through the widget templates; the county's
    unit choice has 510 of them and took about 100 ms a page. The markup is
    the same: the name, then the widget's attributes in order, optgroups, and
    the first matching option selected; only the whitespace between tags
    differs. Escaped with the standard library's `html.escape` (the same five
    characters as Django's, without its lazy-string wrapper).
    """

    # True: the options are written as a slot (core.slots) to be filled in
    # for each request (`select_value`), for a form's markup kept apart from
    # its options. The same class: crispy-forms writes its name in the markup.
    options_slot = False

    def render(self, name, value, attrs=None, renderer=None):
        written = (
            slot(f"options-{name}")
            if self.options_slot
            else self.options_of(self.format_value(value))
        )
        # Every value and label escaped (select_tag, options).
        return mark_safe(self.select_tag(name, attrs) + written + "</select>")

    def options_of(self, wanted: list[str]) -> str:
        """The options with the value chosen. Choices named by what they are
        kept under (`LazyChoices.key`: the county's 510 units) are written
        once for each name, none selected, and kept as long as a page (the
        name holds the versions they follow); the chosen one is marked in
        the copy (`select_value`). A kept form's shell is filled with them
        (core/templatetags/form_cache.py): another worker reads them, not
        the lists they are written from."""
        key = getattr(self.choices, "key", None)
        inner = getattr(getattr(self.choices, "choices", None), "key", None)
        if key is None and inner is not None:
            # django-filter's choices around ours: its empty and null options
            # first (as core/templatetags/form_cache.py names them).
            field = self.choices.field
            key = lambda: f"{field.empty_label}|{field.null_label}|{inner()}"  # noqa: E731
        if key is None or len(wanted) != 1 or settings.VALUE_CACHE_SECONDS <= 0:
            return options(self.choices, wanted)
        from . import caching

        # Text: one copy a process (`shared`), not unpickled for each request.
        html = caching.cached(
            f"options:{key()}",
            lambda: options(self.choices),
            scopes=[],
            seconds=settings.PAGE_CACHE_MAX_SECONDS,
            shared=True,
        )
        return select_value(html, wanted[0])

    def select_tag(self, name, attrs=None) -> str:
        """The opening tag: the name first, then the attributes in order, as
        Django's select.html and attrs.html (a True value bare, a False one
        left out)."""
        final = self.build_attrs(self.attrs, attrs)
        final.pop("name", None)
        written = "".join(
            f" {key}" if value is True else f' {key}="{quote(str(value))}"'
            for key, value in final.items()
            if value is not False and value is not None
        )
        return f'<select name="{quote(name)}"{written}>'


def option(key, label, chosen: bool = False) -> str:
    key = "" if key is None else str(key)
    return (
        f'<option value="{quote(key)}"{" selected" if chosen else ""}>'
        f"{quote(str(label))}</option>"
    )


def options(choices, wanted=()) -> str:
    """The <option>s (and <optgroup>s) of `choices`, the first whose value is
    in `wanted` selected, as QuickSelect writes them."""
    wanted = set(wanted)
    found = False
    parts = []

    def one(key, label) -> str:
        nonlocal found
        chosen = not found and ("" if key is None else str(key)) in wanted
        found = found or chosen
        return option(key, label, chosen)

    for key, label in choices:
        if isinstance(label, (list, tuple)):
            parts.append(f'<optgroup label="{quote(str(key))}">')
            parts.extend(one(k, sub) for k, sub in label)
            parts.append("</optgroup>")
        else:
            parts.append(one(key, label))
    return "".join(parts)


def select_value(html: str, value: str) -> str:
    """`html`, options written by `options(choices)` with none selected, with
    the first option of this value selected: what `options(choices,
    [value])` writes, without writing every option again."""
    plain = f'<option value="{quote(value)}">'
    return html.replace(plain, plain[:-1] + " selected>", 1)


class ListedModelChoiceField(ModelChoiceField):
    """A model choice whose options come from `options()`, a list of
    (key, label) pairs or (group, [pairs]) that the caller may keep in the
    value cache, rather than one model instance a row on every render.
    Checking a submitted value is unchanged: a lookup in the queryset."""

    widget = QuickSelect

    def __init__(self, *args, options, keep: str = "", options_key=None, **kwargs):
        self.options = options
        self.keep = keep
        # `options_key()`: a name for what `options()` gives now (the name
        # and version it is kept under), for a kept form's key
        # (core/templatetags/form_cache.py) without reading every option.
        self.options_key = options_key
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        """With `keep` (a name), the row a value stands for is kept in the
        value cache until a name shown on pages changes (NAMES: a unit's or
        the catalog's change): a list filtered by unit reads no unit row.
        The look-up is the queryset's; a value it does not find raises
        before anything is kept (posted nonsense makes no cache entries)."""
        from . import caching

        if not self.keep or value in self.empty_values or not isinstance(value, str):
            return super().to_python(value)
        look_up = super().to_python
        # Every change of a unit or the catalog names NAMES: kept until one,
        # past a quiet minute and midnight (a day at most, as pages).
        return caching.cached(
            f"{self.keep}:{value}",
            lambda: look_up(value),
            scopes=[caching.NAMES],
            seconds=settings.PAGE_CACHE_MAX_SECONDS,
        )

    def _get_choices(self):
        key = None
        if self.options_key is not None:
            key = lambda: f"{self.empty_label}|{self.options_key()}"  # noqa: E731
        return LazyChoices(self._listed, key=key)

    choices = property(_get_choices, forms.ChoiceField.choices.fset)

    def _listed(self):
        if self.empty_label is not None:
            yield ("", self.empty_label)
        yield from self.options()


class LazyChoices(BaseChoiceIterator):
    """Choices built by `build()` each time they are iterated (the select is
    rendered), as Django's own model choices are: building a form, or
    validating a POST, costs no query."""

    def __init__(self, build, key=None):
        self.build = build
        self.key = key  # None, or what names the choices (`options_key`)

    def __iter__(self):
        return iter(self.build())


class ListedModelChoiceFilter(ModelChoiceFilter):
    field_class = ListedModelChoiceField


class _ShallowCopied(dict):
    """A filter set's filters, copied for each filter set made: each filter
    copied with its own `extra` and no field made yet, not deep-copied with
    every queryset, widget and choice list in it (django-filter's default, a
    few milliseconds a request). What a filter set changes of its filters
    (`filters[name].queryset = ...`, `filters[name].extra[...] = ...`) stays
    its own; the fields are made from the copies and Django deep-copies
    those."""

    def __deepcopy__(self, memo):
        copies = {}
        for name, each in self.items():
            made = copy.copy(each)
            made.__dict__.pop("_field", None)
            made.extra = dict(each.extra)
            if each.method is not None:  # its FilterMethod, bound to the copy
                made.method = each.method
            copies[name] = made
        return copies


class QuickFilterSet(django_filters.FilterSet):
    """A FilterSet whose filters are copied cheaply for each request."""

    @classmethod
    def get_filters(cls):
        return _ShallowCopied(super().get_filters())


def grouped(rows) -> list:
    """(group, key, label) rows, in order, as select choices: one <optgroup>
    per group, or a flat list when there is only one group (a single town)."""
    groups: dict[str, list] = {}
    for group, key, label in rows:
        groups.setdefault(group, []).append((key, label))
    if len(groups) <= 1:
        return [pair for pairs in groups.values() for pair in pairs]
    return list(groups.items())
