"""Settings for serving python/djangoproject in the benchmark.

The demo project reads its database path from GOHOST_DJANGO_DB, but gohost
refuses to start when the environment holds a GOHOST_* variable it does not
know. So the harness gives every server (not only gohost, to keep them equal)
the project's own settings with the database path taken from BENCH_DJANGO_DB.
"""

import os

from djangoproject.settings import *  # noqa: F401,F403
from djangoproject.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["BENCH_DJANGO_DB"]
