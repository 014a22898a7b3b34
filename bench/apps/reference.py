"""Compute an app's reference response in-process, without any server.

usage: reference.py MODULE:CALLABLE PATH  (cwd = the app directory)
Writes the response body to stdout and 'STATUS' on stderr's last line.
The harness compares every server's response to it byte for byte.
"""

import importlib
import io
import sys
from wsgiref.util import setup_testing_defaults


def main():
    target, path = sys.argv[1], sys.argv[2]
    sys.path.insert(0, ".")
    mod_name, _, attr = target.partition(":")
    app = getattr(importlib.import_module(mod_name), attr or "application")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    setup_testing_defaults(environ)
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"] = status
        got["headers"] = headers
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    sys.stdout.buffer.write(body)
    sys.stdout.flush()
    ctype = dict((k.lower(), v) for k, v in got.get("headers", [])).get("content-type", "")
    sys.stderr.write("\n%s|%s\n" % (got.get("status", ""), ctype))


if __name__ == "__main__":
    main()
