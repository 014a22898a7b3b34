"""Deliberately broken: imports a module that does not exist."""

import gohost_definitely_missing_dependency  # noqa: F401


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"unreachable"]
