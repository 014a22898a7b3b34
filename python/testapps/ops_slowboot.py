"""Test app for e2e/ops_test.go: importing it takes 2 s (like a large Django
project), so the readiness probe can be seen failing while workers boot.
E2E_SLOWBOOT_SECONDS overrides the delay."""

import os
import time

from _validated import wrap

time.sleep(float(os.environ.get("E2E_SLOWBOOT_SECONDS", "2")))


def _raw(environ, start_response):
    body = b"booted\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = wrap(_raw)
