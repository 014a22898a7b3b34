from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("notes.urls")),
]

# Static files: in production (DEBUG=False) Django does not serve /static/ (and whitenoise is not
# available); gohost serves STATIC_ROOT itself with --static /static=python/djangoproject/staticfiles.
# With GOHOST_DJANGO_DEBUG=1, django.contrib.staticfiles serves them under runserver only.
