"""Minimal Django settings for the benchmark's fallback Django JSON workload.

Used only when python/djangoproject (the project's demo) is not present.
The SQLite path comes from BENCH_DJANGO_DB (or GOHOST_DJANGO_DB).
"""

import os

SECRET_KEY = "bench-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["djangobench"]
MIDDLEWARE = []
ROOT_URLCONF = "djangobench.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DJANGO_DB") or os.environ.get("GOHOST_DJANGO_DB", "/tmp/gohost-bench-django.sqlite3"),
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING_CONFIG = None
