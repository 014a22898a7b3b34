"""upload: read wsgi.input fully and answer the sha256 hex digest of the body."""

import hashlib


def application(environ, start_response):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    h = hashlib.sha256()
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 65536))
        if not chunk:
            break
        h.update(chunk)
        remaining -= len(chunk)
    body = h.hexdigest().encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
