"""Create and seed the SQLite database at $BENCH_DJANGO_DB (run with cwd bench/apps)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangobench.settings")

import django  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

django.setup()

from djangobench.models import Item  # noqa: E402

with connection.schema_editor() as editor:
    if Item._meta.db_table not in connection.introspection.table_names():
        editor.create_model(Item)
Item.objects.all().delete()
Item.objects.bulk_create(Item(name="item-%02d" % i, price=100 + i) for i in range(1, 21))
print("seeded", Item.objects.count(), "items into", connection.settings_dict["NAME"])
