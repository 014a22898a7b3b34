"""App factories: `factory:create_app()` and `factory:create_app('hi', n=3)`."""

from _validated import wrap


def create_app(greeting="hello", n=1):
    text = ("%s x%d" % (greeting, n)).encode()

    def raw(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(text)))])
        return [text]

    return wrap(raw)


def not_a_factory_result():
    return 42
