package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	gohostBin   string // the binary built by TestMain
	repoRoot    string // module root
	testAppsDir string // python/testapps
	pythonDir   string // python/
	pythonExe   = "/usr/bin/python3"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	pythonDir = filepath.Join(root, "python")
	testAppsDir = filepath.Join(pythonDir, "testapps")
	tmp, err := os.MkdirTemp("", "gohost-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	gohostBin = filepath.Join(tmp, "gohost")
	if p := os.Getenv("GOHOST_E2E_BIN"); p != "" {
		// Use a prebuilt binary (e.g. from `make`), skipping the build.
		gohostBin = p
	} else {
		cmd := exec.Command("go", "build", "-o", gohostBin, "./cmd/gohost")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building ./cmd/gohost failed: %v\n%s\n", err, out)
			return 1
		}
	}
	return m.Run()
}

func findRepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err == nil {
		if p := strings.TrimSpace(string(out)); p != "" && p != os.DevNull {
			return filepath.Dir(p), nil
		}
	}
	abs, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return "", fmt.Errorf("cannot find the module root (go.mod): %v", err)
	}
	return abs, nil
}

// ---------------------------------------------------------------- buffers

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ---------------------------------------------------------------- ports

// freePort returns a currently unused TCP port on host.
func freePort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func haveIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ---------------------------------------------------------------- servers

// ServerOpts describes one gohost run.
type ServerOpts struct {
	App      string   // APP argument; default "echo"
	Args     []string // extra flags, before APP
	Binds    []string // --bind values; default one free 127.0.0.1 port
	Env      []string // extra environment (KEY=VALUE)
	Dir      string   // working directory of the process; default a temp dir
	NoChdir  bool     // do not pass --chdir python/testapps
	Workers  int      // -w; default 1
	NoWait   bool     // do not wait for readiness
	KeepEnv  bool     // keep VIRTUAL_ENV/PYTHONPATH/SCRIPT_NAME from the test's environment
	Validate *bool    // check the validator log at stop; default true
}

// Server is a running gohost process.
type Server struct {
	t            *testing.T
	Cmd          *exec.Cmd
	Addr         string // first TCP bind, host:port ("" when none)
	Port         int
	UnixPath     string // first unix bind ("" when none)
	Dir          string // E2E_TEST_DIR
	ValidatorLog string
	CloseLog     string
	Stdout       *syncBuffer
	Stderr       *syncBuffer
	exited       chan struct{}
	exitErr      error
	stopOnce     sync.Once
	validate     bool
}

func baseEnv(keep bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !keep && (k == "VIRTUAL_ENV" || k == "PYTHONPATH" || k == "SCRIPT_NAME" || k == "PYTHONHOME") {
			continue
		}
		if strings.HasPrefix(k, "GOHOST_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
}

// startServer starts gohost and waits until every TCP/unix bind accepts.
func startServer(t *testing.T, o ServerOpts) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{
		t:            t,
		Dir:          dir,
		ValidatorLog: filepath.Join(dir, "validator.log"),
		CloseLog:     filepath.Join(dir, "close.log"),
		Stdout:       &syncBuffer{},
		Stderr:       &syncBuffer{},
		exited:       make(chan struct{}),
		validate:     o.Validate == nil || *o.Validate,
	}
	require.NoError(t, os.WriteFile(s.ValidatorLog, nil, 0o644))
	require.NoError(t, os.WriteFile(s.CloseLog, nil, 0o644))
	binds := o.Binds
	if binds == nil {
		s.Port = freePort(t, "127.0.0.1")
		binds = []string{fmt.Sprintf("127.0.0.1:%d", s.Port)}
	}
	for _, b := range binds {
		if strings.HasPrefix(b, "unix:") {
			if s.UnixPath == "" {
				s.UnixPath = strings.TrimPrefix(b, "unix:")
			}
			continue
		}
		if s.Addr == "" {
			s.Addr = b
			if strings.HasPrefix(b, "[") {
				h, p, _ := net.SplitHostPort(b)
				s.Addr = net.JoinHostPort(h, p)
			}
			_, p, err := net.SplitHostPort(s.Addr)
			require.NoError(t, err)
			s.Port, _ = strconv.Atoi(p)
		}
	}
	workers := o.Workers
	if workers == 0 {
		workers = 1
	}
	args := []string{"-w", strconv.Itoa(workers)}
	for _, b := range binds {
		args = append(args, "-b", b)
	}
	if !o.NoChdir {
		args = append(args, "--chdir", testAppsDir)
	}
	args = append(args, o.Args...)
	app := o.App
	if app == "" {
		app = "echo"
	}
	args = append(args, app)

	cmd := exec.Command(gohostBin, args...)
	cmd.Dir = o.Dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = append(baseEnv(o.KeepEnv),
		"E2E_TEST_DIR="+dir,
		"E2E_VALIDATOR_LOG="+s.ValidatorLog,
		"E2E_CLOSE_LOG="+s.CloseLog)
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.Stdout = s.Stdout
	cmd.Stderr = s.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.Cmd = cmd
	require.NoError(t, cmd.Start(), "starting %s", gohostBin)
	go func() {
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.Stop)
	t.Logf("started gohost pid %d: %s", cmd.Process.Pid, strings.Join(args, " "))
	if !o.NoWait {
		s.waitReady(binds)
	}
	return s
}

func (s *Server) waitReady(binds []string) {
	t := s.t
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, b := range binds {
		network, addr := "tcp", b
		if strings.HasPrefix(b, "unix:") {
			network, addr = "unix", strings.TrimPrefix(b, "unix:")
		}
		for {
			c, err := net.DialTimeout(network, addr, 500*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.exited:
				t.Fatalf("gohost exited before listening on %s (%v)\nstderr:\n%s\nstdout:\n%s",
					b, s.exitErr, tail(s.Stderr.String(), 6000), tail(s.Stdout.String(), 2000))
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("gohost not accepting on %s after 15s\nstderr:\n%s", b, tail(s.Stderr.String(), 6000))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Stop sends SIGTERM, then SIGKILL to the process group after 5 s, and checks
// the validator log. Safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		t := s.t
		pid := s.Cmd.Process.Pid
		select {
		case <-s.exited:
		default:
			_ = syscall.Kill(pid, syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
				t.Errorf("gohost pid %d did not exit within 5s of SIGTERM; killing", pid)
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				<-s.exited
			}
		}
		// Workers left behind by a master that died are in its group.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		if s.validate {
			if b, err := os.ReadFile(s.ValidatorLog); err == nil && len(b) > 0 {
				t.Errorf("wsgiref.validate complained while serving this test:\n%s", b)
			}
		}
		if t.Failed() {
			t.Logf("gohost stderr (tail):\n%s", tail(s.Stderr.String(), 8000))
			if out := s.Stdout.String(); out != "" {
				t.Logf("gohost stdout (tail):\n%s", tail(out, 3000))
			}
		}
	})
}

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// URL returns an http URL for path on the first TCP bind.
func (s *Server) URL(path string) string {
	return "http://" + s.Addr + path
}

// WaitStderr waits until the error log (stderr) contains sub.
func (s *Server) WaitStderr(sub string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if strings.Contains(s.Stderr.String(), sub) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitStdout waits until stdout contains sub.
func (s *Server) WaitStdout(sub string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if strings.Contains(s.Stdout.String(), sub) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Gate releases an app waiting on gate token (see echo.py _wait_gate).
func (s *Server) Gate(token string) {
	require.NoError(s.t, os.WriteFile(filepath.Join(s.Dir, "gate-"+token), nil, 0o644))
}

// CloseCount waits (up to d) for close() of /close_tracker?id=ident to be
// logged, then a little longer to catch a second call, and returns the count.
func (s *Server) CloseCount(ident string, d time.Duration) int {
	count := func() int {
		b, _ := os.ReadFile(s.CloseLog)
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			if l == ident {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(d)
	for count() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return count()
}

// Hits returns how many times the app was called (excluding /__hits).
func (s *Server) Hits(t testing.TB) int {
	t.Helper()
	c := s.Dial(t)
	defer c.Close()
	c.Send("GET /__hits HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
	r := c.MustRead("GET")
	require.Equal(t, 200, r.Code, "GET /__hits")
	var v struct{ Hits int }
	require.NoError(t, json.Unmarshal(r.Body, &v))
	return v.Hits
}

// WorkerPID asks the app for the PID of the process running Python.
func (s *Server) WorkerPID(t testing.TB) int {
	var v struct{ Pid int }
	s.GetJSON(t, "/pid", &v)
	return v.Pid
}

var httpClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: 4,
	},
}

// Get does a GET with net/http and returns the response and its body.
func (s *Server) Get(t testing.TB, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := httpClient.Get(s.URL(path))
	require.NoError(t, err, "GET %s", path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "GET %s body", path)
	return resp, b
}

// GetJSON does a GET on a raw connection and decodes a 200 JSON body.
func (s *Server) GetJSON(t testing.TB, path string, v any) {
	t.Helper()
	c := s.Dial(t)
	defer c.Close()
	c.Send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("GET")
	require.Equal(t, 200, r.Code, "GET %s: %s", path, r.Body)
	require.NoError(t, json.Unmarshal(r.Body, v), "GET %s: %s", path, r.Body)
}

// ---------------------------------------------------------------- one-shot runs

type runResult struct {
	Code   int
	Stdout string
	Stderr string
}

// runGohost runs the binary to completion (bounded by d) and returns its exit
// code and output. The process is killed if it is still running after d.
func runGohost(t *testing.T, d time.Duration, dir string, env []string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(gohostBin, args...)
	cmd.Dir = dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	cmd.Env = append(baseEnv(false), env...)
	var so, se syncBuffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(d):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("gohost %s still running after %s\nstderr:\n%s\nstdout:\n%s",
			strings.Join(args, " "), d, tail(se.String(), 4000), tail(so.String(), 2000))
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		code = ee.ExitCode()
	}
	return runResult{Code: code, Stdout: so.String(), Stderr: se.String()}
}

// nonEmptyLines returns the non-blank lines of s.
func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// ---------------------------------------------------------------- raw connections

// Conn is a raw client connection with a strict HTTP/1.x response reader.
type Conn struct {
	t testing.TB
	net.Conn
	br *bufio.Reader
}

// Dial opens a raw TCP (or unix, when the server has no TCP bind) connection.
func (s *Server) Dial(t testing.TB) *Conn {
	t.Helper()
	if s.Addr == "" {
		return dialNet(t, "unix", s.UnixPath)
	}
	return dialNet(t, "tcp", s.Addr)
}

func dialNet(t testing.TB, network, addr string) *Conn {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	require.NoError(t, err, "dial %s %s", network, addr)
	t.Cleanup(func() { c.Close() })
	return &Conn{t: t, Conn: c, br: bufio.NewReaderSize(c, 64*1024)}
}

// Send writes s exactly.
func (c *Conn) Send(s string) {
	c.t.Helper()
	c.SendBytes([]byte(s))
}

// SendBytes writes b exactly.
func (c *Conn) SendBytes(b []byte) {
	c.t.Helper()
	require.NoError(c.t, c.SetWriteDeadline(time.Now().Add(20*time.Second)))
	_, err := c.Write(b)
	require.NoError(c.t, err, "writing request bytes")
}

// Resp is one parsed response.
type Resp struct {
	Proto          string
	Code           int
	Reason         string
	Headers        [][2]string // in wire order, names as sent
	Body           []byte
	Chunked        bool
	Chunks         [][]byte // chunk payloads when chunked
	Trailers       [][2]string
	CloseDelimited bool
	Raw            []byte // every byte this response occupied on the wire
}

// Get returns the first value of header name (case-insensitive), "" if none.
func (r *Resp) Get(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// Has reports whether header name is present.
func (r *Resp) Has(name string) bool {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return true
		}
	}
	return false
}

// Values returns every value of header name, in order.
func (r *Resp) Values(name string) []string {
	var v []string
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			v = append(v, h[1])
		}
	}
	return v
}

// HeaderBlock returns the raw status line and header bytes.
func (r *Resp) HeaderBlock() string {
	i := bytes.Index(r.Raw, []byte("\r\n\r\n"))
	if i < 0 {
		return string(r.Raw)
	}
	return string(r.Raw[:i+4])
}

// ConnectionClose reports whether the response carries Connection: close.
func (r *Resp) ConnectionClose() bool {
	for _, v := range r.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "close") {
				return true
			}
		}
	}
	return false
}

type recordingReader struct {
	br  *bufio.Reader
	raw bytes.Buffer
}

func (r *recordingReader) line() (string, error) {
	s, err := r.br.ReadString('\n')
	r.raw.WriteString(s)
	if err != nil {
		if err == io.EOF && s != "" {
			err = io.ErrUnexpectedEOF
		}
		return s, err
	}
	if !strings.HasSuffix(s, "\r\n") {
		return s, fmt.Errorf("line not terminated by CRLF: %q", s)
	}
	return s[:len(s)-2], nil
}

func (r *recordingReader) full(n int64) ([]byte, error) {
	b := make([]byte, n)
	k, err := io.ReadFull(r.br, b)
	r.raw.Write(b[:k])
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return b[:k], err
}

// ErrNoResponse is returned when the connection ends before any byte.
var ErrNoResponse = errors.New("connection closed before any response byte")

// Read reads one response to a request with the given method, strictly:
// CRLF everywhere, a valid status line, at most one framing, exact lengths.
// 1xx responses are returned as such (no body); call Read again for the final
// response. On error the partial response read so far is returned too.
func (c *Conn) Read(method string) (*Resp, error) {
	return c.ReadTimeout(method, 20*time.Second)
}

// ReadTimeout is Read with a deadline for the whole response.
func (c *Conn) ReadTimeout(method string, d time.Duration) (*Resp, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	rr := &recordingReader{br: c.br}
	r := &Resp{}
	fail := func(err error) (*Resp, error) {
		r.Raw = rr.raw.Bytes()
		return r, err
	}
	status, err := rr.line()
	if err != nil {
		if err == io.EOF && rr.raw.Len() == 0 {
			return fail(ErrNoResponse)
		}
		return fail(fmt.Errorf("status line: %w", err))
	}
	parts := strings.SplitN(status, " ", 3)
	if len(parts) < 2 || (parts[0] != "HTTP/1.1" && parts[0] != "HTTP/1.0") || len(parts[1]) != 3 {
		return fail(fmt.Errorf("bad status line %q", status))
	}
	r.Proto = parts[0]
	r.Code, err = strconv.Atoi(parts[1])
	if err != nil || r.Code < 100 || r.Code > 999 {
		return fail(fmt.Errorf("bad status code in %q", status))
	}
	if len(parts) == 3 {
		r.Reason = parts[2]
	}
	for i := 0; ; i++ {
		if i > 1000 {
			return fail(errors.New("more than 1000 header lines"))
		}
		l, err := rr.line()
		if err != nil {
			return fail(fmt.Errorf("header line: %w", err))
		}
		if l == "" {
			break
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") || !isToken(name) {
			return fail(fmt.Errorf("bad header line %q", l))
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return fail(fmt.Errorf("control character in header %q", l))
		}
		r.Headers = append(r.Headers, [2]string{name, strings.Trim(value, " \t")})
	}
	if r.Code < 200 {
		r.Raw = rr.raw.Bytes()
		return r, nil
	}
	te := r.Values("Transfer-Encoding")
	cls := r.Values("Content-Length")
	if len(te) > 0 && len(cls) > 0 {
		return fail(fmt.Errorf("response has both Transfer-Encoding %q and Content-Length %q", te, cls))
	}
	if len(cls) > 1 {
		return fail(fmt.Errorf("response has %d Content-Length headers: %q", len(cls), cls))
	}
	noBody := method == "HEAD" || r.Code == 204 || r.Code == 304
	switch {
	case noBody:
	case len(te) > 0:
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			return fail(fmt.Errorf("unexpected Transfer-Encoding %q", te))
		}
		r.Chunked = true
		var body bytes.Buffer
		for i := 0; ; i++ {
			if i > 10_000_000 {
				return fail(errors.New("too many chunks"))
			}
			l, err := rr.line()
			if err != nil {
				r.Body = body.Bytes()
				return fail(fmt.Errorf("chunk size line: %w", err))
			}
			sz, _, _ := strings.Cut(l, ";")
			n, err := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
			if err != nil || n < 0 || strings.TrimSpace(sz) == "" {
				r.Body = body.Bytes()
				return fail(fmt.Errorf("bad chunk size line %q", l))
			}
			if n == 0 {
				break
			}
			data, err := rr.full(n)
			body.Write(data)
			if err != nil {
				r.Chunks = append(r.Chunks, data)
				r.Body = body.Bytes()
				return fail(fmt.Errorf("chunk data: %w", err))
			}
			r.Chunks = append(r.Chunks, data)
			l, err = rr.line()
			if err != nil || l != "" {
				r.Body = body.Bytes()
				return fail(fmt.Errorf("chunk not followed by CRLF (%q, %v)", l, err))
			}
		}
		r.Body = body.Bytes()
		for i := 0; ; i++ {
			if i > 100 {
				return fail(errors.New("too many trailers"))
			}
			l, err := rr.line()
			if err != nil {
				return fail(fmt.Errorf("trailer: %w", err))
			}
			if l == "" {
				break
			}
			name, value, _ := strings.Cut(l, ":")
			r.Trailers = append(r.Trailers, [2]string{name, strings.TrimSpace(value)})
		}
	case len(cls) == 1:
		n, err := strconv.ParseInt(cls[0], 10, 64)
		if err != nil || n < 0 {
			return fail(fmt.Errorf("bad Content-Length %q", cls[0]))
		}
		data, err := rr.full(n)
		r.Body = data
		if err != nil {
			return fail(fmt.Errorf("body (Content-Length %d, got %d): %w", n, len(data), err))
		}
	default:
		r.CloseDelimited = true
		data, err := io.ReadAll(io.LimitReader(c.br, 1<<30))
		rr.raw.Write(data)
		r.Body = data
		if err != nil {
			return fail(fmt.Errorf("close-delimited body: %w", err))
		}
	}
	r.Raw = rr.raw.Bytes()
	return r, nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", ch) >= 0 {
			return false
		}
	}
	return s != ""
}

// MustRead reads one final response (skipping nothing) and fails the test on
// any framing error.
func (c *Conn) MustRead(method string) *Resp {
	c.t.Helper()
	r, err := c.Read(method)
	require.NoError(c.t, err, "reading response; got so far:\n%s", quoteRaw(r.Raw))
	return r
}

// ReadFinal reads responses until a non-1xx one and returns them all.
func (c *Conn) ReadFinal(method string) (final *Resp, interim []*Resp) {
	c.t.Helper()
	for i := 0; i < 10; i++ {
		r := c.MustRead(method)
		if r.Code >= 200 {
			return r, interim
		}
		interim = append(interim, r)
	}
	c.t.Fatalf("more than 10 interim responses")
	return nil, nil
}

// ExpectClosed asserts the server closes the connection within d, sending
// nothing more.
func (c *Conn) ExpectClosed(d time.Duration, msgAndArgs ...any) {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(io.LimitReader(c.br, 1<<20))
	if len(b) > 0 {
		c.t.Errorf("expected the connection to close, got %d more bytes: %s %v", len(b), quoteRaw(b), fmt.Sprint(msgAndArgs...))
		return
	}
	if err == nil || isReset(err) {
		return
	}
	c.t.Errorf("expected the connection to close within %s, got %v %v", d, err, fmt.Sprint(msgAndArgs...))
}

// ExpectOpen asserts nothing arrives and the connection is not closed for d.
func (c *Conn) ExpectOpen(d time.Duration, msgAndArgs ...any) {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := c.br.Peek(1)
	if len(b) > 0 {
		c.t.Errorf("unexpected bytes on an idle connection: %q %v", b, fmt.Sprint(msgAndArgs...))
		return
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Errorf("expected the connection to stay open, got %v %v", err, fmt.Sprint(msgAndArgs...))
	}
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
}

func quoteRaw(b []byte) string {
	if len(b) > 3000 {
		return strconv.Quote(string(b[:1500])) + " … " + strconv.Quote(string(b[len(b)-1500:]))
	}
	return strconv.Quote(string(b))
}

// chunked encodes parts as a chunked body (with terminator).
func chunked(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(p), p)
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// inputResult is the JSON of echo.py /input.
type inputResult struct {
	Mode     string   `json:"mode"`
	Len      int      `json:"len"`
	Sha256   string   `json:"sha256"`
	Count    int      `json:"count"`
	MaxPiece int      `json:"max_piece"`
	Pieces   []int    `json:"pieces"`
	LinesOK  *bool    `json:"lines_ok"`
	TailLen  int      `json:"tail_len"`
	TailType string   `json:"tail_type"`
	BadTypes []string `json:"bad_types"`
	Head     string   `json:"head"`
}

// environResult is the JSON of echo.py /environ.
type environResult struct {
	Vars  map[string]any    `json:"vars"`
	Types map[string]string `json:"types"`
}

func (e environResult) Str(k string) (string, bool) {
	v, ok := e.Vars[k]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// latin1 returns the Go string whose runes are the bytes of b: what a
// latin-1-decoded Python str holds.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// environOf sends raw request bytes and decodes echo.py's /environ JSON.
func environOf(t testing.TB, c *Conn, request string) environResult {
	t.Helper()
	c.Send(request)
	r := c.MustRead("GET")
	require.Equal(t, 200, r.Code, "request %q → %s", request, r.Body)
	var e environResult
	require.NoError(t, json.Unmarshal(r.Body, &e), "body %s", r.Body)
	return e
}

// procRSS returns VmRSS in bytes of pid (0 if gone).
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// treePIDs returns pid and all its descendants.
func treePIDs(pid int) []int {
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			parent[p] = pp
		}
	}
	out := []int{pid}
	for changed := true; changed; {
		changed = false
		for p, pp := range parent {
			if contains(out, pp) && !contains(out, p) {
				out = append(out, p)
				changed = true
			}
		}
	}
	return out
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
