"""A minimal app under a non-default attribute name: `simple:app`."""

from _validated import wrap


def _raw(environ, start_response):
    body = b"simple app"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


app = wrap(_raw)
