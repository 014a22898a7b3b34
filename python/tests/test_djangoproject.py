"""The example Django project through Django's test client (settings as deployed: DEBUG off)."""

import re
from pathlib import Path

import pytest

from conftest import ADMIN_PASSWORD, ADMIN_USER

HOST = "127.0.0.1:8000"


@pytest.fixture
def client(django_app):
    from django.test import Client

    return Client(HTTP_HOST=HOST)


@pytest.fixture
def csrf_client(django_app):
    from django.test import Client

    return Client(enforce_csrf_checks=True, HTTP_HOST=HOST)


def test_production_settings(django_app):
    from django.conf import settings

    assert settings.DEBUG is False
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert host in settings.ALLOWED_HOSTS
    assert settings.STATIC_URL == "/static/"
    assert settings.WSGI_APPLICATION == "djangoproject.wsgi.application"


def test_no_missing_migrations(django_app):
    from django.core.management import call_command

    # Raises SystemExit(1) if models and committed migrations disagree.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_notes_api_lists_demo_notes(client):
    r = client.get("/api/notes/")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json"
    doc = r.json()
    titles = [n["title"] for n in doc["notes"]]
    assert doc["count"] == len(titles) >= 4
    assert "Hello" in titles and "Unicode" in titles
    unicode_note = next(n for n in doc["notes"] if n["title"] == "Unicode")
    assert "日本語" in unicode_note["body"]


def test_notes_api_goes_through_orm(client):
    from notes.models import Note

    note = Note.objects.create(title="from the ORM", body="x")
    try:
        doc = client.get("/api/notes/").json()
        assert note.id in [n["id"] for n in doc["notes"]]
        detail = client.get(f"/api/notes/{note.id}/")
        assert detail.status_code == 200
        assert detail.json()["title"] == "from the ORM"
    finally:
        note.delete()
    assert client.get(f"/api/notes/{note.id}/").status_code == 404


def test_notes_api_methods(client):
    assert client.head("/api/notes/").status_code == 200
    assert client.post("/api/notes/").status_code == 405


def test_index_page_uses_static(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'href="/static/notes/style.css"' in html
    assert "Hello" in html


def test_not_found_and_bad_host(client, django_app):
    from django.test import Client

    assert client.get("/no/such/page/").status_code == 404
    assert Client(HTTP_HOST="evil.example").get("/api/notes/").status_code == 400
    assert Client(HTTP_HOST="[::1]:8000").get("/api/notes/").status_code == 200
    assert Client(HTTP_HOST="localhost").get("/api/notes/").status_code == 200


def test_setup_demo_is_idempotent(django_app):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from notes.models import Note

    before = (Note.objects.count(), get_user_model().objects.count())
    call_command("setup_demo", "--no-static", verbosity=0)
    assert (Note.objects.count(), get_user_model().objects.count()) == before
    assert get_user_model().objects.get(username=ADMIN_USER).is_superuser


def _csrf_token(html):
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert m, "no CSRF token in the login form"
    return m.group(1)


def test_admin_login_with_csrf(csrf_client):
    r = csrf_client.get("/admin/login/?next=/admin/")
    assert r.status_code == 200
    token = _csrf_token(r.content.decode())
    assert "csrftoken" in r.cookies

    r = csrf_client.post(
        "/admin/login/?next=/admin/",
        {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token,
         "next": "/admin/"},
    )
    assert r.status_code == 302, r.content[:500]
    assert r["Location"] == "/admin/"
    assert "sessionid" in r.cookies

    r = csrf_client.get("/admin/")
    assert r.status_code == 200
    assert "Site administration" in r.content.decode()
    r = csrf_client.get("/admin/notes/note/")
    assert r.status_code == 200
    assert "Static files" in r.content.decode()


def test_admin_login_without_csrf_is_refused(csrf_client):
    csrf_client.get("/admin/login/")
    r = csrf_client.post("/admin/login/", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status_code == 403


def test_admin_login_wrong_password(csrf_client):
    token = _csrf_token(csrf_client.get("/admin/login/").content.decode())
    r = csrf_client.post(
        "/admin/login/",
        {"username": ADMIN_USER, "password": "wrong", "csrfmiddlewaretoken": token},
    )
    assert r.status_code == 200
    assert "sessionid" not in r.cookies


def test_admin_requires_login(client):
    r = client.get("/admin/")
    assert r.status_code == 302
    assert r["Location"].startswith("/admin/login/")


def test_static_collected(django_app):
    from django.conf import settings

    root = Path(settings.STATIC_ROOT)
    assert (root / "admin" / "css" / "base.css").is_file()
    assert (root / "admin" / "js" / "core.js").is_file()
    css = (root / "notes" / "style.css").read_text()
    assert "font-family" in css


def test_static_not_served_by_django(client):
    # With DEBUG off Django does not serve /static/: gohost --static does.
    assert client.get("/static/notes/style.css").status_code == 404
