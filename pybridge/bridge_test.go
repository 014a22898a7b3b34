//go:build cgo

package pybridge

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gohost/gohost/environ"
	"github.com/gohost/gohost/server"
)

var (
	interp   *Interpreter
	errLines struct {
		sync.Mutex
		lines []string
	}
)

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	var err error
	interp, err = Start(Options{
		SysPath:     []string{filepath.Join(wd, "testdata")},
		Multithread: true,
		ErrorLog: func(s string) {
			errLines.Lock()
			errLines.lines = append(errLines.lines, s)
			errLines.Unlock()
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := interp.LoadApp("bridgeapp:application"); err != nil {
		fmt.Fprintln(os.Stderr, err.(*PyError).Traceback)
		os.Exit(1)
	}
	code := m.Run()
	interp.Close()
	os.Exit(code)
}

// fakeExchange records what the bridge asks of a connection.
type fakeExchange struct {
	body     io.Reader
	status   string
	headers  []server.HeaderField
	starts   int
	sent     bool
	out      bytes.Buffer
	failed   *PyError
	logged   *PyError
	writeErr error
	file     []byte
	finals   int
}

func (f *fakeExchange) ReadBody(p []byte) (int, error) {
	if f.body == nil {
		return 0, io.EOF
	}
	return f.body.Read(p)
}
func (f *fakeExchange) Start(status string, h []server.HeaderField) error {
	if f.sent {
		return errors.New("headers already sent")
	}
	f.status, f.headers = status, h
	f.starts++
	return nil
}
func (f *fakeExchange) Write(p []byte) error {
	if f.writeErr != nil {
		return f.writeErr
	}
	f.sent = true
	f.out.Write(p)
	return nil
}
func (f *fakeExchange) WriteFinal(p []byte) error {
	f.finals++
	return f.Write(p)
}
func (f *fakeExchange) SendFile(file *os.File, off int64) error {
	f.sent = true
	file.Seek(off, io.SeekStart)
	b, err := io.ReadAll(file)
	f.file = b
	return err
}
func (f *fakeExchange) HeadersSent() bool     { return f.sent }
func (f *fakeExchange) Fail(err *PyError)     { f.failed = err }
func (f *fakeExchange) LogError(err *PyError) { f.logged = err }

func (f *fakeExchange) header(name string) string {
	for _, h := range f.headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// onThread runs fn with a Thread on a locked OS thread, as host does.
func onThread(t *testing.T, fn func(th *Thread)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		th, err := interp.NewThread()
		require.NoError(t, err)
		defer th.Close()
		fn(th)
	}()
	<-done
}

func serve(th *Thread, path, query string, body []byte, complete bool, rest io.Reader) *fakeExchange {
	ex := &fakeExchange{body: rest}
	vars := append(th.Vars(),
		environ.Var{Key: "REQUEST_METHOD", Value: "GET"},
		environ.Var{Key: "PATH_INFO", Value: path},
		environ.Var{Key: "QUERY_STRING", Value: query},
		environ.Var{Key: "HTTP_X_LATIN", Value: "caf\xe9"},
	)
	th.Serve(ex, vars, body, complete)
	return ex
}

// ThreadHere gives each OS thread its own Thread, made once: host serves
// every request on whatever OS thread the connection's goroutine is on.
func TestThreadHereIsOnePerOSThread(t *testing.T) {
	type seen struct {
		first, again *Thread
		ident        string
	}
	var wg, both sync.WaitGroup
	results := make([]seen, 2)
	both.Add(len(results))
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			th, err := interp.ThreadHere()
			require.NoError(t, err)
			again, err := interp.ThreadHere()
			require.NoError(t, err)
			results[i] = seen{th, again, serve(th, "/ident", "", nil, true, nil).out.String()}
			both.Done()
			both.Wait() // both goroutines hold their OS threads at once
			th.Close()
		}()
	}
	wg.Wait()
	for _, r := range results {
		require.NotNil(t, r.first)
		assert.Same(t, r.first, r.again, "the same OS thread gets the same Thread")
		assert.NotEmpty(t, r.ident)
	}
	assert.NotSame(t, results[0].first, results[1].first)
	assert.NotEqual(t, results[0].ident, results[1].ident, "two OS threads, two Python threads")
}

func TestListResponseGetsContentLength(t *testing.T) {
	onThread(t, func(th *Thread) {
		ex := serve(th, "/hello", "", nil, true, nil)
		assert.Equal(t, "200 OK", ex.status)
		assert.Equal(t, "Hello, World!", ex.out.String())
		assert.Equal(t, "13", ex.header("Content-Length"))
		assert.Equal(t, "text/plain", ex.header("Content-Type"))
		assert.Nil(t, ex.failed)
		assert.Equal(t, 1, ex.finals, "the last chunk completes the response")
	})
}

// CPython is linked into the binary; the extension modules of lib-dynload
// (and C extensions from wheels) are shared objects that must find the
// Py* symbols in it (-Wl,--export-dynamic in cgo.go).
func TestSharedObjectExtensionModulesLoad(t *testing.T) {
	mods := []string{"_sqlite3", "_json", "_ssl", "_ctypes", "_decimal", "_hashlib", "_asyncio", "_lzma", "_queue"}
	onThread(t, func(th *Thread) {
		ex := serve(th, "/extensions", strings.Join(mods, ","), nil, true, nil)
		require.Nil(t, ex.failed, "import failed: %v", ex.failed)
		assert.Equal(t, "200 OK", ex.status)
		lines := strings.Split(ex.out.String(), "\n")
		require.Len(t, lines, len(mods))
		for i, line := range lines {
			assert.Regexp(t, "^"+mods[i]+` /.*/lib-dynload/.*\.so$`, line)
		}
	})
}

func TestEnvironEntries(t *testing.T) {
	onThread(t, func(th *Thread) {
		ex := serve(th, "/environ", "a=1", nil, true, nil)
		out := ex.out.String()
		for _, want := range []string{
			"HTTP_X_LATIN='caf\xe9'", // latin-1: byte 0xE9 became U+00E9, re-encoded by the app
			"PATH_INFO='/environ'",
			"QUERY_STRING='a=1'",
			"wsgi.input_terminated=True",
			"wsgi.multiprocess=False",
			"wsgi.multithread=True",
			"wsgi.run_once=False",
			"wsgi.version=(1, 0)",
		} {
			assert.Contains(t, out, want)
		}
	})
}

func TestInputPrefetchedAndStreamed(t *testing.T) {
	onThread(t, func(th *Thread) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: crosses the 64 KiB buffer
		ex := serve(th, "/echo", "", big[:1000], false, bytes.NewReader(big[1000:]))
		assert.Equal(t, sha256.Sum256(big), sha256.Sum256(ex.out.Bytes()))

		ex = serve(th, "/echo", "", []byte("all here"), true, nil)
		assert.Equal(t, "all here", ex.out.String())
	})
}

func TestInputLinesAndShortReads(t *testing.T) {
	onThread(t, func(th *Thread) {
		ex := serve(th, "/lines", "", []byte("one\nabcdef\nx\ny"), false, strings.NewReader("z\nlast"))
		assert.Equal(t, `[b'one\n', b'abc', [b'def\n', b'x\n', b'yz\n', b'last']]`, ex.out.String())
		// read(n) returns n bytes until the end, across the prefetch boundary.
		ex = serve(th, "/readn", "", []byte("0123456789"), false, strings.NewReader("0123456789"))
		assert.Equal(t, "[7, 7, 6]", ex.out.String())
	})
}

func TestGeneratorLazyStartResponse(t *testing.T) {
	onThread(t, func(th *Thread) {
		ex := serve(th, "/gen", "", nil, true, nil)
		assert.Equal(t, "201 Created", ex.status)
		assert.Equal(t, "yes", ex.header("X-Lazy"))
		assert.Equal(t, "", ex.header("Content-Length"), "a streamed body has no computed length")
		assert.Equal(t, "abc", ex.out.String())
	})
}

func TestCloseCalledOnEveryPath(t *testing.T) {
	onThread(t, func(th *Thread) {
		closed := func() string { return serve(th, "/closed", "", nil, true, nil).out.String() }
		before := closed()
		serve(th, "/tracked", "", nil, true, nil)
		ex := serve(th, "/tracked_fail", "", nil, true, nil)
		require.NotNil(t, ex.failed)
		assert.Contains(t, ex.failed.Traceback, "RuntimeError: boom in iteration")
		// client gone: the write fails, close() must still run
		ex = &fakeExchange{writeErr: errors.New("broken pipe")}
		th.Serve(ex, []environ.Var{{Key: "PATH_INFO", Value: "/tracked"}}, nil, true)
		var n0, n1 int
		fmt.Sscan(before, &n0)
		fmt.Sscan(closed(), &n1)
		assert.Equal(t, 3, n1-n0)
	})
}

func TestAppErrors(t *testing.T) {
	onThread(t, func(th *Thread) {
		ex := serve(th, "/raise", "", nil, true, nil)
		require.NotNil(t, ex.failed)
		assert.Contains(t, ex.failed.Traceback, "Traceback (most recent call last)")
		assert.Contains(t, ex.failed.Traceback, "ValueError: app exploded")
		assert.False(t, ex.sent)

		ex = serve(th, "/no_start", "", nil, true, nil)
		require.NotNil(t, ex.failed)
		assert.Contains(t, ex.failed.Traceback, "without calling start_response")

		ex = serve(th, "/bad_header", "", nil, true, nil)
		require.NotNil(t, ex.failed)
		assert.Contains(t, ex.failed.Traceback, "control character")
		assert.Equal(t, 0, ex.out.Len())

		ex = serve(th, "/str_body", "", nil, true, nil)
		require.NotNil(t, ex.failed)
		assert.Contains(t, ex.failed.Traceback, "not bytes")
	})
}

func TestExcInfoReplacesHeadersBeforeSending(t *testing.T) {
	onThread(t, func(th *Thread) {
		ex := serve(th, "/exc_info", "", nil, true, nil)
		assert.Nil(t, ex.failed)
		assert.Equal(t, "500 Oops", ex.status)
		assert.Equal(t, "2", ex.header("X-Second"))
		assert.Equal(t, "", ex.header("X-First"))
		assert.Equal(t, "replaced", ex.out.String())
	})
}

func TestWriteCallableComesFirst(t *testing.T) {
	onThread(t, func(th *Thread) {
		ex := serve(th, "/write", "", nil, true, nil)
		assert.Equal(t, "first;second", ex.out.String())
		assert.Equal(t, 1, ex.starts)
		assert.Equal(t, "", ex.header("Content-Length"))
	})
}

func TestErrorsStreamGoesToLog(t *testing.T) {
	onThread(t, func(th *Thread) {
		serve(th, "/errors", "", nil, true, nil)
	})
	errLines.Lock()
	defer errLines.Unlock()
	assert.Contains(t, errLines.lines, "line one")
	assert.Contains(t, errLines.lines, "line two")
}

func TestFileWrapperUsesFileDescriptor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	content := bytes.Repeat([]byte("file!"), 5000)
	require.NoError(t, os.WriteFile(path, content, 0o644))
	onThread(t, func(th *Thread) {
		ex := serve(th, "/file", path, nil, true, nil)
		assert.Nil(t, ex.failed)
		assert.Equal(t, content, ex.file, "sent from the descriptor, not iterated")
		assert.Equal(t, fmt.Sprint(len(content)), ex.header("Content-Length"), "the length is known")
		assert.Equal(t, 0, ex.out.Len())
	})
}

func TestLoadAppErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"no_such_module_xyz":         "no module named 'no_such_module_xyz'",
		"bridgeapp:missing":          "failed to find attribute 'missing'",
		"bridgeapp:CLOSED":           "must be callable",
		"bridgeapp:application(1, x": "failed to parse",
	} {
		err := interp.LoadApp(spec)
		require.Error(t, err, spec)
		assert.Contains(t, err.(*PyError).Traceback, want, spec)
	}
	require.NoError(t, interp.LoadApp("bridgeapp:application"))
}

func TestStaleInputRaises(t *testing.T) {
	// Many requests in a row on one thread reuse nothing that leaks between them.
	onThread(t, func(th *Thread) {
		for i := 0; i < 200; i++ {
			ex := serve(th, "/echo", "", []byte(fmt.Sprint(i)), true, nil)
			require.Equal(t, fmt.Sprint(i), ex.out.String())
		}
	})
}
