"""Test app for e2e/ops_test.go (metrics and probes): every route answers a
body of a known, fixed size so the tests can predict the byte counters.

  GET  /hello        200 "hello world\\n" (12 bytes)
  POST /items        reads the whole body, 201 "created\\n" (8 bytes)
  GET  /sleep?s=X    sleeps X seconds (GIL released), 200 "slept\\n" (6 bytes)
  GET  /pid          200, the worker's pid as text
  anything else      404 "not found\\n" (10 bytes)
"""

import os
import time
from urllib.parse import parse_qs

from _validated import wrap


def _reply(start_response, status, body):
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _raw(environ, start_response):
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "")
    if path == "/hello" and method in ("GET", "HEAD"):
        return _reply(start_response, "200 OK", b"hello world\n")
    if path == "/items" and method == "POST":
        inp = environ["wsgi.input"]
        n = 0
        while True:
            chunk = inp.read(65536)
            if not chunk:
                break
            n += len(chunk)
        return _reply(start_response, "201 Created", b"created\n")
    if path == "/sleep":
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        time.sleep(float(qs.get("s", ["0.5"])[-1]))
        return _reply(start_response, "200 OK", b"slept\n")
    if path == "/pid":
        return _reply(start_response, "200 OK", str(os.getpid()).encode())
    return _reply(start_response, "404 Not Found", b"not found\n")


application = wrap(_raw)
