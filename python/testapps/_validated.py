"""Shared support for the e2e test apps: wrap a raw WSGI app in
wsgiref.validate.validator and make every validator complaint observable.

wsgiref.validate reports problems three ways, and none of them reliably reaches
the test on its own (an AssertionError inside the app just becomes a 500):

* AssertionError raised from the app call, from iteration or from close();
* WSGIWarning through the warnings module;
* an AssertionError in IteratorWrapper.__del__ when the server never called
  close() (only visible through sys.unraisablehook).

Each of them is appended to the file named by $E2E_VALIDATOR_LOG (and
kept in memory, served at /__validator_errors); the e2e harness asserts the
file is empty when the server stops. The test apps themselves never use
`assert`, so every AssertionError seen here comes from the validator.
"""

import json
import os
import sys
import threading
import traceback
import warnings
from wsgiref.validate import WSGIWarning, validator

_lock = threading.Lock()
_errors = []
_hits = [0]


def record(kind, text):
    line = "%s: %s" % (kind, text.replace("\n", "\n    "))
    with _lock:
        _errors.append(line)
        path = os.environ.get("E2E_VALIDATOR_LOG")
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")


warnings.simplefilter("always", WSGIWarning)
_orig_showwarning = warnings.showwarning


def _showwarning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, WSGIWarning) or "wsgiref" in str(filename):
        record("WSGIWarning", "%s (%s:%s)" % (message, filename, lineno))
    _orig_showwarning(message, category, filename, lineno, file, line)


warnings.showwarning = _showwarning

_orig_unraisablehook = sys.unraisablehook


def _unraisablehook(u):
    if isinstance(u.exc_value, AssertionError) or "wsgiref" in repr(u.object):
        record("unraisable", "%r in %r" % (u.exc_value, u.object))
    _orig_unraisablehook(u)


sys.unraisablehook = _unraisablehook


def _record_assertion(where):
    record("AssertionError", "%s\n%s" % (where, traceback.format_exc()))


class _Checked:
    """Iterable handed to the server: forwards to the validator's wrapper and
    records any AssertionError it raises."""

    def __init__(self, inner):
        self._inner = inner
        self._it = None

    def __iter__(self):
        return self

    def __next__(self):
        try:
            if self._it is None:
                self._it = iter(self._inner)
            return next(self._it)
        except AssertionError:
            _record_assertion("iteration")
            raise

    def close(self):
        try:
            self._inner.close()
        except AssertionError:
            _record_assertion("close")
            raise


def hits_app(environ, start_response):
    body = json.dumps({"hits": _hits[0], "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def errors_app(environ, start_response):
    with _lock:
        body = "".join(e + "\n" for e in _errors).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def wrap(raw_app, raw_routes=None):
    """Return the app the server runs: PATH_INFO in raw_routes (a dict of
    path -> app) bypasses the validator (deliberately non-conforming apps);
    /__hits and /__validator_errors are bookkeeping; everything else runs
    through wsgiref.validate.validator(raw_app)."""
    checked = validator(raw_app)
    raw_routes = dict(raw_routes or {})

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/__hits":
            return hits_app(environ, start_response)
        with _lock:
            _hits[0] += 1
        if path == "/__validator_errors":
            return errors_app(environ, start_response)
        if path in raw_routes:
            return raw_routes[path](environ, start_response)
        try:
            return _Checked(checked(environ, start_response))
        except AssertionError:
            _record_assertion("application call")
            raise

    return application
