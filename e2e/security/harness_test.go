// Package security holds gohost's security regression and abuse tests: they
// run the real binary on loopback with the WSGI app in apps/secapp.py and
// attack it over raw sockets. Each rejected request is checked three ways:
// the exact status, the connection closed, and the app never called (the app
// logs every call to a file; rejected requests carry a unique path).
//
// Run: go test ./e2e/security/ -v          (about 2 minutes)
//
// GOHOST_E2E_BIN (or GOHOST_BIN) names a prebuilt binary; otherwise
// TestMain builds ./cmd/gohost. The figures quoted in docs/SECURITY.md are
// printed with t.Logf (use -v).
package security

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	gohostBin string // the binary under test
	appsDir   string // e2e/security/apps
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "security:", err)
		return 1
	}
	appsDir = filepath.Join(wd, "apps")
	root := filepath.Join(wd, "..", "..")
	raiseNoFile()

	gohostBin = os.Getenv("GOHOST_E2E_BIN")
	if gohostBin == "" {
		gohostBin = os.Getenv("GOHOST_BIN")
	}
	if gohostBin == "" {
		tmp, err := os.MkdirTemp("", "gohost-security-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "security:", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		gohostBin = filepath.Join(tmp, "gohost")
		cmd := exec.Command("go", "build", "-o", gohostBin, "./cmd/gohost")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "security: building ./cmd/gohost: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit, for this
// process and (inherited) the servers it starts: the abuse tests open
// thousands of sockets.
func raiseNoFile() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

func noFileLimit() uint64 {
	var r syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r)
	return r.Cur
}

// ---------------------------------------------------------------- servers

// server is one running gohost (master and one worker).
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string // 127.0.0.1:port
	appLog string // the app's call log
	out    *syncBuffer
	exited chan struct{}
}

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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs gohost -w 1 with the security app; args come after the
// defaults, so they override them (e.g. "--threads", "1").
func start(t *testing.T, args ...string) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{t: t, appLog: filepath.Join(dir, "calls.log"), out: &syncBuffer{}, exited: make(chan struct{})}
	if err := os.WriteFile(s.appLog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	argv := []string{"-w", "1", "--threads", "2", "--graceful-timeout", "1", "-b", s.addr,
		"--chdir", appsDir, "--log-level", "warning"}
	argv = append(argv, args...)
	argv = append(argv, "secapp:application")
	s.cmd = exec.Command(gohostBin, argv...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GOHOST_") || strings.HasPrefix(k, "PYTHON") || k == "VIRTUAL_ENV" || k == "SCRIPT_NAME" {
			continue
		}
		s.cmd.Env = append(s.cmd.Env, kv)
	}
	s.cmd.Env = append(s.cmd.Env, "SECAPP_LOG="+s.appLog, "PYTHONDONTWRITEBYTECODE=1")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.stop)

	// With --proxy-protocol a trusted (loopback) client must start with a
	// header; "PROXY UNKNOWN" keeps the real address. The plain probe is
	// for servers where loopback is not trusted (or the flag not wired).
	probes := []string{"GET /__ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"}
	if slices.Contains(args, "--proxy-protocol") {
		probes = append(probes, "PROXY UNKNOWN\r\n"+probes[0])
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		r := exchange(s.addr, []byte(probes[i%len(probes)]), time.Second)
		if len(r.resps) == 1 && r.resps[0].status == 200 {
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("gohost %v exited:\n%s", args, s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gohost %v not ready after 20s:\n%s", args, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends TERM, then KILL to the process group after 5 s.
func (s *server) stop() {
	syscall.Kill(s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.t.Logf("gohost did not stop on TERM within 5s; killing")
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
	if s.t.Failed() {
		s.t.Logf("gohost output:\n%s", tail(s.out.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// calls counts the app calls whose request-target or X-M header contains
// marker.
func (s *server) calls(marker string) int {
	b, err := os.ReadFile(s.appLog)
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if _, uri, ok := strings.Cut(line, " "); ok && strings.Contains(uri, marker) {
			n++
		}
	}
	return n
}

// workerPID is the (single) worker: the master's child.
func (s *server) workerPID() int {
	s.t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", s.cmd.Process.Pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(field); err == nil {
				return pid
			}
		}
	}
	s.t.Fatalf("no worker process under master %d", s.cmd.Process.Pid)
	return 0
}

// procStatus reads a "kB" field (VmRSS, VmHWM) of /proc/pid/status, in bytes.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return -1
}

func openFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// ---------------------------------------------------------------- raw client

// response is one parsed response off the wire.
type response struct {
	status int
	header http.Header // net/http removes Connection from it: see close
	close  bool        // "Connection: close"
	body   []byte
}

// reply is everything a connection got back.
type reply struct {
	raw    []byte
	resps  []response
	closed bool  // the server closed the connection (EOF or reset)
	err    error // the read error that ended the exchange
}

func (r reply) String() string {
	return fmt.Sprintf("%d response(s), closed=%v, err=%v, raw=%q", len(r.resps), r.closed, r.err, tail(string(r.raw), 600))
}

// exchange writes raw on a new connection and reads until the server closes
// it or wait passes.
func exchange(addr string, raw []byte, wait time.Duration) reply {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return reply{err: err}
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(raw); err != nil {
		// The server may close before reading everything: still read.
		_ = err
	}
	return readReply(c)
}

// readReply reads until EOF, reset or the connection's deadline.
func readReply(c net.Conn) reply {
	var r reply
	r.raw, r.err = io.ReadAll(c)
	r.closed = r.err == nil || errors.Is(r.err, syscall.ECONNRESET)
	r.resps = parseResponses(r.raw)
	return r
}

// parseResponses parses consecutive responses (not to HEAD) from b.
func parseResponses(b []byte) []response {
	var out []response
	br := bufio.NewReader(bytes.NewReader(b))
	for {
		if _, err := br.Peek(1); err != nil {
			return out
		}
		hr, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		body, err := io.ReadAll(hr.Body)
		hr.Body.Close()
		out = append(out, response{status: hr.StatusCode, header: hr.Header, close: hr.Close, body: body})
		if err != nil {
			return out
		}
	}
}

// get sends one GET on a new connection and returns the status and the time
// to the full response (0 and the error on failure).
func get(addr, path string, timeout time.Duration) (int, time.Duration, error) {
	start := time.Now()
	r := exchange(addr, []byte("GET "+path+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), timeout)
	el := time.Since(start)
	if len(r.resps) != 1 {
		return 0, el, fmt.Errorf("GET %s: %s", path, r)
	}
	return r.resps[0].status, el, nil
}

// expectRejected sends raw (placeholders {P}: a unique path, {S}: a unique
// path for a smuggled request) and asserts exactly one response with the
// status, the connection closed, and no app call for either path.
func expectRejected(t *testing.T, s *server, name, raw string, status int) {
	t.Helper()
	p, smug := uniquePaths(name)
	r := exchange(s.addr, []byte(fill(raw, p, smug)), closeWait)
	if len(r.resps) != 1 || r.resps[0].status != status {
		t.Errorf("%s: want exactly one %d; got %s", name, status, r)
	}
	if !r.closed {
		t.Errorf("%s: connection left open after %d: %s", name, status, r)
	}
	if n := s.calls(p) + s.calls(smug); n != 0 {
		t.Errorf("%s: the app was called %d time(s) for a rejected request", name, n)
	}
	if bytes.Contains(r.raw, []byte("X-Injected")) {
		t.Errorf("%s: injected header on the wire: %s", name, r)
	}
}

// expectAccepted: exactly one 200 from the app, which saw {P} once and never
// {S}.
func expectAccepted(t *testing.T, s *server, name, raw string) reply {
	t.Helper()
	p, smug := uniquePaths(name)
	r := exchange(s.addr, []byte(fill(raw, p, smug)), closeWait)
	if len(r.resps) != 1 || r.resps[0].status != 200 {
		t.Errorf("%s: want one 200; got %s", name, r)
	}
	if n := s.calls(p); n != 1 {
		t.Errorf("%s: app called %d times, want 1", name, n)
	}
	if n := s.calls(smug); n != 0 {
		t.Errorf("%s: smuggled request reached the app", name)
	}
	return r
}

// closeWait bounds the wait for the server to close a connection it must
// close at once; shorter than the default keep-alive (5 s), so that an idle
// close cannot pass for it.
const closeWait = 3 * time.Second

var pathSeq struct {
	sync.Mutex
	n int
}

func uniquePaths(name string) (p, smuggled string) {
	pathSeq.Lock()
	pathSeq.n++
	n := pathSeq.n
	pathSeq.Unlock()
	return fmt.Sprintf("/t%04d", n), fmt.Sprintf("/smuggled%04d", n)
}

func fill(raw, p, smug string) string {
	return strings.NewReplacer("{P}", p, "{S}", smug).Replace(raw)
}

// percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
