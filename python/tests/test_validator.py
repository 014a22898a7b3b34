"""Both example apps under wsgiref.validate.validator, which asserts PEP 3333 on every call the
app makes (start_response arguments, header types, body iterable, wsgi.input use, close()).

Requests are simulated in-process with wsgiref.util.setup_testing_defaults; any warning (including
wsgiref.validate.WSGIWarning) is an error. This proves the example apps are PEP 3333-clean, so a
failure when gohost serves them is gohost's.
"""

import hashlib
import io
import re
import urllib.parse
import warnings
import wsgiref.util
import wsgiref.validate

import pytest

from conftest import ADMIN_PASSWORD, ADMIN_USER

HOST = "127.0.0.1"


def run(app, method, path, query="", body=b"", headers=None, terminated=False):
    """One request through the validator; returns (status, headers dict, body bytes)."""
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": HOST,
        "SERVER_NAME": HOST,
        "SERVER_PORT": "8000",
        "wsgi.input": io.BytesIO(body),
    }
    if body and not terminated:
        environ["CONTENT_LENGTH"] = str(len(body))
    if terminated:
        environ["wsgi.input_terminated"] = True
    for k, v in (headers or {}).items():
        key = k.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = v
    wsgiref.util.setup_testing_defaults(environ)
    got = {}

    def start_response(status, response_headers, exc_info=None):
        got["status"], got["headers"] = status, response_headers
        return lambda data: pytest.fail("the write() callable is not used by these apps")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = wsgiref.validate.validator(app)(environ, start_response)
        try:
            out = b"".join(result)
        finally:
            result.close()
    return got["status"], dict(got["headers"]), out


def multipart(fields, files):
    boundary = "----gohost-test-boundary"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


@pytest.mark.parametrize(
    "method,path,query,status",
    [
        ("GET", "/", "", "200 OK"),
        ("HEAD", "/", "", "200 OK"),
        ("GET", "/json", "", "200 OK"),
        ("GET", "/environ", "x=1", "200 OK"),
        ("GET", "/stream", "chunks=8&size=100", "200 OK"),
        ("GET", "/stream", "chunks=8&size=100&length=0", "200 OK"),
        ("GET", "/stream", "chunks=bad", "400 BAD REQUEST"),
        ("GET", "/missing", "", "404 NOT FOUND"),
        ("DELETE", "/json", "", "405 METHOD NOT ALLOWED"),
    ],
)
def test_flask_get(flask_app, method, path, query, status):
    got, headers, body = run(flask_app, method, path, query)
    assert got == status
    if path == "/stream" and got == "200 OK":
        assert hashlib.sha256(body).hexdigest() == headers["X-Expected-Sha256"]


def test_flask_form(flask_app):
    status, _, body = run(
        flask_app,
        "POST",
        "/form",
        body=b"a=1&b=two",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == "200 OK"
    assert b'"b":"two"' in body


@pytest.mark.parametrize("terminated", [False, True])
def test_flask_hash(flask_app, terminated):
    data = bytes(range(256)) * 1000
    status, _, body = run(flask_app, "POST", "/hash", body=data, terminated=terminated)
    assert status == "200 OK"
    assert hashlib.sha256(data).hexdigest().encode() in body


def test_flask_upload(flask_app):
    data = bytes(range(256)) * 777
    ctype, body = multipart({"note": "hi"}, {"file": ("x.bin", data)})
    status, _, out = run(flask_app, "POST", "/upload", body=body, headers={"Content-Type": ctype})
    assert status == "200 OK", out
    assert hashlib.sha256(data).hexdigest().encode() in out


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/", "200 OK"),
        ("HEAD", "/", "200 OK"),
        ("GET", "/api/notes/", "200 OK"),
        ("GET", "/api/notes/1/", "200 OK"),
        ("GET", "/api/notes/999999/", "404 Not Found"),
        ("POST", "/api/notes/", "403 Forbidden"),  # CSRF check comes first
        ("GET", "/admin/", "302 Found"),
        ("GET", "/admin/login/", "200 OK"),
        ("GET", "/static/notes/style.css", "404 Not Found"),
    ],
)
def test_django_requests(django_app, method, path, status):
    got, _, _ = run(django_app, method, path)
    assert got == status


def test_django_admin_login(django_app):
    status, headers, body = run(django_app, "GET", "/admin/login/")
    assert status == "200 OK"
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
    form = urllib.parse.urlencode(
        {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token,
         "next": "/admin/"}
    ).encode()
    status, headers, _ = run(
        django_app,
        "POST",
        "/admin/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Referer": f"http://{HOST}/admin/login/",
        },
    )
    assert status == "302 Found"
    assert headers["Location"] == "/admin/"
