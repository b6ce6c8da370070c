"""Helpers of the admin walk (test_admin_access.py): the admin's URLs read from
the admin site, the post-back of a page's form, and a snapshot of the rows the
back office can change, so a POST's effect can be judged against the roles."""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.urls.resolvers import RegexPattern, RoutePattern

# A pattern's parameter → the role it plays in the walk.
OBJECT_PARAMETERS = {"object_id", "id"}


@dataclass(frozen=True)
class AdminUrl:
    url: str
    model: type[models.Model]  # the admin's model (a proxy stays a proxy)
    kind: str  # changelist, add, change, history, delete, version, transition…
    obj: models.Model | None = None
    extra: str = ""  # the transition's name


class UnfilledPattern(Exception):
    pass


def _parameters(pattern) -> list[str]:
    if isinstance(pattern.pattern, RoutePattern):
        return list(pattern.pattern.converters)
    regex = pattern.pattern.regex
    return list(regex.groupindex) or [f"${i}" for i in range(regex.groups)]


def _kind(pattern, parameters) -> str:
    name = pattern.name or ""
    if name.endswith("_simple_history"):
        return "version"
    if name.endswith("_password_change"):
        return "password"
    for suffix in ("changelist", "add", "change", "delete", "history", "transition"):
        if name.endswith(f"_{suffix}"):
            return suffix
    if not name and parameters == ["object_id"]:
        return "redirect"  # <object_id>/ → its change page
    return name.rsplit("_", 1)[-1] or "other"


def model_urls(targets, transitions, version_of) -> list[AdminUrl]:
    """Every URL of every registered model's admin, with each target object
    and each value of its other parameters."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        prefix = f"/admin/{opts.app_label}/{opts.model_name}/"
        for pattern in model_admin.urls:
            parameters = _parameters(pattern)
            kind = _kind(pattern, parameters)
            if not parameters:
                urls.append(AdminUrl(prefix + str(pattern.pattern), model, kind))
                continue
            for obj in targets(model):
                urls.extend(
                    _filled(pattern, prefix, model, kind, obj, transitions, version_of)
                )
    return urls


def _filled(pattern, prefix, model, kind, obj, transitions, version_of):
    parameters = _parameters(pattern)
    if isinstance(pattern.pattern, RegexPattern):
        if kind != "version":
            raise UnfilledPattern(str(pattern.pattern))
        version = version_of(obj)
        if version is None:
            return []
        url = reverse(f"admin:{pattern.name}", args=[obj.pk, version])
        return [AdminUrl(url, model, kind, obj)]
    values = [{p: str(obj.pk)} for p in parameters if p in OBJECT_PARAMETERS]
    unknown = set(parameters) - OBJECT_PARAMETERS
    if unknown == {"name"} and kind == "transition":
        choices = [{"name": name} for name in transitions]
    elif unknown:
        raise UnfilledPattern(f"{pattern.pattern}: {sorted(unknown)}")
    else:
        choices = [{}]
    out = []
    for choice in choices:
        filled = {k: v for d in values for k, v in d.items()} | choice
        path = _substitute(str(pattern.pattern), filled)
        out.append(AdminUrl(prefix + path, model, kind, obj, choice.get("name", "")))
    return out


def _substitute(route: str, values: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


# Posting a page back ------------------------------------------------------------


class _FormReader(HTMLParser):
    """The fields a browser would send with the page's own POST form(s)."""

    SKIPPED_TYPES = {"submit", "button", "image", "reset", "file"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.data = defaultdict(list)
        self.active = False
        self.select = None
        self.select_values = []
        self.select_first = None
        self.option = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            method = (a.get("method") or "get").lower()
            self.active = method == "post" and not a.get("action")
        if not self.active or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in self.SKIPPED_TYPES:
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.data[name].append(a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self.select, self.select_values, self.select_first = name, [], None
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.select_first is None:
                self.select_first = value
            if "selected" in a:
                self.select_values.append(value)
        elif tag == "textarea" and name:
            self.textarea, self.text = name, []

    def handle_endtag(self, tag):
        if tag == "form":
            self.active = False
        elif tag == "select" and self.select:
            values = self.select_values or (
                [self.select_first] if self.select_first is not None else []
            )
            self.data[self.select].extend(values)
            self.select = None
        elif tag == "textarea" and self.textarea:
            text = "".join(self.text)
            self.data[self.textarea].append(text.removeprefix("\n"))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.text.append(data)


def form_data(html: str) -> dict[str, list[str]]:
    reader = _FormReader()
    reader.feed(html)
    return dict(reader.data)


# Snapshots ------------------------------------------------------------------------


def watched_models() -> list[type[models.Model]]:
    """The rows the back office can write: each registered model and its inlines."""
    found = set()
    for model, model_admin in admin.site._registry.items():
        found.add(model._meta.concrete_model)
        for inline in model_admin.inlines:
            found.add(inline.model._meta.concrete_model)
    return sorted(found, key=lambda m: m._meta.label)


def _ignored(f) -> bool:
    # Stamps that change with any save or log-in, not state anyone decides.
    return getattr(f, "auto_now", False) or f.name in {"last_login", "attempt_time"}


def snapshot(models_) -> dict:
    rows = {}
    for model in models_:
        pk = model._meta.pk.attname
        names = [f.attname for f in model._meta.concrete_fields if not _ignored(f)]
        for values in model._base_manager.values(*names):
            rows[(model, values[pk])] = values
        for m2m in model._meta.many_to_many:
            through = m2m.remote_field.through
            source = m2m.m2m_field_name()
            target = m2m.m2m_reverse_field_name()
            linked = defaultdict(list)
            for src, dst in through.objects.values_list(f"{source}_id", f"{target}_id"):
                linked[src].append(dst)
            for (m, pk), values in rows.items():
                if m is model:
                    values[m2m.name] = sorted(linked.get(pk, []))
    return rows


class WriteWatch:
    """Whether a statement other than a read ran on the connection: a POST
    that wrote nothing left every row as it was, so the walk need not read
    them all again (reading them after every POST was a fifth of the walk)."""

    READS = ("SELECT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")

    def __init__(self):
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(self.READS):
            self.wrote = True
        return execute(sql, params, many, context)


@dataclass
class Change:
    model: type[models.Model]
    pk: int
    kind: str  # created, changed, deleted
    before: dict | None
    after: dict | None
    fields: set = field(default_factory=set)

    def __str__(self):
        label = self.model._meta.label
        if self.kind == "changed":
            diff = {f: (self.before[f], self.after[f]) for f in sorted(self.fields)}
            return f"{label} #{self.pk} changed {diff}"
        return f"{label} #{self.pk} {self.kind}"


def changes(before: dict, after: dict) -> list[Change]:
    out = []
    for key in before.keys() - after.keys():
        out.append(Change(key[0], key[1], "deleted", before[key], None))
    for key in after.keys() - before.keys():
        out.append(Change(key[0], key[1], "created", None, after[key]))
    for key in before.keys() & after.keys():
        fields = {f for f in before[key] if before[key][f] != after[key].get(f)}
        if fields:
            out.append(
                Change(key[0], key[1], "changed", before[key], after[key], fields)
            )
    return out
