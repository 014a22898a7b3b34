package e2e

// Helpers for process_test.go: a bounded loopback load generator that records
// every failure and which worker (pid) and code VERSION answered, the master's
// children from /proc, and a temp copy of python/testapps/proc_app.py that a
// test may edit.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// procReply is the JSON every proc_app.py route answers with.
type procReply struct {
	Pid     int    `json:"pid"`
	Version string `json:"version"`
}

// procSample is one successful request of the load.
type procSample struct {
	at      time.Duration // since the load started, when the response arrived
	pid     int
	version string
}

// procLoad is a bounded load: keepAlive goroutines share one keep-alive
// http.Client; rawKeep goroutines each keep one hand-driven keep-alive
// connection that never retries (it redials only after a response with
// "Connection: close"); fresh goroutines open a new TCP connection for every
// request. Each goroutine does at most perG requests, pausing pace between
// them, and stops after d. Every error, non-200 or malformed body counts as a
// failure. Requests net/http retried by itself (a reused connection closed
// under it) are counted in retries: not failures, but reported.
type procLoad struct {
	path      string
	keepAlive int
	rawKeep   int
	fresh     int
	perG      int
	pace      time.Duration
	d         time.Duration

	start    time.Time
	wg       sync.WaitGroup
	mu       sync.Mutex
	samples  []procSample
	failures []string
	nFail    int
	retries  int
	redials  int // raw keep-alive connections closed by the server ("Connection: close")
	client   *http.Client
}

func newProcLoad(path string) *procLoad {
	return &procLoad{path: path, keepAlive: 2, rawKeep: 1, fresh: 3, perG: 400, pace: 10 * time.Millisecond, d: 4 * time.Second}
}

func (l *procLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nFail++
	if len(l.failures) < 20 {
		l.failures = append(l.failures, fmt.Sprintf("+%s ", time.Since(l.start).Round(time.Millisecond))+fmt.Sprintf(format, args...))
	}
}

func (l *procLoad) ok(r procReply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.samples = append(l.samples, procSample{at: time.Since(l.start), pid: r.Pid, version: r.Version})
}

// Start launches the goroutines against s and returns at once.
func (l *procLoad) Start(s *Server) *procLoad {
	l.start = time.Now()
	l.client = &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DisableCompression:  true,
			MaxIdleConnsPerHost: l.keepAlive + 1,
		},
	}
	url := s.URL(l.path)
	deadline := l.start.Add(l.d)
	for g := 0; g < l.keepAlive+l.rawKeep+l.fresh; g++ {
		l.wg.Add(1)
		kind := 0
		switch {
		case g < l.keepAlive:
			kind = 0
		case g < l.keepAlive+l.rawKeep:
			kind = 1
		default:
			kind = 2
		}
		go func() {
			defer l.wg.Done()
			var rk procRawKeep
			defer rk.close()
			for i := 0; i < l.perG && time.Now().Before(deadline); i++ {
				switch kind {
				case 0:
					l.viaClient(url)
				case 1:
					l.viaRawKeepAlive(&rk, s.Addr)
				default:
					l.viaFreshConn(s.Addr)
				}
				time.Sleep(l.pace)
			}
		}()
	}
	return l
}

func (l *procLoad) viaClient(url string) {
	conns := 0
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		panic(err)
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { conns++ },
	}))
	resp, err := l.client.Do(req)
	if conns > 1 {
		l.mu.Lock()
		l.retries++
		l.mu.Unlock()
	}
	if err != nil {
		l.fail("keep-alive GET: %v", err)
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	l.check("keep-alive", resp.StatusCode, b, err)
}

// procRawKeep is one keep-alive connection driven by hand.
type procRawKeep struct {
	c    net.Conn
	br   *bufio.Reader
	used int       // requests sent on c
	last time.Time // when the previous response on c ended
}

func (k *procRawKeep) close() {
	if k.c != nil {
		k.c.Close()
		k.c, k.br, k.used = nil, nil, 0
	}
}

func (l *procLoad) viaRawKeepAlive(k *procRawKeep, addr string) {
	if k.c == nil {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			l.fail("raw keep-alive: dial: %v", err)
			return
		}
		k.c, k.br = c, bufio.NewReader(c)
	}
	k.used++
	n := k.used
	idle := time.Duration(0)
	if n > 1 {
		idle = time.Since(k.last)
	}
	_ = k.c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(k.c, "GET "+l.path+" HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		l.fail("raw keep-alive: write (request %d on the conn): %v", n, err)
		k.close()
		return
	}
	if _, err := k.br.Peek(1); err != nil {
		l.fail("raw keep-alive: no response byte (request %d on the conn, sent %s after the previous response, which kept the connection open): %v",
			n, idle.Round(time.Millisecond), err)
		k.close()
		return
	}
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		l.fail("raw keep-alive: read (request %d on the conn): %v", n, err)
		k.close()
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	k.last = time.Now()
	if err != nil || resp.Close {
		k.close()
		if err == nil {
			l.mu.Lock()
			l.redials++
			l.mu.Unlock()
		}
	}
	l.check("raw keep-alive", resp.StatusCode, b, err)
}

func (l *procLoad) viaFreshConn(addr string) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		l.fail("new conn: dial: %v", err)
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, "GET "+l.path+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"); err != nil {
		l.fail("new conn: write: %v", err)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		l.fail("new conn: read: %v", err)
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	l.check("new conn", resp.StatusCode, b, err)
}

func (l *procLoad) check(kind string, code int, b []byte, err error) {
	if err != nil {
		l.fail("%s: body: %v", kind, err)
		return
	}
	if code != 200 {
		l.fail("%s: status %d: %q", kind, code, tail(string(b), 200))
		return
	}
	var r procReply
	if err := json.Unmarshal(b, &r); err != nil || r.Pid == 0 {
		l.fail("%s: bad body %q (%v)", kind, tail(string(b), 200), err)
		return
	}
	l.ok(r)
}

// Wait waits for the load to end (bounded by its duration plus a margin).
func (l *procLoad) Wait(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(l.d + 20*time.Second):
		t.Fatalf("load did not finish within %s", l.d+20*time.Second)
	}
	l.client.CloseIdleConnections()
}

// Elapsed is the time since the load started.
func (l *procLoad) Elapsed() time.Duration { return time.Since(l.start) }

// Report is the summary used in logs and failure messages.
func (l *procLoad) Report() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d ok, %d failed, %d retried by net/http, %d raw keep-alive closes by the server; pids %v; versions %v; first failures:\n  %s",
		len(l.samples), l.nFail, l.retries, l.redials, l.pidsLocked(), l.versionsLocked(), strings.Join(l.failures, "\n  "))
}

// Failed is the number of failed requests.
func (l *procLoad) Failed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nFail
}

// OK is the number of successful requests.
func (l *procLoad) OK() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.samples)
}

// Pids lists the distinct worker pids that answered, sorted.
func (l *procLoad) Pids() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pidsLocked()
}

func (l *procLoad) pidsLocked() []int {
	seen := map[int]bool{}
	var out []int
	for _, s := range l.samples {
		if !seen[s.pid] {
			seen[s.pid] = true
			out = append(out, s.pid)
		}
	}
	sort.Ints(out)
	return out
}

func (l *procLoad) versionsLocked() map[string]int {
	out := map[string]int{}
	for _, s := range l.samples {
		out[s.version]++
	}
	return out
}

// Samples returns a copy of the successful requests in arrival order.
func (l *procLoad) Samples() []procSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]procSample(nil), l.samples...)
}

// procRequireNoFailures is the zero-drop assertion shared by the load tests.
func procRequireNoFailures(t *testing.T, l *procLoad) {
	t.Helper()
	t.Logf("load: %s", l.Report())
	require.Zero(t, l.Failed(), "no request may fail: %s", l.Report())
	require.Greater(t, l.OK(), 50, "the load did run: %s", l.Report())
}

// ---------------------------------------------------------------- processes

// procChildren lists the live children of pid (every thread's children file;
// a Go master forks from any of its threads). Zombies are left out.
func procChildren(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	seen := map[int]bool{}
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, w := range strings.Fields(string(b)) {
			c, err := strconv.Atoi(w)
			if err != nil || seen[c] || procIsZombie(c) {
				continue
			}
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Ints(out)
	return out
}

func procIsZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || len(s) < i+3 || s[i+2] == 'Z' || s[i+2] == 'X'
}

// procWaitChildren waits until pred holds for the master's children.
func procWaitChildren(s *Server, d time.Duration, pred func([]int) bool) ([]int, bool) {
	deadline := time.Now().Add(d)
	for {
		ch := procChildren(s.Cmd.Process.Pid)
		if pred(ch) {
			return ch, true
		}
		if time.Now().After(deadline) {
			return ch, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func procAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil && !procIsZombie(pid)
}

// procSignal sends sig to the master.
func procSignal(t *testing.T, s *Server, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(s.Cmd.Process.Pid, sig), "kill -%v master", sig)
}

// procCount counts occurrences of sub in the server's stderr.
func procCount(s *Server, sub string) int { return strings.Count(s.Stderr.String(), sub) }

// procWaitCount waits until stderr holds at least n occurrences of sub.
func procWaitCount(s *Server, sub string, n int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for procCount(s, sub) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// procWaitExit waits for the server process to exit and returns its exit code.
func procWaitExit(t *testing.T, s *Server, d time.Duration) int {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(d):
		t.Fatalf("gohost did not exit within %s", d)
	}
	if s.exitErr == nil {
		return 0
	}
	ee, ok := s.exitErr.(interface{ ExitCode() int })
	require.True(t, ok, "exit: %v", s.exitErr)
	return ee.ExitCode()
}

// ---------------------------------------------------------------- the app

// procAppCopy copies proc_app.py into a fresh directory and returns it.
func procAppCopy(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testAppsDir, "proc_app.py"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "proc_app.py"), src, 0o644))
	return dir
}

var procVersionRE = regexp.MustCompile(`(?m)^VERSION = .*$`)

// procSetVersion rewrites VERSION in dir/proc_app.py (in place, like most
// editors' "save"), optionally appending extra source.
func procSetVersion(t *testing.T, dir, version, extra string) {
	t.Helper()
	p := filepath.Join(dir, "proc_app.py")
	src, err := os.ReadFile(p)
	require.NoError(t, err)
	out := procVersionRE.ReplaceAllString(string(src), fmt.Sprintf("VERSION = %q", version))
	out = strings.SplitN(out, "\n# --- extra ---\n", 2)[0]
	if extra != "" {
		out += "\n# --- extra ---\n" + extra + "\n"
	}
	require.NoError(t, os.WriteFile(p, []byte(out), 0o644))
}

// procGet does one GET on a new connection and decodes proc_app's reply.
func procGet(s *Server, path string) (procReply, error) {
	var r procReply
	c, err := net.DialTimeout("tcp", s.Addr, 3*time.Second)
	if err != nil {
		return r, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"); err != nil {
		return r, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return r, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return r, err
	}
	if resp.StatusCode != 200 {
		return r, fmt.Errorf("status %d: %q", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("body %q: %v", b, err)
	}
	return r, nil
}

// procWaitVersion polls /version until it answers want (d bounded).
func procWaitVersion(s *Server, want string, d time.Duration) (procReply, error) {
	deadline := time.Now().Add(d)
	for {
		r, err := procGet(s, "/version")
		if err == nil && r.Version == want {
			return r, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("still serving %q after %s", r.Version, d)
			}
			return r, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
