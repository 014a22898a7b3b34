"""Process-model test app (e2e/process_test.go): workers, reloads, recycling.

Self-contained (stdlib only, no _validated import) so that the tests can copy
this one file to a temporary directory and edit it there (HUP and --reload).

Routes (every response is JSON and carries the worker pid and VERSION):
  /pid               {"pid": …, "version": …}
  /version           same as /pid
  /sleep?s=S&id=I    sleeps S seconds; first creates $E2E_TEST_DIR/sleeping-I
  /alloc?mb=N        keeps N MiB (touched) alive in the worker, grows its RSS
  /spin?s=S          busy loop in Python for S seconds (a stuck request)
  /log?msg=M         writes "M pid=<pid>" to wsgi.errors (log reopening)
"""

import json
import os
import time
from urllib.parse import parse_qs

VERSION = "v1"

_kept = []


def _qs(environ):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    return {k: v[-1] for k, v in q.items()}


def _spin(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    q = _qs(environ)
    out = {"pid": os.getpid(), "version": VERSION}
    if path == "/sleep":
        d = os.environ.get("E2E_TEST_DIR")
        if d and q.get("id"):
            with open(os.path.join(d, "sleeping-" + q["id"]), "w"):
                pass
        time.sleep(float(q.get("s", "1")))
        out["slept"] = float(q.get("s", "1"))
    elif path == "/alloc":
        mb = int(q.get("mb", "1"))
        _kept.append(bytearray(b"\x01") * (mb << 20))
        out["kept_mb"] = sum(len(b) for b in _kept) >> 20
    elif path == "/spin":
        out["loops"] = _spin(float(q.get("s", "1")))
    elif path == "/log":
        environ["wsgi.errors"].write("%s pid=%d\n" % (q.get("msg", "-"), os.getpid()))
        environ["wsgi.errors"].flush()
    elif path not in ("/pid", "/version"):
        body = b"not found"
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
