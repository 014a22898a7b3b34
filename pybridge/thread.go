//go:build cgo

package pybridge

/*
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/gohost/gohost/environ"
	"github.com/gohost/gohost/server"
)

// Exchange is one request's I/O as the bridge sees it; host implements it
// over server's Request and ResponseWriter. Every method is called on the
// Thread's goroutine with the GIL released.
type Exchange interface {
	// ReadBody reads more of the request body than was prefetched:
	// io.EOF at the end. An error with Timeout() true, or a
	// StatusCode() of 413, is reported to the app as such.
	ReadBody(p []byte) (int, error)
	// Start records the status and headers; it may be called again until
	// the head is sent. An error means they are invalid.
	Start(status string, headers []server.HeaderField) error
	Write(p []byte) error
	// WriteFinal writes the last bytes of the body: the response is
	// complete when it returns.
	WriteFinal(p []byte) error
	SendFile(f *os.File, offset int64) error
	HeadersSent() bool
	// Fail ends a response the app broke: a 500 if nothing was sent yet,
	// else the connection is aborted. err carries the traceback to log.
	Fail(err *PyError)
	// LogError reports an error that does not change the response (close()
	// raising after the body was sent).
	LogError(err *PyError)
}

// Result kinds, mirrored from bridge.h.
const (
	kindDone  = C.GH_DONE
	kindMore  = C.GH_MORE
	kindFile  = C.GH_FILE
	kindError = C.GH_ERROR
)

// Thread is the Python side of one OS thread: its PyThreadState and the
// request it is serving. It is used only on that OS thread, by a goroutine
// locked to it (runtime.LockOSThread) for the length of each request.
type Thread struct {
	index int
	c     *C.gh_thread
	res   *C.gh_result
	gen   uint64   // mirrors the C side's request generation
	ex    Exchange // the request being served, nil between requests
	pack  []byte   // reused environ buffer
	vars  []environ.Var
}

// The registry lets C callbacks, which carry only an index, find their
// Thread: C never holds Go pointers.
var registry struct {
	sync.RWMutex
	threads []*Thread
}

func lookup(idx C.int) *Thread {
	registry.RLock()
	defer registry.RUnlock()
	if int(idx) < 0 || int(idx) >= len(registry.threads) {
		return nil
	}
	return registry.threads[idx]
}

// NewThread makes a Python thread state for the calling OS thread, which
// the caller must have locked (runtime.LockOSThread) for the Thread's life.
func (in *Interpreter) NewThread() (*Thread, error) {
	registry.Lock()
	t := &Thread{index: len(registry.threads)}
	registry.threads = append(registry.threads, t)
	registry.Unlock()
	t.c = C.gh_thread_new(C.int(t.index))
	if t.c == nil {
		return nil, errors.New("create a Python thread state: failed (see the error log)")
	}
	t.res = C.gh_thread_result(t.c)
	return t, nil
}

// ThreadHere returns the calling OS thread's Thread, making it on first use
// (the OS threads of the Go runtime are few and live as long as the
// process). The caller must be locked to its OS thread
// (runtime.LockOSThread) for as long as it uses the Thread.
func (in *Interpreter) ThreadHere() (*Thread, error) {
	if idx := C.gh_thread_self_index(); idx >= 0 {
		return lookup(idx), nil
	}
	return in.NewThread()
}

// Close deletes the thread state, on the thread that made it.
func (t *Thread) Close() {
	if t.c == nil {
		return
	}
	C.gh_thread_free(t.c)
	t.c, t.res = nil, nil
	registry.Lock()
	registry.threads[t.index] = nil
	registry.Unlock()
}

// GILWait is the time this thread has waited for the GIL so far.
func (t *Thread) GILWait() time.Duration { return time.Duration(t.res.gil_wait_ns) }

// Vars returns a reusable slice for environ.Append.
func (t *Thread) Vars() []environ.Var { return t.vars[:0] }

// Serve runs the app for one request: vars are its environ entries, body
// the bytes already read (complete when that is all of it). The response goes
// to ex; the iterable's close() is called on every path before Serve returns.
func (t *Thread) Serve(ex Exchange, vars []environ.Var, body []byte, complete bool) {
	t.vars = vars
	t.pack = packVars(t.pack[:0], vars)
	t.ex = ex
	t.gen++
	var bodyPtr *C.char
	if len(body) > 0 {
		bodyPtr = (*C.char)(unsafe.Pointer(&body[0]))
	}
	// The one crossing of the fast path. Go memory passed here is copied by C
	// before it returns (cgo pointer rules: C keeps no Go pointers).
	C.gh_call(t.c, (*C.char)(unsafe.Pointer(&t.pack[0])), C.Py_ssize_t(len(t.pack)), bodyPtr, C.Py_ssize_t(len(body)), C.int(cbool(complete)))
	t.respond()
	C.gh_finish(t.c) // close() of the iterable, references dropped
	if t.res.kind == kindError {
		t.ex.LogError(t.takeError())
	}
	t.ex = nil
}

// respond writes what the app produced, pulling more chunks as needed.
func (t *Thread) respond() {
	r := t.res
	for {
		switch r.kind {
		case kindError:
			t.ex.Fail(t.takeError())
			return
		case kindFile:
			// The length is known (what is left of the file), so the body
			// goes out with Content-Length and sendfile, not chunked.
			if !t.start(max(int64(r.size)-int64(r.offset), 0)) {
				return
			}
			t.sendFile(int(r.fd), int64(r.offset))
			return
		case kindDone:
			total := int64(0)
			for _, c := range t.chunks() {
				total += int64(c.n)
			}
			// PEP 3333 lets the server compute Content-Length when the whole
			// body is known before anything is sent.
			if !t.start(total) {
				return
			}
			// The last piece goes out with WriteFinal: head, body and the end
			// of the response in one system call for a one-item list.
			cs := t.chunks()
			for i, c := range cs {
				if i == len(cs)-1 {
					t.ex.WriteFinal(cBytes(c))
				} else if t.ex.Write(cBytes(c)) != nil {
					return
				}
			}
			if len(cs) == 0 {
				t.ex.WriteFinal(nil)
			}
			return
		case kindMore:
			if !t.start(-1) {
				return
			}
			if t.ex.Write(cBytes(t.chunks()[0])) != nil {
				return // the client is gone: gh_finish still calls close()
			}
			C.gh_next(t.c) // GIL taken and released inside
		}
	}
}

// start hands status and headers to the exchange if they changed and are not
// sent yet; knownLength ≥ 0 adds a Content-Length when the app set none.
// It reports whether the response can go on.
func (t *Thread) start(knownLength int64) bool {
	r := t.res
	if t.ex.HeadersSent() || r.headers_dirty == 0 {
		return true
	}
	if r.started == 0 {
		t.ex.Fail(&PyError{Traceback: "the application returned without calling start_response"})
		return false
	}
	hs := unsafe.Slice(r.headers, int(r.nheaders)*2)
	headers := make([]server.HeaderField, 0, int(r.nheaders)+1)
	hasLength := false
	for i := 0; i < len(hs); i += 2 {
		name := cString(hs[i])
		if !hasLength && strings.EqualFold(name, "Content-Length") {
			hasLength = true
		}
		headers = append(headers, server.HeaderField{Name: name, Value: cString(hs[i+1])})
	}
	if knownLength >= 0 && !hasLength {
		headers = append(headers, server.HeaderField{Name: "Content-Length", Value: strconv.FormatInt(knownLength, 10)})
	}
	if err := t.ex.Start(cString(r.status), headers); err != nil {
		t.ex.Fail(&PyError{Traceback: "invalid response from the application: " + err.Error()})
		return false
	}
	r.headers_dirty = 0
	return true
}

func (t *Thread) sendFile(fd int, offset int64) {
	// Dup: the file object stays Python's; ours is closed when sent.
	nfd, err := syscall.Dup(fd)
	if err != nil {
		t.ex.Fail(&PyError{Traceback: "wsgi.file_wrapper: dup: " + err.Error()})
		return
	}
	f := os.NewFile(uintptr(nfd), "wsgi.file_wrapper")
	defer f.Close()
	t.ex.SendFile(f, offset)
}

func (t *Thread) chunks() []C.gh_str {
	if t.res.nchunks == 0 {
		return nil
	}
	return unsafe.Slice(t.res.chunks, int(t.res.nchunks))
}

func (t *Thread) takeError() *PyError {
	return &PyError{Traceback: C.GoStringN(t.res.err, C.int(t.res.errlen))}
}

// cBytes views bytes owned by a Python object the C side keeps referenced
// until the next gh_next/gh_finish: no copy.
func cBytes(s C.gh_str) []byte {
	if s.n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(s.p)), int(s.n))
}

// cString copies: header strings outlive the Python objects.
func cString(s C.gh_str) string { return C.GoStringN(s.p, C.int(s.n)) }
