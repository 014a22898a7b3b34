"""manage.py setup_demo: prepare the demo site. Idempotent: safe to run any number of times.

Migrates the database, creates the superuser named by DJANGO_SUPERUSER_USERNAME (default
"admin", password DJANGO_SUPERUSER_PASSWORD, default "admin-password-123") unless it exists, adds
the demo notes when there are none, and collects the static files into STATIC_ROOT.
"""

import os

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from notes.models import Note

DEMO_NOTES = [
    ("Hello", "Served by gohost: Go in front, CPython inside."),
    ("Static files", "Collected into STATIC_ROOT and served by gohost --static."),
    ("Admin", "Log in at /admin/ as admin / admin-password-123."),
    ("Unicode", "Grüße, ça va? 日本語もOK ✓"),
]


class Command(BaseCommand):
    help = "Migrate, create the demo superuser and notes, collect static files (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-static", action="store_true", help="skip collectstatic"
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))

        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "admin-password-123")
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "admin@example.com")
        User = get_user_model()
        if not User.objects.filter(username=username).exists():
            User.objects.create_superuser(username=username, email=email, password=password)
            created_user = True
        else:
            created_user = False

        created_notes = 0
        if not Note.objects.exists():
            Note.objects.bulk_create(Note(title=t, body=b) for t, b in DEMO_NOTES)
            created_notes = len(DEMO_NOTES)

        if not options["no_static"]:
            call_command("collectstatic", interactive=False, verbosity=max(0, verbosity - 1))

        if verbosity:
            self.stdout.write(
                "setup_demo: superuser %r %s, %d notes added, %d notes in total"
                % (
                    username,
                    "created" if created_user else "exists",
                    created_notes,
                    Note.objects.count(),
                )
            )
