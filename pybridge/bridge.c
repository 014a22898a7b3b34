// bridge.c: gohost's C layer over the CPython 3.11 C API.
//
// Conventions (see also bridge.h):
//  - "GIL: take" / "GIL: release" mark every transition. A gh_* entry point
//    called from Go takes the GIL with PyEval_RestoreThread on the calling
//    thread's own state and gives it back with PyEval_SaveThread before it
//    returns; the callbacks into Go (ghGo*) are always made with the GIL
//    released, because Go may block there on the network.
//  - "ref: new" marks a strong reference we now own, "ref: borrowed" one we
//    do not, "ref: stolen" one handed to a container.
//  - Functions that can fail have one exit, through `fail:`, that drops what
//    they own with Py_XDECREF.
#include "bridge.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "_cgo_export.h"

// ---------------------------------------------------------------------------
// Interpreter-wide state. Written once at start-up (GIL held) and read-only
// afterwards, except the intern table, which is only touched with the GIL.

static PyObject *g_boot;        // module _gohost_boot (ref: owned)
static PyObject *g_app;         // the WSGI callable (ref: owned)
static PyObject *g_template;    // environ entries shared by every request (ref: owned)
static PyObject *g_filewrapper; // _gohost_boot.FileWrapper (ref: owned)
static PyObject *g_format_exc;  // _gohost_boot.format_exception (ref: owned)

// Interned keys: the str objects used as environ keys and attribute names.
static PyObject *k_wsgi_input, *k_close, *k_filelike, *k_fileno, *k_tell;

static PyTypeObject InputType;
static PyTypeObject StartResponseType;

// ---------------------------------------------------------------------------
// Header-name intern table: environ keys arrive from Go as bytes; the str for
// each distinct key is made once and reused for every request (the table is
// bounded so that a client inventing header names cannot grow it forever;
// past the bound a fresh str is made per use).

#define GH_INTERN_SLOTS 2048
#define GH_INTERN_MAX 1024

typedef struct {
	uint32_t hash;
	uint32_t len;
	char *key;     // malloc'd copy of the bytes
	PyObject *str; // ref: owned for the process lifetime
} gh_intern;

static gh_intern g_intern[GH_INTERN_SLOTS];
static int g_intern_used;

static uint32_t fnv1a(const char *p, size_t n) {
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

// intern_key returns a NEW reference to the str for key bytes p[0:n].
// GIL: held by caller.
static PyObject *intern_key(const char *p, size_t n) {
	uint32_t h = fnv1a(p, n);
	size_t i = h & (GH_INTERN_SLOTS - 1);
	for (;;) {
		gh_intern *e = &g_intern[i];
		if (e->str == NULL)
			break;
		if (e->hash == h && e->len == n && memcmp(e->key, p, n) == 0) {
			Py_INCREF(e->str); // ref: new, for the caller
			return e->str;
		}
		i = (i + 1) & (GH_INTERN_SLOTS - 1);
	}
	PyObject *s = PyUnicode_DecodeLatin1(p, (Py_ssize_t)n, NULL); // ref: new
	if (s == NULL || g_intern_used >= GH_INTERN_MAX)
		return s;
	char *copy = malloc(n ? n : 1);
	if (copy == NULL)
		return s;
	memcpy(copy, p, n);
	PyUnicode_InternInPlace(&s);
	Py_INCREF(s); // ref: one for the table, one returned
	g_intern[i] = (gh_intern){h, (uint32_t)n, copy, s};
	g_intern_used++;
	return s;
}

// ---------------------------------------------------------------------------
// Per-thread state: one per Python worker thread (NGINX Unit style), used only
// by the OS thread that created it.

struct gh_thread {
	int index;          // the Go side's index of this thread (for callbacks)
	uint64_t gen;       // request generation: stale objects are detected by it
	PyThreadState *ts;  // this thread's state; the GIL is not held between calls
	PyObject *template; // g_template + this thread's wsgi.errors (ref: owned)
	PyObject *errors;   // this thread's ErrorStream (ref: owned)

	// The current request; every field is NULL between requests (refs: owned).
	PyObject *environ, *input, *sr, *result, *iter, *chunk;
	PyObject *status, *headers; // as given to start_response
	PyObject *hsnap;            // tuple snapshot of headers exported to Go
	int headers_sent;           // body bytes have been handed to Go

	gh_result res;
	int hcap, ccap;
};

typedef struct {
	PyObject_HEAD
	gh_thread *t; // NULL once the request is finished
	uint64_t gen;
	char *buf;    // buffered body bytes are buf[pos:end)
	Py_ssize_t cap, pos, end;
	int eof; // nothing more will come from Go
} gh_input;

typedef struct {
	PyObject_HEAD
	gh_thread *t; // NULL once the request is finished
	uint64_t gen;
} gh_sr;

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// take_gil acquires the GIL with this thread's state and counts the wait
// (the gohost_gil_wait_seconds_total metric).
static void take_gil(gh_thread *t) {
	long long start = now_ns();
	PyEval_RestoreThread(t->ts); // GIL: take
	t->res.gil_wait_ns += now_ns() - start;
}

// set_error stores the pending Python exception's traceback text in t->res
// and clears it. GIL: held.
static void set_error(gh_thread *t) {
	PyObject *type = NULL, *value = NULL, *tb = NULL, *text = NULL;
	PyErr_Fetch(&type, &value, &tb); // refs: new (each may be NULL)
	PyErr_NormalizeException(&type, &value, &tb);
	if (tb != NULL && value != NULL)
		PyException_SetTraceback(value, tb);
	const char *s = NULL;
	Py_ssize_t n = 0;
	if (value != NULL && g_format_exc != NULL) {
		text = PyObject_CallOneArg(g_format_exc, value); // ref: new
		if (text != NULL)
			s = PyUnicode_AsUTF8AndSize(text, &n); // borrowed from text
	}
	PyErr_Clear();
	if (s == NULL) {
		s = "unknown Python error (the traceback could not be formatted)";
		n = (Py_ssize_t)strlen(s);
	}
	free(t->res.err);
	t->res.err = malloc((size_t)n + 1);
	if (t->res.err != NULL) {
		memcpy(t->res.err, s, (size_t)n);
		t->res.err[n] = 0;
		t->res.errlen = n;
	} else {
		t->res.errlen = 0;
	}
	t->res.kind = GH_ERROR;
	Py_XDECREF(text);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
}

// ---------------------------------------------------------------------------
// Validation shared by start_response: PEP 3333 requires native strings, and
// RFC 9110/9112 what may go on the wire. Checking here means the app sees
// the error at the line that caused it.

static int is_tchar(unsigned char c) {
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

// latin1_view returns the bytes of a native string (a str whose code points
// are all < 256). GIL: held. Returns -1 with a Python error set otherwise.
static int latin1_view(PyObject *s, const char *what, gh_str *out) {
	if (!PyUnicode_Check(s)) {
		PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what, Py_TYPE(s)->tp_name);
		return -1;
	}
	if (PyUnicode_READY(s) < 0)
		return -1;
	if (PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) {
		PyErr_Format(PyExc_ValueError, "%s must be latin-1 (PEP 3333 native string): %R", what, s);
		return -1;
	}
	out->p = (const char *)PyUnicode_1BYTE_DATA(s);
	out->n = PyUnicode_GET_LENGTH(s);
	return 0;
}

static int check_status(PyObject *status) {
	gh_str v;
	if (latin1_view(status, "status", &v) < 0)
		return -1;
	// status-code SP reason-phrase; reason = *( HTAB / SP / VCHAR / obs-text )
	if (v.n < 4 || v.p[3] != ' ')
		goto bad;
	for (int i = 0; i < 3; i++)
		if (v.p[i] < '0' || v.p[i] > '9')
			goto bad;
	if (v.p[0] == '0')
		goto bad;
	for (Py_ssize_t i = 4; i < v.n; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			goto bad;
	}
	return 0;
bad:
	PyErr_Format(PyExc_ValueError, "invalid status %R: must be 'NNN reason' with no control characters", status);
	return -1;
}

static int check_header(PyObject *item) {
	if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
		PyErr_Format(PyExc_TypeError, "each header must be a (name, value) tuple, not %R", item);
		return -1;
	}
	gh_str name, value;
	if (latin1_view(PyTuple_GET_ITEM(item, 0), "header name", &name) < 0 ||
	    latin1_view(PyTuple_GET_ITEM(item, 1), "header value", &value) < 0)
		return -1;
	if (name.n == 0)
		goto badname;
	for (Py_ssize_t i = 0; i < name.n; i++)
		if (!is_tchar((unsigned char)name.p[i]))
			goto badname;
	for (Py_ssize_t i = 0; i < value.n; i++) {
		unsigned char c = (unsigned char)value.p[i];
		if (c != '\t' && (c < 0x20 || c == 0x7f)) {
			PyErr_Format(PyExc_ValueError, "header %R has a control character (CR, LF, NUL, ...) in its value", item);
			return -1;
		}
	}
	return 0;
badname:
	PyErr_Format(PyExc_ValueError, "invalid header name %R: must be an RFC 9110 token", PyTuple_GET_ITEM(item, 0));
	return -1;
}

// export_head points t->res.status/headers at the current status and a tuple
// snapshot of the headers (the app may mutate its list later; the snapshot's
// strings are immutable and stay referenced until the request ends).
// GIL: held. Returns -1 with a Python error set.
static int export_head(gh_thread *t) {
	gh_result *r = &t->res;
	if (t->status == NULL) {
		r->started = 0;
		return 0;
	}
	PyObject *snap = PySequence_Tuple(t->headers); // ref: new
	if (snap == NULL)
		return -1;
	Py_ssize_t n = PyTuple_GET_SIZE(snap);
	if (n > t->hcap) {
		gh_str *h = realloc(r->headers, sizeof(gh_str) * 2 * (size_t)n);
		if (h == NULL) {
			Py_DECREF(snap);
			PyErr_NoMemory();
			return -1;
		}
		r->headers = h;
		t->hcap = (int)n;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *item = PyTuple_GET_ITEM(snap, i); // ref: borrowed from snap
		if (check_header(item) < 0) {
			Py_DECREF(snap);
			return -1;
		}
		latin1_view(PyTuple_GET_ITEM(item, 0), "header name", &r->headers[2 * i]);
		latin1_view(PyTuple_GET_ITEM(item, 1), "header value", &r->headers[2 * i + 1]);
	}
	latin1_view(t->status, "status", &r->status);
	Py_XSETREF(t->hsnap, snap); // ref: snap now owned by t
	r->nheaders = (int)n;
	r->started = 1;
	r->headers_dirty = 1;
	return 0;
}

static int ensure_chunks(gh_thread *t, Py_ssize_t n) {
	if (n <= t->ccap)
		return 0;
	gh_str *c = realloc(t->res.chunks, sizeof(gh_str) * (size_t)n);
	if (c == NULL) {
		PyErr_NoMemory();
		return -1;
	}
	t->res.chunks = c;
	t->ccap = (int)n;
	return 0;
}

// ---------------------------------------------------------------------------
// wsgi.input: a file object over the request body. Bytes already read by Go
// arrive in the first crossing and are served from buf; more are pulled from
// Go with the GIL released.

#define GH_INPUT_BUF (64 * 1024)

static PyObject *input_new(gh_thread *t, const char *body, Py_ssize_t n, int complete) {
	gh_input *in = PyObject_New(gh_input, &InputType); // ref: new
	if (in == NULL)
		return NULL;
	in->t = t;
	in->gen = t->gen;
	in->pos = in->end = 0;
	in->eof = complete;
	in->cap = n > 0 ? n : 0;
	in->buf = NULL;
	if (n > 0) {
		in->buf = malloc((size_t)n);
		if (in->buf == NULL) {
			Py_DECREF(in);
			return PyErr_NoMemory();
		}
		memcpy(in->buf, body, (size_t)n); // copy: Go's memory is not ours after the call
		in->end = n;
	}
	return (PyObject *)in;
}

static void input_dealloc(gh_input *in) {
	free(in->buf);
	PyObject_Free(in);
}

static int input_check(gh_input *in) {
	if (in->t == NULL || in->t->gen != in->gen) {
		PyErr_SetString(PyExc_ValueError, "wsgi.input used after its request finished");
		return -1;
	}
	return 0;
}

// input_pull reads up to n body bytes from Go into dst. Returns the count,
// 0 at the end of the body, -1 with a Python error set.
// GIL: held on entry and exit, released while Go reads the socket.
static Py_ssize_t input_pull(gh_input *in, char *dst, Py_ssize_t n) {
	if (in->eof || n <= 0)
		return 0;
	if (input_check(in) < 0)
		return -1;
	int idx = in->t->index;
	unsigned long long gen = in->gen;
	Py_ssize_t r;
	Py_BEGIN_ALLOW_THREADS // GIL: release around the blocking read
	r = ghGoRead(idx, gen, dst, n);
	Py_END_ALLOW_THREADS // GIL: take
	if (r == 0)
		in->eof = 1;
	if (r < 0) {
		in->eof = 1;
		switch (r) {
		case -2:
			PyErr_SetString(PyExc_TimeoutError, "wsgi.input: timed out reading the request body");
			break;
		case -3:
			PyErr_SetString(PyExc_OSError, "wsgi.input: request body larger than --limit-request-body");
			break;
		case -4:
			PyErr_SetString(PyExc_ValueError, "wsgi.input used after its request finished");
			break;
		default:
			PyErr_SetString(PyExc_OSError, "wsgi.input: client disconnected or sent a malformed body");
		}
		return -1;
	}
	return r;
}

// input_fill makes sure buf holds unread bytes unless the body is over.
// Returns the number of buffered bytes, or -1 with an error set.
static Py_ssize_t input_fill(gh_input *in) {
	if (in->pos < in->end)
		return in->end - in->pos;
	in->pos = in->end = 0;
	if (in->eof)
		return 0;
	if (in->cap < GH_INPUT_BUF) {
		char *b = realloc(in->buf, GH_INPUT_BUF);
		if (b == NULL) {
			PyErr_NoMemory();
			return -1;
		}
		in->buf = b;
		in->cap = GH_INPUT_BUF;
	}
	Py_ssize_t r = input_pull(in, in->buf, in->cap);
	if (r < 0)
		return -1;
	in->end = r;
	return r;
}

// input_read_n returns up to size bytes (all that is left when size < 0),
// looping until it has them or the body ends, as a buffered file does.
static PyObject *input_read_n(gh_input *in, Py_ssize_t size) {
	if (input_check(in) < 0)
		return NULL;
	Py_ssize_t want = size;
	if (size < 0)
		want = (in->end - in->pos) + (in->eof ? 0 : GH_INPUT_BUF);
	PyObject *out = PyBytes_FromStringAndSize(NULL, want); // ref: new
	if (out == NULL)
		return NULL;
	Py_ssize_t got = 0;
	for (;;) {
		char *dst = PyBytes_AS_STRING(out);
		Py_ssize_t avail = in->end - in->pos;
		if (avail > 0) {
			Py_ssize_t take = avail < want - got ? avail : want - got;
			memcpy(dst + got, in->buf + in->pos, (size_t)take);
			in->pos += take;
			got += take;
		}
		if (got == want) {
			if (size >= 0 || in->eof)
				break;
			// read(): grow and keep going until the end of the body.
			want *= 2;
			if (_PyBytes_Resize(&out, want) < 0)
				return NULL;
			continue;
		}
		if (in->eof)
			break;
		// Read straight into the result: no second copy for large reads.
		Py_ssize_t r = input_pull(in, PyBytes_AS_STRING(out) + got, want - got);
		if (r < 0) {
			Py_DECREF(out);
			return NULL;
		}
		got += r;
	}
	if (got != want && _PyBytes_Resize(&out, got) < 0)
		return NULL;
	return out;
}

static Py_ssize_t size_arg(PyObject *const *args, Py_ssize_t nargs, const char *fn) {
	if (nargs > 1) {
		PyErr_Format(PyExc_TypeError, "%s() takes at most 1 argument", fn);
		return -2;
	}
	if (nargs == 0 || args[0] == Py_None)
		return -1;
	Py_ssize_t n = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
	if (n == -1 && PyErr_Occurred())
		return -2;
	return n < 0 ? -1 : n;
}

static PyObject *input_read(gh_input *in, PyObject *const *args, Py_ssize_t nargs) {
	Py_ssize_t n = size_arg(args, nargs, "read");
	if (n == -2)
		return NULL;
	return input_read_n(in, n);
}

// input_readline_n returns one line including its b"\n", at most limit bytes
// (no limit when limit < 0).
static PyObject *input_readline_n(gh_input *in, Py_ssize_t limit) {
	if (input_check(in) < 0)
		return NULL;
	PyObject *acc = NULL; // ref: owned when set: bytes gathered across refills
	for (;;) {
		Py_ssize_t avail = input_fill(in);
		if (avail < 0)
			goto fail;
		if (avail == 0)
			break;
		Py_ssize_t have = acc ? PyBytes_GET_SIZE(acc) : 0;
		Py_ssize_t span = avail;
		if (limit >= 0 && span > limit - have)
			span = limit - have;
		const char *start = in->buf + in->pos;
		const char *nl = memchr(start, '\n', (size_t)span);
		Py_ssize_t take = nl ? (nl - start) + 1 : span;
		PyObject *piece = PyBytes_FromStringAndSize(start, take); // ref: new
		if (piece == NULL)
			goto fail;
		in->pos += take;
		if (acc == NULL) {
			acc = piece;
		} else {
			PyBytes_ConcatAndDel(&acc, piece); // ref: piece consumed
			if (acc == NULL)
				goto fail;
		}
		if (nl || (limit >= 0 && PyBytes_GET_SIZE(acc) >= limit))
			break;
	}
	return acc ? acc : PyBytes_FromStringAndSize(NULL, 0);
fail:
	Py_XDECREF(acc);
	return NULL;
}

static PyObject *input_readline(gh_input *in, PyObject *const *args, Py_ssize_t nargs) {
	Py_ssize_t n = size_arg(args, nargs, "readline");
	if (n == -2)
		return NULL;
	return input_readline_n(in, n);
}

static PyObject *input_readlines(gh_input *in, PyObject *const *args, Py_ssize_t nargs) {
	Py_ssize_t hint = size_arg(args, nargs, "readlines");
	if (hint == -2)
		return NULL;
	PyObject *lines = PyList_New(0); // ref: new
	if (lines == NULL)
		return NULL;
	Py_ssize_t total = 0;
	for (;;) {
		PyObject *line = input_readline_n(in, -1); // ref: new
		if (line == NULL)
			goto fail;
		Py_ssize_t n = PyBytes_GET_SIZE(line);
		if (n == 0) {
			Py_DECREF(line);
			break;
		}
		int rc = PyList_Append(lines, line); // ref: list takes its own
		Py_DECREF(line);
		if (rc < 0)
			goto fail;
		total += n;
		if (hint > 0 && total >= hint)
			break;
	}
	return lines;
fail:
	Py_DECREF(lines);
	return NULL;
}

static PyObject *input_iternext(gh_input *in) {
	PyObject *line = input_readline_n(in, -1); // ref: new
	if (line != NULL && PyBytes_GET_SIZE(line) == 0) {
		Py_DECREF(line);
		return NULL; // StopIteration
	}
	return line;
}

static PyObject *input_true(PyObject *self, PyObject *unused) { Py_RETURN_TRUE; }
static PyObject *input_false(PyObject *self, PyObject *unused) { Py_RETURN_FALSE; }
static PyObject *input_none(PyObject *self, PyObject *unused) { Py_RETURN_NONE; }

static PyMethodDef input_methods[] = {
    {"read", (PyCFunction)(void (*)(void))input_read, METH_FASTCALL, "read([size]) -> bytes"},
    {"readline", (PyCFunction)(void (*)(void))input_readline, METH_FASTCALL, "readline([size]) -> bytes"},
    {"readlines", (PyCFunction)(void (*)(void))input_readlines, METH_FASTCALL, "readlines([hint]) -> list of bytes"},
    {"readable", input_true, METH_NOARGS, NULL},
    {"seekable", input_false, METH_NOARGS, NULL},
    {"writable", input_false, METH_NOARGS, NULL},
    {"close", input_none, METH_NOARGS, "The server owns the stream: close() does nothing."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject InputType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_gohost.Input",
    .tp_basicsize = sizeof(gh_input),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "wsgi.input: the request body, streamed from the connection.",
    .tp_dealloc = (destructor)input_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)input_iternext,
    .tp_methods = input_methods,
};

// ---------------------------------------------------------------------------
// start_response and write().

static int sr_check(gh_sr *sr) {
	if (sr->t == NULL || sr->t->gen != sr->gen) {
		PyErr_SetString(PyExc_RuntimeError, "start_response used after its request finished");
		return -1;
	}
	return 0;
}

static PyObject *sr_call(gh_sr *sr, PyObject *args, PyObject *kwargs) {
	PyObject *status = NULL, *headers = NULL, *exc_info = Py_None;
	static char *kwlist[] = {"status", "headers", "exc_info", NULL};
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|O:start_response", kwlist, &status, &headers, &exc_info))
		return NULL; // refs: all borrowed from args
	if (sr_check(sr) < 0)
		return NULL;
	gh_thread *t = sr->t;
	if (exc_info != Py_None) {
		// PEP 3333: "if exc_info is provided, and the HTTP headers have
		// already been sent, start_response must raise an error, and should
		// re-raise using the exc_info tuple."
		if (t->headers_sent) {
			if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
				PyErr_SetString(PyExc_TypeError, "exc_info must be a (type, value, traceback) tuple");
				return NULL;
			}
			PyObject *value = PyTuple_GET_ITEM(exc_info, 1); // ref: borrowed
			PyObject *tb = PyTuple_GET_ITEM(exc_info, 2);    // ref: borrowed
			if (tb != Py_None)
				PyException_SetTraceback(value, tb);
			PyErr_SetObject((PyObject *)Py_TYPE(value), value);
			return NULL;
		}
	} else if (t->status != NULL) {
		// PEP 3333: "it is a fatal error to call start_response without the
		// exc_info argument if start_response has already been called".
		PyErr_SetString(PyExc_AssertionError, "start_response called a second time without exc_info");
		return NULL;
	}
	if (check_status(status) < 0)
		return NULL;
	if (!PyList_Check(headers) && !PyTuple_Check(headers)) {
		PyErr_Format(PyExc_TypeError, "headers must be a list of (name, value) tuples, not %.100s", Py_TYPE(headers)->tp_name);
		return NULL;
	}
	Py_ssize_t n = PySequence_Fast_GET_SIZE(headers);
	for (Py_ssize_t i = 0; i < n; i++)
		if (check_header(PySequence_Fast_GET_ITEM(headers, i)) < 0)
			return NULL;
	Py_INCREF(status);
	Py_INCREF(headers);
	Py_XSETREF(t->status, status);   // ref: now owned by t
	Py_XSETREF(t->headers, headers); // ref: now owned by t
	// PEP 3333: start_response "must return a write(body_data) callable".
	return PyObject_GetAttrString((PyObject *)sr, "write"); // ref: new (bound method)
}

// sr_write is the legacy write(body_data) callable: the bytes go to the
// client before it returns. GIL: released while Go writes.
static PyObject *sr_write(gh_sr *sr, PyObject *data) {
	if (sr_check(sr) < 0)
		return NULL;
	gh_thread *t = sr->t;
	if (!PyBytes_Check(data)) {
		PyErr_Format(PyExc_TypeError, "write() argument must be bytes, not %.100s", Py_TYPE(data)->tp_name);
		return NULL;
	}
	if (t->status == NULL) {
		PyErr_SetString(PyExc_AssertionError, "write() called before start_response");
		return NULL;
	}
	if (!t->headers_sent && export_head(t) < 0)
		return NULL;
	t->headers_sent = 1;
	const char *p = PyBytes_AS_STRING(data); // stays valid: the caller holds data
	Py_ssize_t n = PyBytes_GET_SIZE(data);
	int idx = t->index;
	unsigned long long gen = t->gen;
	int rc;
	Py_BEGIN_ALLOW_THREADS // GIL: release while Go writes to the socket
	rc = ghGoWrite(idx, gen, (char *)p, n);
	Py_END_ALLOW_THREADS // GIL: take
	if (rc < 0) {
		PyErr_SetString(PyExc_OSError, "write(): the client connection is gone");
		return NULL;
	}
	Py_RETURN_NONE;
}

static PyMethodDef sr_methods[] = {
    {"write", (PyCFunction)sr_write, METH_O, "write(body_data): the PEP 3333 write callable"},
    {NULL, NULL, 0, NULL},
};

static void sr_dealloc(gh_sr *sr) { PyObject_Free(sr); }

static PyTypeObject StartResponseType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_gohost.StartResponse",
    .tp_basicsize = sizeof(gh_sr),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "start_response(status, headers, exc_info=None)",
    .tp_dealloc = (destructor)sr_dealloc,
    .tp_call = (ternaryfunc)sr_call,
    .tp_methods = sr_methods,
};

// ---------------------------------------------------------------------------
// The _gohost module: the C types and the logging hook used by bootstrap.py.

static PyObject *mod_log_error(PyObject *self, PyObject *arg) {
	Py_ssize_t n;
	const char *s = PyUnicode_AsUTF8AndSize(arg, &n); // borrowed from arg
	if (s == NULL)
		return NULL;
	Py_BEGIN_ALLOW_THREADS // GIL: release: the log may block on a file
	ghGoLog((char *)s, n);
	Py_END_ALLOW_THREADS // GIL: take
	Py_RETURN_NONE;
}

static PyMethodDef mod_methods[] = {
    {"log_error", mod_log_error, METH_O, "Write one message to gohost's error log."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef gohost_module = {PyModuleDef_HEAD_INIT, "_gohost", NULL, -1, mod_methods};

static PyObject *PyInit__gohost(void) {
	if (PyType_Ready(&InputType) < 0 || PyType_Ready(&StartResponseType) < 0)
		return NULL;
	PyObject *m = PyModule_Create(&gohost_module); // ref: new
	if (m == NULL)
		return NULL;
	Py_INCREF(&InputType);
	if (PyModule_AddObject(m, "Input", (PyObject *)&InputType) < 0) // ref: stolen on success
		Py_DECREF(&InputType);
	Py_INCREF(&StartResponseType);
	if (PyModule_AddObject(m, "StartResponse", (PyObject *)&StartResponseType) < 0)
		Py_DECREF(&StartResponseType);
	return m;
}

// ---------------------------------------------------------------------------
// Interpreter lifecycle. All of these run on the interpreter's own OS thread.

static char *dup_error(const char *msg) {
	char *s = strdup(msg);
	return s;
}

// status_error turns a failed PyStatus into a malloc'd message.
static char *status_error(PyStatus st) {
	char buf[512];
	snprintf(buf, sizeof buf, "%s%s%s", st.func ? st.func : "", st.func ? ": " : "", st.err_msg ? st.err_msg : "failed");
	return dup_error(buf);
}

// pyerr_string formats the pending Python error into a malloc'd string.
static char *pyerr_string(void) {
	gh_thread tmp;
	memset(&tmp, 0, sizeof tmp);
	set_error(&tmp);
	return tmp.res.err;
}

int gh_init(const char *program, const char *venv, const char *bootstrap_src, char **err) {
	PyStatus st;
	PyConfig config;
	if (PyImport_AppendInittab("_gohost", PyInit__gohost) < 0) {
		*err = dup_error("cannot register the _gohost module");
		return -1;
	}
	PyConfig_InitPythonConfig(&config);
	// Go owns the process's signals: TERM, HUP, USR1 … are the server's.
	config.install_signal_handlers = 0;
	config.parse_argv = 0;
	// Unbuffered stdout/stderr, so that print() from the app reaches the
	// log at once, as gunicorn users get with PYTHONUNBUFFERED.
	config.buffered_stdio = 0;
	st = PyConfig_SetBytesString(&config, &config.program_name, program);
	if (PyStatus_Exception(st))
		goto fail;
	if (venv != NULL && venv[0] != 0) {
		// A virtualenv is found through its interpreter: getpath reads the
		// pyvenv.cfg beside <venv>/bin/python and sets sys.prefix to it.
		char exe[4096];
		snprintf(exe, sizeof exe, "%s/bin/python3", venv);
		st = PyConfig_SetBytesString(&config, &config.executable, exe);
		if (PyStatus_Exception(st))
			goto fail;
	}
	{
		char *argv[] = {(char *)program};
		st = PyConfig_SetBytesArgv(&config, 1, argv);
		if (PyStatus_Exception(st))
			goto fail;
	}
	st = Py_InitializeFromConfig(&config);
	if (PyStatus_Exception(st))
		goto fail;
	PyConfig_Clear(&config);
	// GIL: held by this (the main) thread from here until gh_save_main.

	k_wsgi_input = PyUnicode_InternFromString("wsgi.input");
	k_close = PyUnicode_InternFromString("close");
	k_filelike = PyUnicode_InternFromString("filelike");
	k_fileno = PyUnicode_InternFromString("fileno");
	k_tell = PyUnicode_InternFromString("tell");

	PyObject *code = Py_CompileString(bootstrap_src, "<gohost bootstrap>", Py_file_input); // ref: new
	if (code == NULL) {
		*err = pyerr_string();
		return -1;
	}
	g_boot = PyImport_ExecCodeModule("_gohost_boot", code); // ref: new
	Py_DECREF(code);
	if (g_boot == NULL) {
		*err = pyerr_string();
		return -1;
	}
	g_filewrapper = PyObject_GetAttrString(g_boot, "FileWrapper");    // ref: new
	g_format_exc = PyObject_GetAttrString(g_boot, "format_exception"); // ref: new
	if (g_filewrapper == NULL || g_format_exc == NULL) {
		*err = pyerr_string();
		return -1;
	}
	return 0;
fail:
	*err = status_error(st);
	PyConfig_Clear(&config);
	return -1;
}

// gh_sys_path_prepend puts path first on sys.path (as gunicorn does for
// --chdir and --pythonpath). GIL: held (main thread, before gh_save_main).
int gh_sys_path_prepend(const char *path) {
	PyObject *sys_path = PySys_GetObject("path"); // ref: borrowed
	PyObject *p = PyUnicode_DecodeFSDefault(path); // ref: new
	if (sys_path == NULL || p == NULL) {
		Py_XDECREF(p);
		PyErr_Clear();
		return -1;
	}
	int rc = PyList_Insert(sys_path, 0, p);
	Py_DECREF(p);
	if (rc < 0)
		PyErr_Clear();
	return rc;
}

void *gh_save_main(void) { return PyEval_SaveThread(); } // GIL: release (main thread)
void gh_restore_main(void *ts) { PyEval_RestoreThread((PyThreadState *)ts); } // GIL: take

int gh_finalize(void) { return Py_FinalizeEx(); } // GIL: held, main thread

// gh_load_app imports the app. GIL: held (main thread).
int gh_load_app(const char *spec, char **err) {
	PyObject *app = PyObject_CallMethod(g_boot, "load_app", "s", spec); // ref: new
	if (app == NULL) {
		*err = pyerr_string();
		return -1;
	}
	Py_XSETREF(g_app, app); // ref: owned by g_app
	return 0;
}

// gh_set_template builds the environ entries that are the same for every
// request. GIL: held (main thread).
int gh_set_template(int multithread, int multiprocess, const char *software) {
	PyObject *d = PyDict_New(); // ref: new
	if (d == NULL)
		return -1;
	PyObject *version = Py_BuildValue("(ii)", 1, 0); // ref: new
	PyObject *sw = PyUnicode_DecodeLatin1(software, (Py_ssize_t)strlen(software), NULL); // ref: new
	int rc = version == NULL || sw == NULL ||
	         PyDict_SetItemString(d, "SERVER_SOFTWARE", sw) < 0 ||
	         PyDict_SetItemString(d, "wsgi.version", version) < 0 ||
	         PyDict_SetItemString(d, "wsgi.multithread", multithread ? Py_True : Py_False) < 0 ||
	         PyDict_SetItemString(d, "wsgi.multiprocess", multiprocess ? Py_True : Py_False) < 0 ||
	         PyDict_SetItemString(d, "wsgi.run_once", Py_False) < 0 ||
	         // PEP 3333 (wsgi.input_terminated, from the chunked-input
	         // amendment): the server guarantees read() returns b"" at the
	         // end of the body, so apps may read without CONTENT_LENGTH.
	         PyDict_SetItemString(d, "wsgi.input_terminated", Py_True) < 0 ||
	         PyDict_SetItemString(d, "wsgi.file_wrapper", g_filewrapper) < 0;
	Py_XDECREF(version);
	Py_XDECREF(sw);
	if (rc) {
		Py_DECREF(d);
		PyErr_Clear();
		return -1;
	}
	Py_XSETREF(g_template, d); // ref: owned by g_template
	return 0;
}

static char *string_call(const char *fn) {
	PyObject *r = PyObject_CallMethod(g_boot, fn, NULL); // ref: new
	if (r == NULL)
		return pyerr_string();
	char *out = NULL;
	if (PyList_Check(r)) {
		// A list of paths: joined with NUL separators, double-NUL ended.
		size_t total = 1;
		for (Py_ssize_t i = 0; i < PyList_GET_SIZE(r); i++) {
			const char *s = PyUnicode_AsUTF8(PyList_GET_ITEM(r, i));
			if (s)
				total += strlen(s) + 1;
		}
		out = calloc(total + 1, 1);
		size_t at = 0;
		for (Py_ssize_t i = 0; out && i < PyList_GET_SIZE(r); i++) {
			const char *s = PyUnicode_AsUTF8(PyList_GET_ITEM(r, i));
			if (s) {
				strcpy(out + at, s);
				at += strlen(s) + 1;
			}
		}
	} else {
		const char *s = PyUnicode_AsUTF8(r);
		out = strdup(s ? s : "");
	}
	PyErr_Clear();
	Py_DECREF(r);
	return out;
}

// gh_app_files and gh_dump_stacks take the GIL themselves (any thread with
// no Python state of its own may call them: PyGILState makes one).
char *gh_app_files(void) {
	PyGILState_STATE g = PyGILState_Ensure(); // GIL: take
	char *out = string_call("app_files");
	PyGILState_Release(g); // GIL: release
	return out;
}

char *gh_dump_stacks(void) {
	PyGILState_STATE g = PyGILState_Ensure(); // GIL: take (a running thread yields it within the switch interval)
	char *out = string_call("dump_stacks");
	PyGILState_Release(g); // GIL: release
	return out;
}

// ---------------------------------------------------------------------------
// Worker threads.

// This OS thread's gh_thread, if it has one (gh_thread_self_index).
static __thread gh_thread *tls_thread;

int gh_thread_self_index(void) { return tls_thread ? tls_thread->index : -1; }

gh_thread *gh_thread_new(int index) {
	gh_thread *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->index = index;
	// GIL: take. PyGILState_Ensure creates this OS thread's PyThreadState
	// and registers it, so threading and PyGILState_Check work for app code.
	PyGILState_STATE g = PyGILState_Ensure();
	t->errors = PyObject_CallMethod(g_boot, "ErrorStream", NULL); // ref: new
	t->template = PyDict_Copy(g_template);                         // ref: new
	if (t->errors == NULL || t->template == NULL ||
	    PyDict_SetItemString(t->template, "wsgi.errors", t->errors) < 0) {
		PyErr_Print();
		Py_XDECREF(t->errors);
		Py_XDECREF(t->template);
		PyGILState_Release(g); // GIL: release, thread state deleted
		free(t);
		return NULL;
	}
	t->ts = PyEval_SaveThread(); // GIL: release; t->ts stays this thread's state
	tls_thread = t;
	return t;
}

static void clear_request(gh_thread *t);

void gh_thread_free(gh_thread *t) {
	if (t == NULL)
		return;
	take_gil(t); // GIL: take
	if (tls_thread == t)
		tls_thread = NULL;
	clear_request(t);
	Py_CLEAR(t->template);
	Py_CLEAR(t->errors);
	// GIL: release and delete this thread's state (the counterpart of the
	// PyGILState_Ensure in gh_thread_new).
	PyGILState_Release(PyGILState_UNLOCKED);
	free(t->res.headers);
	free(t->res.chunks);
	free(t->res.err);
	free(t);
}

gh_result *gh_thread_result(gh_thread *t) { return &t->res; }

// build_environ makes the environ dict from the template and the packed
// vars: u32 count, then per var u16 key length, key, u32 value length, value.
// GIL: held. Returns a new reference or NULL with an error set.
static PyObject *build_environ(gh_thread *t, const char *p, Py_ssize_t len) {
	const char *end = p + len;
	uint32_t count;
	PyObject *env = PyDict_Copy(t->template); // ref: new
	if (env == NULL)
		return NULL;
	if (len < 4)
		goto corrupt;
	memcpy(&count, p, 4);
	p += 4;
	for (uint32_t i = 0; i < count; i++) {
		uint16_t kl;
		uint32_t vl;
		if (end - p < 2)
			goto corrupt;
		memcpy(&kl, p, 2);
		p += 2;
		if (end - p < (Py_ssize_t)kl + 4)
			goto corrupt;
		const char *k = p;
		p += kl;
		memcpy(&vl, p, 4);
		p += 4;
		if (end - p < (Py_ssize_t)vl)
			goto corrupt;
		PyObject *key = intern_key(k, kl); // ref: new
		// PEP 3333: native strings; bytes from the wire are decoded as
		// latin-1 so that every byte maps to one code point.
		PyObject *val = PyUnicode_DecodeLatin1(p, vl, NULL); // ref: new
		p += vl;
		int rc = (key == NULL || val == NULL) ? -1 : PyDict_SetItem(env, key, val); // dict takes its own refs
		Py_XDECREF(key);
		Py_XDECREF(val);
		if (rc < 0)
			goto fail;
	}
	return env;
corrupt:
	PyErr_SetString(PyExc_SystemError, "gohost: corrupt environ buffer");
fail:
	Py_DECREF(env);
	return NULL;
}

// next_chunk advances t->iter to the next non-empty bytes chunk and stores
// the outcome in t->res. GIL: held.
static void next_chunk(gh_thread *t) {
	gh_result *r = &t->res;
	for (;;) {
		PyObject *item = PyIter_Next(t->iter); // ref: new
		if (item == NULL) {
			if (PyErr_Occurred()) {
				set_error(t);
				return;
			}
			r->kind = GH_DONE;
			r->nchunks = 0;
			break;
		}
		if (!PyBytes_Check(item)) {
			PyErr_Format(PyExc_TypeError, "the response iterable yielded %.100s, not bytes (PEP 3333)", Py_TYPE(item)->tp_name);
			Py_DECREF(item);
			set_error(t);
			return;
		}
		if (PyBytes_GET_SIZE(item) == 0) {
			Py_DECREF(item);
			continue; // PEP 3333: empty strings must not be sent or delay others
		}
		Py_XSETREF(t->chunk, item); // ref: owned by t until the next call
		r->kind = GH_MORE;
		r->nchunks = 1;
		r->chunks[0] = (gh_str){PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item)};
		break;
	}
	// start_response may be called lazily, while the first item is made.
	if (!t->headers_sent) {
		if (t->status == NULL) {
			if (r->kind == GH_MORE || r->kind == GH_DONE) {
				PyErr_SetString(PyExc_AssertionError, "the application returned without calling start_response");
				set_error(t);
			}
			return;
		}
		if (export_head(t) < 0) {
			set_error(t);
			return;
		}
		if (r->kind == GH_MORE)
			t->headers_sent = 1;
	}
}

// try_file recognises a FileWrapper over a regular file so Go can sendfile
// it. Returns 1 when t->res now describes the file. GIL: held.
static int try_file(gh_thread *t) {
	PyObject *filelike = NULL, *fdobj = NULL, *pos = NULL;
	int ok = 0;
	filelike = PyObject_GetAttr(t->result, k_filelike); // ref: new
	if (filelike == NULL)
		goto out;
	fdobj = PyObject_CallMethodNoArgs(filelike, k_fileno); // ref: new
	if (fdobj == NULL)
		goto out;
	int fd = PyLong_AsLong(fdobj);
	struct stat stt;
	if (fd < 0 || fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode))
		goto out;
	pos = PyObject_CallMethodNoArgs(filelike, k_tell); // ref: new
	if (pos == NULL)
		goto out;
	long long off = PyLong_AsLongLong(pos);
	if (off < 0)
		goto out;
	t->res.kind = GH_FILE;
	t->res.fd = fd;
	t->res.offset = off;
	t->res.size = (long long)stt.st_size;
	ok = 1;
out:
	PyErr_Clear(); // no fileno, a socket, …: fall back to iterating
	Py_XDECREF(filelike);
	Py_XDECREF(fdobj);
	Py_XDECREF(pos);
	return ok;
}

void gh_mark_sent(gh_thread *t) { t->headers_sent = 1; }

void gh_call(gh_thread *t, const char *vars, Py_ssize_t varslen, const char *body, Py_ssize_t bodylen, int complete) {
	gh_result *r = &t->res;
	r->kind = GH_DONE;
	r->started = r->headers_dirty = 0;
	r->nchunks = r->nheaders = 0;
	r->errlen = 0;
	take_gil(t); // GIL: take
	t->gen++;
	t->headers_sent = 0;
	if (ensure_chunks(t, 1) < 0)
		goto error;
	t->environ = build_environ(t, vars, varslen); // ref: owned by t
	if (t->environ == NULL)
		goto error;
	t->input = input_new(t, body, bodylen, complete); // ref: owned by t
	if (t->input == NULL || PyDict_SetItem(t->environ, k_wsgi_input, t->input) < 0)
		goto error;
	gh_sr *sr = PyObject_New(gh_sr, &StartResponseType); // ref: owned by t
	if (sr == NULL)
		goto error;
	sr->t = t;
	sr->gen = t->gen;
	t->sr = (PyObject *)sr;

	PyObject *argv[2] = {t->environ, t->sr};
	t->result = PyObject_Vectorcall(g_app, argv, 2, NULL); // ref: owned by t
	if (t->result == NULL)
		goto error;

	if (PyList_CheckExact(t->result) || PyTuple_CheckExact(t->result)) {
		// The common case: a list of bytes. Hand every item to Go at once;
		// the list keeps them alive until gh_finish.
		Py_ssize_t n = PySequence_Fast_GET_SIZE(t->result);
		if (ensure_chunks(t, n) < 0)
			goto error;
		int k = 0;
		for (Py_ssize_t i = 0; i < n; i++) {
			PyObject *item = PySequence_Fast_GET_ITEM(t->result, i); // ref: borrowed
			if (!PyBytes_Check(item)) {
				PyErr_Format(PyExc_TypeError, "the response iterable contains %.100s, not bytes (PEP 3333)", Py_TYPE(item)->tp_name);
				goto error;
			}
			if (PyBytes_GET_SIZE(item) > 0)
				r->chunks[k++] = (gh_str){PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item)};
		}
		if (t->status == NULL) {
			PyErr_SetString(PyExc_AssertionError, "the application returned without calling start_response");
			goto error;
		}
		if (!t->headers_sent && export_head(t) < 0)
			goto error;
		t->headers_sent = 1;
		r->kind = GH_DONE;
		r->nchunks = k;
	} else if (Py_TYPE(t->result) == (PyTypeObject *)g_filewrapper && t->status != NULL && try_file(t)) {
		if (!t->headers_sent && export_head(t) < 0)
			goto error;
		t->headers_sent = 1;
	} else {
		t->iter = PyObject_GetIter(t->result); // ref: owned by t
		if (t->iter == NULL)
			goto error;
		next_chunk(t);
	}
	t->ts = PyEval_SaveThread(); // GIL: release
	return;
error:
	set_error(t);
	t->ts = PyEval_SaveThread(); // GIL: release
}

void gh_next(gh_thread *t) {
	gh_result *r = &t->res;
	r->headers_dirty = 0;
	take_gil(t); // GIL: take
	Py_CLEAR(t->chunk);          // ref: the chunk Go has finished writing
	if (t->iter == NULL) {
		r->kind = GH_DONE;
		r->nchunks = 0;
	} else {
		next_chunk(t);
	}
	t->ts = PyEval_SaveThread(); // GIL: release
}

// clear_request drops every reference the request holds and disarms the
// objects the app may have kept (a stale wsgi.input or start_response then
// raises instead of touching the next request). GIL: held.
static void clear_request(gh_thread *t) {
	if (t->input != NULL) {
		gh_input *in = (gh_input *)t->input;
		in->t = NULL;
		free(in->buf);
		in->buf = NULL;
		in->pos = in->end = in->cap = 0;
	}
	if (t->sr != NULL)
		((gh_sr *)t->sr)->t = NULL;
	Py_CLEAR(t->chunk);
	Py_CLEAR(t->iter);
	Py_CLEAR(t->result);
	Py_CLEAR(t->environ);
	Py_CLEAR(t->input);
	Py_CLEAR(t->sr);
	Py_CLEAR(t->status);
	Py_CLEAR(t->headers);
	Py_CLEAR(t->hsnap);
}

void gh_finish(gh_thread *t) {
	gh_result *r = &t->res;
	r->kind = GH_DONE;
	r->errlen = 0;
	take_gil(t); // GIL: take
	Py_CLEAR(t->chunk);
	if (t->result != NULL) {
		// PEP 3333: "If the iterable returned by the application has a
		// close() method, the server or gateway must call that method upon
		// completion of the current request, whether the request was
		// completed normally, or terminated early due to an application
		// error during iteration or an early disconnect of the browser."
		// Lists and tuples (the common case) have no close(); for anything
		// else look it up without raising AttributeError, which is costly.
		PyObject *close = NULL; // ref: new when found
		if (!PyList_CheckExact(t->result) && !PyTuple_CheckExact(t->result) &&
		    _PyObject_LookupAttr(t->result, k_close, &close) < 0)
			set_error(t);
		if (close != NULL) {
			PyObject *rv = PyObject_CallNoArgs(close); // ref: new
			Py_DECREF(close);
			if (rv == NULL)
				set_error(t);
			Py_XDECREF(rv);
		}
	}
	clear_request(t);
	t->ts = PyEval_SaveThread(); // GIL: release
}
