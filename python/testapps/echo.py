"""The main e2e test app. Conforming routes run through
wsgiref.validate.validator (see _validated.py); routes that are deliberately
non-conforming (bad headers/status, hop-by-hop headers, raw file_wrapper for
the sendfile path, unwrapped wsgi.input calls) bypass it.

Test-only environment (not GOHOST_*: gohost rejects unknown GOHOST_ variables):
  E2E_TEST_DIR            directory for gate files and served files
  E2E_CLOSE_LOG      close() of /close_tracker iterables appends "<id>\\n"
  E2E_VALIDATOR_LOG  validator complaints (see _validated.py)
"""

import hashlib
import json
import os
import sys
import threading
import time
from http import HTTPStatus
from urllib.parse import parse_qs

from _validated import wrap


class AppError(Exception):
    """An exception the app raises on purpose."""


def _qs(environ):
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""),
                                          keep_blank_values=True).items()}


def _json(start_response, obj, status="200 OK", extra=()):
    body = json.dumps(obj, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))] + list(extra))
    return [body]


def _text(start_response, text, status="200 OK", extra=()):
    body = text.encode("latin-1") if isinstance(text, str) else text
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body)))] + list(extra))
    return [body]


def _test_dir():
    return os.environ.get("E2E_TEST_DIR", "/tmp")


def _wait_gate(token, timeout=10.0):
    """Block until the test creates $E2E_TEST_DIR/gate-<token> (bounded)."""
    if not token:
        return True
    path = os.path.join(_test_dir(), "gate-" + token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.01)
    return False


def _log_close(ident):
    path = os.environ.get("E2E_CLOSE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(ident + "\n")


# ---------------------------------------------------------------- routes

def environ_route(environ, start_response):
    out = {"vars": {}, "types": {}}
    for k, v in environ.items():
        out["types"][k] = type(v).__name__
        if isinstance(v, str):
            out["vars"][k] = v
        elif isinstance(v, (bool, int, float)) or v is None:
            out["vars"][k] = v
        elif isinstance(v, tuple):
            out["vars"][k] = list(v)
    for k in ("wsgi.input", "wsgi.errors", "wsgi.file_wrapper"):
        if k in environ:
            out["vars"][k] = repr(environ[k])
    return _json(start_response, out)


def input_route(environ, start_response):
    q = _qs(environ)
    mode = q.get("mode", "read_n")
    n = int(q.get("n", "65536"))
    limit = int(q.get("limit", "100"))
    hint = int(q.get("hint", "0"))
    _wait_gate(q.get("gate"))
    inp = environ["wsgi.input"]
    # The validator's InputWrapper insists on read(size) and its __iter__
    # goes through readline(); reach the server's own object for those modes.
    raw = getattr(inp, "input", inp)
    # Stream: hash as we go, keep only the first piece sizes and bytes, so a
    # 100 MiB upload does not sit in the app's memory (the e2e test measures
    # the server's RSS).
    h = hashlib.sha256()
    st = {"len": 0, "count": 0, "max": 0, "sizes": [], "head": b"", "bad": [],
          "lines_ok": True, "last_nl": True}

    def add(p):
        if type(p) is not bytes:
            st["bad"].append(type(p).__name__)
            p = bytes(p)
        if not st["last_nl"]:
            st["lines_ok"] = False  # a piece before this one did not end a line
        st["last_nl"] = p.endswith(b"\n")
        h.update(p)
        st["len"] += len(p)
        st["count"] += 1
        st["max"] = max(st["max"], len(p))
        if len(st["sizes"]) < 200:
            st["sizes"].append(len(p))
        if len(st["head"]) < 64:
            st["head"] += p[:64 - len(st["head"])]

    def loop(fn):
        for _ in range(100_000_000):
            b = fn()
            if not b:
                return
            add(b)

    if mode == "read":
        add(raw.read())
        tail = raw.read()
    elif mode == "read_neg":
        add(inp.read(-1))
        tail = inp.read(n)
    elif mode == "read_n":
        loop(lambda: inp.read(n))
        tail = inp.read(n)
    elif mode == "readline":
        loop(inp.readline)
        tail = inp.readline()
    elif mode == "readline_limit":
        loop(lambda: inp.readline(limit))
        tail = inp.readline(limit)
    elif mode == "readlines":
        for p in (inp.readlines(hint) if hint else inp.readlines()):
            add(p)
        tail = inp.read(n)
    elif mode == "iter":
        for p in raw:
            add(p)
        tail = raw.read(n)
    elif mode == "mixed":
        # readline, then read(n), then the rest line by line.
        add(inp.readline())
        add(inp.read(n))
        loop(inp.readline)
        tail = inp.read(n)
    else:
        return _text(start_response, "bad mode", "400 Bad Request")
    line_modes = ("readline", "iter", "readlines")
    return _json(start_response, {
        "mode": mode,
        "len": st["len"],
        "sha256": h.hexdigest(),
        "count": st["count"],
        "max_piece": st["max"],
        "pieces": st["sizes"],
        "lines_ok": st["lines_ok"] if mode in line_modes else None,
        "tail_len": len(tail),
        "tail_type": type(tail).__name__,
        "bad_types": st["bad"],
        "head": st["head"].decode("latin-1"),
    })


def status_route(environ, start_response):
    q = _qs(environ)
    code = int(q.get("code", "200"))
    reason = q.get("reason")
    if reason is None:
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Custom"
    status = "%d %s" % (code, reason)
    if code in (204, 304):
        # The app (wrongly but legally for the validator) offers a body: the
        # server must not send it.
        start_response(status, [("X-Status-Test", str(code))])
        return [b"body-that-must-not-be-sent"]
    return _text(start_response, "status %d" % code, status)


def headers_route(environ, start_response):
    body = b"headers-body"
    start_response("200 OK", [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Custom", "hello world"),
        ("Set-Cookie", "a=1; Path=/"),
        ("Set-Cookie", "b=2; Path=/"),
        ("X-Mixed-Case", "Value"),
        ("X-Latin1", "caf\xe9"),
        ("Content-Length", str(len(body))),
    ])
    return [body]


def write_route(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"first-")
    write(b"second-")
    return [b"third-", b"fourth"]


def exc_before_route(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-First", "1")])
    try:
        raise AppError("exc-before-marker")
    except AppError:
        start_response("503 Service Unavailable",
                       [("Content-Type", "text/plain"), ("X-Replaced", "yes")],
                       sys.exc_info())
    return [b"replaced body"]


def exc_after_route(environ, start_response):
    q = _qs(environ)
    headers = [("Content-Type", "text/plain")]
    if q.get("cl"):
        headers.append(("Content-Length", "100"))
    start_response("200 OK", headers)

    def gen():
        yield b"part1"
        time.sleep(0.05)
        raise AppError("exc-after-marker")
    return gen()


def exc_reraise_route(environ, start_response):
    """Headers already sent, then start_response(..., exc_info): PEP 3333 says
    it must re-raise. If it returns instead, a marker goes on the wire."""
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"part1"
        try:
            raise AppError("exc-reraise-marker")
        except AppError:
            start_response("500 Internal Server Error",
                           [("Content-Type", "text/plain")], sys.exc_info())
        yield b"NOT-RERAISED"
    return gen()


def double_start_route(environ, start_response):
    """A second start_response without exc_info is an error (PEP 3333)."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        start_response("201 Created", [("Content-Type", "text/plain")])
    except Exception as e:  # the server is required to complain
        return [("raised:" + type(e).__name__).encode()]
    return [b"no-error"]


def raise_route(environ, start_response):
    raise AppError("raise-marker-" + _qs(environ).get("id", ""))


def raise_after_start_route(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Should-Not", "appear")])
    raise AppError("raise-after-start-marker")


def empty_then_raise_route(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Should-Not", "appear")])

    def gen():
        yield b""
        raise AppError("empty-then-raise-marker")
    return gen()


def cl_short_route(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"12345"]


def cl_long_route(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"12345", b"67890"]


def stream_route(environ, start_response):
    q = _qs(environ)
    n = min(int(q.get("n", "5")), 100000)
    delay = float(q.get("delay", "0"))
    size = int(q.get("size", "0"))
    gate = q.get("gate")
    headers = [("Content-Type", "text/plain")]
    if q.get("cl"):
        total = sum(len(_chunk(i, size)) for i in range(n))
        headers.append(("Content-Length", str(total)))
    start_response("200 OK", headers)

    def gen():
        for i in range(n):
            yield _chunk(i, size)
            if i == 0 and gate:
                _wait_gate(gate)
            if delay:
                time.sleep(delay)
    return gen()


_active = {"now": 0, "peak": 0}
_active_lock = threading.Lock()


def concurrent_route(environ, start_response):
    """Sleeps ms milliseconds (GIL released) and answers with the most
    requests this process has had inside the app at once so far."""
    ms = min(int(_qs(environ).get("ms", "100")), 5000)
    with _active_lock:
        _active["now"] += 1
        _active["peak"] = max(_active["peak"], _active["now"])
    time.sleep(ms / 1000)
    with _active_lock:
        _active["now"] -= 1
        peak = _active["peak"]
    return _text(start_response, str(peak))


def thread_idents_route(environ, start_response):
    """Streams n chunks of size bytes, each starting with the ident of the
    OS thread that produced it; the first line is the app call's thread."""
    q = _qs(environ)
    n = min(int(q.get("n", "10")), 1000)
    size = min(int(q.get("size", "65536")), 1 << 20)
    start_response("200 OK", [("Content-Type", "text/plain")])
    called_on = threading.get_ident()

    def gen():
        yield b"app %d\n" % called_on
        for _ in range(n):
            line = b"chunk %d\n" % threading.get_ident()
            yield line + b"." * max(size - len(line) - 1, 0) + b"\n"
    return gen()


def _chunk(i, size):
    c = b"chunk-%d\n" % i
    if size > len(c):
        c = c[:-1] + b"." * (size - len(c)) + b"\n"
    return c


def file_route(environ, start_response):
    q = _qs(environ)
    path = os.path.join(_test_dir(), q.get("name", "file.bin"))
    f = open(path, "rb")
    headers = [("Content-Type", "application/octet-stream")]
    if q.get("cl"):
        headers.append(("Content-Length", str(os.path.getsize(path))))
    start_response("200 OK", headers)
    blk = int(q.get("blksize", "8192"))
    return environ["wsgi.file_wrapper"](f, blk)


def errors_route(environ, start_response):
    marker = _qs(environ).get("marker", "errors-marker")
    err = environ["wsgi.errors"]
    err.write("wsgi.errors says %s\n" % marker)
    err.writelines(["writelines-%s\n" % marker])
    err.flush()
    return _text(start_response, "logged")


def unread_body_route(environ, start_response):
    return _text(start_response, "ignored the body")


class TrackedIterable:
    def __init__(self, ident, n, delay, raise_at, gate):
        self.ident, self.n, self.delay = ident, n, delay
        self.raise_at, self.gate = raise_at, gate
        self.closed = 0

    def __iter__(self):
        for i in range(self.n):
            if i == self.raise_at:
                raise AppError("close-tracker-raise-" + self.ident)
            yield b"tracked-%d\n" % i
            if i == 0 and self.gate:
                _wait_gate(self.gate)
            if self.delay:
                time.sleep(self.delay)

    def close(self):
        self.closed += 1
        _log_close(self.ident)


def close_tracker_route(environ, start_response):
    q = _qs(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return TrackedIterable(q.get("id", "x"), min(int(q.get("n", "3")), 100000),
                           float(q.get("delay", "0")), int(q.get("raise_at", "-1")),
                           q.get("gate"))


def pid_route(environ, start_response):
    return _json(start_response, {"pid": os.getpid()})


def echo_body_route(environ, start_response):
    """Echo the request body back (read via read(n))."""
    inp = environ["wsgi.input"]
    chunks = []
    for _ in range(1_000_000):
        b = inp.read(65536)
        if not b:
            break
        chunks.append(b)
    return _text(start_response, b"".join(chunks))


def index_route(environ, start_response):
    return _text(start_response, "echo app")


ROUTES = {
    "/": index_route,
    "/input": input_route,
    "/status": status_route,
    "/headers": headers_route,
    "/write": write_route,
    "/exc_before": exc_before_route,
    "/exc_after": exc_after_route,
    "/exc_reraise": exc_reraise_route,
    "/double_start": double_start_route,
    "/raise": raise_route,
    "/raise_after_start": raise_after_start_route,
    "/empty_then_raise": empty_then_raise_route,
    "/cl_short": cl_short_route,
    "/cl_long": cl_long_route,
    "/stream": stream_route,
    "/concurrent": concurrent_route,
    "/thread_idents": thread_idents_route,
    "/file": file_route,
    "/errors": errors_route,
    "/unread_body": unread_body_route,
    "/close_tracker": close_tracker_route,
    "/pid": pid_route,
    "/echo_body": echo_body_route,
}


def raw_app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/environ"):
        return environ_route(environ, start_response)
    route = ROUTES.get(path)
    if route is None:
        return _text(start_response, "no route " + path, "404 Not Found")
    return route(environ, start_response)


# ------------------------------------------- deliberately non-conforming apps

BAD_HEADERS = {
    "crlf": ("X-Bad", "a\r\nX-Injected: yes"),
    "lf": ("X-Bad", "a\nX-Injected: yes"),
    "cr": ("X-Bad", "a\rX-Injected: yes"),
    "nul": ("X-Bad", "a\x00b"),
    "ctl": ("X-Bad", "a\x01b"),
    "name_space": ("X Bad", "v"),
    "name_colon": ("X-Bad:", "v"),
    "name_empty": ("", "v"),
    "name_crlf": ("X-Bad\r\nX-Injected", "yes"),
    "bytes_value": ("X-Bad", b"v"),
    "bytes_name": (b"X-Bad", "v"),
    "int_value": ("X-Bad", 1),
    "nonlatin1": ("X-Bad", "\u20ac"),
}


def bad_header_app(environ, start_response):
    kind = _qs(environ).get("kind", "crlf")
    start_response("200 OK", [("Content-Type", "text/plain"), BAD_HEADERS[kind]])
    return [b"body-should-not-appear"]


BAD_STATUS = {
    "four_digits": "2000 OK",
    "two_digits": "20 OK",
    "no_code": "OK",
    "letters": "abc OK",
    "crlf": "200 OK\r\nX-Injected: yes",
    "lf": "200 OK\nX-Injected: yes",
    "bytes": b"200 OK",
    "int": 200,
    "below_100": "099 Low",
}


def bad_status_app(environ, start_response):
    kind = _qs(environ).get("kind", "crlf")
    start_response(BAD_STATUS[kind], [("Content-Type", "text/plain")])
    return [b"body-should-not-appear"]


def hop_app(environ, start_response):
    """Hop-by-hop headers from the app: the server owns framing."""
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Keep-Alive", "timeout=99"),
                              ("Transfer-Encoding", "chunked"),
                              ("X-After-Hop", "kept")])
    return [b"hop-body-1;", b"hop-body-2"]


def conn_close_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", "8"),
                              ("Connection", "close")])
    return [b"bye-bye!"]


def raw_file_app(environ, start_response):
    """file_wrapper returned to the server unwrapped (sendfile path)."""
    return file_route(environ, start_response)


def method_app(environ, start_response):
    """Any method (the validator warns about unknown ones)."""
    return _text(start_response, "method=" + environ["REQUEST_METHOD"])


application = wrap(raw_app, {
    "/bad_header": bad_header_app,
    "/bad_status": bad_status_app,
    "/hop": hop_app,
    "/conn_close": conn_close_app,
    "/raw/file": raw_file_app,
    "/method": method_app,
})
