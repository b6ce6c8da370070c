"""Deploy checks of our own, run by `manage.py check --deploy` (CI and the
systemd unit's ExecStartPre), so that a missing step fails at deploy time and
not as a 500 on every page."""

from django.apps import apps
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import Error, Tags, register
from django.core.files.storage import storages

SHOWN = 5


@register(Tags.staticfiles, deploy=True)
def static_files_collected(app_configs=None, **kwargs) -> list[Error]:
    """With hashed names (production), every page looks each static file up in
    the manifest `collectstatic` writes: it must exist and name every file."""
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return []
    hint = "Run `manage.py collectstatic --noinput` (it writes to STATIC_ROOT)."
    try:
        collected = storage.load_manifest()[0] if storage.read_manifest() else None
    except ValueError:  # unreadable: as good as missing
        collected = None
    if collected is None:
        return [
            Error(
                f"The static files have not been collected: no readable "
                f"{storage.manifest_name} in {storage.location}; every page would "
                "answer 500.",
                hint=hint,
                id="fengming.E001",
            )
        ]
    ignore = apps.get_app_config("staticfiles").ignore_patterns
    missing = sorted(
        path
        for finder in get_finders()
        for path, _storage in finder.list(ignore)
        if path not in collected
    )
    if not missing:
        return []
    return [
        Error(
            f"{len(missing)} static files are not in the collected manifest "
            f"(collectstatic has not run since they were added): "
            f"{', '.join(missing[:SHOWN])}{' …' if len(missing) > SHOWN else ''}",
            hint=hint,
            id="fengming.E002",
        )
    ]
