# The Python half of gohost's bridge. It is executed once, at start-up, as
# the module "_gohost_boot"; the C layer keeps references to the names it
# needs. Nothing here is on the per-request fast path except FileWrapper and
# ErrorStream, which apps call themselves.
import ast
import importlib
import io
import os
import sys
import traceback

import _gohost


class AppLoadError(Exception):
    """The application spec could not be turned into a WSGI callable."""


def _parse_call(expr):
    # gunicorn accepts "factory" and "factory(literal args)": parse with ast
    # so that only a name (or dotted name) and literal arguments pass.
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise AppLoadError("failed to parse %r as an attribute name or function call" % expr)
    if isinstance(node, ast.Name):
        return node.id, None, None
    if isinstance(node, ast.Attribute):
        return ast.unparse(node), None, None
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        except ValueError:
            raise AppLoadError("failed to parse arguments of %r: only literal values are allowed" % expr)
        if any(k.arg is None for k in node.keywords):
            raise AppLoadError("**kwargs are not supported in %r" % expr)
        return ast.unparse(node.func), args, kwargs
    raise AppLoadError("failed to parse %r as an attribute name or function call" % expr)


def load_app(spec):
    """Import "module[:expr]" and return the WSGI callable, like gunicorn."""
    module_name, sep, expr = spec.partition(":")
    if not sep:
        expr = "application"
    module_name = module_name.strip()
    if not module_name:
        raise AppLoadError("empty module name in %r" % spec)
    name, args, kwargs = _parse_call(expr.strip())
    # A missing top-level module is the user's error, shown in one line; an
    # ImportError raised while executing the module is a bug in the app and
    # keeps its traceback.
    try:
        mod = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise AppLoadError("no module named %r (sys.path: %s)" % (module_name, os.pathsep.join(sys.path))) from None
        raise
    obj = mod
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppLoadError("failed to find attribute %r in %r" % (name, module_name)) from None
    if args is not None:
        if not callable(obj):
            raise AppLoadError("%s:%s is not callable" % (module_name, name))
        obj = obj(*args, **kwargs)
        if obj is None:
            raise AppLoadError("factory %s:%s returned None" % (module_name, expr.strip()))
    if not callable(obj):
        raise AppLoadError("application object %s:%s must be callable, got %s" % (module_name, name, type(obj).__name__))
    return obj


def _is_machinery(frame):
    # gohost's loader and the import system: noise above the user's frames.
    name = frame.filename
    return name == "<gohost bootstrap>" or name.startswith("<frozen importlib") or name.endswith("importlib/__init__.py")


def format_exception(exc):
    """The traceback text of exc, as the error log shows it."""
    if isinstance(exc, AppLoadError):
        return str(exc)
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if not _is_machinery(f)])
    text = "".join(te.format()).rstrip("\n")
    if not text.startswith("Traceback"):
        # A SyntaxError has no frames of the user's: keep Python's header.
        text = "Traceback (most recent call last):\n" + text
    return text


def app_files():
    """The source files of every imported module outside the standard library, for --reload."""
    stdlib = (sys.base_prefix, sys.base_exec_prefix)
    out = []
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if not f or not f.endswith(".py"):
            continue
        f = os.path.abspath(f)
        if "site-packages" in f or "dist-packages" in f or f.startswith(stdlib):
            continue
        out.append(f)
    return sorted(set(out))


def dump_stacks():
    """Every Python thread's stack, for a request that ran past --timeout."""
    frames = sys._current_frames()
    parts = []
    for ident, frame in frames.items():
        parts.append("Thread 0x%x (most recent call last):\n%s" % (ident, "".join(traceback.format_stack(frame)).rstrip("\n")))
    return "\n".join(parts)


class FileWrapper:
    """wsgi.file_wrapper (PEP 3333 "Optional Platform-Specific File Handling").

    gohost recognises instances of this exact class in the response: when the
    wrapped object has a working fileno() on a regular file, the body is sent
    by the server with sendfile and never iterated in Python.
    """

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __getitem__(self, key):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise IndexError

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class ErrorStream(io.TextIOBase):
    """wsgi.errors: a text stream whose lines go to gohost's error log."""

    def __init__(self):
        self._buf = []

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("wsgi.errors.write() argument must be str, not %s" % type(s).__name__)
        if "\n" in s:
            head, _, tail = s.rpartition("\n")
            self._buf.append(head)
            _gohost.log_error("".join(self._buf))
            self._buf = [tail] if tail else []
        elif s:
            self._buf.append(s)
        return len(s)

    def writelines(self, seq):
        for s in seq:
            self.write(s)

    def flush(self):
        if self._buf:
            _gohost.log_error("".join(self._buf))
            self._buf = []
