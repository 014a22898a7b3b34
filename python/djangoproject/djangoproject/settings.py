"""Settings of the example Django project served by gohost.

Production-style by default (DEBUG off). Environment overrides:

    GOHOST_DJANGO_DB            path of the SQLite database (default: <project>/db.sqlite3)
    GOHOST_DJANGO_STATIC_ROOT   where collectstatic puts files (default: <project>/staticfiles)
    GOHOST_DJANGO_DEBUG         "1" turns DEBUG on
    GOHOST_DJANGO_SECRET_KEY    the secret key (a fixed demo key otherwise: not for real deployments)
    GOHOST_DJANGO_ALLOWED_HOSTS extra host names, comma-separated
"""

import os
from pathlib import Path

# The directory holding manage.py.
BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get(
    "GOHOST_DJANGO_SECRET_KEY",
    "gohost-demo-insecure-8f3c1a2e9b7d4c6f0a5e1d3b9c7f2a4e6d8b0c1f3a5e7d9b",
)

DEBUG = os.environ.get("GOHOST_DJANGO_DEBUG", "") == "1"

ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    h.strip() for h in os.environ.get("GOHOST_DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "djangoproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "djangoproject.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("GOHOST_DJANGO_DB") or str(BASE_DIR / "db.sqlite3"),
        # Several worker processes share the file: wait for a writer's lock instead of failing.
        "OPTIONS": {"timeout": 20},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True

# Static files. `manage.py collectstatic` copies them into STATIC_ROOT; gohost serves that
# directory at STATIC_URL (--static /static=python/djangoproject/staticfiles). Django itself never
# serves them with DEBUG off, and whitenoise is not available. Plain StaticFilesStorage (not the
# manifest variant) so that pages render even before collectstatic has run.
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("GOHOST_DJANGO_STATIC_ROOT") or str(BASE_DIR / "staticfiles")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Errors go to stderr (gohost's error log) whatever DEBUG is; Django's default only mails admins
# when DEBUG is off.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
