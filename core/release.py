"""What this process runs, as a name: a digest of the files a page is made of
(code, templates, translations, static files and their hashed names, the
pinned requirements).

Every cached page, fragment, kept figure and ETag is keyed under it
(`core.caching.generation`): a deployment never serves what the release
before it made, however long that was meant to live (a day, for a page
whose scopes do not move). The same files give the same name on every
server, so servers of one release share the cache; during a rolling
deployment each release reads its own copies. The global version key stays
shared: a change announced by either release stales both.
"""

import functools
import hashlib
import os
from pathlib import Path

from django.conf import settings

SUFFIXES = {".py", ".html", ".txt", ".mo", ".css", ".js", ".svg", ".json"}
# Not served: what a test run, a benchmark or a maintainer reads.
SKIPPED = {"tests", "bench", "docs", "deploy", "loadtest", "node_modules", "media"}


def digest_of(root: Path, extra: tuple[Path, ...] = ()) -> str:
    """The files under `root` with one of SUFFIXES (but in SKIPPED or hidden
    folders), and `extra`, by path and content, in a stable order."""
    digest = hashlib.sha256()
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if d not in SKIPPED and not d.startswith((".", "__")) and d != "staticfiles"
        ]
        found += [Path(folder, f) for f in files if Path(f).suffix in SUFFIXES]
    for path in sorted(found) + [p for p in extra if p.is_file()]:
        digest.update(
            str(
                path.relative_to(root) if path.is_relative_to(root) else path.name
            ).encode()
        )
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


@functools.cache
def release() -> str:
    """This process's release, worked out once (about 20 ms at start)."""
    # The static files' hashed names, as collectstatic wrote them.
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    return digest_of(Path(settings.BASE_DIR), (manifest,))
