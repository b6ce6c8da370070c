"""A deployment never serves what the release before it made: every page,
fragment, kept value and ETag is keyed under the release (`core.release`),
a digest of the files pages are made of, the same on every server."""

import shutil

import pytest
from django.test import Client, override_settings

from core import caching
from core.release import digest_of, release, served_paths
from tests.factories import DisclosureFactory, NoticeBoardFactory, UnitFactory

pytestmark = [
    pytest.mark.django_db,
    # Pages read twice, the second a hit: not across midnight (a page is kept
    # no longer than midnight; one made in a day's last second is not).
    pytest.mark.usefixtures("away_from_midnight", "page_cache"),
]


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "app"
    for path, text in {
        "requirements.txt": "Django==5.2",
        "templates/base.html": "<title>凤鸣镇</title>",
        "disclosure/__init__.py": "",
        "disclosure/views.py": "x = 1",
        "disclosure/templates/disclosure/list.html": "<ul></ul>",
        "locale/zh_Hans/LC_MESSAGES/django.mo": "mo",
        "static/css/site.css": "body {}",
        "tests/__init__.py": "",
        "tests/test_x.py": "assert True",
        "docs/README.txt": "notes",
        "media/uploads/2026/form.json": "{}",
        "backups/fengming-1.json": "{}",
        "staticfiles/css/site.1.css": "body {}",
        "disclosure/__pycache__/views.cpython-311.pyc": "bytecode",
        ".git/HEAD": "ref",
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def digest(root, *extra, static_dirs=None):
    with override_settings(
        TEMPLATES=[{"DIRS": [root / "templates"]}],
        STATICFILES_DIRS=static_dirs or [root / "static"],
        LOCALE_PATHS=[root / "locale"],
    ):
        return digest_of(root, [*served_paths(root), *extra])


def test_the_same_files_name_the_same_release_wherever_they_are(tree, tmp_path):
    shutil.copytree(tree, tmp_path / "other-server")
    assert digest(tree) == digest(tmp_path / "other-server")


@pytest.mark.parametrize(
    ("changed", "another"),
    [
        ("templates/base.html", True),
        ("disclosure/views.py", True),
        ("disclosure/templates/disclosure/list.html", True),
        ("locale/zh_Hans/LC_MESSAGES/django.mo", True),
        ("static/css/site.css", True),
        ("requirements.txt", True),
        # What no page is made of, and what the site keeps: the same release.
        ("tests/test_x.py", False),
        ("docs/README.txt", False),
        ("media/uploads/2026/form.json", False),
        ("backups/fengming-1.json", False),
        ("staticfiles/css/site.1.css", False),
        ("disclosure/__pycache__/views.cpython-311.pyc", False),
        (".git/HEAD", False),
    ],
)
def test_a_changed_template_code_or_translation_is_another_release(
    tree, changed, another
):
    before = digest(tree)
    (tree / changed).write_text("changed")
    assert (digest(tree) != before) is another


def test_the_static_manifest_is_part_of_the_release(tree, tmp_path):
    manifest = tmp_path / "collected" / "staticfiles.json"
    manifest.parent.mkdir()
    manifest.write_text('{"paths": {"css/site.css": "css/site.1.css"}}')
    before = digest(tree, manifest)
    manifest.write_text('{"paths": {"css/site.css": "css/site.2.css"}}')
    assert digest(tree, manifest) != before
    assert digest(tree, tmp_path / "missing.json") == digest(tree)


def test_one_release_is_one_name_whatever_the_app_folder_with_static_root_outside(
    tree, tmp_path
):
    """Found by the attack: files were ordered by their full path, so the
    manifest outside the app came before or after the code depending on
    where each server keeps the app."""
    manifest = tmp_path / "m-static" / "staticfiles.json"
    manifest.parent.mkdir()
    manifest.write_text('{"paths": {"css/site.css": "css/site.1.css"}}')
    for server in ("a-server", "z-server"):
        shutil.copytree(tree, tmp_path / server / "app")
    one, other = (tmp_path / s / "app" for s in ("a-server", "z-server"))
    assert digest(one, manifest) == digest(other, manifest)


def test_a_prefixed_static_folder_is_part_of_the_release(tree):
    """Django allows (prefix, folder) in STATICFILES_DIRS: it raised."""
    assert digest(tree, static_dirs=[("", tree / "static")]) == digest(tree)


def test_the_digest_ignores_mtimes_and_the_order_folders_are_listed(tree, monkeypatch):
    import os

    from core import release as release_module

    before = digest(tree)
    for path in tree.rglob("*"):
        os.utime(path, (1, 1))
    walk = os.walk

    def backwards(top, *args, **kwargs):
        for folder, dirs, files in walk(top, *args, **kwargs):
            dirs.reverse()
            yield folder, dirs, list(reversed(files))

    monkeypatch.setattr(release_module.os, "walk", backwards)
    assert digest(tree) == before


def test_the_release_is_worked_out_once_per_process(tree, settings):
    first = release()
    settings.STATICFILES_DIRS = [tree / "static"]
    assert release() == first  # a file changed while running: the same name


def test_this_checkout_has_a_release():
    assert len(release()) == 12 and release() == release()


def test_a_page_kept_for_a_day_is_made_again_by_the_next_release(monkeypatch):
    board = NoticeBoardFactory(unit=UnitFactory(name="文理村", slug="wenli"))
    DisclosureFactory(unit=board.unit, title="文理村党务公开")
    visitor = Client()
    first = visitor.get("/boards/wenli/")
    assert first["X-Page-Cache"] == "miss"
    assert visitor.get("/boards/wenli/")["X-Page-Cache"] == "hit"
    monkeypatch.setattr(caching, "release", lambda: "next-release")
    caching.reset_local()
    again = visitor.get("/boards/wenli/")
    assert again.status_code == 200 and again["X-Page-Cache"] == "miss"
    assert "文理村党务公开" in again.text
    assert again["ETag"] != first["ETag"]
    assert visitor.get("/boards/wenli/")["X-Page-Cache"] == "hit"  # its own copy


def test_a_kept_value_is_worked_out_again_by_the_next_release(monkeypatch):
    made = []
    kept = lambda: caching.cached("figure", lambda: made.append(1) or len(made))  # noqa: E731
    assert kept() == kept() == 1
    monkeypatch.setattr(caching, "release", lambda: "next-release")
    caching.reset_local()
    assert kept() == 2


def test_a_kept_value_is_worked_out_again_under_another_content_setting(settings):
    """An environment variable that changes what pages show (which catalog
    item counts the 点题 requests) names the values kept, as a release."""
    made = []
    kept = lambda: caching.cached("figure", lambda: made.append(1) or len(made))  # noqa: E731
    assert kept() == kept() == 1
    settings.FEEDBACK_REQUEST_ITEM_CODE = "F09"
    assert kept() == kept() == 2
    settings.FEEDBACK_REQUEST_ITEM_CODE = "F02"
    assert kept() == 1 or made == [1, 1, 1]  # the first name's value, or again
