"""Hostile text and dates in every field of every admin form.

Each registered model's change page is fetched as the superuser, the form read
as a browser would submit it (inlines included), one field changed and the
form posted: a control character or a date out of range is never a 500 and
never saved; the field gets a Chinese error.
"""

import re

import pytest
from django import forms
from django.contrib import admin
from django.forms.models import model_to_dict
from django.urls import reverse

from disclosure import services
from disclosure.models import ClosedYear, NoticeBoard
from tests.factories import (
    AnswerTemplateFactory,
    DisclosureFormFactory,
    SuperuserFactory,
    TagFactory,
)

from .html_forms import as_post, read_form

pytestmark = pytest.mark.django_db

CONTROL_TEXTS = ["甲\x1b[", "甲\x01", "甲\x7f乙", "甲\u202e乙", "甲\x85乙", "甲\x1f乙"]
DATES = ["0001-01-01", "9999-12-31"]
MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)
INLINE_ROW = re.compile(r"^(?P<prefix>.+)-(?P<n>\d+)-(?P<field>.+)$")


@pytest.fixture
def everything(town, member):
    """One row of every model the admin edits (the town has the rest)."""
    TagFactory()
    AnswerTemplateFactory()
    DisclosureFormFactory()
    NoticeBoard.objects.create(unit=town.wenli, location="村委会门口")
    ClosedYear.objects.create(year=2000)
    # A submitted notice, for the 待审核 queue's change page.
    services.submit(town.maoshan_draft, by=SuperuserFactory(username="editor"))
    return town


def change_page(client, model):
    obj = model._default_manager.order_by("pk").first()
    if obj is None:
        return None, None
    info = model._meta.app_label, model._meta.model_name
    url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
    page = client.get(url)
    form_id = f"{model._meta.model_name}_form"
    if page.status_code != 200 or 'name="_save"' not in page.text:
        return None, None  # not editable (a record, a sealed year…)
    return url, read_form(page.text, form_id)


def editable(controls, wanted) -> list:
    """The controls of the main form and of the inline rows already saved."""
    data = as_post(controls)
    chosen = []
    for control in controls:
        row = INLINE_ROW.match(control.name)
        if "__prefix__" in control.name:
            continue  # the template of a new inline row
        if row and not (data.get(f"{row['prefix']}-{row['n']}-id") or [""])[0]:
            continue  # an empty extra row: left empty
        if wanted(control):
            chosen.append(control)
    return chosen


def stored(model, pk):
    return model_to_dict(model._default_manager.get(pk=pk))


def field_errors(response, name: str) -> tuple:
    """The form field behind a posted name (inlines too) and its errors."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += list(inline.formset.forms)
    for form in forms:
        for field_name in form.fields:
            if form.add_prefix(field_name) == name:
                return form.fields[field_name], form.errors.get(field_name, [])
    raise AssertionError(f"no field {name}")


def post_changed(client, model, url, controls, name, value):
    data = as_post(controls) | {name: [value], "_save": ["保存"]}
    time = name.removesuffix("_0") + "_1"
    if name.endswith("_0") and not (data.get(time) or [""])[0]:
        data[time] = ["12:00:00"]  # an empty date and time: give it a time
    pk = int(url.rstrip("/").split("/")[-2])
    before = stored(model, pk)
    response = client.post(url, data)
    assert response.status_code == 200, (model, name, repr(value))
    assert stored(model, pk) == before, (model, name, repr(value))
    return response


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_admin_text_field_refuses_control_characters(client, everything, model):
    client.force_login(SuperuserFactory())
    url, controls = change_page(client, model)
    if url is None:
        pytest.skip("no change form for this model")
    for control in editable(controls, lambda c: c.is_text):
        for text in CONTROL_TEXTS:
            # Short enough for any length limit: the characters are the issue.
            value = (control.values[0] if control.values else "")[:2] + text
            response = post_changed(client, model, url, controls, control.name, value)
            field, errors = field_errors(response, control.name)
            assert errors, (model, control.name, repr(text))
            if type(field) is forms.CharField:
                # (An e-mail address, a slug or a row id has a format of its
                # own, which refuses the value first.)
                assert "控制字符" in " ".join(errors), (model, control.name)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_admin_date_field_refuses_dates_out_of_range(client, everything, model):
    client.force_login(SuperuserFactory())
    url, controls = change_page(client, model)
    if url is None:
        pytest.skip("no change form for this model")
    for control in editable(controls, lambda c: c.is_date):
        for day in DATES:
            response = post_changed(client, model, url, controls, control.name, day)
            assert "超出范围" in response.text, (model, control.name, day)


def test_the_admin_forms_post_back_unchanged_as_read(client, everything):
    # The tests above change one field of what read_form found: the rest of
    # the form must be valid as read, or they would prove nothing.
    client.force_login(SuperuserFactory())
    saved = []
    for model in MODELS:
        url, controls = change_page(client, model)
        if url is None:
            continue
        response = client.post(url, as_post(controls) | {"_save": ["保存"]})
        assert response.status_code == 302, (
            model,
            response.context
            and [f.errors for f in [response.context.get("adminform")] if f],
        )
        saved.append(model._meta.label)
    assert {"disclosure.Disclosure", "feedback.Submission", "catalog.Item"} <= set(
        saved
    )
