"""The example Flask app through Flask's test client and direct WSGI calls."""

import hashlib
import io
import json
import os
import wsgiref.util

import pytest


@pytest.fixture
def client(flask_app):
    return flask_app.test_client()


def call_wsgi(app, path, query="", method="GET"):
    """Call app directly; returns (status, headers, list of body items as the app yielded them)."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    wsgiref.util.setup_testing_defaults(environ)
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, headers

    body = app(environ, start_response)
    try:
        items = list(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return got["status"], dict(got["headers"]), items


def test_import_paths():
    # Both forms gohost accepts: flaskapp.app:application and 'flaskapp.app:create_app()'.
    from flask import Flask

    from flaskapp import app as module

    assert isinstance(module.application, Flask)
    assert module.application is module.app
    fresh = module.create_app()
    assert isinstance(fresh, Flask) and fresh is not module.application
    assert fresh.test_client().get("/").status_code == 200


def test_index(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.mimetype == "text/plain"
    assert r.data == b"Hello from gohost!\n"
    assert r.headers["Content-Length"] == str(len(r.data))


def test_head_index(client):
    r = client.head("/")
    assert r.status_code == 200
    assert r.data == b""


def test_json(client):
    r = client.get("/json")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["answer"] == 42
    assert doc["primes"] == [2, 3, 5, 7, 11, 13]
    assert doc["nested"] == {"ok": True, "nothing": None}


def test_not_found_and_method(client):
    assert client.get("/nope").status_code == 404
    assert client.post("/json").status_code == 405
    assert client.get("/hash").status_code == 405


def test_form(client):
    r = client.post(
        "/form",
        data="name=gohost&lang=go%2Bpython&empty=&greeting=Gr%C3%BC%C3%9Fe+%E2%9C%93",
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 200
    assert r.get_json() == {
        "name": "gohost",
        "lang": "go+python",
        "empty": "",
        "greeting": "Grüße ✓",
    }


def test_form_wrong_type(client):
    r = client.post("/form", data=b"{}", content_type="application/json")
    assert r.status_code == 415


def test_hash(client):
    data = os.urandom(300 * 1024 + 7)
    r = client.post("/hash", data=data, content_type="application/octet-stream")
    assert r.status_code == 200
    assert r.get_json() == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_hash_empty(client):
    r = client.post("/hash", data=b"")
    assert r.get_json() == {"size": 0, "sha256": hashlib.sha256(b"").hexdigest()}


def test_hash_input_terminated(client):
    # A chunked request: no CONTENT_LENGTH, the server promises EOF on wsgi.input instead.
    data = os.urandom(200 * 1024)
    r = client.post(
        "/hash",
        input_stream=io.BytesIO(data),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert r.get_json() == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_hash_reads_in_bounded_chunks(flask_app):
    # The body is read in reads of at most 64 KiB, never whole.
    data = os.urandom(1024 * 1024)
    sizes = []

    class Recording(io.BytesIO):
        def read(self, n=-1):
            sizes.append(n)
            return super().read(n)

    c = flask_app.test_client()
    r = c.post(
        "/hash",
        input_stream=Recording(data),
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert r.get_json()["size"] == len(data)
    assert sizes and all(0 < n <= 64 * 1024 for n in sizes)


@pytest.mark.parametrize("size", [0, 1, 64 * 1024 - 1, 1024 * 1024 + 13])
def test_upload(client, size):
    # Content that looks like boundaries and line breaks, to exercise the incremental decoder.
    data = (b"\r\n--x\r\n" + os.urandom(997) + b"\n\r") * (size // 1006 + 1)
    data = data[:size]
    r = client.post(
        "/upload",
        data={"file": (io.BytesIO(data), "blob.bin"), "note": "héllo"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.data
    assert r.get_json() == {
        "name": "blob.bin",
        "size": size,
        "sha256": hashlib.sha256(data).hexdigest(),
        "fields": {"note": "héllo"},
    }


def test_upload_hashes_first_file_only(client):
    r = client.post(
        "/upload",
        data={"other": (io.BytesIO(b"zzz"), "o.txt"), "file": [(io.BytesIO(b"one"), "1.txt"),
                                                              (io.BytesIO(b"two!"), "2.txt")]},
        content_type="multipart/form-data",
    )
    doc = r.get_json()
    assert (doc["name"], doc["size"]) == ("1.txt", 3)
    assert doc["sha256"] == hashlib.sha256(b"one").hexdigest()


def test_upload_missing_file(client):
    r = client.post("/upload", data={"note": "x"}, content_type="multipart/form-data")
    assert r.status_code == 400


def test_upload_malformed(client):
    r = client.post(
        "/upload",
        data=b"--b\r\nnot a part",
        content_type="multipart/form-data; boundary=b",
    )
    assert r.status_code == 400
    r = client.post("/upload", data=b"x", content_type="text/plain")
    assert r.status_code == 415


def test_stream(client):
    r = client.get("/stream?chunks=30&size=1000")
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "30000"
    assert len(r.data) == 30000
    assert r.data[:1000] == b"A" * 1000 and r.data[-1000:] == b"D" * 1000
    assert r.headers["X-Expected-Sha256"] == hashlib.sha256(r.data).hexdigest()


def test_stream_without_length(client):
    r = client.get("/stream?chunks=3&size=5&length=0")
    assert "Content-Length" not in r.headers
    assert r.data == b"AAAAABBBBBCCCCC"
    assert r.headers["X-Expected-Sha256"] == hashlib.sha256(r.data).hexdigest()


def test_stream_is_a_generator(flask_app):
    # Each chunk reaches the server as its own body item: real streaming, not one buffered blob.
    status, headers, items = call_wsgi(flask_app, "/stream", "chunks=5&size=7")
    assert status == "200 OK"
    assert headers["Content-Length"] == "35"
    assert items == [b"A" * 7, b"B" * 7, b"C" * 7, b"D" * 7, b"E" * 7]


@pytest.mark.parametrize(
    "query", ["chunks=x", "chunks=-1", "size=99999999999", "chunks=100000&size=16777216", "length=2"]
)
def test_stream_bad_args(client, query):
    assert client.get("/stream?" + query).status_code == 400


def test_stream_empty(client):
    r = client.get("/stream?chunks=0")
    assert r.status_code == 200 and r.data == b""
    assert r.headers["Content-Length"] == "0"


def test_environ(client):
    r = client.get(
        "/environ?a=1&b=%20",
        headers={"X-Test": "yes", "Accept": "application/json"},
    )
    env = r.get_json()
    assert env["REQUEST_METHOD"] == "GET"
    assert env["PATH_INFO"] == "/environ"
    assert env["QUERY_STRING"] == "a=1&b=%20"
    assert env["HTTP_X_TEST"] == "yes"
    assert env["HTTP_ACCEPT"] == "application/json"
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.version"] == [1, 0]
    assert "SERVER_PROTOCOL" in env


def test_environ_post(client):
    r = client.post("/environ", data=b"abc", content_type="text/plain")
    env = r.get_json()
    assert env["REQUEST_METHOD"] == "POST"
    assert env["CONTENT_LENGTH"] == "3"
    assert env["CONTENT_TYPE"] == "text/plain"
    json.dumps(env)
