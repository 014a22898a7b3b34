"""Apps for pybridge's own tests, chosen by PATH_INFO."""
import sys
import threading

CLOSED = []


class Tracked:
    def __init__(self, chunks, fail_at=None):
        self.chunks = chunks
        self.fail_at = fail_at

    def __iter__(self):
        for i, c in enumerate(self.chunks):
            if i == self.fail_at:
                raise RuntimeError("boom in iteration")
            yield c

    def close(self):
        CLOSED.append(1)


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/ident":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(threading.get_ident()).encode()]
    if path == "/hello":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello, ", b"World!"]
    if path == "/extensions":
        # Shared-object extension modules find the C API in the gohost
        # binary itself (CPython is linked in statically).
        import importlib
        out = []
        for name in environ["QUERY_STRING"].split(","):
            mod = importlib.import_module(name)
            out.append("%s %s" % (name, getattr(mod, "__file__", "built-in")))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["\n".join(out).encode()]
    if path == "/environ":
        start_response("200 OK", [("Content-Type", "text/plain")])
        keys = sorted(k for k in environ if k != "wsgi.input")
        out = "\n".join("%s=%r" % (k, environ[k]) for k in keys if not k.startswith("wsgi.errors") and k != "wsgi.file_wrapper")
        return [out.encode("latin-1")]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [body]
    if path == "/lines":
        inp = environ["wsgi.input"]
        first = inp.readline()
        limited = inp.readline(3)
        rest = inp.readlines()
        start_response("200 OK", [])
        return [repr([first, limited, rest]).encode()]
    if path == "/readn":
        inp = environ["wsgi.input"]
        parts = []
        while True:
            b = inp.read(7)
            if not b:
                break
            parts.append(len(b))
        start_response("200 OK", [])
        return [repr(parts).encode()]
    if path == "/gen":
        def gen():
            start_response("201 Created", [("X-Lazy", "yes")])
            yield b""
            yield b"a"
            yield b"bc"
        return gen()
    if path == "/tracked":
        start_response("200 OK", [])
        return Tracked([b"x", b"y"])
    if path == "/tracked_fail":
        start_response("200 OK", [])
        return Tracked([b"x", b"y"], fail_at=1)
    if path == "/closed":
        start_response("200 OK", [])
        return [str(len(CLOSED)).encode()]
    if path == "/raise":
        raise ValueError("app exploded")
    if path == "/no_start":
        return [b"x"]
    if path == "/bad_header":
        start_response("200 OK", [("X-Bad", "a\r\nInjected: yes")])
        return [b"x"]
    if path == "/exc_info":
        start_response("200 OK", [("X-First", "1")])
        try:
            raise KeyError("k")
        except KeyError:
            start_response("500 Oops", [("X-Second", "2")], sys.exc_info())
        return [b"replaced"]
    if path == "/write":
        write = start_response("200 OK", [])
        write(b"first;")
        return [b"second"]
    if path == "/str_body":
        start_response("200 OK", [])
        return ["not bytes"]
    if path == "/errors":
        environ["wsgi.errors"].write("line one\nline ")
        environ["wsgi.errors"].write("two\n")
        start_response("200 OK", [])
        return [b"ok"]
    if path == "/file":
        f = open(environ["QUERY_STRING"], "rb")
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](f)
    start_response("404 Not Found", [])
    return [b"not found"]
