"""stream: 16 MiB answered in 64 KiB chunks by a generator (Content-Length set)."""

CHUNK = bytes(range(256)) * 256  # 64 KiB, byte i == i % 256
COUNT = 256  # 256 * 64 KiB = 16 MiB
TOTAL = len(CHUNK) * COUNT


def _chunks():
    for _ in range(COUNT):
        yield CHUNK


def application(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(TOTAL))],
    )
    return _chunks()
