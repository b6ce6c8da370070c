from html import escape as quote

from django import forms
from django.utils.choices import BaseChoiceIterator
from django.utils.safestring import mark_safe
from django_filters.fields import ModelChoiceField
from django_filters.filters import ModelChoiceFilter
from django_filters.widgets import DateRangeWidget


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

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final.pop("name", None)
        wanted = set(self.format_value(value))
        found = False

        def option(key, label) -> str:
            nonlocal found
            key = "" if key is None else str(key)
            chosen = not found and key in wanted
            found = found or chosen
            return (
                f'<option value="{quote(key)}"{" selected" if chosen else ""}>'
                f"{quote(str(label))}</option>"
            )

        # The name first, then the attributes in order: Django's select.html
        # and attrs.html (a True value bare, a False one left out).
        written = "".join(
            f" {key}" if value is True else f' {key}="{quote(str(value))}"'
            for key, value in final.items()
            if value is not False and value is not None
        )
        parts = [f'<select name="{quote(name)}"{written}>']
        for key, label in self.choices:
            if isinstance(label, (list, tuple)):
                parts.append(f'<optgroup label="{quote(str(key))}">')
                parts.extend(option(k, sub) for k, sub in label)
                parts.append("</optgroup>")
            else:
                parts.append(option(key, label))
        parts.append("</select>")
        return mark_safe("".join(parts))  # every value and label escaped above


class ListedModelChoiceField(ModelChoiceField):
    """A model choice whose options come from `options()`, a list of
    (key, label) pairs or (group, [pairs]) that the caller may keep in the
    value cache, rather than one model instance a row on every render.
    Checking a submitted value is unchanged: a lookup in the queryset."""

    widget = QuickSelect

    def __init__(self, *args, options, **kwargs):
        self.options = options
        super().__init__(*args, **kwargs)

    def _get_choices(self):
        return LazyChoices(self._listed)

    choices = property(_get_choices, forms.ChoiceField.choices.fset)

    def _listed(self):
        if self.empty_label is not None:
            yield ("", self.empty_label)
        yield from self.options()


class LazyChoices(BaseChoiceIterator):
    """Choices built by `build()` each time they are iterated (the select is
    rendered), as Django's own model choices are: building a form, or
    validating a POST, costs no query."""

    def __init__(self, build):
        self.build = build

    def __iter__(self):
        return iter(self.build())


class ListedModelChoiceFilter(ModelChoiceFilter):
    field_class = ListedModelChoiceField


def grouped(rows) -> list:
    """(group, key, label) rows, in order, as select choices: one <optgroup>
    per group, or a flat list when there is only one group (a single town)."""
    groups: dict[str, list] = {}
    for group, key, label in rows:
        groups.setdefault(group, []).append((key, label))
    if len(groups) <= 1:
        return [pair for pairs in groups.values() for pair in pairs]
    return list(groups.items())
