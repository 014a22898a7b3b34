"""A small but realistic Flask application used by gohost's examples, e2e tests and benchmarks.

Serve it from the ``python/`` directory:

    gohost --chdir python flaskapp.app:application
    gohost --chdir python 'flaskapp.app:create_app()'

Routes:

    GET  /                          plain-text greeting
    GET  /json                      a small JSON document
    POST /form                      urlencoded form -> the fields echoed as a JSON object
    POST /upload                    multipart/form-data with a "file" part -> {"name", "size", "sha256"}
    POST /hash                      raw request body -> {"size", "sha256"}
    GET  /stream?chunks=N&size=S    N chunks of S bytes from a generator (length=0: no Content-Length)
    GET  /environ                   selected WSGI environ keys as JSON

Request bodies are never read whole: /hash and /upload hash 64 KiB reads of the WSGI input
as they arrive, so memory stays flat whatever the size of the upload.
"""

import functools
import hashlib

from flask import Flask, Response, abort, jsonify, request
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

# Size of each read from the request body.
READ_SIZE = 64 * 1024

# Limits of GET /stream: enough for benchmarks, small enough that a typo cannot exhaust memory
# or time (the expected digest is computed before the first byte is sent).
MAX_CHUNKS = 1_000_000
MAX_CHUNK_SIZE = 16 * 1024 * 1024
MAX_STREAM_TOTAL = 1024 * 1024 * 1024

# Form fields (not files) of an upload are kept in memory; cap them.
MAX_UPLOAD_FIELD = 64 * 1024

# The environ keys GET /environ reports, besides every HTTP_* key.
ENVIRON_KEYS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "wsgi.version",
    "wsgi.url_scheme",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
    "wsgi.input_terminated",
)


def chunk(i, size):
    """The i-th chunk of GET /stream: size copies of one letter, A..Z cycling."""
    return bytes((65 + i % 26,)) * size


@functools.lru_cache(maxsize=64)
def stream_sha256(chunks, size):
    """SHA-256 of the whole body of GET /stream?chunks=N&size=S (cached: benchmarks repeat it)."""
    h = hashlib.sha256()
    for i in range(chunks):
        h.update(chunk(i, size))
    return h.hexdigest()


def int_arg(name, default, lo, hi):
    """The query argument name as an int in [lo, hi]; 400 Bad Request otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, f"{name} must be an integer")
    if not lo <= value <= hi:
        abort(400, f"{name} must be between {lo} and {hi}")
    return value


def index():
    return Response("Hello from gohost!\n", mimetype="text/plain")


def json_doc():
    return jsonify(
        {
            "message": "hello",
            "server": "gohost",
            "answer": 42,
            "pi": 3.14159,
            "primes": [2, 3, 5, 7, 11, 13],
            "nested": {"ok": True, "nothing": None},
        }
    )


def form():
    if request.mimetype != "application/x-www-form-urlencoded":
        abort(415, "expected application/x-www-form-urlencoded")
    # Repeated fields keep their first value; files are not accepted here.
    return jsonify(request.form.to_dict(flat=True))


def hash_body():
    # request.stream is wsgi.input bounded by CONTENT_LENGTH, or wsgi.input itself when the
    # server sets wsgi.input_terminated (chunked requests).
    h = hashlib.sha256()
    size = 0
    stream = request.stream
    while True:
        data = stream.read(READ_SIZE)
        if not data:
            break
        size += len(data)
        h.update(data)
    return jsonify({"size": size, "sha256": h.hexdigest()})


def upload():
    """Hash the "file" part of a multipart/form-data body while decoding it.

    Flask's request.files would spool the file to memory or a temporary file first; here
    werkzeug's incremental decoder is fed 64 KiB reads and the file's bytes go straight into
    the digest.
    """
    if request.mimetype != "multipart/form-data":
        abort(415, "expected multipart/form-data")
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        abort(400, "multipart boundary missing")
    # The decoder's buffer holds at most one read plus an undecided tail once the events are
    # drained; its limit only stops part headers that never end.
    decoder = MultipartDecoder(
        boundary.encode("latin-1"), max_form_memory_size=4 * READ_SIZE, max_parts=100
    )
    stream = request.stream
    name = None  # filename of the "file" part, once seen
    size = 0
    h = hashlib.sha256()
    fields = {}
    part = None  # (kind, name) of the part being decoded; kind is "hash", "skip" or "field"
    done = False
    try:
        while not done:
            data = stream.read(READ_SIZE)
            decoder.receive_data(data or None)
            while True:
                event = decoder.next_event()
                if isinstance(event, NeedData):
                    break
                if isinstance(event, Epilogue):
                    done = True
                    break
                if isinstance(event, File):
                    # Only the first part named "file" is hashed; other files are skipped.
                    if event.name == "file" and name is None:
                        name = event.filename
                        part = ("hash", event.name)
                    else:
                        part = ("skip", event.name)
                elif isinstance(event, Field):
                    part = ("field", event.name)
                    fields.setdefault(event.name, b"")
                elif isinstance(event, Data):
                    kind, part_name = part
                    if kind == "hash":
                        size += len(event.data)
                        h.update(event.data)
                    elif kind == "field":
                        value = fields[part_name] + event.data
                        if len(value) > MAX_UPLOAD_FIELD:
                            abort(413, "form field too large")
                        fields[part_name] = value
            if not data:
                done = True
    except ValueError as e:  # malformed multipart body
        abort(400, f"bad multipart body: {e}")
    if name is None:
        abort(400, 'no "file" part in the upload')
    return jsonify(
        {
            "name": name,
            "size": size,
            "sha256": h.hexdigest(),
            "fields": {k: v.decode("utf-8", "replace") for k, v in fields.items()},
        }
    )


def stream():
    chunks = int_arg("chunks", 10, 0, MAX_CHUNKS)
    size = int_arg("size", 1024, 0, MAX_CHUNK_SIZE)
    with_length = int_arg("length", 1, 0, 1)
    total = chunks * size
    if total > MAX_STREAM_TOTAL:
        abort(400, f"chunks*size must not exceed {MAX_STREAM_TOTAL}")

    def generate():
        for i in range(chunks):
            yield chunk(i, size)

    headers = {"X-Expected-Sha256": stream_sha256(chunks, size)}
    if with_length:
        headers["Content-Length"] = str(total)
    return Response(generate(), mimetype="application/octet-stream", headers=headers)


def environ():
    env = request.environ
    out = {}
    for key in ENVIRON_KEYS:
        if key in env:
            out[key] = env[key]
    for key, value in env.items():
        if key.startswith("HTTP_"):
            out[key] = value
    # wsgi.version is a tuple: JSON turns it into a list.
    return jsonify(out)


def create_app():
    """Application factory: ``gohost 'flaskapp.app:create_app()'``."""
    app = Flask(__name__)
    app.json.sort_keys = False
    app.add_url_rule("/", "index", index, methods=["GET"])
    app.add_url_rule("/json", "json", json_doc, methods=["GET"])
    app.add_url_rule("/form", "form", form, methods=["POST"])
    app.add_url_rule("/upload", "upload", upload, methods=["POST"])
    app.add_url_rule("/hash", "hash", hash_body, methods=["POST"])
    app.add_url_rule("/stream", "stream", stream, methods=["GET"])
    app.add_url_rule("/environ", "environ", environ, methods=["GET", "POST"])
    return app


application = app = create_app()
