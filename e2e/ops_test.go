package e2e

// Operations: Prometheus metrics after known traffic, the health probes
// during start-up and shutdown, and configuration precedence
// (defaults < TOML file < GOHOST_* < flags). Apps: python/testapps/ops_*.py.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	helloBody   = "hello world\n" // GET /hello
	createdBody = "created\n"     // POST /items
	missingBody = "not found\n"   // 404
	sleptBody   = "slept\n"       // GET /sleep
)

// waitWorkers waits (up to 10 s) for /readyz 200 and n workers reporting.
func (s *opsServer) waitWorkers(t *testing.T, n int) *metricsSnap {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for probe(s.MetricsAddr, "/readyz") != 200 {
		require.False(t, time.Now().After(deadline), "/readyz not 200 within 10s")
		time.Sleep(50 * time.Millisecond)
	}
	m := waitMetrics(t, s.MetricsAddr, time.Until(deadline), func(m *metricsSnap) bool {
		return m.Sum("gohost_workers") == float64(n)
	})
	require.Equal(t, float64(n), m.Sum("gohost_workers"), "workers reporting:\n%s", m.gohostLines())
	return m
}

func doReq(t *testing.T, method, url string, body []byte) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// TestOpsMetrics drives a known traffic mix through two workers and checks
// every gohost_* series.
func TestOpsMetrics(t *testing.T) {
	const workers, threads = 2, 2
	s := startOps(t, ServerOpts{App: "ops_app", Workers: workers, Args: []string{"--threads", "2"}})
	m := s.waitWorkers(t, workers)
	assert.Equal(t, 0.0, m.Sum("gohost_requests_total"), "no request yet (the harness's readiness dials send none):\n%s", m.gohostLines())

	t.Run("known traffic", func(t *testing.T) {
		var wantOut, wantIn int
		for i := 0; i < 30; i++ {
			code, b := doReq(t, "GET", s.URL("/hello"), nil)
			require.Equal(t, 200, code)
			require.Equal(t, helloBody, string(b))
			wantOut += len(b)
		}
		for i := 0; i < 7; i++ {
			size := 1000 * (i + 1)
			if i == 6 {
				size = 200_000 // more than --body-prefetch (64 KiB): read through wsgi.input
			}
			body := bytes.Repeat([]byte{'x'}, size)
			code, b := doReq(t, "POST", s.URL("/items"), body)
			require.Equal(t, 201, code)
			require.Equal(t, createdBody, string(b))
			wantIn += len(body)
			wantOut += len(b)
		}
		for i := 0; i < 5; i++ {
			code, b := doReq(t, "GET", s.URL(fmt.Sprintf("/missing/%d", i)), nil)
			require.Equal(t, 404, code)
			require.Equal(t, missingBody, string(b))
			wantOut += len(b)
		}
		appOut := wantOut
		// Requests the server answers 400 itself, without calling the app.
		var badOut int
		for _, raw := range []string{
			"GET /hello HTTP/1.1\r\nHost: t\r\nThis Is Not A Header\r\n\r\n",
			"GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
			"GET /hello HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n",
		} {
			c := s.Dial(t)
			c.Send(raw)
			r := c.MustRead("GET")
			require.Equal(t, 400, r.Code, "%q", raw)
			badOut += len(r.Body)
			c.Close()
		}
		wantOut += badOut
		const total = 30 + 7 + 5 + 3

		m := waitMetrics(t, s.MetricsAddr, 3*time.Second, func(m *metricsSnap) bool {
			return m.Sum("gohost_requests_total") == total && m.Sum("gohost_response_body_bytes_total") == float64(wantOut)
		})
		if m.Sum("gohost_requests_total") != total {
			// Give the app's requests alone a chance, to tell the two apart.
			m = waitMetrics(t, s.MetricsAddr, time.Second, func(m *metricsSnap) bool {
				return m.Sum("gohost_requests_total") >= 42
			})
		}
		series := m.Series("gohost_requests_total")
		assert.Equal(t, 30.0, m.Sum("gohost_requests_total", "method", "GET", "status", "200"), series)
		assert.Equal(t, 7.0, m.Sum("gohost_requests_total", "method", "POST", "status", "201"), series)
		assert.Equal(t, 5.0, m.Sum("gohost_requests_total", "method", "GET", "status", "404"), series)
		assert.Equal(t, 3.0, m.Sum("gohost_requests_total", "status", "400"),
			"the 3 malformed requests the server answered 400 itself must be counted:\n%s", series)
		assert.Equal(t, float64(total), m.Sum("gohost_requests_total"), series)

		h := m.Histogram("gohost_request_duration_seconds")
		require.NotNil(t, h)
		assert.Equal(t, uint64(m.Sum("gohost_requests_total")), h.GetSampleCount(), "histogram count = requests total")
		assert.Equal(t, uint64(total), h.GetSampleCount(), "histogram count")
		assert.Greater(t, h.GetSampleSum(), 0.0)
		assert.Less(t, h.GetSampleSum(), 30.0, "45 fast requests")
		var prev uint64
		for _, b := range h.GetBucket() {
			assert.GreaterOrEqual(t, b.GetCumulativeCount(), prev, "buckets are cumulative")
			prev = b.GetCumulativeCount()
		}
		assert.LessOrEqual(t, prev, h.GetSampleCount())

		assert.Equal(t, float64(wantIn), m.Sum("gohost_request_body_bytes_total"), "request body bytes")
		assert.Equal(t, float64(wantOut), m.Sum("gohost_response_body_bytes_total"),
			"response body bytes: %d from the app + %d in the server's 400 answers", appOut, badOut)
		assert.Equal(t, float64(workers), m.Sum("gohost_workers"))
		assert.Equal(t, float64(workers*threads), m.Sum("gohost_python_threads"))
		assert.Equal(t, 0.0, m.Sum("gohost_requests_in_flight"))
		assert.True(t, m.Has("gohost_gil_wait_seconds_total"), "gil wait series exists")
		assert.GreaterOrEqual(t, m.Sum("gohost_gil_wait_seconds_total"), 0.0)
		assert.Greater(t, m.Sum("gohost_python_busy_seconds_total"), 0.0)
		assert.Equal(t, 0.0, m.Sum("gohost_worker_restarts_total"), "no restart yet (every cause's series starts at 0)")
		if t.Failed() {
			t.Logf("scrape:\n%s", m.gohostLines())
		}
	})

	t.Run("busy seconds grow by a sleep", func(t *testing.T) {
		before := scrape(t, s.MetricsAddr).Sum("gohost_python_busy_seconds_total")
		code, b := doReq(t, "GET", s.URL("/sleep?s=0.5"), nil)
		require.Equal(t, 200, code)
		require.Equal(t, sleptBody, string(b))
		m := waitMetrics(t, s.MetricsAddr, 3*time.Second, func(m *metricsSnap) bool {
			return m.Sum("gohost_python_busy_seconds_total") >= before+0.5
		})
		after := m.Sum("gohost_python_busy_seconds_total")
		assert.GreaterOrEqual(t, after-before, 0.5, "busy seconds %v → %v", before, after)
		assert.Less(t, after-before, 1.5, "busy seconds %v → %v", before, after)
	})

	t.Run("in flight", func(t *testing.T) {
		done := make(chan int, 1)
		go func() {
			resp, err := opsClient.Get(s.URL("/sleep?s=2.5"))
			if err != nil {
				done <- -1
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		m := waitMetrics(t, s.MetricsAddr, 2200*time.Millisecond, func(m *metricsSnap) bool {
			return m.Sum("gohost_requests_in_flight") == 1
		})
		assert.Equal(t, 1.0, m.Sum("gohost_requests_in_flight"), "one slow request running")
		select {
		case code := <-done:
			assert.Equal(t, 200, code)
		case <-time.After(10 * time.Second):
			t.Fatal("/sleep did not answer")
		}
		m = waitMetrics(t, s.MetricsAddr, 3*time.Second, func(m *metricsSnap) bool {
			return m.Sum("gohost_requests_in_flight") == 0
		})
		assert.Equal(t, 0.0, m.Sum("gohost_requests_in_flight"), "back to 0 after the response")
	})
}

// TestOpsMetricsServerAnsweredErrors: requests whose head was valid but that
// the server refused itself (413 over --limit-request-body, 400 for a
// malformed chunked body) are counted with their method and status, and
// the bodies of those answers are response bytes like any other.
func TestOpsMetricsServerAnsweredErrors(t *testing.T) {
	s := startOps(t, ServerOpts{App: "ops_app", Workers: 1, Args: []string{"--limit-request-body", "100"}})
	s.waitWorkers(t, 1)
	var out int
	for _, c := range []struct {
		raw  string
		code int
	}{
		{"POST /items HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n", 413},
		{"POST /items HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n", 400},
	} {
		conn := s.Dial(t)
		conn.Send(c.raw)
		r := conn.MustRead("POST")
		require.Equal(t, c.code, r.Code, "%q: %s", c.raw, r.Body)
		out += len(r.Body)
		conn.Close()
	}
	m := waitMetrics(t, s.MetricsAddr, 3*time.Second, func(m *metricsSnap) bool {
		return m.Sum("gohost_requests_total") == 2 && m.Sum("gohost_response_body_bytes_total") == float64(out)
	})
	series := m.Series("gohost_requests_total")
	assert.Equal(t, 1.0, m.Sum("gohost_requests_total", "method", "POST", "status", "413"), series)
	assert.Equal(t, 1.0, m.Sum("gohost_requests_total", "method", "POST", "status", "400"), series)
	assert.Equal(t, 2.0, m.Sum("gohost_request_duration_seconds"), "histogram count")
	assert.Equal(t, float64(out), m.Sum("gohost_response_body_bytes_total"),
		"the bodies of the server's own 413 and 400 answers (%d bytes) are response body bytes", out)
}

// monotonicWatch scrapes continuously and records any counter that went down.
type monotonicWatch struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	drops []string
	n     int
}

func watchMonotonic(addr string) *monotonicWatch {
	w := &monotonicWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := map[string]float64{}
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			m, err := scrapeErr(addr)
			if err == nil {
				cur := map[string]float64{
					"requests_total":   m.Sum("gohost_requests_total"),
					"requests GET 200": m.Sum("gohost_requests_total", "method", "GET", "status", "200"),
					"histogram count":  m.Sum("gohost_request_duration_seconds"),
					"response bytes":   m.Sum("gohost_response_body_bytes_total"),
					"busy seconds":     m.Sum("gohost_python_busy_seconds_total"),
					"gil wait seconds": m.Sum("gohost_gil_wait_seconds_total"),
					"restarts":         m.Sum("gohost_worker_restarts_total"),
				}
				if h := m.Histogram("gohost_request_duration_seconds"); h != nil {
					cur["histogram sum"] = h.GetSampleSum()
				}
				w.mu.Lock()
				w.n++
				for k, v := range cur {
					if old, ok := last[k]; ok && v < old-1e-9 {
						w.drops = append(w.drops, fmt.Sprintf("%s: %v → %v", k, old, v))
					}
					last[k] = v
				}
				w.mu.Unlock()
			}
			time.Sleep(30 * time.Millisecond)
		}
	}()
	return w
}

func (w *monotonicWatch) Stop() (drops []string, scrapes int) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.drops, w.n
}

// TestOpsMetricsMonotonicAcrossWorkerKill kills a worker with SIGKILL: its
// last counts are kept, the restart is counted by cause, and no counter goes
// down while the replacement starts from zero.
func TestOpsMetricsMonotonicAcrossWorkerKill(t *testing.T) {
	s := startOps(t, ServerOpts{App: "ops_app", Workers: 2})
	s.waitWorkers(t, 2)
	victim := 0
	{
		code, b := doReq(t, "GET", s.URL("/pid"), nil)
		require.Equal(t, 200, code)
		_, err := fmt.Sscan(string(b), &victim)
		require.NoError(t, err)
	}
	for i := 0; i < 20; i++ {
		code, _ := doReq(t, "GET", s.URL("/hello"), nil)
		require.Equal(t, 200, code)
	}
	m := waitMetrics(t, s.MetricsAddr, 3*time.Second, func(m *metricsSnap) bool {
		return m.Sum("gohost_requests_total") == 21
	})
	require.Equal(t, 21.0, m.Sum("gohost_requests_total"), m.gohostLines())

	w := watchMonotonic(s.MetricsAddr)
	require.True(t, contains(workerPIDs(s.Cmd.Process.Pid), victim), "pid %d is a worker", victim)
	require.NoError(t, syscall.Kill(victim, syscall.SIGKILL))
	m = waitMetrics(t, s.MetricsAddr, 10*time.Second, func(m *metricsSnap) bool {
		return m.Sum("gohost_worker_restarts_total", "cause", "killed") == 1 && m.Sum("gohost_workers") == 2
	})
	assert.Equal(t, 1.0, m.Sum("gohost_worker_restarts_total", "cause", "killed"), m.Series("gohost_worker_restarts_total"))
	assert.Equal(t, 1.0, m.Sum("gohost_worker_restarts_total"), "only the kill: %s", m.Series("gohost_worker_restarts_total"))
	assert.Equal(t, 2.0, m.Sum("gohost_workers"))
	assert.Equal(t, 21.0, m.Sum("gohost_requests_total"), "the killed worker's counts are kept")

	for i := 0; i < 5; i++ {
		code, _ := doReq(t, "GET", s.URL("/hello"), nil)
		require.Equal(t, 200, code)
	}
	m = waitMetrics(t, s.MetricsAddr, 3*time.Second, func(m *metricsSnap) bool {
		return m.Sum("gohost_requests_total") == 26
	})
	assert.Equal(t, 26.0, m.Sum("gohost_requests_total"), m.Series("gohost_requests_total"))
	assert.Equal(t, 26.0, m.Sum("gohost_request_duration_seconds"))
	drops, n := w.Stop()
	assert.Greater(t, n, 10, "scrapes during the restart")
	assert.Empty(t, drops, "counters went down during the worker restart")
}

// TestOpsMetricsCountRequestsOfRecycledWorker: a worker that exits
// gracefully (here --max-requests) must have reported every request it
// served before it exits, or the totals undercount forever.
func TestOpsMetricsCountRequestsOfRecycledWorker(t *testing.T) {
	s := startOps(t, ServerOpts{App: "ops_app", Workers: 1, Args: []string{"--max-requests", "5"}})
	s.waitWorkers(t, 1)
	// One connection per request, like many clients (a kept-alive idle
	// connection would hold the worker's shutdown open for a while).
	for i := 0; i < 5; i++ {
		require.Equal(t, 200, probe(s.Addr, "/hello"))
	}
	m := waitMetrics(t, s.MetricsAddr, 4*time.Second, func(m *metricsSnap) bool {
		return m.Sum("gohost_worker_restarts_total", "cause", "recycled") == 1 &&
			m.Sum("gohost_workers") == 1 && m.Sum("gohost_requests_total") == 5
	})
	assert.Equal(t, 1.0, m.Sum("gohost_worker_restarts_total", "cause", "recycled"), m.Series("gohost_worker_restarts_total"))
	assert.Equal(t, 5.0, m.Sum("gohost_requests_total"),
		"requests served by a worker in its last second before a graceful exit are lost:\n%s", m.gohostLines())
	assert.Equal(t, 5.0*float64(len(helloBody)), m.Sum("gohost_response_body_bytes_total"))
}

// TestOpsReadyzDuringSlowBoot: /readyz answers 503 while the workers import
// a slow app, and 200 only once a worker serves.
func TestOpsReadyzDuringSlowBoot(t *testing.T) {
	start := time.Now()
	s := startOps(t, ServerOpts{App: "ops_slowboot", Workers: 2, NoWait: true})
	var (
		refused, notReady, healthDuringNotReady int
		healthBad                               []int
		firstListen                             time.Duration
	)
	deadline := time.Now().Add(20 * time.Second)
	for {
		require.False(t, s.Exited(), "gohost exited while booting")
		require.False(t, time.Now().After(deadline), "/readyz not 200 within 20s (503 seen %d times)", notReady)
		code := probe(s.MetricsAddr, "/readyz")
		if code == -1 {
			refused++
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if firstListen == 0 {
			firstListen = time.Since(start)
		}
		if code == 200 {
			break
		}
		assert.Equal(t, 503, code, "/readyz while booting")
		notReady++
		if h := probe(s.MetricsAddr, "/healthz"); h == 200 {
			healthDuringNotReady++
		} else {
			healthBad = append(healthBad, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ready := time.Since(start)
	t.Logf("metrics bind listening after %v (refused %d probes: the app is imported once before binding), ready after %v, 503 ×%d",
		firstListen.Round(time.Millisecond), refused, ready.Round(time.Millisecond), notReady)
	assert.Greater(t, notReady, 5, "/readyz must answer 503 while the workers import the app (2 s)")
	assert.Equal(t, notReady, healthDuringNotReady, "/healthz answers 200 while not ready; got %v", healthBad)
	assert.GreaterOrEqual(t, ready, 2*time.Second, "the import sleeps 2 s")

	// Ready means a request is served now, without waiting for a boot.
	c := s.Dial(t)
	began := time.Now()
	c.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	r, err := c.ReadTimeout("GET", 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 200, r.Code)
	assert.Equal(t, "booted\n", string(r.Body))
	assert.Less(t, time.Since(began), time.Second, "served at once once /readyz is 200")
}

// TestOpsProbesDuringGracefulStop: on SIGTERM /readyz fails at once, while
// /healthz keeps answering 200 until the master exits after the in-flight
// request completed.
func TestOpsProbesDuringGracefulStop(t *testing.T) {
	s := startOps(t, ServerOpts{App: "ops_app", Workers: 2, Args: []string{"--graceful-timeout", "10"}})
	s.waitWorkers(t, 2)
	require.Equal(t, 200, probe(s.MetricsAddr, "/readyz"))

	type result struct {
		code int
		body string
		at   time.Time
	}
	done := make(chan result, 1)
	go func() {
		resp, err := opsClient.Get(s.URL("/sleep?s=2"))
		if err != nil {
			done <- result{code: -1, body: err.Error(), at: time.Now()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode, body: string(b), at: time.Now()}
	}()
	m := waitMetrics(t, s.MetricsAddr, 1900*time.Millisecond, func(m *metricsSnap) bool {
		return m.Sum("gohost_requests_in_flight") == 1
	})
	require.Equal(t, 1.0, m.Sum("gohost_requests_in_flight"), "the slow request is running")

	termAt := time.Now()
	require.NoError(t, syscall.Kill(s.Cmd.Process.Pid, syscall.SIGTERM))
	var (
		firstNotReady            time.Duration = -1
		readyAfterTerm           int
		healthOK                 int
		healthFailBeforeResponse []int
		res                      *result
	)
	deadline := time.Now().Add(15 * time.Second)
	for !s.Exited() && time.Now().Before(deadline) {
		rz := probe(s.MetricsAddr, "/readyz")
		hz := probe(s.MetricsAddr, "/healthz")
		if res == nil {
			select {
			case r := <-done:
				res = &r
			default:
			}
		}
		switch rz {
		case 503:
			if firstNotReady < 0 {
				firstNotReady = time.Since(termAt)
			}
		case 200:
			// The signal is handled asynchronously: a probe racing with
			// its delivery may still see 200, but none after a 503.
			if firstNotReady >= 0 {
				readyAfterTerm++
			}
		}
		if hz == 200 {
			healthOK++
		} else if res == nil && !s.Exited() {
			healthFailBeforeResponse = append(healthFailBeforeResponse, hz)
		}
		time.Sleep(40 * time.Millisecond)
	}
	require.True(t, s.Exited(), "gohost did not exit within 15s of SIGTERM")
	if res == nil {
		select {
		case r := <-done:
			res = &r
		case <-time.After(5 * time.Second):
		}
	}
	require.NotNil(t, res, "the slow request never finished")
	assert.Equal(t, 200, res.code, "the in-flight request completes: %s", res.body)
	assert.Equal(t, sleptBody, res.body)
	assert.GreaterOrEqual(t, firstNotReady, time.Duration(0), "/readyz never answered 503 after SIGTERM")
	assert.Less(t, firstNotReady, 500*time.Millisecond, "/readyz fails at once on SIGTERM")
	assert.Less(t, termAt.Add(firstNotReady), res.at, "/readyz failed while the request was still running")
	assert.Zero(t, readyAfterTerm, "/readyz answered 200 again after it had answered 503 on SIGTERM")
	assert.Greater(t, healthOK, 10, "/healthz kept answering during the drain")
	assert.Empty(t, healthFailBeforeResponse, "/healthz failed while the master was still draining")
	assert.NoError(t, s.exitErr, "clean exit")
	assert.Equal(t, -1, probe(s.MetricsAddr, "/healthz"), "nothing listens after exit")
}

// ---------------------------------------------------------------- config

func printConfig(t *testing.T, dir string, env []string, args ...string) map[string]any {
	t.Helper()
	res := runGohost(t, 15*time.Second, dir, env, append([]string{"--print-config"}, args...)...)
	require.Equal(t, 0, res.Code, "--print-config %v: %s", args, res.Stderr)
	var v map[string]any
	_, err := toml.Decode(res.Stdout, &v)
	require.NoError(t, err, "--print-config prints TOML:\n%s", res.Stdout)
	return v
}

func TestOpsConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	pFile := freePort(t, "127.0.0.1")
	pEnv, pFlag := pFile+1, pFile+2 // only printed, never bound
	mPort := freePort(t, "127.0.0.1")
	bind := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	cfgFile := filepath.Join(dir, "gohost.toml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`# test config
app = "ops_app"
chdir = %q
workers = 3
threads = 3
bind = [%q]
metrics-bind = %q
keep_alive = "1500ms"
`, testAppsDir, bind(pFile), bind(mPort))), 0o644))

	cases := []struct {
		name    string
		env     []string
		args    []string
		workers int64
		threads int64
		bind    string
	}{
		{"file", nil, []string{"-c", cfgFile}, 3, 3, bind(pFile)},
		{"env over file", []string{"GOHOST_WORKERS=2"}, []string{"-c", cfgFile}, 2, 3, bind(pFile)},
		{"flag over env", []string{"GOHOST_WORKERS=2"}, []string{"-c", cfgFile, "-w", "1"}, 1, 3, bind(pFile)},
		{"long flag over env", []string{"GOHOST_WORKERS=2"}, []string{"--config=" + cfgFile, "--workers=1"}, 1, 3, bind(pFile)},
		{"GOHOST_CONFIG names the file", []string{"GOHOST_CONFIG=" + cfgFile}, nil, 3, 3, bind(pFile)},
		{"env bind over file", []string{"GOHOST_BIND=" + bind(pEnv), "GOHOST_THREADS=4"}, []string{"-c", cfgFile}, 3, 4, bind(pEnv)},
		{"flag bind over env", []string{"GOHOST_BIND=" + bind(pEnv)}, []string{"-c", cfgFile, "-b", bind(pFlag), "--threads", "5"}, 3, 5, bind(pFlag)},
		{"defaults without file", nil, []string{"ops_app"}, -1, 2, "127.0.0.1:8000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := printConfig(t, "", c.env, c.args...)
			if c.workers >= 0 {
				assert.Equal(t, c.workers, v["workers"], "workers")
			} else {
				assert.IsType(t, int64(0), v["workers"])
				assert.Positive(t, v["workers"].(int64), "default workers")
			}
			assert.Equal(t, c.threads, v["threads"], "threads")
			assert.Equal(t, []any{c.bind}, v["bind"], "bind")
			assert.Equal(t, "ops_app", v["app"])
			if len(c.args) > 0 && c.args[0] == "ops_app" {
				return
			}
			assert.Equal(t, bind(mPort), v["metrics-bind"], "metrics-bind from the file")
			assert.Equal(t, testAppsDir, v["chdir"], "chdir from the file")
		})
	}

	t.Run("printed config round-trips", func(t *testing.T) {
		res := runGohost(t, 15*time.Second, "", []string{"GOHOST_WORKERS=2"}, "--print-config", "-c", cfgFile, "--threads", "5")
		require.Equal(t, 0, res.Code, res.Stderr)
		printed := filepath.Join(t.TempDir(), "printed.toml")
		require.NoError(t, os.WriteFile(printed, []byte(res.Stdout), 0o644))
		again := runGohost(t, 15*time.Second, "", nil, "--print-config", "-c", printed)
		require.Equal(t, 0, again.Code, again.Stderr)
		assert.Equal(t, res.Stdout, again.Stdout, "--print-config output used as -c gives the same settings")
	})

	t.Run("running server: env over file", func(t *testing.T) {
		srv := startRaw(t, t.TempDir(), []string{"GOHOST_WORKERS=2"}, "-c", cfgFile)
		waitDial(t, bind(pFile), 15*time.Second, srv.exited)
		deadline := time.Now().Add(10 * time.Second)
		for probe(bind(mPort), "/readyz") != 200 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		require.Equal(t, 200, probe(bind(mPort), "/readyz"), "metrics-bind from the file serves /readyz")
		pids := workerPIDs(srv.Cmd.Process.Pid)
		assert.Len(t, pids, 2, "GOHOST_WORKERS=2 overrides workers = 3 of the file; children: %v", pids)
		m := waitMetrics(t, bind(mPort), 3*time.Second, func(m *metricsSnap) bool {
			return m.Sum("gohost_workers") == 2
		})
		assert.Equal(t, 2.0, m.Sum("gohost_workers"))
		assert.Equal(t, 6.0, m.Sum("gohost_python_threads"), "threads = 3 from the file")
		resp, err := opsClient.Get("http://" + bind(pFile) + "/hello")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, helloBody, string(b), "the app and chdir from the file")
	})
}

func TestOpsConfigErrors(t *testing.T) {
	dir := t.TempDir()
	gunicornFile := filepath.Join(dir, "g.toml")
	require.NoError(t, os.WriteFile(gunicornFile, []byte("worker_class = \"gevent\"\n"), 0o644))
	typoFile := filepath.Join(dir, "typo.toml")
	require.NoError(t, os.WriteFile(typoFile, []byte("wokers = 3\n"), 0o644))

	cases := []struct {
		name string
		env  []string
		args []string
		want []string // substrings of stderr
	}{
		{"unknown flag", nil, []string{"--frobnicate", "ops_app"}, []string{"--frobnicate", "--help"}},
		{"misspelt flag", nil, []string{"--wokers", "3", "ops_app"}, []string{"--wokers", "did you mean --workers"}},
		{"gunicorn -k gevent", nil, []string{"-k", "gevent", "ops_app"}, []string{"-k", "worker classes", "--threads"}},
		{"gunicorn --worker-class", nil, []string{"--worker-class=gevent", "ops_app"}, []string{"--worker-class", "--threads"}},
		{"gunicorn --preload", nil, []string{"--preload", "ops_app"}, []string{"--preload", "nothing to preload"}},
		{"gunicorn key in the file", nil, []string{"-c", gunicornFile, "ops_app"}, []string{"worker_class", "--threads"}},
		{"misspelt key in the file", nil, []string{"-c", typoFile, "ops_app"}, []string{"wokers", "workers"}},
		{"misspelt GOHOST_ variable", []string{"GOHOST_WORKRS=3"}, []string{"ops_app"}, []string{"GOHOST_WORKRS", "GOHOST_WORKERS"}},
		{"bad env value", []string{"GOHOST_WORKERS=many"}, []string{"ops_app"}, []string{"GOHOST_WORKERS"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runGohost(t, 10*time.Second, "", c.env, c.args...)
			assert.Equal(t, 2, res.Code, "exit status 2 for a usage error; stderr:\n%s", res.Stderr)
			assert.Empty(t, res.Stdout)
			assert.LessOrEqual(t, len(nonEmptyLines(res.Stderr)), 2, "one line (and a hint):\n%s", res.Stderr)
			for _, w := range c.want {
				assert.Contains(t, res.Stderr, w)
			}
			// The same mistake with --print-config is reported the same way.
			res2 := runGohost(t, 10*time.Second, "", c.env, append([]string{"--print-config"}, c.args...)...)
			assert.Equal(t, 2, res2.Code, "--print-config with a bad setting exits 2; stderr:\n%s", res2.Stderr)
		})
	}
}
