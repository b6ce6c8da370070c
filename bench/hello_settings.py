"""The portal's settings with a one-view URLconf: the benchmark's hello world.

Same middleware, database connection settings and gunicorn configuration as
the portal, so the ratio to it measures what the pages themselves cost.
"""

from fengming_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.hello_urls"
