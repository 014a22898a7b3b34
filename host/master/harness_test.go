package master

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeWorker is the path of testdata/fakeworker, built once by TestMain.
var fakeWorker string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gohost-master-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fakeWorker = filepath.Join(dir, "fakeworker")
	build := exec.Command("go", "build", "-o", fakeWorker, "./testdata/fakeworker")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building fakeworker:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines containing s.
func (b *logBuffer) lines(s string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// harness runs Run in-process against the fake worker on one loopback listener.
type harness struct {
	t     *testing.T
	addr  string
	sigs  chan os.Signal
	done  chan int
	logs  *logBuffer
	notes chan string // sd_notify datagrams
	opts  Options
}

// start runs a master; env goes to the workers. It waits for READY=1 unless
// the options say the boot is expected to fail (noWait).
func start(t *testing.T, opts Options, env ...string) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // f keeps the socket; the test process does not accept

	dir := t.TempDir()
	nconn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	require.NoError(t, err)
	h := &harness{t: t, addr: addr, sigs: make(chan os.Signal, 8), done: make(chan int, 1),
		logs: &logBuffer{}, notes: make(chan string, 64)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := nconn.Read(buf)
			if err != nil {
				return
			}
			h.notes <- string(buf[:n])
		}
	}()

	opts.Listeners = []*os.File{f}
	opts.WorkerCommand = []string{fakeWorker}
	opts.WorkerEnv = env
	opts.Signals = h.sigs
	opts.NotifySocket = nconn.LocalAddr().String()
	opts.Log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if opts.GracefulTimeout == 0 {
		opts.GracefulTimeout = 10 * time.Second
	}
	h.opts = opts
	go func() { h.done <- Run(opts) }()

	t.Cleanup(func() {
		select {
		case <-h.done:
		default:
			h.sigs <- syscall.SIGQUIT
			select {
			case <-h.done:
			case <-time.After(15 * time.Second):
				t.Error("master did not stop on SIGQUIT")
			}
		}
		nconn.Close()
		if t.Failed() {
			t.Logf("master log:\n%s", h.logs.String())
		}
	})
	return h
}

// waitNote waits for an sd_notify datagram containing want and returns it.
func (h *harness) waitNote(want string, timeout time.Duration) string {
	h.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case n := <-h.notes:
			if strings.Contains(n, want) {
				return n
			}
		case <-deadline:
			h.t.Fatalf("no sd_notify %q within %v", want, timeout)
		}
	}
}

// waitLog waits until the log has a line containing s.
func (h *harness) waitLog(s string, timeout time.Duration) {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return len(h.logs.lines(s)) > 0 }, timeout, 20*time.Millisecond,
		"log line %q", s)
}

// wait waits for Run to return and gives its exit code.
func (h *harness) wait(timeout time.Duration) int {
	h.t.Helper()
	select {
	case code := <-h.done:
		h.done <- code // Cleanup reads it again
		return code
	case <-time.After(timeout):
		h.t.Fatalf("Run did not return within %v", timeout)
		return -1
	}
}

// get does one request on a new connection and returns the body.
func (h *harness) get(path string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + h.addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), err
}

// pidOf parses a fake worker's "pid N" answer.
func pidOf(body string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(body, "pid ")))
	return n
}

// workers lists the live (not zombie) fake worker processes that are
// children of the test process, sorted.
func workers(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	me := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(fakeworker") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == me {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

// waitWorkers waits until cond holds for the worker process list and returns it.
func waitWorkers(t *testing.T, timeout time.Duration, cond func([]int) bool) []int {
	t.Helper()
	var last []int
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		last = workers(t)
		if cond(last) {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("worker processes never matched; last %v", last)
	return nil
}

// loadResult sums up a load run.
type loadResult struct {
	ok     int
	failed []string    // one entry per failed request
	pids   map[int]int // responses per worker pid
}

// load sends a fixed number of GET / requests: keepAlive clients that reuse
// one connection each and fresh clients that open a new connection per
// request, each sending perClient requests pace apart. It returns when all
// are done.
func load(addr string, keepAlive, fresh, perClient int, pace time.Duration) loadResult {
	var (
		mu  sync.Mutex
		res = loadResult{pids: map[int]int{}}
		wg  sync.WaitGroup
	)
	client := func(kind string, c *http.Client) {
		defer wg.Done()
		for range perClient {
			resp, err := c.Get("http://" + addr + "/")
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			mu.Lock()
			if err != nil {
				res.failed = append(res.failed, time.Now().Format("15:04:05.000")+" "+kind+": "+err.Error())
			} else {
				res.ok++
				res.pids[pidOf(string(body))]++
			}
			mu.Unlock()
			time.Sleep(pace)
		}
	}
	for range keepAlive {
		wg.Add(1)
		go client("keep-alive", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}})
	}
	for range fresh {
		wg.Add(1)
		go client("new-conn", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}})
	}
	wg.Wait()
	return res
}

// startLoad runs load in the background.
func startLoad(addr string, keepAlive, fresh, perClient int, pace time.Duration) <-chan loadResult {
	ch := make(chan loadResult, 1)
	go func() { ch <- load(addr, keepAlive, fresh, perClient, pace) }()
	return ch
}

// testLogger logs to t.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
