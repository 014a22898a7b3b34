"""Shared set-up for the tests of the example apps (no gohost involved).

python/ goes on sys.path for ``flaskapp``; python/djangoproject for the Django project. Django is
configured once per session against a temporary SQLite database and STATIC_ROOT, so the tests never
touch python/djangoproject/db.sqlite3 or staticfiles/.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
DJANGO_DIR = PYTHON_DIR / "djangoproject"

for p in (str(PYTHON_DIR), str(DJANGO_DIR)):
    if p not in sys.path:
        sys.path.insert(0, p)

# Settings read these at import time: set them before anything imports Django's settings.
_TMP = tempfile.mkdtemp(prefix="gohost-pytest-")
os.environ["DJANGO_SETTINGS_MODULE"] = "djangoproject.settings"
os.environ["GOHOST_DJANGO_DB"] = os.path.join(_TMP, "db.sqlite3")
os.environ["GOHOST_DJANGO_STATIC_ROOT"] = os.path.join(_TMP, "staticfiles")
for k in ("GOHOST_DJANGO_DEBUG", "GOHOST_DJANGO_ALLOWED_HOSTS"):
    os.environ.pop(k, None)

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password-123"


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def flask_app():
    from flaskapp.app import application

    application.testing = True
    return application


@pytest.fixture(scope="session")
def django_app():
    """The Django WSGI application, after ``manage.py setup_demo`` ran on the temporary database."""
    import django
    from django.core.management import call_command

    django.setup()
    os.environ.setdefault("DJANGO_SUPERUSER_USERNAME", ADMIN_USER)
    os.environ.setdefault("DJANGO_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
    call_command("setup_demo", verbosity=0)

    from djangoproject.wsgi import application

    return application


def pytest_configure(config):
    # Django 3.2 on Python 3.11: import-time deprecations that are not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore:'cgi' is deprecated:DeprecationWarning")
    config.addinivalue_line("filterwarnings", "ignore:Use setlocale:DeprecationWarning")
