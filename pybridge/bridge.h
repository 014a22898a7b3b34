// bridge.h: the C half of pybridge. Go calls these gh_* functions; every one
// that touches Python takes the GIL itself and releases it before returning,
// so Go never runs while holding the GIL except inside the exported callbacks
// that C calls with the GIL already released.
#ifndef GOHOST_BRIDGE_H
#define GOHOST_BRIDGE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

// A borrowed view of bytes that stay valid while the owning Python object is
// referenced by the gh_thread (until the next gh_next or gh_finish).
typedef struct {
	const char *p;
	Py_ssize_t n;
} gh_str;

// What one crossing produced; kinds are mirrored in Go (result.go).
enum {
	GH_DONE = 0,  // the whole body is in chunks[0..nchunks)
	GH_MORE = 1,  // chunks[0] is the next piece; call gh_next for more
	GH_FILE = 2,  // a FileWrapper over a real file: send fd from offset
	GH_ERROR = 3, // the app raised; err holds the traceback text
};

typedef struct {
	int kind;
	int started;       // start_response has been called: status/headers valid
	int headers_dirty; // status/headers changed since Go last read them
	gh_str status;
	int nheaders;
	gh_str *headers; // 2*nheaders entries: name, value
	int nchunks;
	gh_str *chunks;
	int fd;           // GH_FILE: the file's descriptor (owned by Python)
	long long offset; // GH_FILE: where the file object's position is
	long long size;   // GH_FILE: the file's size (so the body length is known)
	char *err;        // GH_ERROR: traceback text, UTF-8, owned by the thread
	Py_ssize_t errlen;
	long long gil_wait_ns; // time spent waiting for the GIL, cumulative
} gh_result;

typedef struct gh_thread gh_thread;

// Interpreter lifecycle (called on the interpreter's own locked thread).
int gh_init(const char *program, const char *home_venv, const char *bootstrap_src, char **err);
int gh_sys_path_prepend(const char *path);
void *gh_save_main(void);
void gh_restore_main(void *ts);
int gh_finalize(void);

// Application.
int gh_load_app(const char *spec, char **err);
int gh_set_template(int multithread, int multiprocess, const char *software);
char *gh_app_files(void);
char *gh_dump_stacks(void);

// Python worker threads: one per OS thread, created and used only on it.
gh_thread *gh_thread_new(int index);
void gh_thread_free(gh_thread *t);
gh_result *gh_thread_result(gh_thread *t);
int gh_thread_self_index(void);

// The request path. vars is a packed buffer (see pack.go); body the bytes
// already read, complete=1 when they are the whole body.
void gh_call(gh_thread *t, const char *vars, Py_ssize_t varslen,
             const char *body, Py_ssize_t bodylen, int complete);
void gh_next(gh_thread *t);
void gh_finish(gh_thread *t);
void gh_mark_sent(gh_thread *t);

#endif
