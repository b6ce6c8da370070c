"""Every way text or a date gets in is checked: each model field, each field of
each form and filter in the project. A field added later without the check
fails here (the behaviour itself is tested in test_hostile_input.py and
test_admin_input.py)."""

import importlib
import pkgutil

import django_filters
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from core.dates import DateRangeField, validate_date
from core.security import refuse_control_characters

APPS = ("catalog", "disclosure", "feedback", "govinfo", "portal")  # app labels
GUARDED_APPS = (*APPS, "auth")
# Python packages whose forms and filters are checked (composition's label is
# "portal"; core and operations have no models but may have forms).
PACKAGES = (
    "core",
    "catalog",
    "disclosure",
    "feedback",
    "govinfo",
    "composition",
    "operations",
)

# Form fields whose own check already refuses anything but a narrow format.
OWN_FORMAT = {
    ("feedback.forms.SubmissionForm", "token"): "a signed value, checked",
    ("feedback.forms.SubmissionForm", "website"): "a honeypot: any value refused",
    ("feedback.forms.TrackForm", "code"): "letters and digits only",
    ("govinfo.forms.ApplicationForm", "token"): "a signed value, checked",
    ("govinfo.forms.ApplicationForm", "website"): "a honeypot: any value refused",
    ("govinfo.forms.TrackForm", "code"): "letters and digits only",
    ("disclosure.compliance_views.ComplianceQuery", "period"): "a period key",
    # Hashed, never shown; NUL is refused for every request by the middleware.
    ("disclosure.user_admin.StaffCreationForm", "password1"): "a password",
    ("disclosure.user_admin.StaffCreationForm", "password2"): "a password",
}


def import_all() -> None:
    """Import every module of the apps, so that every form class exists."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)


def subclasses(cls) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(subclasses(sub))
    return found


def project_forms() -> list[type]:
    import_all()
    return [
        cls
        for cls in set(subclasses(forms.BaseForm))
        if cls.__module__.split(".")[0] in PACKAGES
    ]


def model_field_of(form_class, name):
    meta = getattr(form_class, "_meta", None)
    model = getattr(meta, "model", None)
    if model is None or name not in (meta.fields or ()):
        return None
    return model._meta.get_field(name)


def test_every_model_text_and_date_field_is_checked():
    unchecked = []
    for label in GUARDED_APPS:
        for model in apps.get_app_config(label).get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, models.DateField):
                    wanted = validate_date
                elif isinstance(field, (models.CharField, models.TextField)):
                    wanted = refuse_control_characters
                else:
                    continue
                if wanted not in field.validators:
                    unchecked.append(f"{model._meta.label}.{field.name}")
    assert not unchecked


def test_every_text_field_of_every_form_refuses_control_characters():
    found, unchecked = 0, []
    for form_class in project_forms():
        for name, field in form_class.base_fields.items():
            if not isinstance(field, forms.CharField):
                continue
            found += 1
            where = (f"{form_class.__module__}.{form_class.__name__}", name)
            model_field = model_field_of(form_class, name)
            if (
                refuse_control_characters in field.validators
                or (model_field and refuse_control_characters in model_field.validators)
                or where in OWN_FORMAT
            ):
                continue
            unchecked.append(where)
    assert found > 15
    assert not unchecked


def test_every_date_field_of_every_form_and_filter_is_bounded():
    found, unbounded = 0, []
    for form_class in project_forms():
        for name, field in form_class.base_fields.items():
            if not isinstance(field, (forms.DateField, forms.DateTimeField)):
                continue
            found += 1
            model_field = model_field_of(form_class, name)
            if validate_date in field.validators or (
                model_field and validate_date in model_field.validators
            ):
                continue
            unbounded.append((form_class.__name__, name))
    for filterset in subclasses(django_filters.FilterSet):
        if filterset.__module__.split(".")[0] not in PACKAGES:
            continue
        for name, f in filterset.base_filters.items():
            kind = f.field_class
            if issubclass(kind, (forms.DateField, forms.DateTimeField)) or (
                issubclass(kind, django_filters.fields.RangeField)
                and "Date" in kind.__name__
            ):
                found += 1
                if not issubclass(kind, DateRangeField):
                    unbounded.append((filterset.__name__, name))
    assert found >= 4
    assert not unbounded


def test_the_demo_town_passes_the_checks_it_would_meet_in_the_admin(demo):
    # The demo loaders write without a form: their data must be what a form
    # would accept, or the demo town would hold what staff could not enter.
    refused = []
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            fields = [
                f
                for f in model._meta.concrete_fields
                if refuse_control_characters in f.validators
                or validate_date in f.validators
            ]
            if not fields:
                continue
            for row in model._default_manager.values_list(*(f.attname for f in fields)):
                for field, value in zip(fields, row, strict=True):
                    if value in (None, ""):
                        continue
                    try:
                        field.run_validators(value)
                    except ValidationError as error:
                        refused.append((model._meta.label, field.name, str(error)))
    assert not refused[:5]
