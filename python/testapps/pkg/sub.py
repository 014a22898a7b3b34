"""`pkg.sub:application` (dotted module path)."""

from _validated import wrap


def _raw(environ, start_response):
    body = b"pkg.sub app"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = wrap(_raw)
