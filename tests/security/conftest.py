"""A small town with one public and one 党内 notice (with a photo), two unit
editors, a party member and a 回音壁 case: what the security tests attack."""

import io
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from PIL import Image

from catalog.models import Scope
from disclosure import roles
from disclosure.models import Attachment, Disclosure, Unit
from feedback.models import Submission
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    PartyMemberFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

SECRET_TITLE = "党内密件标题甲乙丙"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="JPEG")
    return out.getvalue()


@dataclass
class Town:
    town: Unit
    wenli: Unit
    maoshan: Unit
    public: Disclosure
    inner: Disclosure
    inner_attachment: Attachment
    maoshan_draft: Disclosure
    submission: Submission


@pytest.fixture(autouse=True)
def _clean_cache():
    # The 回音壁 rate limit and form guards live in the cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def town(db) -> Town:
    return build_town()


def build_town() -> Town:
    fengming = TownFactory()
    wenli = UnitFactory(name="文理村", parent=fengming)
    maoshan = UnitFactory(name="茅山村", parent=fengming)
    public = DisclosureFactory(unit=wenli, title="文理村公开通知")
    inner_item = ItemFactory(scope=Scope.INNER_PARTY, code="P99")
    inner = DisclosureFactory(unit=wenli, item=inner_item, title=SECRET_TITLE)
    attachment = Attachment(disclosure=inner, kind="photo", content_type="image/jpeg")
    attachment.file.save("secret.jpg", ContentFile(jpeg()), save=False)
    attachment.thumbnail.save("thumb.jpg", ContentFile(jpeg()), save=False)
    attachment.save()
    draft = DisclosureFactory(
        unit=maoshan,
        status=Disclosure.Status.DRAFT,
        published_at=None,
        title="茅山村草稿甲乙丙",
    )
    submission = SubmissionFactory(unit=maoshan, title="茅山村来信甲乙丙")
    return Town(fengming, wenli, maoshan, public, inner, attachment, draft, submission)


@pytest.fixture
def wenli_editor(town):
    return staff_user(
        username="wenli_editor", group=roles.UNIT_EDITOR, units=[town.wenli]
    )


@pytest.fixture
def member(db):
    return PartyMemberFactory()
