"""What this process runs, as a name: a digest of the files a page is made of
(the project's Python packages, templates, translations, static files and
their hashed names, the pinned requirements).

Every cached page, fragment, kept figure and ETag is keyed under it
(`core.caching.generation`): a deployment never serves what the release
before it made, however long that was meant to live (a day, for a page
whose scopes do not move). The same files give the same name on every
server, so servers of one release share the cache; during a rolling
deployment each release reads its own copies. The global version key stays
shared: a change announced by either release stales both. Only what the
release brings is read: uploads (MEDIA_ROOT), backups and the collected
static files (but for their manifest) are not. Nor is the environment:
the few settings it may give that change what pages show
(`CONTENT_SETTINGS`) are named beside the release (`content_settings`).
"""

import functools
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

SUFFIXES = {".py", ".html", ".txt", ".mo", ".css", ".js", ".svg", ".json"}
# Python packages that no page is made of.
SKIPPED = {"tests", "bench", "loadtest"}


def served_paths(base: Path) -> list[Path]:
    """The project's Python packages (apps, settings) under `base`, the
    template, static and locale folders the settings name, and the pinned
    requirements."""
    packages = [
        path
        for path in sorted(base.iterdir())
        if path.is_dir()
        and (path / "__init__.py").is_file()
        and path.name not in SKIPPED
    ]
    folders = [
        *(Path(d) for t in settings.TEMPLATES for d in t.get("DIRS", ())),
        # An entry may be (prefix, folder).
        *(
            Path(d[1] if isinstance(d, (tuple, list)) else d)
            for d in settings.STATICFILES_DIRS
        ),
        *(Path(d) for d in settings.LOCALE_PATHS),
    ]
    return [*packages, *folders, base / "requirements.txt"]


def digest_of(root: Path, paths: Iterable[Path]) -> str:
    """The files with one of SUFFIXES in `paths` (files, or folders walked
    but for hidden and cache folders), by name relative to `root` and content,
    in a stable order; a path that is not there counts for nothing."""
    found = set()
    for path in paths:
        if path.is_file():
            found.add(path)
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
            found.update(Path(folder, f) for f in files if Path(f).suffix in SUFFIXES)
    # Named and ordered by their names, never by where the app sits: a file
    # outside `root` (the static manifest) by its bare name.
    named = sorted(
        (str(p.relative_to(root)) if p.is_relative_to(root) else f"/{p.name}", p)
        for p in found
    )
    digest = hashlib.sha256()
    for name, path in named:
        digest.update(f"{name}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


@functools.cache
def release() -> str:
    """This process's release, worked out once (about 20 ms at start)."""
    base = Path(settings.BASE_DIR)
    # The static files' hashed names, as collectstatic wrote them.
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    return digest_of(base, [*served_paths(base), manifest])


# Settings an environment variable may give that change what pages show
# (which catalog item counts the 点题 requests): kept values are named under
# them too, so that a restart with another value reads none of before.
CONTENT_SETTINGS = ("FEEDBACK_REQUEST_ITEM_CODE",)


def content_settings() -> str:
    """A short name for the values of CONTENT_SETTINGS now (read each time:
    a test may change them; a few microseconds)."""
    return _named("\0".join(str(getattr(settings, n, "")) for n in CONTENT_SETTINGS))


@functools.lru_cache(maxsize=16)
def _named(values: str) -> str:
    return hashlib.sha256(values.encode("utf-8", "backslashreplace")).hexdigest()[:8]
