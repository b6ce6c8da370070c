"""A laptop or CI: SQLite unless DATABASE_URL says otherwise, DEBUG=1 opt-in."""

from .common import *  # noqa: F403
from .common import env_bool

DEBUG = env_bool("DEBUG", False)
