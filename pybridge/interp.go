//go:build cgo

package pybridge

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	_ "embed"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

//go:embed bootstrap.py
var bootstrapSource string

// Options configure the one interpreter of a process.
type Options struct {
	Program    string   // sys.argv[0] and program name; "gohost" when empty
	Virtualenv string   // a virtualenv directory to run in ("" for none)
	SysPath    []string // prepended to sys.path; SysPath[0] ends up first
	// Multithread and Multiprocess are the environ's wsgi.multithread and
	// wsgi.multiprocess: more than one Python thread / worker process.
	Multithread, Multiprocess bool
	// ServerSoftware is the environ's SERVER_SOFTWARE, e.g. "gohost/1.0".
	ServerSoftware string
	// ErrorLog receives each line an app writes to wsgi.errors; nil drops them.
	ErrorLog func(line string)
}

// Interpreter is the process's embedded CPython. It lives on its own OS
// thread (the Python main thread), which runs the functions sent to it.
type Interpreter struct {
	calls   chan func()
	stopped chan struct{}
	mainTS  unsafe.Pointer // main thread state while the GIL is released
	once    sync.Once
}

var (
	startOnce sync.Once
	startErr  error
	errorLog  func(string)
)

// ErrAlreadyStarted is returned by a second Start: CPython has one
// interpreter per process here.
var ErrAlreadyStarted = errors.New("the Python interpreter is already running in this process")

// Start initialises CPython with Go keeping the signals, puts SysPath in
// front of sys.path and returns with the GIL released.
func Start(opts Options) (*Interpreter, error) {
	started := false
	startOnce.Do(func() { started = true })
	if !started {
		return nil, ErrAlreadyStarted
	}
	errorLog = opts.ErrorLog
	in := &Interpreter{calls: make(chan func()), stopped: make(chan struct{})}
	ready := make(chan error, 1)
	go in.main(opts, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return in, nil
}

// main is the Python main thread: it initialises the interpreter, then runs
// the calls it is sent, each with the GIL held, until Close.
func (in *Interpreter) main(opts Options, ready chan<- error) {
	runtime.LockOSThread() // Python's main thread state is tied to this OS thread
	program := opts.Program
	if program == "" {
		program = "gohost"
	}
	cprog, cvenv, csrc := C.CString(program), C.CString(opts.Virtualenv), C.CString(bootstrapSource)
	defer C.free(unsafe.Pointer(cprog))
	defer C.free(unsafe.Pointer(cvenv))
	defer C.free(unsafe.Pointer(csrc))
	var cerr *C.char
	if C.gh_init(cprog, cvenv, csrc, &cerr) != 0 { // GIL: held from here on success
		ready <- fmt.Errorf("start Python: %s", takeCString(cerr))
		return
	}
	for i := len(opts.SysPath) - 1; i >= 0; i-- {
		p := C.CString(opts.SysPath[i])
		C.gh_sys_path_prepend(p)
		C.free(unsafe.Pointer(p))
	}
	software := opts.ServerSoftware
	if software == "" {
		software = "gohost"
	}
	csw := C.CString(software)
	defer C.free(unsafe.Pointer(csw))
	if C.gh_set_template(cbool(opts.Multithread), cbool(opts.Multiprocess), csw) != 0 {
		ready <- errors.New("start Python: cannot build the environ template")
		return
	}
	in.mainTS = C.gh_save_main() // GIL: release
	ready <- nil
	for fn := range in.calls {
		C.gh_restore_main(in.mainTS) // GIL: take
		fn()
		in.mainTS = C.gh_save_main() // GIL: release
	}
	C.gh_restore_main(in.mainTS) // GIL: take, for good
	C.gh_finalize()
	close(in.stopped)
}

// withGIL runs fn on the Python main thread with the GIL held.
func (in *Interpreter) withGIL(fn func()) {
	done := make(chan struct{})
	in.calls <- func() { fn(); close(done) }
	<-done
}

// LoadApp imports spec ("module:callable", "module", "module:factory(args)")
// as gunicorn does and makes it the app every Thread calls. The error is a
// *PyError with the traceback when Python raised.
func (in *Interpreter) LoadApp(spec string) error {
	var err error
	in.withGIL(func() {
		cs := C.CString(spec)
		defer C.free(unsafe.Pointer(cs))
		var cerr *C.char
		if C.gh_load_app(cs, &cerr) != 0 {
			err = &PyError{Traceback: takeCString(cerr)}
		}
	})
	return err
}

// AppFiles lists the source files of the app's modules (for --reload).
func (in *Interpreter) AppFiles() []string {
	out := C.gh_app_files()
	if out == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(out))
	// NUL-separated paths, ended by an empty one.
	var files []string
	for off := 0; ; {
		s := C.GoString((*C.char)(unsafe.Add(unsafe.Pointer(out), off)))
		if s == "" {
			break
		}
		files = append(files, s)
		off += len(s) + 1
	}
	return files
}

// DumpStacks returns every Python thread's stack. It waits for the GIL, which
// a thread running Python code hands over within the switch interval.
func (in *Interpreter) DumpStacks() string {
	return strings.TrimSpace(takeCString(C.gh_dump_stacks()))
}

// Close finalises the interpreter (atexit handlers run). Every Thread must
// have been closed first.
func (in *Interpreter) Close() {
	in.once.Do(func() {
		close(in.calls)
		<-in.stopped
	})
}

func takeCString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(s))
	return C.GoString(s)
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// PythonVersion is the MAJOR.MINOR of the CPython gohost was built against.
var PythonVersion = fmt.Sprintf("%d.%d", C.PY_MAJOR_VERSION, C.PY_MINOR_VERSION)
