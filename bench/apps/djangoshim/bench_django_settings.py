"""Settings for serving python/djangoproject in the benchmark.

The demo project reads its database path from GOHOST_DJANGO_DB, but the
harness passes no GOHOST_* variable to the servers (such variables configure
gohost alone, and the servers must be set up alike). So every server gets the
project's own settings with the database path taken from BENCH_DJANGO_DB.
"""

import os

from djangoproject.settings import *  # noqa: F401,F403
from djangoproject.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["BENCH_DJANGO_DB"]
