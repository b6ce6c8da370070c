"""`seed_demo` on an empty database (test_seed_demo.py shares one seed)."""

import io

import pytest
from django.core.management import call_command

from disclosure.models import Attachment

pytestmark = pytest.mark.django_db


def test_demo_attachments_are_cleaned_as_uploads_are(db, monkeypatch):
    from disclosure import forms

    cleaned = []
    original = forms.clean_upload

    def spy(upload):
        cleaned.append(upload.name)
        return original(upload)

    monkeypatch.setattr(forms, "clean_upload", spy)
    call_command("seed_demo", stdout=io.StringIO())
    assert len(cleaned) == Attachment.objects.count() >= 3
