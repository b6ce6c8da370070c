"""The settings a server or `manage.py` runs with: production.py when
DJANGO_ENV=production, development.py otherwise. The test suite names
fengming_portal.settings.test itself (pyproject.toml)."""

import os

if os.environ.get("DJANGO_ENV", "").strip().lower() == "production":
    from .production import *  # noqa: F403
else:
    from .development import *  # noqa: F403
