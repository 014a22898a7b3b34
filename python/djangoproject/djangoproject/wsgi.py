"""WSGI entry point of the example Django project.

From the repository root, after ``python/djangoproject/setup_demo.sh`` has created the database
and collected the static files:

    bin/gohost --chdir python/djangoproject \\
        --static /static=$PWD/python/djangoproject/staticfiles djangoproject.wsgi:application

--chdir must be python/djangoproject (the directory holding manage.py), so that
``djangoproject`` is this settings package.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")

application = get_wsgi_application()
