"""WSGI app of the e2e/security tests.

Every call appends "<METHOD> <RAW_URI> <X-M header>" to the file named by $SECAPP_LOG
before answering, so a test can prove that a rejected request (or a request
smuggled inside one) never reached the application.

Routes (PATH_INFO):
  /env             JSON: the CGI/HTTP_ variables and the body (latin-1)
  /bad-header      a header value with CRLF (CVE-2018-1000164)
  /bad-name        a header name with CRLF
  /bad-status      a status line with CRLF
  /hop             hop-by-hop headers from the app
  /stream?mib=N    N MiB in 64 KiB chunks (a client that stops reading)
  /upload          reads wsgi.input in 64 KiB reads, answers the byte count
  /sleep?ms=N      sleeps N ms (bounded to 10 s)
  /resp?status=S&h=Name:Value&body=B   status, headers and body as given
  anything else    "ok"
"""

import json
import os
import time
from urllib.parse import parse_qs

_LOG = os.environ.get("SECAPP_LOG", "")


def _log(environ):
    if not _LOG:
        return
    line = "%s %s %s\n" % (environ.get("REQUEST_METHOD", ""), environ.get("RAW_URI", environ.get("PATH_INFO", "")),
                           environ.get("HTTP_X_M", ""))
    fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("latin-1", "replace"))
    finally:
        os.close(fd)


def _qs(environ):
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _reply(start_response, body, status="200 OK", headers=()):
    if isinstance(body, str):
        body = body.encode("latin-1")
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))] + list(headers))
    return [body]


def _env(environ, start_response):
    body = environ["wsgi.input"].read()
    out = {k: v for k, v in environ.items() if isinstance(v, str)}
    out["body"] = body.decode("latin-1")
    data = json.dumps(out, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _stream(environ, start_response):
    mib = int(_qs(environ).get("mib", "1"))
    chunk = b"x" * 65536
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(mib << 20))])

    def gen():
        for _ in range(mib * 16):
            yield chunk
    return gen()


def _upload(environ, start_response):
    inp = environ["wsgi.input"]
    total = 0
    while True:
        b = inp.read(65536)
        if not b:
            break
        total += len(b)
    return _reply(start_response, str(total))


def _resp(environ, start_response):
    """/resp?status=S&h=Name:Value&h=...&body=B: the app's own status,
    headers and body, percent-decoded as latin-1 (any byte)."""
    q = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True, encoding="latin-1")
    status = q.get("status", ["200 OK"])[-1]
    headers = []
    for h in q.get("h", []):
        name, _, value = h.partition(":")
        headers.append((name, value))
    body = q.get("body", [""])[-1].encode("latin-1")
    start_response(status, headers)
    return [body]


def application(environ, start_response):
    _log(environ)
    path = environ.get("PATH_INFO", "")
    if path == "/env":
        return _env(environ, start_response)
    if path == "/bad-header":
        return _reply(start_response, "x", headers=[("X-Foo", "Foo\r\nX-Injected: yes")])
    if path == "/bad-header-lf":
        return _reply(start_response, "x", headers=[("X-Foo", "Foo\nX-Injected: yes")])
    if path == "/bad-name":
        return _reply(start_response, "x", headers=[("X-Injected: yes\r\nX-Foo", "Foo")])
    if path == "/bad-status":
        return _reply(start_response, "x", status="200 OK\r\nX-Injected: yes")
    if path == "/hop":
        return _reply(start_response, "hop", headers=[
            ("Connection", "keep-alive, X-Secret"), ("Keep-Alive", "timeout=999"),
            ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Proxy-Connection", "keep-alive"),
            ("X-Secret", "s"), ("X-Kept", "1")])
    if path == "/stream":
        return _stream(environ, start_response)
    if path == "/resp":
        return _resp(environ, start_response)
    if path == "/upload":
        return _upload(environ, start_response)
    if path == "/sleep":
        time.sleep(min(int(_qs(environ).get("ms", "0")), 10000) / 1000.0)
        return _reply(start_response, "slept")
    return _reply(start_response, "ok")
