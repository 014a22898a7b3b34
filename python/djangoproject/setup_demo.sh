#!/usr/bin/env bash
# Prepare the example Django project for serving: migrate the SQLite database, create the
# superuser admin / admin-password-123 if missing, add demo notes, collect static files.
# Idempotent. Honours GOHOST_DJANGO_DB, GOHOST_DJANGO_STATIC_ROOT and DJANGO_SUPERUSER_USERNAME,
# DJANGO_SUPERUSER_PASSWORD, DJANGO_SUPERUSER_EMAIL.
#
# Then serve it from the repository root with:
#   bin/gohost --chdir python/djangoproject \
#       --static /static=$PWD/python/djangoproject/staticfiles djangoproject.wsgi:application
# Options are passed to `manage.py setup_demo` (e.g. -v0 for silence, --no-static).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DJANGO_SUPERUSER_USERNAME="${DJANGO_SUPERUSER_USERNAME:-admin}"
export DJANGO_SUPERUSER_PASSWORD="${DJANGO_SUPERUSER_PASSWORD:-admin-password-123}"
export DJANGO_SUPERUSER_EMAIL="${DJANGO_SUPERUSER_EMAIL:-admin@example.com}"
exec "${PYTHON:-/usr/bin/python3}" manage.py setup_demo "$@"
