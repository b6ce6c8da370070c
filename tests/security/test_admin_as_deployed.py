"""The back office pages issue 18 changed, as deployed: collected static
files under the manifest storage (every file a page names exists, hashed),
and no inline script or style attribute for the CSP to block."""

import re
from pathlib import Path

import pytest

from catalog.models import Item
from disclosure import roles
from tests.deployed import apply_deployed_settings
from tests.factories import (
    DisclosureFactory,
    ItemFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

STATIC = re.compile(r'(?:src|href)="(/static/[^"?#]+)')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>")
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle=")
MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"


@pytest.fixture
def deployed(settings, collected_static):
    headers = apply_deployed_settings(settings)
    settings.STATIC_ROOT = collected_static
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}}
    return headers


@pytest.fixture
def world():
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    ItemFactory(code="CW01", frequency=Item.Frequency.MONTHLY)
    draft = DisclosureFactory(unit=wenli, status="draft", published_at=None)
    return {
        "draft": draft,
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
    }


def pages(world, who):
    draft = world["draft"].pk
    common = [
        "/admin/",
        "/admin/disclosure/disclosure/",
        f"/admin/disclosure/disclosure/{draft}/change/",
    ]
    if who == "reviewer":
        return [*common, "/admin/feedback/submission/"]
    more = ["/admin/disclosure/disclosure/add/", "/admin/disclosure/disclosure/import/"]
    if who == "town_admin":
        more += ["/admin/auth/user/add/", "/admin/feedback/submission/"]
    return [*common, *more]


@pytest.mark.parametrize("who", ["editor", "reviewer", "town_admin"])
def test_admin_pages_name_only_collected_files_and_no_inline_code(
    client, deployed, collected_static, world, who
):
    client.force_login(world[who])
    seen = set()
    for path in pages(world, who):
        response = client.get(path, **deployed)
        assert response.status_code == 200, path
        text = response.text
        assert not INLINE_SCRIPT.search(text), (path, INLINE_SCRIPT.search(text)[0])
        assert not STYLE_ATTRIBUTE.search(text), (
            path,
            STYLE_ATTRIBUTE.search(text)[0][:120],
        )
        for url in STATIC.findall(text):
            name = url.removeprefix("/static/")
            assert (Path(collected_static) / name).is_file(), (path, url)
            seen.add(re.sub(r"\.[0-9a-f]{12}\.", ".", name))
    for ours in ("css/admin.css", "js/admin_a11y.js"):
        assert ours in seen
    if who != "reviewer":
        assert {"css/admin_lists.css", "js/disclosure_entry.js"} <= seen
